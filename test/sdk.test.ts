/**
 * The real client: the official @codat/platform SDK, unchanged except for serverURL, with its response validation on,
 * against a Syncline server listening on a real port (platform-api.md §9).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CodatPlatform } from '@codat/platform';
import * as errors from '@codat/platform/sdk/models/errors/index.js';
import { parseConfig } from '../src/cli/config.js';
import { startServer, type Server } from '../src/cli/server.js';
import { createLogger } from '../src/lib/logger.js';
import { DIALECTS, createTestDatabase } from './support/stores.js';
import { ACCOUNTING_READ_TYPES } from '../src/domain/data-types.js';
import { SandboxConnector } from '../src/connectors/xero/index.js';

/** Types the Sandbox reads: the ones a first read offers, each Complete after a pull; the others are not offered. */
const SANDBOX_READS = ACCOUNTING_READ_TYPES.filter((t) => new SandboxConnector({ baseUrl: 'http://127.0.0.1:1' }).supports(t));

const MISSING = '00000000-0000-4000-8000-000000000000';
const sdkFor = (apiKey: string, serverURL: string) =>
  new CodatPlatform({ authHeader: `Basic ${Buffer.from(apiKey).toString('base64')}`, serverURL });

/** Runs `fn`, expecting it to reject with `cls`; returns the error. */
async function rejection<T extends Error>(fn: () => Promise<unknown>, cls: abstract new (...args: any[]) => T): Promise<T> {
  let caught: unknown;
  try {
    await fn();
  } catch (err) {
    caught = err;
  }
  expect(caught, 'expected a rejection').toBeInstanceOf(cls);
  return caught as T;
}

describe.each(DIALECTS)('@codat/platform SDK against a real server [%s]', (dialect) => {
  const apiKey = `sdk-test-key-${dialect}-0123456789abcdef`;
  let server: Server;
  let sdk: CodatPlatform;
  let dataDir: string;
  let dropDb: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'syncline-sdk-'));
    const env: Record<string, string> = {
      PORT: '0',
      HOST: '127.0.0.1',
      SYNCLINE_DATA_DIR: dataDir,
      SYNCLINE_API_KEY: apiKey,
      SYNCLINE_SECRET_KEY: 'sdk-test-secret-key-0123456789',
      // The in-process Sandbox paces like Xero (60 calls a minute per tenant): a first link of every type would wait
      // out a minute here. Pacing has its own tests.
      SYNCLINE_SANDBOX_RATE_PER_MINUTE: '100000',
      LOG_LEVEL: 'silent',
    };
    if (dialect === 'postgres') {
      const db = await createTestDatabase('postgres');
      env.DATABASE_URL = db.location;
      dropDb = db.drop;
    }
    const config = parseConfig(env);
    // Real time, but strictly increasing, so "ordered by creation" is deterministic even within one millisecond.
    let last = 0;
    const clock = { now: () => new Date((last = Math.max(Date.now(), last + 1))) };
    server = await startServer(config, { logger: createLogger('silent'), clock });
    expect(server.store.dialect).toBe(dialect);
    expect(server.generatedApiKey).toBeUndefined();
    sdk = sdkFor(apiKey, server.url);
  });

  afterAll(async () => {
    await server?.close();
    await dropDb?.();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('companies: create, list, get, replace, update, delete', async () => {
    const created = await sdk.companies.create({ name: 'SDK Co (test)', description: 'made by the SDK', tags: { region: 'uk' } });
    expect(created).toMatchObject({ name: 'SDK Co test', description: 'made by the SDK', tags: { region: 'uk' }, products: [], dataConnections: [] });
    expect(created.redirect).toBe(`${server.url}/link/companies/${created.id}`);
    expect(created.createdByUserName).toBeNull();

    const got = await sdk.companies.get({ companyId: created.id });
    expect(got).toEqual(created);

    const second = await sdk.companies.create({ name: 'SDK Second' });
    expect(second).not.toHaveProperty('description');
    const page = await sdk.companies.list({ page: 1, pageSize: 1 });
    expect(page.totalResults).toBe(2);
    expect(page.results!.map((c) => c.id)).toEqual([created.id]);
    expect(page.links.self.href).toBe('/companies');
    expect(page.links.next?.href).toBe('/companies?page=2&pageSize=1');
    const ordered = await sdk.companies.list({ orderBy: '-name' });
    expect(ordered.results!.map((c) => c.name)).toEqual(['SDK Second', 'SDK Co test']);
    const defaults = await sdk.companies.list();
    expect(defaults.pageSize).toBe(100);

    const replaced = await sdk.companies.replace({ companyId: created.id, companyRequestBody: { name: 'SDK Replaced' } });
    expect(replaced.name).toBe('SDK Replaced');
    expect(replaced).not.toHaveProperty('description');
    expect(replaced).not.toHaveProperty('tags');

    const updated = await sdk.companies.update({ companyId: created.id, companyUpdateRequest: { description: 'patched', tags: { team: 'a' } } });
    expect(updated).toMatchObject({ name: 'SDK Replaced', description: 'patched', tags: { team: 'a' } });
    // companyUpdateRequest left out: the SDK sends no body; nothing changes.
    expect(await sdk.companies.update({ companyId: created.id })).toEqual(updated);

    await sdk.companies.delete({ companyId: second.id });
    const err = await rejection(() => sdk.companies.get({ companyId: second.id }), errors.ErrorMessage);
    expect(err.statusCode).toBe(404);
    expect(err.error).toBe(`No company was found with ID ${second.id}`);
    expect(err.service).toBe('ClientsApi');
    expect(err.canBeRetried).toBe('Unknown');
    expect(err.detailedErrorCode).toBe(0);
    expect(err.correlationId).toMatch(/^[0-9a-f]{32}$/);
  });

  it('company error paths parse as ErrorMessage where the SDK expects them', async () => {
    const notFound = await rejection(() => sdk.companies.get({ companyId: MISSING }), errors.ErrorMessage);
    expect(notFound.statusCode).toBe(404);
    for (const call of [
      () => sdk.companies.delete({ companyId: MISSING }),
      () => sdk.companies.replace({ companyId: MISSING, companyRequestBody: { name: 'x' } }),
      () => sdk.companies.update({ companyId: MISSING, companyUpdateRequest: { name: 'x' } }),
    ]) {
      expect((await rejection(call, errors.ErrorMessage)).statusCode).toBe(404);
    }
    const bad = await rejection(() => sdk.companies.create({ name: '()[]' }), errors.ErrorMessage);
    expect(bad.statusCode).toBe(400);
    expect(bad.error).toBe('Error processing request - not valid.');
    expect(bad.validation?.errors?.[0]?.itemId).toBe('name');
    const badPage = await rejection(() => sdk.companies.list({ pageSize: 5001 }), errors.ErrorMessage);
    expect(badPage.statusCode).toBe(400);
    const badOrder = await rejection(() => sdk.companies.list({ orderBy: 'colour' }), errors.ErrorMessage);
    expect(badOrder.error).toBe('Error parsing query - Could not resolve property colour on Company');
    // A malformed id: 400 is not in get-company's ErrorMessage list, so the SDK shows it as SDKError with the body.
    const badId = await rejection(() => sdk.companies.get({ companyId: 'not-a-uuid' }), errors.SDKError);
    expect(badId.statusCode).toBe(400);
    expect(JSON.parse(badId.body).error).toBe('Error processing request - not valid.');
  });

  it('connections: create, link through the linkUrl, get, list, unlink, delete', async () => {
    await sdk.settings.updateProfile({ name: 'SDK instance', redirectUrl: 'https://client.example/linked/{companyId}/{connectionId}' });
    const company = await sdk.companies.create({ name: 'SDK Connections' });
    const conn = await sdk.connections.create({ companyId: company.id, requestBody: { platformKey: 'mqjo' } });
    expect(conn).toMatchObject({ integrationKey: 'mqjo', platformName: 'Sandbox', sourceType: 'Accounting', status: 'PendingAuth' });
    expect(conn.linkUrl).toBe(`${server.url}/link/companies/${company.id}/connections/${conn.id}/start`);

    // A browser opening the linkUrl: no API key; the Sandbox links at once and redirects to the client.
    const res = await fetch(conn.linkUrl, { redirect: 'manual' });
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe(`https://client.example/linked/${company.id}/${conn.id}`);

    const linked = await sdk.connections.get({ companyId: company.id, connectionId: conn.id });
    expect(linked.status).toBe('Linked');
    expect(linked.created).toBe(conn.created);

    const other = await sdk.connections.create({ companyId: company.id, requestBody: { platformKey: 'mqjo' } });
    const list = await sdk.connections.list({ companyId: company.id });
    expect(list.results!.map((c) => c.id)).toEqual([conn.id, other.id]);
    expect(list.totalResults).toBe(2);
    expect(list.links.self.href).toBe(`/companies/${company.id}/connections`);
    const embedded = await sdk.companies.get({ companyId: company.id });
    expect(embedded.dataConnections?.map((c) => [c.id, c.status])).toEqual([
      [conn.id, 'Linked'],
      [other.id, 'PendingAuth'],
    ]);

    const unlinked = await sdk.connections.unlink({ companyId: company.id, connectionId: conn.id, updateConnectionStatus: { status: 'Unlinked' } });
    expect(unlinked.status).toBe('Unlinked');
    // Unlinking twice is a 400, which unlink's SDK method does not parse as ErrorMessage.
    const twice = await rejection(
      () => sdk.connections.unlink({ companyId: company.id, connectionId: conn.id, updateConnectionStatus: { status: 'Unlinked' } }),
      errors.SDKError,
    );
    expect(twice.statusCode).toBe(400);
    expect(JSON.parse(twice.body).statusCode).toBe(400);

    // Sandbox authorization without credentials (requestBody left out) links the other connection.
    const authorized = await sdk.connections.updateAuthorization({ companyId: company.id, connectionId: other.id });
    expect(authorized.status).toBe('Linked');
    const authorizedAgain = await sdk.connections.updateAuthorization({ companyId: company.id, connectionId: other.id, requestBody: {} });
    expect(authorizedAgain.status).toBe('Linked');

    // 200 with an empty body: the SDK resolves.
    await expect(sdk.connections.delete({ companyId: company.id, connectionId: conn.id })).resolves.toBeUndefined();
    const gone = await rejection(() => sdk.connections.get({ companyId: company.id, connectionId: conn.id }), errors.ErrorMessage);
    expect(gone.statusCode).toBe(404);
    expect(gone.error).toBe(`Data connection ${conn.id} not found`);
    const delGone = await rejection(() => sdk.connections.delete({ companyId: company.id, connectionId: conn.id }), errors.ErrorMessage);
    expect(delGone.statusCode).toBe(404);
  });

  it('connection error paths', async () => {
    const company = await sdk.companies.create({ name: 'SDK Conn Errors' });
    const unknownKey = await rejection(() => sdk.connections.create({ companyId: company.id, requestBody: { platformKey: 'zzzz' } }), errors.ErrorMessage);
    expect(unknownKey.statusCode).toBe(404);
    expect(unknownKey.error).toBe('No integration was found with key zzzz');
    const disabled = await rejection(() => sdk.connections.create({ companyId: company.id, requestBody: { platformKey: 'gbol' } }), errors.ErrorMessage);
    expect(disabled.error).toBe('No integration was found with key gbol');
    const noCompany = await rejection(() => sdk.connections.list({ companyId: MISSING }), errors.ErrorMessage);
    expect(noCompany.statusCode).toBe(404);
    const noConn = await rejection(() => sdk.connections.get({ companyId: company.id, connectionId: MISSING }), errors.ErrorMessage);
    expect(noConn.error).toBe(`Data connection ${MISSING} not found`);
    const conn = await sdk.connections.create({ companyId: company.id, requestBody: { platformKey: 'mqjo' } });
    const pending = await rejection(
      () => sdk.connections.unlink({ companyId: company.id, connectionId: conn.id, updateConnectionStatus: { status: 'Unlinked' } }),
      errors.SDKError,
    );
    expect(pending.statusCode).toBe(400);
    const badCreds = await rejection(
      () => sdk.connections.updateAuthorization({ companyId: company.id, connectionId: conn.id, requestBody: { refreshToken: 'x' } }),
      errors.SDKError,
    );
    expect(badCreds.statusCode).toBe(400);
    expect((await sdk.connections.get({ companyId: company.id, connectionId: conn.id })).status).toBe('PendingAuth');
  });

  it('integrations: list, get, getBranding', async () => {
    const list = await sdk.integrations.list();
    expect(list.results!.map((i) => i.key)).toEqual(['gbol', 'mqjo', 'ndsk', 'qhyg']);
    expect(list.totalResults).toBe(4);
    expect(list.results!.find((i) => i.key === 'mqjo')?.enabled).toBe(true);
    expect(list.results!.find((i) => i.key === 'gbol')?.enabled).toBe(false);
    const paged = await sdk.integrations.list({ page: 2, pageSize: 3, orderBy: 'key' });
    expect(paged.results!.map((i) => i.key)).toEqual(['qhyg']);

    const sandbox = await sdk.integrations.get({ platformKey: 'mqjo' });
    expect(sandbox).toMatchObject({ key: 'mqjo', name: 'Sandbox', enabled: true, sourceType: 'Accounting', isOfflineConnector: false });
    expect(sandbox.datatypeFeatures?.length).toBeGreaterThan(0);
    expect(sandbox.datatypeFeatures?.every((f) => f.supportedFeatures.every((s) => s.featureType === 'Get' && s.featureState === 'Release'))).toBe(true);

    const branding = await sdk.integrations.getBranding({ platformKey: 'gbol' });
    expect(branding.sourceId).toBe((await sdk.integrations.get({ platformKey: 'gbol' })).sourceId);
    const src = branding.logo?.full?.image?.src;
    expect(src).toMatch(new RegExp(`^${server.url}/`));
    expect((await fetch(src!)).status).toBe(200);

    const unknown = await rejection(() => sdk.integrations.get({ platformKey: 'zzzz' }), errors.ErrorMessage);
    expect(unknown.statusCode).toBe(404);
    expect(unknown.error).toBe('No integration was found with key zzzz');
    expect((await rejection(() => sdk.integrations.getBranding({ platformKey: 'zzzz' }), errors.ErrorMessage)).statusCode).toBe(404);
    expect((await rejection(() => sdk.integrations.list({ pageSize: 0 }), errors.ErrorMessage)).statusCode).toBe(400);
  });

  it('API keys: create, list, delete (the 204 quirk of §9.6)', async () => {
    const created = await sdk.settings.createApiKey({ name: 'from the SDK' });
    expect(created.name).toBe('from the SDK');
    expect(created.apiKey).toMatch(/^[A-Za-z0-9]{40}$/);
    const unnamed = await sdk.settings.createApiKey();
    expect(unnamed.name).toBeNull();

    const listed = await sdk.settings.listApiKeys();
    expect(listed.results?.map((k) => k!.name)).toEqual(['bootstrap', 'from the SDK', null]);
    expect(listed.results?.every((k) => k!.apiKey === undefined)).toBe(true);

    // The new key works.
    const other = sdkFor(created.apiKey!, server.url);
    expect((await other.settings.listApiKeys()).results).toHaveLength(3);

    const quirk = await rejection(() => sdk.settings.deleteApiKey({ apiKeyId: created.id! }), errors.SDKError);
    expect(quirk.statusCode).toBe(204);
    expect(quirk.message).toMatch(/^Unexpected Status or Content-Type/);
    expect((await sdk.settings.listApiKeys()).results?.map((k) => k!.id)).not.toContain(created.id);
    const denied = await rejection(() => other.settings.listApiKeys(), errors.ErrorMessage);
    expect(denied.statusCode).toBe(401);
    expect(denied.error).toBe('Unauthorized');

    const missing = await rejection(() => sdk.settings.deleteApiKey({ apiKeyId: MISSING }), errors.ErrorMessage);
    expect(missing.statusCode).toBe(404);
    expect(missing.error).toBe(`No API key was found with ID ${MISSING}`);

    const tooLong = await rejection(() => sdk.settings.createApiKey({ name: 'n'.repeat(51) }), errors.ErrorMessage);
    expect(tooLong.statusCode).toBe(400);
    expect(tooLong.error).toBe('Max string length (50) for `name` reached.');
    const made: string[] = [];
    for (let n = (await sdk.settings.listApiKeys()).results!.length; n < 10; n++) made.push((await sdk.settings.createApiKey({ name: `k${n}` })).id!);
    const limit = await rejection(() => sdk.settings.createApiKey({ name: 'eleventh' }), errors.ErrorMessage);
    expect(limit.statusCode).toBe(409);
    expect(limit.error).toBe('Maximum number of API keys reached. To create a new API key, delete an unused key and try again.');
    for (const id of [...made, unnamed.id!]) await rejection(() => sdk.settings.deleteApiKey({ apiKeyId: id }), errors.SDKError);
    expect((await sdk.settings.listApiKeys()).results?.map((k) => k!.name)).toEqual(['bootstrap']);
  });

  it('profile: get and update', async () => {
    const updated = await sdk.settings.updateProfile({
      name: 'Acme via SDK',
      redirectUrl: 'https://acme.example/done',
      logoUrl: 'https://acme.example/logo.png',
      whiteListUrls: ['https://acme.example'],
      apiKey: 'deprecated-and-ignored',
      confirmCompanyName: true,
    });
    expect(updated).toEqual({ name: 'Acme via SDK', redirectUrl: 'https://acme.example/done', logoUrl: 'https://acme.example/logo.png', whiteListUrls: ['https://acme.example'] });
    expect(await sdk.settings.getProfile()).toEqual(updated);
  });

  it('authentication failures and unsupported operations parse as ErrorMessage', async () => {
    const stranger = sdkFor('not-a-known-key', server.url);
    const unauth = await rejection(() => stranger.companies.list(), errors.ErrorMessage);
    expect(unauth.statusCode).toBe(401);
    expect(unauth.error).toBe('Unauthorized');
    expect(unauth.service).toBe('PublicApi');
    expect((await rejection(() => stranger.settings.getProfile(), errors.ErrorMessage)).statusCode).toBe(401);

    const company = await sdk.companies.create({ name: 'SDK Unsupported' });
    const token = await rejection(() => sdk.companies.getAccessToken({ companyId: company.id }), errors.ErrorMessage);
    expect(token.statusCode).toBe(404);
    expect(token.error).toBe(`Operation GET /companies/${company.id}/accessToken is not supported by Syncline`);
    const cors = await rejection(() => sdk.settings.get(), errors.ErrorMessage);
    expect(cors.statusCode).toBe(404);
    expect(cors.error).toBe('Operation GET /corsSettings is not supported by Syncline');
  });
});

describe.each(DIALECTS)('@codat/platform SDK: refresh, data status, pull operations and sync settings [%s]', (dialect) => {
  const apiKey = `sdk-refresh-key-${dialect}-0123456789abcdef`;
  let server: Server;
  let sdk: CodatPlatform;
  let dataDir: string;
  let dropDb: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'syncline-sdk-refresh-'));
    const env: Record<string, string> = { PORT: '0', SYNCLINE_DATA_DIR: dataDir, SYNCLINE_API_KEY: apiKey, SYNCLINE_SANDBOX_RATE_PER_MINUTE: '100000', LOG_LEVEL: 'silent' };
    if (dialect === 'postgres') {
      const db = await createTestDatabase('postgres');
      env.DATABASE_URL = db.location;
      dropDb = db.drop;
    }
    // The embedded default: API, workers, scheduler and the Sandbox platform in-process.
    server = await startServer(parseConfig(env), { logger: createLogger('silent') });
    sdk = sdkFor(apiKey, server.url);
  });
  afterAll(async () => {
    await server?.close();
    await dropDb?.();
    rmSync(dataDir, { recursive: true, force: true });
  });

  // A generous deadline, not a number of polls: every type the Sandbox reads is pulled here, one at a time per
  // connection, and a loaded machine must not fail the test.
  const settle = async (companyId: string) => {
    for (const deadline = Date.now() + 100_000; Date.now() < deadline; ) {
      const ops = await sdk.refreshData.listPullOperations({ companyId, pageSize: 100 });
      if (ops.results!.every((o) => !['Queued', 'Fetching', 'Processing', 'Mapping'].includes(o.status))) return ops;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error('pulls did not finish');
  };

  it('links, refreshes all and one type, reads data status and pull operations', async () => {
    const company = await sdk.companies.create({ name: 'SDK Refresh' });
    // nothing linked yet
    const noLink = await rejection(() => sdk.refreshData.all({ companyId: company.id }), errors.ErrorMessage);
    expect(noLink.statusCode).toBe(400);
    expect(noLink.error).toBe(`No linked connection for company ${company.id}; link a connection before refreshing`);
    expect(await sdk.refreshData.get({ companyId: company.id })).toEqual({});

    const conn = await sdk.connections.create({ companyId: company.id, requestBody: { platformKey: 'mqjo' } });
    expect((await sdk.refreshData.get({ companyId: company.id })).invoices).toEqual({ dataType: 'invoices', currentStatus: 'Initial' });
    expect((await fetch(conn.linkUrl, { redirect: 'manual' })).status).toBe(302);
    const first = await settle(company.id);
    expect(first.results!.map((o) => o.dataType).sort()).toEqual([...SANDBOX_READS].sort());
    expect(first.results!.every((o) => o.status === 'Complete' && o.isCompleted && !o.isErrored && o.progress === 100)).toBe(true);

    const status = await sdk.refreshData.get({ companyId: company.id });
    const inv = first.results!.find((o) => o.dataType === 'invoices')!;
    expect(status.invoices).toMatchObject({ dataType: 'invoices', currentStatus: 'Complete', latestSyncId: inv.id, latestSuccessfulSyncId: inv.id });
    expect(status.invoices!.lastSuccessfulSync).toBeDefined();

    // the platform holds the next invoices call until released, so the next invoices pull is still running when it is
    // asked for again (an event the test controls, not a delay that a loaded machine could outlast)
    const tenantId = (await sdk.connections.get({ companyId: company.id, connectionId: conn.id })).connectionInfo!.tenantId;
    const faults = (body?: unknown) =>
      fetch(`${server.sandboxUrl}/admin/tenants/${tenantId}/faults${body === undefined ? '/release' : ''}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body ?? {}),
      });
    expect((await faults({ kind: 'hold', count: 1, path: 'invoices' })).status).toBe(201);
    const queued = await sdk.refreshData.byDataType({ companyId: company.id, dataType: 'invoices' });
    expect(queued).toMatchObject({ companyId: company.id, connectionId: conn.id, dataType: 'invoices', isCompleted: false, isErrored: false });
    expect(['Queued', 'Fetching']).toContain(queued.status);
    const busy = await rejection(() => sdk.refreshData.byDataType({ companyId: company.id, dataType: 'invoices', connectionId: conn.id }), errors.ErrorMessage);
    expect(busy.statusCode).toBe(400);
    expect(busy.service).toBe('PullApi');
    expect(busy.error).toBe(`DatasetAlreadyInProgressException: Cannot queue invoices sync for ${company.id} as previous sync ${queued.id} is still in progress`);
    await sdk.refreshData.all({ companyId: company.id }); // 204; the busy pair is skipped
    expect((await faults()).status).toBe(200);
    const after = await settle(company.id);
    expect(after.results!.length).toBe(2 * SANDBOX_READS.length);
    const got = await sdk.refreshData.getPullOperation({ companyId: company.id, datasetId: queued.id });
    expect(got).toMatchObject({ id: queued.id, status: 'Complete', progress: 100, isCompleted: true });
    expect(got.completed).toBeDefined();

    const invoicesOnly = await sdk.refreshData.listPullOperations({ companyId: company.id, query: 'dataType=invoices', orderBy: '-requested' });
    expect(invoicesOnly.totalResults).toBe(2);
    expect(invoicesOnly.results![0]!.id).toBe(queued.id);
    const bad = await rejection(() => sdk.refreshData.listPullOperations({ companyId: company.id, query: 'isCompleted=true' }), errors.ErrorMessage);
    expect(bad.error).toBe('Error parsing query - Could not resolve property isCompleted on Dataset');
    const unknown = await rejection(() => sdk.refreshData.getPullOperation({ companyId: company.id, datasetId: MISSING }), errors.ErrorMessage);
    expect(unknown.statusCode).toBe(404);
    const notSupported = await sdk.refreshData.byDataType({ companyId: company.id, dataType: 'banking-accounts' });
    expect(notSupported.status).toBe('NotSupported');
  }, 240_000);

  it('profile and company sync settings round-trip', async () => {
    const profile = await sdk.settings.getSyncSettings();
    expect(profile.settings!.length).toBe(43);
    expect(profile.settings![0]).toMatchObject({ dataType: 'company', syncOrder: 1, syncSchedule: 168, fetchOnFirstLink: true });
    const invoices = profile.settings!.find((s) => s.dataType === 'invoices')!;
    await sdk.settings.updateSyncSettings({ clientId: profile.clientId!, overridesDefaults: true, settings: [{ ...invoices, syncSchedule: 24, isLocked: true }] });
    const updated = await sdk.settings.getSyncSettings();
    expect(updated.clientId).toBe(profile.clientId);
    expect(updated.settings!.find((s) => s.dataType === 'invoices')).toMatchObject({ syncSchedule: 24, isLocked: true });

    const company = await sdk.companies.create({ name: 'SDK Settings' });
    const initial = await sdk.companies.getCompanySyncSettings({ companyId: company.id });
    expect(initial).toMatchObject({ companyId: company.id, overridesDefaults: false });
    const bs = initial.settings!.find((s) => s.dataType === 'balanceSheet')!;
    await sdk.companies.setCompanySyncSettings({ companyId: company.id, requestBody: { companyId: company.id, overridesDefaults: true, settings: [{ ...bs, monthsToSync: 36 }] } });
    const set = await sdk.companies.getCompanySyncSettings({ companyId: company.id });
    expect(set.settings).toEqual([{ ...bs, monthsToSync: 36 }]);
    // a locked type cannot be overridden
    const locked = await rejection(
      () =>
        sdk.companies.setCompanySyncSettings({
          companyId: company.id,
          requestBody: { companyId: company.id, overridesDefaults: true, settings: [{ ...invoices, syncSchedule: 1 }] },
        }),
      errors.ErrorMessage,
    );
    expect(locked.statusCode).toBe(400);
    const wrongType = await rejection(
      () => sdk.companies.setCompanySyncSettings({ companyId: company.id, requestBody: { companyId: company.id, settings: [{ ...invoices, monthsToSync: 12 }] } }),
      errors.ErrorMessage,
    );
    expect(wrongType.validation?.errors?.[0]?.itemId).toBe('settings[0].monthsToSync');
    await sdk.settings.updateSyncSettings({ clientId: profile.clientId!, overridesDefaults: false, settings: [] });
  });
});

/**
 * Issue 13 item 8: the embedded Sandbox platform's tenants survive a restart of the server. Two real `syncline serve`
 * processes, one after the other, on one data directory: a Sandbox connection linked (and a record edited at the
 * platform) before the restart still reads after it — same tenant, same tokens, same edit — instead of ending
 * AuthError because the platform forgot its tenants. SQLite only: the state file lives in the data directory whatever
 * the database, and two process starts are the cost of this test.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { basic, serve, stop, type CliProcess } from './support/cli.js';

describe('the embedded Sandbox keeps its tenants across a restart', () => {
  const children: CliProcess[] = [];
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'syncline-sandbox-restart-'));
  afterAll(() => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('a linked Sandbox connection and an edit made at the platform are still there after the server restarts', async () => {
    const apiKey = 'SandboxRestartKey0123456789abcdefghijklm';
    const env = { SYNCLINE_API_KEY: apiKey, SYNCLINE_SECRET_KEY: 'sandbox-restart-secret-key-0123', SYNCLINE_DATA_DIR: dataDir, LOG_LEVEL: 'info' };
    const h = { ...basic(apiKey), 'content-type': 'application/json' };
    const call = async (base: string, method: string, p: string, body?: unknown) => {
      const res = await fetch(base + p, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) });
      return { status: res.status, body: res.status === 204 ? undefined : ((await res.json()) as any) };
    };
    const simUrlOf = (child: CliProcess) => /"url":"(http:\/\/[^"]+)"[^\n]*"msg":"in-process Sandbox platform started"/.exec(child.output().stdout)![1]!;
    const untilComplete = async (base: string, companyId: string, dataType: string) => {
      const deadline = Date.now() + 60_000;
      for (;;) {
        const s = (await call(base, 'GET', `/companies/${companyId}/dataStatus`)).body[dataType];
        if (s?.currentStatus && s.currentStatus !== 'Queued' && s.currentStatus !== 'Fetching' && s.currentStatus !== 'Mapping') return s.currentStatus as string;
        if (Date.now() > deadline) throw new Error(`${dataType} still ${JSON.stringify(s)}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    };

    // 1. Link a Sandbox connection and read its invoices.
    const first = await serve(env);
    children.push(first.child);
    const company = (await call(first.url, 'POST', '/companies', { name: 'Restart Ltd' })).body;
    // Only invoices on first link: the embedded platform paces at 60 calls a minute, and one type proves the point.
    const settings = (await call(first.url, 'GET', `/companies/${company.id}/syncSettings`)).body.settings as any[];
    const only = settings.map((x) => ({ ...x, fetchOnFirstLink: x.dataType === 'invoices' }));
    expect((await call(first.url, 'POST', `/companies/${company.id}/syncSettings`, { companyId: company.id, settings: only, overridesDefaults: true })).status).toBe(204);
    const conn = (await call(first.url, 'POST', `/companies/${company.id}/connections`, { platformKey: 'mqjo' })).body;
    expect((await fetch(conn.linkUrl, { redirect: 'manual' })).status).toBe(302);
    expect(await untilComplete(first.url, company.id, 'invoices')).toBe('Complete');
    const tenantId = (await call(first.url, 'GET', `/companies/${company.id}/connections/${conn.id}`)).body.connectionInfo.tenantId as string;
    const invoices = (await call(first.url, 'GET', `/companies/${company.id}/data/invoices?pageSize=5`)).body.results as any[];
    const target = invoices[0].id as string;
    // 2. A change at the platform (the business edits an invoice), then a restart.
    const simA = simUrlOf(first.child);
    const edit = await fetch(`${simA}/admin/tenants/${tenantId}/records/invoices/${target}/edit`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ patch: { reference: 'Edited before the restart' } }) });
    expect(edit.status).toBe(200);
    expect((await stop(first.child)).code).toBe(0);
    const file = path.join(dataDir, 'sandbox-state.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const saved = readFileSync(file, 'utf8');
    expect(saved).toContain(tenantId);
    expect(saved).toContain('Edited before the restart');

    // 3. A new process, a new in-process platform on another port: the same tenant, tokens and edit.
    const second = await serve(env);
    children.push(second.child);
    const simB = simUrlOf(second.child);
    expect(simB).not.toBe(simA);
    const tenant = await (await fetch(`${simB}/admin/tenants/${tenantId}`)).json() as any;
    expect(tenant.tenantId).toBe(tenantId);
    expect((await call(second.url, 'POST', `/companies/${company.id}/data/queue/invoices`)).status).toBe(200);
    expect(await untilComplete(second.url, company.id, 'invoices')).toBe('Complete');
    expect((await call(second.url, 'GET', `/companies/${company.id}/connections/${conn.id}`)).body.status).toBe('Linked');
    const after = (await call(second.url, 'GET', `/companies/${company.id}/data/invoices/${target}`)).body;
    expect(after.note).toBe('Edited before the restart');
    expect((await stop(second.child)).code).toBe(0);
  });
});

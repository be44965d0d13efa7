import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../test/support/stores.js';
import { BASE_URL, createTestApp, type TestApp } from '../../test/support/app.js';
import { MAX_LINK_CONNECTIONS_PER_INTEGRATION } from '../domain/link-rules.js';
import { LinkStatesRepository } from '../store/link-states.repository.js';
import { linkConnection } from './services/connection-lifecycle.js';
import { Writable } from 'node:stream';
import { buildApp } from './app.js';
import { createLogger } from '../lib/logger.js';

/**
 * Issue 12 item 4: the unauthenticated Link pages may link a PendingAuth connection and re-authorise a Deauthorized
 * one (same tenant), never touch a Linked or Unlinked one, create at most a capped number of connections, and the
 * company-level reads follow a documented rule, not "the newest connection".
 */
describe.each(DIALECTS)('Link page abuse [%s]', (dialect) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(dialect);
  });
  afterAll(async () => t.close());

  const browser = (url: string) => t.app.inject({ method: 'GET', url: url.startsWith(BASE_URL) ? url.slice(BASE_URL.length) : url });
  async function company(name: string): Promise<string> {
    return (await t.call('POST', '/companies', { name })).json().id;
  }
  async function connection(cid: string): Promise<Record<string, any>> {
    return (await t.call('POST', `/companies/${cid}/connections`, { platformKey: 'mqjo' })).json();
  }
  const statusOf = async (cid: string, id: string) => (await t.call('GET', `/companies/${cid}/connections/${id}`)).json().status;
  const historyOf = (id: string) => t.ctx.repos.connections.statusHistory(id);
  const stored = (id: string) => t.store.db.selectFrom('connections').select(['credentials', 'connection_info', 'updated_at']).where('id', '=', id).executeTakeFirstOrThrow();

  it('30 passes through the company Link page create at most the cap of connections', async () => {
    const cid = await company('Looped');
    const codes: number[] = [];
    for (let i = 0; i < 30; i++) {
      const choose = await browser(`/link/companies/${cid}/integrations/mqjo`);
      codes.push(choose.statusCode);
      if (choose.statusCode === 302) expect((await browser(String(choose.headers.location))).statusCode).toBe(302);
    }
    const list = (await t.call('GET', `/companies/${cid}/connections?pageSize=100`)).json();
    expect(list.totalResults).toBe(MAX_LINK_CONNECTIONS_PER_INTEGRATION);
    expect(codes.filter((c) => c === 302)).toHaveLength(MAX_LINK_CONNECTIONS_PER_INTEGRATION);
    const refused = await browser(`/link/companies/${cid}/integrations/mqjo`);
    expect(refused.statusCode).toBe(409);
    expect(refused.headers['content-type']).toMatch(/^text\/html/);
    expect(refused.body).toContain('Too many connections');
    // Pulls queued: only the first-link reads of the capped connections.
    const queued = await t.store.db.selectFrom('datasets').select((e) => e.fn.countAll<number>().as('n')).where('company_id', '=', cid).executeTakeFirstOrThrow();
    const perLink = Number(queued.n) / MAX_LINK_CONNECTIONS_PER_INTEGRATION;
    expect(Number.isInteger(perLink)).toBe(true);
    // Deleting one frees a place.
    await t.call('DELETE', `/companies/${cid}/connections/${list.results[0].id}`);
    expect((await browser(`/link/companies/${cid}/integrations/mqjo`)).statusCode).toBe(302);
  });

  it('concurrent passes through the company Link page never overshoot the cap', async () => {
    const cid = await company('Burst');
    // Fill up with Linked connections created through the API, then race the page.
    for (let i = 0; i < MAX_LINK_CONNECTIONS_PER_INTEGRATION - 1; i++) {
      const c = await connection(cid);
      await browser(c.linkUrl);
    }
    const answers = await Promise.all(Array.from({ length: 10 }, () => browser(`/link/companies/${cid}/integrations/mqjo`)));
    expect((await t.call('GET', `/companies/${cid}/connections`)).json().totalResults).toBe(MAX_LINK_CONNECTIONS_PER_INTEGRATION);
    // Every 302 points at the one PendingAuth connection created.
    const targets = new Set(answers.filter((a) => a.statusCode === 302).map((a) => a.headers.location));
    expect(targets.size).toBe(1);
  });

  it('an Unlinked connection is not re-linked from the Link page', async () => {
    const cid = await company('Unlinked Co');
    const conn = await connection(cid);
    expect((await browser(conn.linkUrl)).statusCode).toBe(302);
    expect((await t.call('PATCH', `/companies/${cid}/connections/${conn.id}`, { status: 'Unlinked' })).statusCode).toBe(200);
    const before = await stored(conn.id);
    const queuedBefore = await t.store.db.selectFrom('datasets').select('id').where('connection_id', '=', conn.id).execute();
    t.clock.advance(1000);
    const res = await browser(conn.linkUrl);
    expect(res.statusCode).toBe(409);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    expect(res.body).toContain('disconnected');
    expect(await statusOf(cid, conn.id)).toBe('Unlinked');
    expect((await historyOf(conn.id)).map((h) => h.to_status)).toEqual(['PendingAuth', 'Linked', 'Unlinked']);
    expect(await stored(conn.id)).toEqual(before);
    expect(await t.store.db.selectFrom('datasets').select('id').where('connection_id', '=', conn.id).execute()).toHaveLength(queuedBefore.length);
    // The client, with its API key, can still re-link it.
    expect((await t.call('PUT', `/companies/${cid}/connections/${conn.id}/authorization`, {})).json().status).toBe('Linked');
  });

  it('a Linked connection is left untouched: no new credentials, no history, no read', async () => {
    const cid = await company('Linked Co');
    const conn = await connection(cid);
    const row = (await t.ctx.repos.connections.get(cid, conn.id))!;
    await linkConnection(t.ctx, row, { credentials: { refreshToken: 'original', tenantId: 'tenant-1' }, connectionInfo: { tenantId: 'tenant-1' } }, 'test');
    // A link page that could link would call the connector: make any such call visible.
    let authorizeCalls = 0;
    (t.ctx as { authorizeConnection?: unknown }).authorizeConnection = async () => {
      authorizeCalls++;
      return { credentials: { refreshToken: 'attacker', tenantId: 'tenant-2' }, connectionInfo: { tenantId: 'tenant-2' } };
    };
    try {
      const before = await stored(conn.id);
      const datasets = await t.store.db.selectFrom('datasets').select('id').where('connection_id', '=', conn.id).execute();
      t.clock.advance(1000);
      const res = await browser(conn.linkUrl);
      expect(res.statusCode).toBe(409);
      expect(res.body).toContain('Already connected');
      expect(authorizeCalls).toBe(0);
      expect(await stored(conn.id)).toEqual(before);
      expect(t.ctx.secretBox.openJson(before.credentials!)).toEqual({ refreshToken: 'original', tenantId: 'tenant-1' });
      expect((await historyOf(conn.id)).map((h) => h.to_status)).toEqual(['PendingAuth', 'Linked']);
      expect(await t.store.db.selectFrom('datasets').select('id').where('connection_id', '=', conn.id).execute()).toHaveLength(datasets.length);
    } finally {
      delete (t.ctx as { authorizeConnection?: unknown }).authorizeConnection;
    }
  });

  it('a Deauthorized connection is re-authorised from the Link page only to the same tenant', async () => {
    const cid = await company('Deauth Co');
    const conn = await connection(cid);
    let tenant = 'tenant-A';
    (t.ctx as { authorizeConnection?: unknown }).authorizeConnection = async () => ({ credentials: { refreshToken: `rt-${tenant}`, tenantId: tenant }, connectionInfo: { tenantId: tenant } });
    try {
      expect((await browser(conn.linkUrl)).statusCode).toBe(302);
      const now = t.clock.now().toISOString();
      expect(await t.ctx.repos.connections.transition(conn.id, 'Linked', 'Deauthorized', now, 'test: token refused')).toBe(true);
      // The platform now hands out a different tenant: refused, still Deauthorized, connection.failed recorded.
      tenant = 'tenant-B';
      const refused = await browser(conn.linkUrl);
      expect(refused.statusCode).toBe(409);
      expect(refused.body).toContain('different organisation');
      const after = (await t.call('GET', `/companies/${cid}/connections/${conn.id}`)).json();
      expect(after.status).toBe('Deauthorized');
      expect(after.dataConnectionErrors[0].errorMessage).toMatch(/tenant_mismatch/);
      expect(t.ctx.secretBox.openJson((await stored(conn.id)).credentials!)).toEqual({ refreshToken: 'rt-tenant-A', tenantId: 'tenant-A' });
      // The same tenant again: re-linked.
      tenant = 'tenant-A';
      expect((await browser(conn.linkUrl)).statusCode).toBe(302);
      expect(await statusOf(cid, conn.id)).toBe('Linked');
    } finally {
      delete (t.ctx as { authorizeConnection?: unknown }).authorizeConnection;
    }
  });

  it('company-level reads use the most recently linked Linked connection, not the newest one', async () => {
    const cid = await company('Current Co');
    const a = await connection(cid);
    await browser(a.linkUrl);
    // A newer connection that was never authorised (what the Link page creates) does not displace it…
    const pending = await browser(`/link/companies/${cid}/integrations/mqjo`);
    expect(pending.statusCode).toBe(302);
    expect((await t.ctx.repos.connections.current(cid))!.id).toBe(a.id);
    // …queueing without a connectionId goes to the linked one…
    // (its first-link read still has invoices in progress, which the refusal names)
    const q = await t.call('POST', `/companies/${cid}/data/queue/invoices`);
    expect(q.statusCode).toBe(400);
    const busy = /previous sync ([0-9a-f-]{36})/.exec(q.json().error)![1]!;
    expect((await t.store.db.selectFrom('datasets').select('connection_id').where('id', '=', busy).executeTakeFirstOrThrow()).connection_id).toBe(a.id);
    // …a second linked connection, linked later, becomes current…
    const b = await connection(cid);
    t.clock.advance(1000);
    await browser(b.linkUrl);
    expect((await t.ctx.repos.connections.current(cid))!.id).toBe(b.id);
    // …and once it is unlinked, the other Linked one is current again.
    await t.call('PATCH', `/companies/${cid}/connections/${b.id}`, { status: 'Unlinked' });
    expect((await t.ctx.repos.connections.current(cid))!.id).toBe(a.id);
    await t.call('PATCH', `/companies/${cid}/connections/${a.id}`, { status: 'Unlinked' });
    // None Linked: the one linked most recently.
    expect((await t.ctx.repos.connections.current(cid))!.id).toBe(b.id);
  });

  it('an OAuth callback\'s code and state never reach a log line (DESIGN invariant 6)', async () => {
    let out = '';
    const log = createLogger('info', new Writable({ write: (c, _e, cb) => ((out += String(c)), cb()) }));
    const app = await buildApp({ ...t.ctx, log });
    try {
      const res = await app.inject({ method: 'GET', url: '/link/oauth/gbol/callback?code=SECRET-CODE-0123&state=SECRET-STATE-4567&scope=x' });
      expect(res.statusCode).toBe(400);
      expect(out).toContain('incoming request');
      expect(out).toContain('code=[redacted]');
      expect(out).not.toContain('SECRET-CODE-0123');
      expect(out).not.toContain('SECRET-STATE-4567');
    } finally {
      await app.close();
    }
  });

  it('link tokens are single-use, expire after 10 minutes and store only a hash', async () => {
    const cid = await company('Tokens Co');
    const conn = await connection(cid);
    const repo = new LinkStatesRepository(t.store.db);
    const issue = () => repo.issue({ kind: 'state', connectionId: conn.id, integrationKey: 'gbol', payload: t.ctx.secretBox.seal('verifier'), now: t.clock.now(), ttlMs: 10 * 60_000 });
    const token = await issue();
    const rows = await repo.forConnection(conn.id);
    expect(rows).toHaveLength(1);
    expect(JSON.stringify(rows)).not.toContain(token);
    expect(rows[0]!.payload).not.toContain('verifier');
    expect((await repo.consume(token, 'choice', t.clock.now())).ok).toBe(false);
    const second = await issue();
    const [x, y] = await Promise.all([repo.consume(second, 'state', t.clock.now()), repo.consume(second, 'state', t.clock.now())]);
    expect([x.ok, y.ok].filter(Boolean)).toHaveLength(1);
    const loser = x.ok ? y : x;
    expect(!loser.ok && loser.reason).toBe('replayed');
    const late = await issue();
    t.clock.advance(10 * 60_000);
    const r = await repo.consume(late, 'state', t.clock.now());
    expect(!r.ok && r.reason).toBe('expired');
    expect(!(await repo.consume('not-a-token', 'state', t.clock.now())).ok).toBe(true);
  });
});

/**
 * End to end over real sockets: the Sandbox platform (simulator) on a loopback port, the Sandbox connector, the pull
 * engine and the API, on both databases, with one manual clock shared by Syncline and the platform.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DIALECTS } from './support/stores.js';
import { createTestApp, expectErrorShape, type TestApp } from './support/app.js';
import { startEngine, type Engine } from './support/engine.js';
import { startSimulator, type Simulator } from '../src/sim/server.js';
import { SandboxConnector } from '../src/connectors/xero/index.js';
import { ACCOUNTING_READ_TYPES } from '../src/domain/data-types.js';
import { READ_TYPES } from '../src/domain/read-types.js';
import { agedFromReport, expectedAged } from '../src/connectors/xero/field-checks.js';

const DAY = 86_400_000;

describe.each(DIALECTS)('Sandbox platform end to end [%s]', (dialect) => {
  let t: TestApp;
  let sim: Simulator;
  let engine: Engine<SandboxConnector>;
  let companyId: string;
  let connectionId: string;
  let tenantId: string;

  beforeAll(async () => {
    t = await createTestApp(dialect);
    sim = await startSimulator({ port: 0, clock: t.clock, rateLimit: { perMinute: 100_000, concurrent: 5 }, defaultTenantSize: 120 });
  });
  afterAll(async () => {
    await sim.close();
    await t.close();
  });
  // Links a new company's Sandbox connection and runs its first pull (every type the Sandbox reads); `engine` runs until
  // `unlink`, which leaves the connection Unlinked so no later engine picks it up.
  const linkAndPull = async () => {
    // Waits (Retry-After, retry backoff) move the shared clock instead of sleeping.
    const connector = new SandboxConnector({ baseUrl: sim.url, clock: t.clock, retryBaseMs: 1, sleep: async (ms) => t.clock.advance(ms) });
    engine = startEngine(t, {}, connector);
    companyId = (await t.call('POST', '/companies', { name: 'Sandbox Trading' })).json().id;
    connectionId = (await t.call('POST', `/companies/${companyId}/connections`, { platformKey: 'mqjo' })).json().id;
    const link = await t.app.inject({ method: 'GET', url: `/link/companies/${companyId}/connections/${connectionId}/start` });
    expect(link.statusCode).toBe(302);
    await engine.pool.drain(60_000);
    tenantId = (await t.call('GET', `/companies/${companyId}/connections/${connectionId}`)).json().connectionInfo.tenantId;
  };
  const unlink = async () => {
    await engine.stop();
    await t.store.db.updateTable('connections').set({ status: 'Unlinked' }).where('id', '=', connectionId).execute();
  };

  const admin = async (path: string, body?: unknown) => {
    const res = await fetch(`${sim.url}/admin/tenants/${tenantId}${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (res.status >= 300) throw new Error(`admin ${path}: ${res.status} ${await res.text()}`);
    return res.status === 204 ? undefined : ((await res.json()) as any);
  };
  const get = (p: string) => t.call('GET', `/companies/${companyId}${p}`);
  const refresh = async (dataType: string) => {
    const op = (await t.call('POST', `/companies/${companyId}/data/queue/${dataType}`)).json();
    await engine.pool.drain(60_000);
    return (await get(`/data/history/${op.id}`)).json();
  };
  const invoice = async (id: string) => (await get(`/data/invoices/${id}`)).json();

  // A first pull is most of each test's time: the tests that only read the company (and link companies of their own)
  // share one linked, pulled company; every test that changes it gets a fresh one.
  describe('reads of one linked, pulled company', () => {
    beforeAll(linkAndPull);
    afterAll(unlink);

    it('links, pulls every type to Complete, and serves each read endpoint', async () => {
      const history = (await get('/data/history?pageSize=100')).json().results as any[];
      // The first read offers exactly the types the Sandbox connector reads, and each of them runs to Complete.
      const reads = ACCOUNTING_READ_TYPES.filter((type) => engine.connector.supports(type));
      expect(history.map((op) => op.dataType).sort()).toEqual([...reads].sort());
      for (const op of history) expect({ type: op.dataType, status: op.status, err: op.errorMessage }).toEqual({ type: op.dataType, status: 'Complete', err: undefined });
      const status = (await get('/dataStatus')).json();
      for (const type of ACCOUNTING_READ_TYPES) expect(status[type]?.currentStatus, type).toBe(reads.includes(type) ? 'Complete' : undefined);
      for (const rt of READ_TYPES.filter((r) => engine.connector.supports(r.dataType))) {
        const path = rt.dataType === 'bankAccounts' || rt.connectionOnly ? `/connections/${connectionId}/data/${rt.segment}` : `/data/${rt.segment}`;
        const res = await get(path);
        expect(res.statusCode, path).toBe(200);
        if (!rt.single) expect(res.json().totalResults, path).toBeGreaterThan(0);
      }
      const inv = (await get('/data/invoices?pageSize=1')).json();
      expect(inv.totalResults).toBe(120);
      expect(inv.results[0]).toMatchObject({ metadata: { isDeleted: false } });
      expect(typeof inv.results[0].totalAmount).toBe('number');
      // the connection shows its token bookkeeping
      const conn = (await t.call('GET', `/companies/${companyId}/connections/${connectionId}`)).json();
      expect(conn.connectionInfo.tenantName).toBeDefined();
      expect(conn.refreshTokenExpiresAt).toBeDefined();
      expect(JSON.stringify(conn)).not.toMatch(/refreshToken"|accessToken/);
    });

    it('aged debtors and creditors equal a direct computation over the platform ledger; a healthy pull has no validation findings', async () => {
      const tenant = sim.tenant(tenantId)!;
      const now = t.clock.now().getTime();
      const reportDateMs = Math.floor(now / DAY) * DAY - 20 * DAY;
      const L = 30;
      const P = 4;
      for (const [kind, segment, idKey] of [['invoices', 'agedDebtor', 'customerId'], ['bills', 'agedCreditor', 'supplierId']] as const) {
        expect((await get(`/reports/${segment}/available`)).json(), segment).toBe(true);
        const report = (await get(`/reports/${segment}?reportDate=${new Date(reportDateMs).toISOString().slice(0, 10)}&periodLengthDays=${L}&numberOfPeriods=${P}`)).json();
        const actual = agedFromReport(report, idKey);
        // The ledger itself (field-checks.ts): what was owed at the report date, by issue date.
        const want = expectedAged(tenant, kind, reportDateMs, L, P);
        expect(want.size, segment).toBeGreaterThan(0);
        expect(actual, segment).toEqual(want);
      }
      // The generated ledger is consistent: none of the first-link pulls found a total that does not add up or a
      // reference to a record the connection does not have.
      const history = (await get('/data/history?pageSize=100')).json().results as any[];
      for (const op of history.filter((o) => o.status === 'Complete')) {
        expect((await get(`/sync/${op.id}/validation`)).json(), op.dataType).toEqual({ errors: [], warnings: [] });
      }
    });

    it('syncFromUtc limits documents by sourceModifiedDate; reference data ignores it', async () => {
      const cutoff = new Date(t.clock.now().getTime() - 90 * DAY).toISOString();
      const other = (await t.call('POST', '/companies', { name: 'Windowed' })).json().id;
      const profile = (await t.call('GET', `/companies/${other}/syncSettings`)).json().settings as any[];
      const settings = profile.filter((s) => ['invoices', 'customers'].includes(s.dataType)).map((s) => ({ ...s, syncFromUtc: cutoff }));
      expect((await t.call('POST', `/companies/${other}/syncSettings`, { companyId: other, overridesDefaults: true, settings })).statusCode).toBe(204);
      const conn = (await t.call('POST', `/companies/${other}/connections`, { platformKey: 'mqjo' })).json().id;
      await t.app.inject({ method: 'GET', url: `/link/companies/${other}/connections/${conn}/start` });
      await engine.pool.drain(60_000);
      const inv = (await t.call('GET', `/companies/${other}/data/invoices?pageSize=5000`)).json();
      expect(inv.totalResults).toBeGreaterThan(0);
      expect(inv.totalResults).toBeLessThan(120);
      for (const r of inv.results) expect(Date.parse(r.sourceModifiedDate.endsWith('Z') ? r.sourceModifiedDate : `${r.sourceModifiedDate}Z`)).toBeGreaterThanOrEqual(Date.parse(cutoff) - 1000);
      // customers are reference data: the window does not apply
      const all = (await t.call('GET', `/companies/${companyId}/data/customers?pageSize=1`)).json().totalResults;
      expect((await t.call('GET', `/companies/${other}/data/customers?pageSize=1`)).json().totalResults).toBe(all);
      await t.store.db.updateTable('connections').set({ status: 'Unlinked' }).where('id', '=', conn).execute();
    });
  });

  describe('changes, each on a company of its own', () => {
    beforeEach(linkAndPull);
    afterEach(unlink);

    it('statements match the platform’s own figures; 24 months by default, monthsToSync overrides it', async () => {
      const counters = await admin('/counters');
      const plCalls = counters.byEndpoint['GET /Reports/ProfitAndLoss'];
      // 24 months at 12 per call
      expect(plCalls).toBe(2);
      const pl = (await get('/data/financials/profitAndLoss?periodLength=3&periodsToCompare=4')).json();
      expect(pl.reports).toHaveLength(4);
      // the platform's monthly report for the same months, summed
      const grant = await (await fetch(`${sim.url}/admin/tenants/${tenantId}/grant`, { method: 'POST' })).json() as any;
      const token = grant.access_token ?? grant.accessToken;
      const end = pl.reports[1].toDate.slice(0, 10);
      const xero = await (await fetch(`${sim.url}/api.xro/2.0/Reports/ProfitAndLoss?fromDate=${end.slice(0, 8)}01&toDate=${end}&periods=2&timeframe=MONTH`, {
        headers: { authorization: `Bearer ${token}`, 'xero-tenant-id': tenantId, accept: 'application/json' },
      }).then((r) => r.json())) as any;
      const rows = xero.Reports[0].Rows.flatMap((s: any) => s.Rows ?? []);
      // The wording is the tenant's edition's (US: Net Income).
      const net = rows.find((r: any) => ['Net Profit', 'Net Income'].includes(r.Cells?.[0]?.Value)).Cells.slice(1).reduce((a: number, c: any) => a + Number(c.Value), 0);
      expect(pl.reports[1].netProfit).toBeCloseTo(net, 2);
      const bs = (await get('/data/financials/balanceSheet?periodLength=1&periodsToCompare=30')).json();
      expect(bs.reports.length).toBe(24);

      const settings = (await t.call('GET', `/companies/${companyId}/syncSettings`)).json().settings as any[];
      const override = settings.filter((s) => s.dataType === 'profitAndLoss').map((s) => ({ ...s, monthsToSync: 36 }));
      expect((await t.call('POST', `/companies/${companyId}/syncSettings`, { companyId, overridesDefaults: true, settings: override })).statusCode).toBe(204);
      await admin('/counters/reset', {});
      expect((await refresh('profitAndLoss')).status).toBe('Complete');
      expect((await admin('/counters')).byEndpoint['GET /Reports/ProfitAndLoss']).toBe(3);
      const longer = (await get('/data/financials/profitAndLoss?periodLength=1&periodsToCompare=40')).json();
      expect(longer.reports.length).toBe(36);
    });

    it('deleted at the source → flagged; edited → modifiedDate moves; no-op re-pull → nothing moves; created and deleted between pulls → never seen', async () => {
      t.clock.advance(3_600_000);
      const a = (await admin('/records/invoices', { status: 'SUBMITTED' })).id as string;
      const b = (await admin('/records/invoices', { status: 'SUBMITTED' })).id as string;
      const d = (await admin('/records/invoices', { status: 'SUBMITTED' })).id as string;
      expect(await refresh('invoices')).toMatchObject({ status: 'Complete', recordsAdded: 3, recordsDeleted: 0 });
      const before = await invoice(b);
      t.clock.advance(3_600_000);
      const noop = await refresh('invoices');
      expect(noop).toMatchObject({ status: 'Complete', recordsAdded: 0, recordsUpdated: 0, recordsDeleted: 0 });
      expect((await invoice(b)).modifiedDate).toBe(before.modifiedDate);

      t.clock.advance(3_600_000);
      await admin(`/records/invoices/${a}/delete`, {});
      await admin(`/records/invoices/${b}/edit`, { patch: { reference: 'edited at the source' } });
      const c = (await admin('/records/invoices', { status: 'SUBMITTED' })).id as string;
      await admin(`/records/invoices/${c}/hard-delete`, {});
      await admin(`/records/invoices/${d}/hard-delete`, {});
      const after = await refresh('invoices');
      expect(after).toMatchObject({ status: 'Complete', recordsAdded: 0, recordsUpdated: 1, recordsDeleted: 1 });
      expect((await invoice(a)).metadata.isDeleted).toBe(true);
      const edited = await invoice(b);
      expect(edited.modifiedDate > before.modifiedDate).toBe(true);
      expect(edited.metadata.isDeleted).toBe(false);
      expectErrorShape(await get(`/data/invoices/${c}`), 404);
      // an incremental feed cannot see a hard delete; the periodic full listing does
      expect((await invoice(d)).metadata.isDeleted).toBe(false);
      for (let i = 0; i < 7; i++) {
        t.clock.advance(DAY);
        await refresh('invoices');
      }
      expect((await invoice(d)).metadata.isDeleted).toBe(true);
      const visible = (await get(`/data/invoices?query=${encodeURIComponent('metadata.isDeleted!=true')}&pageSize=1`)).json();
      expect(visible.totalResults).toBe(120 + 3 - 2);
    });

    it('a truncated body ends FetchError and leaves every stored record as it was', async () => {
      t.clock.advance(3_600_000);
      const a = (await admin('/records/invoices', { status: 'SUBMITTED' })).id as string;
      expect((await refresh('invoices')).status).toBe('Complete');
      const snapshot = async () =>
        JSON.stringify(await t.store.db.selectFrom('records').select(['record_id', 'content_hash', 'modified_date', 'is_deleted']).where('connection_id', '=', connectionId).orderBy('data_type').orderBy('record_id').execute());
      const before = await snapshot();
      t.clock.advance(3_600_000);
      await admin(`/records/invoices/${a}/delete`, {});
      await admin('/faults', { kind: 'truncate', count: null, path: 'invoices' });
      const op = await refresh('invoices');
      expect(op.status).toBe('FetchError');
      expect(op.errorMessage).toBeTruthy();
      expect(await snapshot()).toBe(before);
      await fetch(`${sim.url}/admin/tenants/${tenantId}/faults`, { method: 'DELETE' });
      expect((await refresh('invoices')).status).toBe('Complete');
      expect((await invoice(a)).metadata.isDeleted).toBe(true);
    });

    it('a 429 storm: the pull waits within its 15-minute budget, then ends RateLimitError; a short burst completes', async () => {
      await admin('/faults', { kind: '429', count: 3, retryAfterSeconds: 30, path: 'invoices' });
      t.clock.advance(60_000);
      const burst = await refresh('invoices');
      expect(burst.status).toBe('Complete');
      await admin('/faults', { kind: '429', count: null, retryAfterSeconds: 120, path: 'invoices' });
      t.clock.advance(60_000);
      const storm = await refresh('invoices');
      expect(storm.status).toBe('RateLimitError');
      expect(storm.statusDescription).toMatch(/^Paused until \d{4}-/);
      const counters = await admin('/counters');
      // it slowed down: about 15 minutes of 2-minute waits, not a tight loop
      expect(counters.rateLimited.injected).toBeLessThanOrEqual(3 + 9);
      await fetch(`${sim.url}/admin/tenants/${tenantId}/faults`, { method: 'DELETE' });
    });

    it('with keep-alive off, a connection idle for 61 days ends Deauthorized on its next pull', async () => {
      t.clock.advance(61 * DAY);
      await sim.tenant(tenantId)?.advance(0);
      const op = await refresh('invoices');
      expect(op.status).toBe('AuthError');
      const conn = (await t.call('GET', `/companies/${companyId}/connections/${connectionId}`)).json();
      expect(conn.status).toBe('Deauthorized');
      expect(conn.dataConnectionErrors[0].status).toBe('Active');
      // the data pulled before stays readable
      expect((await get('/data/invoices?pageSize=1')).statusCode).toBe(200);
      // re-linking authorizes again and pulls
      await t.app.inject({ method: 'GET', url: `/link/companies/${companyId}/connections/${connectionId}/start` });
      await engine.pool.drain(60_000);
      expect((await t.call('GET', `/companies/${companyId}/connections/${connectionId}`)).json().status).toBe('Linked');
      expect((await refresh('invoices')).status).toBe('Complete');
    });

    it('deleting the connection revokes its tokens at the platform', async () => {
      const row = await t.store.db.selectFrom('connections').select('credentials').where('id', '=', connectionId).executeTakeFirstOrThrow();
      const creds = t.ctx.secretBox.openJson<{ refreshToken: string }>(row.credentials!);
      const res = await t.call('DELETE', `/companies/${companyId}/connections/${connectionId}`);
      expect(res.statusCode).toBe(200);
      // revocation runs after the response (best effort): poll briefly for its effect
      let status = 0;
      for (let i = 0; i < 50 && status !== 400; i++) {
        await new Promise((r) => setTimeout(r, 20));
        const refresh = await fetch(`${sim.url}/connect/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: creds.refreshToken }),
        });
        status = refresh.status;
      }
      expect(status).toBe(400);
    });

    it('with keep-alive on, a connection idle for a simulated year stays Linked', async () => {
      for (let day = 1; day <= 365; day++) {
        t.clock.advance(DAY);
        await engine.keepAlive({ idleDays: 30 });
      }
      expect((await admin('/counters')).refreshes).toBeGreaterThanOrEqual(12);
      expect((await refresh('invoices')).status).toBe('Complete');
      const conn = (await t.call('GET', `/companies/${companyId}/connections/${connectionId}`)).json();
      expect(conn.status).toBe('Linked');
      expect(conn.lastKeepAlive).toBeDefined();
    });
  });
});

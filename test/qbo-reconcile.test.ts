/**
 * QuickBooks Online deletions and paging through the whole engine, on both databases: a CDC answer of 1,000 objects
 * (CDC has no paging, so the answer may be cut) makes the pull list in full and reconcile ids, and edits made at the
 * source between the pages of a full listing cause no skip and no false delete. The simulator's QuickBooks dialect on
 * a loopback port, the QBO connector (pages of 50), the Link flow through the consent step, the pull engine.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from './support/stores.js';
import { createTestApp, type TestApp } from './support/app.js';
import { startEngine, type Engine } from './support/engine.js';
import { startSimulator, type Simulator } from '../src/sim/server.js';
import type { Realm } from '../src/sim/qbo/dialect.js';
import type { QboConnector } from '../src/connectors/qbo/index.js';
import { linkThroughConsent, simQboConnector } from './support/qbo.js';
import type { PullRequest, SourceRecord } from '../src/connectors/connector.js';

const CLIENT = { id: 'syncline-reconcile', secret: 'reconcile-secret' };
type Doc = Record<string, any>;

describe.each(DIALECTS)('QuickBooks Online reconciliation through the engine [%s]', (dialect) => {
  let t: TestApp;
  let sim: Simulator;
  let engine: Engine<QboConnector>;
  /** Called between the pages of an invoice listing (the engine sees nothing of it). */
  let betweenPages: ((page: number) => void) | undefined;

  async function link(companyId: string, connectionId: string, realm: Realm): Promise<void> {
    expect((await linkThroughConsent(t, sim, companyId, connectionId, realm)).answer.statusCode).toBe(302);
    await engine.pool.drain(120_000);
  }
  async function newCompany(name: string, realm: Realm): Promise<{ companyId: string; get: (p: string) => Promise<any>; pull: (dt: string) => Promise<Doc> }> {
    const companyId = (await t.call('POST', '/companies', { name })).json().id as string;
    const connectionId = (await t.call('POST', `/companies/${companyId}/connections`, { platformKey: 'qhyg' })).json().id as string;
    await link(companyId, connectionId, realm);
    const get = async (p: string) => (await t.call('GET', `/companies/${companyId}${p}`)).json();
    const pull = async (dataType: string) => {
      t.clock.advance(120_000);
      realm.tenant.advance(120_000);
      const op = (await t.call('POST', `/companies/${companyId}/data/queue/${dataType}`)).json();
      await engine.pool.drain(120_000);
      return get(`/data/history/${op.id}`);
    };
    return { companyId, get, pull };
  }
  async function listAll(get: (p: string) => Promise<any>): Promise<Doc[]> {
    const out: Doc[] = [];
    for (let page = 1; ; page++) {
      const r = await get(`/data/invoices?pageSize=500&page=${page}`);
      out.push(...r.results);
      if (!r._links.next) return out;
    }
  }
  /** Invoices QuickBooks lists (posted ones; drafts and deleted are not transactions there), by Syncline id. */
  const liveIds = (realm: Realm) =>
    realm.tenant.collections.invoices
      .list({ offset: 0, limit: 100_000 })
      .items.filter((d) => !['DRAFT', 'SUBMITTED', 'DELETED'].includes(d.status))
      .map((d) => String(d.index + 1))
      .sort();

  beforeAll(async () => {
    t = await createTestApp(dialect, { qbo: true });
    t.clock.set('2026-06-15T19:00:00.000Z');
    sim = await startSimulator({ port: 0, clock: t.clock, qbo: { clients: [CLIENT] } });
    const connector = simQboConnector(sim, t.clock, CLIENT, { pageSize: 50 });
    // The engine pulls through the connector as it is; only the pages of invoice listings pass a hook on their way.
    const pull = connector.pull.bind(connector);
    connector.pull = async function* (req: PullRequest) {
      const gen = pull(req);
      let page = 0;
      for (;;) {
        const step = await gen.next();
        if (step.done) return step.value;
        yield step.value as SourceRecord[];
        if (req.dataType === 'invoices') betweenPages?.(++page);
      }
    } as QboConnector['pull'];
    // The engine's own periodic full listings are pushed out of the way: the ones seen here are the connector's.
    engine = startEngine(t, { fullEveryPulls: 1000, fullEveryMs: 365 * 86_400_000 }, connector);
    (t.ctx as { oauthLinker?: unknown }).oauthLinker = (key: string) => (key === 'qhyg' ? connector.oauthLinker : undefined);
  });
  afterAll(async () => {
    await engine.stop();
    await sim.close();
    await t.close();
  });

  it('a CDC answer of 1,000 invoices makes the pull list in full and reconcile: the edits served, a hard delete flagged', async () => {
    const realm = sim.qbo.createRealm({ seed: `qbo-busy-${dialect}`, size: { invoices: 1100, bills: 20, creditNotes: 10, customers: 20, historyMonths: 1 } });
    const c = await newCompany('Busy Books', realm);
    expect((await c.get('/dataStatus')).invoices.currentStatus).toBe('Complete');
    expect((await listAll(c.get)).map((i) => i.id).sort()).toEqual(liveIds(realm));

    const tenant = realm.tenant;
    const invoices = tenant.collections.invoices.list({ offset: 0, limit: 100_000 }).items;
    const open = invoices.filter((d) => d.status === 'AUTHORISED' && d.payments.length === 0);
    const victim = open[0]!;
    tenant.advance(60_000);
    tenant.delete('invoices', tenant.gen.id('invoices', victim.index));
    // 1,000 edits after the delete: CDC answers its cap of 1,000 objects, and the tombstone is not among them.
    const edited = invoices.filter((d) => d.index !== victim.index && !['DRAFT', 'SUBMITTED', 'DELETED'].includes(d.status)).slice(0, 1000);
    expect(edited).toHaveLength(1000);
    for (const d of edited) {
      tenant.advance(10);
      tenant.edit('invoices', tenant.gen.id('invoices', d.index), { reference: `Busy ${d.index}` });
    }
    const cdcBefore = realm.counters.byEndpoint['GET /cdc'] ?? 0;
    const queriesBefore = realm.counters.byEndpoint['GET /query'] ?? 0;
    const ds = await c.pull('invoices');
    expect(ds).toMatchObject({ status: 'Complete', recordsDeleted: 1 });
    expect(realm.counters.byEndpoint['GET /cdc']).toBe(cdcBefore + 1);
    // The full listing: every live invoice in pages of 50.
    expect(realm.counters.byEndpoint['GET /query']! - queriesBefore).toBeGreaterThanOrEqual(Math.ceil(liveIds(realm).length / 50));
    const served = await listAll(c.get);
    expect(served.find((i) => i.id === String(victim.index + 1))?.metadata.isDeleted).toBe(true);
    expect(served.filter((i) => !i.metadata.isDeleted).map((i) => i.id).sort()).toEqual(liveIds(realm));
    const byId = new Map(served.map((i) => [i.id, i]));
    // (QuickBooks appends " Voided" to the private note of a voided invoice.)
    for (const d of edited) expect(byId.get(String(d.index + 1))?.note, String(d.index + 1)).toMatch(new RegExp(`^Busy ${d.index}( Voided)?$`));
  });

  it('edits at the source between the pages of a full listing: nothing skipped, nothing falsely deleted, next pull serves the edits', async () => {
    const realm = sim.qbo.createRealm({ seed: `qbo-pages-${dialect}`, size: { invoices: 400, bills: 20, creditNotes: 10 } });
    const tenant = realm.tenant;
    const live = tenant.collections.invoices.list({ offset: 0, limit: 100_000 }).items.filter((d) => !['DRAFT', 'SUBMITTED', 'DELETED'].includes(d.status));
    expect(live.length).toBeGreaterThan(300);
    const moved: string[] = [];
    betweenPages = (page) => {
      if (page > 4) return;
      // Records already read and not yet read each move to the end of the LastUpdatedTime order.
      tenant.advance(1000);
      for (const d of [live[page * 10]!, live[250 + page]!]) {
        tenant.edit('invoices', tenant.gen.id('invoices', d.index), { reference: `moved on page ${page}` });
        moved.push(String(d.index + 1));
      }
    };
    let c;
    try {
      c = await newCompany('Paging Books', realm);
    } finally {
      betweenPages = undefined;
    }
    expect(moved).toHaveLength(8);
    expect((await c.get('/dataStatus')).invoices.currentStatus).toBe('Complete');
    const first = await listAll(c.get);
    expect(first.map((i) => i.id).sort()).toEqual(liveIds(realm));
    expect(first.filter((i) => i.metadata.isDeleted)).toEqual([]);

    // The next (incremental, CDC) pull serves every edit made during the listing.
    expect(await c.pull('invoices')).toMatchObject({ status: 'Complete', recordsDeleted: 0 });
    const after = new Map((await listAll(c.get)).map((i) => [i.id, i]));
    for (const id of moved) expect(after.get(id)?.note, id).toMatch(/^moved on page \d$/);
    expect([...after.values()].filter((i) => i.metadata.isDeleted)).toEqual([]);
  });
});

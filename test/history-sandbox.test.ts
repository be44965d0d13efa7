/**
 * Record history end to end against the Sandbox platform (simulator over a loopback socket), on both databases:
 * invoices are edited, voided, deleted (soft and hard) and created at the source across several
 * pulls, and paid. At each moment the test takes what the simulator held (its wire records mapped
 * by the connector's own mapper) and what Syncline served; afterwards every version, diff, feed entry, pull's changes
 * and asOf / asOfPull answer is checked against those moments. A failed pull in between leaves nothing.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { applyPatch } from '../src/lib/json-patch.js';
import { DIALECTS } from './support/stores.js';
import { createTestApp, type TestApp } from './support/app.js';
import { startEngine, type Engine } from './support/engine.js';
import { startSimulator, type Simulator } from '../src/sim/server.js';
import { SandboxConnector } from '../src/connectors/xero/index.js';
import { mapInvoice } from '../src/connectors/xero/mappers.js';

const DAY = 86_400_000;
type Doc = Record<string, any>;

describe.each(DIALECTS)('record history against the Sandbox platform [%s]', (dialect) => {
  let t: TestApp;
  let sim: Simulator;
  let engine: Engine<SandboxConnector>;
  let companyId: string;
  let connectionId: string;
  let tenantId: string;

  beforeAll(async () => {
    t = await createTestApp(dialect);
    sim = await startSimulator({ port: 0, clock: t.clock, rateLimit: { perMinute: 100_000, concurrent: 5 }, defaultTenantSize: 30 });
  });
  afterAll(async () => {
    await sim.close();
    await t.close();
  });
  beforeEach(async () => {
    const connector = new SandboxConnector({ baseUrl: sim.url, clock: t.clock, retryBaseMs: 1, sleep: async (ms) => t.clock.advance(ms) });
    engine = startEngine(t, {}, connector);
    companyId = (await t.call('POST', '/companies', { name: 'Versioned Trading' })).json().id;
    connectionId = (await t.call('POST', `/companies/${companyId}/connections`, { platformKey: 'mqjo' })).json().id;
    expect((await t.app.inject({ method: 'GET', url: `/link/companies/${companyId}/connections/${connectionId}/start` })).statusCode).toBe(302);
    await engine.pool.drain(60_000);
    tenantId = (await t.call('GET', `/companies/${companyId}/connections/${connectionId}`)).json().connectionInfo.tenantId;
  });
  afterEach(async () => {
    await engine.stop();
  });

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
  const refresh = async () => {
    t.clock.advance(60_000);
    const op = (await t.call('POST', `/companies/${companyId}/data/queue/invoices`)).json();
    await engine.pool.drain(60_000);
    t.clock.advance(60_000);
    return (await get(`/data/history/${op.id}`)).json();
  };
  const listAll = async (qs = ''): Promise<Doc[]> => {
    const out: Doc[] = [];
    for (let page = 1; ; page++) {
      const r = await get(`/data/invoices?pageSize=25&page=${page}${qs}`);
      expect(r.statusCode, r.body).toBe(200);
      out.push(...r.json().results);
      if (!r.json()._links.next) return out;
    }
  };
  /** What the platform holds now, through the connector's own mapping: id → mapped document and deleted flag. */
  const platformTruth = async () => {
    const truth = new Map<string, { data: Doc; deleted: boolean }>();
    for (let offset = 0; ; offset += 100) {
      const page = await admin(`/records/invoices?offset=${offset}&limit=100`);
      for (const id of page.ids as string[]) {
        const mapped = mapInvoice(await admin(`/records/invoices/${id}?unitdp=4`));
        truth.set(id, { data: mapped.data, deleted: mapped.deleted });
      }
      if (offset + 100 >= page.total) return truth;
    }
  };
  const strip = (d: Doc) => {
    const { modifiedDate: _m, metadata: _md, ...rest } = d;
    return rest;
  };

  it('every version, diff, feed entry and asOf answer matches what the platform held at each moment', async () => {
    const moments: { at: string; pullId: string; served: Doc[] }[] = [];
    const remember = async (pullId: string) => {
      const served = await listAll();
      const truth = await platformTruth();
      // Syncline served what the platform held: every live record mapped the same, deletions flagged.
      for (const [id, p] of truth) {
        const s = served.find((r) => r.id === id);
        expect(s, id).toBeDefined();
        expect(s!.metadata.isDeleted, id).toBe(p.deleted);
        if (!p.deleted) expect(strip(s!), id).toEqual(p.data);
      }
      for (const s of served) if (!truth.has(s.id)) expect(s.metadata.isDeleted, `${s.id} is gone at the source`).toBe(true);
      moments.push({ at: t.clock.now().toISOString(), pullId, served });
    };
    const first = (await get('/data/history?query=dataType=invoices')).json().results[0];
    await remember(first.id);

    // Moment 1: edits, voids, soft deletes and new invoices.
    t.clock.advance(3_600_000);
    const fresh: string[] = [];
    for (let i = 0; i < 4; i++) fresh.push((await admin('/records/invoices', { status: 'SUBMITTED' })).id as string);
    // And one approved (AUTHORISED) invoice, so an open invoice can be paid whatever the seed and today's date paid off.
    await admin('/records/invoices', {});
    const ids = moments[0]!.served.map((r) => r.id as string);
    await admin(`/records/invoices/${ids[3]}/edit`, { patch: { reference: 'edited at the source' } });
    await admin(`/records/invoices/${ids[5]}/edit`, { patch: { reference: 'PO 5' } });
    const p1 = await refresh();
    expect(p1).toMatchObject({ status: 'Complete', recordsAdded: 5 });
    await remember(p1.id);

    t.clock.advance(3_600_000);
    await admin(`/records/invoices/${fresh[0]}/void`, {});
    await admin(`/records/invoices/${fresh[1]}/delete`, {});
    await admin(`/records/invoices/${fresh[2]}/edit`, { patch: { reference: 'second edit' } });
    await admin(`/records/invoices/${ids[3]}/edit`, { patch: { reference: 'edited twice' } });
    // A payment at the source updates its invoice (amount due, status).
    // (Generated invoices are AUTHORISED, DRAFT or VOIDED; Submitted here means approved and open.)
    const open = moments[1]!.served.find(
      (r) => ['Submitted', 'PartiallyPaid'].includes(r.status) && r.amountDue > 1 && ![ids[3], ids[5], ...fresh].includes(r.id),
    );
    expect(open).toBeDefined();
    await admin('/records/payments', { invoiceId: open!.id, amount: 1 });
    const p2 = await refresh();
    expect(p2.status).toBe('Complete');
    await remember(p2.id);

    // A pull that fails (truncated answers) records no version and no feed entry.
    t.clock.advance(3_600_000);
    await admin(`/records/invoices/${fresh[2]}/void`, {});
    const entriesBefore = (await get('/data/invoices/changes?pageSize=5000')).json().results.length;
    await admin('/faults', { kind: 'truncate', count: null, path: 'invoices' });
    expect((await refresh()).status).toBe('FetchError');
    await fetch(`${sim.url}/admin/tenants/${tenantId}/faults`, { method: 'DELETE' });
    expect((await get('/data/invoices/changes?pageSize=5000')).json().results.length).toBe(entriesBefore);
    const p3 = await refresh();
    expect(p3).toMatchObject({ status: 'Complete' });
    await remember(p3.id);

    // A hard delete at the source, found by the weekly full listing; an undelete cannot happen at the source, so
    // the last moment has a deletion flagged by reconciliation.
    await admin(`/records/invoices/${fresh[3]}/hard-delete`, {});
    t.clock.advance(8 * DAY);
    const p4 = await refresh();
    expect(p4).toMatchObject({ status: 'Complete', recordsDeleted: 1 });
    await remember(p4.id);

    // ---- asOf and asOfPull give back each moment exactly (paged), and get by id agrees
    for (const m of moments) {
      expect(await listAll(`&asOf=${m.at}`)).toEqual(m.served);
      expect(await listAll(`&asOfPull=${m.pullId}`)).toEqual(m.served);
      for (const id of [ids[3], ids[5], ...fresh]) {
        const r = await get(`/data/invoices/${id}?asOf=${m.at}`);
        const expected = m.served.find((s) => s.id === id);
        if (expected) expect(r.json()).toEqual(expected);
        else expect(r.statusCode).toBe(404);
      }
    }

    // ---- versions: the version in effect at each moment is what was served then; diffs rebuild each version
    const allIds = new Set(moments.flatMap((m) => m.served.map((s) => s.id as string)));
    for (const id of allIds) {
      const versions = (await get(`/data/invoices/${id}/versions?pageSize=100`)).json().results as Doc[];
      expect(versions.length).toBeGreaterThan(0);
      let prev: Doc = {};
      for (const v of [...versions].reverse()) {
        expect(applyPatch(prev, v.diff), id).toEqual(v.record);
        prev = v.record;
      }
      for (const m of moments) {
        const inEffect = versions.find((v) => v.committedDate <= m.at);
        const served = m.served.find((s) => s.id === id);
        if (served) expect(inEffect?.record, `${id} at ${m.at}`).toEqual(served);
        else expect(inEffect, `${id} at ${m.at}`).toBeUndefined();
      }
    }

    // ---- each pull's changes are exactly what differs between the moments around it, with the right kind
    for (let i = 1; i < moments.length; i++) {
      const before = new Map(moments[i - 1]!.served.map((s) => [s.id, s]));
      const expected: [string, string][] = [];
      for (const s of moments[i]!.served) {
        const b = before.get(s.id);
        if (!b) expected.push([s.id, 'added']);
        else if (!b.metadata.isDeleted && s.metadata.isDeleted) expected.push([s.id, 'deleted']);
        else if (JSON.stringify(b) !== JSON.stringify(s)) expected.push([s.id, 'updated']);
      }
      const own = (await get(`/data/history/${moments[i]!.pullId}/changes?pageSize=3`)).json();
      const all = [...own.results];
      for (let c = own; c.hasMore; ) {
        c = (await get(`/data/history/${moments[i]!.pullId}/changes?pageSize=3&cursor=${c.cursor}`)).json();
        all.push(...c.results);
      }
      expect(all.map((e: Doc) => [e.recordId, e.kind]).sort(), `pull ${i}`).toEqual(expected.sort());
      expect(expected.length).toBeGreaterThan(0);
    }

    // ---- the feed: replay into an empty table equals the store; resuming from any cursor misses and repeats nothing
    const feed: Doc[] = [];
    const cursors: string[] = [];
    for (let cursor: string | undefined; ; ) {
      const page = (await get(`/data/invoices/changes?pageSize=7${cursor ? `&cursor=${cursor}` : ''}`)).json();
      feed.push(...page.results);
      cursor = page.cursor;
      cursors.push(cursor!);
      if (!page.hasMore) break;
    }
    const table = new Map<string, Doc>();
    for (const e of feed) table.set(e.recordId, e.record);
    const store = await listAll();
    expect([...table.values()].sort((a, b) => (a.id < b.id ? -1 : 1))).toEqual(store);
    for (let i = 0; i < cursors.length; i += 2) {
      const rest: Doc[] = [];
      for (let cursor = cursors[i]; ; ) {
        const page = (await get(`/data/invoices/changes?pageSize=50&cursor=${cursor}`)).json();
        rest.push(...page.results);
        cursor = page.cursor;
        if (!page.hasMore) break;
      }
      expect(rest).toEqual(feed.slice((i + 1) * 7));
    }
  });
});

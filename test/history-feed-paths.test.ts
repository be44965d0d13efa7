/**
 * The change feeds of the data types that are not read through a plain list endpoint (issue 16): company info
 * (`…/data/info/changes`), bank transactions (`…/data/bankTransactions/changes`, and their versions) and the three
 * financial statements (`…/data/financials/{statement}/changes`), on both databases, at the company level and per
 * connection. Each feed is the pulls' own changes in commit order, resumable from any cursor, and takes the cursors
 * of its type's records.changed events; a cursor of another feed, an unknown company or connection, and a type never
 * pulled are refused as on every other read.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { companyPerTest } from './support/company.js';
import { applyPatch } from '../src/lib/json-patch.js';
import { newId } from '../src/lib/ids.js';
import { newDatasetRow } from '../src/store/datasets.repository.js';
import type { DataType } from '../src/domain/data-types.js';
import { DIALECTS } from './support/stores.js';
import { expectErrorShape, type TestApp } from './support/app.js';
import type { Engine } from './support/engine.js';
import { allowPrivateTargets } from './support/webhooks.js';
import { seedLinkedConnections } from './support/fixtures.js';

/** The new feed paths (after `…/data`) and the data type each one follows. */
const FEEDS: { path: string; dataType: DataType }[] = [
  { path: 'info/changes', dataType: 'company' },
  { path: 'bankTransactions/changes', dataType: 'bankTransactions' },
  { path: 'financials/balanceSheet/changes', dataType: 'balanceSheet' },
  { path: 'financials/profitAndLoss/changes', dataType: 'profitAndLoss' },
  { path: 'financials/cashFlowStatement/changes', dataType: 'cashFlowStatement' },
];

const statement = (t: DataType, month: string, value: number) =>
  t === 'balanceSheet'
    ? { date: `${month}-28T00:00:00`, currency: 'GBP', assets: { name: 'Assets', value }, liabilities: { name: 'Liabilities', value: 1 }, netAssets: value - 1 }
    : t === 'profitAndLoss'
      ? { fromDate: `${month}-01T00:00:00`, toDate: `${month}-28T00:00:00`, currency: 'GBP', income: { name: 'Income', value }, netProfit: value }
      : { fromDate: `${month}-01T00:00:00`, toDate: `${month}-28T00:00:00`, currency: 'GBP', cashReceipts: { name: 'Receipts', value } };

describe.each(DIALECTS)('change feeds of company info, bank transactions and the statements [%s]', (dialect) => {
  // The shared fixture (test/support/company.ts); these names are this test's app, engine, company and connection.
  const fixture = companyPerTest(dialect, 'Feed Co');
  let t: TestApp;
  let engine: Engine;
  let companyId: string;
  let connectionId: string;
  beforeEach(() => {
    ({ t, engine, companyId, connectionId } = fixture);
  });

  const get = (p: string) => t.call('GET', `/companies/${companyId}${p}`);
  const levels = () => [`/data`, `/connections/${connectionId}/data`];
  /** One pull of each type, a minute after the last thing that happened; their datasets, in commit order. */
  const pull = async (types: DataType[]) => {
    const ids: Record<string, string> = {};
    for (const dt of types) {
      t.clock.advance(60_000);
      const res = await t.call('POST', `/companies/${companyId}/data/queue/${dt}`);
      expect(res.statusCode, res.body).toBe(200);
      ids[dt] = res.json().id;
      await engine.pool.drain(30_000);
      expect((await get(`/data/history/${ids[dt]}`)).json().status).toBe('Complete');
    }
    return ids;
  };
  const follow = async (path: string, cursor?: string, pageSize = 2) => {
    const entries: any[] = [];
    for (;;) {
      const r = await get(`${path}?pageSize=${pageSize}${cursor ? `&cursor=${cursor}` : ''}`);
      expect(r.statusCode, `${path}: ${r.body}`).toBe(200);
      const body = r.json();
      expect(body.results.length).toBeLessThanOrEqual(pageSize);
      entries.push(...body.results);
      cursor = body.cursor;
      if (!body.hasMore) return { entries, cursor: cursor! };
      expect(body._links.next.href).toContain(`cursor=${cursor}`);
    }
  };

  it('serves each pull’s changes in commit order, resumable from any cursor, and the records.changed cursors', async () => {
    allowPrivateTargets(t);
    expect((await t.call('POST', '/webhooks', { url: 'http://127.0.0.1:9/hooks', eventTypes: ['records.changed'] })).statusCode).toBe(201);
    const c = engine.connector;
    c.upsert('company', 'org-1', { companyName: 'Feed Ltd', baseCurrency: 'GBP' });
    c.upsert('bankAccounts', 'b1', { accountName: 'Current', currency: 'GBP' });
    c.upsert('bankAccounts', 'b2', { accountName: 'Savings', currency: 'GBP' });
    for (let i = 0; i < 4; i++) c.upsert('bankTransactions', `bt${i}`, { accountId: i < 3 ? 'b1' : 'b2', amount: 10 * (i + 1) });
    const statements = ['balanceSheet', 'profitAndLoss', 'cashFlowStatement'] as const;
    for (const st of statements) for (const [i, m] of ['2026-01', '2026-02'].entries()) c.upsert(st, m, statement(st, m, 100 + i));
    expect((await t.app.inject({ method: 'GET', url: `/link/companies/${companyId}/connections/${connectionId}/start` })).statusCode).toBe(302);
    await engine.pool.drain(30_000);
    const types = FEEDS.map((f) => f.dataType);
    const first: Record<string, string> = {};
    for (const dt of types) first[dt] = (await get(`/data/history?query=${encodeURIComponent(`dataType=${dt}`)}`)).json().results[0].id;

    // Pull 2: company renamed; bt0 edited, bt1 deleted, bt4 new; each statement's February edited, March new, January
    // deleted. Pull 3: the company renamed again, bt0 edited again.
    c.upsert('company', 'org-1', { companyName: 'Feed Ltd (renamed)', baseCurrency: 'GBP' });
    c.upsert('bankTransactions', 'bt0', { accountId: 'b2', amount: 99, description: 'moved' });
    c.softDelete('bankTransactions', 'bt1');
    c.upsert('bankTransactions', 'bt4', { accountId: 'b1', amount: 50 });
    for (const st of statements) {
      c.upsert(st, '2026-02', statement(st, '2026-02', 202));
      c.upsert(st, '2026-03', statement(st, '2026-03', 303));
      c.softDelete(st, '2026-01');
    }
    const second = await pull(types);
    c.upsert('company', 'org-1', { companyName: 'Feed Ltd (again)', baseCurrency: 'GBP' });
    c.upsert('bankTransactions', 'bt0', { accountId: 'b2', amount: 98, description: 'moved again' });
    const third = await pull(['company', 'bankTransactions']);
    const pulls = (dt: string) => [first[dt]!, second[dt]!, third[dt]].filter((x): x is string => x !== undefined);

    const events = (await t.store.db.selectFrom('webhook_events').select('data').where('event_type', '=', 'records.changed').execute()).map((e) => JSON.parse(e.data));
    let checked = 0;
    for (const { path, dataType } of FEEDS) {
      // The feed is the pulls' own changes, one after the other in commit order.
      const own: any[][] = [];
      for (const id of pulls(dataType)) own.push((await follow(`/data/history/${id}/changes`, undefined, 100)).entries);
      const expected = own.flat();
      for (const level of levels()) {
        const { entries, cursor: head } = await follow(`${level}/${path}`);
        expect(entries, `${level}/${path}`).toEqual(expected);
        // Replaying it gives the store: the records as the data routes hold them, deletes included.
        const stored = await t.store.db.selectFrom('records').select(['record_id', 'is_deleted']).where('connection_id', '=', connectionId).where('data_type', '=', dataType).execute();
        const replay = new Map<string, any>();
        for (const e of entries) replay.set(e.recordId, e);
        expect([...replay.keys()].sort()).toEqual(stored.map((r) => r.record_id).sort());
        for (const r of stored) expect(replay.get(r.record_id).record.metadata?.isDeleted ?? false, `${dataType} ${r.record_id}`).toBe(r.is_deleted === 1);
        // Resuming from every cursor misses nothing and repeats nothing.
        const cursors: string[] = [];
        let cur: string | undefined;
        for (;;) {
          const r = (await get(`${level}/${path}?pageSize=1${cur ? `&cursor=${cur}` : ''}`)).json();
          if (r.results.length === 0) break;
          cur = r.cursor;
          cursors.push(cur!);
        }
        expect(cursors.length).toBe(entries.length);
        expect(cursors.at(-1)).toBe(head);
        for (let i = 0; i < cursors.length; i++) expect((await follow(`${level}/${path}`, cursors[i], 3)).entries).toEqual(entries.slice(i + 1));
        expect((await get(`${level}/${path}?cursor=${head}`)).json()).toMatchObject({ results: [], hasMore: false, cursor: head });
        // Each records.changed event of the type: its fromCursor reads exactly that pull's changes, up to toCursor.
        const ofType = events.filter((e) => e.dataType === dataType && e.connectionId === connectionId);
        expect(ofType.map((e) => e.datasetId)).toEqual(pulls(dataType));
        for (const [i, ev] of ofType.entries()) {
          const r = (await get(`${level}/${path}?cursor=${ev.fromCursor}&pageSize=${own[i]!.length}`)).json();
          expect(r.results).toEqual(own[i]);
          expect(r.cursor).toBe(ev.toCursor);
          checked++;
        }
      }
    }
    expect(checked).toBe(2 * (3 + 3 + 3 * 2)); // per level: three pulls of company and bankTransactions, two of each statement

    // What the pulls changed, as the feeds say it.
    const changesOf = async (path: string, pullId: string) =>
      (await follow(`/data/${path}`)).entries.filter((e) => e.datasetId === pullId).map((e) => [e.recordId, e.kind]).sort();
    expect(await changesOf('bankTransactions/changes', second.bankTransactions!)).toEqual([['bt0', 'updated'], ['bt1', 'deleted'], ['bt4', 'added']]);
    expect(await changesOf('financials/balanceSheet/changes', second.balanceSheet!)).toEqual([['2026-01', 'deleted'], ['2026-02', 'updated'], ['2026-03', 'added']]);
    const info = (await follow('/data/info/changes')).entries;
    expect(info.map((e) => [e.recordId, e.kind])).toEqual([['org-1', 'added'], ['org-1', 'updated'], ['org-1', 'updated']]);
    // The record as it is now, as the get endpoint serves it (company info: no id, modifiedDate or metadata)
    for (const e of info) expect(e.record).toEqual((await get('/data/info')).json());
    expect((await get('/data/info')).json().companyName).toBe('Feed Ltd (again)');

    // Bank transaction versions, at both levels: newest first, each diff turns the previous version into this one.
    for (const level of levels()) {
      const v = (await get(`${level}/bankTransactions/bt0/versions`)).json();
      expect(v.results.map((x: any) => [x.changeKind, x.datasetId])).toEqual([
        ['updated', third.bankTransactions],
        ['updated', second.bankTransactions],
        ['added', first.bankTransactions],
      ]);
      let prev: any = {};
      for (const version of [...v.results].reverse()) {
        expect(applyPatch(prev, version.diff)).toEqual(version.record);
        prev = version.record;
      }
      expect(prev).toMatchObject({ id: 'bt0', amount: 98, accountId: 'b2' });
      expect((await get(`${level}/bankTransactions/bt1/versions?pageSize=1`)).json()).toMatchObject({ totalResults: 2, results: [{ changeKind: 'deleted' }] });
      expect(expectErrorShape(await get(`${level}/bankTransactions/nope/versions`), 404).error).toBe('No data available for bankTransactions for ID nope');
      expectErrorShape(await get(`${level}/bankTransactions/bt0/versions?pageSize=0`), 400);
    }

    // A cursor of another feed — another type's, another pull's, another connection's — is refused.
    const invoicesCursor = (await get('/data/invoices/changes')).json().cursor;
    const btCursor = (await get('/data/bankTransactions/changes')).json().cursor;
    const bsEvent = events.find((e) => e.dataType === 'balanceSheet')!;
    for (const level of levels()) {
      for (const [path, cursor] of [
        ['bankTransactions/changes', invoicesCursor],
        ['bankTransactions/changes', bsEvent.toCursor],
        ['financials/balanceSheet/changes', btCursor],
        ['financials/profitAndLoss/changes', bsEvent.fromCursor],
        ['financials/cashFlowStatement/changes', invoicesCursor],
        ['info/changes', btCursor],
        ['info/changes', (await get(`/data/history/${second.company}/changes`)).json().cursor],
        ['info/changes', Buffer.from(`1|${newId()}|company|1`).toString('base64url')],
        ['bankTransactions/changes', '!!'],
      ] as const) {
        const body = expectErrorShape(await get(`${level}/${path}?cursor=${cursor}`), 400);
        expect(body.validation.errors[0].message, `${level}/${path}`).toMatch(/not valid here/);
      }
      expectErrorShape(await get(`${level}/info/changes?pageSize=0`), 400);
      expectErrorShape(await get(`${level}/financials/balanceSheet/changes?pageSize=5001`), 400);
    }
  });

  it('answers 404 for an unknown company or connection and 409 for a type never pulled, on every new path', async () => {
    const at = t.clock.now().toISOString();
    const company = newId();
    const conn = newId();
    await seedLinkedConnections(t.store.db, { companyId: company, connectionIds: [conn], at });
    // Invoices completed and bank transactions are syncing: neither makes the others readable.
    for (const [data_type, status] of [['invoices', 'Complete'], ['bankTransactions', 'Fetching']] as const) {
      await t.store.db
        .insertInto('datasets')
        .values(newDatasetRow({ company_id: company, connection_id: conn, data_type, status, requested: at, read_id: newId(), trigger: 'refresh', settings: '{}' }))
        .execute();
    }
    const unknown = '00000000-0000-4000-8000-000000000000';
    const paths = [...FEEDS.map((f) => f.path), 'bankTransactions/bt0/versions'];
    let asked = 0;
    for (const p of paths) {
      const syncing = p.startsWith('bankTransactions');
      for (const base of [`/companies/${company}/data`, `/companies/${company}/connections/${conn}/data`]) {
        const body = expectErrorShape(await t.call('GET', `${base}/${p}`), 409);
        expect(body.error, `${base}/${p}`).toBe(syncing ? 'The data set is still syncing.' : 'The data set has not been requested.');
        asked++;
      }
      expect(expectErrorShape(await t.call('GET', `/companies/${unknown}/data/${p}`), 404).error).toBe(`No company was found with ID ${unknown}`);
      expect(expectErrorShape(await t.call('GET', `/companies/${unknown}/connections/${conn}/data/${p}`), 404).error).toBe(`No company was found with ID ${unknown}`);
      expect(expectErrorShape(await t.call('GET', `/companies/${company}/connections/${unknown}/data/${p}`), 404).error).toBe(`Data connection ${unknown} not found`);
      expect(expectErrorShape(await t.call('GET', `/companies/${company}/connections/${connectionId}/data/${p}`), 404).error).toBe(`Data connection ${connectionId} not found`);
      expectErrorShape(await t.call('GET', `/companies/not-a-uuid/data/${p}`), 400);
    }
    expect(asked).toBe(paths.length * 2);
    // The invoices feed of that connection is served (the rule is per type), and empty.
    expect((await t.call('GET', `/companies/${company}/data/invoices/changes`)).json()).toMatchObject({ results: [], hasMore: false });
  });
});

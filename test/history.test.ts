/**
 * Record history (issue 16) through the API on both databases, with the deterministic test platform: versions and
 * their diffs, the change feed (replay, resume from every cursor), a pull's changes, records.changed, asOf/asOfPull
 * reads against snapshots taken at each moment, failures that must leave nothing, retention, opt-out and pruning.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { companyPerTest } from './support/company.js';
import { applyPatch } from '../src/lib/json-patch.js';
import { sql } from 'kysely';
import { DIALECTS } from './support/stores.js';
import { expectErrorShape, type TestApp } from './support/app.js';
import type { Engine } from './support/engine.js';
import { allowPrivateTargets } from './support/webhooks.js';
import { FetchFailedError } from '../src/connectors/connector.js';
import { pruneHistory, DEFAULT_HISTORY_PRUNER_OPTIONS } from '../src/scheduler/history-pruner.js';

const DAY = 86_400_000;

describe.each(DIALECTS)('record history [%s]', (dialect) => {
  // The shared fixture (test/support/company.ts); these names are this test's app, engine, company and connection.
  const fixture = companyPerTest(dialect, 'History Co');
  let t: TestApp;
  let engine: Engine;
  let companyId: string;
  let connectionId: string;
  beforeEach(() => {
    ({ t, engine, companyId, connectionId } = fixture);
    (t.ctx as { historyRetentionDays?: number }).historyRetentionDays = undefined;
  });

  const get = (p: string) => t.call('GET', `/companies/${companyId}${p}`);
  const link = async () => {
    expect((await t.app.inject({ method: 'GET', url: `/link/companies/${companyId}/connections/${connectionId}/start` })).statusCode).toBe(302);
    await engine.pool.drain(30_000);
  };
  /** One pull of invoices, a minute after the last thing that happened. */
  const pull = async () => {
    t.clock.advance(60_000);
    const op = (await t.call('POST', `/companies/${companyId}/data/queue/invoices`)).json();
    await engine.pool.drain(30_000);
    t.clock.advance(60_000);
    return (await get(`/data/history/${op.id}`)).json();
  };
  const listAll = async (qs = '') => {
    const out: any[] = [];
    for (let page = 1; ; page++) {
      const r = await get(`/data/invoices?pageSize=7&page=${page}${qs}`);
      expect(r.statusCode, r.body).toBe(200);
      out.push(...r.json().results);
      if (!r.json()._links.next) return { results: out, total: r.json().totalResults };
    }
  };
  const feedAll = async (cursor?: string, pageSize = 5) => {
    const entries: any[] = [];
    for (;;) {
      const r = await get(`/data/invoices/changes?pageSize=${pageSize}${cursor ? `&cursor=${cursor}` : ''}`);
      expect(r.statusCode, r.body).toBe(200);
      const body = r.json();
      entries.push(...body.results.map((e: any) => ({ ...e, cursorAfter: undefined })));
      cursor = body.cursor;
      if (!body.hasMore) return { entries, cursor: cursor! };
    }
  };
  const changeRows = async () => Number((await sql<{ n: number }>`select count(*) as n from record_changes where connection_id = ${connectionId}`.execute(t.store.db)).rows[0]!.n);

  it('keeps versions, a replayable change feed, a pull’s changes and asOf views of every moment', async () => {
    allowPrivateTargets(t);
    expect((await t.call('POST', '/webhooks', { url: 'http://127.0.0.1:9/hooks', eventTypes: ['records.changed'] })).statusCode).toBe(201);
    const c = engine.connector;
    c.seed('invoices', 12, 'inv');
    await link();
    const snapshots: { at: string; pullId: string; list: any[] }[] = [];
    const firstPull = (await get('/data/history?query=dataType=invoices')).json().results[0];
    t.clock.advance(60_000);
    snapshots.push({ at: t.clock.now().toISOString(), pullId: firstPull.id, list: (await listAll()).results });

    // Pull 2: two edits and a soft delete. Pull 3: a new invoice, an undelete (it comes back edited), another edit of
    // inv000001. Pull 4: nothing changed. Pull 5: a full listing after a hard delete.
    c.upsert('invoices', 'inv000001', { name: 'edited once', amount: 100 });
    c.upsert('invoices', 'inv000002', { name: 'inv 2', amount: 2, status: 'Void' });
    c.softDelete('invoices', 'inv000003');
    const p2 = await pull();
    expect(p2).toMatchObject({ status: 'Complete', recordsUpdated: 2, recordsDeleted: 1, recordsAdded: 0 });
    snapshots.push({ at: t.clock.now().toISOString(), pullId: p2.id, list: (await listAll()).results });

    c.upsert('invoices', 'inv000100', { name: 'new', amount: 5 });
    c.upsert('invoices', 'inv000003', { name: 'back again', amount: 33 });
    c.upsert('invoices', 'inv000001', { name: 'edited twice', amount: 101, extra: { nested: [1, 2] } });
    const p3 = await pull();
    expect(p3).toMatchObject({ status: 'Complete', recordsAdded: 1, recordsUpdated: 2 });
    snapshots.push({ at: t.clock.now().toISOString(), pullId: p3.id, list: (await listAll()).results });

    const before4 = await changeRows();
    const p4 = await pull();
    expect(p4).toMatchObject({ status: 'Complete', recordsAdded: 0, recordsUpdated: 0, recordsDeleted: 0 });
    expect(await changeRows()).toBe(before4); // unchanged records write nothing
    snapshots.push({ at: t.clock.now().toISOString(), pullId: p4.id, list: (await listAll()).results });

    // A failed pull (fails after staging a page) and a pull killed inside its merge transaction leave nothing.
    c.upsert('invoices', 'inv000004', { name: 'never seen', amount: 4 });
    c.upsert('invoices', 'inv000005', { name: 'never seen', amount: 5 });
    c.behaviour.pageSize = 1;
    c.behaviour.failAt = { page: 1, error: new FetchFailedError('platform answered 503', 503) };
    expect((await pull()).status).toBe('FetchError');
    c.behaviour.failAt = undefined;
    c.behaviour.pageSize = 50;
    if (dialect === 'sqlite') {
      await sql`create trigger kill_merge before update of status on datasets when new.status = 'Complete' begin select raise(abort, 'killed in the merge'); end`.execute(t.store.db);
    } else {
      await sql`create function kill_merge() returns trigger language plpgsql as $$ begin raise exception 'killed in the merge'; end $$`.execute(t.store.db);
      await sql`create trigger kill_merge before update of status on datasets for each row when (new.status = 'Complete') execute function kill_merge()`.execute(t.store.db);
    }
    expect((await pull()).status).toBe('ProcessingError');
    await sql.raw(dialect === 'sqlite' ? 'drop trigger kill_merge' : 'drop trigger kill_merge on datasets').execute(t.store.db);
    expect(await changeRows()).toBe(before4);
    expect((await get('/data/invoices/inv000004')).json().name).toBe('inv 4');
    c.hardDelete('invoices', 'inv000004');
    c.upsert('invoices', 'inv000005', { name: 'inv 5', amount: 5 });

    // Full listing: inv000004 (hard-deleted at the source) is flagged deleted.
    await t.store.db.updateTable('datasets').set({ full_listing: 1 }).where('id', '=', p4.id).execute();
    const p5 = await (async () => {
      t.clock.advance(8 * DAY);
      return pull();
    })();
    expect(p5).toMatchObject({ status: 'Complete', recordsDeleted: 1 });
    snapshots.push({ at: t.clock.now().toISOString(), pullId: p5.id, list: (await listAll()).results });

    // ---- versions: newest first, each diff turns the previous version into this one
    const v = (await get('/data/invoices/inv000001/versions')).json();
    expect(v.totalResults).toBe(3);
    expect(v.results.map((x: any) => x.changeKind)).toEqual(['updated', 'updated', 'added']);
    expect(v.results.map((x: any) => x.datasetId)).toEqual([p3.id, p2.id, firstPull.id]);
    expect(v.results[0].record).toEqual((await get('/data/invoices/inv000001')).json());
    let prev: any = {};
    for (const version of [...v.results].reverse()) {
      expect(applyPatch(prev, version.diff)).toEqual(version.record);
      expect(version.record.modifiedDate).toBe(version.committedDate);
      prev = version.record;
    }
    expect(v.results[0].diff).toEqual(
      expect.arrayContaining([
        { op: 'replace', path: '/name', value: 'edited twice' },
        { op: 'add', path: '/extra', value: { nested: [1, 2] } },
      ]),
    );
    const v3 = (await get('/data/invoices/inv000003/versions?pageSize=1&page=2')).json();
    expect(v3.totalResults).toBe(3);
    expect(v3.results[0]).toMatchObject({ changeKind: 'deleted', datasetId: p2.id, diff: expect.arrayContaining([{ op: 'replace', path: '/metadata/isDeleted', value: true }]) });
    expect((await get('/data/invoices/inv000003/versions')).json().results[0].changeKind).toBe('undeleted');
    expect((await get('/data/invoices/inv000004/versions')).json().results.map((x: any) => x.changeKind)).toEqual(['deleted', 'added']);
    // the connection-level path serves the same
    expect((await get(`/connections/${connectionId}/data/invoices/inv000001/versions`)).json().results).toEqual(v.results);
    expectErrorShape(await get('/data/invoices/nope/versions'), 404);

    // ---- the feed: replaying it from the start rebuilds the store exactly, deletes included
    const current = (await listAll()).results;
    const { entries, cursor: head } = await feedAll();
    const replay = new Map<string, any>();
    for (const e of entries) replay.set(e.recordId, e.record);
    expect([...replay.values()].sort((a, b) => (a.id < b.id ? -1 : 1))).toEqual(current);
    expect(entries.map((e) => e.kind)).toContain('deleted');
    expect(new Set(entries.map((e) => e.kind))).toEqual(new Set(['added', 'updated', 'deleted']));
    // resuming from any cursor misses nothing and repeats nothing
    const cursors: string[] = [];
    let cur: string | undefined;
    for (;;) {
      const r = (await get(`/data/invoices/changes?pageSize=1${cur ? `&cursor=${cur}` : ''}`)).json();
      if (r.results.length === 0) break;
      cur = r.cursor;
      cursors.push(cur!);
    }
    expect(cursors.length).toBe(entries.length);
    for (let i = 0; i < cursors.length; i += 3) {
      const rest = await feedAll(cursors[i], 4);
      expect(rest.entries).toEqual(entries.slice(i + 1));
    }
    expect((await get(`/data/invoices/changes?cursor=${head}`)).json()).toMatchObject({ results: [], hasMore: false, cursor: head });

    // ---- a pull's own changes, and its records.changed event (counts + cursor range)
    const own = (await get(`/data/history/${p3.id}/changes`)).json();
    expect(own.results.map((e: any) => [e.recordId, e.kind]).sort()).toEqual([
      ['inv000001', 'updated'],
      ['inv000003', 'updated'],
      ['inv000100', 'added'],
    ]);
    expect((await get(`/data/history/${p4.id}/changes`)).json().results).toEqual([]);
    const events = await t.store.db.selectFrom('webhook_events').select(['data', 'event_type']).where('event_type', '=', 'records.changed').execute();
    const ev3 = events.map((e) => JSON.parse(e.data)).find((d) => d.datasetId === p3.id);
    expect(ev3).toMatchObject({ dataType: 'invoices', connectionId, recordsAdded: 1, recordsUpdated: 2, recordsDeleted: 0 });
    const fromEvent = (await get(`/data/invoices/changes?cursor=${ev3.fromCursor}&pageSize=3`)).json();
    expect(fromEvent.results).toEqual(own.results);
    expect(fromEvent.cursor).toBe(ev3.toCursor);
    expect(events.length).toBe(4); // the first pull, p2, p3 and p5; none for p4, which changed nothing
    expect(events.map((e) => JSON.parse(e.data).datasetId)).not.toContain(p4.id);

    // ---- asOf: each moment's list, page by page, filtered and ordered, and get by id
    for (const s of snapshots) {
      // totalResults too (counts kept per instant, migration 0028): the same at the pull's instant and by its id
      expect(await listAll(`&asOf=${s.at}`), s.at).toEqual({ results: s.list, total: s.list.length });
      expect(await listAll(`&asOfPull=${s.pullId}`), s.pullId).toEqual({ results: s.list, total: s.list.length });
      for (const [query, keep] of [
        ['metadata.isDeleted=true', (r: any) => r.metadata.isDeleted],
        ['metadata.isDeleted!=true', (r: any) => !r.metadata.isDeleted],
      ] as const) {
        expect((await listAll(`&asOfPull=${s.pullId}&query=${encodeURIComponent(query)}`)).total, `${s.pullId} ${query}`).toBe(s.list.filter(keep).length);
      }
      const filteredAll = await listAll(`&asOf=${encodeURIComponent(s.at)}&query=${encodeURIComponent('metadata.isDeleted=false&&id!=inv000002')}&orderBy=-modifiedDate`);
      const filtered = filteredAll.results;
      expect(filteredAll.total).toBe(filtered.length);
      const expected = s.list
        .filter((r) => !r.metadata.isDeleted && r.id !== 'inv000002')
        .sort((a, b) => (a.modifiedDate === b.modifiedDate ? (a.id < b.id ? -1 : 1) : a.modifiedDate < b.modifiedDate ? 1 : -1));
      expect(expected.length).toBeGreaterThan(3);
      expect(filtered).toEqual(expected);
      for (const r of s.list) expect((await get(`/data/invoices/${r.id}?asOf=${s.at}`)).json()).toEqual(r);
    }
    // before the first pull nothing was stored; a record added later is not found as of earlier
    expect((await listAll(`&asOf=2026-01-01T00:00:00Z`)).total).toBe(0);
    expectErrorShape(await get(`/data/invoices/inv000100?asOf=${snapshots[1]!.at}`), 404);
    // the paging links keep asOf
    expect((await get(`/data/invoices?pageSize=2&asOf=${snapshots[0]!.at}`)).json()._links.next.href).toContain(`asOf=${encodeURIComponent(snapshots[0]!.at)}`);
  });

  it('reads the transactions of a bank account as of a moment (asOf on …/bankAccounts/{id}/bankTransactions)', async () => {
    const c = engine.connector;
    c.upsert('bankAccounts', 'b1', { accountName: 'Current', currency: 'GBP' });
    c.upsert('bankAccounts', 'b2', { accountName: 'Savings', currency: 'GBP' });
    for (let i = 0; i < 4; i++) c.upsert('bankTransactions', `bt${i}`, { accountId: i < 3 ? 'b1' : 'b2', amount: 10 * (i + 1), description: `t${i}` });
    await link();
    const base = `/connections/${connectionId}/data/bankAccounts`;
    const ids = async (account: string, qs = '') => {
      const r = await get(`${base}/${account}/bankTransactions?orderBy=id${qs}`);
      expect(r.statusCode, r.body).toBe(200);
      return { total: r.json().totalResults, rows: r.json().results.map((x: any) => [x.id, x.amount, x.metadata.isDeleted]) };
    };
    t.clock.advance(60_000);
    const before = t.clock.now().toISOString();
    // bt0 moves to b2 and changes, bt1 is deleted at the source, bt4 is new on b1
    c.upsert('bankTransactions', 'bt0', { accountId: 'b2', amount: 99, description: 'moved' });
    c.softDelete('bankTransactions', 'bt1');
    c.upsert('bankTransactions', 'bt4', { accountId: 'b1', amount: 50, description: 't4' });
    t.clock.advance(60_000);
    const op = (await t.call('POST', `/companies/${companyId}/data/queue/bankTransactions`)).json();
    await engine.pool.drain(30_000);
    expect((await get(`/data/history/${op.id}`)).json()).toMatchObject({ status: 'Complete', recordsAdded: 1, recordsUpdated: 1, recordsDeleted: 1 });

    expect(await ids('b1')).toEqual({ total: 3, rows: [['bt1', 20, true], ['bt2', 30, false], ['bt4', 50, false]] });
    expect(await ids('b1', `&asOf=${before}`)).toEqual({ total: 3, rows: [['bt0', 10, false], ['bt1', 20, false], ['bt2', 30, false]] });
    expect(await ids('b2', `&asOf=${before}`)).toEqual({ total: 1, rows: [['bt3', 40, false]] });
    expect(await ids('b2')).toEqual({ total: 2, rows: [['bt0', 99, false], ['bt3', 40, false]] });
    expect(await ids('b1', `&asOf=${before}&query=${encodeURIComponent('amount>15')}&pageSize=1&page=2`)).toEqual({ total: 2, rows: [['bt2', 30, false]] });
    expect(await ids('b1', `&asOfPull=${op.id}`)).toEqual(await ids('b1'));
    expectErrorShape(await get(`${base}/b1/bankTransactions?asOf=2099-01-01T00:00:00Z`), 400);
    expectErrorShape(await get(`${base}/b1/bankTransactions?asOf=not-a-date`), 400);
    expectErrorShape(await get(`${base}/b1/bankTransactions?asOf=${before}&asOfPull=${op.id}`), 400);
  });

  it('answers the aged debtors report as of a moment (asOf / asOfPull on reports/agedDebtor): every type it reads as stored then', async () => {
    const c = engine.connector;
    const inv = (customer: string, issueDate: string, totalAmount: number, extra: Record<string, unknown> = {}) => ({
      customerRef: { id: customer },
      issueDate,
      currency: 'GBP',
      totalAmount,
      status: 'Submitted',
      ...extra,
    });
    c.upsert('customers', 'cu1', { customerName: 'Acme' });
    c.upsert('customers', 'cu2', { customerName: 'Bolt' });
    c.upsert('invoices', 'i1', inv('cu1', '2026-01-05T00:00:00', 100));
    c.upsert('invoices', 'i2', inv('cu1', '2026-01-20T00:00:00', 40));
    c.upsert('invoices', 'i3', inv('cu2', '2026-01-10T00:00:00', 70));
    c.upsert('payments', 'p1', { customerRef: { id: 'cu2' }, date: '2026-01-15T00:00:00', currency: 'GBP', totalAmount: 30, lines: [{ amount: 30, links: [{ type: 'PaymentOnAccount' }] }] });
    await link();
    const firstPull = (await get('/data/history?query=dataType=invoices')).json().results[0];
    t.clock.advance(60_000);
    const before = t.clock.now().toISOString();
    const report = async (qs = '') => {
      const r = await get(`/reports/agedDebtor?reportDate=2026-02-01${qs}`);
      expect(r.statusCode, r.body).toBe(200);
      const { generated, ...rest } = r.json();
      expect(typeof generated).toBe('string');
      return rest;
    };
    /** [name, amount of the newest period, its details] per customer. */
    const summary = (rep: any) =>
      rep.data.map((d: any) => [d.customerName, d.agedCurrencyOutstanding[0].agedOutstandingAmounts[0].amount, d.agedCurrencyOutstanding[0].agedOutstandingAmounts[0].details]);
    const then = await report();
    expect(summary(then)).toEqual([
      ['Acme', 140, [{ name: 'Invoices', amount: 140 }]],
      ['Bolt', 40, [{ name: 'Invoices', amount: 70 }, { name: 'Payments', amount: -30 }]],
    ]);

    // i1 voided, i2 half paid, i3 deleted at the source, i4 new, cu1 renamed, the payment on account deleted
    c.upsert('invoices', 'i1', inv('cu1', '2026-01-05T00:00:00', 100, { status: 'Void' }));
    c.upsert('invoices', 'i2', inv('cu1', '2026-01-20T00:00:00', 40, { paymentAllocations: [{ allocation: { allocatedOnDate: '2026-01-25T00:00:00', totalAmount: 20 } }] }));
    c.softDelete('invoices', 'i3');
    c.upsert('invoices', 'i4', inv('cu2', '2026-01-28T00:00:00', 15));
    c.upsert('customers', 'cu1', { customerName: 'Acme Renamed' });
    c.softDelete('payments', 'p1');
    t.clock.advance(60_000);
    const ops: any[] = [];
    for (const type of ['invoices', 'payments', 'customers']) ops.push((await t.call('POST', `/companies/${companyId}/data/queue/${type}`)).json());
    await engine.pool.drain(30_000);
    for (const op of ops) expect((await get(`/data/history/${op.id}`)).json().status, op.dataType).toBe('Complete');
    t.clock.advance(60_000);

    expect(summary(await report())).toEqual([
      ['Acme Renamed', 20, [{ name: 'Invoices', amount: 20 }]],
      ['Bolt', 15, [{ name: 'Invoices', amount: 15 }]],
    ]);
    // As stored before the changes: the same report as then, whichever way the moment is named
    expect(await report(`&asOf=${before}`)).toEqual(then);
    expect(await report(`&asOfPull=${firstPull.id}`)).toEqual(then);
    // Its default report date is the day of that moment (the report the server would have answered then)
    const asOfOnly = await get(`/reports/agedDebtor?asOf=${before}`);
    expect(asOfOnly.statusCode, asOfOnly.body).toBe(200);
    expect(asOfOnly.json().reportDate).toBe(`${before.slice(0, 10)}T00:00:00Z`);
    // The creditors report reads its own types the same way (none here: an empty report, not an error)
    expect((await get(`/reports/agedCreditor?asOf=${before}`)).json().data).toEqual([]);
    // What it cannot answer is 400, as on the lists
    expectErrorShape(await get(`/reports/agedDebtor?asOf=2099-01-01T00:00:00Z`), 400);
    expectErrorShape(await get(`/reports/agedDebtor?asOf=not-a-date`), 400);
    expectErrorShape(await get(`/reports/agedDebtor?asOf=${before}&asOfPull=${firstPull.id}`), 400);
    expectErrorShape(await get(`/reports/agedDebtor?asOfPull=00000000-0000-4000-8000-000000000000`), 400);
  });

  it('refuses what history cannot answer: bad parameters, the future, retention, opt-out, pruned cursors', async () => {
    engine.connector.seed('invoices', 3, 'x');
    await link();
    const at = t.clock.now().toISOString();
    for (const q of ['asOf=yesterday', 'asOf=2026-13-01T00:00:00Z', 'asOf=2026-02-30T00:00:00Z', 'asOf=2026-02-29', 'asOf=2026-03-01T00:00:00', `asOf=${at}&asOfPull=${connectionId}`, `asOfPull=${connectionId}`, 'asOfPull=nope']) {
      expectErrorShape(await get(`/data/invoices?${q}`), 400);
    }
    expectErrorShape(await get(`/data/invoices?asOf=2099-01-01T00:00:00Z`), 400);
    expectErrorShape(await get(`/data/invoices/x000001?asOf=2099-01-01T00:00:00Z`), 400);
    expectErrorShape(await get(`/data/financials/balanceSheet?periodLength=1&periodsToCompare=1&asOf=bad`), 400);
    // Where a moment cannot be answered, asOf is refused, never ignored (that would answer today's data)
    for (const p of ['/data/invoices/changes', '/data/invoices/x000001/versions', '/dataStatus', '/data/history', '/connections', '/reports/agedDebtor/available', '/data/invoices/x000001/pdf']) {
      for (const q of [`asOf=${at}`, `asOfPull=${connectionId}`]) {
        const body = expectErrorShape(await get(`${p}?${q}`), 400);
        expect(body.validation.errors[0].message, `${p}?${q}`).toMatch(/does not apply to this endpoint/);
      }
    }
    expectErrorShape(await t.call('GET', `/companies?asOf=${at}`), 400);
    expect((await get(`/data/notAType?asOf=${at}`)).statusCode).toBe(404); // an unknown path stays a 404
    for (const cursor of ['!!', 'AAAA', Buffer.from(`1|${connectionId}|bills|3`).toString('base64url')]) expectErrorShape(await get(`/data/invoices/changes?cursor=${cursor}`), 400);
    // A cursor beyond the feed's head was never handed out: following it would skip changes for good.
    const head = (await get(`/data/invoices/changes?pageSize=5000`)).json().cursor;
    expect((await get(`/data/invoices/changes?cursor=${head}`)).json()).toMatchObject({ results: [], cursor: head });
    const seq = Number(Buffer.from(head, 'base64url').toString().split('|').pop());
    const beyond = Buffer.from(Buffer.from(head, 'base64url').toString().replace(/\|\d+$/, `|${seq + 1}`)).toString('base64url');
    expect(expectErrorShape(await get(`/data/invoices/changes?cursor=${beyond}`), 400).validation.errors[0].message).toMatch(/beyond the end/);
    expectErrorShape(await get(`/data/invoices/changes?pageSize=0`), 400);
    expectErrorShape(await get(`/data/history/00000000-0000-4000-8000-000000000000/changes`), 404);

    // retention: an instant older than the window is refused, never answered from pruned history
    (t.ctx as { historyRetentionDays?: number }).historyRetentionDays = 30;
    t.clock.advance(40 * DAY);
    engine.connector.upsert('invoices', 'x000001', { name: 'later', amount: 9 });
    await pull();
    const body = expectErrorShape(await get(`/data/invoices?asOf=${at}`), 400);
    expect(body.validation.errors[0].message).toMatch(/retention/);
    const old = (await get('/data/invoices/changes?pageSize=1')).json().cursor;
    // Batches of 2, as many as it takes: the earlier tests of this file left history of their own companies behind.
    const removed = await pruneHistory({ store: t.store, clock: t.clock }, { ...DEFAULT_HISTORY_PRUNER_OPTIONS, retentionDays: 30, batchSize: 2, maxBatchesPerTick: 100_000 });
    expect(removed).toBeGreaterThanOrEqual(3); // the three first-pull additions (and older tests'); the new change stays
    expect(await changeRows()).toBe(1);
    expect(expectErrorShape(await get(`/data/invoices/changes?cursor=${old}`), 400).validation.errors[0].message).toMatch(/follow the feed from cursor/);
    expectErrorShape(await get(`/data/invoices/changes`), 400);
    const recent = new Date(t.clock.now().getTime() - DAY).toISOString();
    expect((await get(`/data/invoices?asOf=${recent}`)).json().totalResults).toBe(3);
    expect((await get('/data/invoices/x000001/versions')).json().results.map((v: any) => v.changeKind)).toEqual(['updated']);

    // opt-out: nothing recorded, history pruned, reads refused; the SDK-shaped call leaves the setting alone
    const settings = (await t.call('GET', `/companies/${companyId}/syncSettings`)).json();
    expect(settings.keepHistory).toBe(true);
    expect((await t.call('POST', `/companies/${companyId}/syncSettings`, { companyId, settings: [], keepHistory: false })).statusCode).toBe(204);
    expect((await t.call('POST', `/companies/${companyId}/syncSettings`, { companyId, settings: [] })).statusCode).toBe(204);
    expect((await t.call('GET', `/companies/${companyId}/syncSettings`)).json().keepHistory).toBe(false);
    expectErrorShape(await t.call('POST', `/companies/${companyId}/syncSettings`, { companyId, settings: [], keepHistory: 'no' }), 400);
    engine.connector.upsert('invoices', 'x000002', { name: 'unrecorded', amount: 1 });
    expect((await pull()).recordsUpdated).toBe(1);
    expect(await changeRows()).toBe(1);
    await pruneHistory({ store: t.store, clock: t.clock }, DEFAULT_HISTORY_PRUNER_OPTIONS);
    expect(await changeRows()).toBe(0);
    expectErrorShape(await get(`/data/invoices?asOf=${recent}`), 400);
    expectErrorShape(await get('/data/invoices/changes'), 400);
    expectErrorShape(await get('/data/invoices/x000001/versions'), 400);

    // back on: history restarts; instants and cursors from before are refused, the new ones work
    expect((await t.call('POST', `/companies/${companyId}/syncSettings`, { companyId, settings: [], keepHistory: true })).statusCode).toBe(204);
    const resumed = t.clock.now().toISOString();
    expectErrorShape(await get(`/data/invoices?asOf=${recent}`), 400);
    const refused = expectErrorShape(await get('/data/invoices/changes'), 400);
    const headCursor = /from cursor (\S+)\.$/.exec(refused.validation.errors[0].message)![1]!;
    engine.connector.upsert('invoices', 'x000000', { name: 'recorded again', amount: 3 });
    const p = await pull();
    const feed = (await get(`/data/invoices/changes?cursor=${headCursor}`)).json();
    expect(feed.results.map((e: any) => [e.recordId, e.kind, e.datasetId])).toEqual([['x000000', 'updated', p.id]]);
    const then = (await get(`/data/invoices?asOf=${resumed}`)).json().results.find((r: any) => r.id === 'x000000');
    expect(then.name).toBe('x 0');
    expect((await get('/data/invoices/x000000')).json().name).toBe('recorded again');
  });
});

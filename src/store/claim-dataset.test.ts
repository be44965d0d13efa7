/**
 * The dataset claim and the completion of a run that merged nothing (issue 17): what the claim hands the run, the
 * per-connection slots, the staging reset, and the round trips they cost — counted exactly at the driver (PostgreSQL:
 * one statement to claim, one to complete when no webhook consumer is enabled; with one, the outbox path writes the
 * events in the same transaction).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import pg from 'pg';
import { DIALECTS, openTestStore, type TestStore } from '../../test/support/stores.js';
import { DatasetsRepository } from './datasets.repository.js';
import { queueRead, queueReadsIn, type ReadRequest } from './enqueue.js';
import { defaultSetting } from '../domain/sync-settings.js';
import type { ConnectionRow } from './connections.repository.js';
import type { DataType } from '../domain/data-types.js';

const T0 = '2026-01-01T00:00:00.000Z';
const at = (min: number) => new Date(Date.parse(T0) + min * 60_000).toISOString();

/** Statements sent through pg clients while `fn` runs (Kysely's PostgreSQL driver sends each one as one client.query). */
async function countPgStatements<T>(fn: () => Promise<T>): Promise<{ value: T; statements: string[] }> {
  const statements: string[] = [];
  const original = pg.Client.prototype.query;
  pg.Client.prototype.query = function (this: pg.Client, ...args: any[]) {
    const q = args[0];
    statements.push(typeof q === 'string' ? q : (q?.text ?? String(q)));
    return (original as any).apply(this, args);
  } as typeof original;
  try {
    return { value: await fn(), statements };
  } finally {
    pg.Client.prototype.query = original;
  }
}

describe.each(DIALECTS)('dataset claim [%s]', (dialect) => {
  let store: TestStore;
  let datasets: DatasetsRepository;
  let n = 0;

  beforeAll(async () => {
    store = await openTestStore(dialect);
    datasets = new DatasetsRepository(store.db, store.dialect);
  });
  afterAll(async () => store.cleanup());
  beforeEach(async () => {
    // Nothing left queued or running by an earlier test.
    await store.db.updateTable('datasets').set({ status: 'Cancelled', lease_owner: null, lease_expires: null, run_slot: null }).where('status', 'in', ['Queued', 'Fetching', 'Processing']).execute();
    await store.db.deleteFrom('webhook_consumers').execute();
  });

  const connection = async (key = 'mqjo', status = 'Linked'): Promise<ConnectionRow> => {
    const i = ++n;
    await store.db.insertInto('companies').values({ id: `co-${i}`, name: `Co ${i}`, description: null, tags: '{}', created_at: T0 }).execute();
    await store.db
      .insertInto('connections')
      .values({ id: `conn-${i}`, company_id: `co-${i}`, integration_key: key, status, credentials: null, connection_info: '{"tenantId":"t-1"}', errors: null, created_at: T0, updated_at: T0, last_sync: null })
      .execute();
    return (await store.db.selectFrom('connections').selectAll().where('id', '=', `conn-${i}`).executeTakeFirstOrThrow()) as ConnectionRow;
  };
  const queue = async (conn: ConnectionRow, types: DataType[], now = T0) =>
    (
      await queueRead(store.db, store.dialect, {
        companyId: conn.company_id,
        connection: conn,
        settings: types.map((t) => defaultSetting(t)),
        trigger: 'refresh',
        now,
        supports: () => true,
        integrationEnabled: true,
      })
    ).created;
  const claim = (workerId = 'w1', maxPerConnection: Record<string, number> = { mqjo: 1 }) =>
    datasets.claim({ workerId, now: at(1), leaseExpires: at(2), maxPerConnection });
  /** Claims and completes one dataset as a run that found nothing new. */
  const complete = async (fields: { cursor_out: string; full_listing: 0 | 1 }) => {
    const ds = (await claim())!;
    return datasets.finishUnmerged(ds.id, 'w1', 'Complete', at(3), fields);
  };

  it('hands the run its connection and the facts deciding an incremental or a full listing', async () => {
    const conn = await connection();
    await queue(conn, ['invoices']);
    const first = (await claim())!;
    expect(first).toMatchObject({
      status: 'Fetching',
      lease_owner: 'w1',
      lease_expires: at(2),
      run_slot: 0,
      attempts: 1,
      started: at(1),
      integration_key: 'mqjo',
      connection_status: 'Linked',
      connection_info: '{"tenantId":"t-1"}',
      last_cursor: null,
      last_full_completed: null,
      completes_since_full: 0,
    });
    expect(typeof first.seq).toBe('number');
    expect(await datasets.finishUnmerged(first.id, 'w1', 'Complete', at(3), { cursor_out: 'c1', full_listing: 1 })).toMatchObject({ status: 'Complete', cursor_out: 'c1', run_slot: null });
    await queue(conn, ['invoices']);
    await complete({ cursor_out: 'c2', full_listing: 0 });
    await queue(conn, ['invoices']);
    await complete({ cursor_out: 'c3', full_listing: 0 });
    await queue(conn, ['invoices', 'bills']);
    const next = (await claim())!;
    // The newest Complete cursor, the newest full listing's completion, and the two Complete pulls since it.
    expect(next).toMatchObject({ data_type: 'invoices', last_cursor: 'c3', last_full_completed: at(3), completes_since_full: 2 });
    await datasets.finishUnmerged(next.id, 'w1', 'Complete', at(4), { cursor_out: 'c4', full_listing: 0 });
    // Another type of the same connection has its own history.
    expect(await claim()).toMatchObject({ data_type: 'bills', last_cursor: null, completes_since_full: 0 });
  });

  it('fills a connection’s slots up to its maximum, then skips to other connections; a requeued pull’s staging is cleared', async () => {
    const busy = await connection('wide');
    const other = await connection();
    await queue(busy, ['invoices', 'bills', 'customers']);
    await queue(other, ['invoices'], at(0.5));
    const max = { wide: 2, mqjo: 1 };
    const a = (await claim('w1', max))!;
    const b = (await claim('w2', max))!;
    expect([a.connection_id, a.run_slot, b.connection_id, b.run_slot]).toEqual([busy.id, 0, busy.id, 1]);
    // The third of `busy` waits: the next claim takes the other connection's, queued later.
    expect(await claim('w3', max)).toMatchObject({ connection_id: other.id, run_slot: 0 });
    expect(await claim('w4', max)).toBeUndefined();
    // b's worker stops (handed back with pages staged); the next claim of it starts from an empty staging.
    await store.db.insertInto('record_staging').values({ dataset_id: b.id, record_id: 'r1', data: '{}', content_hash: 'h', source_modified_date: null, deleted: 0 }).execute();
    expect(await datasets.handBack('w2', [b.id])).toBe(1);
    const again = (await claim('w5', max))!;
    expect([again.id, again.run_slot, again.attempts]).toEqual([b.id, 1, 1]);
    expect(await store.db.selectFrom('record_staging').select('record_id').where('dataset_id', '=', b.id).execute()).toEqual([]);
  });

  it('completes a run that merged nothing: counts its read down; a dataset no longer held is not touched', async () => {
    const conn = await connection();
    const [ds] = await queue(conn, ['invoices']);
    const claimed = (await claim())!;
    expect(claimed.id).toBe(ds!.id);
    // Not held by w2: nothing changes.
    expect(await datasets.finishUnmerged(ds!.id, 'w2', 'Complete', at(3), {})).toBeUndefined();
    expect(await store.db.selectFrom('dataset_reads').select(['pending', 'completed_at']).where('read_id', '=', ds!.read_id).executeTakeFirst()).toEqual({ pending: 1, completed_at: null });
    expect(await datasets.finishUnmerged(ds!.id, 'w1', 'NotSupported', at(3), { cursor_in: null })).toMatchObject({ status: 'NotSupported', completed: at(3), progress: 100, lease_owner: null });
    expect(await store.db.selectFrom('dataset_reads').select(['pending', 'completed_at']).where('read_id', '=', ds!.read_id).executeTakeFirst()).toEqual({ pending: 0, completed_at: at(3) });
    // Ended once: a second completion finds it no longer held.
    expect(await datasets.finishUnmerged(ds!.id, 'w1', 'Complete', at(4), {})).toBeUndefined();
  });

  it('with an enabled webhook consumer the completion writes its events in the same transaction', async () => {
    await store.db
      .insertInto('webhook_consumers')
      .values({ id: 'wc-1', url: 'http://127.0.0.1:1/h', event_types: '["read.completed","DataSyncCompleted"]', company_tags: null, disabled: 0, disabled_at: null, secret: 'sealed', previous_secret: null, previous_secret_until: null, failing_since: null, created_at: T0 })
      .execute();
    const conn = await connection();
    const [ds] = await queue(conn, ['invoices']);
    await claim();
    expect(await datasets.finishUnmerged(ds!.id, 'w1', 'Complete', at(3), {})).toMatchObject({ status: 'Complete' });
    const events = await store.db.selectFrom('webhook_events').select('event_type').where('connection_id', '=', conn.id).orderBy('seq').execute();
    expect(events.map((e) => e.event_type)).toEqual(['DataSyncCompleted', 'read.completed']);
  });

  it('claims several in one call, in claim order, each as separate claims would (per-connection maximum and slots)', async () => {
    const wide = await connection('wide');
    const single = await connection();
    const late = await connection();
    await queue(wide, ['invoices', 'bills', 'customers']);
    await queue(single, ['invoices', 'bills'], at(0.2));
    await queue(late, ['invoices'], at(0.5));
    const got = await datasets.claimMany({ workerId: 'w1', now: at(1), leaseExpires: at(2), maxPerConnection: { wide: 2, mqjo: 1 }, n: 10 });
    // wide: two of three (its maximum), on slots 0 and 1; single: one of two (maximum 1); late: its one.
    expect(got.map((d) => [d.connection_id, d.run_slot])).toEqual([
      [wide.id, 0],
      [wide.id, 1],
      [single.id, 0],
      [late.id, 0],
    ]);
    expect(got.every((d) => d.status === 'Fetching' && d.lease_owner === 'w1' && d.integration_key && typeof d.seq === 'number')).toBe(true);
    // What is left waits for a free slot; n bounds the batch.
    expect(await datasets.claimMany({ workerId: 'w2', now: at(1), leaseExpires: at(2), maxPerConnection: { wide: 2, mqjo: 1 }, n: 10 })).toEqual([]);
    await datasets.finishUnmerged(got[0]!.id, 'w1', 'Complete', at(3), {});
    await datasets.finishUnmerged(got[2]!.id, 'w1', 'Complete', at(3), {});
    const next = await datasets.claimMany({ workerId: 'w2', now: at(4), leaseExpires: at(5), maxPerConnection: { wide: 2, mqjo: 1 }, n: 1 });
    const leftOfWide = ['invoices', 'bills', 'customers'].find((t) => !got.some((d) => d.connection_id === wide.id && d.data_type === t));
    expect(next.map((d) => [d.connection_id, d.data_type, d.run_slot])).toEqual([[wide.id, leftOfWide, 0]]);
  });

  it('completions made at the same moment each end their dataset and count their read down once', async () => {
    const conn = await connection();
    const other = await connection();
    const mine = await queue(conn, ['invoices', 'bills', 'customers']);
    await queue(other, ['invoices']);
    const got = await datasets.claimMany({ workerId: 'w1', now: at(1), leaseExpires: at(2), maxPerConnection: { mqjo: 3 }, n: 4 });
    expect(got).toHaveLength(4);
    const [a, b, c] = got.filter((d) => d.connection_id === conn.id);
    const d = got.find((x) => x.connection_id === other.id)!;
    // Four at once (one of them no longer held by its caller); three of them of one read.
    const ended = await Promise.all([
      datasets.finishUnmerged(a!.id, 'w1', 'Complete', at(3), { cursor_out: 'ca', full_listing: 0, records_added: 0 }),
      datasets.finishUnmerged(b!.id, 'w1', 'NotSupported', at(3), { error_message: null, cursor_in: null }),
      datasets.finishUnmerged(c!.id, 'w9', 'Complete', at(3), {}),
      datasets.finishUnmerged(d.id, 'w1', 'Complete', at(4), { cursor_out: 'cd', full_listing: 1 }),
    ]);
    expect(ended.map((e) => e && [e.id, e.status, e.cursor_out, e.full_listing, e.lease_owner, e.run_slot, e.progress])).toEqual([
      [a!.id, 'Complete', 'ca', 0, null, null, 100],
      [b!.id, 'NotSupported', null, null, null, null, 100],
      undefined,
      [d.id, 'Complete', 'cd', 1, null, null, 100],
    ]);
    const reads = async () =>
      Object.fromEntries(
        (await store.db.selectFrom('dataset_reads').select(['read_id', 'pending', 'completed_at']).where('read_id', 'in', [mine[0]!.read_id, d.read_id]).execute()).map((r) => [
          r.read_id,
          [r.pending, r.completed_at],
        ]),
      );
    expect(await reads()).toEqual({ [mine[0]!.read_id]: [1, null], [d.read_id]: [0, at(4)] });
    expect(await datasets.finishUnmerged(c!.id, 'w1', 'Complete', at(5), {})).toMatchObject({ status: 'Complete' });
    expect(await reads()).toEqual({ [mine[0]!.read_id]: [0, at(5)], [d.read_id]: [0, at(4)] });
  });

  it.runIf(dialect === 'postgres')('several claims and several simultaneous completions cost one statement each', async () => {
    const conns = await Promise.all([connection(), connection(), connection()]);
    for (const c of conns) await queue(c, ['invoices']);
    const claimed = await countPgStatements(() => datasets.claimMany({ workerId: 'w1', now: at(1), leaseExpires: at(2), maxPerConnection: { mqjo: 1 }, n: 4 }));
    expect(claimed.value).toHaveLength(3);
    expect(claimed.statements).toHaveLength(1);
    const finished = await countPgStatements(() => Promise.all(claimed.value.map((ds) => datasets.finishUnmerged(ds.id, 'w1', 'Complete', at(3), {}))));
    expect(finished.value.map((r) => r?.status)).toEqual(['Complete', 'Complete', 'Complete']);
    expect(finished.statements).toHaveLength(1);
  });

  it.runIf(dialect === 'postgres')('costs one statement to claim and one to complete (no consumer), counted at the driver', async () => {
    const conn = await connection();
    await queue(conn, ['invoices']);
    const claimed = await countPgStatements(() => claim());
    expect(claimed.statements).toHaveLength(1);
    const finished = await countPgStatements(() => datasets.finishUnmerged(claimed.value!.id, 'w1', 'Complete', at(3), { cursor_out: 'c', full_listing: 0 }));
    expect(finished.value).toMatchObject({ status: 'Complete' });
    expect(finished.statements).toHaveLength(1);
    // An empty queue is one statement too.
    expect((await countPgStatements(() => claim())).statements).toHaveLength(1);
  });

  it('queues many reads in a constant number of statements, each read as if queued alone', async () => {
    const conns = await Promise.all([connection(), connection(), connection()]);
    // conns[1] already runs invoices: that pair is busy.
    const [running] = await queue(conns[1]!, ['invoices']);
    const req = (conn: ConnectionRow, types: DataType[]): ReadRequest => ({
      companyId: conn.company_id,
      connection: conn,
      settings: types.map((t) => ({ ...defaultSetting(t), syncOrder: types.indexOf(t) })),
      trigger: 'schedule',
      now: at(5),
      supports: (t) => t !== 'journals',
      integrationEnabled: true,
      notify: false,
    });
    const results = await store.db
      .transaction()
      .execute((trx) => queueReadsIn(trx, dialect, [req(conns[0]!, ['bills', 'invoices']), req(conns[1]!, ['invoices', 'customers']), req(conns[2]!, ['journals'])]));
    expect(results.map((r) => r.created.map((d) => `${d.data_type}:${d.status}`))).toEqual([['bills:Queued', 'invoices:Queued'], ['customers:Queued'], ['journals:NotSupported']]);
    expect([...results[1]!.busy.entries()].map(([t, d]) => [t, d.id])).toEqual([['invoices', running!.id]]);
    expect(new Set(results.map((r) => r.readId)).size).toBe(3);
    for (const r of results) expect(r.created.every((d) => d.read_id === r.readId)).toBe(true);
    const reads = await store.db.selectFrom('dataset_reads').select(['read_id', 'pending', 'completed_at', 'trigger']).where('read_id', 'in', results.map((r) => r.readId)).execute();
    const byId = new Map(reads.map((r) => [r.read_id, r]));
    expect(results.map((r) => byId.get(r.readId))).toEqual([
      { read_id: results[0]!.readId, pending: 2, completed_at: null, trigger: 'schedule' },
      { read_id: results[1]!.readId, pending: 1, completed_at: null, trigger: 'schedule' },
      // Its only dataset ended at queue time: the read is complete already.
      { read_id: results[2]!.readId, pending: 0, completed_at: at(5), trigger: 'schedule' },
    ]);
  });

  it.runIf(dialect === 'postgres')('the statements of queueing reads do not grow with their number', async () => {
    const batch = async (k: number) => {
      const conns: ConnectionRow[] = [];
      for (let i = 0; i < k; i++) conns.push(await connection());
      const reqs = conns.map((conn) => ({
        companyId: conn.company_id,
        connection: conn,
        settings: [defaultSetting('invoices'), defaultSetting('bills')],
        trigger: 'schedule' as const,
        now: at(6),
        supports: () => true,
        integrationEnabled: true,
        notify: false,
      }));
      const { value, statements } = await countPgStatements(() => store.db.transaction().execute((trx) => queueReadsIn(trx, dialect, reqs)));
      expect(value.flatMap((r) => r.created)).toHaveLength(2 * k);
      return statements.length;
    };
    const few = await batch(5);
    expect(await batch(60)).toBe(few);
    // BEGIN, the datasets INSERT, the reads INSERT, COMMIT.
    expect(few).toBe(4);
  });
});

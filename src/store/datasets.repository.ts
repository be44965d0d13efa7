import { sql, type Kysely, type RawBuilder, type Transaction } from 'kysely';
import { IN_PROGRESS_STATUSES, type DatasetStatus } from '../domain/statuses.js';
import type { Database, DatasetsTable } from './schema.js';
import type { Dialect } from './db.js';
import { pageOf, type ListSql, type Page, type PageRequest } from './paging.js';
import { datasetsEnded } from './webhook-outbox.js';
import { clearStagingOfDatasets } from './staging.js';
import { Coalescer } from '../lib/coalescer.js';
import { newId } from '../lib/ids.js';

export type DatasetRow = Omit<DatasetsTable, 'seq'> & { seq: number };
export type NewDataset = Omit<DatasetsTable, 'seq' | 'validation'> & { validation?: string | null };

/** The columns a new dataset row must be given; every other one has the value of a dataset that has not run yet. */
export type NewDatasetColumns = Pick<NewDataset, 'company_id' | 'connection_id' | 'data_type' | 'requested' | 'read_id' | 'trigger' | 'settings'> & Partial<NewDataset>;

/**
 * A whole `datasets` row: `cols` over a dataset just queued (a new id, Queued, not started, no lease, no cursor, nothing
 * counted). Queueing (enqueue.ts) builds its rows here, and so do tests and benchmarks that write datasets directly, so
 * a column added to the table gets its default in one place.
 */
export function newDatasetRow(cols: NewDatasetColumns): NewDataset {
  return {
    id: newId(),
    status: 'Queued',
    status_description: null,
    error_message: null,
    progress: 0,
    started: null,
    completed: null,
    sync_order: 0,
    attempts: 0,
    lease_owner: null,
    lease_expires: null,
    run_slot: null,
    not_before: null,
    cursor_in: null,
    cursor_out: null,
    full_listing: null,
    records_added: 0,
    records_updated: 0,
    records_deleted: 0,
    source_calls: null,
    ...cols,
  };
}
/**
 * A dataset as claimed by a worker, with what its run needs joined in by the claim (issue 17: no round trips after the
 * claim): its connection's integration key, status and connection info, and the facts deciding an incremental or a
 * full listing (the last Complete dataset's cursor, the newest full listing's completion, Complete datasets since).
 */
export type ClaimedDataset = DatasetRow & {
  integration_key: string;
  connection_status: string;
  connection_info: string | null;
  last_cursor: string | null;
  last_full_completed: string | null;
  completes_since_full: number;
};

/** Columns a terminal transition may write besides its status and completion time. */
export type FinishFields = Partial<
  Pick<DatasetRow, 'error_message' | 'status_description' | 'cursor_in' | 'cursor_out' | 'full_listing' | 'records_added' | 'records_updated' | 'records_deleted' | 'source_calls' | 'validation'>
>;

export interface UnmergedFinish {
  id: string;
  workerId: string;
  status: DatasetStatus;
  completed: string;
  fields?: FinishFields;
}

/** One completion batcher per database (every DatasetsRepository of a process shares it). */
const finishCoalescers = new WeakMap<Kysely<Database>, Coalescer<UnmergedFinish, DatasetRow | undefined>>();

export interface ClaimArgs {
  workerId: string;
  now: string;
  leaseExpires: string;
  /** Pulls one connection may run at once, by integration key (1 for any other). */
  maxPerConnection: Readonly<Record<string, number>>;
}

/** Statuses in which a worker holds the dataset. */
export const RUNNING_STATUSES = IN_PROGRESS_STATUSES.filter((s) => s !== 'Queued');

/**
 * `status in (…)` with the statuses as literals, for the sweeper: a prepared statement's generic plan can use a partial
 * index only when the query's condition implies its predicate, which a list of parameters never does. The sweeper finds
 * running datasets through datasets_running_slot (PostgreSQL, since migration 0034 dropped datasets_leases) and
 * in-progress ones through datasets_one_in_progress.
 */
const RUNNING_LITERAL = sql<boolean>`status in (${sql.join(RUNNING_STATUSES.map((s) => sql.lit(s)))})`;
const IN_PROGRESS_LITERAL = sql<boolean>`status in (${sql.join(IN_PROGRESS_STATUSES.map((s) => sql.lit(s)))})`;

type Db = Kysely<Database> | Transaction<Database>;

export class DatasetsRepository {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: Dialect,
  ) {}

  /**
   * Inserts a dataset unless (connection, data type) already has one in progress. The partial unique index
   * `datasets_one_in_progress` makes check and insert one atomic step, across processes (invariant 1).
   * Returns the inserted row, or undefined when the pair was busy.
   */
  async insertUnlessBusy(row: NewDataset, db: Db = this.db): Promise<DatasetRow | undefined> {
    const inserted = await db
      .insertInto('datasets')
      .values(row)
      .onConflict((oc) => oc.doNothing())
      .returningAll()
      .executeTakeFirst();
    return inserted as DatasetRow | undefined;
  }

  /** insertUnlessBusy for several rows in one statement; returns those inserted, in insertion (seq) order. */
  async insertAllUnlessBusy(rows: NewDataset[], db: Db = this.db): Promise<DatasetRow[]> {
    if (rows.length === 0) return [];
    let inserted: DatasetRow[];
    if (this.dialect === 'postgres') {
      // The rows as ONE jsonb parameter, typed by the table's own row type (issue 17: 500 rows were 13,500 bind
      // parameters, and parsing and planning that statement cost more than inserting the rows).
      const cols = [...new Set(rows.flatMap((r) => Object.keys(r)))];
      const list = sql.join(cols.map((c) => sql.ref(c)));
      const r = await sql<DatasetRow>`insert into datasets (${list})
        select ${list} from jsonb_populate_recordset(null::datasets, ${JSON.stringify(rows)}::jsonb)
        on conflict do nothing returning *`.execute(db);
      inserted = r.rows;
    } else {
      inserted = (await db.insertInto('datasets').values(rows).onConflict((oc) => oc.doNothing()).returningAll().execute()) as DatasetRow[];
    }
    return inserted.sort((a, b) => Number(a.seq) - Number(b.seq));
  }

  inProgress(connectionId: string, dataType: string, db: Db = this.db): Promise<DatasetRow | undefined> {
    return db
      .selectFrom('datasets')
      .selectAll()
      .where('connection_id', '=', connectionId)
      .where('data_type', '=', dataType)
      .where('status', 'in', IN_PROGRESS_STATUSES)
      .executeTakeFirst() as Promise<DatasetRow | undefined>;
  }

  get(id: string): Promise<DatasetRow | undefined> {
    return this.db.selectFrom('datasets').selectAll().where('id', '=', id).executeTakeFirst() as Promise<DatasetRow | undefined>;
  }

  getForCompany(companyId: string, id: string): Promise<DatasetRow | undefined> {
    return this.db.selectFrom('datasets').selectAll().where('company_id', '=', companyId).where('id', '=', id).executeTakeFirst() as Promise<
      DatasetRow | undefined
    >;
  }

  async listForCompany(companyId: string, page: PageRequest, list: ListSql): Promise<Page<DatasetRow>> {
    const { rows, total } = await pageOf(
      this.db.selectFrom('datasets').selectAll().where('company_id', '=', companyId),
      this.db.selectFrom('datasets').where('company_id', '=', companyId).select((eb) => eb.fn.countAll<number>().as('n')),
      page,
      list,
    );
    return { rows: rows as DatasetRow[], total };
  }

  /** Newest dataset per data type on a connection (by seq: timestamps can tie). */
  async latestPerType(connectionId: string, onlyStatus?: DatasetStatus): Promise<DatasetRow[]> {
    let inner = this.db
      .selectFrom('datasets')
      .select(['data_type', (eb) => eb.fn.max('seq').as('max_seq')])
      .where('connection_id', '=', connectionId)
      .groupBy('data_type');
    if (onlyStatus) inner = inner.where('status', '=', onlyStatus);
    const rows = await this.db
      .selectFrom('datasets as d')
      .innerJoin(inner.as('m'), (j) => j.onRef('m.max_seq', '=', 'd.seq'))
      .selectAll('d')
      .execute();
    return rows as DatasetRow[];
  }

  /** The cursor and listing kind of the last Complete dataset of (connection, data type), for incremental pulls. */
  async lastComplete(connectionId: string, dataType: string): Promise<DatasetRow | undefined> {
    return this.db
      .selectFrom('datasets')
      .selectAll()
      .where('connection_id', '=', connectionId)
      .where('data_type', '=', dataType)
      .where('status', '=', 'Complete')
      .orderBy('seq', 'desc')
      .limit(1)
      .executeTakeFirst() as Promise<DatasetRow | undefined>;
  }

  /** Complete datasets of (connection, type) since the last full listing, to schedule periodic reconciliation. */
  async completesSinceLastFull(connectionId: string, dataType: string): Promise<{ count: number; lastFullCompleted: string | null }> {
    const lastFull = await this.db
      .selectFrom('datasets')
      .select(['seq', 'completed'])
      .where('connection_id', '=', connectionId)
      .where('data_type', '=', dataType)
      .where('status', '=', 'Complete')
      .where('full_listing', '=', 1)
      .orderBy('seq', 'desc')
      .limit(1)
      .executeTakeFirst();
    let q = this.db
      .selectFrom('datasets')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('connection_id', '=', connectionId)
      .where('data_type', '=', dataType)
      .where('status', '=', 'Complete');
    if (lastFull) q = q.where('seq', '>', lastFull.seq);
    const r = await q.executeTakeFirstOrThrow();
    return { count: Number(r.n), lastFullCompleted: lastFull?.completed ?? null };
  }

  /**
   * Claims the oldest queued dataset whose connection has a free concurrency slot (hot path).
   * PostgreSQL: candidates are row-locked with FOR UPDATE SKIP LOCKED, so concurrent workers in any process take
   * different rows without waiting. SQLite: one process, one connection; the transaction serialises claimers.
   * The unique index on (connection_id, run_slot) for running datasets is the final guard on per-connection
   * concurrency: a racing claimer that picked the same slot fails and retries.
   */
  async claim(args: ClaimArgs): Promise<ClaimedDataset | undefined> {
    return (await this.claimMany({ ...args, n: 1 }))[0];
  }

  /**
   * Claims up to `n` datasets in one round trip (a worker with `n` free slots), in claim order, each as `claim` would
   * one after another (so per-connection limits and run slots hold within the batch). Fewer, or none, when fewer are
   * claimable. A unique violation on a run slot (another process took it at the same instant) claims nothing.
   */
  async claimMany(args: ClaimArgs & { n: number }): Promise<ClaimedDataset[]> {
    try {
      if (this.dialect === 'postgres') {
        const r = await claimStatementPg(args).execute(this.db);
        return r.rows.map(({ claim }) => claimedOf(claim));
      }
      return await this.db.transaction().execute(async (trx) => {
        const out: ClaimedDataset[] = [];
        for (let i = 0; i < Math.max(1, args.n); i++) {
          const one = await this.claimOneSqlite(trx, args);
          if (!one) break;
          out.push(one);
        }
        return out;
      });
    } catch (err) {
      // Another process took the same connection slot at the same instant: nothing was claimed; try again later.
      if (isUniqueViolation(err)) return [];
      throw err;
    }
  }

  private async claimOneSqlite(trx: Transaction<Database>, args: ClaimArgs): Promise<ClaimedDataset | undefined> {
    const candidates = await claimCandidates(trx, this.dialect, args.now, args.maxPerConnection).execute();
    if (candidates.length === 0) return undefined;
    const connIds = [...new Set(candidates.map((c) => c.connection_id))];
    const running = await trx
      .selectFrom('datasets')
      .select(['connection_id', 'run_slot'])
      .where('connection_id', 'in', connIds)
      .where('status', 'in', RUNNING_STATUSES)
      .execute();
    const keyOf = new Map(candidates.map((c) => [c.connection_id, c.integration_key]));
    for (const cand of candidates) {
      const max = Math.max(1, args.maxPerConnection[keyOf.get(cand.connection_id) ?? ''] ?? 1);
      const used = new Set(running.filter((r) => r.connection_id === cand.connection_id).map((r) => r.run_slot));
      let slot = -1;
      for (let i = 0; i < max; i++) {
        if (!used.has(i)) {
          slot = i;
          break;
        }
      }
      if (slot < 0) continue;
      const claimed = (await trx
        .updateTable('datasets')
        .set((eb) => ({
          status: 'Fetching',
          lease_owner: args.workerId,
          lease_expires: args.leaseExpires,
          run_slot: slot,
          attempts: eb('attempts', '+', 1),
          started: eb.fn.coalesce('started', sql.lit(args.now)),
          status_description: null,
        }))
        .where('seq', '=', cand.seq)
        .where('status', '=', 'Queued')
        .returningAll()
        .executeTakeFirst()) as DatasetRow | undefined;
      if (!claimed) continue;
      // The same facts the PostgreSQL statement joins in, and the same staging reset (a requeued pull's pages).
      await clearStagingOfDatasets(trx, [claimed.id]);
      const facts = await sql<Omit<ClaimedDataset, keyof DatasetRow>>`${runFacts(sql`${claimed.connection_id}`, sql`${claimed.data_type}`)}
        from connections c where c.id = ${claimed.connection_id}`.execute(trx);
      const f = facts.rows[0];
      if (!f) return undefined;
      return { ...claimed, ...f, completes_since_full: Number(f.completes_since_full) };
    }
    return undefined;
  }

  /** Renews the lease. False when the dataset is no longer ours (swept, cancelled, deleted): the worker must stop. */
  async heartbeat(id: string, workerId: string, leaseExpires: string, progress?: number): Promise<boolean> {
    const r = await this.db
      .updateTable('datasets')
      .set((eb) => ({
        lease_expires: leaseExpires,
        ...(progress !== undefined ? { progress: sql<number>`case when ${eb.ref('progress')} < ${progress} then ${progress} else ${eb.ref('progress')} end` } : {}),
      }))
      .where('id', '=', id)
      .where('lease_owner', '=', workerId)
      .where('status', 'in', RUNNING_STATUSES)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  /** Moves a held dataset to another running status / description. False when no longer held. */
  async update(
    id: string,
    workerId: string,
    fields: Partial<Pick<DatasetRow, 'status' | 'status_description' | 'progress' | 'cursor_in'>>,
    db: Db = this.db,
  ): Promise<boolean> {
    const r = await db
      .updateTable('datasets')
      .set(fields)
      .where('id', '=', id)
      .where('lease_owner', '=', workerId)
      .where('status', 'in', RUNNING_STATUSES)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  /**
   * First statement of the merge transaction: whether the dataset is still held by this worker, row-locked on
   * PostgreSQL until commit. Taking the dataset's lock first gives the merge the same lock order as a company or
   * connection deletion (dataset rows, then staging, then records), so the two wait for each other instead of
   * deadlocking; a pull cancelled or deleted meanwhile is not merged at all.
   */
  async lockHeld(id: string, workerId: string, trx: Transaction<Database>): Promise<boolean> {
    const q = heldDataset(trx, id, workerId);
    return (await (this.dialect === 'postgres' ? q.forUpdate() : q).executeTakeFirst()) !== undefined;
  }

  /**
   * Terminal transition of a held dataset. False when it was no longer held (then nothing changed). Its webhook
   * events commit with it: in `db` when that is a transaction (the merge), otherwise in a transaction of its own.
   */
  async finish(
    id: string,
    workerId: string,
    status: DatasetStatus,
    completed: string,
    fields: FinishFields = {},
    db: Db = this.db,
  ): Promise<DatasetRow | undefined> {
    const run = async (trx: Db) => {
      const r = (await trx
        .updateTable('datasets')
        .set({ status, completed, progress: 100, lease_owner: null, lease_expires: null, run_slot: null, ...fields })
        .where('id', '=', id)
        .where('lease_owner', '=', workerId)
        .where('status', 'in', RUNNING_STATUSES)
        .returningAll()
        .executeTakeFirst()) as DatasetRow | undefined;
      if (r) await datasetsEnded(trx, [r], completed);
      return r;
    };
    return db.isTransaction ? run(db) : db.transaction().execute(run);
  }

  /**
   * `finish` for a run that merged nothing (an incremental pull that found no change, NotSupported, a refused
   * connection), in as few round trips as the outbox allows. PostgreSQL, when no webhook consumer is enabled: ONE
   * statement (syncline_finish_datasets, migration 0030) ends the dataset and counts down its read — the same
   * transition and countdown as `finish` + datasetsEnded, which with no enabled consumer write no event; the consumers
   * are read in the same snapshot as the update. Calls of one process that arrive while such a statement is in flight
   * go together in the next one (a worker's pulls that end at the same moment: one round trip, not one each).
   * Otherwise, and on SQLite (in-process: round trips are cheap), `finish` in its own transaction.
   */
  finishUnmerged(
    id: string,
    workerId: string,
    status: DatasetStatus,
    completed: string,
    fields: FinishFields = {},
  ): Promise<DatasetRow | undefined> {
    if (this.dialect !== 'postgres') return this.finish(id, workerId, status, completed, fields);
    let c = finishCoalescers.get(this.db);
    if (!c) {
      c = new Coalescer((items: UnmergedFinish[]) => this.finishUnmergedMany(items));
      finishCoalescers.set(this.db, c);
    }
    return c.submit({ id, workerId, status, completed, fields });
  }

  /** `finishUnmerged` of several datasets in one statement (PostgreSQL, no consumer); one result per item, in order. */
  async finishUnmergedMany(items: readonly UnmergedFinish[]): Promise<(DatasetRow | undefined)[]> {
    if (this.dialect === 'postgres' && items.length) {
      // Every given field is written, an undefined one as null (as `finish` would write it); absent ones are kept.
      const payload = items.map((i) => ({
        id: i.id,
        worker: i.workerId,
        status: i.status,
        completed: i.completed,
        s: Object.fromEntries(Object.entries(i.fields ?? {}).map(([k, v]) => [k, v ?? null])),
      }));
      const r = await sql<{ row: (DatasetRow & { consumers?: undefined }) | { consumers: true } }>`select syncline_finish_datasets(${JSON.stringify(payload)}::jsonb) as row`.execute(
        this.db,
      );
      if (!r.rows.some((x) => x.row.consumers === true)) {
        const ended = new Map(r.rows.map((x) => [(x.row as DatasetRow).id, x.row as DatasetRow]));
        return items.map((i) => {
          const d = ended.get(i.id);
          return d ? { ...d, seq: Number(d.seq) } : undefined;
        });
      }
    }
    const out: (DatasetRow | undefined)[] = [];
    for (const i of items) out.push(await this.finish(i.id, i.workerId, i.status, i.completed, i.fields));
    return out;
  }

  /** Ends every in-progress dataset of a connection (unlink → Cancelled, deauthorization → AuthError). */
  async endInProgressForConnection(connectionId: string, status: DatasetStatus, message: string, now: string, db: Db = this.db): Promise<DatasetRow[]> {
    const run = (trx: Db) => endInProgress(trx, { connectionId }, status, message, now);
    return db.isTransaction ? run(db) : db.transaction().execute(run);
  }

  /**
   * Sweeper (invariant 5): running datasets whose lease expired go back to Queued, or to InternalError after
   * `maxAttempts`; datasets past the maximum runtime end in InternalError.
   */
  async sweep(
    now: string,
    maxAttempts: number,
    runtimeCutoff: string,
    /** Why the workers stopped, when known (a storage failure), instead of "stopped responding". */
    stoppedMessage = 'The worker running this pull stopped responding on every attempt.',
  ): Promise<{ requeued: DatasetRow[]; failed: DatasetRow[] }> {
    return this.db.transaction().execute(async (trx) => {
      const failed = (await trx
        .updateTable('datasets')
        .set({
          status: 'InternalError',
          completed: now,
          progress: 100,
          lease_owner: null,
          lease_expires: null,
          run_slot: null,
          error_message: sql<string>`case when started < ${runtimeCutoff} then 'The pull ran past the maximum runtime.' else ${stoppedMessage} end`,
        })
        .where(IN_PROGRESS_LITERAL)
        .where((eb) => eb.or([eb.and([RUNNING_LITERAL, eb('lease_expires', '<', now), eb('attempts', '>=', maxAttempts)]), eb('started', '<', runtimeCutoff)]))
        .returningAll()
        .execute()) as DatasetRow[];
      await datasetsEnded(trx, failed, now);
      // A failed pull's staged pages will never be merged (a requeued one keeps them: its next worker clears them).
      await clearStagingOfDatasets(trx, failed.map((d) => d.id));
      const requeued = (await requeueExpired(trx, now).execute()) as DatasetRow[];
      return { requeued, failed };
    });
  }

  /**
   * Graceful shutdown: hand held datasets back to the queue without counting an attempt. `retry`: not claimable
   * before `notBefore` (a pull handed back because the database went away must not spin).
   */
  async handBack(workerId: string, ids?: string[], retry?: { notBefore: string; description: string }): Promise<number> {
    let q = this.db
      .updateTable('datasets')
      .set((eb) => ({
        status: 'Queued',
        lease_owner: null,
        lease_expires: null,
        run_slot: null,
        attempts: sql<number>`case when ${eb.ref('attempts')} > 0 then ${eb.ref('attempts')} - 1 else 0 end`,
        status_description: retry?.description ?? 'Handed back by a stopping worker',
        ...(retry ? { not_before: retry.notBefore } : {}),
      }))
      .where('lease_owner', '=', workerId)
      .where('status', 'in', RUNNING_STATUSES);
    if (ids) q = q.where('id', 'in', ids.length ? ids : ['']);
    const r = await q.executeTakeFirst();
    return Number(r.numUpdatedRows);
  }

  async countInProgress(): Promise<number> {
    const r = await this.db
      .selectFrom('datasets')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('status', 'in', IN_PROGRESS_STATUSES)
      .executeTakeFirstOrThrow();
    return Number(r.n);
  }

  async countQueued(): Promise<number> {
    const r = await this.db.selectFrom('datasets').select((eb) => eb.fn.countAll<number>().as('n')).where('status', '=', 'Queued').executeTakeFirstOrThrow();
    return Number(r.n);
  }
}

/**
 * Ends every in-progress dataset of a connection or a company with `status`, in the caller's transaction: their
 * webhook events (and their reads' completion) commit with it, and their staged pages go (issue 12 items 5 and 8).
 * Deleting a company or connection calls this before the cascade, so a pull in progress ends Cancelled, with its
 * events, instead of vanishing.
 */
export async function endInProgress(
  trx: Db,
  owner: { connectionId: string } | { companyId: string },
  status: DatasetStatus,
  message: string,
  now: string,
): Promise<DatasetRow[]> {
  let q = trx
    .updateTable('datasets')
    .set({ status, error_message: message, completed: now, progress: 100, lease_owner: null, lease_expires: null, run_slot: null })
    .where('status', 'in', IN_PROGRESS_STATUSES);
  q = 'connectionId' in owner ? q.where('connection_id', '=', owner.connectionId) : q.where('company_id', '=', owner.companyId);
  const rows = (await q.returningAll().execute()) as DatasetRow[];
  await datasetsEnded(trx, rows, now);
  await clearStagingOfDatasets(
    trx,
    rows.map((d) => d.id),
  );
  return rows;
}

/**
 * The oldest claimable datasets with their connection's integration key (hot path): in claim order through
 * datasets_claim_order (migration 0008), the key joined in (one round trip less), only the dataset rows locked
 * (PostgreSQL: FOR UPDATE OF d SKIP LOCKED). Datasets of a connection already running its maximum of pulls are
 * skipped here, not after: a refresh-all queues ~17 datasets of one connection, and when they filled the 16
 * candidates every other connection waited behind them (50 connections pulled at once ran one pull at a time).
 */
export function claimCandidates(db: Db, dialect: Dialect, now: string, maxPerConnection: Readonly<Record<string, number>>) {
  const keys = Object.entries(maxPerConnection);
  const max = keys.length ? sql`(case c.integration_key ${sql.join(keys.map(([k, m]) => sql`when ${k} then ${Math.max(1, m)}`), sql` `)} else 1 end)` : sql`1`;
  const q = db
    .selectFrom('datasets as d')
    .innerJoin('connections as c', 'c.id', 'd.connection_id')
    .select(['d.seq', 'd.connection_id', 'c.integration_key'])
    .where('d.status', '=', 'Queued')
    .where((eb) => eb.or([eb('d.not_before', 'is', null), eb('d.not_before', '<=', now)]))
    // Through the partial index datasets_running_slot: the pulls this connection is running now.
    .where(sql<boolean>`(select count(*) from datasets r where r.connection_id = d.connection_id and r.status in (${sql.join([...RUNNING_STATUSES])})) < ${max}`)
    .orderBy('d.requested')
    .orderBy('d.sync_order')
    .orderBy('d.seq')
    .limit(16);
  return dialect === 'postgres' ? q.forUpdate('d').skipLocked() : q;
}

/** Dataset `id` while `workerId` holds it (a running status under its lease): its id, or no row. */
export function heldDataset(db: Db, id: string, workerId: string) {
  return db.selectFrom('datasets').select('datasets.id').where('datasets.id', '=', id).where('datasets.lease_owner', '=', workerId).where('datasets.status', 'in', RUNNING_STATUSES);
}

/**
 * The sweeper's requeue: running datasets whose lease expired go back to Queued. Found through datasets_running_slot
 * (the running datasets: as many as pulls running anywhere), whatever plan a prepared statement keeps (RUNNING_LITERAL).
 */
export function requeueExpired(db: Db, now: string) {
  return db
    .updateTable('datasets')
    .set({ status: 'Queued', lease_owner: null, lease_expires: null, run_slot: null, status_description: 'Requeued after its worker stopped responding' })
    .where(RUNNING_LITERAL)
    .where('lease_expires', '<', now)
    .returningAll();
}

export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  return e?.code === '23505' || e?.code === 'SQLITE_CONSTRAINT_UNIQUE' || /UNIQUE constraint failed/.test(e?.message ?? '');
}

/**
 * What a run needs besides the dataset row, for the dataset of (connection `conn`, data type `type`) whose connection
 * is `c` in the surrounding FROM: the connection's key, status and info, the last Complete dataset's cursor, the newest
 * Complete full listing's completion and the Complete datasets since it (through datasets_conn_type_seq).
 */
function runFacts(conn: RawBuilder<unknown>, type: RawBuilder<unknown>) {
  return sql`select c.integration_key, c.status as connection_status, c.connection_info,
      (select p.cursor_out from datasets p where p.connection_id = ${conn} and p.data_type = ${type} and p.status = 'Complete'
        order by p.seq desc limit 1) as last_cursor,
      (select p.completed from datasets p where p.connection_id = ${conn} and p.data_type = ${type} and p.status = 'Complete'
        and p.full_listing = 1 order by p.seq desc limit 1) as last_full_completed,
      (select count(*) from datasets p where p.connection_id = ${conn} and p.data_type = ${type} and p.status = 'Complete'
        and p.seq > coalesce((select max(f.seq) from datasets f where f.connection_id = ${conn} and f.data_type = ${type}
                               and f.status = 'Complete' and f.full_listing = 1), 0)) as completes_since_full`;
}

/**
 * The whole claim of up to `n` datasets on PostgreSQL in ONE statement, outside any explicit transaction: the function
 * of migration 0030 (0022's candidate scan in claim order, free run slot, lease, staging reset, connection and last
 * pulls' facts, repeated up to `n` times; each step a keyed lookup, plans kept for the session).
 */
export function claimStatementPg(args: ClaimArgs & { n?: number }) {
  const keys = Object.keys(args.maxPerConnection);
  const maxes = keys.map((k) => Math.max(1, args.maxPerConnection[k]!));
  return sql<{ claim: ClaimedDataset }>`select syncline_claim_datasets(${args.workerId}, ${args.now}, ${args.leaseExpires}, ${keys}::text[], ${maxes}::int[], ${Math.max(1, args.n ?? 1)}::int) as claim`;
}

/** A claimed row as the claim functions return it (jsonb: bigints and counts as JSON numbers or strings). */
function claimedOf(row: ClaimedDataset): ClaimedDataset {
  return { ...row, seq: Number(row.seq), completes_since_full: Number(row.completes_since_full) };
}

/**
 * The webhook outbox (DESIGN invariant 2). Every function here writes in the caller's transaction, so an event commits
 * with the change that caused it, or not at all. Fan-out to consumers happens at generation time: subscriptions,
 * `disabled` and company-tag filters are evaluated against the state inside that transaction (webhooks.md §1.1, §7.4).
 *
 * Events store facts (snapshots of the rows involved), not bodies: the body is rendered at delivery by
 * src/webhooks/render.ts, which knows the public base URL and the integration catalogue that the store does not.
 */
import { PostgresAdapter, sql, type Insertable, type Kysely, type Transaction } from 'kysely';
import { newId, randomAlnum } from '../lib/ids.js';
import { canonicalIndex, type DataType } from '../domain/data-types.js';
import { isErrored, type ConnectionStatus, type DatasetStatus } from '../domain/statuses.js';
import { tagsMatch, type CurrentEventType, type EventType } from '../domain/webhook-events.js';
import type { Database } from './schema.js';
import type { CompanyRow } from './companies.repository.js';
import type { ConnectionRow } from './connections.repository.js';

/** A DatasetRow, structurally (importing it from the repository would make the two modules import each other). */
interface EndedDataset {
  id: string;
  company_id: string;
  connection_id: string;
  data_type: string;
  status: string;
  read_id: string;
  completed: string | null;
  records_added: number;
  records_updated: number;
  records_deleted: number;
}

type Db = Kysely<Database> | Transaction<Database>;

export const WEBHOOKS_CHANNEL = 'syncline_webhooks';

/**
 * In-process wake-up of webhook senders when events are written (SQLite: no NOTIFY; issue 17). Listeners run when the
 * rows are inserted, before the transaction commits: on SQLite the one connection is held by that transaction until
 * it ends, so a woken sender's claim queues behind the commit and finds the deliveries (after a rollback it finds
 * nothing and waits again). Every sender of the process is woken, whichever store it serves; a spurious wake-up costs
 * one claim. PostgreSQL senders wake on the NOTIFY below, delivered at commit.
 */
const outboxListeners = new Set<() => void>();

/** Calls `fn` whenever this process writes webhook deliveries on SQLite; returns the unsubscribe function. */
export function onOutboxWritten(fn: () => void): () => void {
  outboxListeners.add(fn);
  return () => outboxListeners.delete(fn);
}

// ---- Facts stored with each event ----------------------------------------------------------------------------

/** The company row as it was when the event was generated, with its lastSync. */
export type CompanySnapshot = CompanyRow & { last_sync: string | null };
/** The connection row (after the change) without its credentials. */
export type ConnectionSnapshot = Omit<ConnectionRow, 'credentials'>;

export interface CompanyEventData {
  company: CompanySnapshot;
}
export interface ConnectionEventData {
  company: CompanySnapshot;
  connection: ConnectionSnapshot;
}
export interface ConnectionStatusData {
  integrationKey: string;
  oldStatus: ConnectionStatus;
  newStatus: ConnectionStatus;
}
export interface DatasetEventData {
  dataType: string;
  datasetId: string;
  status: DatasetStatus;
  completed: string;
}
export interface ReadSummaryItem {
  connectionId: string;
  dataType: string;
  recordsModified: boolean;
  status: DatasetStatus;
}
export interface ReadEventData {
  company: CompanySnapshot;
  modifiedFromDate?: string;
  dataTypes: ReadSummaryItem[];
}
/** records.changed: one pull's committed changes and their range in the (connection, data type) change feed. */
export interface RecordsChangedData {
  company: CompanySnapshot;
  connectionId: string;
  dataType: string;
  datasetId: string;
  committed: string;
  recordsAdded: number;
  recordsUpdated: number;
  recordsDeleted: number;
  /** Resume the feed from this cursor to read exactly this pull's changes first… */
  fromCursor: string;
  /** …up to and including this one (the cursor after its last change). */
  toCursor: string;
}

export interface NewCompanyData {
  integrationKey: string;
}

export interface OutboxEvent {
  type: EventType;
  companyId: string;
  connectionId: string | null;
  /** The company's tags at generation, for consumers' companyTags filters. */
  tags: Record<string, string>;
  data: unknown;
}

interface Subscriber {
  id: string;
  types: Set<string>;
  tags: string[] | null;
}

/** Enabled consumers: the only ones that get deliveries (a disabled consumer gets nothing queued, §7.4). */
async function subscribers(db: Db): Promise<Subscriber[]> {
  const rows = await db.selectFrom('webhook_consumers').select(['id', 'event_types', 'company_tags']).where('disabled', '=', 0).execute();
  return rows.map((r) => ({
    id: r.id,
    types: new Set(JSON.parse(r.event_types) as string[]),
    tags: r.company_tags ? (JSON.parse(r.company_tags) as string[]) : null,
  }));
}

const wants = (subs: Subscriber[], ...types: EventType[]) => subs.some((s) => types.some((t) => s.types.has(t)));

/**
 * Writes events and one pending delivery per matching consumer, in the caller's transaction and in the given order
 * (`seq` orders them). An event no consumer matches is not stored. On PostgreSQL a NOTIFY (delivered at commit)
 * wakes idle senders. Returns the number of deliveries queued.
 */
export async function emitEvents(trx: Db, events: OutboxEvent[], at: string, subs?: Subscriber[]): Promise<number> {
  if (events.length === 0) return 0;
  const consumers = subs ?? (await subscribers(trx));
  if (consumers.length === 0) return 0;
  const eventRows: Insertable<Database['webhook_events']>[] = [];
  const deliveryRows: Database['webhook_deliveries'][] = [];
  for (const e of events) {
    const matched = consumers.filter((c) => c.types.has(e.type) && tagsMatch(c.tags, e.tags));
    if (matched.length === 0) continue;
    const id = newId();
    eventRows.push({
      id,
      msg_id: `msg_${randomAlnum(27)}`,
      event_type: e.type,
      company_id: e.companyId,
      connection_id: e.connectionId,
      data: JSON.stringify(e.data),
      generated_at: at,
    });
    for (const c of matched) {
      deliveryRows.push({
        id: newId(),
        consumer_id: c.id,
        event_id: id,
        status: 'pending',
        attempts: 0,
        next_attempt_at: at,
        lease_owner: null,
        lease_expires: null,
        delivered_at: null,
        failed_at: null,
        created_at: at,
      });
    }
  }
  if (eventRows.length === 0) return 0;
  // One statement per event keeps `seq` in generation order on both dialects.
  for (const row of eventRows) await trx.insertInto('webhook_events').values(row).execute();
  await trx.insertInto('webhook_deliveries').values(deliveryRows).execute();
  if (isPostgres(trx)) await sql`select pg_notify(${WEBHOOKS_CHANNEL}, '')`.execute(trx);
  else for (const fn of outboxListeners) fn();
  return deliveryRows.length;
}

export function isPostgres(db: Db): boolean {
  return db.getExecutor().adapter instanceof PostgresAdapter;
}

// ---- Snapshots ---------------------------------------------------------------------------------------------------

export async function companySnapshot(db: Db, companyId: string): Promise<CompanySnapshot | undefined> {
  const row = await db
    .selectFrom('companies')
    .selectAll('companies')
    .select((eb) => eb.selectFrom('datasets').select((e) => e.fn.max('datasets.completed').as('m')).whereRef('datasets.company_id', '=', 'companies.id').as('last_sync'))
    .where('id', '=', companyId)
    .executeTakeFirst();
  return row ? { ...row, last_sync: row.last_sync ?? null } : undefined;
}

async function connectionSnapshots(db: Db, where: { id?: string; companyId?: string }): Promise<ConnectionSnapshot[]> {
  let q = db
    .selectFrom('connections')
    .selectAll('connections')
    .select((eb) =>
      eb.selectFrom('datasets').select((e) => e.fn.max('datasets.completed').as('m')).whereRef('datasets.connection_id', '=', 'connections.id').as('last_completed'),
    )
    .orderBy('created_at')
    .orderBy('id');
  if (where.id) q = q.where('id', '=', where.id);
  if (where.companyId) q = q.where('company_id', '=', where.companyId);
  const rows = await q.execute();
  return rows.map(({ credentials: _secret, ...rest }) => rest);
}

const tagsOf = (company: { tags: string }) => JSON.parse(company.tags) as Record<string, string>;

// ---- Companies and connections -------------------------------------------------------------------------------

/** company.created / company.deleted. Call before deleting the row: the payload is the company as it was. */
export async function emitCompanyEvent(trx: Db, type: 'company.created' | 'company.deleted', companyId: string, at: string): Promise<void> {
  const subs = await subscribers(trx);
  if (!wants(subs, type)) return;
  const company = await companySnapshot(trx, companyId);
  if (!company) return;
  await emitEvents(trx, [{ type, companyId, connectionId: null, tags: tagsOf(company), data: { company } satisfies CompanyEventData }], at, subs);
}

/** Company deletion: `connection.deleted` for each of its connections, then `company.deleted` (webhooks.md §2.1). */
export async function emitCompanyDeletion(trx: Db, companyId: string, at: string): Promise<void> {
  const subs = await subscribers(trx);
  if (!wants(subs, 'connection.deleted', 'company.deleted')) return;
  const company = await companySnapshot(trx, companyId);
  if (!company) return;
  const tags = tagsOf(company);
  const events: OutboxEvent[] = (await connectionSnapshots(trx, { companyId })).map((connection) => ({
    type: 'connection.deleted',
    companyId,
    connectionId: connection.id,
    tags,
    data: { company, connection } satisfies ConnectionEventData,
  }));
  events.push({ type: 'company.deleted', companyId, connectionId: null, tags, data: { company } satisfies CompanyEventData });
  await emitEvents(trx, events, at, subs);
}

/** connection.created / failed / deleted (for deleted, call before deleting the row). */
export async function emitConnectionEvent(trx: Db, type: CurrentEventType & `connection.${string}`, connectionId: string, at: string): Promise<void> {
  const subs = await subscribers(trx);
  if (!wants(subs, type)) return;
  const [connection] = await connectionSnapshots(trx, { id: connectionId });
  if (!connection) return;
  const company = await companySnapshot(trx, connection.company_id);
  if (!company) return;
  await emitEvents(trx, [{ type, companyId: company.id, connectionId, tags: tagsOf(company), data: { company, connection } satisfies ConnectionEventData }], at, subs);
}

/** The current-style event for a status change (sync-behaviour.md §9.1), plus legacy DataConnectionStatusChanged. */
export async function emitConnectionStatusChanged(trx: Db, connectionId: string, from: ConnectionStatus, to: ConnectionStatus, at: string): Promise<void> {
  let type: CurrentEventType | undefined;
  if (to === 'Linked') type = from === 'PendingAuth' ? 'connection.connected' : 'connection.reconnected';
  else if (from === 'Linked' && (to === 'Unlinked' || to === 'Deauthorized')) type = 'connection.disconnected';
  const subs = await subscribers(trx);
  if (!wants(subs, 'DataConnectionStatusChanged', ...(type ? [type] : []))) return;
  const [connection] = await connectionSnapshots(trx, { id: connectionId });
  if (!connection) return;
  const company = await companySnapshot(trx, connection.company_id);
  if (!company) return;
  const base = { companyId: company.id, connectionId, tags: tagsOf(company) };
  const events: OutboxEvent[] = [];
  if (type) events.push({ ...base, type, data: { company, connection } satisfies ConnectionEventData });
  events.push({
    ...base,
    type: 'DataConnectionStatusChanged',
    data: { integrationKey: connection.integration_key, oldStatus: from, newStatus: to } satisfies ConnectionStatusData,
  });
  await emitEvents(trx, events, at, subs);
}

/** records.changed, in the merge transaction of the pull whose changes it announces (issue 16). */
export async function emitRecordsChanged(trx: Db, d: Omit<RecordsChangedData, 'company'>, at: string): Promise<void> {
  const subs = await subscribers(trx);
  if (!wants(subs, 'records.changed')) return;
  const conn = await trx.selectFrom('connections').select('company_id').where('id', '=', d.connectionId).executeTakeFirst();
  const company = conn ? await companySnapshot(trx, conn.company_id) : undefined;
  if (!company) return;
  await emitEvents(
    trx,
    [{ type: 'records.changed', companyId: company.id, connectionId: d.connectionId, tags: tagsOf(company), data: { company, ...d } satisfies RecordsChangedData }],
    at,
    subs,
  );
}

// ---- Datasets and reads ----------------------------------------------------------------------------------------

/**
 * Registers a read (the datasets one trigger queued for one connection). Call in the transaction that inserted its
 * datasets, before reporting any of them terminal.
 */
export async function openRead(
  trx: Db,
  read: { readId: string; companyId: string; connectionId: string; trigger: string; datasets: number; at: string },
): Promise<void> {
  await openReads(trx, [read]);
}

/** openRead for several reads with one INSERT per 500 reads (the scheduler's batches). */
export async function openReads(
  trx: Db,
  reads: readonly { readId: string; companyId: string; connectionId: string; trigger: string; datasets: number; at: string }[],
): Promise<void> {
  const rows: Insertable<Database['dataset_reads']>[] = [];
  for (const read of reads) {
    if (read.datasets === 0) continue; // a read with no datasets emits nothing (webhooks.md §4.1)
    const initial = read.trigger === 'first-link';
    let firstLink = false;
    if (initial) {
      const earlier = await trx.selectFrom('dataset_reads').select('read_id').where('connection_id', '=', read.connectionId).where('initial', '=', 1).limit(1).executeTakeFirst();
      firstLink = earlier === undefined && !rows.some((r) => r.connection_id === read.connectionId && r.initial === 1);
    }
    rows.push({
      read_id: read.readId,
      company_id: read.companyId,
      connection_id: read.connectionId,
      trigger: read.trigger,
      initial: initial ? 1 : 0,
      first_link: firstLink ? 1 : 0,
      pending: read.datasets,
      created_at: read.at,
      completed_at: null,
    });
  }
  for (let i = 0; i < rows.length; i += 500) await trx.insertInto('dataset_reads').values(rows.slice(i, i + 500)).execute();
}

/**
 * Datasets that just became terminal, in the transaction of that transition: the legacy per-dataset events, then,
 * for each read whose last dataset this was, read.completed (+ .initial, + NewCompanySynchronized).
 * Each terminal transition happens once (the UPDATE guards on an in-progress status), so each dataset counts once.
 */
export async function datasetsEnded(trx: Db, rows: readonly EndedDataset[], at: string): Promise<void> {
  if (rows.length === 0) return;
  const subs = await subscribers(trx);
  const tagsByCompany = new Map<string, Record<string, string>>();
  const companyTags = async (id: string) => {
    if (!tagsByCompany.has(id)) {
      const c = await trx.selectFrom('companies').select('tags').where('id', '=', id).executeTakeFirst();
      tagsByCompany.set(id, c ? tagsOf(c) : {});
    }
    return tagsByCompany.get(id)!;
  };

  if (wants(subs, 'DataSyncCompleted', 'DatasetDataChanged', 'DataSyncStatusChangedToError')) {
    const events: OutboxEvent[] = [];
    for (const d of rows) {
      const status = d.status as DatasetStatus;
      const base = { companyId: d.company_id, connectionId: d.connection_id, tags: await companyTags(d.company_id) };
      const data: DatasetEventData = { dataType: d.data_type, datasetId: d.id, status, completed: d.completed ?? at };
      if (status === 'Complete') {
        events.push({ ...base, type: 'DataSyncCompleted', data });
        if (d.records_added + d.records_updated + d.records_deleted > 0) events.push({ ...base, type: 'DatasetDataChanged', data });
      } else if (isErrored(status)) {
        events.push({ ...base, type: 'DataSyncStatusChangedToError', data });
      }
    }
    await emitEvents(trx, events, at, subs);
  }

  // Every terminal dataset counts down its read, with or without subscribers: a consumer created while a read runs
  // gets its read.completed.
  const perRead = new Map<string, number>();
  for (const d of rows) perRead.set(d.read_id, (perRead.get(d.read_id) ?? 0) + 1);
  for (const [readId, n] of perRead) {
    // The row lock taken by this UPDATE serialises the datasets of one read finishing at once (PostgreSQL re-reads
    // the committed value after waiting), so exactly one transaction sees the count reach zero.
    const read = await trx
      .updateTable('dataset_reads')
      .set((eb) => ({
        pending: eb('pending', '-', n),
        completed_at: sql<string | null>`case when ${eb.ref('pending')} - ${n} <= 0 then ${at} else ${eb.ref('completed_at')} end`,
      }))
      .where('read_id', '=', readId)
      .where('pending', '>', 0)
      .returning(['pending', 'initial', 'first_link', 'company_id', 'connection_id'])
      .executeTakeFirst();
    if (!read || read.pending > 0) continue;
    await readCompleted(trx, readId, read, at, subs);
  }
}

async function readCompleted(
  trx: Db,
  readId: string,
  read: { initial: number; first_link: number; company_id: string; connection_id: string },
  at: string,
  subs: Subscriber[],
): Promise<void> {
  const types: EventType[] = ['read.completed'];
  if (read.initial) types.push('read.completed.initial');
  if (read.first_link) types.push('NewCompanySynchronized');
  if (!wants(subs, ...types)) return;
  const company = await companySnapshot(trx, read.company_id);
  if (!company) return;
  // The previous successful pull of each type, taken before this read ran: the newest Complete dataset queued before.
  const datasets = await trx
    .selectFrom('datasets as d')
    .select(['d.connection_id', 'd.data_type', 'd.status', 'd.sync_order', 'd.records_added', 'd.records_updated', 'd.records_deleted'])
    .select((eb) =>
      eb
        .selectFrom('datasets as p')
        .select((e) => e.fn.max('p.completed').as('m'))
        .whereRef('p.connection_id', '=', 'd.connection_id')
        .whereRef('p.data_type', '=', 'd.data_type')
        .where('p.status', '=', 'Complete')
        .whereRef('p.seq', '<', 'd.seq')
        .as('previous_success'),
    )
    .where('d.read_id', '=', readId)
    .execute();
  datasets.sort((a, b) => a.sync_order - b.sync_order || canonicalIndex(a.data_type as DataType) - canonicalIndex(b.data_type as DataType));
  const data: ReadEventData = {
    company,
    dataTypes: datasets.map((d) => ({
      connectionId: d.connection_id,
      dataType: d.data_type,
      recordsModified: d.status === 'Complete' && d.records_added + d.records_updated + d.records_deleted > 0,
      status: d.status as DatasetStatus,
    })),
  };
  // Omitted (never null) when any type in the read had no earlier successful pull (webhooks.md §3.4).
  const previous = datasets.map((d) => d.previous_success ?? null);
  if (previous.length > 0 && previous.every((p) => p !== null)) data.modifiedFromDate = (previous as string[]).reduce((a, b) => (a < b ? a : b));

  const base = { companyId: company.id, connectionId: read.connection_id, tags: tagsOf(company) };
  const events: OutboxEvent[] = [{ ...base, type: 'read.completed', data }];
  if (read.initial) events.push({ ...base, type: 'read.completed.initial', data });
  if (read.first_link && datasets.some((d) => d.status === 'Complete')) {
    const conn = await trx.selectFrom('connections').select('integration_key').where('id', '=', read.connection_id).executeTakeFirst();
    events.push({ ...base, type: 'NewCompanySynchronized', data: { integrationKey: conn?.integration_key ?? '' } satisfies NewCompanyData });
  }
  await emitEvents(trx, events, at, subs);
}

import { PostgresAdapter, sql, type Insertable, type Kysely, type Selectable, type Transaction } from 'kysely';
import { newId } from '../lib/ids.js';
import type { ConnectionStatus } from '../domain/statuses.js';
import type { ConnectionsTable, ConnectionStatusChangesTable, Database } from './schema.js';
import { pageOf, type ListSql, type Page, type PageRequest } from './paging.js';
import { emitConnectionEvent, emitConnectionStatusChanged } from './webhook-outbox.js';
import { endInProgress } from './datasets.repository.js';
import { clearStagingOf } from './staging.js';

/** A connection row plus `last_completed`: the newest `completed` over its datasets (Connection.lastSync). */
export type ConnectionRow = Selectable<ConnectionsTable> & { last_completed?: string | null };
export type NewConnection = Insertable<ConnectionsTable>;
export type ConnectionStatusChangeRow = ConnectionStatusChangesTable;

/** The row of a new connection awaiting authorisation (PendingAuth, no credentials yet). */
function pendingConnection(id: string, companyId: string, integrationKey: string, now: string): NewConnection {
  return { id, company_id: companyId, integration_key: integrationKey, status: 'PendingAuth', credentials: null, connection_info: null, errors: null, created_at: now, updated_at: now, last_sync: null };
}

/**
 * The order of the current-connection rule (ConnectionsRepository.current): Linked first, then linked at some time, the
 * most recently linked, then the most recently created. Every statement that picks a company's current connection
 * orders by it (over `connections`).
 */
export const CURRENT_CONNECTION_ORDER = sql`case when connections.status = 'Linked' then 0 when connections.linked_at is not null then 1 else 2 end,
  coalesce(connections.linked_at, '') desc, connections.created_at desc, connections.id desc`;

export class ConnectionsRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /** Every connection column plus last_completed, computed from datasets so it can never drift. */
  private select() {
    return this.db
      .selectFrom('connections')
      .selectAll('connections')
      .select((eb) =>
        eb
          .selectFrom('datasets')
          .select((e) => e.fn.max('datasets.completed').as('m'))
          .whereRef('datasets.connection_id', '=', 'connections.id')
          .as('last_completed'),
      );
  }

  /** A new PendingAuth connection (with its first status record and `connection.created`); returns its id. */
  async create(companyId: string, integrationKey: string, now: string): Promise<string> {
    const id = newId();
    await this.insert(pendingConnection(id, companyId, integrationKey, now));
    return id;
  }

  /** Inserts the connection, its first status record and its connection.created event together. */
  async insert(row: NewConnection): Promise<void> {
    await this.db.transaction().execute((trx) => this.insertIn(trx, row));
  }

  private async insertIn(trx: Transaction<Database>, row: NewConnection): Promise<void> {
    await trx.insertInto('connections').values(row).execute();
    await trx
      .insertInto('connection_status_changes')
      .values({ id: newId(), connection_id: row.id, from_status: null, to_status: row.status, reason: 'created', changed_at: row.created_at })
      .execute();
    await emitConnectionEvent(trx, 'connection.created', row.id, row.created_at);
  }

  /**
   * For a read of one data type (the 409 rule, sync-behaviour.md §10): the connection a read serves — `connectionId`'s
   * when given, else the company's current one (ordered as `current`) — with the status of its newest dataset of the
   * type and whether any of them completed, in one statement. A list request made three round trips for these
   * (connection with the max over its whole dataset history, newest dataset, any complete) before issue 17; the
   * connection's `last_completed` is not read here (no read needs it). Undefined when there is no such connection.
   */
  async forRead(companyId: string, connectionId: string | undefined, dataType: string): Promise<{ conn: ConnectionRow; latestStatus: string | undefined; hasComplete: boolean } | undefined> {
    let q = this.db
      .selectFrom('connections')
      .selectAll('connections')
      .select((eb) => [
        eb
          .selectFrom('datasets')
          .select('datasets.status')
          .whereRef('datasets.connection_id', '=', 'connections.id')
          .where('datasets.data_type', '=', dataType)
          .orderBy('datasets.seq', 'desc')
          .limit(1)
          .as('read_latest_status'),
        eb
          .exists(
            eb
              .selectFrom('datasets')
              .select('datasets.id')
              .whereRef('datasets.connection_id', '=', 'connections.id')
              .where('datasets.data_type', '=', dataType)
              .where('datasets.status', '=', 'Complete'),
          )
          .as('read_has_complete'),
      ])
      .where('company_id', '=', companyId);
    if (connectionId !== undefined) q = q.where('id', '=', connectionId);
    else {
      q = q.orderBy(CURRENT_CONNECTION_ORDER);
    }
    const row = await q.limit(1).executeTakeFirst();
    if (!row) return undefined;
    const { read_latest_status: latestStatus, read_has_complete: hasComplete, ...conn } = row;
    // PostgreSQL answers a boolean, SQLite 0/1.
    return { conn, latestStatus: latestStatus ?? undefined, hasComplete: (hasComplete as unknown) === true || Number(hasComplete) === 1 };
  }

  get(companyId: string, id: string): Promise<ConnectionRow | undefined> {
    return this.select().where('company_id', '=', companyId).where('id', '=', id).executeTakeFirst();
  }

  async list(companyId: string, page: PageRequest, list: ListSql): Promise<Page<ConnectionRow>> {
    return pageOf(
      this.select().where('company_id', '=', companyId),
      this.db.selectFrom('connections').where('company_id', '=', companyId).select((eb) => eb.fn.countAll<number>().as('n')),
      page,
      list,
    );
  }

  /** Every connection of the given companies, ordered by creation (for embedding in Company). */
  async listForCompanies(companyIds: string[]): Promise<ConnectionRow[]> {
    if (companyIds.length === 0) return [];
    return this.select()
      .where('company_id', 'in', companyIds)
      .orderBy('created_at')
      .orderBy('id')
      .execute();
  }

  /**
   * Compare-and-set status change, recorded with its timestamp. Returns false when the connection was no longer in
   * `from` (a concurrent change won), so callers never apply a transition twice. The connection.* and legacy
   * DataConnectionStatusChanged events commit with the change, rendered from the state after `after` ran.
   */
  async transition(
    id: string,
    from: ConnectionStatus,
    to: ConnectionStatus,
    at: string,
    reason: string,
    extra: Partial<Pick<ConnectionRow, 'credentials' | 'connection_info' | 'errors' | 'linked_at' | 'token_used_at' | 'refresh_token_expires_at'>> = {},
    /** Runs in the same transaction after a successful change (side effects that must commit with it). */
    after?: (trx: Transaction<Database>) => Promise<void>,
  ): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const r = await trx
        .updateTable('connections')
        .set({ status: to, updated_at: at, ...extra })
        .where('id', '=', id)
        .where('status', '=', from)
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) === 0) return false;
      await trx
        .insertInto('connection_status_changes')
        .values({ id: newId(), connection_id: id, from_status: from, to_status: to, reason, changed_at: at })
        .execute();
      if (after) await after(trx);
      await emitConnectionStatusChanged(trx, id, from, to, at);
      return true;
    });
  }

  /**
   * The company's current accounting connection, which company-level reads, dataStatus and queueing without a
   * connectionId use (every v1 integration is an accounting integration). Rule (README "Several connections"):
   * the `Linked` connection linked most recently; when none is Linked, the connection linked most recently
   * (Unlinked or Deauthorized: its data stays readable); when none was ever linked, the most recently created.
   * A connection created through the Link page and never authorised therefore never displaces one that serves data.
   */
  current(companyId: string): Promise<ConnectionRow | undefined> {
    return this.select()
      .where('company_id', '=', companyId)
      .orderBy(CURRENT_CONNECTION_ORDER)
      .limit(1)
      .executeTakeFirst();
  }

  /**
   * For the Link page: the company's PendingAuth connection to the integration, or a new one when the company holds
   * fewer than `cap` connections to it; undefined when the cap is reached. Counting and inserting happen under the
   * company's row lock (PostgreSQL; SQLite serialises writers), so concurrent requests cannot overshoot the cap.
   */
  async pendingOrCreate(companyId: string, integrationKey: string, cap: number, now: string): Promise<string | undefined> {
    return this.db.transaction().execute(async (trx) => {
      // PostgreSQL: the company row lock serialises Link pages of one company. SQLite: one connection, one writer.
      if (trx.getExecutor().adapter instanceof PostgresAdapter) await trx.selectFrom('companies').select('id').where('id', '=', companyId).forUpdate().execute();
      const rows = await trx.selectFrom('connections').select(['id', 'status']).where('company_id', '=', companyId).where('integration_key', '=', integrationKey).orderBy('created_at').execute();
      const pending = rows.find((r) => r.status === 'PendingAuth');
      if (pending) return pending.id;
      if (rows.length >= cap) return undefined;
      const id = newId();
      await this.insertIn(trx, pendingConnection(id, companyId, integrationKey, now));
      return id;
    });
  }

  getById(id: string): Promise<ConnectionRow | undefined> {
    return this.select().where('id', '=', id).executeTakeFirst();
  }

  statusHistory(id: string): Promise<ConnectionStatusChangeRow[]> {
    return this.db
      .selectFrom('connection_status_changes')
      .selectAll()
      .where('connection_id', '=', id)
      .orderBy('changed_at')
      .execute();
  }

  /**
   * Deletes the connection: its pulls in progress end Cancelled first, with their events; its datasets, records and
   * schedule slots cascade, and its staged pages (no foreign key) are removed here. connection.deleted, with its last
   * state, commits with it.
   */
  async delete(companyId: string, id: string, at: string): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const r = await trx.selectFrom('connections').select('id').where('company_id', '=', companyId).where('id', '=', id).executeTakeFirst();
      if (!r) return false;
      await endInProgress(trx, { connectionId: id }, 'Cancelled', 'The connection was deleted.', at);
      await clearStagingOf(trx, { connectionId: id });
      await emitConnectionEvent(trx, 'connection.deleted', id, at);
      await trx.deleteFrom('connections').where('id', '=', id).execute();
      return true;
    });
  }

  /** connection.failed (an authorization attempt failed; the status does not change), in a transaction of its own. */
  async authorizationFailed(id: string, at: string): Promise<void> {
    await this.db.transaction().execute((trx) => emitConnectionEvent(trx, 'connection.failed', id, at));
  }
}

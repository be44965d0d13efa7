import type { Kysely } from 'kysely';
import { newId } from '../lib/ids.js';
import type { ConnectionStatus } from '../domain/statuses.js';
import type { ConnectionsTable, ConnectionStatusChangesTable, Database } from './schema.js';
import { offsetOf, type Page, type PageRequest, type SortSpec } from './paging.js';

export type ConnectionRow = ConnectionsTable;
export type ConnectionStatusChangeRow = ConnectionStatusChangesTable;
export type ConnectionSortColumn = 'created_at' | 'id' | 'status' | 'integration_key';

export class ConnectionsRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /** Inserts the connection and its first status record together. */
  async insert(row: ConnectionRow): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx.insertInto('connections').values(row).execute();
      await trx
        .insertInto('connection_status_changes')
        .values({ id: newId(), connection_id: row.id, from_status: null, to_status: row.status, reason: 'created', changed_at: row.created_at })
        .execute();
    });
  }

  get(companyId: string, id: string): Promise<ConnectionRow | undefined> {
    return this.db.selectFrom('connections').selectAll().where('company_id', '=', companyId).where('id', '=', id).executeTakeFirst();
  }

  async list(companyId: string, page: PageRequest, sort: SortSpec<ConnectionSortColumn>): Promise<Page<ConnectionRow>> {
    let q = this.db.selectFrom('connections').selectAll().where('company_id', '=', companyId).orderBy(sort.column, sort.direction);
    if (sort.column !== 'id') q = q.orderBy('id', 'asc');
    const [rows, count] = await Promise.all([
      q.limit(page.pageSize).offset(offsetOf(page)).execute(),
      this.db
        .selectFrom('connections')
        .where('company_id', '=', companyId)
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow(),
    ]);
    return { rows, total: Number(count.n) };
  }

  /** Every connection of the given companies, ordered by creation (for embedding in Company). */
  async listForCompanies(companyIds: string[]): Promise<ConnectionRow[]> {
    if (companyIds.length === 0) return [];
    return this.db
      .selectFrom('connections')
      .selectAll()
      .where('company_id', 'in', companyIds)
      .orderBy('created_at')
      .orderBy('id')
      .execute();
  }

  /**
   * Compare-and-set status change, recorded with its timestamp. Returns false when the connection was no longer in
   * `from` (a concurrent change won), so callers never apply a transition twice.
   */
  async transition(
    id: string,
    from: ConnectionStatus,
    to: ConnectionStatus,
    at: string,
    reason: string,
    extra: Partial<Pick<ConnectionRow, 'credentials' | 'connection_info' | 'errors'>> = {},
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
      return true;
    });
  }

  statusHistory(id: string): Promise<ConnectionStatusChangeRow[]> {
    return this.db
      .selectFrom('connection_status_changes')
      .selectAll()
      .where('connection_id', '=', id)
      .orderBy('changed_at')
      .execute();
  }

  async delete(companyId: string, id: string): Promise<boolean> {
    const r = await this.db.deleteFrom('connections').where('company_id', '=', companyId).where('id', '=', id).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }
}

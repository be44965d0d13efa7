import type { Kysely } from 'kysely';
import type { CompaniesTable, Database } from './schema.js';
import { pageOf, type ListSql, type Page, type PageRequest } from './paging.js';
import { emitCompanyDeletion, emitCompanyEvent } from './webhook-outbox.js';
import { endInProgress } from './datasets.repository.js';
import { clearStagingOf } from './staging.js';
import { systemClock, type Clock } from '../lib/clock.js';
import { recentLookups } from './recent-lookups.js';

export type CompanyRow = CompaniesTable;

export class CompaniesRepository {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly clock: Clock = systemClock,
  ) {}

  /** Inserts the company and its company.created event together. */
  async insert(row: CompanyRow): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx.insertInto('companies').values(row).execute();
      await emitCompanyEvent(trx, 'company.created', row.id, row.created_at);
    });
  }

  get(id: string): Promise<CompanyRow | undefined> {
    return this.db.selectFrom('companies').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async exists(id: string): Promise<boolean> {
    const r = await this.db.selectFrom('companies').select('id').where('id', '=', id).executeTakeFirst();
    return r !== undefined;
  }

  /**
   * `exists` for reads: a company found is trusted for RECENT_LOOKUP_MS without asking again (recent-lookups.ts);
   * deleting it through this process forgets it at once. Writes keep using `exists` (a company deleted by another
   * process a moment ago must not get new rows).
   */
  async existsForRead(id: string): Promise<boolean> {
    const cache = recentLookups(this.db).companies;
    const now = this.clock.now().getTime();
    if (cache.get(id, now)) return true;
    const generation = cache.begin();
    const found = await this.exists(id);
    if (found) cache.remember(id, true, now, generation);
    return found;
  }

  async list(page: PageRequest, list: ListSql): Promise<Page<CompanyRow>> {
    return pageOf(
      this.db.selectFrom('companies').selectAll(),
      this.db.selectFrom('companies').select((eb) => eb.fn.countAll<number>().as('n')),
      page,
      list,
    );
  }

  async update(id: string, patch: Partial<Pick<CompanyRow, 'name' | 'description' | 'tags'>>): Promise<boolean> {
    const r = await this.db.updateTable('companies').set(patch).where('id', '=', id).executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  /**
   * Pulls in progress end Cancelled first, with their events; then connections, status history, datasets, records and
   * schedule slots go with the company through ON DELETE CASCADE, and its staged pages (which have no foreign key) are
   * removed here. The connection.deleted and company.deleted events, rendered from the rows as they were, commit with
   * the delete.
   */
  async delete(id: string, at: string): Promise<boolean> {
    try {
      return await this.deleteNow(id, at);
    } finally {
      // Committed or not, reads in this process ask the database again.
      recentLookups(this.db).companies.forget(id);
    }
  }

  private async deleteNow(id: string, at: string): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      if (!(await trx.selectFrom('companies').select('id').where('id', '=', id).executeTakeFirst())) return false;
      await endInProgress(trx, { companyId: id }, 'Cancelled', 'The company was deleted.', at);
      await clearStagingOf(trx, { companyId: id });
      await emitCompanyDeletion(trx, id, at);
      const r = await trx.deleteFrom('companies').where('id', '=', id).executeTakeFirst();
      return Number(r.numDeletedRows) > 0;
    });
  }
}

import { sql, type Kysely } from 'kysely';
import type { ApiKeysTable, Database } from './schema.js';

export type ApiKeyRow = ApiKeysTable;

export class ApiKeysRepository {
  constructor(private readonly db: Kysely<Database>) {}

  findByHash(keyHash: string): Promise<ApiKeyRow | undefined> {
    return this.db.selectFrom('api_keys').selectAll().where('key_hash', '=', keyHash).executeTakeFirst();
  }

  list(): Promise<ApiKeyRow[]> {
    return this.db.selectFrom('api_keys').selectAll().orderBy('created_at').orderBy('id').execute();
  }

  async count(): Promise<number> {
    const r = await this.db.selectFrom('api_keys').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return Number(r.n);
  }

  /**
   * Inserts unless `limit` keys already exist. The count and the insert share one transaction; on PostgreSQL the
   * table lock serialises concurrent creators so the limit holds under races.
   */
  async insertWithinLimit(row: ApiKeyRow, limit: number, isPostgres: boolean): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      if (isPostgres) await sql`lock table api_keys in share row exclusive mode`.execute(trx);
      const r = await trx.selectFrom('api_keys').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
      if (Number(r.n) >= limit) return false;
      await trx.insertInto('api_keys').values(row).execute();
      return true;
    });
  }

  async insert(row: ApiKeyRow): Promise<void> {
    await this.db.insertInto('api_keys').values(row).execute();
  }

  async delete(id: string): Promise<boolean> {
    const r = await this.db.deleteFrom('api_keys').where('id', '=', id).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }
}

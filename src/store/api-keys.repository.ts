import { sql, type Kysely } from 'kysely';
import type { ApiKeysTable, Database } from './schema.js';
import { systemClock, type Clock } from '../lib/clock.js';
import { recentLookups } from './recent-lookups.js';

/** The most API keys an instance holds (the API, `syncline keys create` and the bootstrap key all keep to it). */
export const MAX_API_KEYS = 10;

export type ApiKeyRow = ApiKeysTable;

export class ApiKeysRepository {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly clock: Clock = systemClock,
  ) {}

  /**
   * The id of the key with this hash, or undefined. Authenticates every request: a key found is trusted for
   * RECENT_LOOKUP_MS without asking the database again (recent-lookups.ts); deleting it here forgets it at once.
   */
  async idForHash(keyHash: string): Promise<string | undefined> {
    const cache = recentLookups(this.db).apiKeys;
    const now = this.clock.now().getTime();
    const hit = cache.get(keyHash, now);
    if (hit !== undefined) return hit;
    const generation = cache.begin();
    const row = await this.db.selectFrom('api_keys').select('id').where('key_hash', '=', keyHash).executeTakeFirst();
    if (row) cache.remember(keyHash, row.id, now, generation);
    return row?.id;
  }

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

  /**
   * A configured (bootstrap) key, stored at start: unless a stored key already has its hash, the key was revoked
   * before (a revoked key stays revoked, whatever the environment still says), or `limit` keys exist. One transaction;
   * on PostgreSQL the same table lock as `insertWithinLimit`, so concurrent starts and creates cannot pass the limit.
   */
  async insertConfigured(row: ApiKeyRow, limit: number, isPostgres: boolean): Promise<'inserted' | 'exists' | 'revoked' | 'full'> {
    return this.db.transaction().execute(async (trx) => {
      if (isPostgres) await sql`lock table api_keys in share row exclusive mode`.execute(trx);
      if (await trx.selectFrom('api_keys').select('id').where('key_hash', '=', row.key_hash).executeTakeFirst()) return 'exists';
      if (await trx.selectFrom('revoked_api_keys').select('key_hash').where('key_hash', '=', row.key_hash).executeTakeFirst()) return 'revoked';
      const r = await trx.selectFrom('api_keys').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
      if (Number(r.n) >= limit) return 'full';
      await trx.insertInto('api_keys').values(row).execute();
      return 'inserted';
    });
  }

  /** Deletes a key and remembers its hash, so a configured key that is deleted is not stored again at the next start. */
  async delete(id: string, revokedAt: string = new Date().toISOString()): Promise<boolean> {
    const hash = await this.db.transaction().execute(async (trx) => {
      const row = await trx.deleteFrom('api_keys').where('id', '=', id).returning('key_hash').executeTakeFirst();
      if (!row) return undefined;
      await trx
        .insertInto('revoked_api_keys')
        .values({ key_hash: row.key_hash, revoked_at: revokedAt })
        .onConflict((oc) => oc.column('key_hash').doNothing())
        .execute();
      return row.key_hash;
    });
    // Committed: the next request with this key is refused, in this process at once.
    if (hash !== undefined) recentLookups(this.db).apiKeys.forget(hash);
    return hash !== undefined;
  }

  isRevoked(keyHash: string): Promise<boolean> {
    return this.db
      .selectFrom('revoked_api_keys')
      .select('key_hash')
      .where('key_hash', '=', keyHash)
      .executeTakeFirst()
      .then((r) => r !== undefined);
  }
}

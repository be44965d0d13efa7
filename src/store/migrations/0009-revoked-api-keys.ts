import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../db.js';

/**
 * Hashes of deleted API keys. A key configured through SYNCLINE_API_KEY is stored again at every start unless a stored
 * key has its hash; without this list, deleting it (DELETE /apiKeys, `keys revoke`) lasted only until the next restart.
 */
export function m0009RevokedApiKeys(_dialect: Dialect): Migration {
  return {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('revoked_api_keys')
        .addColumn('key_hash', 'text', (c) => c.primaryKey())
        .addColumn('revoked_at', 'text', (c) => c.notNull())
        .execute();
    },
  };
}

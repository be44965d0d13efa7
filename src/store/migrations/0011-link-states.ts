import { sql, type Kysely, type Migration } from 'kysely';
import type { Dialect } from '../db.js';

/**
 * Link flow tokens (issue 12 item 4, issue 13 item 2): the OAuth `state` of a Link attempt and the token of a pending
 * tenant choice. Only a SHA-256 hash of the token is stored (it is the key), the payload (PKCE verifier, or the tokens
 * of a grant waiting for the user to choose an organisation) is SecretBox-sealed, and a row is consumed at most once
 * by a compare-and-set on `consumed_at`. Rows go with their connection.
 */
export function m0011LinkStates(_dialect: Dialect): Migration {
  return {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('link_states')
        .addColumn('token_hash', 'text', (c) => c.primaryKey())
        /** state | choice */
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('connection_id', 'text', (c) => c.notNull().references('connections.id').onDelete('cascade'))
        .addColumn('integration_key', 'text', (c) => c.notNull())
        .addColumn('payload', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .addColumn('consumed_at', 'text')
        .execute();
      await sql`create index link_states_expiry on link_states (expires_at)`.execute(db);
      await sql`create index link_states_connection on link_states (connection_id)`.execute(db);
    },
  };
}

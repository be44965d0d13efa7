import type { Kysely, Migration } from 'kysely';
import type { Dialect } from '../db.js';

/**
 * The delivery log keeps the first bytes of what each receiver answered (RESPONSE_BODY_KEEP_BYTES, 1 KiB): why an
 * endpoint refused a message is usually in its body. Null for attempts without a response and for attempts logged
 * before this migration. The rows are deleted with their event by the webhook retention daemon, as before.
 */
export function m0023WebhookResponseBodies(_dialect: Dialect): Migration {
  return {
    async up(db: Kysely<any>) {
      await db.schema.alterTable('webhook_attempts').addColumn('response_body', 'text').execute();
      await db.schema
        .alterTable('webhook_attempts')
        .addColumn('response_body_truncated', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
    },
  };
}

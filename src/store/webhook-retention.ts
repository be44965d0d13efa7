/**
 * Webhook retention (issue 12 item 8). Every event leaves an outbox row, a delivery per consumer and an attempt per
 * try; without pruning they grow forever. An event goes — with its deliveries and their attempts, through ON DELETE
 * CASCADE (indexed by migration 0010) — once it is older than the retention and nothing about it is still open:
 * no delivery pending (a delivery being retried, or replayed, keeps its event whatever its age) and none that failed
 * within the retention (the delivery log and `recover` of a recent failure keep working).
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from './schema.js';

/** Deletes at most `batch` prunable events generated before `cutoff`, oldest first; returns how many went. */
export async function pruneWebhookEvents(db: Kysely<Database>, cutoff: string, batch = 500): Promise<number> {
  const ids = await db
    .selectFrom('webhook_events as e')
    .select('e.id')
    .where('e.generated_at', '<', cutoff)
    .where(({ not, exists, selectFrom }) =>
      not(
        exists(
          selectFrom('webhook_deliveries as d')
            .select(sql.lit(1).as('one'))
            .whereRef('d.event_id', '=', 'e.id')
            .where((eb) => eb.or([eb('d.status', '=', 'pending'), eb.and([eb('d.status', '=', 'failed'), eb('d.failed_at', '>=', cutoff)])])),
        ),
      ),
    )
    .orderBy('e.generated_at')
    .limit(batch)
    .execute();
  if (ids.length === 0) return 0;
  // Re-checked in the DELETE: a replay between the two statements makes a delivery pending again, and its event stays.
  const r = await db
    .deleteFrom('webhook_events')
    .where(
      'id',
      'in',
      ids.map((i) => i.id),
    )
    .where(({ not, exists, selectFrom }) =>
      not(exists(selectFrom('webhook_deliveries as d').select(sql.lit(1).as('one')).whereRef('d.event_id', '=', 'webhook_events.id').where('d.status', '=', 'pending'))),
    )
    .executeTakeFirst();
  return Number(r.numDeletedRows);
}

import { sql, type Transaction } from 'kysely';
import type { Database } from './schema.js';
import type { Dialect } from './db.js';

export interface DueDelivery {
  id: string;
  consumer_id: string;
}

/**
 * Due, unleased deliveries of enabled consumers, at most `perConsumer` per consumer (hot path: every sender tick),
 * oldest event first so a healthy consumer receives events in the order they were generated (not guaranteed: retries
 * and concurrent requests reorder them, webhooks.md §4.2).
 *
 * Taking the oldest N overall would let one dead endpoint with a deep backlog fill every batch and starve the
 * others; a per-consumer limit keeps each consumer's share independent (webhooks.md §7: one slow endpoint never delays
 * the rest). A leased row whose lease expired (its sender died) is due again.
 *
 * PostgreSQL: a LATERAL subquery per consumer with FOR UPDATE SKIP LOCKED, so senders in other processes take other
 * rows without waiting; the locks last until the caller's transaction ends, after it has leased the rows it keeps.
 * SQLite: one process, one connection; a window function gives the same per-consumer limit.
 */
export async function dueDeliveries(trx: Transaction<Database>, dialect: Dialect, now: string, perConsumer: number): Promise<DueDelivery[]> {
  if (dialect === 'postgres') {
    const r = await sql<DueDelivery>`
      select d.id, d.consumer_id
      from webhook_consumers c
      cross join lateral (
        select w.id, w.consumer_id
        from webhook_deliveries w
        join webhook_events e on e.id = w.event_id
        where w.consumer_id = c.id
          and w.status = 'pending'
          and w.next_attempt_at <= ${now}
          and (w.lease_expires is null or w.lease_expires < ${now})
        order by w.next_attempt_at, e.seq
        limit ${perConsumer}
        for update of w skip locked
      ) d
      where c.disabled = 0`.execute(trx);
    return r.rows;
  }
  const r = await sql<DueDelivery>`
    select id, consumer_id from (
      select d.id, d.consumer_id, row_number() over (partition by d.consumer_id order by d.next_attempt_at, e.seq) as rn
      from webhook_deliveries d
      join webhook_consumers c on c.id = d.consumer_id
      join webhook_events e on e.id = d.event_id
      where c.disabled = 0
        and d.status = 'pending'
        and d.next_attempt_at <= ${now}
        and (d.lease_expires is null or d.lease_expires < ${now})
    ) where rn <= ${perConsumer}`.execute(trx);
  return r.rows;
}

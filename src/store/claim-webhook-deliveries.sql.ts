import { sql, type Transaction } from 'kysely';
import type { Database } from './schema.js';
import type { Dialect } from './db.js';

export interface DueDelivery {
  id: string;
  consumer_id: string;
}

/**
 * Due, unleased deliveries of enabled consumers, at most `perConsumer` per consumer (hot path: runs each time a
 * request finishes), oldest event first so a healthy consumer receives events in the order they were generated (not
 * guaranteed: retries and concurrent requests reorder them, webhooks.md §4.2).
 *
 * Taking the oldest N overall would let one dead endpoint with a deep backlog fill every batch and starve the others;
 * a per-consumer limit keeps each consumer's share independent (one slow endpoint never delays the rest). Each
 * consumer's rows come from the partial index `webhook_deliveries_due`, whose order is the claim order, so a claim
 * reads about `perConsumer` rows per consumer however deep the backlog is. A leased row whose lease expired (its
 * sender died) is due again.
 *
 * PostgreSQL: a LATERAL subquery per consumer with FOR UPDATE SKIP LOCKED, so senders in other processes take other
 * rows without waiting; the locks last until the caller's transaction ends, after it has leased the rows it keeps.
 * Index order: (consumer_id, next_attempt_at, seq).
 * SQLite: one process, one connection, in-process calls: one small query per enabled consumer (at most 50) does what
 * LATERAL does. Index order: (consumer_id, next_attempt_at, rowid) — every SQLite index ends with the rowid, which
 * follows insertion.
 */
export async function dueDeliveries(
  trx: Transaction<Database>,
  dialect: Dialect,
  now: string,
  perConsumer: number,
  /** Free slots per consumer in the caller (SQLite asks only for those; PostgreSQL takes up to perConsumer each). */
  capacity: (consumerId: string) => number = () => perConsumer,
): Promise<DueDelivery[]> {
  if (dialect === 'postgres') return (await dueDeliveriesPostgres(now, perConsumer).execute(trx)).rows;
  const consumers = await trx.selectFrom('webhook_consumers').select('id').where('disabled', '=', 0).orderBy('created_at').execute();
  const due: DueDelivery[] = [];
  for (const c of consumers) {
    const free = Math.min(perConsumer, capacity(c.id));
    if (free > 0) due.push(...(await dueDeliveriesSqlite(c.id, now, free).execute(trx)).rows);
  }
  return due;
}

/** PostgreSQL: the due rows of every enabled consumer, locked, skipping rows another sender holds. */
export const dueDeliveriesPostgres = (now: string, perConsumer: number) => sql<DueDelivery>`
  select d.id, d.consumer_id
  from webhook_consumers c
  cross join lateral (
    select w.id, w.consumer_id
    from webhook_deliveries w
    where w.consumer_id = c.id
      and w.status = 'pending'
      and w.next_attempt_at <= ${now}
      and (w.lease_expires is null or w.lease_expires < ${now})
    order by w.next_attempt_at, w.seq
    limit ${perConsumer}
    for update of w skip locked
  ) d
  where c.disabled = 0`;

/** SQLite: the due rows of one consumer. */
export const dueDeliveriesSqlite = (consumerId: string, now: string, perConsumer: number) => sql<DueDelivery>`
  select id, consumer_id
  from webhook_deliveries
  where consumer_id = ${consumerId}
    and status = 'pending'
    and next_attempt_at <= ${now}
    and (lease_expires is null or lease_expires < ${now})
  order by next_attempt_at, rowid
  limit ${perConsumer}`;

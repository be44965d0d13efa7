import { sql, type Kysely, type Selectable } from 'kysely';
import type { Database, WebhookAttemptsTable, WebhookConsumersTable } from './schema.js';
import type { Dialect } from './db.js';
import { offsetOf, type Page, type PageRequest } from './paging.js';
import { dueDeliveries } from './claim-webhook-deliveries.sql.js';

export type WebhookConsumerRow = WebhookConsumersTable;
export type WebhookAttemptRow = Selectable<WebhookAttemptsTable>;

/** A leased delivery with what sending it needs: the consumer's address and secrets, the event's facts. */
export interface ClaimedDelivery {
  id: string;
  attempts: number;
  consumer_id: string;
  url: string;
  secret: string;
  previous_secret: string | null;
  previous_secret_until: string | null;
  event_id: string;
  msg_id: string;
  event_type: string;
  company_id: string | null;
  connection_id: string | null;
  data: string;
  generated_at: string;
}

export interface AttemptOutcome {
  deliveryId: string;
  consumerId: string;
  eventId: string;
  eventType: string;
  attempt: number;
  sentAt: string;
  finishedAt: string;
  statusCode: number | null;
  durationMs: number;
  success: boolean;
  error: string | null;
  /** The response body's first bytes (null when no response arrived) and whether it was longer. */
  responseBody: string | null;
  responseBodyTruncated: boolean;
  /** When the next attempt is due; undefined after a success or the last attempt. */
  nextAttemptAt: string | undefined;
}

/** Consumers, their deliveries and the attempt log (webhooks.md §1, §7). */
export class WebhooksRepository {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: Dialect,
  ) {}

  // ---- consumers -------------------------------------------------------------------------------------------

  listConsumers(): Promise<WebhookConsumerRow[]> {
    return this.db.selectFrom('webhook_consumers').selectAll().orderBy('created_at').orderBy('id').execute();
  }

  getConsumer(id: string): Promise<WebhookConsumerRow | undefined> {
    return this.db.selectFrom('webhook_consumers').selectAll().where('id', '=', id).executeTakeFirst();
  }

  /**
   * Inserts unless `limit` consumers exist. Count and insert share one transaction; on PostgreSQL the table lock
   * serialises concurrent creators so the limit holds under races.
   */
  async insertConsumerWithinLimit(row: WebhookConsumerRow, limit: number): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      if (this.dialect === 'postgres') await sql`lock table webhook_consumers in share row exclusive mode`.execute(trx);
      const r = await trx.selectFrom('webhook_consumers').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
      if (Number(r.n) >= limit) return false;
      await trx.insertInto('webhook_consumers').values(row).execute();
      return true;
    });
  }

  /** Its pending deliveries and attempt log go with it (ON DELETE CASCADE): pending attempts are cancelled. */
  async deleteConsumer(id: string): Promise<boolean> {
    const r = await this.db.deleteFrom('webhook_consumers').where('id', '=', id).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  /** The current secret becomes the previous one, still signing until `overlapUntil`. */
  async rotateSecret(id: string, sealedSecret: string, overlapUntil: string): Promise<boolean> {
    const r = await this.db
      .updateTable('webhook_consumers')
      .set((eb) => ({ previous_secret: eb.ref('secret'), previous_secret_until: overlapUntil, secret: sealedSecret }))
      .where('id', '=', id)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  // ---- delivery log and replay -------------------------------------------------------------------------------

  async eventExists(id: string): Promise<boolean> {
    return (await this.db.selectFrom('webhook_events').select('id').where('id', '=', id).executeTakeFirst()) !== undefined;
  }

  async hasDelivery(consumerId: string, eventId: string): Promise<boolean> {
    const r = await this.db.selectFrom('webhook_deliveries').select('id').where('consumer_id', '=', consumerId).where('event_id', '=', eventId).executeTakeFirst();
    return r !== undefined;
  }

  /** Attempts, newest first, to one consumer and/or of one event. */
  async listAttempts(filter: { consumerId?: string; eventId?: string }, page: PageRequest): Promise<Page<WebhookAttemptRow>> {
    let q = this.db.selectFrom('webhook_attempts');
    if (filter.consumerId) q = q.where('consumer_id', '=', filter.consumerId);
    if (filter.eventId) q = q.where('event_id', '=', filter.eventId);
    const [rows, count] = await Promise.all([
      q.selectAll().orderBy('seq', 'desc').limit(page.pageSize).offset(offsetOf(page)).execute(),
      q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
    ]);
    return { rows: rows as WebhookAttemptRow[], total: Number(count.n) };
  }

  /** A fresh retry schedule for deliveries matching `where`, due at once, same event (same webhook-id). */
  private restart(at: string) {
    return this.db
      .updateTable('webhook_deliveries')
      .set({ status: 'pending', attempts: 0, next_attempt_at: at, lease_owner: null, lease_expires: null, delivered_at: null, failed_at: null });
  }

  /** Replays one event to one consumer. False when that consumer never had that event. */
  async replay(consumerId: string, eventId: string, at: string): Promise<boolean> {
    const r = await this.restart(at).where('consumer_id', '=', consumerId).where('event_id', '=', eventId).executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  /** Replays every delivery to the consumer that failed (all attempts used) at or after `since`. */
  async recover(consumerId: string, since: string, at: string): Promise<number> {
    const r = await this.restart(at).where('consumer_id', '=', consumerId).where('status', '=', 'failed').where('failed_at', '>=', since).executeTakeFirst();
    return Number(r.numUpdatedRows);
  }

  // ---- sender ----------------------------------------------------------------------------------------------

  /**
   * Leases due deliveries: at most `capacity(consumerId)` per consumer and `max` in all, until `leaseExpires`.
   * A sender that dies loses its leases when they expire, and another sender retries those deliveries.
   */
  async claim(args: { owner: string; now: string; leaseExpires: string; perConsumer: number; max: number; capacity: (consumerId: string) => number }): Promise<ClaimedDelivery[]> {
    if (args.max <= 0) return [];
    return this.db.transaction().execute(async (trx) => {
      const due = await dueDeliveries(trx, this.dialect, args.now, args.perConsumer, args.capacity);
      const taken = new Map<string, number>();
      const ids: string[] = [];
      for (const d of due) {
        if (ids.length >= args.max) break;
        const n = taken.get(d.consumer_id) ?? 0;
        if (n >= args.capacity(d.consumer_id)) continue;
        taken.set(d.consumer_id, n + 1);
        ids.push(d.id);
      }
      if (ids.length === 0) return [];
      await trx.updateTable('webhook_deliveries').set({ lease_owner: args.owner, lease_expires: args.leaseExpires }).where('id', 'in', ids).execute();
      return trx
        .selectFrom('webhook_deliveries as d')
        .innerJoin('webhook_consumers as c', 'c.id', 'd.consumer_id')
        .innerJoin('webhook_events as e', 'e.id', 'd.event_id')
        .select(['d.id', 'd.attempts', 'd.consumer_id', 'c.url', 'c.secret', 'c.previous_secret', 'c.previous_secret_until'])
        .select(['d.event_id', 'e.msg_id', 'e.event_type', 'e.company_id', 'e.connection_id', 'e.data', 'e.generated_at'])
        .where('d.id', 'in', ids)
        .execute();
    });
  }

  /** A stopping sender gives back what it had not finished, without counting an attempt. */
  async release(owner: string, ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.db.updateTable('webhook_deliveries').set({ lease_owner: null, lease_expires: null }).where('lease_owner', '=', owner).where('id', 'in', ids).execute();
  }

  /**
   * Records an attempt and moves its delivery on, in one transaction: delivered, due again, or failed for good.
   * The consumer's failure streak starts at its first failure after a success; once it spans `disableAfterMs` the
   * consumer is disabled. Returns true when this attempt disabled it.
   */
  async recordAttempt(owner: string, a: AttemptOutcome, attemptId: string, disableAfterMs: number): Promise<{ disabled: boolean }> {
    return this.db.transaction().execute(async (trx) => {
      const fields = a.success
        ? { status: 'succeeded', delivered_at: a.finishedAt }
        : a.nextAttemptAt
          ? { status: 'pending', next_attempt_at: a.nextAttemptAt }
          : { status: 'failed', failed_at: a.finishedAt };
      // Only while we still hold it: a replay or a sender that took over after our lease expired wins. The row lock
      // this takes also holds off a concurrent delete of the consumer until the attempt is written.
      const moved = await trx
        .updateTable('webhook_deliveries')
        .set({ ...fields, attempts: a.attempt, lease_owner: null, lease_expires: null })
        .where('id', '=', a.deliveryId)
        .where('lease_owner', '=', owner)
        .executeTakeFirst();
      if (Number(moved.numUpdatedRows) === 0) {
        // The consumer may have been deleted while the request was in flight: its deliveries went with it, and so
        // does this attempt.
        let held = trx.selectFrom('webhook_deliveries').select('id').where('id', '=', a.deliveryId);
        if (this.dialect === 'postgres') held = held.forUpdate();
        if (!(await held.executeTakeFirst())) return { disabled: false };
      }
      await trx
        .insertInto('webhook_attempts')
        .values({
          id: attemptId,
          delivery_id: a.deliveryId,
          consumer_id: a.consumerId,
          event_id: a.eventId,
          event_type: a.eventType,
          attempt: a.attempt,
          sent_at: a.sentAt,
          status_code: a.statusCode,
          duration_ms: a.durationMs,
          success: a.success ? 1 : 0,
          error: a.error,
          response_body: a.responseBody,
          response_body_truncated: a.responseBodyTruncated ? 1 : 0,
        })
        .execute();
      if (a.success) {
        // Only when a failure streak is open: concurrent successes do not queue on the consumer's row lock.
        await trx.updateTable('webhook_consumers').set({ failing_since: null }).where('id', '=', a.consumerId).where('failing_since', 'is not', null).execute();
        return { disabled: false };
      }
      const cutoff = new Date(Date.parse(a.finishedAt) - disableAfterMs).toISOString();
      const r = await trx
        .updateTable('webhook_consumers')
        .set((eb) => ({
          failing_since: eb.fn.coalesce('failing_since', sql<string>`${a.sentAt}`),
          disabled: sql<number>`case when ${eb.ref('disabled')} = 0 and coalesce(${eb.ref('failing_since')}, ${a.sentAt}) <= ${cutoff} then 1 else ${eb.ref('disabled')} end`,
          disabled_at: sql<string | null>`case when ${eb.ref('disabled')} = 0 and coalesce(${eb.ref('failing_since')}, ${a.sentAt}) <= ${cutoff} then ${a.finishedAt} else ${eb.ref('disabled_at')} end`,
        }))
        .where('id', '=', a.consumerId)
        .returning(['disabled', 'disabled_at'])
        .executeTakeFirst();
      return { disabled: r !== undefined && r.disabled === 1 && r.disabled_at === a.finishedAt };
    });
  }
}

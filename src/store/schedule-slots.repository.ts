import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from './schema.js';
import type { Dialect } from './db.js';
import { IN_PROGRESS_STATUSES } from '../domain/statuses.js';

type Db = Kysely<Database> | Transaction<Database>;

export interface SlotRow {
  connection_id: string;
  data_type: string;
  company_id: string;
  next_due_ms: number | null;
}

/** Schedule slots: indexed lower bounds of when each (connection, data type) is next due (see migration 0004). */
export class ScheduleSlotsRepository {
  constructor(
    private readonly db: Kysely<Database>,
    private readonly dialect: Dialect,
  ) {}

  /** On (re)link: every data type the integration reads gets a slot, to be checked at the next tick. */
  async initForConnection(db: Db, conn: { id: string; company_id: string }, dataTypes: readonly string[], nowMs: number): Promise<void> {
    if (dataTypes.length === 0) return;
    await db
      .insertInto('schedule_slots')
      .values(dataTypes.map((t) => ({ connection_id: conn.id, company_id: conn.company_id, data_type: t, next_due_ms: nowMs })))
      .onConflict((oc) => oc.columns(['connection_id', 'data_type']).doUpdateSet({ next_due_ms: nowMs }))
      .execute();
  }

  /**
   * Settings changed: every slot (of one company, or all) is rechecked at the next tick, so the change applies at once.
   * A company's slots are found through its connections (connections_company_idx, then the primary key): slots have no
   * index on company_id, which every tick's bound moves would have to maintain (migration 0026).
   */
  async recheck(nowMs: number, companyId?: string): Promise<void> {
    let q = this.db.updateTable('schedule_slots').set({ next_due_ms: nowMs });
    if (companyId) {
      q = q
        .where('connection_id', 'in', (eb) => eb.selectFrom('connections').select('connections.id').where('connections.company_id', '=', companyId))
        .where('company_id', '=', companyId);
    }
    await q.execute();
  }

  /**
   * Claims up to `limit` slots whose bound has passed (hot path, through the partial index on next_due_ms).
   * PostgreSQL: FOR UPDATE SKIP LOCKED, so concurrent schedulers take disjoint slots and never queue one slot twice.
   */
  async claimDue(trx: Transaction<Database>, nowMs: number, limit: number): Promise<SlotRow[]> {
    let q = trx
      .selectFrom('schedule_slots')
      .selectAll()
      .where('next_due_ms', 'is not', null)
      .where('next_due_ms', '<=', nowMs)
      .orderBy('next_due_ms')
      .limit(limit);
    if (this.dialect === 'postgres') q = q.forUpdate().skipLocked();
    return q.execute();
  }

  /**
   * Moves the bounds of a claimed batch in one statement (hot path: one UPDATE per slot was half the statements of a
   * tick that queued 10,000 pulls). Same SQL on both databases: a VALUES list joined through UPDATE … FROM.
   */
  async setNext(trx: Transaction<Database>, updates: { connection_id: string; data_type: string; next_due_ms: number | null }[]): Promise<void> {
    if (updates.length === 0) return;
    if (this.dialect === 'postgres') {
      // One jsonb parameter instead of three bind parameters per slot (parsing and planning them cost more than the update).
      await sql`update schedule_slots set next_due_ms = v.next_due_ms
                from jsonb_to_recordset(${JSON.stringify(updates)}::jsonb) as v(connection_id text, data_type text, next_due_ms bigint)
                where schedule_slots.connection_id = v.connection_id and schedule_slots.data_type = v.data_type`.execute(trx);
      return;
    }
    for (let i = 0; i < updates.length; i += 1000) {
      const values = sql.join(updates.slice(i, i + 1000).map((u) => sql`(${u.connection_id}, ${u.data_type}, cast(${u.next_due_ms} as bigint))`));
      await sql`with v(connection_id, data_type, next_due_ms) as (values ${values})
                update schedule_slots set next_due_ms = v.next_due_ms
                from v
                where schedule_slots.connection_id = v.connection_id and schedule_slots.data_type = v.data_type`.execute(trx);
    }
  }

  /** For the claimed pairs: the newest terminal `completed` and whether a dataset is in progress. */
  async pairState(trx: Transaction<Database>, connectionIds: string[]): Promise<Map<string, { lastEnd: string | null; busy: boolean }>> {
    const out = new Map<string, { lastEnd: string | null; busy: boolean }>();
    if (connectionIds.length === 0) return out;
    const inProgress = sql.join(IN_PROGRESS_STATUSES.map((s) => sql.lit(s)));
    const rows = await sql<{ connection_id: string; data_type: string; last_end: string | null; busy: number }>`
      select connection_id, data_type,
             max(case when status not in (${inProgress}) then completed end) as last_end,
             max(case when status in (${inProgress}) then 1 else 0 end) as busy
      from datasets
      where connection_id in (${sql.join(connectionIds)})
      group by connection_id, data_type`.execute(trx);
    for (const r of rows.rows) out.set(`${r.connection_id}|${r.data_type}`, { lastEnd: r.last_end, busy: Number(r.busy) === 1 });
    return out;
  }
}

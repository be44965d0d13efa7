import { sql } from 'kysely';
import { createHash } from 'node:crypto';
import { Daemon } from '../lib/daemon.js';
import type { Clock } from '../lib/clock.js';
import type { Logger } from '../lib/logger.js';
import { DATA_TYPES, type DataType } from '../domain/data-types.js';
import { effectiveSettings, profileSettings, type SyncSetting } from '../domain/sync-settings.js';
import type { Store } from '../store/db.js';
import { DATASETS_CHANNEL, queueReadsIn } from '../store/enqueue.js';
import { datasetsEnded } from '../store/webhook-outbox.js';
import { ScheduleSlotsRepository } from '../store/schedule-slots.repository.js';
import { SyncSettingsRepository } from '../store/sync-settings.repository.js';
import type { ConnectionRow } from '../store/connections.repository.js';

const HOUR = 3_600_000;

export interface SchedulerDeps {
  store: Store;
  clock: Clock;
  log: Logger;
  /** Can this integration read the type, and is it enabled here? (From the integration registry.) */
  supports: (integrationKey: string, dataType: DataType) => boolean;
  integrationEnabled: (integrationKey: string) => boolean;
  onQueued?: () => void;
}

export interface SchedulerOptions {
  intervalMs: number;
  /** Slots examined per transaction. */
  batchSize: number;
  /** Datasets queued per tick at most; the rest wait for the next tick (spreads a backlog after downtime). */
  maxQueuedPerTick: number;
}

/** 2,000 slots a batch: on PostgreSQL a batch is one function call, and larger batches spread its fixed cost (issue 17). */
export const DEFAULT_SCHEDULER_OPTIONS: SchedulerOptions = { intervalMs: 60_000, batchSize: 2_000, maxQueuedPerTick: 10_000 };

/**
 * Deterministic per-pair jitter, up to 1 % of the schedule (at most 10 minutes), taken off the due time so pairs linked
 * at the same moment do not all fire in the same second, while a pair is never later than its schedule. SHA-256, which
 * PostgreSQL computes too (migration 0025's batch; it was SHA-1, which PostgreSQL lacks without pgcrypto — the change
 * moved each pair's due time once, within its jitter span).
 */
export function jitterMs(connectionId: string, dataType: string, hours: number): number {
  const span = Math.min(hours * HOUR * 0.01, 10 * 60_000);
  if (span < 1) return 0;
  const h = createHash('sha256').update(`${connectionId}|${dataType}`).digest().readUInt32BE(0);
  return h % Math.floor(span);
}

export interface TickResult {
  examined: number;
  queued: number;
}

/**
 * One scheduler pass (sync-behaviour.md §5.2): every linked connection × data type with an effective syncSchedule > 0
 * is due `syncSchedule` hours after its last dataset ended (or after the link), whatever the outcome. Due types of one
 * connection form one read, queued in syncOrder. Missed slots run once. Busy pairs are skipped. Nothing is queued for
 * a connection before its rate-limit reset. Slots and the datasets they queue change in one transaction per batch.
 *
 * PostgreSQL runs each batch as one server-side function (schedulerTickInDatabase); SQLite, in process, runs the same
 * rules here (schedulerTickInProcess) — src/scheduler/schedule-due.test.ts holds the two to the same outcomes.
 */
export async function schedulerTick(deps: SchedulerDeps, opts: SchedulerOptions = DEFAULT_SCHEDULER_OPTIONS): Promise<TickResult> {
  return deps.store.dialect === 'postgres' ? schedulerTickInDatabase(deps, opts) : schedulerTickInProcess(deps, opts);
}

interface ScheduleDueResult {
  examined: number;
  queued: number;
  ended: { id: string; company_id: string; connection_id: string; data_type: string; status: string; read_id: string; completed: string | null; records_added: number; records_updated: number; records_deleted: number }[];
  unknownIntegrations?: string[];
}

/**
 * The tick on PostgreSQL (issue 17): each batch is ONE call of syncline_schedule_due (migrations 0025, 0026, 0035),
 * which claims the due slots, decides each (the rules of schedulerTickInProcess; each pair's last end read from its
 * slot, where triggers keep it, instead of from the pair's history), inserts the reads and their datasets set-based,
 * moves the bounds and NOTIFYs workers, in the batch's transaction. Only what needs this process stays here: the profile
 * settings, which data types each integration reads and which integrations are enabled (described for the keys the
 * function reports, so no list of integrations is needed), and the webhook events of outcomes decided at queue time.
 */
export async function schedulerTickInDatabase(deps: SchedulerDeps, opts: SchedulerOptions = DEFAULT_SCHEDULER_OPTIONS): Promise<TickResult> {
  const { store } = deps;
  const profile = profileSettings(await new SyncSettingsRepository(store.db).storedProfile());
  const now = deps.clock.now();
  const nowIso = now.toISOString();
  const keys: string[] = [];
  const supported: string[] = [];
  const enabled: string[] = [];
  const describe = (unknown: string[]) => {
    for (const key of unknown) {
      if (keys.includes(key)) continue;
      keys.push(key);
      if (deps.integrationEnabled(key)) enabled.push(key);
      for (const t of DATA_TYPES) if (deps.supports(key, t)) supported.push(`${key}|${t}`);
    }
  };
  const result: TickResult = { examined: 0, queued: 0 };
  while (result.queued < opts.maxQueuedPerTick) {
    const examined = await store.db.transaction().execute(async (trx) => {
      const call = async () =>
        (
          await sql<{ r: ScheduleDueResult }>`select syncline_schedule_due(${now.getTime()}, ${nowIso}, ${opts.batchSize}, ${JSON.stringify(profile)},
            ${DATA_TYPES}, ${keys}, ${supported}, ${enabled}) as r`.execute(trx)
        ).rows[0]!.r;
      let r = await call();
      if (r.unknownIntegrations) {
        describe(r.unknownIntegrations);
        r = await call();
        if (r.unknownIntegrations) throw new Error(`scheduler: integration keys still unknown: ${r.unknownIntegrations.join(', ')}`);
      }
      // Outcomes decided at queue time (integration not enabled) end now, their events in this transaction.
      if (r.ended.length) await datasetsEnded(trx, r.ended, nowIso);
      result.examined += r.examined;
      result.queued += r.queued;
      return r.examined;
    });
    if (examined === 0) break;
  }
  if (result.queued > 0) deps.onQueued?.();
  return result;
}

/** The tick in process, a constant number of statements per batch (SQLite; the reference the function is held to). */
export async function schedulerTickInProcess(deps: SchedulerDeps, opts: SchedulerOptions = DEFAULT_SCHEDULER_OPTIONS): Promise<TickResult> {
  const { store } = deps;
  const slots = new ScheduleSlotsRepository(store.db, store.dialect);
  const settingsRepo = new SyncSettingsRepository(store.db);
  const profile = profileSettings(await settingsRepo.storedProfile());
  const now = deps.clock.now();
  const nowMs = now.getTime();
  const result: TickResult = { examined: 0, queued: 0 };

  while (result.queued < opts.maxQueuedPerTick) {
    const batch = await store.db.transaction().execute(async (trx) => {
      const due = await slots.claimDue(trx, nowMs, opts.batchSize);
      if (due.length === 0) return 0;
      const connIds = [...new Set(due.map((s) => s.connection_id))];
      const companyIds = [...new Set(due.map((s) => s.company_id))];
      const [conns, state, overrides] = await Promise.all([
        trx.selectFrom('connections').selectAll().where('id', 'in', connIds).execute(),
        slots.pairState(trx, connIds),
        trx.selectFrom('company_sync_settings').selectAll().where('company_id', 'in', companyIds).execute(),
      ]);
      const connById = new Map(conns.map((c) => [c.id, c as ConnectionRow]));
      const effective = new Map(
        companyIds.map((id) => {
          const o = overrides.find((r) => r.company_id === id);
          return [id, effectiveSettings(profile, o ? { overridesDefaults: o.overrides_defaults === 1, settings: JSON.parse(o.settings) } : undefined)];
        }),
      );
      const updates: { connection_id: string; data_type: string; next_due_ms: number | null }[] = [];
      const toQueue = new Map<string, SyncSetting[]>();
      for (const slot of due) {
        const conn = connById.get(slot.connection_id);
        const dataType = slot.data_type as DataType;
        const setting = effective.get(slot.company_id)?.get(dataType);
        const hours = setting?.syncSchedule ?? 0;
        const set = (next: number | null) => updates.push({ connection_id: slot.connection_id, data_type: slot.data_type, next_due_ms: next });
        if (!conn || conn.status !== 'Linked' || !setting || hours <= 0 || !deps.supports(conn.integration_key, dataType)) {
          set(null); // re-linking or a settings change revives it
          continue;
        }
        const limitedUntil = conn.rate_limited_until ? Date.parse(conn.rate_limited_until) : 0;
        if (limitedUntil > nowMs) {
          set(limitedUntil);
          continue;
        }
        const st = state.get(`${slot.connection_id}|${slot.data_type}`);
        if (st?.busy) {
          // Skipped; the real due time is that dataset's completion + schedule, after now + schedule at the earliest.
          set(nowMs + Math.min(hours * HOUR, HOUR));
          continue;
        }
        const linkedAt = conn.linked_at ? Date.parse(conn.linked_at) : 0;
        const lastEnd = Math.max(st?.lastEnd ? Date.parse(st.lastEnd) : 0, linkedAt);
        const dueAt = lastEnd + hours * HOUR - jitterMs(slot.connection_id, slot.data_type, hours);
        if (dueAt > nowMs) {
          set(dueAt);
          continue;
        }
        if (!toQueue.has(conn.id)) toQueue.set(conn.id, []);
        toQueue.get(conn.id)!.push(setting);
        // The pull just queued ends after now, so its next slot is not before now + schedule.
        set(nowMs + hours * HOUR - jitterMs(slot.connection_id, slot.data_type, hours));
      }
      await slots.setNext(trx, updates);
      // Every read of the batch in a constant number of statements (issue 17), not a few round trips per read.
      const reads = await queueReadsIn(
        trx,
        store.dialect,
        [...toQueue].map(([connId, settings]) => {
          const conn = connById.get(connId)!;
          return {
            companyId: conn.company_id,
            connection: conn,
            settings,
            trigger: 'schedule' as const,
            now: now.toISOString(),
            supports: (t: DataType) => deps.supports(conn.integration_key, t),
            integrationEnabled: deps.integrationEnabled(conn.integration_key),
            notify: false,
          };
        }),
      );
      const queued = reads.reduce((a, r) => a + r.created.length, 0);
      // One NOTIFY for the batch (delivered at commit), not one per read.
      if (store.dialect === 'postgres' && queued > 0) await sql`select pg_notify(${DATASETS_CHANNEL}, '')`.execute(trx);
      result.examined += due.length;
      result.queued += queued;
      return due.length;
    });
    if (batch === 0) break;
  }
  if (result.queued > 0) deps.onQueued?.();
  return result;
}

export function createScheduler(deps: SchedulerDeps, opts: SchedulerOptions = DEFAULT_SCHEDULER_OPTIONS): Daemon {
  return new Daemon({
    name: 'scheduler',
    intervalMs: opts.intervalMs,
    log: deps.log,
    tick: async () => {
      const r = await schedulerTick(deps, opts);
      if (r.queued) deps.log.info(r, 'scheduled pulls queued');
    },
  });
}

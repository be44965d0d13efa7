import { sql } from 'kysely';
import { Daemon } from '../lib/daemon.js';
import type { Clock } from '../lib/clock.js';
import type { Logger } from '../lib/logger.js';
import type { Store } from '../store/db.js';
import type { ConnectionRow } from '../store/connections.repository.js';

const DAY = 86_400_000;

export interface KeepAliveDeps {
  store: Store;
  clock: Clock;
  log: Logger;
  /** Refreshes the connection's token once (or queues its cheapest pull); wired from the connectors by main. */
  keepAlive: (conn: ConnectionRow) => Promise<void>;
}

export interface KeepAliveOptions {
  /** Refresh a linked connection whose refresh token has been idle this long (below every platform's idle lifetime). */
  idleDays: number;
  enabled: boolean;
  intervalMs: number;
  batchSize: number;
}

export const DEFAULT_KEEP_ALIVE_OPTIONS: KeepAliveOptions = { idleDays: 30, enabled: true, intervalMs: 3_600_000, batchSize: 100 };

/**
 * Keep-alive (sync-behaviour.md §5.4): linked connections whose refresh token has not been used for `idleDays` get it
 * refreshed, independent of schedules, so tokens never lapse silently. Each connection is claimed with a conditional
 * update first, so any number of schedulers keep one connection alive once.
 */
export async function keepAliveTick(deps: KeepAliveDeps, opts: KeepAliveOptions = DEFAULT_KEEP_ALIVE_OPTIONS): Promise<number> {
  if (!opts.enabled) return 0;
  const now = deps.clock.now();
  const cutoff = new Date(now.getTime() - opts.idleDays * DAY).toISOString();
  // Claimed within the last day by another scheduler: leave it to them.
  const recent = new Date(now.getTime() - DAY).toISOString();
  let done = 0;
  for (;;) {
    const candidates = await deps.store.db
      .selectFrom('connections')
      .select('id')
      .where('status', '=', 'Linked')
      .where(sql<boolean>`coalesce(token_used_at, linked_at, created_at) <= ${cutoff}`)
      .where((eb) => eb.or([eb('last_keep_alive', 'is', null), eb('last_keep_alive', '<', recent)]))
      .limit(opts.batchSize)
      .execute();
    if (candidates.length === 0) break;
    let progressed = 0;
    for (const { id } of candidates) {
      const claimed = await deps.store.db
        .updateTable('connections')
        .set({ last_keep_alive: now.toISOString() })
        .where('id', '=', id)
        .where('status', '=', 'Linked')
        .where((eb) => eb.or([eb('last_keep_alive', 'is', null), eb('last_keep_alive', '<', recent)]))
        .executeTakeFirst();
      if (Number(claimed.numUpdatedRows) === 0) continue;
      progressed++;
      const conn = await deps.store.db.selectFrom('connections').selectAll().where('id', '=', id).executeTakeFirst();
      if (!conn) continue;
      try {
        await deps.keepAlive(conn as ConnectionRow);
        done++;
      } catch (err) {
        deps.log.warn({ connectionId: id, err: (err as Error).message }, 'keep-alive failed');
      }
    }
    if (progressed === 0) break;
  }
  return done;
}

export function createKeepAlive(deps: KeepAliveDeps, opts: KeepAliveOptions = DEFAULT_KEEP_ALIVE_OPTIONS): Daemon {
  return new Daemon({
    name: 'keep-alive',
    intervalMs: opts.intervalMs,
    log: deps.log,
    tick: async () => {
      const n = await keepAliveTick(deps, opts);
      if (n) deps.log.info({ connections: n }, 'kept connections alive');
    },
  });
}

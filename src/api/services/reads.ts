import { SynclineError } from '../../domain/errors.js';
import type { DataType } from '../../domain/data-types.js';
import type { SyncSetting } from '../../domain/sync-settings.js';
import { queueRead, type ReadRequest, type ReadResult, type Trigger } from '../../store/enqueue.js';
import { SyncSettingsRepository } from '../../store/sync-settings.repository.js';
import type { ConnectionRow } from '../../store/connections.repository.js';
import type { ApiContext } from '../context.js';

/** The read of the given types (or every fetchOnFirstLink type the integration reads) for one connection. */
export async function readRequest(ctx: ApiContext, conn: ConnectionRow, trigger: Trigger, only?: DataType[]): Promise<ReadRequest> {
  const def = ctx.registry.get(conn.integration_key);
  if (!def) throw new SynclineError(500, 'PullApi', `Unknown integration ${conn.integration_key}`);
  const effective = await new SyncSettingsRepository(ctx.store.db).effective(conn.company_id);
  let settings: SyncSetting[];
  if (only) settings = only.map((t) => effective.get(t)!);
  else settings = [...effective.values()].filter((s) => s.fetchOnFirstLink && ctx.registry.supports(def, s.dataType));
  return {
    companyId: conn.company_id,
    connection: conn,
    settings,
    trigger,
    now: ctx.clock.now().toISOString(),
    supports: (t) => ctx.registry.supports(def, t),
    integrationEnabled: ctx.registry.isEnabled(def),
  };
}

/** Queues that read in its own transaction and wakes this process's workers. */
export async function queueConnectionRead(ctx: ApiContext, conn: ConnectionRow, trigger: Trigger, only?: DataType[]): Promise<ReadResult> {
  return queueRead(ctx.store.db, ctx.store.dialect, await readRequest(ctx, conn, trigger, only), ctx.onQueued);
}

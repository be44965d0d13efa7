import { AsyncLocalStorage } from 'node:async_hooks';
import { canTransition, type ConnectionStatus } from '../../domain/statuses.js';
import { StateError } from '../../domain/errors.js';
import type { ConnectionRow } from '../../store/connections.repository.js';
import { DatasetsRepository } from '../../store/datasets.repository.js';
import { resolveConnectionErrors } from '../../store/connection-errors.js';
import type { ApiContext } from '../context.js';
import { readRequest } from './reads.js';
import { queueReadIn } from '../../store/enqueue.js';
import { ScheduleSlotsRepository } from '../../store/schedule-slots.repository.js';

/** Connections with a link, authorization or unlink in progress in this process, per store (one app per store). */
const busyByStore = new WeakMap<object, Set<string>>();
/** The connections the current async call chain holds: a holder calling linkConnection does not trip over itself. */
const held = new AsyncLocalStorage<ReadonlySet<string>>();

/** 409: another request is changing this connection right now (issue 12 item 6). */
export const connectionBusy = (id: string) =>
  new StateError(`Connection ${id} is being linked, authorized or unlinked by another request; nothing was changed. Try again when that request has finished.`, 'ClientsApi', 409);

/**
 * Runs `fn` as the only link, authorization or unlink of the connection in this process; a concurrent one is refused
 * at once with a 409 instead of queueing behind it. (Twenty concurrent `PUT …/authorization` calls each asked the
 * platform for credentials and then raced on the connection row: they waited up to 30 s and some answered 500.)
 * Across processes the compare-and-set of the status change decides, and the loser gets the same 409.
 */
export async function exclusively<T>(ctx: ApiContext, connectionId: string, fn: () => Promise<T>): Promise<T> {
  const mine = held.getStore();
  if (mine?.has(connectionId)) return fn();
  let busy = busyByStore.get(ctx.store);
  if (!busy) busyByStore.set(ctx.store, (busy = new Set()));
  if (busy.has(connectionId)) throw connectionBusy(connectionId);
  busy.add(connectionId);
  try {
    return await held.run(new Set([...(mine ?? []), connectionId]), fn);
  } finally {
    busy.delete(connectionId);
  }
}

/**
 * Connection status changes (sync-behaviour.md §9.1). Every change is a compare-and-set recorded with its time, so two
 * concurrent requests never both apply a transition.
 *
 * Linking (PendingAuth, Unlinked or Deauthorized → Linked) stores the credentials and queues the first-link read:
 * every fetchOnFirstLink type the integration reads, in syncOrder.
 */
export async function linkConnection(
  ctx: ApiContext,
  conn: ConnectionRow,
  supplied: { credentials: Record<string, unknown>; connectionInfo?: Record<string, string> } | undefined,
  reason: string,
): Promise<void> {
  return exclusively(ctx, conn.id, () => linkExclusively(ctx, conn, supplied, reason));
}

async function linkExclusively(
  ctx: ApiContext,
  conn: ConnectionRow,
  supplied: { credentials: Record<string, unknown>; connectionInfo?: Record<string, string> } | undefined,
  reason: string,
): Promise<void> {
  const from = conn.status as ConnectionStatus;
  let obtained = supplied;
  if (!obtained && ctx.authorizeConnection) {
    // Link flow with no client-supplied credentials (Sandbox): the connector obtains them.
    const company = await ctx.repos.companies.get(conn.company_id);
    try {
      obtained = await ctx.authorizeConnection({ id: conn.id, integrationKey: conn.integration_key, companyName: company?.name ?? '' });
    } catch (err) {
      await ctx.repos.connections.authorizationFailed(conn.id, ctx.clock.now().toISOString());
      throw err;
    }
  }
  const now = ctx.clock.now().toISOString();
  const extra: Parameters<ApiContext['repos']['connections']['transition']>[5] = {};
  if (obtained) {
    extra.credentials = ctx.secretBox.sealJson(obtained.credentials);
    extra.token_used_at = now;
    if (obtained.connectionInfo) extra.connection_info = JSON.stringify(obtained.connectionInfo);
  }
  if (from === 'Linked') {
    // Already linked: new credentials replace the old ones; the status does not change.
    if (obtained) await ctx.store.db.updateTable('connections').set({ ...extra, updated_at: now }).where('id', '=', conn.id).execute();
    return;
  }
  // The link, its schedule slots and its first-link read commit together: a crash leaves either none or all of them.
  const linked = { ...conn, status: 'Linked', linked_at: now };
  const firstRead = await readRequest(ctx, linked, 'first-link');
  const def = ctx.registry.get(conn.integration_key);
  const readable = def ? ctx.registry.dataTypes(def) : [];
  const slots = new ScheduleSlotsRepository(ctx.store.db, ctx.store.dialect);
  let queued = false;
  const ok = await ctx.repos.connections.transition(conn.id, from, 'Linked', now, reason, { ...extra, linked_at: now }, async (trx) => {
    await resolveConnectionErrors(trx, conn.id, now);
    // Schedules restart from the link (sync-behaviour.md §5.2): every type the integration reads gets its slot.
    await slots.initForConnection(trx, linked, readable, Date.parse(now));
    const read = await queueReadIn(trx, ctx.store.dialect, firstRead);
    queued = read.created.some((d) => d.status === 'Queued');
  });
  if (!ok) throw new StateError(`Connection ${conn.id} changed status while it was being linked; nothing was changed.`, 'ClientsApi', 409);
  if (queued) ctx.onQueued?.();
}

/** Linked → Unlinked: in-progress datasets are cancelled in the same transaction; the cache and tokens are kept. */
export async function unlinkConnection(ctx: ApiContext, conn: ConnectionRow): Promise<void> {
  return exclusively(ctx, conn.id, () => unlinkExclusively(ctx, conn));
}

async function unlinkExclusively(ctx: ApiContext, conn: ConnectionRow): Promise<void> {
  const from = conn.status as ConnectionStatus;
  if (!canTransition(from, 'Unlinked')) {
    throw new StateError(`Only a Linked connection can be unlinked; connection ${conn.id} is ${from}.`);
  }
  const now = ctx.clock.now().toISOString();
  const datasets = new DatasetsRepository(ctx.store.db, ctx.store.dialect);
  const ok = await ctx.repos.connections.transition(conn.id, from, 'Unlinked', now, 'unlinked by client', {}, async (trx) => {
    await datasets.endInProgressForConnection(conn.id, 'Cancelled', 'The connection was unlinked.', now, trx);
  });
  if (!ok) throw new StateError(`Connection ${conn.id} changed status while it was being unlinked; nothing was changed.`, 'ClientsApi', 409);
}

import { canTransition, type ConnectionStatus } from '../../domain/statuses.js';
import { StateError } from '../../domain/errors.js';
import type { ConnectionRow } from '../../store/connections.repository.js';
import type { ApiContext } from '../context.js';

/**
 * Connection status changes (sync-behaviour.md §9.1). Every change is a compare-and-set recorded with its time, so two
 * concurrent requests never both apply a transition.
 */
export async function linkConnection(
  ctx: ApiContext,
  conn: ConnectionRow,
  credentials: Record<string, string> | undefined,
  reason: string,
): Promise<void> {
  const now = ctx.clock.now().toISOString();
  const sealed = credentials ? ctx.secretBox.sealJson(credentials) : conn.credentials;
  const from = conn.status as ConnectionStatus;
  if (from === 'Linked') {
    // Already linked: new credentials replace the old ones; the status does not change.
    if (credentials) await ctx.store.db.updateTable('connections').set({ credentials: sealed, updated_at: now }).where('id', '=', conn.id).execute();
    return;
  }
  const ok = await ctx.repos.connections.transition(conn.id, from, 'Linked', now, reason, { credentials: sealed });
  if (!ok) throw new StateError(`Connection ${conn.id} changed status while it was being linked; try again.`);
}

export async function unlinkConnection(ctx: ApiContext, conn: ConnectionRow): Promise<void> {
  const from = conn.status as ConnectionStatus;
  if (!canTransition(from, 'Unlinked')) {
    throw new StateError(`Only a Linked connection can be unlinked; connection ${conn.id} is ${from}.`);
  }
  const ok = await ctx.repos.connections.transition(conn.id, from, 'Unlinked', ctx.clock.now().toISOString(), 'unlinked by client');
  if (!ok) throw new StateError(`Only a Linked connection can be unlinked; connection ${conn.id} changed status concurrently.`);
}

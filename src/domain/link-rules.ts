/**
 * Rules of the unauthenticated Link pages (platform-api.md §7.13, issue 12 item 4). Anyone who knows a company id can
 * open them, so they may only move a connection forward through the platform's own consent: link a `PendingAuth`
 * connection, or re-authorise a `Deauthorized` one bound to the tenant it had. A `Linked` connection is never touched
 * (its credentials cannot be replaced from a browser) and an `Unlinked` one stays cut until the client re-links it
 * with its API key (`PUT …/authorization`) — the client unlinked it, a browser must not undo that.
 */
import type { ConnectionStatus } from './statuses.js';

/** How long a Link `state` (and a tenant-choice token) stays usable: 10 minutes, once. */
export const LINK_STATE_TTL_MS = 10 * 60_000;

/**
 * Connections one company may hold to one integration before the Link page refuses to create another. Counts every
 * connection that still exists, whatever its status; deleting one frees a place. Connections created with an API key
 * (`POST …/connections`) are not capped.
 */
export const MAX_LINK_CONNECTIONS_PER_INTEGRATION = 5;

export type LinkPageDecision =
  | { allowed: true; relink: boolean }
  | { allowed: false; reason: 'linked' | 'unlinked' };

/** What the Link page may do with a connection in this status. */
export function linkPageDecision(status: ConnectionStatus): LinkPageDecision {
  switch (status) {
    case 'PendingAuth':
      return { allowed: true, relink: false };
    case 'Deauthorized':
      return { allowed: true, relink: true };
    case 'Linked':
      return { allowed: false, reason: 'linked' };
    case 'Unlinked':
      return { allowed: false, reason: 'unlinked' };
  }
}

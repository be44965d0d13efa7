import { companyNotFound, ConflictError, connectionNotFound, NotFoundError } from '../domain/errors.js';
import { isInProgress, type DatasetStatus } from '../domain/statuses.js';
import type { ConnectionRow } from '../store/connections.repository.js';
import type { ApiContext } from './context.js';

/** A read's path: the company, and the connection when the path names one (else the company's current one). */
export type ReadScope = { companyId: string; connectionId?: string };

/**
 * The read-availability rule ("the 409 rule", sync-behaviour.md §10), the one place it is written: every read of one
 * data type — the data routes (lists, single records, bank transactions, statements, aged reports), record history
 * (versions, change feed) and files (attachments, invoice PDF) — asks it for the connection it serves. Data of the type
 * is served once any dataset of it on that connection has completed, even while a newer one runs or after later
 * failures. Otherwise, checked in order:
 *
 * - no such company → 404 `No company …`;
 * - the path's connection is not the company's → 404 `Data connection … not found`; the company has no connection
 *   (company-level path) → 409 `The data set has not been requested.`;
 * - the type was never queued on the connection → 409 `The data set has not been requested.`;
 * - its newest dataset is in progress → 409 `The data set is still syncing.`;
 * - its newest dataset is NotSupported → 404 `Datatype {T} not supported by platform(s) {platform name}`;
 * - otherwise (every dataset failed or was cancelled) → 409 `The data set has not been synced successfully.`
 *
 * The connection and its datasets of the type come from one statement (ConnectionsRepository.forRead).
 */
export async function readableConnection(ctx: ApiContext, scope: ReadScope, dataType: string): Promise<ConnectionRow> {
  if (!(await ctx.repos.companies.existsForRead(scope.companyId))) throw companyNotFound(scope.companyId);
  const found = await ctx.repos.connections.forRead(scope.companyId, scope.connectionId, dataType);
  if (!found) {
    if (scope.connectionId !== undefined) throw connectionNotFound(scope.connectionId);
    throw new ConflictError('The data set has not been requested.');
  }
  const { conn, latestStatus, hasComplete } = found;
  if (hasComplete) return conn;
  if (!latestStatus) throw new ConflictError('The data set has not been requested.');
  if (isInProgress(latestStatus as DatasetStatus)) throw new ConflictError('The data set is still syncing.');
  if (latestStatus === 'NotSupported') throw new NotFoundError(`Datatype ${dataType} not supported by platform(s) ${platformName(ctx, conn)}`);
  throw new ConflictError('The data set has not been synced successfully.');
}

/** The connection's platform as messages name it: the integration's name, or its key when it is not registered. */
export function platformName(ctx: ApiContext, conn: Pick<ConnectionRow, 'integration_key'>): string {
  return ctx.registry.get(conn.integration_key)?.name ?? conn.integration_key;
}

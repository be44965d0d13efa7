import {
  AuthRevokedError,
  ConnectorError,
  FetchFailedError,
  MappingError,
  NotSupportedError,
  PermissionDeniedError,
  RateLimitedError,
  type ConnectorRegistry,
  type SourceRecord,
} from '../connectors/connector.js';
import type { DataType } from '../domain/data-types.js';
import type { DatasetStatus } from '../domain/statuses.js';
import { windowFor, type SyncSetting } from '../domain/sync-settings.js';
import type { Clock } from '../lib/clock.js';
import type { Logger } from '../lib/logger.js';
import type { KeyedMutex } from '../lib/mutex.js';
import type { SecretBox } from '../lib/secrets.js';
import { isStoreUnavailable, type Store } from '../store/db.js';
import { DatasetsRepository, type ClaimedDataset, type DatasetRow } from '../store/datasets.repository.js';
import { NotHeldError, RecordsRepository, type MergeResult } from '../store/records.repository.js';
import { refreshRecordStats } from '../store/records-stats.js';
import { encodeCursor, feedScope } from '../store/history.repository.js';
import { emitRecordsChanged } from '../store/webhook-outbox.js';
import { ConnectionsRepository } from '../store/connections.repository.js';
import { recordConnectionError, statusText } from '../store/connection-errors.js';
import { StoredCredentials } from './credentials.js';
import type { Transaction } from 'kysely';
import type { Database } from '../store/schema.js';
import { PullValidator } from '../domain/pull-validation.js';

export interface RunDeps {
  store: Store;
  connectors: ConnectorRegistry;
  clock: Clock;
  log: Logger;
  secretBox: SecretBox;
  mutex: KeyedMutex;
  workerId: string;
  /** A full listing (reconciling hard deletes) every N completed pulls of a type… */
  fullEveryPulls: number;
  /** …or when the last one is older than this. */
  fullEveryMs: number;
}

/** A pull handed back because the database went away is claimable again after this long. */
const STORE_RETRY_MS = 5_000;

/** Thrown inside the commit transaction when the dataset is no longer ours: rolls the whole merge back. */
class LeaseLost extends Error {}

/** Dataset status for a connector failure (issue #3 item 7). */
function statusFor(err: unknown): DatasetStatus {
  if (err instanceof AuthRevokedError) return 'AuthError';
  if (err instanceof RateLimitedError) return 'RateLimitError';
  if (err instanceof PermissionDeniedError) return 'PermissionsError';
  if (err instanceof NotSupportedError) return 'NotSupported';
  if (err instanceof MappingError) return 'MapError';
  if (err instanceof FetchFailedError || err instanceof ConnectorError) return 'FetchError';
  return 'InternalError';
}

/**
 * Runs one claimed dataset to a terminal status: fetch pages from the connector into staging, then merge into the
 * cache and mark it Complete in ONE transaction (all or nothing, sync-behaviour.md §2.3). Any failure leaves the cache
 * as it was. `signal` aborts when the lease is lost or the process stops; then nothing is committed here.
 * Returns the dataset as it ended, or undefined when this run did not end it (lease lost, stopping, deleted).
 */
export async function runDataset(deps: RunDeps, ds: ClaimedDataset, signal: AbortSignal, progress: { value: number }): Promise<DatasetRow | undefined> {
  const { store, clock, log } = deps;
  const datasets = new DatasetsRepository(store.db, store.dialect);
  const records = new RecordsRepository(store.db, store.dialect);
  const now = () => clock.now().toISOString();
  const setting = JSON.parse(ds.settings) as SyncSetting;
  const dataType = ds.data_type as DataType;

  // Recorded with the terminal transition (cursor_in is the run's own record, read by nobody while it runs).
  let cursorIn: string | null = null;
  // Ends the dataset before anything was staged (the claim cleared what a previous attempt left): nothing to clear.
  const finishEarly = (status: DatasetStatus, fields: Parameters<DatasetsRepository['finish']>[4] = {}) =>
    datasets.finishUnmerged(ds.id, deps.workerId, status, now(), { cursor_in: cursorIn, ...fields });
  const finish = async (status: DatasetStatus, fields: Parameters<DatasetsRepository['finish']>[4] = {}) => {
    await records.clearStaging(ds.id, deps.workerId);
    return datasets.finish(ds.id, deps.workerId, status, now(), { cursor_in: cursorIn, ...fields });
  };

  // The claim joined in the connection and the last pulls' facts: no round trip before the connector starts.
  const conn = { id: ds.connection_id, status: ds.connection_status, integration_key: ds.integration_key, connection_info: ds.connection_info };
  if (conn.status !== 'Linked') {
    return finishEarly('AuthError', { error_message: `Connection ${conn.id} is ${conn.status}; it must be Linked before data can be read.` });
  }
  const connector = deps.connectors.get(conn.integration_key);
  if (!connector) {
    return finishEarly('PrerequisiteNotMet', { error_message: `No connector is available for integration ${conn.integration_key} on this instance.` });
  }
  if (!connector.supports(dataType)) return finishEarly('NotSupported');

  // Incremental from the last successful pull's cursor, with a periodic full listing to reconcile hard deletes.
  let full = !ds.last_cursor;
  if (!full) {
    const staleFull = !ds.last_full_completed || clock.now().getTime() - Date.parse(ds.last_full_completed) >= deps.fullEveryMs;
    full = ds.completes_since_full >= deps.fullEveryPulls - 1 || staleFull;
  }
  const cursor = full ? undefined : (ds.last_cursor ?? undefined);
  cursorIn = cursor ?? null;
  const window = windowFor(setting, clock.now());

  const credentials = new StoredCredentials(store, conn.id, deps.secretBox, deps.mutex, clock, connector.tokenLifetimes.refreshTokenIdleDays);

  try {
    const pages = connector.pull({
      dataType,
      credentials,
      connectionInfo: conn.connection_info ? (JSON.parse(conn.connection_info) as Record<string, string>) : {},
      cursor,
      full,
      window: { monthsToSync: window.monthsToSync, syncFrom: window.syncFrom ? new Date(window.syncFrom) : undefined },
      clock,
      signal,
      reportProgress: (p) => {
        // Fetching is 0–90 %; the merge is the rest. Never decreases.
        progress.value = Math.max(progress.value, Math.min(90, Math.floor(p * 0.9)));
      },
      reportPause: (until) => {
        const description = until ? `Paused until ${until.toISOString()}` : null;
        void datasets.update(ds.id, deps.workerId, { status_description: description }).catch(() => {});
      },
    });
    let seen = 0;
    let outcome;
    const validator = new PullValidator(dataType);
    // One page read ahead: the connector fetches page n+1 while page n is staged (a 100k-invoice pull spent a fifth
    // of its time waiting for the platform between writes). At most two pages are held.
    let ahead = pages.next();
    try {
      for (;;) {
        const next = await ahead;
        if (signal.aborted) throw signal.reason ?? new Error('aborted');
        if (next.done) {
          outcome = next.value;
          break;
        }
        ahead = pages.next();
        ahead.catch(() => {}); // a failure surfaces when awaited above, never as an unhandled rejection
        const page: SourceRecord[] = next.value;
        await records.stage(ds.id, page, deps.workerId);
        validator.page(page);
        seen += page.length;
      }
    } catch (err) {
      // Close the connector's generator once the page in flight settles (its finally blocks run).
      void ahead.then(() => pages.return(undefined as never)).catch(() => {});
      throw err;
    }
    if (signal.aborted) throw signal.reason ?? new Error('aborted');

    // References of the records read are checked against what is stored of the types they point at (a type never
    // pulled successfully is not checked); the findings are stored with the dataset (GET …/sync/{datasetId}/validation).
    await validator.resolve(async (target, ids) => ((await datasets.lastComplete(conn.id, target)) ? records.existingIds(conn.id, target, ids) : undefined));
    const validation = JSON.stringify(validator.result());

    // Processing is shown while the merge runs; an incremental pull that found nothing has no merge to show.
    const merging = seen > 0 || outcome.fullListing;
    if (merging && !(await datasets.update(ds.id, deps.workerId, { status: 'Processing', progress: Math.max(progress.value, 90) }))) return;
    progress.value = Math.max(progress.value, 90);
    const completeFields = {
      status_description: null,
      cursor_in: cursorIn,
      cursor_out: outcome.cursor ?? null,
      full_listing: outcome.fullListing ? 1 : 0,
      source_calls: outcome.calls ?? null,
      validation,
    };
    let ended: DatasetRow | undefined;
    let merged: MergeResult | undefined;
    if (!merging) {
      // Nothing staged, nothing to merge (most scheduled pulls): the completion is one statement where it can be.
      try {
        ended = await datasets.finishUnmerged(ds.id, deps.workerId, 'Complete', now(), { ...completeFields, records_added: 0, records_updated: 0, records_deleted: 0 });
      } catch (err) {
        throw Object.assign(err as Error, { phase: 'processing' });
      }
      if (ended) log.debug({ datasetId: ds.id, dataType, seen }, 'dataset complete');
      return ended;
    }
    try {
      ended = await store.db.transaction().execute(async (trx) => {
        if (!(await datasets.lockHeld(ds.id, deps.workerId, trx))) throw new LeaseLost();
        // One instant for the merge and the completion: the records' modifiedDate, the changes' commit time and the
        // dataset's `completed` agree, so `asOfPull` (the pull's completed time) shows exactly what it committed.
        const at = now();
        const counts = await records.merge(trx, { datasetId: ds.id, connectionId: conn.id, dataType, now: at, fullListing: outcome.fullListing, syncFrom: window.syncFrom });
        merged = counts;
        const done = await datasets.finish(
          ds.id,
          deps.workerId,
          'Complete',
          at,
          { ...completeFields, records_added: counts.added, records_updated: counts.updated, records_deleted: counts.deleted },
          trx,
        );
        if (done && counts.history) {
          const scope = feedScope(conn.id, dataType);
          await emitRecordsChanged(
            trx,
            {
              connectionId: conn.id,
              dataType,
              datasetId: ds.id,
              committed: at,
              recordsAdded: counts.added,
              recordsUpdated: counts.updated,
              recordsDeleted: counts.deleted,
              fromCursor: encodeCursor(scope, counts.history.firstSeq - 1),
              toCursor: encodeCursor(scope, counts.history.lastSeq),
            },
            at,
          );
        }
        if (!done) throw new LeaseLost();
        return done;
      });
    } catch (err) {
      if (err instanceof LeaseLost) {
        await records.clearStaging(ds.id, deps.workerId);
        return;
      }
      throw Object.assign(err as Error, { phase: 'processing' });
    }
    log.debug({ datasetId: ds.id, dataType, seen }, 'dataset complete');
    // A merge that (at least) doubled its pair: the planner's statistics of records are refreshed in the background so
    // the pair's next merge is planned knowing its size (records-stats.ts). Never delays the completion.
    if (merged) {
      void refreshRecordStats(store.db, store.dialect, merged).catch((err: unknown) => log.warn({ err: (err as Error).message, datasetId: ds.id }, 'refreshing the records statistics failed'));
    }
    return ended;
  } catch (err) {
    if (signal.aborted || err instanceof NotHeldError) {
      // Lease lost or process stopping: the pool hands the dataset back (or the sweeper requeues it). A page refused
      // because the dataset is someone else's now (NotHeldError) leaves it to its new owner.
      return;
    }
    if (!(err instanceof ConnectorError) && isStoreUnavailable(err)) {
      // The database went away under the pull (restart, failover): not the pull's fault, so not an error status.
      // Hand it back for another attempt in a few seconds if the database answers again; if not, its lease runs out
      // and the sweeper requeues it (the pg-restart drill).
      log.warn({ datasetId: ds.id, dataType, err: (err as Error).message }, 'database unavailable during a pull; handing it back');
      const retry = { notBefore: new Date(clock.now().getTime() + STORE_RETRY_MS).toISOString(), description: 'Retrying: the database was unavailable' };
      await datasets.handBack(deps.workerId, [ds.id], retry).catch(() => {});
      return;
    }
    const processing = (err as { phase?: string }).phase === 'processing';
    const status = processing ? 'ProcessingError' : statusFor(err);
    const message = err instanceof Error ? err.message : String(err);
    if (status === 'InternalError' || status === 'ProcessingError') log.error({ err, datasetId: ds.id, dataType }, 'dataset failed');
    else log.info({ datasetId: ds.id, dataType, status, message }, 'dataset failed');
    const fields: Parameters<DatasetsRepository['finish']>[4] = { error_message: status === 'NotSupported' ? null : message };
    if (err instanceof RateLimitedError) {
      fields.status_description = `Paused until ${err.resetAt.toISOString()}`;
      await store.db.updateTable('connections').set({ rate_limited_until: err.resetAt.toISOString() }).where('id', '=', conn.id).execute();
    }
    if (err instanceof AuthRevokedError) {
      // The dataset's AuthError and the connection's Deauthorized commit together: nobody sees one without the other.
      await records.clearStaging(ds.id, deps.workerId);
      let ended: DatasetRow | undefined;
      const at = now();
      const changed = await deauthorize(store, conn.id, err, at, async (trx) => {
        ended = await datasets.finish(ds.id, deps.workerId, status, at, fields, trx);
      });
      return changed ? ended : finish(status, fields);
    }
    return finish(status, fields);
  }
}

/**
 * Linked → Deauthorized (sync-behaviour.md §9.1): the reason goes to dataConnectionErrors and the connection's other
 * queued and running datasets end in AuthError, in one transaction.
 */
export async function deauthorize(
  store: Store,
  connectionId: string,
  err: ConnectorError,
  at: string,
  /** Runs first in the same transaction (the failing pull's own terminal transition). */
  first?: (trx: Transaction<Database>) => Promise<void>,
): Promise<boolean> {
  const connections = new ConnectionsRepository(store.db);
  const datasets = new DatasetsRepository(store.db, store.dialect);
  const code = err.statusCode ?? 401;
  return connections.transition(connectionId, 'Linked', 'Deauthorized', at, `platform refused the credentials: ${err.message}`, {}, async (trx) => {
    if (first) await first(trx);
    await recordConnectionError(trx, connectionId, {
      statusCode: String(code),
      statusText: statusText(code),
      errorMessage: err.message,
      erroredOnUtc: at,
      status: 'Active',
    });
    await datasets.endInProgressForConnection(connectionId, 'AuthError', `Connection was deauthorized: ${err.message}`, at, trx);
  });
}

import type { Migration } from 'kysely';
import type { Dialect } from '../db.js';
import { m0001Foundation } from './0001-foundation.js';
import { m0002Datasets } from './0002-datasets.js';
import { m0003Records } from './0003-records.js';
import { m0004Scheduler } from './0004-scheduler.js';
import { m0005Webhooks } from './0005-webhooks.js';
import { m0006QueryIndexes } from './0006-query-indexes.js';
import { m0007WebhookDeliveryOrder } from './0007-webhook-delivery-order.js';
import { m0008ClaimOrder } from './0008-claim-order.js';
import { m0009RevokedApiKeys } from './0009-revoked-api-keys.js';
import { m0010HousekeepingIndexes } from './0010-housekeeping-indexes.js';
import { m0011LinkStates } from './0011-link-states.js';
import { m0013DatasetsCompleted } from './0013-datasets-completed.js';
import { m0014RecordHistory } from './0014-record-history.js';
import { m0015MoreDataTypes } from './0015-more-data-types.js';
import { m0020HistoryReadIndexes } from './0020-history-read-indexes.js';
import { m0021RecordCounts } from './0021-record-counts.js';
import { m0022ClaimFunction } from './0022-claim-function.js';
import { m0023WebhookResponseBodies } from './0023-webhook-response-bodies.js';
import { m0024RecordQueryKeys } from './0024-record-query-keys.js';
import { m0025ScheduleDueFunction } from './0025-schedule-due-function.js';
import { m0026ScheduleSlotsNarrow } from './0026-schedule-slots-narrow.js';
import { m0028HistoryCounts } from './0028-history-counts.js';
import { m0029BatchClaimFinish } from './0029-batch-claim-finish.js';
import { m0030QueuePlans } from './0030-queue-plans.js';
import { m0031RecordBuckets } from './0031-record-buckets.js';
import { m0032HistoryWritePath } from './0032-history-write-path.js';
import { m0033HistoryPastKeys } from './0033-history-past-keys.js';
import { m0034QueueClaimStatements } from './0034-queue-claim-statements.js';
import { m0035ScheduleSlotLastEnd } from './0035-schedule-slot-last-end.js';
import { m0036FinishLocksFirst } from './0036-finish-locks-first.js';

/**
 * Forward-only numbered migrations. Kysely's Migrator runs each one in a transaction and serialises concurrent
 * migrators through its lock table (row lock on PostgreSQL), so two processes starting at once are safe.
 * Never edit a released migration: add a new one.
 */
export function migrations(dialect: Dialect): Record<string, Migration> {
  return {
    '0001-foundation': m0001Foundation(dialect),
    '0002-datasets': m0002Datasets(dialect),
    '0003-records': m0003Records(dialect),
    '0004-scheduler': m0004Scheduler(dialect),
    '0005-webhooks': m0005Webhooks(dialect),
    '0006-query-indexes': m0006QueryIndexes(dialect),
    '0007-webhook-delivery-order': m0007WebhookDeliveryOrder(dialect),
    '0008-claim-order': m0008ClaimOrder(dialect),
    '0009-revoked-api-keys': m0009RevokedApiKeys(dialect),
    '0010-housekeeping-indexes': m0010HousekeepingIndexes(dialect),
    '0011-link-states': m0011LinkStates(dialect),
    '0013-datasets-completed': m0013DatasetsCompleted(dialect),
    '0014-record-history': m0014RecordHistory(dialect),
    '0015-more-data-types': m0015MoreDataTypes(dialect),
    '0020-history-read-indexes': m0020HistoryReadIndexes(dialect),
    '0021-record-counts': m0021RecordCounts(dialect),
    '0022-claim-function': m0022ClaimFunction(dialect),
    '0023-webhook-response-bodies': m0023WebhookResponseBodies(dialect),
    '0024-record-query-keys': m0024RecordQueryKeys(dialect),
    '0025-schedule-due-function': m0025ScheduleDueFunction(dialect),
    '0026-schedule-slots-narrow': m0026ScheduleSlotsNarrow(dialect),
    '0028-history-counts': m0028HistoryCounts(dialect),
    '0029-batch-claim-finish': m0029BatchClaimFinish(dialect),
    '0030-queue-plans': m0030QueuePlans(dialect),
    '0031-record-buckets': m0031RecordBuckets(dialect),
    '0032-history-write-path': m0032HistoryWritePath(dialect),
    '0033-history-past-keys': m0033HistoryPastKeys(dialect),
    '0034-queue-claim-statements': m0034QueueClaimStatements(dialect),
    '0035-schedule-slot-last-end': m0035ScheduleSlotLastEnd(dialect),
    '0036-finish-locks-first': m0036FinishLocksFirst(dialect),
  };
}

/**
 * Row types, one per table. Rows are not domain objects: repositories map them to API shapes.
 * Timestamps are stored as RFC 3339 UTC strings with milliseconds (`2026-01-01T00:00:00.000Z`) on both dialects:
 * they sort lexically, they come from the injected clock, and they round-trip unchanged.
 */
import type { ColumnType, Generated } from 'kysely';

export interface InstanceSettingsTable {
  key: string;
  value: string;
}

export interface ApiKeysTable {
  id: string;
  name: string | null;
  key_hash: string;
  created_at: string;
}

/** Hashes of deleted API keys: a configured bootstrap key that was revoked is not stored again (migration 0009). */
export interface RevokedApiKeysTable {
  key_hash: string;
  revoked_at: string;
}

export interface CompaniesTable {
  id: string;
  name: string;
  description: string | null;
  /** JSON object string → string. */
  tags: string;
  created_at: string;
}

export interface ConnectionsTable {
  id: string;
  company_id: string;
  integration_key: string;
  status: string;
  /** SecretBox-sealed JSON of the platform credentials; never leaves the store unsealed in a response. */
  credentials: string | null;
  /** JSON object of non-secret platform identifiers. */
  connection_info: string | null;
  /** JSON array of DataConnectionError, newest first, at most 10. */
  errors: string | null;
  created_at: string;
  updated_at: string;
  last_sync: string | null;
  /** The scheduler queues nothing for this connection before this time (RateLimitError reset). */
  rate_limited_until: Generated<string | null>;
  /** When the connection last became Linked (schedules of never-pulled types count from here). */
  linked_at: Generated<string | null>;
  /** When the refresh token was last used (refresh or keep-alive). */
  token_used_at: Generated<string | null>;
  last_keep_alive: Generated<string | null>;
  refresh_token_expires_at: Generated<string | null>;
}

export interface ConnectionStatusChangesTable {
  id: string;
  connection_id: string;
  from_status: string | null;
  to_status: string;
  reason: string | null;
  changed_at: string;
}

export interface DatasetsTable {
  seq: Generated<number>;
  id: string;
  company_id: string;
  connection_id: string;
  data_type: string;
  status: string;
  status_description: string | null;
  error_message: string | null;
  progress: number;
  requested: string;
  started: string | null;
  completed: string | null;
  /** Datasets queued together by one trigger for one connection form a read. */
  read_id: string;
  /** refresh | all | schedule | first-link | keep-alive */
  trigger: string;
  sync_order: number;
  settings: string;
  attempts: number;
  lease_owner: string | null;
  lease_expires: string | null;
  run_slot: number | null;
  not_before: string | null;
  cursor_in: string | null;
  cursor_out: string | null;
  full_listing: number | null;
  records_added: number;
  records_updated: number;
  records_deleted: number;
  source_calls: number | null;
  /** JSON `{errors, warnings}`: the pull's validation findings (migration 0015). */
  validation: string | null;
}

export interface CompanySyncSettingsTable {
  company_id: string;
  overrides_defaults: number;
  settings: string;
}

export interface RecordsTable {
  connection_id: string;
  data_type: string;
  record_id: string;
  /** jsonb on PostgreSQL (read back as an object), JSON text on SQLite. */
  data: unknown;
  content_hash: string;
  modified_date: string;
  source_modified_date: string | null;
  is_deleted: number;
}

/** Exact counts of a (connection, data type)'s records, kept by the merge (migration 0021). */
export interface RecordCountsTable {
  connection_id: string;
  data_type: string;
  total: number;
  deleted: number;
  /** Moves with every merge that changed a record of the pair. */
  generation: number;
}

/** record_counts after each instant a merge committed at (migration 0028): the counts an asOf read answers from. */
export interface RecordCountsAtTable {
  connection_id: string;
  data_type: string;
  committed_at: string;
  total: number;
  deleted: number;
  /** This instant's own moves of total and deleted. */
  added: number;
  deleted_delta: number;
  /** record_counts.generation after the latest merge at this instant; 0 when backfilled. */
  generation: number;
}

/** Consecutive ranges `[lo, hi)` of a pair's record ids with their exact counts (record-buckets.ts, migration 0031). */
export interface RecordBucketsTable {
  connection_id: string;
  data_type: string;
  /** '' for the pair's first bucket. */
  lo: string;
  /** The next bucket's lo; null for the last bucket. */
  hi: string | null;
  total: number;
  deleted: number;
}

export interface RecordStagingTable {
  dataset_id: string;
  record_id: string;
  data: unknown;
  content_hash: string;
  source_modified_date: string | null;
  deleted: number;
}

/** One change a pull committed to a record, with the record's state before it (migration 0014). */
export interface RecordChangesTable {
  seq: Generated<number>;
  connection_id: string;
  data_type: string;
  record_id: string;
  /** Null for the baseline rows of records stored before history existed. */
  dataset_id: string | null;
  committed_at: string;
  /** added | updated | deleted | undeleted */
  kind: string;
  content_hash: string;
  source_modified_date: string | null;
  prev_data: unknown;
  prev_content_hash: string | null;
  prev_modified_date: string | null;
  prev_source_modified_date: string | null;
  prev_is_deleted: number | null;
  /** PostgreSQL only (migration 0033): the previous state's folded keys, records' key columns of the row it copies. */
  prev_status_key?: string | null;
  prev_customer_ref_key?: string | null;
  prev_supplier_ref_key?: string | null;
}

export interface HistoryPullsTable {
  dataset_id: string;
  connection_id: string;
  data_type: string;
  first_seq: number;
  last_seq: number;
  committed_at: string;
  added: number;
  updated: number;
  deleted: number;
}

export interface HistoryFloorsTable {
  connection_id: string;
  data_type: string;
  floor_at: string | null;
  floor_seq: number;
}

export interface HistoryOptoutsTable {
  company_id: string;
  since: string;
}

export interface ScheduleSlotsTable {
  connection_id: string;
  data_type: string;
  company_id: string;
  next_due_ms: number | null;
  // PostgreSQL also has last_end_ms (migration 0035), written only by triggers and read only by syncline_schedule_due.
}

export interface WebhookConsumersTable {
  id: string;
  url: string;
  /** JSON array of subscribed event type names (canonical where known). */
  event_types: string;
  /** JSON array of `key:value` filters, or null for none. */
  company_tags: string | null;
  disabled: number;
  disabled_at: string | null;
  /** SecretBox-sealed `whsec_…` signing secret. */
  secret: string;
  /** The secret before the last rotation, still used to sign until `previous_secret_until`. */
  previous_secret: string | null;
  previous_secret_until: string | null;
  /** First failed attempt since the last success; five days of this disables the consumer. */
  failing_since: string | null;
  created_at: string;
}

/** The webhook outbox: one row per generated event that at least one consumer was subscribed to. */
export interface WebhookEventsTable {
  seq: Generated<number>;
  id: string;
  /** `webhook-id` header: `msg_` + 27 base62 characters, fixed for every attempt. */
  msg_id: string;
  event_type: string;
  company_id: string | null;
  connection_id: string | null;
  /** JSON facts the body is rendered from at delivery (src/webhooks/render.ts). */
  data: string;
  generated_at: string;
}

export interface WebhookDeliveriesTable {
  id: string;
  consumer_id: string;
  event_id: string;
  /** pending | succeeded | failed */
  status: string;
  /** Attempts made in the current retry schedule (a replay starts a new one). */
  attempts: number;
  next_attempt_at: string;
  lease_owner: string | null;
  lease_expires: string | null;
  delivered_at: string | null;
  failed_at: string | null;
  created_at: string;
}

export interface WebhookAttemptsTable {
  seq: Generated<number>;
  id: string;
  delivery_id: string;
  consumer_id: string;
  event_id: string;
  event_type: string;
  attempt: number;
  sent_at: string;
  status_code: number | null;
  duration_ms: number;
  success: number;
  error: string | null;
  /** The first bytes of the response body (RESPONSE_BODY_KEEP_BYTES), null without a response (migration 0023). */
  response_body: string | null;
  response_body_truncated: Generated<number>;
}

export interface DatasetReadsTable {
  read_id: string;
  company_id: string;
  connection_id: string;
  trigger: string;
  initial: number;
  first_link: number;
  /** Datasets of the read not yet terminal. */
  pending: number;
  created_at: string;
  completed_at: string | null;
}

/** Link flow tokens (migration 0011): hashed, single-use, expiring; the payload is SecretBox-sealed. */
export interface LinkStatesTable {
  token_hash: string;
  /** state (an OAuth authorization in progress) | choice (a grant waiting for the user to pick an organisation) */
  kind: string;
  connection_id: string;
  integration_key: string;
  payload: string | null;
  created_at: string;
  expires_at: string;
  consumed_at: string | null;
}

export interface Database {
  instance_settings: InstanceSettingsTable;
  api_keys: ApiKeysTable;
  revoked_api_keys: RevokedApiKeysTable;
  companies: CompaniesTable;
  connections: ConnectionsTable;
  connection_status_changes: ConnectionStatusChangesTable;
  datasets: DatasetsTable;
  company_sync_settings: CompanySyncSettingsTable;
  records: RecordsTable;
  record_counts: RecordCountsTable;
  record_counts_at: RecordCountsAtTable;
  record_buckets: RecordBucketsTable;
  schedule_slots: ScheduleSlotsTable;
  record_staging: RecordStagingTable;
  webhook_consumers: WebhookConsumersTable;
  webhook_events: WebhookEventsTable;
  webhook_deliveries: WebhookDeliveriesTable;
  webhook_attempts: WebhookAttemptsTable;
  dataset_reads: DatasetReadsTable;
  link_states: LinkStatesTable;
  record_changes: RecordChangesTable;
  history_pulls: HistoryPullsTable;
  history_floors: HistoryFloorsTable;
  history_optouts: HistoryOptoutsTable;
}

export type Timestamp = ColumnType<string, string, string>;

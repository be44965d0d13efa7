/**
 * Row types, one per table. Rows are not domain objects: repositories map them to API shapes.
 * Timestamps are stored as RFC 3339 UTC strings with milliseconds (`2026-01-01T00:00:00.000Z`) on both dialects:
 * they sort lexically, they come from the injected clock, and they round-trip unchanged.
 */
import type { ColumnType } from 'kysely';

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
}

export interface ConnectionStatusChangesTable {
  id: string;
  connection_id: string;
  from_status: string | null;
  to_status: string;
  reason: string | null;
  changed_at: string;
}

export interface Database {
  instance_settings: InstanceSettingsTable;
  api_keys: ApiKeysTable;
  companies: CompaniesTable;
  connections: ConnectionsTable;
  connection_status_changes: ConnectionStatusChangesTable;
}

export type Timestamp = ColumnType<string, string, string>;

/**
 * The connector contract: how the pull engine (src/sync) reads one data type from one platform account.
 *
 * A connector never touches the database (DESIGN layers): the worker hands it the decrypted credentials through a
 * CredentialsStore, the data type, the history window and the cursor of the last successful pull; the connector
 * yields pages of source records, already mapped to the accounting model (accounting-model.md), and returns the
 * cursor for the next incremental pull. Failures are typed (ConnectorError subclasses below) and the worker maps
 * them to dataset statuses.
 */
import type { DataType } from '../domain/data-types.js';
import type { Clock } from '../lib/clock.js';
import type { OAuthLinker } from '../domain/oauth-link.js';
import type { ConnectorFiles } from './files.js';

/** Platform credentials as stored (sealed) for a connection. Shape is the connector's own business. */
export type Credentials = Record<string, unknown>;

/**
 * Access to a connection's stored credentials. Implemented by the worker over the store.
 * `refresh` serialises token refreshes per connection across workers and processes: it re-reads the stored credentials
 * under a per-connection lock, calls `fn` with them (fn may find that another worker already refreshed and return them
 * unchanged), persists the result (encrypted) BEFORE returning it, and only then may the connector use the new tokens.
 */
export interface CredentialsStore {
  read(): Promise<Credentials>;
  refresh(fn: (current: Credentials) => Promise<Credentials>): Promise<Credentials>;
}

export interface PullWindow {
  /** Statements only: months of history to fetch, ending with the current month (default 24). */
  monthsToSync?: number;
  /** Other document types: only records whose sourceModifiedDate is on or after this instant. */
  syncFrom?: Date;
}

export interface PullRequest {
  dataType: DataType;
  credentials: CredentialsStore;
  /** Non-secret identifiers stored on the connection (Xero tenantId, QBO realmId, Sandbox tenant…). */
  connectionInfo: Record<string, string>;
  /** Cursor returned by the last successful pull of this (connection, data type); undefined → full pull. */
  cursor: string | undefined;
  /** Force a full listing even when a cursor exists (periodic reconciliation for hard deletes). */
  full: boolean;
  window: PullWindow;
  clock: Clock;
  /** Aborted when the worker loses its lease or the process stops: stop promptly, throw the abort reason. */
  signal: AbortSignal;
  /** 0–100 estimate; the worker keeps it monotonic. */
  reportProgress(percent: number): void;
  /** Called while waiting out a platform rate limit (sync-behaviour.md §2.4), and with null when calls resume. */
  reportPause(until: Date | null): void;
}

/** One record as read from the platform and mapped to the accounting model. */
export interface SourceRecord {
  /** The platform's id for the record (for statements: the period, e.g. `2026-01`). */
  id: string;
  /** The mapped document, without Syncline's `modifiedDate` and `metadata` (the store adds them). */
  data: Record<string, unknown>;
  /** When the platform last changed it; null when the platform has no such timestamp. */
  sourceModifiedDate: string | null;
  /** The platform reports it deleted (Xero Status DELETED, QBO CDC Deleted). */
  deleted: boolean;
}

export interface PullOutcome {
  /** Cursor for the next incremental pull (e.g. the platform time the listing started). */
  cursor: string | undefined;
  /**
   * True when the pull listed every record of the type inside the window (no modified-since filter), so any stored id
   * not seen may be marked deleted (ID reconciliation, sync-behaviour.md §7). False for incremental pulls.
   */
  fullListing: boolean;
  /** Platform calls made, for politeness reporting. */
  calls?: number;
}

export interface TokenLifetimes {
  /** Access token lifetime in seconds (Xero: 1800). */
  accessTokenSeconds: number;
  /** Refresh token idle lifetime in days (Xero: 60; QBO: 100). */
  refreshTokenIdleDays: number;
  /** True when a bare token refresh keeps the connection alive; false → keep-alive pulls `company` instead. */
  refreshKeepsAlive: boolean;
}

export interface Connector {
  /** Integration key, e.g. `mqjo`. */
  readonly key: string;
  readonly tokenLifetimes: TokenLifetimes;
  /** Maximum datasets of one connection run at once (platforms cap concurrent calls per tenant). */
  readonly maxConcurrentPullsPerConnection: number;
  /** The data types this connector reads. */
  supports(dataType: DataType): boolean;
  /** Streams pages of mapped records; returns the outcome when done. */
  pull(req: PullRequest): AsyncGenerator<SourceRecord[], PullOutcome, void>;
  /**
   * Called when a connection becomes Linked through the link flow with no credentials from the client (Sandbox):
   * returns the initial credentials and connection info (the Sandbox creates its tenant here).
   */
  authorize?(args: { connectionId: string; companyName: string; signal: AbortSignal }): Promise<{ credentials: Credentials; connectionInfo: Record<string, string> }>;
  /** Validates client-supplied credentials (PUT …/authorization) by refreshing the token; returns what to store. */
  validateCredentials?(credentials: Credentials, signal: AbortSignal): Promise<{ credentials: Credentials; connectionInfo: Record<string, string> }>;
  /** Keep-alive: refresh the token once (one call, no dataset). Uses CredentialsStore.refresh. */
  keepAlive?(credentials: CredentialsStore, signal: AbortSignal): Promise<void>;
  /** The OAuth side of the Link flow (platforms linked through a browser consent: QuickBooks Online, Xero). */
  readonly oauthLinker?: OAuthLinker;
  /** Files kept at the platform (attachments, invoice PDFs), read live (./files.ts); absent → none. */
  readonly files?: ConnectorFiles;
  /** Best-effort token revocation when a connection is deleted. */
  revoke?(credentials: Credentials, signal: AbortSignal): Promise<void>;
}

/** Base of every typed connector failure. `statusCode` is the platform's HTTP status when there was one. */
export class ConnectorError extends Error {
  constructor(
    message: string,
    readonly statusCode?: number,
  ) {
    super(message);
    this.name = new.target.name;
  }
}
/** Refresh token revoked/expired, or 401 after a successful refresh → AuthError, connection Deauthorized. */
export class AuthRevokedError extends ConnectorError {}
/** Rate limited beyond the pause budget → RateLimitError. `resetAt` is when calls may resume. */
export class RateLimitedError extends ConnectorError {
  constructor(
    message: string,
    readonly resetAt: Date,
    statusCode = 429,
  ) {
    super(message, statusCode);
  }
}
/** Scopes or role do not allow this type → PermissionsError. */
export class PermissionDeniedError extends ConnectorError {}
/** The platform does not provide this type for this account → NotSupported. */
export class NotSupportedError extends ConnectorError {}
/** Network failure, 5xx, timeout, truncated or malformed payload, after retries → FetchError. */
export class FetchFailedError extends ConnectorError {}
/** A platform record could not be mapped to the model → MapError. */
export class MappingError extends ConnectorError {}

export interface ConnectorContext {
  clock: Clock;
}

/** Connectors by integration key. */
export class ConnectorRegistry {
  private readonly byKey = new Map<string, Connector>();
  register(c: Connector): this {
    this.byKey.set(c.key, c);
    return this;
  }
  get(key: string): Connector | undefined {
    return this.byKey.get(key);
  }
  list(): Connector[] {
    return [...this.byKey.values()];
  }
}

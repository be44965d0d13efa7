import type { Logger } from '../lib/logger.js';
import type { RecordBudget } from './list-stream.js';
import type { Clock } from '../lib/clock.js';
import type { SecretBox } from '../lib/secrets.js';
import type { IntegrationRegistry } from '../connectors/integrations.js';
import type { Store } from '../store/db.js';
import type { MetricsSource } from './metrics.js';
import type { OAuthLinker } from '../domain/oauth-link.js';
import type { LiveFiles } from '../domain/platform-files.js';
import { ApiKeysRepository } from '../store/api-keys.repository.js';
import { CompaniesRepository } from '../store/companies.repository.js';
import { ConnectionsRepository } from '../store/connections.repository.js';
import { InstanceRepository } from '../store/instance.repository.js';

export interface Repositories {
  companies: CompaniesRepository;
  connections: ConnectionsRepository;
  apiKeys: ApiKeysRepository;
  instance: InstanceRepository;
}

/** `clock` dates the short-lived lookups of API keys and companies (src/store/recent-lookups.ts). */
export function repositories(store: Store, clock?: Clock): Repositories {
  return {
    companies: new CompaniesRepository(store.db, clock),
    connections: new ConnectionsRepository(store.db),
    apiKeys: new ApiKeysRepository(store.db, clock),
    instance: new InstanceRepository(store.db),
  };
}

/** What route modules are handed: everything is injected, nothing is read from the environment. */
export interface ApiContext {
  readonly store: Store;
  readonly repos: Repositories;
  readonly clock: Clock;
  readonly registry: IntegrationRegistry;
  readonly secretBox: SecretBox;
  readonly log: Logger;
  /** Externally visible base URL, without a trailing slash. A function: with PORT=0 it is known only after listen. */
  readonly publicBaseUrl: () => string;
  readonly instanceName: string;
  readonly configuredRedirectUrl: string | undefined;
  /** Maximum request body in bytes (1 MiB by contract). */
  readonly bodyLimit: number;
  /** Where GET /metrics reads from: undefined → built from the store; false → not on the API port (SYNCLINE_METRICS_PORT). */
  readonly metrics?: MetricsSource | false;
  /** Called after datasets were queued: wakes this process's idle workers at once. */
  readonly onQueued?: () => void;
  /** SYNCLINE_HISTORY_RETENTION_DAYS: record history older than this is pruned and asOf reads before it answer 400; undefined = kept forever. */
  readonly historyRetentionDays?: number | undefined;
  /** Records all list responses of this app may hold at once (default DEFAULT_RECORD_BUDGET, src/api/list-stream.ts). */
  readonly listRecordBudget?: RecordBudget;
  /** SYNCLINE_WEBHOOKS_ALLOW_PRIVATE: webhook consumers may target private and loopback addresses (default false). */
  readonly webhooksAllowPrivate?: boolean;
  /**
   * Obtains platform credentials for a connection linked through its linkUrl with no client-supplied credentials
   * (the Sandbox creates its tenant here). Wired from the connector registry; undefined → nothing to store.
   */
  /** Best-effort revocation of a deleted connection's tokens at its platform; never throws. */
  readonly revokeConnection?: (conn: { integration_key: string; credentials: string | null }) => Promise<void>;
  /** The OAuth side of the Link flow for an integration (Xero); undefined → that integration cannot be linked by a browser. */
  readonly oauthLinker?: (integrationKey: string) => OAuthLinker | undefined;
  /** Live reads of a connection's files at its platform (attachments, invoice PDFs); undefined → none served. */
  readonly liveFiles?: (conn: { id: string; integration_key: string; connection_info: string | null }) => LiveFiles | undefined;
  readonly authorizeConnection?: (conn: { id: string; integrationKey: string; companyName: string }) => Promise<
    { credentials: Record<string, unknown>; connectionInfo: Record<string, string> } | undefined
  >;
}

/**
 * Binds a connector's live file reads (attachments, invoice PDFs: src/connectors/files.ts) to one stored connection
 * for the API (src/domain/platform-files.ts): its credentials through the store (token refreshes persisted before use,
 * as in a pull), its connection info, and connector failures translated into the API's named errors.
 */
import type { ConnectorRegistry } from '../connectors/connector.js';
import { AuthRevokedError, ConnectorError, NotSupportedError, PermissionDeniedError, RateLimitedError } from '../connectors/connector.js';
import { FileNotFoundError, type FileRequest } from '../connectors/files.js';
import { NotFoundError, SynclineError } from '../domain/errors.js';
import type { LiveFiles } from '../domain/platform-files.js';
import type { Clock } from '../lib/clock.js';
import { KeyedMutex } from '../lib/mutex.js';
import type { SecretBox } from '../lib/secrets.js';
import type { Store } from '../store/db.js';
import { StoredCredentials } from './credentials.js';

export interface LiveFilesDeps {
  store: Store;
  connectors: ConnectorRegistry;
  secretBox: SecretBox;
  clock: Clock;
  mutex?: KeyedMutex;
}

/** Platform failures as API errors: 404 for a record or file the platform does not have, 429, 403, else 502-free 503. */
export function platformFileError(err: unknown): unknown {
  if (!(err instanceof ConnectorError)) return err;
  if (err instanceof FileNotFoundError || err instanceof NotSupportedError) return new NotFoundError(`Not found at the platform: ${err.message}`);
  if (err instanceof RateLimitedError) return new SynclineError(429, 'PublicApi', `The platform is rate limiting this connection; try again after ${err.resetAt.toISOString()}`);
  if (err instanceof AuthRevokedError || err instanceof PermissionDeniedError) return new SynclineError(403, 'PublicApi', `The platform refused access: ${err.message}`);
  return new SynclineError(503, 'PublicApi', `The platform could not be read: ${err.message}`);
}

export function liveFiles(deps: LiveFilesDeps): (conn: { id: string; integration_key: string; connection_info: string | null }) => LiveFiles | undefined {
  const mutex = deps.mutex ?? new KeyedMutex();
  return (conn) => {
    const connector = deps.connectors.get(conn.integration_key);
    const files = connector?.files;
    if (!connector || !files) return undefined;
    const credentials = new StoredCredentials(deps.store, conn.id, deps.secretBox, mutex, deps.clock, connector.tokenLifetimes.refreshTokenIdleDays);
    const connectionInfo = conn.connection_info ? (JSON.parse(conn.connection_info) as Record<string, string>) : {};
    const req = (signal: AbortSignal): FileRequest => ({ credentials, connectionInfo, clock: deps.clock, signal });
    const translated = async <T>(fn: () => Promise<T>): Promise<T> => {
      try {
        return await fn();
      } catch (err) {
        throw platformFileError(err);
      }
    };
    return {
      attachmentTypes: files.attachmentTypes,
      invoicePdf: files.invoicePdf,
      listAttachments: (type, recordId, signal) => translated(() => files.listAttachments(req(signal), type, recordId)),
      downloadAttachment: (type, recordId, attachmentId, signal) => translated(() => files.downloadAttachment(req(signal), type, recordId, attachmentId)),
      getInvoicePdf: (invoiceId, signal) => translated(() => files.getInvoicePdf(req(signal), invoiceId)),
    };
  };
}

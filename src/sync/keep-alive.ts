import { AuthRevokedError, type ConnectorRegistry } from '../connectors/connector.js';
import type { Clock } from '../lib/clock.js';
import type { KeyedMutex } from '../lib/mutex.js';
import type { SecretBox } from '../lib/secrets.js';
import type { Store } from '../store/db.js';
import type { ConnectionRow } from '../store/connections.repository.js';
import { queueRead } from '../store/enqueue.js';
import { SyncSettingsRepository } from '../store/sync-settings.repository.js';
import { StoredCredentials } from './credentials.js';
import { deauthorize } from './run-dataset.js';

export interface KeepAliveRunnerDeps {
  store: Store;
  connectors: ConnectorRegistry;
  clock: Clock;
  secretBox: SecretBox;
  mutex: KeyedMutex;
  onQueued?: () => void;
}

/**
 * Keeps one connection alive: a single token refresh (no dataset) where the platform's tokens live on refreshes; else
 * a pull of its cheapest type, `company`. A refresh the platform refuses deauthorizes the connection.
 */
export function keepAliveRunner(deps: KeepAliveRunnerDeps): (conn: ConnectionRow) => Promise<void> {
  return async (conn) => {
    const connector = deps.connectors.get(conn.integration_key);
    if (!connector) return;
    if (connector.tokenLifetimes.refreshKeepsAlive && connector.keepAlive) {
      const creds = new StoredCredentials(deps.store, conn.id, deps.secretBox, deps.mutex, deps.clock, connector.tokenLifetimes.refreshTokenIdleDays);
      try {
        await connector.keepAlive(creds, AbortSignal.timeout(60_000));
      } catch (err) {
        if (err instanceof AuthRevokedError) {
          await deauthorize(deps.store, conn.id, err, deps.clock.now().toISOString());
          return;
        }
        throw err;
      }
      return;
    }
    const effective = await new SyncSettingsRepository(deps.store.db).effective(conn.company_id);
    await queueRead(
      deps.store.db,
      deps.store.dialect,
      {
        companyId: conn.company_id,
        connection: conn,
        settings: [effective.get('company')!],
        trigger: 'keep-alive',
        now: deps.clock.now().toISOString(),
        supports: (t) => connector.supports(t),
        integrationEnabled: true,
      },
      deps.onQueued,
    );
  };
}

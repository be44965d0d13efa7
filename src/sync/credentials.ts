
import type { Credentials, CredentialsStore } from '../connectors/connector.js';
import type { SecretBox } from '../lib/secrets.js';
import type { KeyedMutex } from '../lib/mutex.js';
import type { Clock } from '../lib/clock.js';
import type { Store } from '../store/db.js';

/**
 * A connection's credentials for a connector, over the store. Token refreshes are serialised per connection:
 * PostgreSQL holds the connection row lock (SELECT … FOR UPDATE) across the refresh, so two workers in any processes
 * never refresh the same connection at once; SQLite (one process) uses an in-process mutex. The rotated credentials
 * are written (encrypted) before they are handed back for use (sync-behaviour.md §5.4).
 */
export class StoredCredentials implements CredentialsStore {
  constructor(
    private readonly store: Store,
    private readonly connectionId: string,
    private readonly box: SecretBox,
    private readonly mutex: KeyedMutex,
    private readonly clock: Clock,
    /** Refresh-token idle lifetime, to show when the token would lapse. */
    private readonly refreshTokenIdleDays: number,
  ) {}

  async read(): Promise<Credentials> {
    const row = await this.store.db.selectFrom('connections').select('credentials').where('id', '=', this.connectionId).executeTakeFirst();
    return row?.credentials ? this.box.openJson<Credentials>(row.credentials) : {};
  }

  async refresh(fn: (current: Credentials) => Promise<Credentials>): Promise<Credentials> {
    if (this.store.dialect === 'postgres') {
      return this.store.db.transaction().execute(async (trx) => {
        const row = await trx
          .selectFrom('connections')
          .select('credentials')
          .where('id', '=', this.connectionId)
          .forUpdate()
          .executeTakeFirst();
        const current = row?.credentials ? this.box.openJson<Credentials>(row.credentials) : {};
        const next = await fn(current);
        if (next !== current) await this.write(trx, next);
        return next;
      });
    }
    return this.mutex.run(`credentials:${this.connectionId}`, async () => {
      const current = await this.read();
      const next = await fn(current);
      if (next !== current) await this.write(this.store.db, next);
      return next;
    });
  }

  private async write(db: Store['db'], creds: Credentials): Promise<void> {
    const now = this.clock.now();
    // The platform's own lapse date when it gave one (QuickBooks: x_refresh_token_expires_in), else the idle lifetime.
    const given = typeof creds.refreshTokenExpiresAt === 'string' && !Number.isNaN(Date.parse(creds.refreshTokenExpiresAt)) ? creds.refreshTokenExpiresAt : undefined;
    const lapse = given ?? new Date(now.getTime() + this.refreshTokenIdleDays * 86_400_000).toISOString();
    await db
      .updateTable('connections')
      .set({ credentials: this.box.sealJson(creds), token_used_at: now.toISOString(), refresh_token_expires_at: lapse, updated_at: now.toISOString() })
      .where('id', '=', this.connectionId)
      .execute();
  }
}


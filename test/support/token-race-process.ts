/**
 * One "worker process" of test/xero-token-race.test.ts: the production configuration (SYNCLINE_XERO_*, DATABASE_URL,
 * SYNCLINE_SECRET_KEY), the real Xero connector and the worker's credentials store over PostgreSQL. It waits for a
 * go-file, then pulls `company` for the connection — which needs a fresh access token — and prints the outcome.
 */
import { existsSync } from 'node:fs';
import { parseConfig } from '../../src/cli/config.js';
import { xeroConnector } from '../../src/cli/xero.js';
import { openStore } from '../../src/store/db.js';
import { StoredCredentials } from '../../src/sync/credentials.js';
import { SecretBox } from '../../src/lib/secrets.js';
import { KeyedMutex } from '../../src/lib/mutex.js';
import { systemClock } from '../../src/lib/clock.js';

const [connectionId, tenantId, goFile] = process.argv.slice(2) as [string, string, string];
const config = parseConfig(process.env);
const store = openStore({ databaseUrl: config.databaseUrl! });
const connector = xeroConnector(config.xero!, systemClock);
const credentials = new StoredCredentials(store, connectionId, new SecretBox(config.secretKey!), new KeyedMutex(), systemClock, 60);
process.stdout.write('ready\n');
while (!existsSync(goFile)) await new Promise((r) => setTimeout(r, 5));
try {
  const gen = connector.pull({
    dataType: 'company',
    credentials,
    connectionInfo: { tenantId },
    cursor: undefined,
    full: true,
    window: {},
    clock: systemClock,
    signal: AbortSignal.timeout(30_000),
    reportProgress: () => {},
    reportPause: () => {},
  });
  let records = 0;
  for (;;) {
    const n = await gen.next();
    if (n.done) break;
    records += n.value.length;
  }
  process.stdout.write(`done ${records}\n`);
} catch (err) {
  process.stdout.write(`failed ${(err as Error).message}\n`);
} finally {
  await store.close();
}

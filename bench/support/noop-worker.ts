/**
 * A `syncline worker` process whose only connector reads nothing (bench/support/noop-connector.ts): the real server
 * wiring (worker pool, LISTEN/NOTIFY wake-ups, sweeper, webhook sender), so the queue benchmark measures the queue.
 * Configured from the environment like `syncline worker`; prints "ready" once started; stops on SIGTERM.
 */
import { ConnectorRegistry } from '../../src/connectors/connector.js';
import { parseConfig } from '../../src/cli/config.js';
import { startServer } from '../../src/cli/server.js';
import { createLogger } from '../../src/lib/logger.js';
import { NoopConnector } from './noop-connector.js';
import { countPgStatements, cpuMs } from './statement-count.js';

const statements = countPgStatements();

const config = parseConfig(process.env);
const server = await startServer(config, {
  roles: { api: false, workers: true, scheduler: false },
  connectors: new ConnectorRegistry().register(new NoopConnector()),
  logger: createLogger(config.logLevel),
});
process.stdout.write(`cpu0 ${Math.round(cpuMs())}\nready\n`);
process.once('SIGTERM', () => {
  void server.close().then(() => {
    process.stdout.write(`statements ${statements()}\ncpu ${Math.round(cpuMs())}\n`);
    process.exit(0);
  });
});

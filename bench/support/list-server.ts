/**
 * The query benchmark's server (issue 17): `syncline serve --no-worker` as the CLI starts it (src/cli/main.ts
 * runNode: the same config from the environment, heap-growth setting, startServer, Fastify app, auth and pool), with
 * the bench-only routes of same-size.ts registered on that app instance and the stage probe listening. Prints
 * `url <url>` once listening; stops on SIGTERM (exiting normally, so `--cpu-prof` writes its profile).
 */
import { parseConfig } from '../../src/cli/config.js';
import { startServer } from '../../src/cli/server.js';
import { limitHeapGrowth } from '../../src/lib/heap-growth.js';
import { createLogger } from '../../src/lib/logger.js';
import { sameSizeRoutes, StageProbe } from './same-size.js';

const config = parseConfig(process.env);
limitHeapGrowth();
const probe = new StageProbe();
probe.wrapStore();
const server = await startServer(config, {
  logger: createLogger(config.logLevel),
  roles: { api: true, workers: false, scheduler: false },
  apiExtensions: [sameSizeRoutes(probe)],
});
probe.attach(server.app!.server);
process.stdout.write(`url ${server.url}\n`);
process.once('SIGTERM', () => void server.close().then(() => process.exit(0), () => process.exit(1)));

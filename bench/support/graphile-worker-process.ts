/** graphile-worker running no-op jobs (the queue benchmark's baseline); prints "ready" once started; stops on SIGTERM. */
import { Logger, run } from 'graphile-worker';

const runner = await run({
  connectionString: process.env.DATABASE_URL!,
  concurrency: Number(process.env.CONCURRENCY ?? 4),
  noHandleSignals: true,
  pollInterval: 2000,
  // Quiet, like the Syncline workers it is compared with (graphile-worker logs every job at info level).
  logger: new Logger(() => () => {}),
  taskList: { noop: async () => {} },
});
process.stdout.write('ready\n');
process.once('SIGTERM', () => {
  void runner.stop().then(() => process.exit(0));
});
await runner.promise;

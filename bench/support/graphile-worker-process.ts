/** graphile-worker running no-op jobs (the queue benchmark's baseline); prints "ready" once started; stops on SIGTERM. */
import { Logger, run } from 'graphile-worker';
import { countPgStatements, cpuMs } from './statement-count.js';

const statements = countPgStatements();

const runner = await run({
  connectionString: process.env.DATABASE_URL!,
  concurrency: Number(process.env.CONCURRENCY ?? 4),
  noHandleSignals: true,
  pollInterval: 2000,
  // Quiet, like the Syncline workers it is compared with (graphile-worker logs every job at info level).
  logger: new Logger(() => () => {}),
  taskList: {
    noop: async () => {},
    // The writes a Syncline dataset's completion makes, in one transaction of the job's own: one row and one outbox
    // row (one statement: a data-modifying CTE commits both or neither, in one round trip).
    write: async (payload, helpers) => {
      const n = (payload as { n: number }).n;
      await helpers.withPgClient((client) =>
        client.query('with r as (insert into bench_rows (n, at) values ($1, now()) returning id) insert into bench_outbox (row_id, event) select id, $2 from r', [n, 'row.written']),
      );
    },
  },
});
process.stdout.write(`cpu0 ${Math.round(cpuMs())}\nready\n`);
process.once('SIGTERM', () => {
  void runner.stop().then(() => {
    process.stdout.write(`statements ${statements()}\ncpu ${Math.round(cpuMs())}\n`);
    process.exit(0);
  });
});
await runner.promise;

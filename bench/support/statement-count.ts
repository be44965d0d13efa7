import pg from 'pg';

/**
 * Counts every statement this process sends through node-postgres (each `client.query` call is one round trip: Kysely,
 * graphile-worker and the LISTEN clients all go through it). Returns a reader of the count so far.
 */
export function countPgStatements(): () => number {
  let n = 0;
  const original = pg.Client.prototype.query;
  pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
    n++;
    return (original as (...a: unknown[]) => unknown).apply(this, args);
  } as typeof original;
  return () => n;
}

/** CPU time (user + system) this process used so far, in ms: printed at exit next to the statement count. */
export function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

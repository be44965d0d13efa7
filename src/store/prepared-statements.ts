import { createHash } from 'node:crypto';
import type pg from 'pg';
import type { PostgresPool, PostgresPoolClient } from 'kysely';

/**
 * Server-side prepared statements on PostgreSQL, keyed by SQL text (issue 17). Kysely's PostgresDriver sends every
 * statement unnamed, so PostgreSQL parses and plans it at each execution: planning was ~85 % of a dataStatus
 * statement's time. node-postgres prepares a statement once per connection when the query carries a `name`; this
 * names the hot ones by a hash of their text.
 *
 * - Only parameterised SELECT/INSERT/UPDATE/DELETE/WITH statements (those already go through the extended protocol;
 *   a parameterless text may hold several statements, which only the simple protocol runs).
 * - A text is named from its second execution in this process, and at most `maxNamed` texts are ever named (the
 *   first ones to be seen twice), so one-off texts (IN lists of many lengths) neither take a slot nor leave a
 *   statement on every connection. The server keeps at most `maxNamed` statements per pooled connection.
 * - Plans: PostgreSQL plans a prepared statement with its parameters (a custom plan) for the first five executions,
 *   then keeps a generic plan when that one is estimated no dearer. The hot statements' generic plans are checked to
 *   use their indexes (src/store/prepared-statements.test.ts); the claim runs in a function whose body is checked
 *   under both plan modes (claim-plan.test.ts).
 * - A migration run by another process can change a table under a prepared `select *`: PostgreSQL then refuses the
 *   statement ("cached plan must not change result type", 0A000). The statement is run again unnamed when no
 *   transaction is open (nothing ran: the error comes before execution), and the connection is dropped from the pool
 *   when released, so its stale statements go with it.
 */
export class StatementNames {
  private readonly named = new Map<string, string>();
  private readonly seen = new Set<string>();
  constructor(
    readonly maxNamed = 500,
    private readonly maxSeen = 5000,
  ) {}

  /** The statement name for `text`, or undefined to run it unnamed. */
  nameFor(text: string, values: readonly unknown[] | undefined): string | undefined {
    const hit = this.named.get(text);
    if (hit !== undefined) return hit;
    if (!values?.length || !PREPARABLE.test(text)) return undefined;
    if (!this.seen.has(text)) {
      if (this.seen.size >= this.maxSeen) this.seen.clear();
      this.seen.add(text);
      return undefined;
    }
    if (this.named.size >= this.maxNamed) return undefined;
    this.seen.delete(text);
    const name = `syncline_${createHash('sha1').update(text).digest('hex').slice(0, 24)}`;
    this.named.set(text, name);
    return name;
  }

  get size(): number {
    return this.named.size;
  }
}

const PREPARABLE = /^\s*(select|insert|update|delete|with)\b/i;
const BEGIN = /^\s*(begin|start\s+transaction)\b/i;
const END = /^\s*(commit|end|rollback)\s*;?\s*$/i;

function isStalePlan(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | undefined;
  return e?.code === '0A000' && typeof e.message === 'string' && /cached plan must not change result type/.test(e.message);
}

/** The pool Kysely's PostgresDialect gets: the same pg pool, whose clients name hot statements. */
export function preparingPool(pool: pg.Pool, names: StatementNames = new StatementNames()): PostgresPool {
  // Kysely keeps its connection object per client (a WeakMap keyed by what connect() returns): one wrapper per client.
  const wrappers = new WeakMap<pg.PoolClient, PostgresPoolClient>();
  return {
    async connect() {
      const client = await pool.connect();
      let w = wrappers.get(client);
      if (!w) {
        w = preparingClient(client, names);
        wrappers.set(client, w);
      }
      return w;
    },
    end: () => pool.end(),
  };
}

/**
 * Runs one statement through pg's callback form, never its promise form (issue 17, list p99 on PostgreSQL). When
 * `client.query` is called without a callback, pg creates the Query first and then sets `query.callback` to a closure
 * made inside `client.query`, whose context also holds the Query; every result read that way (the Query, its Result,
 * the rows and their document strings) then stayed reachable from the old generation until the next full collection,
 * so each young-generation collection copied, then promoted, the results of the last ~30 lists: measured on a list of
 * 100 invoices, 30 lists allocated 7.5 MB and 7.5 MB survived a scavenge (0.26 MB with a callback), scavenges took
 * 30–58 ms of CPU each on a 2-core machine, and those pauses were the list's p99 (docs/benchmarks.md, query). With a
 * callback, pg creates the Query with it and nothing made for the Query refers back to it. The rejection gets the
 * caller's stack, as pg's promise form gives it.
 */
function send(client: pg.PoolClient, config: pg.QueryConfig): Promise<pg.QueryResult> {
  return new Promise<pg.QueryResult>((resolve, reject) => {
    client.query(config, (err: Error | undefined, res: pg.QueryResult) => (err ? reject(err) : resolve(res)));
  }).catch((err: unknown) => {
    if (err instanceof Error) Error.captureStackTrace(err);
    throw err;
  });
}

function preparingClient(client: pg.PoolClient, names: StatementNames): PostgresPoolClient {
  let inTransaction = false;
  let stale = false;
  const run = async (text: string, values: readonly unknown[]) => {
    const name = stale ? undefined : names.nameFor(text, values);
    if (name === undefined) return send(client, { text, values: values as unknown[] });
    try {
      return await send(client, { name, text, values: values as unknown[] });
    } catch (err) {
      if (!isStalePlan(err)) throw err;
      stale = true;
      if (inTransaction) throw err;
      return send(client, { text, values: values as unknown[] });
    }
  };
  return {
    query(text: unknown, values?: readonly unknown[]) {
      // A cursor (streaming) passes through as it is.
      if (typeof text !== 'string') return client.query(text as never);
      const p = run(text, values ?? []);
      if (BEGIN.test(text)) return p.then((r) => ((inTransaction = true), r));
      if (END.test(text)) return p.finally(() => (inTransaction = false));
      return p;
    },
    release(destroy?: boolean) {
      client.release(destroy || stale ? true : undefined);
    },
  } as PostgresPoolClient;
}

/**
 * Issue 17, list p99 on PostgreSQL: which way of calling node-postgres keeps query results alive through young-generation
 * collections. Each variant reads the same 100 invoices (documents as text) 30 times on one client, then one scavenge
 * is forced: what survives it is what was still reachable (or reachable from the old generation). Run with a fixed young
 * generation so nothing is collected while reading:
 *
 *   RETENTION_DB=postgres://…/q_million node --expose-gc --min-semi-space-size=64 --max-semi-space-size=64 \
 *     --import tsx bench/pg-result-retention.ts
 *
 * (any database of bench query's seed; the 100 rows are the first invoices of its million-invoice company).
 */
import v8 from 'node:v8';
import pg from 'pg';

const pool = new pg.Pool({ connectionString: process.env.RETENTION_DB, max: 2 });
const conn = (await pool.query(`select c.id from connections c join companies co on co.id = c.company_id where co.name like 'Million Invoices Ltd%'`)).rows[0].id as string;
const text = `select record_id, data::text as data, modified_date, source_modified_date, is_deleted from records where connection_id = $1 and data_type = 'invoices' order by record_id limit 100`;
const gc = (globalThis as unknown as { gc: (o?: { type: 'minor' | 'major' }) => void }).gc;
const young = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')!.space_used_size;
const kib = (n: number) => `${(n / 1024).toFixed(0)} KiB`;
async function variant(label: string, read: () => Promise<unknown>) {
  for (let i = 0; i < 10; i++) await read();
  gc();
  gc();
  const before = young();
  for (let i = 0; i < 30; i++) await read();
  const allocated = young() - before;
  gc({ type: 'minor' });
  console.log(`| ${label} | ${kib(allocated)} | ${kib(young())} |`);
}
type Cb = (err: Error | undefined, res: pg.QueryResult) => void;
const Query = (pg as unknown as { Query: new (text: string, values?: unknown[], cb?: Cb) => { callback?: Cb; _result: unknown; _results: unknown } }).Query;
const settle = (resolve: (v: unknown) => void, reject: (e: unknown) => void): Cb => (err, res) => (err ? reject(err) : resolve(res));
const client = await pool.connect();
console.log('| 30 reads of 100 invoices on one client | allocated in the young generation | survives one scavenge |');
console.log('|---|---|---|');
await variant('`client.query(text, values)` (promise form)', () => client.query(text, [conn]));
await variant('`client.query(text, values, callback)` (callback form)', () => new Promise((resolve, reject) => client.query(text, [conn], settle(resolve, reject))));
await variant('a Query made without a callback, then given a closure that also holds the Query (what the promise form does)', () => {
  const q = new Query(text, [conn]);
  const p = new Promise((resolve, reject) => {
    q.callback = (err, res) => (err ? reject(err) : resolve(res));
  });
  client.query(q as never);
  return p;
});
await variant('the same, the closure made elsewhere (it does not hold the Query)', () => {
  const q = new Query(text, [conn]);
  const p = new Promise((resolve, reject) => {
    q.callback = settle(resolve, reject);
  });
  client.query(q as never);
  return p;
});
await variant('the promise form\'s closure, the result dropped from the Query in the callback', () => {
  const q = new Query(text, [conn]);
  const p = new Promise((resolve, reject) => {
    q.callback = (err, res) => {
      q._result = null;
      q._results = null;
      return err ? reject(err) : resolve(res.rows.length);
    };
  });
  client.query(q as never);
  return p;
});
client.release();
await pool.end();

/**
 * The API benchmark's baseline (issue 17): a bare Fastify 5 route running one trivial query (`select 1`) over the same
 * store the server opens — the same driver, Kysely and pool size — on the same database. Started with the database in
 * DATABASE_URL (PostgreSQL) or SQLITE_FILE; prints its URL; stops on SIGTERM.
 */
import Fastify from 'fastify';
import { sql } from 'kysely';
import { openStore } from '../../src/store/db.js';

const store = process.env.DATABASE_URL ? openStore({ databaseUrl: process.env.DATABASE_URL }) : openStore({ sqliteFile: process.env.SQLITE_FILE! });
const app = Fastify({ logger: false });
app.get('/trivial-query', async () => {
  const r = await sql<{ one: number }>`select 1 as one`.execute(store.db);
  return { status: r.rows[0]?.one === 1 ? 'ok' : 'unexpected' };
});
await app.listen({ host: '127.0.0.1', port: 0 });
const addr = app.server.address();
process.stdout.write(`url http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}\n`);
process.once('SIGTERM', () => void app.close().then(() => store.close()).then(() => process.exit(0)));

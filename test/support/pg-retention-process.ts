/**
 * Child process of src/store/pg-retention.test.ts, started with `--expose-gc` and a fixed 64 MB young generation (so no
 * scavenge runs while it reads): reads 30 results of 100 rows of 2,000-character strings through a store on DATABASE_URL
 * (Kysely over the preparing pool, as every statement of the product runs), then forces one young-generation collection
 * and prints what the reads allocated in the young generation and how much of it survived, in bytes.
 */
import v8 from 'node:v8';
import { sql } from 'kysely';
import { openStore } from '../../src/store/db.js';

const gc = (globalThis as unknown as { gc: (o?: { type: 'minor' | 'major' }) => void }).gc;
const young = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')!.space_used_size;
const store = openStore({ databaseUrl: process.env.DATABASE_URL!, poolSize: 2 });
const read = (i: number) => sql<{ n: number; doc: string }>`select n, repeat(chr(97 + (n + ${i}) % 26), 2000) as doc from generate_series(1, 100) as n`.execute(store.db);
for (let i = 0; i < 10; i++) await read(i); // warm: plans, prepared statement, JIT
gc();
gc();
const before = young();
let rows = 0;
for (let i = 0; i < 30; i++) rows += (await read(i)).rows.length;
const allocated = young() - before;
gc({ type: 'minor' });
const survived = young();
process.stdout.write(`${JSON.stringify({ rows, allocated, survived })}\n`);
await store.close();

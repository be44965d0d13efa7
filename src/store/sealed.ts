import { sql, type Kysely } from 'kysely';
import type { Database } from './schema.js';
import type { Dialect } from './db.js';

/**
 * Every column that holds SecretBox-sealed text, with the column that identifies its row. **A new sealed column must be
 * listed here** (a test reads schema.ts and fails when a table documented as SecretBox-sealed is missing): key rotation
 * re-seals exactly these, and a start with no key check value stored looks here for data sealed with another key.
 */
export const SEALED_COLUMNS = [
  { table: 'connections', key: 'id', column: 'credentials' },
  { table: 'webhook_consumers', key: 'id', column: 'secret' },
  { table: 'webhook_consumers', key: 'id', column: 'previous_secret' },
  { table: 'link_states', key: 'token_hash', column: 'payload' },
] as const satisfies readonly { table: keyof Database; key: string; column: string }[];

/** instance_settings key of the key check value: a known plaintext sealed with the instance's secret key. */
export const SECRET_CHECK_SETTING = 'secret_key_check';
export const SECRET_CHECK_PLAINTEXT = 'syncline secret key check v1';

/** What opens and seals: a SecretBox, seen from the store (which does not construct one). */
export interface Sealer {
  seal(plaintext: string): string;
  open(sealed: string): string;
}

export interface SealedSample {
  table: string;
  column: string;
  value: string;
}

/** The stored key check value (a sealed JSON string in instance_settings), if any. */
export async function readSecretCheck(db: Kysely<Database>): Promise<string | undefined> {
  const row = await db.selectFrom('instance_settings').select('value').where('key', '=', SECRET_CHECK_SETTING).executeTakeFirst();
  return row ? (JSON.parse(row.value) as string) : undefined;
}

/** Stores the check value unless one is already stored; returns the stored one (first writer wins across processes). */
export async function initSecretCheck(db: Kysely<Database>, sealedCheck: string): Promise<string> {
  await db
    .insertInto('instance_settings')
    .values({ key: SECRET_CHECK_SETTING, value: JSON.stringify(sealedCheck) })
    .onConflict((oc) => oc.column('key').doNothing())
    .execute();
  return (await readSecretCheck(db))!;
}

/** One sealed value from any sealed column, if the database holds any: proof of the key it was sealed with. */
export async function firstSealedValue(db: Kysely<Database>): Promise<SealedSample | undefined> {
  for (const c of SEALED_COLUMNS) {
    const r = await sql<{ v: string }>`select ${sql.ref(c.column)} as v from ${sql.table(c.table)} where ${sql.ref(c.column)} is not null limit 1`.execute(db);
    if (r.rows[0]) return { table: c.table, column: c.column, value: r.rows[0].v };
  }
  return undefined;
}

export class ResealError extends Error {}

export interface ResealReport {
  /** Values re-sealed per `table.column`. */
  counts: Record<string, number>;
}

/**
 * Key rotation: every sealed value is opened with `from` and sealed again with `to`, and the key check value is
 * replaced, in ONE transaction — a value `from` cannot open aborts it all and nothing changes. Rows are locked on
 * PostgreSQL; on SQLite the transaction holds the database's write lock once it writes. Processes using the old key
 * must be stopped first: they would go on sealing with it.
 */
export async function resealAll(db: Kysely<Database>, dialect: Dialect, from: Sealer, to: Sealer): Promise<ResealReport> {
  return db.transaction().execute(async (trx) => {
    const counts: Record<string, number> = {};
    for (const c of SEALED_COLUMNS) {
      const lock = dialect === 'postgres' ? sql` for update` : sql``;
      const rows = (
        await sql<{ k: string; v: string }>`select ${sql.ref(c.key)} as k, ${sql.ref(c.column)} as v from ${sql.table(c.table)} where ${sql.ref(c.column)} is not null${lock}`.execute(trx)
      ).rows;
      for (const row of rows) {
        let plain: string;
        try {
          plain = from.open(row.v);
        } catch {
          throw new ResealError(`the old key cannot open ${c.table}.${c.column} of ${c.key} ${row.k}: nothing was changed`);
        }
        await sql`update ${sql.table(c.table)} set ${sql.ref(c.column)} = ${to.seal(plain)} where ${sql.ref(c.key)} = ${row.k}`.execute(trx);
      }
      counts[`${c.table}.${c.column}`] = rows.length;
    }
    const check = JSON.stringify(to.seal(SECRET_CHECK_PLAINTEXT));
    await trx
      .insertInto('instance_settings')
      .values({ key: SECRET_CHECK_SETTING, value: check })
      .onConflict((oc) => oc.column('key').doUpdateSet({ value: check }))
      .execute();
    return { counts };
  });
}

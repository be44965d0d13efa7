import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

/** Instance-wide key/value settings (client id, profile, sync settings…), each value a JSON document. */
export class InstanceRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async get<T>(key: string): Promise<T | undefined> {
    const row = await this.db.selectFrom('instance_settings').select('value').where('key', '=', key).executeTakeFirst();
    return row ? (JSON.parse(row.value) as T) : undefined;
  }

  async set(key: string, value: unknown): Promise<void> {
    const json = JSON.stringify(value);
    await this.db
      .insertInto('instance_settings')
      .values({ key, value: json })
      .onConflict((oc) => oc.column('key').doUpdateSet({ value: json }))
      .execute();
  }

  /** Stores `value` only if the key is absent, then returns whatever is stored: first writer wins across processes. */
  async getOrInit<T>(key: string, init: () => T): Promise<T> {
    const existing = await this.get<T>(key);
    if (existing !== undefined) return existing;
    await this.db
      .insertInto('instance_settings')
      .values({ key, value: JSON.stringify(init()) })
      .onConflict((oc) => oc.column('key').doNothing())
      .execute();
    return (await this.get<T>(key)) as T;
  }
}

import type { Kysely } from 'kysely';
import { effectiveSettings, profileSettings, type CompanySettingsState, type SyncSetting } from '../domain/sync-settings.js';
import type { DataType } from '../domain/data-types.js';
import type { Database } from './schema.js';
import { InstanceRepository } from './instance.repository.js';

const PROFILE_KEY = 'profile_sync_settings';

/** Profile (instance) and company sync settings (platform-api.md §5.7, sync-behaviour.md §5). */
export class SyncSettingsRepository {
  private readonly instance: InstanceRepository;
  constructor(private readonly db: Kysely<Database>) {
    this.instance = new InstanceRepository(db);
  }

  /** The stored profile list (only the posted entries), or undefined → built-in defaults. */
  storedProfile(): Promise<SyncSetting[] | undefined> {
    return this.instance.get<SyncSetting[]>(PROFILE_KEY);
  }

  async profile(): Promise<SyncSetting[]> {
    return profileSettings(await this.storedProfile());
  }

  async setProfile(settings: SyncSetting[] | undefined): Promise<void> {
    await this.instance.set(PROFILE_KEY, settings ?? []);
  }

  async company(companyId: string): Promise<CompanySettingsState | undefined> {
    const row = await this.db.selectFrom('company_sync_settings').selectAll().where('company_id', '=', companyId).executeTakeFirst();
    if (!row) return undefined;
    return { overridesDefaults: row.overrides_defaults === 1, settings: JSON.parse(row.settings) as SyncSetting[] };
  }

  async setCompany(companyId: string, state: CompanySettingsState): Promise<void> {
    const values = { company_id: companyId, overrides_defaults: state.overridesDefaults ? 1 : 0, settings: JSON.stringify(state.settings) };
    await this.db
      .insertInto('company_sync_settings')
      .values(values)
      .onConflict((oc) => oc.column('company_id').doUpdateSet({ overrides_defaults: values.overrides_defaults, settings: values.settings }))
      .execute();
  }

  async effective(companyId: string): Promise<Map<DataType, SyncSetting>> {
    const [profile, company] = await Promise.all([this.profile(), this.company(companyId)]);
    return effectiveSettings(profile, company);
  }
}

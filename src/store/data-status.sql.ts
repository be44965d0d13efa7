import { sql, type Kysely } from 'kysely';
import { DATA_TYPES, type DataType } from '../domain/data-types.js';
import type { CompanySettingsState, SyncSetting } from '../domain/sync-settings.js';
import type { Database } from './schema.js';
import type { Dialect } from './db.js';
import { CURRENT_CONNECTION_ORDER } from './connections.repository.js';

export interface DataStatusFacts {
  /** The company's current accounting connection (ConnectionsRepository.current's rule), if it has one. */
  connection: { id: string; integrationKey: string } | undefined;
  /** Per data type on that connection: the newest dataset, and the newest Complete one. */
  latest: Map<DataType, { id: string; status: string }>;
  latestComplete: Map<DataType, { id: string; completed: string | null }>;
  /** The stored profile sync settings (undefined: built-in defaults) and the company's own, as SyncSettingsRepository reads them. */
  storedProfile: SyncSetting[] | undefined;
  company: CompanySettingsState | undefined;
}

// The data types as a constant VALUES list, so the statement's text never changes (it is prepared once per connection).
const TYPES = sql.raw(`values ${DATA_TYPES.map((t) => `('${t}')`).join(', ')}`);

/**
 * `types` joined to the newest dataset of each type on `conn` (the newest Complete one when `complete`), as `d`: one
 * backward probe of datasets_conn_type_seq per type. PostgreSQL needs LATERAL for it (a join ON d.seq = (subquery)
 * was planned as a hash join over every dataset); SQLite reads the subquery's row by rowid in a nested loop.
 */
function newest(dialect: Dialect, complete: boolean) {
  const status = sql.raw(complete ? ` and x.status = 'Complete'` : '');
  if (dialect === 'postgres') {
    return sql`types cross join lateral (select x.id, x.data_type, x.status, x.completed from datasets x
      where x.connection_id = (select id from conn) and x.data_type = types.t${status} order by x.seq desc limit 1) d`;
  }
  return sql`types join datasets d on d.seq = (select x.seq from datasets x
      where x.connection_id = (select id from conn) and x.data_type = types.t${status} order by x.seq desc limit 1)`;
}

/**
 * Everything GET /companies/{id}/dataStatus needs, in one statement (issue 17: it took 7, mostly planning): whether
 * the company exists, its current connection, the newest and the newest Complete dataset of each data type on it
 * (one probe of datasets_conn_type_seq per type, so a long history costs nothing more), and the profile's and the
 * company's sync settings. One row per fact, told apart by `kind`. Undefined when the company does not exist.
 */
export async function dataStatusFacts(db: Kysely<Database>, dialect: Dialect, companyId: string): Promise<DataStatusFacts | undefined> {
  const r = await sql<{ kind: string; id: string | null; data_type: string | null; status: string | null; value: string | null }>`
    with conn as (
      select id, integration_key from connections where company_id = ${companyId}
      order by ${CURRENT_CONNECTION_ORDER}
      limit 1
    ),
    types (t) as (${TYPES})
    select 'company' as kind, null as id, null as data_type, null as status, null as value from companies where id = ${companyId}
    union all
    select 'connection', id, integration_key, null, null from conn
    union all
    select 'latest', d.id, d.data_type, d.status, d.completed from ${newest(dialect, false)}
    union all
    select 'complete', d.id, d.data_type, d.status, d.completed from ${newest(dialect, true)}
    union all
    select 'profile', null, null, null, value from instance_settings where key = 'profile_sync_settings'
    union all
    select 'settings', null, null, cast(overrides_defaults as text), settings from company_sync_settings where company_id = ${companyId}`.execute(db);
  if (!r.rows.some((x) => x.kind === 'company')) return undefined;
  const facts: DataStatusFacts = { connection: undefined, latest: new Map(), latestComplete: new Map(), storedProfile: undefined, company: undefined };
  for (const x of r.rows) {
    if (x.kind === 'connection') facts.connection = { id: x.id!, integrationKey: x.data_type! };
    else if (x.kind === 'latest') facts.latest.set(x.data_type as DataType, { id: x.id!, status: x.status! });
    else if (x.kind === 'complete') facts.latestComplete.set(x.data_type as DataType, { id: x.id!, completed: x.value });
    else if (x.kind === 'profile') facts.storedProfile = JSON.parse(x.value!) as SyncSetting[];
    else if (x.kind === 'settings') facts.company = { overridesDefaults: x.status === '1', settings: JSON.parse(x.value!) as SyncSetting[] };
  }
  return facts;
}

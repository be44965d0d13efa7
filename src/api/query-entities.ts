/**
 * How each list resource is queried (query-language.md): the query language's property → SQL mapping for every
 * SQL-backed list, so `query`, `tags` and `orderBy` work the same on SQLite and PostgreSQL.
 */
import { sql } from 'kysely';
import { accountingEntity, isAccountingListType, platformEntity, type Entity, type SqlDialect } from '../query/index.js';
import { RECORD_KEY_COLUMNS } from '../store/migrations/0024-record-query-keys.js';
import { INTEGRATIONS } from '../connectors/integrations.js';
import { ERROR_STATUSES } from '../domain/statuses.js';

/** CASE integration_key WHEN … THEN … END over the fixed integration registry (constants, not client input). */
function byIntegration(column: string, pick: (i: (typeof INTEGRATIONS)[number]) => string) {
  const whens = INTEGRATIONS.map((i) => `when '${i.key}' then '${pick(i).replace(/'/g, "''")}'`).join(' ');
  return sql.raw(`(case ${column} ${whens} end)`);
}

export function companyEntity(baseUrl: string): Entity {
  return platformEntity(
    'Company',
    {
      id: sql.ref('companies.id'),
      name: sql.ref('companies.name'),
      description: sql.ref('companies.description'),
      created: sql.ref('companies.created_at'),
      lastSync: sql`(select max(d.completed) from datasets d where d.company_id = companies.id)`,
      redirect: sql`(${`${baseUrl}/link/companies/`} || companies.id)`,
      'dataConnections.status': (_dialect, pred) =>
        sql`exists (select 1 from connections c where c.company_id = companies.id and ${pred(sql.ref('c.status'))})`,
    },
    { tags: { column: sql.ref('companies.tags') } },
  );
}

export function connectionEntity(baseUrl: string): Entity {
  void baseUrl;
  return platformEntity('Connection', {
    id: sql.ref('connections.id'),
    integrationId: byIntegration('connections.integration_key', (i) => i.integrationId),
    integrationKey: sql.ref('connections.integration_key'),
    sourceId: byIntegration('connections.integration_key', (i) => i.sourceId),
    sourceType: byIntegration('connections.integration_key', (i) => i.sourceType),
    platformName: byIntegration('connections.integration_key', (i) => i.name),
    status: sql.ref('connections.status'),
    created: sql.ref('connections.created_at'),
    lastSync: sql`(select max(d.completed) from datasets d where d.connection_id = connections.id)`,
  });
}

const errorList = sql.raw(ERROR_STATUSES.map((s) => `'${s}'`).join(', '));

export const DatasetEntity: Entity = platformEntity('Dataset', {
  id: sql.ref('datasets.id'),
  companyId: sql.ref('datasets.company_id'),
  connectionId: sql.ref('datasets.connection_id'),
  dataType: sql.ref('datasets.data_type'),
  status: sql.ref('datasets.status'),
  statusDescription: sql.ref('datasets.status_description'),
  errorMessage: sql.ref('datasets.error_message'),
  requested: sql.ref('datasets.requested'),
  completed: sql.ref('datasets.completed'),
  progress: sql.ref('datasets.progress'),
  isErrored: sql`(datasets.status in (${errorList}))`,
});

/** Integrations are listed from code and filtered in memory with the same language. */
export const IntegrationEntity: Entity = platformEntity('Integration', {
  key: sql.ref('key'),
  name: sql.ref('name'),
  enabled: sql.ref('enabled'),
  sourceId: sql.ref('sourceId'),
  sourceType: sql.ref('sourceType'),
  integrationId: sql.ref('integrationId'),
  isOfflineConnector: sql.ref('isOfflineConnector'),
  isBeta: sql.ref('isBeta'),
  dataProvidedBy: sql.ref('dataProvidedBy'),
});

const recordEntities = new Map<string, Entity>();

const FOLDED_KEYS = Object.fromEntries(
  Object.entries(RECORD_KEY_COLUMNS).map(([column, { path }]) => [path, (dialect: SqlDialect) => (dialect === 'postgres' ? sql.ref(`records.${column}`) : undefined)]),
);

/** Accounting records: the document's properties from the model, Syncline's own fields from indexed columns. */
export function recordEntity(dataType: string): Entity {
  let e = recordEntities.get(dataType);
  if (!e) {
    if (!isAccountingListType(dataType)) throw new Error(`no list schema for ${dataType}`);
    e = accountingEntity(dataType, {
      document: sql.ref('records.data'),
      // PostgreSQL: the folded keys of the common document filters are stored columns (migration 0024), so their
      // counts are index-only; the asOf view gives its replaced half the same columns (history.repository).
      foldedKeys: FOLDED_KEYS,
      fields: {
        id: { type: 'string', sql: sql.ref('records.record_id') },
        modifiedDate: { type: 'date', dateFormat: 'canonical', sql: sql.ref('records.modified_date') },
        // normalised to UTC with milliseconds when stored (records.repository normaliseSourceDate)
        sourceModifiedDate: { type: 'date', dateFormat: 'canonical', sql: sql.ref('records.source_modified_date') },
        // NOT NULL, only ever 0 or 1 (the merge writes it): `!=true` compiles to `= 0`, an index range.
        'metadata.isDeleted': { type: 'boolean', booleanAsInteger: true, notNull: true, sql: sql.ref('records.is_deleted') },
      },
    });
    recordEntities.set(dataType, e);
  }
  return e;
}

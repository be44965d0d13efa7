/**
 * The queryable properties of the platform resources (query-language.md §6.1, §6.2), their types, default orders
 * and tiebreaks (platform-api.md §4). The API supplies only where each property lives in SQL:
 *
 *   const CompanyEntity = platformEntity('Company', {
 *     id: sql.ref('companies.id'),
 *     name: sql.ref('companies.name'),
 *     …,
 *     'dataConnections.status': (dialect, pred) =>
 *       sql`EXISTS (SELECT 1 FROM connections c WHERE c.company_id = companies.id AND ${pred(sql.ref('c.status'))})`,
 *   }, { tags: { column: sql.ref('companies.tags') } });
 *
 * The evaluator reads the same paths from the API-shaped objects (a Company's `dataConnections[].status`).
 */
import { DATA_TYPES } from '../domain/data-types.js';
import type { Service } from '../domain/errors.js';
import { CONNECTION_STATUSES, DATASET_STATUSES, SOURCE_TYPES } from '../domain/statuses.js';
import {
  defineEntity,
  type AnyOfFieldDef,
  type Entity,
  type FieldDef,
  type OpaqueFieldDef,
  type ScalarOptions,
  type ScalarType,
  type SqlSource,
  type TagSource,
} from './entity.js';

type PropertySpec = ({ type: ScalarType } & ScalarOptions) | { type: 'enum'; members: readonly string[]; anyOf: true };

interface ResourceSpec {
  service: Service;
  tiebreak: string;
  defaultOrder: { path: string; descending?: boolean };
  properties: Readonly<Record<string, PropertySpec>>;
  /** Declared so that their error explains why (arrays, maps, hidden); the message is the same as for unknown ones. */
  opaque: Readonly<Record<string, OpaqueFieldDef>>;
}

/** Syncline's own identifiers are lower-case UUIDs, and its own timestamps canonical UTC (platform-api.md §1, §7.12). */
const uuid = { type: 'string', storedLowercase: true } as const;
const timestamp = { type: 'date', dateFormat: 'canonical' } as const;
const string = { type: 'string' } as const;
const boolean = { type: 'boolean' } as const;

export const PLATFORM_RESOURCES = {
  Company: {
    service: 'ClientsApi',
    tiebreak: 'id',
    defaultOrder: { path: 'created' },
    properties: {
      id: uuid,
      name: string,
      description: string,
      created: timestamp,
      lastSync: timestamp,
      redirect: string,
      'dataConnections.status': { type: 'enum', members: CONNECTION_STATUSES, anyOf: true },
    },
    opaque: { tags: 'map', dataConnections: 'array', products: 'array', referenceSubsidiaryCompanies: 'array', referenceParentCompany: 'object' },
  },
  Connection: {
    service: 'ClientsApi',
    tiebreak: 'id',
    defaultOrder: { path: 'created' },
    properties: {
      id: uuid,
      integrationId: uuid,
      integrationKey: string,
      sourceId: uuid,
      sourceType: { type: 'enum', members: SOURCE_TYPES },
      platformName: string,
      status: { type: 'enum', members: CONNECTION_STATUSES },
      created: timestamp,
      lastSync: timestamp,
    },
    opaque: { connectionInfo: 'map', dataConnectionErrors: 'array' },
  },
  Integration: {
    service: 'ClientsApi',
    tiebreak: 'key',
    defaultOrder: { path: 'key' },
    properties: {
      key: string,
      name: string,
      enabled: boolean,
      sourceId: uuid,
      sourceType: { type: 'enum', members: SOURCE_TYPES },
      integrationId: uuid,
      isOfflineConnector: boolean,
      isBeta: boolean,
      dataProvidedBy: string,
    },
    opaque: { datatypeFeatures: 'array' },
  },
  Dataset: {
    service: 'PullApi',
    tiebreak: 'id',
    defaultOrder: { path: 'requested', descending: true },
    properties: {
      id: uuid,
      companyId: uuid,
      connectionId: uuid,
      dataType: { type: 'enum', members: DATA_TYPES },
      status: { type: 'enum', members: DATASET_STATUSES },
      statusDescription: string,
      errorMessage: string,
      requested: timestamp,
      completed: timestamp,
      progress: { type: 'number' },
      isErrored: boolean,
    },
    opaque: { isCompleted: 'hidden' },
  },
} as const satisfies Record<string, ResourceSpec>;

export type PlatformResource = keyof typeof PLATFORM_RESOURCES;

type Props<R extends PlatformResource> = (typeof PLATFORM_RESOURCES)[R]['properties'];

/** Where each queryable property lives: an SQL source, or for a collection property the EXISTS builder. */
export type PlatformSql<R extends PlatformResource> = {
  [K in keyof Props<R>]: Props<R>[K] extends { anyOf: true } ? AnyOfFieldDef['anyOf'] : SqlSource;
};

/**
 * The entity of a platform resource. `sql` must map every queryable property (TypeScript checks it); `get`
 * overrides how the evaluator reads a property from an object (default: the same dotted path).
 */
export function platformEntity<R extends PlatformResource>(
  resource: R,
  sqlFor: PlatformSql<R>,
  opts: { tags?: TagSource; get?: Partial<Record<keyof Props<R>, (row: unknown) => unknown>> } = {},
): Entity {
  const spec: ResourceSpec = PLATFORM_RESOURCES[resource];
  const sources = sqlFor as Record<string, unknown>;
  const gets = (opts.get ?? {}) as Record<string, ((row: unknown) => unknown) | undefined>;
  const fields: Record<string, FieldDef> = { ...spec.opaque };
  for (const [path, prop] of Object.entries(spec.properties)) {
    const source = sources[path];
    if (source === undefined) throw new Error(`${resource}: no SQL for property ${path}`);
    const get = gets[path];
    if ('anyOf' in prop) {
      fields[path] = { type: prop.type, members: prop.members, anyOf: source as AnyOfFieldDef['anyOf'], ...(get ? { values: (row) => asArray(get(row)) } : {}) };
    } else {
      fields[path] = { ...prop, sql: source as SqlSource, ...(get ? { get } : {}) };
    }
  }
  for (const path of Object.keys(sources)) {
    if (!Object.hasOwn(spec.properties, path)) throw new Error(`${resource}: ${path} is not a queryable property`);
  }
  return defineEntity({ name: resource, service: spec.service, fields, tiebreak: spec.tiebreak, defaultOrder: spec.defaultOrder, tags: opts.tags });
}

const asArray = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

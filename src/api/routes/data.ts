import type { FastifyInstance } from 'fastify';
import { DEFAULT_RECORD_BUDGET, RecordBudget, sendRecordList } from '../list-stream.js';
import { Type } from '@sinclair/typebox';
import { sql } from 'kysely';
import { companyNotFound, ConflictError, connectionNotFound, NotFoundError } from '../../domain/errors.js';
import { READ_TYPES, STATEMENTS, type ReadType } from '../../domain/read-types.js';
import { isInProgress, type DatasetStatus } from '../../domain/statuses.js';
import { buildStatement, type Month } from '../../domain/statements.js';
import { DatasetsRepository } from '../../store/datasets.repository.js';
import { RecordsRepository, recordDocument, recordJson } from '../../store/records.repository.js';
import type { ConnectionRow } from '../../store/connections.repository.js';
import type { ApiContext } from '../context.js';
import { envelope, pageRequest } from '../paging.js';
import { compileListQuery } from '../../query/index.js';
import { recordEntity } from '../query-entities.js';
import { AsOfQuery, PagingQuery, Uuid, errorResponses, paged } from '../schemas.js';
import { resolveAsOf } from './history.js';

type Scope = { companyId: string; connectionId?: string };

const Record_ = Type.Object({}, { additionalProperties: true, description: 'Accounting record (accounting-model.md §5)' });


export async function dataRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  const datasets = new DatasetsRepository(ctx.store.db, ctx.store.dialect);
  const records = new RecordsRepository(ctx.store.db, ctx.store.dialect);
  const defaultBudget = new RecordBudget(DEFAULT_RECORD_BUDGET);

  /** The connection a read serves: the one in the path, or the company's current accounting connection. */
  async function connectionFor(scope: Scope): Promise<ConnectionRow | undefined> {
    if (!(await ctx.repos.companies.exists(scope.companyId))) throw companyNotFound(scope.companyId);
    if (scope.connectionId) {
      const c = await ctx.repos.connections.get(scope.companyId, scope.connectionId);
      if (!c) throw connectionNotFound(scope.connectionId);
      return c;
    }
    return ctx.repos.connections.current(scope.companyId);
  }

  /** The 409 rule (sync-behaviour.md §10): data is served once any dataset of the type has completed. */
  async function readable(scope: Scope, dataType: string): Promise<ConnectionRow> {
    const conn = await connectionFor(scope);
    if (!conn) throw new ConflictError('The data set has not been requested.');
    const { latest, hasComplete } = await datasets.availability(conn.id, dataType);
    if (hasComplete) return conn;
    if (!latest) throw new ConflictError('The data set has not been requested.');
    if (isInProgress(latest.status as DatasetStatus)) throw new ConflictError('The data set is still syncing.');
    if (latest.status === 'NotSupported') {
      const name = ctx.registry.get(conn.integration_key)?.name ?? conn.integration_key;
      throw new NotFoundError(`Datatype ${dataType} not supported by platform(s) ${name}`);
    }
    throw new ConflictError('The data set has not been synced successfully.');
  }

  const prefixes = [
    { prefix: '/companies/:companyId/data', params: Type.Object({ companyId: Uuid }), tag: 'company' },
    { prefix: '/companies/:companyId/connections/:connectionId/data', params: Type.Object({ companyId: Uuid, connectionId: Uuid }), tag: 'connection' },
  ];

  for (const { prefix, params, tag } of prefixes) {
    for (const rt of READ_TYPES) registerRecordType(rt, prefix, params, tag);
    for (const st of STATEMENTS) registerStatement(st, prefix, params, tag);
    // Other data types and sub-resources (pdf, attachments…) are not served in v1 (accounting-model.md §2).
    app.get(`${prefix}/*`, { schema: { hide: true } }, async (req) => {
      throw new NotFoundError(`Operation GET ${req.url.split('?')[0]} is not supported by Syncline`);
    });
  }

  function registerRecordType(rt: ReadType, prefix: string, params: ReturnType<typeof Type.Object>, tag: string) {
    const opSuffix = tag === 'connection' ? '-for-connection' : '';
    if (rt.single) {
      app.get<{ Params: Scope; Querystring: AsOfQuery }>(
        `${prefix}/${rt.segment}`,
        {
          schema: {
            operationId: `get-${rt.segment}${opSuffix}`,
            tags: ['Accounting data'],
            summary: `Company information (${rt.dataType})`,
            params,
            querystring: AsOfQuery,
            response: { 200: Record_, ...errorResponses(400, 401, 404, 409) },
          },
        },
        async (req) => {
          const conn = await readable(req.params, rt.dataType);
          const asOf = await resolveAsOf(ctx, req.params.companyId, conn.id, rt.dataType, req.query);
          const rows = await records.list(conn.id, rt.dataType, { page: 1, pageSize: 1 }, { where: sql<boolean>`is_deleted = 0`, orderBy: [sql`record_id`] }, 'value', asOf);
          const row = rows.rows[0];
          if (!row) throw new NotFoundError(`No data available for ${rt.dataType} for ID ${conn.id}`);
          const doc = recordDocument(row, { withModifiedDate: false });
          delete doc.metadata;
          delete doc.id;
          return doc;
        },
      );
      return;
    }
    const listPath = `${prefix}/${rt.segment}`;
    app.get<{ Params: Scope; Querystring: PagingQuery & AsOfQuery }>(
      listPath,
      {
        schema: {
          operationId: `list-${rt.segment}${opSuffix}`,
          tags: ['Accounting data'],
          summary: `List ${rt.entity} records (deleted ones included, flagged metadata.isDeleted)`,
          params,
          querystring: Type.Composite([PagingQuery, AsOfQuery]),
          response: { 200: paged(Record_), ...errorResponses(400, 401, 404, 409) },
        },
      },
      async (req, reply) => {
        const list = compileListQuery(recordEntity(rt.dataType), req.query, ctx.store.dialect);
        const page = pageRequest(req.query);
        const conn = await readable(req.params, rt.dataType);
        const asOf = await resolveAsOf(ctx, req.params.companyId, conn.id, rt.dataType, req.query);
        const path = req.url.split('?')[0]!;
        // The documents are JSON already: spliced into the envelope's text (recordJson), never parsed and re-serialised,
        // streamed in chunks within the process's record budget (src/api/list-stream.ts).
        return sendRecordList(
          reply,
          ctx.listRecordBudget ?? defaultBudget,
          page.pageSize,
          () => records.list(conn.id, rt.dataType, page, list, 'text', asOf),
          (r) => recordJson(r, { withModifiedDate: true }),
          (total) => JSON.stringify(envelope(path, req.query, page, total, [])),
        );
      },
    );
    const singular = rt.segment.replace(/ies$/, 'y').replace(/s$/, '');
    const idParam = `${singular}Id`;
    app.get<{ Params: Scope & Record<string, string>; Querystring: AsOfQuery }>(
      `${listPath}/:${idParam}`,
      {
        schema: {
          operationId: `get-${singular}${opSuffix}`,
          tags: ['Accounting data'],
          summary: `Get one ${rt.entity}`,
          params: Type.Composite([params, Type.Object({ [idParam]: Type.String({ minLength: 1 }) })]),
          querystring: AsOfQuery,
          response: { 200: Record_, ...errorResponses(400, 401, 404, 409) },
        },
      },
      async (req) => {
        const conn = await readable(req.params, rt.dataType);
        const id = req.params[idParam]!;
        const asOf = await resolveAsOf(ctx, req.params.companyId, conn.id, rt.dataType, req.query);
        const row = await records.get(conn.id, rt.dataType, id, asOf);
        if (!row) throw new NotFoundError(`No data available for ${rt.dataType} for ID ${id}`);
        return recordDocument(row, { withModifiedDate: true });
      },
    );
  }

  function registerStatement(st: (typeof STATEMENTS)[number], prefix: string, params: ReturnType<typeof Type.Object>, tag: string) {
    app.get<{ Params: Scope; Querystring: { periodLength: number; periodsToCompare: number; startMonth?: string } & AsOfQuery }>(
      `${prefix}/financials/${st.segment}`,
      {
        schema: {
          operationId: `get-${st.segment.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}${tag === 'connection' ? '-for-connection' : ''}`,
          tags: ['Financial statements'],
          summary: `${st.entity} from stored monthly periods`,
          params,
          querystring: Type.Object({
            periodLength: Type.Integer({ minimum: 1, maximum: 12, description: 'Months per period' }),
            periodsToCompare: Type.Integer({ minimum: 1, maximum: 120, description: 'Number of periods' }),
            startMonth: Type.Optional(Type.String({ pattern: '^\\d{4}-\\d{2}(-\\d{2}([T ].*)?)?$', description: 'A date in the most recent period\'s last month' })),
            ...AsOfQuery.properties,
          }),
          response: { 200: Record_, ...errorResponses(400, 401, 404, 409) },
        },
      },
      async (req) => {
        const conn = await readable(req.params, st.dataType);
        const asOf = await resolveAsOf(ctx, req.params.companyId, conn.id, st.dataType, req.query);
        const rows = await records.all(conn.id, st.dataType, asOf);
        const months = new Map<Month, Record<string, unknown>>();
        for (const r of rows) {
          if (r.is_deleted) continue;
          const doc = recordDocument(r, { withModifiedDate: false });
          months.set(r.record_id.slice(0, 7), doc);
        }
        return buildStatement(st.dataType, months, req.query);
      },
    );
  }
}

import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import { companyNotFound, connectionNotFound, datasetNotFound, NotFoundError, StateError, SynclineError } from '../../domain/errors.js';
import { DATA_TYPES, isDataType, type DataType } from '../../domain/data-types.js';
import { isCompleted, isErrored, isInProgress, type DatasetStatus } from '../../domain/statuses.js';
import { DatasetsRepository, type DatasetRow } from '../../store/datasets.repository.js';
import { compileListQuery } from '../../query/index.js';
import { DatasetEntity } from '../query-entities.js';
import type { ApiContext } from '../context.js';
import { envelope, pageRequest } from '../paging.js';
import { CompanyParams, DataTypeSchema, DatasetStatusSchema, DateTime, PagingQuery, Uuid, errorResponses, paged } from '../schemas.js';
export { PullOperation } from '../schemas.js';
import { queueConnectionRead } from '../services/reads.js';
import { dataStatusFacts, type DataStatusFacts } from '../../store/data-status.sql.js';
import { VersionedAnswers } from '../../store/versioned-answers.js';
import { effectiveSettings, profileSettings } from '../../domain/sync-settings.js';

const DataStatus = Type.Object({
  dataType: DataTypeSchema,
  currentStatus: DatasetStatusSchema,
  lastSuccessfulSync: Type.Optional(DateTime),
  latestSyncId: Type.Optional(Uuid),
  latestSuccessfulSyncId: Type.Optional(Uuid),
});

/** Row → PullOperation (platform-api.md §7.6). `completed` and the record counts appear once terminal. */
export function pullOperation(row: DatasetRow): Record<string, unknown> {
  const status = row.status as DatasetStatus;
  const out: Record<string, unknown> = {
    id: row.id,
    companyId: row.company_id,
    connectionId: row.connection_id,
    dataType: row.data_type,
    status,
  };
  if (row.status_description !== null) out.statusDescription = row.status_description;
  if (row.error_message !== null) out.errorMessage = row.error_message;
  out.requested = row.requested;
  const terminal = !isInProgress(status);
  if (terminal && row.completed) out.completed = row.completed;
  out.progress = terminal ? 100 : Math.max(0, Math.min(100, Math.trunc(row.progress)));
  out.isCompleted = isCompleted(status);
  out.isErrored = isErrored(status);
  if (terminal) {
    const ok = status === 'Complete';
    out.recordsAdded = ok ? row.records_added : 0;
    out.recordsUpdated = ok ? row.records_updated : 0;
    out.recordsDeleted = ok ? row.records_deleted : 0;
  }
  return out;
}

export async function refreshRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  const { companies, connections } = ctx.repos;
  const datasets = new DatasetsRepository(ctx.store.db, ctx.store.dialect);
  /** GET /companies/{id}/dataStatus bodies by company, valid while the store's change version holds (SQLite). */
  const dataStatusAnswers = new VersionedAnswers<string>();

  const requireCompany = async (id: string) => {
    const c = await companies.get(id);
    if (!c) throw companyNotFound(id);
    return c;
  };

  app.post<{ Params: { companyId: string } }>(
    '/companies/:companyId/data/all',
    {
      schema: {
        operationId: 'refresh-company-data',
        tags: ['Refresh data'],
        summary: 'Queue every fetchOnFirstLink data type on every Linked connection',
        params: CompanyParams,
        response: { 204: Type.Null({ description: 'Queued' }), ...errorResponses(400, 401, 404) },
      },
    },
    async (req, reply) => {
      const { companyId } = req.params;
      await requireCompany(companyId);
      const linked = (await connections.listForCompanies([companyId])).filter((c) => c.status === 'Linked');
      if (linked.length === 0) {
        throw new StateError(`No linked connection for company ${companyId}; link a connection before refreshing`, 'PullApi');
      }
      for (const conn of linked) await queueConnectionRead(ctx, conn, 'all');
      return reply.code(204).send();
    },
  );

  app.post<{ Params: { companyId: string; dataType: string }; Querystring: { connectionId?: string } }>(
    '/companies/:companyId/data/queue/:dataType',
    {
      schema: {
        operationId: 'refresh-data-type',
        tags: ['Refresh data'],
        summary: 'Queue one data type (400 DatasetAlreadyInProgressException when it is already in progress)',
        params: Type.Object({ companyId: Uuid, dataType: DataTypeSchema }),
        querystring: Type.Object({ connectionId: Type.Optional(Uuid) }),
        response: { 200: Type.Ref('PullOperation'), ...errorResponses(400, 401, 404) },
      },
    },
    async (req) => {
      const { companyId, dataType } = req.params;
      if (!isDataType(dataType)) throw new SynclineError(400, 'PullApi', `Unknown data type ${dataType}`);
      await requireCompany(companyId);
      let conn;
      if (req.query.connectionId) {
        conn = await connections.get(companyId, req.query.connectionId);
        if (!conn) throw connectionNotFound(req.query.connectionId);
      } else {
        conn = await connections.current(companyId);
        if (!conn) throw new NotFoundError(`No accounting connection was found for company ${companyId}`, 'PullApi');
      }
      const read = await queueConnectionRead(ctx, conn, 'refresh', [dataType as DataType]);
      const created = read.created[0];
      if (created) return pullOperation(created);
      const busy = read.busy.get(dataType as DataType);
      throw new StateError(
        `DatasetAlreadyInProgressException: Cannot queue ${dataType} sync for ${companyId} as previous sync ${busy?.id ?? 'unknown'} is still in progress`,
        'PullApi',
      );
    },
  );

  app.get<{ Params: { companyId: string } }>(
    '/companies/:companyId/dataStatus',
    {
      schema: {
        operationId: 'get-company-data-status',
        tags: ['Refresh data'],
        summary: 'Per data type: current status, last successful sync, latest and latest successful sync ids',
        params: CompanyParams,
        response: { 200: Type.Record(Type.String(), DataStatus), ...errorResponses(400, 401, 404) },
      },
    },
    async (req, reply) => {
      const companyId = req.params.companyId;
      // The rendered answer is reused while nothing in the database changed (VersionedAnswers, Store.changeVersion);
      // the version is read before the facts, so what is stored under it is at least as new as it.
      const version = await ctx.store.changeVersion?.();
      let body = version === undefined ? undefined : dataStatusAnswers.get(companyId, version);
      if (body === undefined) {
        const facts = await dataStatusFacts(ctx.store.db, ctx.store.dialect, companyId);
        if (!facts) throw companyNotFound(companyId);
        body = JSON.stringify(dataStatusBody(facts));
        if (version !== undefined) dataStatusAnswers.set(companyId, version, body);
      }
      // The bytes (and content type) Fastify's serializer (JSON.stringify) would have sent for the object.
      return reply.type('application/json; charset=utf-8').send(body);
    },
  );

  function dataStatusBody(facts: DataStatusFacts): Record<string, unknown> {
    const conn = facts.connection;
    if (!conn) return {};
    const def = ctx.registry.get(conn.integrationKey);
    const effective = effectiveSettings(profileSettings(facts.storedProfile), facts.company);
    const out: Record<string, unknown> = {};
    for (const t of DATA_TYPES) {
      const d = facts.latest.get(t);
      if (!d) {
        const s = effective.get(t);
        if (s?.fetchOnFirstLink && def && ctx.registry.supports(def, t)) out[t] = { dataType: t, currentStatus: 'Initial' };
        continue;
      }
      const entry: Record<string, unknown> = { dataType: t, currentStatus: d.status };
      const ok = facts.latestComplete.get(t);
      if (ok?.completed) entry.lastSuccessfulSync = ok.completed;
      entry.latestSyncId = d.id;
      if (ok) entry.latestSuccessfulSyncId = ok.id;
      out[t] = entry;
    }
    return out;
  }

  app.get<{ Params: { companyId: string }; Querystring: PagingQuery }>(
    '/companies/:companyId/data/history',
    {
      schema: {
        operationId: 'list-pull-operations',
        tags: ['Refresh data'],
        summary: "A company's pull operations (datasets), newest first",
        params: CompanyParams,
        querystring: PagingQuery,
        response: { 200: paged(Type.Ref('PullOperation')), ...errorResponses(400, 401, 404) },
      },
    },
    async (req) => {
      const list = compileListQuery(DatasetEntity, req.query, ctx.store.dialect);
      const page = pageRequest(req.query);
      await requireCompany(req.params.companyId);
      const { rows, total } = await datasets.listForCompany(req.params.companyId, page, list);
      return envelope(`/companies/${req.params.companyId}/data/history`, req.query, page, total, rows.map(pullOperation));
    },
  );

  app.get<{ Params: { companyId: string; datasetId: string } }>(
    '/companies/:companyId/data/history/:datasetId',
    {
      schema: {
        operationId: 'get-pull-operation',
        tags: ['Refresh data'],
        summary: 'One pull operation',
        params: Type.Object({ companyId: Uuid, datasetId: Uuid }),
        response: { 200: Type.Ref('PullOperation'), ...errorResponses(400, 401, 404) },
      },
    },
    async (req) => {
      await requireCompany(req.params.companyId);
      const row = await datasets.getForCompany(req.params.companyId, req.params.datasetId);
      if (!row) throw datasetNotFound(req.params.datasetId);
      return pullOperation(row);
    },
  );

  const ValidationItemSchema = Type.Object({ itemId: Type.String(), message: Type.String(), validatorName: Type.String() });
  app.get<{ Params: { companyId: string; datasetId: string } }>(
    '/companies/:companyId/sync/:datasetId/validation',
    {
      schema: {
        operationId: 'get-read-validation-results',
        tags: ['Refresh data'],
        summary: 'What the pull found wrong with the records it read',
        description:
          '`errors`: records whose own figures do not add up (lines vs subTotal, subTotal + tax vs totalAmount, unbalanced journal entries, transfers whose sides differ). ' +
          '`warnings`: references to records the connection does not have (one per missing id, naming the first record that referenced it). ' +
          'Computed over the records the pull read, when it completed; empty for a pull that did not complete.',
        params: Type.Object({ companyId: Uuid, datasetId: Uuid }),
        response: {
          200: Type.Object({ errors: Type.Array(ValidationItemSchema), warnings: Type.Array(ValidationItemSchema) }, { $id: 'ValidationResult' }),
          ...errorResponses(400, 401, 404),
        },
      },
    },
    async (req) => {
      await requireCompany(req.params.companyId);
      const row = await datasets.getForCompany(req.params.companyId, req.params.datasetId);
      if (!row) throw datasetNotFound(req.params.datasetId);
      return row.validation ? JSON.parse(row.validation) : { errors: [], warnings: [] };
    },
  );
}

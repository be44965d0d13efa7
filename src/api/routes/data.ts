import type { FastifyInstance } from 'fastify';
import { DEFAULT_RECORD_BUDGET, RecordBudget, sendRecordList } from '../list-stream.js';
import { Type } from '@sinclair/typebox';
import { sql } from 'kysely';
import { companyNotFound, connectionNotFound, NotFoundError, RequestValidationError } from '../../domain/errors.js';
import { BANK_TRANSACTIONS, READ_TYPES, STATEMENTS, type ReadType } from '../../domain/read-types.js';
import { buildStatement, type Month } from '../../domain/statements.js';
import { AGED_DEFAULTS, AGED_LIMITS, AGED_SOURCES, AgedReportBuilder, type AgedKind } from '../../domain/aged-report.js';
import type { DataType } from '../../domain/data-types.js';
import { RecordsRepository, recordDocument, recordJson, singleDocument } from '../../store/records.repository.js';
import type { ConnectionRow } from '../../store/connections.repository.js';
import type { ApiContext } from '../context.js';
import { readableConnection, type ReadScope } from '../read-rule.js';
import { envelope, pageRequest } from '../paging.js';
import { compileListQuery } from '../../query/index.js';
import { recordEntity } from '../query-entities.js';
import { AsOfQuery, PagingQuery, Uuid, errorResponses, paged } from '../schemas.js';
import { AGED_REPORT_SCHEMAS, RECORD_SCHEMAS } from '../record-schemas.js';
import { resolveAsOf } from './history.js';

type Scope = ReadScope;

/** Spelled exactly as the index of migration 0015 (records_account_id) so the planner uses it. */
export function bankTransactionAccountIs(dialect: 'sqlite' | 'postgres', accountId: string) {
  return dialect === 'postgres' ? sql<boolean>`(data ->> 'accountId') = ${accountId}` : sql<boolean>`json_extract(data, '$.accountId') = ${accountId}`;
}

const Record_ = Type.Object({}, { additionalProperties: true, description: 'Accounting record (accounting-model.md §5)' });
/** The type's record shape (a component registered in app.ts), or an open object for the v1 types. */
const recordSchema = (t: DataType) => {
  const named = RECORD_SCHEMAS[t];
  return named ? Type.Ref(named.$id) : Record_;
};


export async function dataRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  const records = new RecordsRepository(ctx.store.db, ctx.store.dialect);
  const defaultBudget = new RecordBudget(DEFAULT_RECORD_BUDGET);

  /** The connection a read serves: the one in the path, or the company's current accounting connection. */
  async function connectionFor(scope: Scope): Promise<ConnectionRow | undefined> {
    if (!(await ctx.repos.companies.existsForRead(scope.companyId))) throw companyNotFound(scope.companyId);
    if (scope.connectionId) {
      const c = await ctx.repos.connections.get(scope.companyId, scope.connectionId);
      if (!c) throw connectionNotFound(scope.connectionId);
      return c;
    }
    return ctx.repos.connections.current(scope.companyId);
  }

  /** The connection a read of the type serves, by the 409 rule (read-rule.ts). */
  const readable = (scope: Scope, dataType: string) => readableConnection(ctx, scope, dataType);

  const prefixes = [
    { prefix: '/companies/:companyId/data', params: Type.Object({ companyId: Uuid }), tag: 'company' },
    { prefix: '/companies/:companyId/connections/:connectionId/data', params: Type.Object({ companyId: Uuid, connectionId: Uuid }), tag: 'connection' },
  ];

  for (const { prefix, params, tag } of prefixes) {
    for (const rt of READ_TYPES) if (tag === 'connection' || !rt.connectionOnly) registerRecordType(rt, prefix, params, tag);
    if (tag === 'connection') registerBankTransactions(prefix, params);
    for (const st of STATEMENTS) registerStatement(st, prefix, params, tag);
    // Other data types and sub-resources (pdf, attachments…) are not served in v1 (accounting-model.md §2).
    app.get(`${prefix}/*`, { schema: { hide: true } }, async (req) => {
      throw new NotFoundError(`Operation GET ${req.url.split('?')[0]} is not supported by Syncline`);
    });
  }

  registerAgedReport('debtor', 'agedDebtor', 'AgedDebtorReport');
  registerAgedReport('creditor', 'agedCreditor', 'AgedCreditorReport');

  /**
   * `GET /companies/{companyId}/reports/agedDebtor|agedCreditor[/available]` (domain/aged-report.ts). The report needs
   * its documents type pulled once (the 409 rule); credits, payments and contacts are used when they have been pulled.
   * `/available` answers whether every source type the platform provides has been pulled successfully.
   */
  function registerAgedReport(kind: AgedKind, segment: string, entity: string) {
    const src = AGED_SOURCES[kind];
    const params = Type.Object({ companyId: Uuid });
    /** Whether a dataset of the type has completed on the connection (the 409 rule's "served" case). */
    const completed = async (companyId: string, connectionId: string, t: string) => (await ctx.repos.connections.forRead(companyId, connectionId, t))?.hasComplete ?? false;
    app.get<{ Params: Scope; Querystring: { reportDate?: string; periodLengthDays?: number; numberOfPeriods?: number } & AsOfQuery }>(
      `/companies/:companyId/reports/${segment}`,
      {
        schema: {
          operationId: `get-aged-${kind}s-report`,
          tags: ['Reports'],
          summary: `Aged ${kind}s: outstanding balances per ${kind === 'debtor' ? 'customer' : 'supplier'} and currency, by issue-date period`,
          params,
          querystring: Type.Object({
            reportDate: Type.Optional(
              Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}([T ].*)?$', description: 'Documents issued before this date (default: today; with asOf or asOfPull, the UTC day of that instant)' }),
            ),
            periodLengthDays: Type.Optional(Type.Integer({ minimum: 1, maximum: AGED_LIMITS.periodLengthDays, default: AGED_DEFAULTS.periodLengthDays })),
            numberOfPeriods: Type.Optional(Type.Integer({ minimum: 1, maximum: AGED_LIMITS.numberOfPeriods, default: AGED_DEFAULTS.numberOfPeriods })),
            ...AsOfQuery.properties,
          }),
          response: { 200: Type.Ref(AGED_REPORT_SCHEMAS[kind].$id), ...errorResponses(400, 401, 404, 409) },
        },
      },
      async (req) => {
        const reportDate = req.query.reportDate ? Date.parse(`${req.query.reportDate.slice(0, 10)}T00:00:00Z`) : undefined;
        if (Number.isNaN(reportDate)) throw RequestValidationError.of('reportDate', `'${req.query.reportDate}' is not a date.`, 'Format');
        const conn = await readable(req.params, src.documents);
        // The types read: the documents, and each of the others once it has been pulled. With asOf / asOfPull every one
        // is read as it was stored at that instant (each checked against its own history, 400 where it cannot answer),
        // and the report is the one the server would have answered then: its default report date is that instant's day.
        const used = [src.documents] as string[];
        for (const t of [src.contacts, src.credits, src.payments]) if (await completed(conn.company_id, conn.id, t)) used.push(t);
        let asOf: string | undefined;
        for (const t of used) asOf = await resolveAsOf(ctx, req.params.companyId, conn.id, t, req.query);
        const day = reportDate ?? Math.floor((asOf ? Date.parse(asOf) : ctx.clock.now().getTime()) / 86_400_000) * 86_400_000;
        const builder = new AgedReportBuilder(kind, {
          reportDateMs: day,
          periodLengthDays: req.query.periodLengthDays ?? AGED_DEFAULTS.periodLengthDays,
          numberOfPeriods: req.query.numberOfPeriods ?? AGED_DEFAULTS.numberOfPeriods,
        });
        const doc = (r: { data: unknown }) => (typeof r.data === 'string' ? JSON.parse(r.data) : r.data) as Record<string, unknown>;
        const opts = { asOf };
        if (used.includes(src.contacts)) await records.scan(conn.id, src.contacts, (rows) => rows.forEach((r) => builder.contact(r.record_id, doc(r))), opts);
        await records.scan(conn.id, src.documents, (rows) => rows.forEach((r) => builder.document('documents', doc(r), r.is_deleted === 1)), opts);
        if (used.includes(src.credits)) await records.scan(conn.id, src.credits, (rows) => rows.forEach((r) => builder.document('credits', doc(r), r.is_deleted === 1)), opts);
        if (used.includes(src.payments)) await records.scan(conn.id, src.payments, (rows) => rows.forEach((r) => builder.payment(doc(r), r.is_deleted === 1)), opts);
        return builder.build(ctx.clock.now().toISOString());
      },
    );
    app.get<{ Params: Scope }>(
      `/companies/:companyId/reports/${segment}/available`,
      {
        schema: {
          operationId: `is-aged-${kind}s-report-available`,
          tags: ['Reports'],
          summary: `Whether the aged ${kind}s report can be generated: every source type the platform provides has been pulled`,
          params,
          response: { 200: Type.Boolean(), ...errorResponses(400, 401, 404) },
        },
      },
      async (req) => {
        const conn = await connectionFor(req.params);
        if (!conn) return false;
        const def = ctx.registry.get(conn.integration_key);
        for (const t of [src.contacts, src.documents, src.credits, src.payments] as DataType[]) {
          if (def && !ctx.registry.supports(def, t)) continue;
          const found = await ctx.repos.connections.forRead(conn.company_id, conn.id, t);
          // A type the platform turned out not to provide (its pull ended NotSupported) is not needed.
          if (!found?.hasComplete && found?.latestStatus !== 'NotSupported') return false;
        }
        return true;
      },
    );
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
          return singleDocument(row);
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
          response: { 200: paged(recordSchema(rt.dataType)), ...errorResponses(400, 401, 404, 409) },
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
    const idParam = rt.idParam ?? `${singular}Id`;
    app.get<{ Params: Scope & Record<string, string>; Querystring: AsOfQuery }>(
      `${listPath}/:${idParam}`,
      {
        schema: {
          operationId: `get-${singular}${opSuffix}`,
          tags: ['Accounting data'],
          summary: `Get one ${rt.entity}`,
          params: Type.Composite([params, Type.Object({ [idParam]: Type.String({ minLength: 1 }) })]),
          querystring: AsOfQuery,
          response: { 200: recordSchema(rt.dataType), ...errorResponses(400, 401, 404, 409) },
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

  /**
   * `…/bankAccounts/{accountId}/bankTransactions` (list only, as in Codat): the connection's bankTransactions records
   * whose `accountId` is the path's, through the (connection, data type, accountId) index of migration 0015.
   */
  function registerBankTransactions(prefix: string, params: ReturnType<typeof Type.Object>) {
    const rt = BANK_TRANSACTIONS;
    app.get<{ Params: Scope & { accountId: string }; Querystring: PagingQuery & AsOfQuery }>(
      `${prefix}/bankAccounts/:accountId/bankTransactions`,
      {
        schema: {
          operationId: 'list-bank-account-transactions',
          tags: ['Accounting data'],
          summary: 'List the transactions of one bank account (deleted ones included, flagged metadata.isDeleted)',
          params: Type.Composite([params, Type.Object({ accountId: Type.String({ minLength: 1 }) })]),
          querystring: Type.Composite([PagingQuery, AsOfQuery]),
          response: { 200: paged(recordSchema('bankTransactions')), ...errorResponses(400, 401, 404, 409) },
        },
      },
      async (req, reply) => {
        const list = compileListQuery(recordEntity(rt.dataType), req.query, ctx.store.dialect);
        const page = pageRequest(req.query);
        const conn = await readable(req.params, rt.dataType);
        const { accountId } = req.params;
        if (!(await records.get(conn.id, 'bankAccounts', accountId))) throw new NotFoundError(`No data available for bankAccounts for ID ${accountId}`);
        const ofAccount = bankTransactionAccountIs(ctx.store.dialect, accountId);
        const where = list.where ? sql<boolean>`(${ofAccount}) and (${list.where})` : ofAccount;
        const asOf = await resolveAsOf(ctx, req.params.companyId, conn.id, rt.dataType, req.query);
        const { rows, total } = await records.list(conn.id, rt.dataType, page, { ...list, where }, 'text', asOf);
        const path = req.url.split('?')[0]!;
        const head = JSON.stringify(envelope(path, req.query, page, total, []));
        const body = `{"results":[${rows.map((r) => recordJson(r, { withModifiedDate: true })).join(',')}${head.slice('{"results":['.length)}`;
        return reply.type('application/json; charset=utf-8').send(body);
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

/**
 * Record history over HTTP (issue 16): a record's versions with RFC 6902 diffs, the change feed of a data type, and a
 * pull's own changes. Every data type read through the API has a feed at its read path + `/changes` (list types,
 * `info`, `bankTransactions`, `financials/{statement}`), in the scope the `records.changed` webhook's cursors carry
 * (feedScope: connection and data type). Reads as of a moment (`asOf`, `asOfPull`) are parameters of the data routes (data.ts), resolved
 * by `resolveAsOf` below; the logic lives in src/store/history.repository.ts.
 */
import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import { companyNotFound, datasetNotFound, NotFoundError, RequestValidationError } from '../../domain/errors.js';
import { BANK_TRANSACTIONS, READ_TYPES, STATEMENTS, type ReadType } from '../../domain/read-types.js';
import { DatasetsRepository } from '../../store/datasets.repository.js';
import { recordDocument, singleDocument } from '../../store/records.repository.js';
import { diff } from '../../lib/json-patch.js';
import {
  HistoryRepository,
  decodeCursor,
  encodeCursor,
  feedKind,
  feedScope,
  pullScope,
  type ChangeRow,
  type VersionRow,
} from '../../store/history.repository.js';
import type { ApiContext } from '../context.js';
import { readableConnection, type ReadScope } from '../read-rule.js';
import { envelope, pageRequest } from '../paging.js';
import { DateTime, Uuid, errorResponses, paged, type AsOfQuery } from '../schemas.js';

type Scope = ReadScope;

const RecordDoc = Type.Object({}, { additionalProperties: true, description: 'The accounting record, as the get endpoint serves it (a statement feed: the stored monthly period, whose record id is its month)' });
const PatchOp = Type.Object(
  {
    op: Type.String({ description: 'add | remove | replace' }),
    path: Type.String({ description: 'JSON Pointer (RFC 6901)' }),
    value: Type.Optional(Type.Unknown()),
  },
  { additionalProperties: true },
);
const ChangeKindSchema = Type.Unsafe<string>({ type: 'string', enum: ['added', 'updated', 'deleted', 'undeleted'] });

export const RecordVersion = Type.Object(
  {
    changeKind: ChangeKindSchema,
    datasetId: Type.Union([Uuid, Type.Null()], { description: 'The pull that committed the change (null: stored before history existed)' }),
    committedDate: DateTime,
    sourceModifiedDate: Type.Optional(DateTime),
    contentHash: Type.String(),
    record: RecordDoc,
    diff: Type.Array(PatchOp, {
      description: 'RFC 6902 JSON Patch from the previous version: from {} for an added record; the oldest version kept after pruning is diffed from the state it replaced',
    }),
  },
  { description: 'One version of a record: its state after a committed change' },
);

export const RecordChange = Type.Object(
  {
    recordId: Type.String(),
    kind: Type.Unsafe<string>({ type: 'string', enum: ['added', 'updated', 'deleted'] }),
    datasetId: Type.Union([Uuid, Type.Null()]),
    committedDate: DateTime,
    record: RecordDoc,
  },
  { description: 'One committed change; `record` is the record as it is now' },
);

const ChangesPage = Type.Object({
  results: Type.Array(RecordChange),
  pageSize: Type.Integer(),
  cursor: Type.String({ description: 'Opaque: pass it as `cursor` to read the changes after these' }),
  hasMore: Type.Boolean(),
  _links: Type.Object({ self: Type.Object({ href: Type.String() }), next: Type.Optional(Type.Object({ href: Type.String() })) }),
});

const FeedQuery = Type.Object({
  cursor: Type.Optional(Type.String({ maxLength: 300, description: 'Opaque cursor from a previous page or a records.changed event; absent = from the start' })),
  pageSize: Type.Optional(Type.Integer({ minimum: 1, maximum: 5000, default: 100 })),
});
type FeedQuery = { cursor?: string; pageSize?: number };

/** The instant of an asOf / asOfPull read (undefined: a read of the current store). 400 when history cannot answer. */
export function resolveAsOf(ctx: ApiContext, companyId: string, connectionId: string, dataType: string, q: AsOfQuery): Promise<string | undefined> {
  if (q.asOf === undefined && q.asOfPull === undefined) return Promise.resolve(undefined);
  return new HistoryRepository(ctx.store.db, ctx.store.dialect).resolveAsOf({
    companyId,
    connectionId,
    dataType,
    asOf: q.asOf,
    asOfPull: q.asOfPull,
    now: ctx.clock.now(),
    retentionDays: ctx.historyRetentionDays,
  });
}

/** Data types read as one document (company info): their get endpoint serves it without id, modifiedDate or metadata. */
const SINGLE_TYPES: ReadonlySet<string> = new Set(READ_TYPES.filter((rt) => rt.single).map((rt) => rt.dataType));

/** A feed entry; `record` as the type's get endpoint serves it. */
function changeJson(r: ChangeRow, dataType: string) {
  const record = SINGLE_TYPES.has(dataType) ? singleDocument(r) : recordDocument(r, { withModifiedDate: true });
  return { recordId: r.record_id, kind: feedKind(r.kind), datasetId: r.dataset_id, committedDate: r.committed_at, record };
}

function versionJson(v: VersionRow) {
  const record = recordDocument(v.after, { withModifiedDate: true });
  const previous = v.before ? recordDocument(v.before, { withModifiedDate: true }) : {};
  const out: Record<string, unknown> = {
    changeKind: v.kind,
    datasetId: v.dataset_id,
    committedDate: v.committed_at,
    contentHash: v.content_hash,
    record,
    diff: diff(previous, record),
  };
  if (v.source_modified_date) out.sourceModifiedDate = v.source_modified_date;
  return out;
}

export async function historyRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  const datasets = new DatasetsRepository(ctx.store.db, ctx.store.dialect);
  const history = new HistoryRepository(ctx.store.db, ctx.store.dialect);

  /** As the data routes: the connection a read of the type serves, by the 409 rule (read-rule.ts). */
  const readable = (scope: Scope, dataType: string) => readableConnection(ctx, scope, dataType);

  async function requireHistory(companyId: string, itemId: string) {
    if (!(await history.keepsHistory(companyId))) {
      throw RequestValidationError.of(itemId, `Record history is turned off for company ${companyId} (sync settings keepHistory).`, 'History');
    }
  }

  function feedPage(path: string, dataType: string, rows: ChangeRow[], pageSize: number, scope: string, after: number) {
    const hasMore = rows.length > pageSize;
    const page = rows.slice(0, pageSize);
    const cursor = encodeCursor(scope, page.length ? page[page.length - 1]!.seq : after);
    const links: { self: { href: string }; next?: { href: string } } = { self: { href: path } };
    if (hasMore) links.next = { href: `${path}?${new URLSearchParams({ cursor, pageSize: String(pageSize) }).toString()}` };
    return { results: page.map((r) => changeJson(r, dataType)), pageSize, cursor, hasMore, _links: links };
  }

  const prefixes = [
    { prefix: '/companies/:companyId/data', params: Type.Object({ companyId: Uuid }), tag: 'company' },
    { prefix: '/companies/:companyId/connections/:connectionId/data', params: Type.Object({ companyId: Uuid, connectionId: Uuid }), tag: 'connection' },
  ];
  for (const { prefix, params, tag } of prefixes) {
    const opSuffix = tag === 'connection' ? '-for-connection' : '';
    // Every list type (connection-only ones too, at both levels: the company-level path reads the current connection).
    for (const rt of READ_TYPES) {
      if (rt.single) continue;
      registerVersions(`${prefix}/${rt.segment}`, rt, params, `list-${rt.segment}-versions${opSuffix}`);
      registerFeed(`${prefix}/${rt.segment}`, rt.dataType, params, `list-${rt.segment}-changes${opSuffix}`, `${rt.entity} records`);
    }
    // Company info: one document, read at `…/data/info`; its feed has one record id (the platform's company id).
    for (const rt of READ_TYPES) if (rt.single) registerFeed(`${prefix}/${rt.segment}`, rt.dataType, params, `list-${rt.segment}-changes${opSuffix}`, `company information (${rt.dataType})`);
    // Bank transactions: listed per bank account (data.ts), stored as one data type per connection: one feed and one
    // versions path for all of them, at both levels as the connection-only list types above.
    const bt = BANK_TRANSACTIONS;
    registerVersions(`${prefix}/${bt.segment}`, bt, params, `list-${bt.segment}-versions${opSuffix}`);
    registerFeed(`${prefix}/${bt.segment}`, bt.dataType, params, `list-${bt.segment}-changes${opSuffix}`, `${bt.entity} records (every bank account's)`);
    // Financial statements, read at `…/data/financials/{segment}`: the feed of their stored monthly periods.
    for (const st of STATEMENTS) {
      registerFeed(
        `${prefix}/financials/${st.segment}`,
        st.dataType,
        params,
        `list-${st.segment.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}-changes${opSuffix}`,
        `${st.entity} monthly periods (record id: the month, YYYY-MM)`,
      );
    }
  }

  function registerVersions(listPath: string, rt: ReadType, params: ReturnType<typeof Type.Object>, operationId: string) {
    app.get<{ Params: Scope & { recordId: string }; Querystring: { page?: number; pageSize?: number } }>(
      `${listPath}/:recordId/versions`,
      {
        schema: {
          operationId,
          tags: ['Record history'],
          summary: `Versions of one ${rt.entity}, newest first, each with an RFC 6902 diff from the previous version`,
          params: Type.Composite([params, Type.Object({ recordId: Type.String({ minLength: 1 }) })]),
          querystring: Type.Object({
            page: Type.Optional(Type.Integer({ minimum: 1, maximum: 2147483647, default: 1 })),
            pageSize: Type.Optional(Type.Integer({ minimum: 1, maximum: 5000, default: 100 })),
          }),
          response: { 200: paged(RecordVersion), ...errorResponses(400, 401, 404, 409) },
        },
      },
      async (req) => {
        const page = pageRequest(req.query);
        const conn = await readable(req.params, rt.dataType);
        await requireHistory(req.params.companyId, 'recordId');
        const { rows, total } = await history.versions(conn.id, rt.dataType, req.params.recordId, page);
        if (total === 0 && !(await ctx.store.db.selectFrom('records').select('record_id').where('connection_id', '=', conn.id).where('data_type', '=', rt.dataType).where('record_id', '=', req.params.recordId).executeTakeFirst())) {
          throw new NotFoundError(`No data available for ${rt.dataType} for ID ${req.params.recordId}`);
        }
        return envelope(req.url.split('?')[0]!, {}, page, total, rows.map(versionJson));
      },
    );
  }

  /** `{readPath}/changes`: the change feed of one data type on the connection a read of it serves. */
  function registerFeed(readPath: string, dataType: string, params: ReturnType<typeof Type.Object>, operationId: string, what: string) {
    app.get<{ Params: Scope; Querystring: FeedQuery }>(
      `${readPath}/changes`,
      {
        schema: {
          operationId,
          tags: ['Record history'],
          summary: `Change feed of ${what} in commit order, resumable from an opaque cursor`,
          params,
          querystring: FeedQuery,
          response: { 200: ChangesPage, ...errorResponses(400, 401, 404, 409) },
        },
      },
      async (req) => {
        const pageSize = req.query.pageSize ?? 100;
        const conn = await readable(req.params, dataType);
        const scope = feedScope(conn.id, dataType);
        const after = req.query.cursor === undefined ? 0 : decodeCursor(req.query.cursor, scope);
        await history.checkFeedPosition(req.params.companyId, conn.id, dataType, after);
        const rows = await history.feed(conn.id, dataType, after, pageSize + 1);
        return feedPage(req.url.split('?')[0]!, dataType, rows, pageSize, scope, after);
      },
    );
  }

  app.get<{ Params: { companyId: string; datasetId: string }; Querystring: FeedQuery }>(
    '/companies/:companyId/data/history/:datasetId/changes',
    {
      schema: {
        operationId: 'list-pull-operation-changes',
        tags: ['Record history'],
        summary: 'The record changes one pull committed, in commit order (each record as it is now)',
        params: Type.Object({ companyId: Uuid, datasetId: Uuid }),
        querystring: FeedQuery,
        response: { 200: ChangesPage, ...errorResponses(400, 401, 404) },
      },
    },
    async (req) => {
      const { companyId, datasetId } = req.params;
      const pageSize = req.query.pageSize ?? 100;
      if (!(await ctx.repos.companies.exists(companyId))) throw companyNotFound(companyId);
      const ds = await datasets.getForCompany(companyId, datasetId);
      if (!ds) throw datasetNotFound(datasetId);
      const scope = pullScope(ds.id);
      const path = req.url.split('?')[0]!;
      const range = await history.pull(ds.id);
      if (!range) {
        // Nothing recorded: a pull that is not Complete or changed nothing has no changes; otherwise they are gone.
        if (ds.status !== 'Complete' || ds.records_added + ds.records_updated + ds.records_deleted === 0) {
          if (req.query.cursor !== undefined) decodeCursor(req.query.cursor, scope);
          return feedPage(path, ds.data_type, [], pageSize, scope, 0);
        }
        await requireHistory(companyId, 'datasetId');
        throw RequestValidationError.of('datasetId', `The changes of pull ${ds.id} are no longer kept (history retention, or history was turned off).`, 'History');
      }
      await requireHistory(companyId, 'datasetId');
      const after = Math.max(req.query.cursor === undefined ? 0 : decodeCursor(req.query.cursor, scope), Number(range.first_seq) - 1);
      const rows = await history.feed(range.connection_id, range.data_type, after, pageSize + 1, Number(range.last_seq));
      return feedPage(path, range.data_type, rows, pageSize, scope, after);
    },
  );
}

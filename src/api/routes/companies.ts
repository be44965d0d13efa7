import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import { newId } from '../../lib/ids.js';
import { companyNotFound } from '../../domain/errors.js';
import { sanitizeCompanyName, validateTags } from '../../domain/company-rules.js';
import type { ApiContext } from '../context.js';
import { companyToApi } from '../mappers.js';
import { envelope, pageRequest } from '../paging.js';
import { compileListQuery } from '../../query/index.js';
import { companyEntity } from '../query-entities.js';
import {
  Company,
  CompanyParams,
  CompanyRequestBody,
  CompanyUpdateRequest,
  PagingQuery,
  absentBodyIsEmptyObject,
  errorResponses,
  paged,
  type CompanyRequestBody as CompanyRequestBodyT,
  type CompanyUpdateRequest as CompanyUpdateRequestT,
} from '../schemas.js';

const ListQuery = Type.Composite([PagingQuery, Type.Object({ tags: Type.Optional(Type.String()) })]);

export async function companiesRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  const { companies, connections } = ctx.repos;

  async function render(id: string) {
    const row = await companies.get(id);
    if (!row) throw companyNotFound(id);
    return companyToApi(row, await connections.listForCompanies([id]), ctx.publicBaseUrl());
  }

  app.get<{ Querystring: PagingQuery & { tags?: string } }>(
    '/companies',
    {
      schema: {
        operationId: 'list-companies',
        tags: ['Companies'],
        summary: 'List companies',
        querystring: ListQuery,
        response: { 200: paged(Company), ...errorResponses(400, 401) },
      },
    },
    async (req) => {
      const list = compileListQuery(companyEntity(ctx.publicBaseUrl()), req.query, ctx.store.dialect);
      const page = pageRequest(req.query);
      const { rows, total } = await companies.list(page, list);
      const conns = await connections.listForCompanies(rows.map((r) => r.id));
      const base = ctx.publicBaseUrl();
      const results = rows.map((r) => companyToApi(r, conns.filter((c) => c.company_id === r.id), base));
      return envelope('/companies', req.query, page, total, results);
    },
  );

  app.post<{ Body: CompanyRequestBodyT }>(
    '/companies',
    {
      schema: {
        operationId: 'create-company',
        tags: ['Companies'],
        summary: 'Create a company',
        body: CompanyRequestBody,
        response: { 200: Company, ...errorResponses(400, 401) },
      },
    },
    async (req) => {
      const name = sanitizeCompanyName(req.body.name);
      const tags = validateTags(req.body.tags ?? {});
      const id = newId();
      await companies.insert({
        id,
        name,
        description: req.body.description ?? null,
        tags: JSON.stringify(tags),
        created_at: ctx.clock.now().toISOString(),
      });
      return render(id);
    },
  );

  app.get<{ Params: { companyId: string } }>(
    '/companies/:companyId',
    {
      schema: { operationId: 'get-company', tags: ['Companies'], summary: 'Get a company', params: CompanyParams, response: { 200: Company, ...errorResponses(400, 401, 404) } },
    },
    async (req) => render(req.params.companyId),
  );

  app.put<{ Params: { companyId: string }; Body: CompanyRequestBodyT }>(
    '/companies/:companyId',
    {
      schema: {
        operationId: 'replace-company',
        tags: ['Companies'],
        summary: 'Replace a company: fields left out are cleared',
        params: CompanyParams,
        body: CompanyRequestBody,
        response: { 200: Company, ...errorResponses(400, 401, 404) },
      },
    },
    async (req) => {
      if (!(await companies.exists(req.params.companyId))) throw companyNotFound(req.params.companyId);
      const name = sanitizeCompanyName(req.body.name);
      const tags = validateTags(req.body.tags ?? {});
      await companies.update(req.params.companyId, { name, description: req.body.description ?? null, tags: JSON.stringify(tags) });
      return render(req.params.companyId);
    },
  );

  app.patch<{ Params: { companyId: string }; Body: CompanyUpdateRequestT }>(
    '/companies/:companyId',
    {
      schema: {
        operationId: 'update-company',
        tags: ['Companies'],
        summary: 'Update the fields present (tags: {} clears every tag)',
        params: CompanyParams,
        body: CompanyUpdateRequest,
        response: { 200: Company, ...errorResponses(400, 401, 404) },
      },
      preValidation: absentBodyIsEmptyObject,
    },
    async (req) => {
      const id = req.params.companyId;
      if (!(await companies.exists(id))) throw companyNotFound(id);
      const body = req.body ?? {};
      const patch: { name?: string; description?: string; tags?: string } = {};
      if (body.name !== undefined && body.name !== null) patch.name = sanitizeCompanyName(body.name);
      if (body.description !== undefined && body.description !== null) patch.description = body.description;
      if (body.tags !== undefined && body.tags !== null) patch.tags = JSON.stringify(validateTags(body.tags));
      if (Object.keys(patch).length) await companies.update(id, patch);
      return render(id);
    },
  );

  app.delete<{ Params: { companyId: string } }>(
    '/companies/:companyId',
    {
      schema: {
        operationId: 'delete-company',
        tags: ['Companies'],
        summary: 'Delete a company, its connections and everything stored for it',
        params: CompanyParams,
        response: { 204: Type.Null({ description: 'Deleted' }), ...errorResponses(400, 401, 404) },
      },
    },
    async (req, reply) => {
      const owned = await connections.listForCompanies([req.params.companyId]);
      if (!(await companies.delete(req.params.companyId, ctx.clock.now().toISOString()))) throw companyNotFound(req.params.companyId);
      // Tokens are revoked at the platform on a best-effort basis, after the deletion is committed.
      for (const conn of owned) void ctx.revokeConnection?.(conn);
      return reply.code(204).send();
    },
  );
}

import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import { companyNotFound, connectionNotFound, integrationNotFound, RequestValidationError, StateError, type ValidationItem } from '../../domain/errors.js';
import type { ApiContext } from '../context.js';
import { connectionToApi } from '../mappers.js';
import { envelope, pageRequest } from '../paging.js';
import { compileListQuery } from '../../query/index.js';
import { connectionEntity } from '../query-entities.js';
import {
  AuthorizationBody,
  CompanyParams,
  Connection,
  ConnectionParams,
  CreateConnectionBody,
  PagingQuery,
  UpdateConnectionStatus,
  absentBodyIsEmptyObject,
  errorResponses,
  paged,
} from '../schemas.js';
import { linkConnection, unlinkConnection } from '../services/connection-lifecycle.js';

type ConnParams = { companyId: string; connectionId: string };

export async function connectionsRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  const { companies, connections } = ctx.repos;

  async function requireCompany(id: string) {
    if (!(await companies.exists(id))) throw companyNotFound(id);
  }
  async function requireConnection(p: ConnParams) {
    await requireCompany(p.companyId);
    const row = await connections.get(p.companyId, p.connectionId);
    if (!row) throw connectionNotFound(p.connectionId);
    return row;
  }
  async function render(p: ConnParams) {
    return connectionToApi(await requireConnection(p), ctx.publicBaseUrl());
  }

  app.get<{ Params: { companyId: string }; Querystring: PagingQuery }>(
    '/companies/:companyId/connections',
    {
      schema: {
        operationId: 'list-connections',
        tags: ['Connections'],
        summary: "List a company's connections",
        params: CompanyParams,
        querystring: PagingQuery,
        response: { 200: paged(Connection), ...errorResponses(400, 401, 404) },
      },
    },
    async (req) => {
      const list = compileListQuery(connectionEntity(ctx.publicBaseUrl()), req.query, ctx.store.dialect);
      const page = pageRequest(req.query);
      await requireCompany(req.params.companyId);
      const { rows, total } = await connections.list(req.params.companyId, page, list);
      const base = ctx.publicBaseUrl();
      return envelope(`/companies/${req.params.companyId}/connections`, req.query, page, total, rows.map((r) => connectionToApi(r, base)));
    },
  );

  app.post<{ Params: { companyId: string }; Body: { platformKey: string } }>(
    '/companies/:companyId/connections',
    {
      schema: {
        operationId: 'create-connection',
        tags: ['Connections'],
        summary: 'Create a connection (PendingAuth) with a linkUrl',
        params: CompanyParams,
        body: CreateConnectionBody,
        response: { 200: Connection, ...errorResponses(400, 401, 404) },
      },
    },
    async (req) => {
      await requireCompany(req.params.companyId);
      const def = ctx.registry.get(req.body.platformKey);
      if (!def || !ctx.registry.isEnabled(def)) throw integrationNotFound(req.body.platformKey);
      const id = await connections.create(req.params.companyId, def.key, ctx.clock.now().toISOString());
      return render({ companyId: req.params.companyId, connectionId: id });
    },
  );

  app.get<{ Params: ConnParams }>(
    '/companies/:companyId/connections/:connectionId',
    {
      schema: {
        operationId: 'get-connection',
        tags: ['Connections'],
        summary: 'Get a connection',
        params: ConnectionParams,
        response: { 200: Connection, ...errorResponses(400, 401, 404) },
      },
    },
    async (req) => render(req.params),
  );

  app.delete<{ Params: ConnParams }>(
    '/companies/:companyId/connections/:connectionId',
    {
      schema: {
        operationId: 'delete-connection',
        tags: ['Connections'],
        summary: 'Delete a connection and its cached data (200, empty body)',
        params: ConnectionParams,
        response: { 200: Type.Null({ description: 'Deleted; empty body' }), ...errorResponses(400, 401, 404) },
      },
    },
    async (req, reply) => {
      const conn = await requireConnection(req.params);
      if (!(await connections.delete(req.params.companyId, req.params.connectionId, ctx.clock.now().toISOString()))) {
        throw connectionNotFound(req.params.connectionId);
      }
      // Tokens are revoked at the platform on a best-effort basis, after the deletion is committed.
      void ctx.revokeConnection?.(conn);
      // The SDK expects 200 with an empty body here (platform-api.md §9.5), not 204.
      return reply.code(200).send();
    },
  );

  app.patch<{ Params: ConnParams; Body: { status: string } }>(
    '/companies/:companyId/connections/:connectionId',
    {
      schema: {
        operationId: 'unlink-connection',
        tags: ['Connections'],
        summary: 'Unlink a Linked connection ({"status":"Unlinked"})',
        params: ConnectionParams,
        body: UpdateConnectionStatus,
        response: { 200: Connection, ...errorResponses(400, 401, 404) },
      },
    },
    async (req) => {
      if (req.body?.status !== 'Unlinked') {
        throw RequestValidationError.of('status', `Only "Unlinked" can be set through this operation.`, 'Enum', 'ClientsApi');
      }
      const conn = await requireConnection(req.params);
      await unlinkConnection(ctx, conn);
      return render(req.params);
    },
  );

  app.put<{ Params: ConnParams; Body: Record<string, string> }>(
    '/companies/:companyId/connections/:connectionId/authorization',
    {
      schema: {
        operationId: 'update-connection-authorization',
        tags: ['Connections'],
        summary: 'Store credentials obtained outside the Link flow; links the connection',
        params: ConnectionParams,
        body: AuthorizationBody,
        response: { 200: Connection, ...errorResponses(400, 401, 404) },
      },
      // The SDK's requestBody is optional; left out, no body is sent: no credentials, as for the Sandbox.
      preValidation: absentBodyIsEmptyObject,
    },
    async (req) => {
      const conn = await requireConnection(req.params);
      const def = ctx.registry.get(conn.integration_key)!;
      const body = req.body ?? {};
      const errors: ValidationItem[] = [];
      for (const k of def.requiredCredentials) {
        if (!body[k]) errors.push({ itemId: k, message: `'${k}' is required for ${def.name}.`, validatorName: 'Required' });
      }
      const known = new Set([...def.requiredCredentials, ...def.optionalCredentials]);
      for (const k of Object.keys(body)) {
        if (!known.has(k)) errors.push({ itemId: k, message: `'${k}' is not a credential ${def.name} accepts.`, validatorName: 'AdditionalProperties' });
      }
      // Rejected credentials are a failed authorization attempt: connection.failed, status unchanged (§9.1).
      const refuse = async (err: Error) => {
        await connections.authorizationFailed(conn.id, ctx.clock.now().toISOString());
        return err;
      };
      if (errors.length) throw await refuse(new RequestValidationError(errors, 'ClientsApi'));
      if (def.requiredCredentials.length > 0) {
        // Validating OAuth credentials means refreshing the token with the platform; the Xero and QuickBooks
        // connectors that do this are not part of this version, so we refuse rather than store unchecked tokens.
        throw await refuse(
          new StateError(`Credentials for ${def.name} cannot be validated by this Syncline version: its connector is not available yet.`, 'ClientsApi'),
        );
      }
      await linkConnection(ctx, conn, def.requiredCredentials.length ? { credentials: body } : undefined, 'authorization updated');
      return render(req.params);
    },
  );
}

import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply } from 'fastify';
import { noteStorageFailure } from '../store/storage-errors.js';
import type { HTTPMethod } from 'find-my-way';
import FindMyWay from 'find-my-way';
import Ajv, { type ErrorObject } from 'ajv';
import addFormats from 'ajv-formats';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { newCorrelationId } from '../lib/ids.js';
import { NOT_VALID, NotFoundError, RequestValidationError, SynclineError } from '../domain/errors.js';
import type { ApiContext } from './context.js';
import { authenticate, isPublicPath } from './auth.js';
import { mapError, errorBody } from './errors.js';
import { ErrorMessage, PullOperation } from './schemas.js';
import { companiesRoutes } from './routes/companies.js';
import { connectionsRoutes } from './routes/connections.js';
import { integrationsRoutes } from './routes/integrations.js';
import { apiKeysRoutes } from './routes/api-keys.js';
import { profileRoutes } from './routes/profile.js';
import { linkRoutes } from './routes/link.js';
import { opsRoutes } from './routes/ops.js';
import { unsupportedRoutes } from './routes/unsupported.js';
import { refreshRoutes } from './routes/refresh.js';
import { syncSettingsRoutes } from './routes/sync-settings.js';
import { dataRoutes } from './routes/data.js';
import { documentsRoutes } from './routes/documents.js';
import { historyRoutes } from './routes/history.js';
import { webhooksRoutes } from './routes/webhooks.js';
import { OperationsSummary, operationsRoutes } from './routes/operations.js';
import { uiRoutes } from './routes/ui.js';
import { NAMED_RECORD_SCHEMAS } from './record-schemas.js';

const UUID_UPPER = /^(?=.*[A-F])[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

const ROUTABLE_METHODS: HTTPMethod[] = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];

export interface AppExtension {
  (app: FastifyInstance, ctx: ApiContext): Promise<void> | void;
}

/** Route validators of each app not compiled yet (see lazyValidator). */
const pendingValidators = new WeakMap<FastifyInstance, Set<() => unknown>>();

type AjvValidate = ((data: unknown, dataCxt?: unknown) => boolean) & { errors?: ErrorObject[] | null; schemaEnv?: unknown };

/**
 * A validator that compiles on its first call and then calls the compiled one, passing Fastify's data context through
 * (so Ajv may still replace a root value) and copying its `errors` after each call, as Fastify reads them there.
 * `schemaEnv` is set because Fastify passes the data context only to validators that have it (Ajv's all do).
 */
function lazyValidator(compile: () => AjvValidate, pending: Set<() => unknown>): AjvValidate {
  let compiled: AjvValidate | undefined;
  const ensure = () => {
    if (!compiled) {
      compiled = compile();
      pending.delete(ensure);
    }
    return compiled;
  };
  pending.add(ensure);
  const validate: AjvValidate = (data, dataCxt) => {
    const fn = ensure();
    const result = fn(data, dataCxt);
    validate.errors = fn.errors;
    return result;
  };
  validate.schemaEnv = true;
  return validate;
}

/**
 * Compiles every route validator of `app` not compiled yet (after `app.ready()`), throwing the first schema Ajv
 * refuses; returns how many it compiled. Start-up does not need it: tests use it to prove every schema compiles.
 */
export function compileValidators(app: FastifyInstance): number {
  const pending = [...(pendingValidators.get(app) ?? [])];
  for (const ensure of pending) ensure();
  return pending.length;
}

/** Builds the HTTP API. Later capabilities (refresh, data reads, webhooks) plug in through `extensions`. */
export async function buildApp(ctx: ApiContext, extensions: AppExtension[] = []): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: ctx.log as FastifyBaseLogger,
    genReqId: () => newCorrelationId(),
    logController: new LogController({ requestIdLogLabel: 'correlationId' }),
    bodyLimit: ctx.bodyLimit,
    return503OnClosing: true,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 500 },
    // Router-level failures (a path that does not percent-decode, an over-long path segment) never reach the error
    // handler or the hooks; without this Fastify answers them with its own body and no correlation id.
    frameworkErrors: (err, req, res) => {
      const reply = res as FastifyReply;
      reply.header('x-correlation-id', req.id);
      if (err.code === 'FST_ERR_BAD_URL' || err.code === 'FST_ERR_MAX_PARAM_LENGTH') {
        const message = err.code === 'FST_ERR_BAD_URL' ? 'The URL path is not validly percent-encoded.' : 'A path segment is too long.';
        return reply
          .code(400)
          .type('application/json; charset=utf-8')
          .send(errorBody(400, 'PublicApi', NOT_VALID, req.id, [{ itemId: 'path', message, validatorName: 'Url' }]));
      }
      const { status, body } = mapError(err, req.id);
      return reply.code(status).type('application/json; charset=utf-8').send(body);
    },
  });

  // Bodies are validated strictly (no type coercion, unknown keys rejected by the schemas); path and query
  // parameters arrive as strings and are coerced to the schema's types.
  // Each route's validator is compiled by Ajv the first time the route is called, not when Fastify gets ready: that
  // compiling was a third of the CPU a start spent (issue 17), for routes most processes never serve. The validator is
  // the same one, from the same Ajv instance and schema, so validation is exactly as strict; compileValidators (below)
  // compiles every pending one at once, which tests use to prove every route schema compiles.
  const ajvOptions = { allErrors: false, removeAdditional: false as const, useDefaults: true, strict: false };
  const ajvs: { body?: Ajv.default; params?: Ajv.default } = {};
  const ajvFor = (part: 'body' | 'params'): Ajv.default => {
    let ajv = ajvs[part];
    if (!ajv) {
      ajv = new Ajv.default({ ...ajvOptions, coerceTypes: part === 'params' });
      addFormats.default(ajv);
      ajv.addSchema([ErrorMessage, PullOperation]);
      ajvs[part] = ajv;
    }
    return ajv;
  };
  const pending = new Set<() => unknown>();
  pendingValidators.set(app, pending);
  app.setValidatorCompiler(({ schema, httpPart }) => lazyValidator(() => ajvFor(httpPart === 'body' ? 'body' : 'params').compile(schema) as unknown as AjvValidate, pending));
  // Responses are plain JSON.stringify: the response schemas document the contract, they do not reshape output.
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  app.addSchema(ErrorMessage);
  app.addSchema(PullOperation);
  app.addSchema(OperationsSummary);
  // The record shapes of issue 15's types and the aged reports: one component each in /openapi.json.
  for (const schema of NAMED_RECORD_SCHEMAS) app.addSchema(schema);

  // JSON bodies: an empty body is "no body" (so DELETE/POST without a body never trips the parser).
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    const text = (body as string).trim();
    if (text === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch (err) {
      const e = err as Error & { statusCode?: number };
      e.statusCode = 400;
      done(e, undefined);
    }
  });

  // Known routes, for telling 405 (known path, wrong method) from 404. The router is built at the first unmatched
  // request, not at start-up: inserting every route twice (Fastify's router and this one) cost start-up ~50 ms.
  const known: { method: HTTPMethod; url: string }[] = [];
  let knownRouter: FindMyWay.Instance<FindMyWay.HTTPVersion.V1> | undefined;
  const router = () => {
    if (!knownRouter) {
      knownRouter = FindMyWay({ ignoreTrailingSlash: true, maxParamLength: 500 });
      for (const { method, url } of known) {
        try {
          knownRouter.on(method, url, () => {});
        } catch {
          /* already registered (HEAD twins) */
        }
      }
    }
    return knownRouter;
  };
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const m of methods) known.push({ method: m as HTTPMethod, url: route.url });
    knownRouter = undefined;
  });

  app.addHook('onRequest', async (req, reply) => {
    reply.header('x-correlation-id', req.id);
    if (req.is404 || isPublicPath(req.routeOptions.url)) return;
    await authenticate(req, ctx.repos.apiKeys);
  });

  // `orderBy` is matched case-insensitively (query-language.md §7): `orderby=-issueDate` works too.
  // Ids are lowercase UUIDs (platform-api.md §1); an uppercase rendering of one names the same resource.
  app.addHook('preValidation', async (req) => {
    // A NUL character cannot name anything stored (PostgreSQL refuses it in text and jsonb, so a lookup by it failed
    // with a 500 there and a 404 on SQLite): refused the same way on both, before any handler reads the input.
    const nul = nulItem(req.params, '') ?? nulItem(req.query, '') ?? nulItem(req.body, '');
    if (nul !== undefined) throw RequestValidationError.of(nul || 'body', 'The request contains a NUL character (\\u0000), which no identifier or value can hold.');
    // asOf / asOfPull (record history) on a route that cannot answer as of a moment: refused, never ignored — ignoring
    // it would answer today's data to a question about the past. Routes that take it declare it in their querystring
    // (AsOfQuery); the hidden catch-alls keep their 404.
    const asked = req.query as Record<string, unknown> | undefined;
    const schema = req.routeOptions.schema as { hide?: boolean; querystring?: { properties?: Record<string, unknown> } } | undefined;
    if (asked && typeof asked === 'object' && (asked.asOf !== undefined || asked.asOfPull !== undefined) && schema && !schema.hide && !schema.querystring?.properties?.asOf) {
      const item = asked.asOf !== undefined ? 'asOf' : 'asOfPull';
      throw RequestValidationError.of(
        item,
        `${item} does not apply to this endpoint: only reads of stored accounting data (lists, records, statements, bank transactions, the aged reports) can be answered as of a moment.`,
        'History',
      );
    }
    const params = req.params as Record<string, unknown> | undefined;
    if (params && typeof params === 'object') {
      for (const [k, v] of Object.entries(params)) {
        if (typeof v === 'string' && UUID_UPPER.test(v)) params[k] = v.toLowerCase();
      }
    }
    const q = req.query as Record<string, unknown> | undefined;
    if (!q || typeof q !== 'object') return;
    for (const k of Object.keys(q)) {
      if (k !== 'orderBy' && k.toLowerCase() === 'orderby') {
        if (q.orderBy === undefined) q.orderBy = q[k];
        delete q[k];
      }
    }
  });

  app.setErrorHandler((err, req, reply) => {
    const { status, body, unexpected } = mapError(err, req.id);
    noteStorageFailure(ctx.store.db, err); // /readyz reports it
    if (unexpected) req.log.error({ err }, 'unexpected error');
    else if (status >= 500) req.log.warn({ err: (err as Error).message }, 'request failed');
    if (status === 503) reply.header('retry-after', '5');
    return reply.code(status).type('application/json; charset=utf-8').send(body);
  });

  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split('?')[0] ?? req.url;
    const allowed = ROUTABLE_METHODS.filter((m) => m !== req.method && router().find(m, path) !== null);
    if (allowed.length && router().find(req.method as HTTPMethod, path) === null) {
      return reply
        .code(405)
        .header('allow', allowed.join(', '))
        .type('application/json; charset=utf-8')
        .send(errorBody(405, 'PublicApi', `Method ${req.method} is not allowed on ${path}`, req.id));
    }
    const e = new NotFoundError(`No route matches ${req.method} ${path}`);
    return reply.code(404).type('application/json; charset=utf-8').send(errorBody(e.statusCode, e.service, e.message, req.id));
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Syncline Platform API',
        version: '1.0.0',
        description: "Self-hosted, Codat Platform API–compatible engine for fresh accounting data. Authenticate with `Authorization: Basic base64(apiKey)`.",
      },
      components: { securitySchemes: { auth_header: { type: 'apiKey', in: 'header', name: 'Authorization' } } },
      security: [{ auth_header: [] }],
    },
    refResolver: { buildLocalReference: (json, _base, _frag, i) => (json.$id as string) ?? `def-${i}` },
  });
  await app.register(swaggerUi, { routePrefix: '/docs', uiConfig: { deepLinking: false } });

  await app.register(async (scope) => {
    await opsRoutes(scope, ctx);
    await companiesRoutes(scope, ctx);
    await connectionsRoutes(scope, ctx);
    await integrationsRoutes(scope, ctx);
    await apiKeysRoutes(scope, ctx);
    await profileRoutes(scope, ctx);
    await linkRoutes(scope, ctx);
    await refreshRoutes(scope, ctx);
    await syncSettingsRoutes(scope, ctx);
    await historyRoutes(scope, ctx);
    await dataRoutes(scope, ctx);
    await documentsRoutes(scope, ctx);
    await webhooksRoutes(scope, ctx);
    await operationsRoutes(scope, ctx);
    await uiRoutes(scope, ctx);
    await unsupportedRoutes(scope);
    for (const ext of extensions) await ext(scope, ctx);
  });

  return app;
}

export { SynclineError };

/**
 * Where a request's input (params, query or a parsed JSON body) holds a NUL character: the item's path ('' for the
 * value itself), or undefined. A Buffer or stream body is not text and is not read.
 */
function nulItem(value: unknown, path: string, depth = 0): string | undefined {
  if (typeof value === 'string') return value.includes('\u0000') ? path : undefined;
  if (value === null || typeof value !== 'object' || depth > 32) return undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const hit = nulItem(value[i], `${path}[${i}]`, depth + 1);
      if (hit !== undefined) return hit;
    }
    return undefined;
  }
  if (ArrayBuffer.isView(value) || typeof (value as { pipe?: unknown }).pipe === 'function') return undefined;
  for (const [k, v] of Object.entries(value)) {
    const item = path ? `${path}.${k}` : k;
    if (k.includes('\u0000')) return item;
    const hit = nulItem(v, item, depth + 1);
    if (hit !== undefined) return hit;
  }
  return undefined;
}

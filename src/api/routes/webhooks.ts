import type { FastifyInstance } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { newId } from '../../lib/ids.js';
import { NotFoundError, QueryError, RequestValidationError, StateError, type ValidationItem } from '../../domain/errors.js';
import {
  MAX_COMPANY_TAG_LENGTH,
  MAX_COMPANY_TAGS,
  MAX_CONSUMERS,
  MAX_EVENT_TYPE_LENGTH,
  ROTATION_OVERLAP_MS,
  canonicalEventType,
  parseCompanyTag,
} from '../../domain/webhook-events.js';
import { WebhooksRepository, type WebhookAttemptRow, type WebhookConsumerRow } from '../../store/webhooks.repository.js';
import { refusedUrl } from '../../webhooks/address.js';
import { generateSecret } from '../../webhooks/signing.js';
import type { ApiContext } from '../context.js';
import { envelope, pageRequest } from '../paging.js';
import { DateTime, PagingQuery, Uuid, errorResponses, paged } from '../schemas.js';

/** Webhook consumers (platform-api.md §5.8, §7.8) and the delivery log and replay extensions (webhooks.md §7.6). */

const WebhookConsumer = Type.Object({
  id: Uuid,
  url: Type.String({ format: 'uri' }),
  disabled: Type.Union([Type.Boolean(), Type.Null()]),
  eventTypes: Type.Array(Type.String()),
  companyTags: Type.Optional(Type.Union([Type.Array(Type.String()), Type.Null()])),
  signingSecret: Type.Optional(Type.String({ description: 'extension: only in the 201 response to create' })),
});

const WebhookConsumerPrototype = Type.Object(
  {
    url: Type.String({ minLength: 1, maxLength: 2048, description: 'Absolute http:// or https:// URL' }),
    disabled: Type.Optional(Type.Union([Type.Boolean(), Type.Null()])),
    eventTypes: Type.Array(Type.String({ minLength: 1, maxLength: MAX_EVENT_TYPE_LENGTH }), { minItems: 1 }),
    companyTags: Type.Optional(
      Type.Union([Type.Array(Type.String({ minLength: 1, maxLength: MAX_COMPANY_TAG_LENGTH }), { maxItems: MAX_COMPANY_TAGS }), Type.Null()]),
    ),
  },
  { additionalProperties: false },
);
type WebhookConsumerPrototype = Static<typeof WebhookConsumerPrototype>;

const SigningSecret = Type.Object({ key: Type.String({ description: 'whsec_… signing secret' }) });

const DeliveryAttempt = Type.Object({
  id: Uuid,
  webhookId: Uuid,
  eventId: Uuid,
  eventType: Type.String(),
  attempt: Type.Integer({ minimum: 1, maximum: 8 }),
  timestamp: DateTime,
  statusCode: Type.Optional(Type.Integer()),
  durationMs: Type.Integer(),
  success: Type.Boolean(),
  error: Type.Optional(Type.String()),
  responseBody: Type.Optional(
    Type.String({ description: "The first 1 KiB of the receiver's response body (UTF-8, invalid bytes replaced); absent when no response arrived" }),
  ),
  responseBodyTruncated: Type.Optional(Type.Boolean({ description: 'true when the body was longer than responseBody' })),
});

const WebhookParams = Type.Object({ webhookId: Uuid });
const EventParams = Type.Object({ eventId: Uuid });
const ReplayParams = Type.Object({ webhookId: Uuid, eventId: Uuid });
const RecoverBody = Type.Object({ since: Type.String({ format: 'date-time' }) }, { additionalProperties: false });

const Accepted = { 202: Type.Null({ description: 'Accepted: the deliveries are due at once, on a fresh retry schedule' }) };

export const webhookNotFound = (id: string) => new NotFoundError(`No webhook consumer was found with ID ${id}`, 'ClientsApi');
const eventNotFound = (id: string) => new NotFoundError(`No webhook event was found with ID ${id}`, 'ClientsApi');

/** Attempts are listed newest first only: `query` and `orderBy` are refused rather than silently ignored. */
function pagingOnly(q: PagingQuery): void {
  for (const param of ['query', 'orderBy'] as const) {
    if (q[param] !== undefined) throw new QueryError(`'${param}' is not supported on delivery attempts.`, 'ClientsApi', param);
  }
}

function consumerToApi(row: WebhookConsumerRow): Record<string, unknown> {
  const out: Record<string, unknown> = {
    id: row.id,
    url: row.url,
    disabled: row.disabled === 1,
    eventTypes: JSON.parse(row.event_types) as string[],
  };
  if (row.company_tags !== null) out.companyTags = JSON.parse(row.company_tags) as string[];
  return out;
}

function attemptToApi(row: WebhookAttemptRow): Record<string, unknown> {
  const out: Record<string, unknown> = {
    id: row.id,
    webhookId: row.consumer_id,
    eventId: row.event_id,
    eventType: row.event_type,
    attempt: row.attempt,
    timestamp: row.sent_at,
  };
  if (row.status_code !== null) out.statusCode = row.status_code;
  out.durationMs = row.duration_ms;
  out.success = row.success === 1;
  if (row.error !== null) out.error = row.error;
  if (row.response_body !== null) {
    out.responseBody = row.response_body;
    out.responseBodyTruncated = row.response_body_truncated === 1;
  }
  return out;
}

/** Checks the rules TypeBox cannot express (webhooks.md §1) and returns the values as stored. */
function validatePrototype(body: WebhookConsumerPrototype, allowPrivate: boolean): { eventTypes: string[]; companyTags: string[] | null } {
  const errors: ValidationItem[] = [];
  const refused = refusedUrl(body.url, allowPrivate);
  if (refused) errors.push({ itemId: 'url', message: `The url ${refused}.`, validatorName: 'Url' });
  const eventTypes = [...new Set(body.eventTypes.map((t) => canonicalEventType(t.trim())))];
  body.eventTypes.forEach((t, i) => {
    if (t.trim() === '') errors.push({ itemId: `eventTypes[${i}]`, message: 'An event type must not be blank.', validatorName: 'NotEmpty' });
  });
  const tags = body.companyTags ?? null;
  tags?.forEach((tag, i) => {
    if (!parseCompanyTag(tag)) errors.push({ itemId: `companyTags[${i}]`, message: `'${tag}' is not of the form tagKey:tagValue.`, validatorName: 'CompanyTag' });
  });
  if (errors.length) throw new RequestValidationError(errors, 'ClientsApi');
  return { eventTypes, companyTags: tags };
}

export async function webhooksRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  const repo = new WebhooksRepository(ctx.store.db, ctx.store.dialect);
  const now = () => ctx.clock.now().toISOString();
  const requireConsumer = async (id: string) => {
    const row = await repo.getConsumer(id);
    if (!row) throw webhookNotFound(id);
    return row;
  };
  const requireEnabled = async (id: string) => {
    const row = await requireConsumer(id);
    if (row.disabled === 1) throw new StateError(`Webhook consumer ${id} is disabled; create it again to receive events.`, 'ClientsApi');
    return row;
  };

  app.get(
    '/webhooks',
    {
      schema: {
        operationId: 'list-webhook-consumers',
        tags: ['Webhooks'],
        summary: 'List webhook consumers (not paged; at most 50)',
        response: { 200: Type.Object({ results: Type.Array(WebhookConsumer) }), ...errorResponses(400, 401) },
      },
    },
    async () => ({ results: (await repo.listConsumers()).map(consumerToApi) }),
  );

  app.post<{ Body: WebhookConsumerPrototype }>(
    '/webhooks',
    {
      schema: {
        operationId: 'create-webhook-consumer',
        tags: ['Webhooks'],
        summary: 'Create a webhook consumer; its signing secret is returned once, as signingSecret',
        body: WebhookConsumerPrototype,
        response: { 201: WebhookConsumer, ...errorResponses(400, 401) },
      },
    },
    async (req, reply) => {
      const { eventTypes, companyTags } = validatePrototype(req.body, ctx.webhooksAllowPrivate ?? false);
      const secret = generateSecret();
      const row: WebhookConsumerRow = {
        id: newId(),
        url: req.body.url,
        event_types: JSON.stringify(eventTypes),
        company_tags: companyTags === null ? null : JSON.stringify(companyTags),
        disabled: req.body.disabled ? 1 : 0,
        disabled_at: req.body.disabled ? now() : null,
        secret: ctx.secretBox.seal(secret),
        previous_secret: null,
        previous_secret_until: null,
        failing_since: null,
        created_at: now(),
      };
      if (!(await repo.insertConsumerWithinLimit(row, MAX_CONSUMERS))) {
        throw new StateError(`Maximum number of webhook consumers (${MAX_CONSUMERS}) reached.`, 'ClientsApi');
      }
      return reply.code(201).send({ ...consumerToApi(row), signingSecret: secret });
    },
  );

  app.delete<{ Params: { webhookId: string } }>(
    '/webhooks/:webhookId',
    {
      schema: {
        operationId: 'delete-webhook-consumer',
        tags: ['Webhooks'],
        summary: 'Delete a webhook consumer; its pending deliveries are cancelled',
        params: WebhookParams,
        response: { 204: Type.Null({ description: 'Deleted' }), ...errorResponses(400, 401, 404) },
      },
    },
    async (req, reply) => {
      if (!(await repo.deleteConsumer(req.params.webhookId))) throw webhookNotFound(req.params.webhookId);
      return reply.code(204).send();
    },
  );

  app.get<{ Params: { webhookId: string } }>(
    '/webhooks/:webhookId/secret',
    {
      schema: {
        operationId: 'get-webhook-consumer-secret',
        tags: ['Webhooks'],
        summary: "extension: the consumer's current signing secret",
        params: WebhookParams,
        response: { 200: SigningSecret, ...errorResponses(400, 401, 404) },
      },
    },
    async (req) => ({ key: ctx.secretBox.open((await requireConsumer(req.params.webhookId)).secret) }),
  );

  app.post<{ Params: { webhookId: string } }>(
    '/webhooks/:webhookId/secret/rotate',
    {
      schema: {
        operationId: 'rotate-webhook-consumer-secret',
        tags: ['Webhooks'],
        summary: 'extension: replace the signing secret; for 24 hours deliveries are signed with the old and the new one',
        params: WebhookParams,
        response: { 200: SigningSecret, ...errorResponses(400, 401, 404) },
      },
    },
    async (req) => {
      const secret = generateSecret();
      const until = new Date(ctx.clock.now().getTime() + ROTATION_OVERLAP_MS).toISOString();
      if (!(await repo.rotateSecret(req.params.webhookId, ctx.secretBox.seal(secret), until))) throw webhookNotFound(req.params.webhookId);
      return { key: secret };
    },
  );

  app.get<{ Params: { webhookId: string }; Querystring: PagingQuery & { eventId?: string } }>(
    '/webhooks/:webhookId/attempts',
    {
      schema: {
        operationId: 'list-webhook-consumer-attempts',
        tags: ['Webhooks'],
        summary: 'extension: delivery attempts to one consumer, newest first (optionally of one event)',
        params: WebhookParams,
        querystring: Type.Composite([PagingQuery, Type.Object({ eventId: Type.Optional(Uuid) })]),
        response: { 200: paged(DeliveryAttempt), ...errorResponses(400, 401, 404) },
      },
    },
    async (req) => {
      pagingOnly(req.query);
      const page = pageRequest(req.query);
      await requireConsumer(req.params.webhookId);
      const filter: { consumerId: string; eventId?: string } = { consumerId: req.params.webhookId };
      if (req.query.eventId) filter.eventId = req.query.eventId;
      const { rows, total } = await repo.listAttempts(filter, page);
      return envelope(`/webhooks/${req.params.webhookId}/attempts`, req.query, page, total, rows.map(attemptToApi));
    },
  );

  app.get<{ Params: { eventId: string }; Querystring: PagingQuery }>(
    '/webhooks/events/:eventId/attempts',
    {
      schema: {
        operationId: 'list-webhook-event-attempts',
        tags: ['Webhooks'],
        summary: 'extension: delivery attempts of one event (its id or AlertId) across consumers, newest first',
        params: EventParams,
        querystring: PagingQuery,
        response: { 200: paged(DeliveryAttempt), ...errorResponses(400, 401, 404) },
      },
    },
    async (req) => {
      pagingOnly(req.query);
      const page = pageRequest(req.query);
      if (!(await repo.eventExists(req.params.eventId))) throw eventNotFound(req.params.eventId);
      const { rows, total } = await repo.listAttempts({ eventId: req.params.eventId }, page);
      return envelope(`/webhooks/events/${req.params.eventId}/attempts`, req.query, page, total, rows.map(attemptToApi));
    },
  );

  app.post<{ Params: { webhookId: string; eventId: string } }>(
    '/webhooks/:webhookId/events/:eventId/replay',
    {
      schema: {
        operationId: 'replay-webhook-event',
        tags: ['Webhooks'],
        summary: 'extension: deliver one event to one consumer again (same webhook-id, fresh retry schedule)',
        params: ReplayParams,
        response: { ...Accepted, ...errorResponses(400, 401, 404) },
      },
    },
    async (req, reply) => {
      const { webhookId, eventId } = req.params;
      await requireEnabled(webhookId);
      // An event the consumer never had (filtered out, or generated before it existed) is not sent to it now either.
      if (!(await repo.replay(webhookId, eventId, now()))) throw eventNotFound(eventId);
      return reply.code(202).send();
    },
  );

  app.post<{ Params: { webhookId: string }; Body: { since: string } }>(
    '/webhooks/:webhookId/recover',
    {
      schema: {
        operationId: 'recover-webhook-consumer',
        tags: ['Webhooks'],
        summary: 'extension: replay every event whose delivery to this consumer failed at or after `since`',
        params: WebhookParams,
        body: RecoverBody,
        response: { ...Accepted, ...errorResponses(400, 401, 404) },
      },
    },
    async (req, reply) => {
      await requireEnabled(req.params.webhookId);
      await repo.recover(req.params.webhookId, new Date(req.body.since).toISOString(), now());
      return reply.code(202).send();
    },
  );
}

import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import { newId, randomAlnum } from '../../lib/ids.js';
import { hashApiKey } from '../../lib/secrets.js';
import { apiKeyNotFound, ConflictError, StateError } from '../../domain/errors.js';
import type { ApiContext } from '../context.js';
import { apiKeyToApi } from '../mappers.js';
import { ApiKeyDetails, ApiKeyParams, CreateApiKey, absentBodyIsEmptyObject, errorResponses } from '../schemas.js';
import { MAX_API_KEYS } from '../../store/api-keys.repository.js';

export { MAX_API_KEYS };
export const MAX_API_KEY_NAME = 50;

export async function apiKeysRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  const { apiKeys } = ctx.repos;

  app.get(
    '/apiKeys',
    {
      schema: {
        operationId: 'list-api-keys',
        tags: ['API keys'],
        summary: 'List API keys (secrets are never returned)',
        response: { 200: Type.Object({ results: Type.Array(ApiKeyDetails) }), ...errorResponses(401) },
      },
    },
    async () => ({ results: (await apiKeys.list()).map(apiKeyToApi) }),
  );

  app.post<{ Body: { name?: string | null } | undefined }>(
    '/apiKeys',
    {
      schema: {
        operationId: 'create-api-key',
        tags: ['API keys'],
        summary: 'Create an API key; the key is returned only in this response',
        body: CreateApiKey,
        response: { 201: ApiKeyDetails, ...errorResponses(400, 401, 409) },
      },
      preValidation: absentBodyIsEmptyObject,
    },
    async (req, reply) => {
      const name = req.body?.name ?? null;
      if (name !== null && name.length > MAX_API_KEY_NAME) {
        throw new StateError(`Max string length (${MAX_API_KEY_NAME}) for \`name\` reached.`, 'ClientsApi');
      }
      const apiKey = randomAlnum(40);
      const row = { id: newId(), name, key_hash: hashApiKey(apiKey), created_at: ctx.clock.now().toISOString() };
      const inserted = await apiKeys.insertWithinLimit(row, MAX_API_KEYS, ctx.store.dialect === 'postgres');
      if (!inserted) {
        throw new ConflictError('Maximum number of API keys reached. To create a new API key, delete an unused key and try again.', 'ClientsApi');
      }
      return reply.code(201).send({ ...apiKeyToApi(row), apiKey });
    },
  );

  app.delete<{ Params: { apiKeyId: string } }>(
    '/apiKeys/:apiKeyId',
    {
      schema: {
        operationId: 'delete-api-key',
        tags: ['API keys'],
        summary: 'Delete an API key (any key, including the one in use)',
        params: ApiKeyParams,
        response: { 204: Type.Null({ description: 'Deleted' }), ...errorResponses(400, 401, 404) },
      },
    },
    async (req, reply) => {
      if (!(await apiKeys.delete(req.params.apiKeyId, ctx.clock.now().toISOString()))) throw apiKeyNotFound(req.params.apiKeyId);
      return reply.code(204).send();
    },
  );
}

import type { FastifyInstance } from 'fastify';
import { NotFoundError } from '../../domain/errors.js';

/**
 * Codat operations Syncline does not serve in v1 (platform-api.md §5.10): a 404 with a clear message, not a 501,
 * because the SDK retries every 5xx.
 */
const PATHS = [
  '/companies/:companyId/products/:productIdentifier',
  '/companies/:companyId/products/:productIdentifier/refresh',
  '/companies/:companyId/accessToken',
  '/companies/:companyId/connectionManagement/accessToken',
  '/corsSettings',
  '/connectionManagement/corsSettings',
  '/companies/:companyId/push',
  '/companies/:companyId/push/*',
  '/companies/:companyId/connections/:connectionId/push',
  '/companies/:companyId/connections/:connectionId/push/*',
  '/companies/:companyId/connections/:connectionId/options/:dataType',
  '/integrations/:platformKey/dataTypes/*',
  '/companies/:companyId/connections/:connectionId/data/queue/custom/*',
  '/companies/:companyId/connections/:connectionId/data/custom/*',
  '/webhooks/integrationKeys/zapier',
  '/rules',
  '/rules/:ruleId',
];

export async function unsupportedRoutes(app: FastifyInstance): Promise<void> {
  for (const url of PATHS) {
    app.route({
      method: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
      url,
      schema: { hide: true },
      handler: async (req) => {
        const path = req.url.split('?')[0];
        throw new NotFoundError(`Operation ${req.method} ${path} is not supported by Syncline`);
      },
    });
  }
}

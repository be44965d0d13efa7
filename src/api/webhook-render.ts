import { newId } from '../lib/ids.js';
import type { RenderContext } from '../webhooks/render.js';
import type { ApiContext } from './context.js';
import { companyToApi, connectionToApi } from './mappers.js';
import { currentProfile } from './routes/profile.js';

/**
 * How webhook bodies show companies and connections: exactly as the API does (same mappers, same public base URL),
 * and the legacy ClientId / ClientName as `GET /profile/syncSettings` and `GET /profile` report them.
 */
export function webhookRenderContext(ctx: ApiContext): RenderContext {
  return {
    companyDetails(company) {
      // CompanyDetails = Company without dataConnections; lastSync comes from the snapshot.
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(companyToApi(company, [], ctx.publicBaseUrl()))) {
        if (k === 'dataConnections') continue;
        if (k === 'created' && company.last_sync) out.lastSync = company.last_sync;
        out[k] = v;
      }
      return out;
    },
    connection: (connection) => connectionToApi({ ...connection, credentials: null }, ctx.publicBaseUrl()),
    integration: (key) => ctx.registry.get(key),
    client: async () => ({ id: await ctx.repos.instance.getOrInit<string>('client_id', newId), name: (await currentProfile(ctx)).name }),
  };
}

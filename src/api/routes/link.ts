import type { FastifyInstance, FastifyReply } from 'fastify';
import { Type } from '@sinclair/typebox';
import { companyNotFound, connectionNotFound, integrationNotFound } from '../../domain/errors.js';
import type { ApiContext } from '../context.js';
import { linkConnection } from '../services/connection-lifecycle.js';
import { currentProfile } from './profile.js';

/**
 * The Link pages behind `Company.redirect` and `Connection.linkUrl` (platform-api.md §7.13). Browser pages, not API
 * operations: no API key, HTML answers. For the Sandbox a plain GET of the linkUrl links at once and redirects.
 */
const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(reply: FastifyReply, status: number, title: string, body: string) {
  return reply
    .code(status)
    .type('text/html; charset=utf-8')
    .send(
      `<!doctype html><html><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>` +
        `<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem}a.i{display:block;margin:.5rem 0}</style>` +
        `</head><body><h1>${escapeHtml(title)}</h1>${body}</body></html>`,
    );
}

const Ids = Type.Object({ companyId: Type.String({ format: 'uuid' }) });
const ConnIds = Type.Object({ companyId: Type.String({ format: 'uuid' }), connectionId: Type.String({ format: 'uuid' }) });
const IntegrationIds = Type.Object({ companyId: Type.String({ format: 'uuid' }), platformKey: Type.String() });

export async function linkRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  const { companies, connections } = ctx.repos;

  app.get<{ Params: { companyId: string } }>('/link/companies/:companyId', { schema: { hide: true, params: Ids } }, async (req, reply) => {
    const company = await companies.get(req.params.companyId);
    if (!company) throw companyNotFound(req.params.companyId);
    const items = ctx.registry
      .all()
      .filter((d) => ctx.registry.isEnabled(d))
      .map((d) => `<a class="i" href="/link/companies/${company.id}/integrations/${d.key}">Connect ${escapeHtml(d.name)}</a>`)
      .join('');
    return page(reply, 200, `Connect ${company.name}'s accounting software`, items || '<p>No integration is enabled on this instance.</p>');
  });

  // Choosing an integration reuses the company's PendingAuth connection to it, or creates one, then starts its link.
  app.get<{ Params: { companyId: string; platformKey: string } }>(
    '/link/companies/:companyId/integrations/:platformKey',
    { schema: { hide: true, params: IntegrationIds } },
    async (req, reply) => {
      const { companyId, platformKey } = req.params;
      if (!(await companies.exists(companyId))) throw companyNotFound(companyId);
      const def = ctx.registry.get(platformKey);
      if (!def || !ctx.registry.isEnabled(def)) throw integrationNotFound(platformKey);
      const existing = (await connections.listForCompanies([companyId])).find((c) => c.integration_key === def.key && c.status === 'PendingAuth');
      let id = existing?.id;
      if (!id) id = await connections.create(companyId, def.key, ctx.clock.now().toISOString());
      return reply.redirect(`/link/companies/${companyId}/connections/${id}/start`, 302);
    },
  );

  app.get<{ Params: { companyId: string; connectionId: string } }>(
    '/link/companies/:companyId/connections/:connectionId/start',
    { schema: { hide: true, params: ConnIds } },
    async (req, reply) => {
      const { companyId, connectionId } = req.params;
      if (!(await companies.exists(companyId))) throw companyNotFound(companyId);
      const conn = await connections.get(companyId, connectionId);
      if (!conn) throw connectionNotFound(connectionId);
      const def = ctx.registry.get(conn.integration_key)!;
      if (def.oauthClient !== null) {
        // OAuth platforms need their connector's authorization flow, which this version does not ship yet.
        return page(
          reply,
          409,
          `${def.name} cannot be linked yet`,
          `<p>This Syncline version cannot run ${escapeHtml(def.name)}'s authorization flow. Use the Sandbox integration, or store credentials with <code>PUT …/authorization</code> once the ${escapeHtml(def.name)} connector is available.</p>`,
        );
      }
      await linkConnection(ctx, conn, undefined, 'linked through linkUrl');
      const profile = await currentProfile(ctx);
      const target = profile.redirectUrl.replaceAll('{companyId}', companyId).replaceAll('{connectionId}', connectionId);
      return reply.redirect(target, 302);
    },
  );

  app.get('/link/complete', { schema: { hide: true } }, async (_req, reply) =>
    page(reply, 200, 'Connected', '<p>Your accounting software is connected. You can close this window.</p>'),
  );
}

import { createHash, randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { Type } from '@sinclair/typebox';
import { companyNotFound, connectionNotFound, integrationNotFound, StateError } from '../../domain/errors.js';
import { LINK_STATE_TTL_MS, MAX_LINK_CONNECTIONS_PER_INTEGRATION, linkPageDecision } from '../../domain/link-rules.js';
import { OAuthLinkError, type OAuthGrant, type OAuthLinkFailure, type OAuthLinker, type OAuthTenant } from '../../domain/oauth-link.js';
import type { ConnectionStatus } from '../../domain/statuses.js';
import type { IntegrationDefinition } from '../../connectors/integrations.js';
import type { ConnectionRow } from '../../store/connections.repository.js';
import { recordConnectionError, statusText } from '../../store/connection-errors.js';
import { LinkStatesRepository, type ConsumeFailure } from '../../store/link-states.repository.js';
import { emitConnectionEvent } from '../../store/webhook-outbox.js';
import type { ApiContext } from '../context.js';
import { connectedPage, integrationsPage, messagePage, progressPage, setLinkBrand, tenantChooserPage } from '../link-pages.js';
import { linkProgress } from '../link-progress.js';
import { FirstPullRepository } from '../../store/first-pull.repository.js';
import { exclusively, linkConnection } from '../services/connection-lifecycle.js';
import { currentProfile } from './profile.js';

/**
 * The Link flow behind `Company.redirect` and `Connection.linkUrl` (platform-api.md §7.13). Browser pages, not API
 * operations: no API key, HTML answers (rendered by ../link-pages.ts). Because anyone who knows an id can open them,
 * they only move a connection forward through the platform's consent (src/domain/link-rules.ts): a PendingAuth
 * connection is linked, a Deauthorized one re-authorised to the same tenant; Linked and Unlinked ones are not touched.
 *
 * Sandbox (no OAuth client): a plain GET of the linkUrl links at once and redirects.
 * OAuth platforms (Xero): linkUrl → a single-use, hashed, 10-minute `state` bound to the connection (with the PKCE
 * verifier, sealed) → 302 to the platform's authorize URL → callback: the state is consumed atomically, the code
 * exchanged, the grant's organisations read; several → a chooser page (a second single-use token); the tenants not
 * chosen are disconnected; tokens are stored sealed, the connection is linked and the browser goes to the profile's
 * redirectUrl. Every failure is an HTML page, leaves the status as it was and records connection.failed with the
 * reason in dataConnectionErrors.
 */

const Ids = Type.Object({ companyId: Type.String({ format: 'uuid' }) });
const ConnIds = Type.Object({ companyId: Type.String({ format: 'uuid' }), connectionId: Type.String({ format: 'uuid' }) });
const IntegrationIds = Type.Object({ companyId: Type.String({ format: 'uuid' }), platformKey: Type.String() });
const PlatformKey = Type.Object({ platformKey: Type.String({ maxLength: 16 }) });
const CallbackQuery = Type.Object(
  {
    code: Type.Optional(Type.String({ maxLength: 4096 })),
    state: Type.Optional(Type.String({ maxLength: 4096 })),
    error: Type.Optional(Type.String({ maxLength: 200 })),
    error_description: Type.Optional(Type.String({ maxLength: 2000 })),
    scope: Type.Optional(Type.String({ maxLength: 4096 })),
    session_state: Type.Optional(Type.String({ maxLength: 4096 })),
  },
  { additionalProperties: true },
);
const CompleteQuery = Type.Object(
  { companyId: Type.Optional(Type.String({ format: 'uuid' })), connectionId: Type.Optional(Type.String({ format: 'uuid' })) },
  { additionalProperties: true },
);
const ChooseBody = Type.Object({ token: Type.String({ maxLength: 200 }), tenantId: Type.String({ maxLength: 200 }) }, { additionalProperties: true });

/** Sealed payload of a `state` token. */
interface StatePayload {
  redirectUri: string;
  verifier?: string;
}
/** Sealed payload of a `choice` token: the grant waiting for the user's pick. */
interface ChoicePayload {
  grant: OAuthGrant;
}

const CONSUME_PAGES: Record<ConsumeFailure, { title: string; text: string }> = {
  unknown: { title: 'This link is not valid', text: 'The authorization could not be matched to a connection request. Start again from the link you were given.' },
  'wrong-kind': { title: 'This link is not valid', text: 'The authorization could not be matched to a connection request. Start again from the link you were given.' },
  replayed: { title: 'This link was already used', text: 'Each authorization can be completed only once. Start again from the link you were given.' },
  expired: { title: 'This link has expired', text: 'Authorizations must be completed within 10 minutes. Start again from the link you were given.' },
};

const FAILURE_PAGES: Record<OAuthLinkFailure, { status: number; title: string; text: (platform: string) => string }> = {
  access_denied: { status: 400, title: 'Access was not granted', text: (p) => `You declined access in ${p}, so nothing was connected. Start again from the link you were given to connect.` },
  invalid_grant: { status: 400, title: 'The authorization could not be completed', text: (p) => `${p} refused the authorization code (it was already used or has expired). Start again from the link you were given.` },
  no_refresh_token: {
    status: 400,
    title: 'Offline access was not granted',
    text: (p) => `${p} did not grant offline access (the offline_access scope), so Syncline could not keep the connection alive. Ask the operator to include offline_access in the configured scopes, then start again.`,
  },
  no_organisation: { status: 400, title: 'No organisation was authorised', text: (p) => `The ${p} authorization gave access to no organisation. Start again and choose the organisation to connect.` },
  tenant_mismatch: {
    status: 409,
    title: 'A different organisation was chosen',
    text: (p) => `This connection reads one ${p} organisation and can only be re-authorised for that same organisation. Start again and choose it, or ask the application for a new connection.`,
  },
  platform_error: { status: 502, title: 'The platform could not be reached', text: (p) => `${p} did not complete the authorization. Try again in a few minutes.` },
  wrong_environment: {
    status: 409,
    title: 'This company belongs to the other environment',
    text: (p) => `The company you chose cannot be read through ${p}: a sandbox company must be linked through the sandbox integration, a real company through the production one. Nothing was connected; start again with the right integration.`,
  },
};

export async function linkRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  const { companies, connections } = ctx.repos;
  const states = new LinkStatesRepository(ctx.store.db);
  const firstPulls = new FirstPullRepository(ctx.store.db);

  const redirectUri = (key: string) => `${ctx.publicBaseUrl()}/link/oauth/${key}/callback`;
  const linkerFor = (def: IntegrationDefinition): OAuthLinker | undefined => (def.oauthClient === null ? undefined : ctx.oauthLinker?.(def.key));

  async function redirectAfterLink(reply: FastifyReply, companyId: string, connectionId: string) {
    const profile = await currentProfile(ctx);
    let target = profile.redirectUrl.replaceAll('{companyId}', companyId).replaceAll('{connectionId}', connectionId);
    // Syncline's own completion page shows the progress of the pull the link started: it needs to know which one.
    if (target === `${ctx.publicBaseUrl()}/link/complete`) target += `?${new URLSearchParams({ companyId, connectionId })}`;
    return reply.redirect(target, 302);
  }

  /** connection.failed with the reason recorded in dataConnectionErrors, committed together; the status is unchanged. */
  async function recordFailure(connectionId: string, message: string, statusCode = 400) {
    const at = ctx.clock.now().toISOString();
    await ctx.store.db.transaction().execute(async (trx) => {
      await recordConnectionError(trx, connectionId, { statusCode: String(statusCode), statusText: statusText(statusCode), errorMessage: message, erroredOnUtc: at, status: 'Active' });
      await emitConnectionEvent(trx, 'connection.failed', connectionId, at);
    });
  }

  /** The page for a connection the Link pages may not touch. */
  function refusedPage(reply: FastifyReply, def: IntegrationDefinition, status: ConnectionStatus) {
    const d = linkPageDecision(status);
    if (d.allowed) throw new Error('not refused');
    if (d.reason === 'linked') {
      return messagePage(reply, 409, 'Already connected', [
        `This ${def.name} connection is already linked; nothing was changed. You can close this window.`,
      ]);
    }
    return messagePage(reply, 409, 'This connection was disconnected', [
      `The application disconnected this ${def.name} connection. It cannot be reconnected from this page; ask the application to reconnect it or to start a new connection.`,
    ]);
  }

  const tenantOf = (conn: ConnectionRow): string | undefined => {
    if (!conn.connection_info) return undefined;
    const info = JSON.parse(conn.connection_info) as Record<string, unknown>;
    return typeof info.tenantId === 'string' && info.tenantId ? info.tenantId : undefined;
  };

  await app.register(async (scope) => {
    // Every page carries the profile's branding (name, logo, icon, colour).
    scope.addHook('preHandler', async (req) => {
      const p = await currentProfile(ctx);
      setLinkBrand(req, { name: p.name, logoUrl: p.logoUrl, iconUrl: p.iconUrl, brandColor: p.brandColor });
    });
    // The tenant chooser posts an HTML form.
    scope.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 16 * 1024 }, (_req, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(body as string)));
    });

    scope.get<{ Params: { companyId: string } }>('/link/companies/:companyId', { schema: { hide: true, params: Ids } }, async (req, reply) => {
      const company = await companies.get(req.params.companyId);
      if (!company) throw companyNotFound(req.params.companyId);
      const items = ctx.registry
        .all()
        .filter((d) => ctx.registry.isEnabled(d))
        .map((d) => ({ href: `/link/companies/${company.id}/integrations/${d.key}`, name: d.name, icon: `/branding/${d.key}/icon.svg` }));
      return integrationsPage(reply, company.name, items);
    });

    // Choosing an integration reuses the company's PendingAuth connection to it, or creates one (up to the cap), then
    // starts its link.
    scope.get<{ Params: { companyId: string; platformKey: string } }>(
      '/link/companies/:companyId/integrations/:platformKey',
      { schema: { hide: true, params: IntegrationIds } },
      async (req, reply) => {
        const { companyId, platformKey } = req.params;
        if (!(await companies.exists(companyId))) throw companyNotFound(companyId);
        const def = ctx.registry.get(platformKey);
        if (!def || !ctx.registry.isEnabled(def)) throw integrationNotFound(platformKey);
        const id = await connections.pendingOrCreate(companyId, def.key, MAX_LINK_CONNECTIONS_PER_INTEGRATION, ctx.clock.now().toISOString());
        if (!id) {
          return messagePage(reply, 409, 'Too many connections', [
            `This company already has ${MAX_LINK_CONNECTIONS_PER_INTEGRATION} ${def.name} connections, the most this page may create. Ask the application to remove one it no longer needs, then start again.`,
          ]);
        }
        return reply.redirect(`/link/companies/${companyId}/connections/${id}/start`, 302);
      },
    );

    scope.get<{ Params: { companyId: string; connectionId: string } }>(
      '/link/companies/:companyId/connections/:connectionId/start',
      { schema: { hide: true, params: ConnIds } },
      async (req, reply) => {
        const { companyId, connectionId } = req.params;
        if (!(await companies.exists(companyId))) throw companyNotFound(companyId);
        const conn = await connections.get(companyId, connectionId);
        if (!conn) throw connectionNotFound(connectionId);
        const def = ctx.registry.get(conn.integration_key)!;
        const decision = linkPageDecision(conn.status as ConnectionStatus);
        if (!decision.allowed) return refusedPage(reply, def, conn.status as ConnectionStatus);

        // One link of a connection at a time: its platform authorization included (a concurrent one gets 409 at once).
        if (def.oauthClient === null) return exclusively(ctx, conn.id, () => linkWithoutConsent(reply, def, conn));

        const linker = linkerFor(def);
        if (!linker || !ctx.registry.isEnabled(def)) {
          return messagePage(reply, 409, `${def.name} is not configured`, [
            `This Syncline instance has no ${def.name} app configured, so it cannot send you to ${def.name} to authorise access. Ask the operator to configure it.`,
          ]);
        }
        const verifier = linker.pkce ? randomBytes(48).toString('base64url') : undefined;
        const uri = redirectUri(def.key);
        const payload: StatePayload = { redirectUri: uri, ...(verifier ? { verifier } : {}) };
        const state = await states.issue({
          kind: 'state',
          connectionId: conn.id,
          integrationKey: def.key,
          payload: ctx.secretBox.sealJson(payload),
          now: ctx.clock.now(),
          ttlMs: LINK_STATE_TTL_MS,
        });
        const codeChallenge = verifier ? createHash('sha256').update(verifier).digest('base64url') : undefined;
        return reply.redirect(linker.authorizeUrl({ state, redirectUri: uri, ...(codeChallenge ? { codeChallenge } : {}) }), 302);
      },
    );

    scope.get<{ Params: { platformKey: string }; Querystring: Record<string, string | undefined> }>(
      '/link/oauth/:platformKey/callback',
      { schema: { hide: true, params: PlatformKey, querystring: CallbackQuery } },
      async (req, reply) => {
        const def = ctx.registry.get(req.params.platformKey);
        if (!def || def.oauthClient === null) throw integrationNotFound(req.params.platformKey);
        const q = req.query;
        if (!q.state) return messagePage(reply, 400, CONSUME_PAGES.unknown.title, [CONSUME_PAGES.unknown.text]);
        const consumed = await states.consume(q.state, 'state', ctx.clock.now());
        if (!consumed.ok || consumed.row.integration_key !== def.key) {
          const reason: ConsumeFailure = consumed.ok ? 'unknown' : consumed.reason;
          const row = consumed.row;
          if (row && (reason === 'replayed' || reason === 'expired')) {
            await recordFailure(row.connection_id, `Link flow refused: the authorization state was ${reason === 'replayed' ? 'already used' : 'expired'}.`);
          }
          req.log.warn({ reason, platform: def.key }, 'link callback with an unusable state');
          return messagePage(reply, 400, CONSUME_PAGES[reason].title, [CONSUME_PAGES[reason].text]);
        }
        const conn = await connections.getById(consumed.row.connection_id);
        if (!conn) return messagePage(reply, 404, 'This connection no longer exists', ['The connection was deleted while you were authorising. Start again from a new link.']);
        if (!linkPageDecision(conn.status as ConnectionStatus).allowed) return refusedPage(reply, def, conn.status as ConnectionStatus);
        const linker = linkerFor(def);
        if (!linker) return messagePage(reply, 409, `${def.name} is not configured`, [`This Syncline instance has no ${def.name} app configured.`]);

        if (q.error) {
          const kind: OAuthLinkFailure = q.error === 'access_denied' ? 'access_denied' : 'platform_error';
          return failurePage(reply, def, conn, new OAuthLinkError(kind, `${def.name} answered ${q.error}${q.error_description ? `: ${q.error_description}` : ''}`));
        }
        if (!q.code) return failurePage(reply, def, conn, new OAuthLinkError('platform_error', `${def.name} returned no authorization code`));
        const payload = ctx.secretBox.openJson<StatePayload>(consumed.row.payload!);
        let grant: OAuthGrant;
        try {
          grant = await linker.exchange({
            code: q.code,
            redirectUri: payload.redirectUri,
            ...(payload.verifier ? { codeVerifier: payload.verifier } : {}),
            callback: q,
            signal: AbortSignal.timeout(60_000),
          });
        } catch (err) {
          return failurePage(reply, def, conn, asLinkError(err));
        }
        if (!grant.hasRefreshToken) {
          return failurePage(reply, def, conn, new OAuthLinkError('no_refresh_token', `${def.name} issued no refresh token: the offline_access scope was not granted`));
        }
        if (grant.tenants.length === 0) return failurePage(reply, def, conn, new OAuthLinkError('no_organisation', `the ${def.name} authorization gave access to no organisation`));

        // Re-authorising binds the tenant the connection already reads, whatever else the user ticked.
        const bound = tenantOf(conn);
        if (bound) {
          const same = grant.tenants.find((t) => t.tenantId === bound);
          if (!same) return failurePage(reply, def, conn, mismatch(def, bound));
          return complete(reply, def, linker, conn, grant, same);
        }
        if (grant.tenants.length === 1) return complete(reply, def, linker, conn, grant, grant.tenants[0]!);
        const company = await companies.get(conn.company_id);
        const token = await states.issue({
          kind: 'choice',
          connectionId: conn.id,
          integrationKey: def.key,
          payload: ctx.secretBox.sealJson({ grant } satisfies ChoicePayload),
          now: ctx.clock.now(),
          ttlMs: LINK_STATE_TTL_MS,
        });
        return tenantChooserPage(reply, {
          platformName: def.name,
          companyName: company?.name ?? '',
          action: `/link/oauth/${def.key}/choose`,
          token,
          tenants: grant.tenants,
        });
      },
    );

    scope.post<{ Params: { platformKey: string }; Body: { token: string; tenantId: string } }>(
      '/link/oauth/:platformKey/choose',
      { schema: { hide: true, params: PlatformKey, body: ChooseBody } },
      async (req, reply) => {
        const def = ctx.registry.get(req.params.platformKey);
        if (!def || def.oauthClient === null) throw integrationNotFound(req.params.platformKey);
        const consumed = await states.consume(req.body.token, 'choice', ctx.clock.now());
        if (!consumed.ok || consumed.row.integration_key !== def.key) {
          const reason: ConsumeFailure = consumed.ok ? 'unknown' : consumed.reason;
          if (consumed.row && (reason === 'replayed' || reason === 'expired')) {
            await recordFailure(consumed.row.connection_id, `Link flow refused: the organisation choice was ${reason === 'replayed' ? 'already submitted' : 'expired'}.`);
          }
          return messagePage(reply, 400, CONSUME_PAGES[reason].title, [CONSUME_PAGES[reason].text]);
        }
        const conn = await connections.getById(consumed.row.connection_id);
        if (!conn) return messagePage(reply, 404, 'This connection no longer exists', ['The connection was deleted while you were authorising. Start again from a new link.']);
        if (!linkPageDecision(conn.status as ConnectionStatus).allowed) return refusedPage(reply, def, conn.status as ConnectionStatus);
        const linker = linkerFor(def);
        if (!linker) return messagePage(reply, 409, `${def.name} is not configured`, [`This Syncline instance has no ${def.name} app configured.`]);
        const { grant } = ctx.secretBox.openJson<ChoicePayload>(consumed.row.payload!);
        const tenant = grant.tenants.find((t) => t.tenantId === req.body.tenantId);
        if (!tenant) return failurePage(reply, def, conn, new OAuthLinkError('no_organisation', `the chosen organisation ${req.body.tenantId} is not part of this authorization`));
        const bound = tenantOf(conn);
        if (bound && bound !== tenant.tenantId) return failurePage(reply, def, conn, mismatch(def, bound));
        return complete(reply, def, linker, conn, grant, tenant);
      },
    );

    /** The progress view of a connection's link pull, or undefined when the ids name no connection of that company. */
    async function progressOf(companyId: string, connectionId: string) {
      const conn = await connections.get(companyId, connectionId);
      if (!conn) return undefined;
      const def = ctx.registry.get(conn.integration_key);
      const profile = await currentProfile(ctx);
      return { conn, def, view: linkProgress(await firstPulls.get(companyId, connectionId), { platform: def?.name ?? conn.integration_key, client: profile.name }) };
    }

    // Where the Link flow ends by default. With the ids (added by redirectAfterLink), the progress of the pull the link
    // started, live until it ends, then its outcome; without them, a plain confirmation.
    scope.get<{ Querystring: { companyId?: string; connectionId?: string } }>(
      '/link/complete',
      { schema: { hide: true, querystring: CompleteQuery } },
      async (req, reply) => {
        const { companyId, connectionId } = req.query;
        if (!companyId || !connectionId) return connectedPage(reply);
        const p = await progressOf(companyId, connectionId);
        if (!p) return messagePage(reply, 404, 'This connection was not found', ['It may have been deleted. Start again from the link you were given.']);
        if (p.conn.status !== 'Linked') {
          const name = p.def?.name ?? 'accounting software';
          const why: Record<string, string> = {
            PendingAuth: `This ${name} connection is not authorised yet. Start again from the link you were given.`,
            Unlinked: `The application disconnected this ${name} connection.`,
            Deauthorized: `${name} no longer gives access to this connection. Start again from the link you were given to re-authorise it.`,
          };
          return messagePage(reply, 409, 'Not connected', [why[p.conn.status] ?? `This connection is ${p.conn.status}.`]);
        }
        return progressPage(reply, p.view, `/link/companies/${companyId}/connections/${connectionId}/progress`);
      },
    );

    // The same view as JSON, polled by the progress page's script. Unauthenticated like the pages: it tells no more
    // than they do (data type names, states, percentages; no record, no error text).
    scope.get<{ Params: { companyId: string; connectionId: string } }>(
      '/link/companies/:companyId/connections/:connectionId/progress',
      { schema: { hide: true, params: ConnIds } },
      async (req, reply) => {
        const p = await progressOf(req.params.companyId, req.params.connectionId);
        if (!p) throw connectionNotFound(req.params.connectionId);
        return reply.header('cache-control', 'no-store').send(p.view);
      },
    );
  });

  const mismatch = (def: IntegrationDefinition, bound: string) =>
    new OAuthLinkError('tenant_mismatch', `re-authorisation refused: this connection reads ${def.name} tenant ${bound}, which the authorization did not include`, 409);

  function asLinkError(err: unknown): OAuthLinkError {
    if (err instanceof OAuthLinkError) return err;
    return new OAuthLinkError('platform_error', (err as Error).message ?? String(err));
  }

  async function failurePage(reply: FastifyReply, def: IntegrationDefinition, conn: ConnectionRow, err: OAuthLinkError) {
    const page = FAILURE_PAGES[err.kind];
    reply.log.warn({ connectionId: conn.id, platform: def.key, kind: err.kind, err: err.message }, 'link attempt failed');
    await recordFailure(conn.id, `Link flow failed (${err.kind}): ${err.message}`, err.statusCode ?? page.status);
    return messagePage(reply, page.status, page.title, [page.text(def.name)], err.message);
  }

  /** Binds the chosen tenant, links (through the lifecycle: first-link read queued), disconnects the others. */
  async function complete(reply: FastifyReply, def: IntegrationDefinition, linker: OAuthLinker, conn: ConnectionRow, grant: OAuthGrant, tenant: OAuthTenant) {
    let bound: { credentials: Record<string, unknown>; connectionInfo: Record<string, string> };
    try {
      bound = await linker.bind(grant, tenant, AbortSignal.timeout(60_000));
    } catch (err) {
      return failurePage(reply, def, conn, asLinkError(err));
    }
    try {
      await linkConnection(ctx, conn, bound, `linked through the ${def.name} Link flow`);
    } catch (err) {
      if (!(err instanceof StateError)) throw err;
      return messagePage(reply, 409, 'The connection changed meanwhile', [`This ${def.name} connection changed while you were authorising; nothing was changed. Start again if it is still not connected.`]);
    }
    // All tenants of one grant share its refresh token: the ones not chosen are disconnected (best effort, logged).
    for (const other of grant.tenants) {
      if (other.tenantId === tenant.tenantId) continue;
      try {
        await linker.disconnect(grant, other, AbortSignal.timeout(30_000));
      } catch (err) {
        reply.log.warn({ connectionId: conn.id, platform: def.key, tenantId: other.tenantId, err: (err as Error).message }, 'could not disconnect a tenant that was not chosen');
      }
    }
    return redirectAfterLink(reply, conn.company_id, conn.id);
  }

  /** Sandbox: no platform login. A PendingAuth connection links at once; a Deauthorized one must get its tenant back. */
  async function linkWithoutConsent(reply: FastifyReply, def: IntegrationDefinition, conn: ConnectionRow) {
    let obtained: Awaited<ReturnType<NonNullable<ApiContext['authorizeConnection']>>> = undefined;
    if (ctx.authorizeConnection) {
      const company = await ctx.repos.companies.get(conn.company_id);
      try {
        obtained = await ctx.authorizeConnection({ id: conn.id, integrationKey: conn.integration_key, companyName: company?.name ?? '' });
      } catch (err) {
        await recordFailure(conn.id, `Link flow failed: ${(err as Error).message}`, 502);
        return messagePage(reply, 502, 'The platform could not be reached', [`${def.name} did not complete the authorization. Try again in a few minutes.`], (err as Error).message);
      }
      const bound = tenantOf(conn);
      if (bound && obtained?.connectionInfo.tenantId !== bound) return failurePage(reply, def, conn, mismatch(def, bound));
    }
    try {
      await linkConnection(ctx, conn, obtained, 'linked through linkUrl');
    } catch (err) {
      if (!(err instanceof StateError)) throw err;
      return messagePage(reply, 409, 'The connection changed meanwhile', [`This ${def.name} connection changed while it was being linked; nothing was changed.`]);
    }
    return redirectAfterLink(reply, conn.company_id, conn.id);
  }
}

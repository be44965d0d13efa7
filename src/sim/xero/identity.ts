/**
 * Xero's identity side as the simulator serves it: the token endpoint (`/connect/token`, refresh-token rotation),
 * revocation, the Sandbox's consent stand-in (`/connect/sandbox/authorize`) and `/connections`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TenantSize } from '../generate.js';
import { HttpError, json, parseForm, parseJson, readBody } from '../http.js';
import type { SimHost } from '../host.js';

export function createXeroIdentity(host: SimHost) {
  async function serveConnect(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const p = url.pathname.toLowerCase();
    if (req.method === 'POST' && p === '/connect/token') {
      const form = parseForm(req, await readBody(req));
      if (form.grant_type !== 'refresh_token' || !form.refresh_token) return json(res, 400, { error: 'unsupported_grant_type' });
      const tid = host.tokens.tenantOfRefresh(form.refresh_token);
      const t = tid ? host.tenants.get(tid) : undefined;
      const r = host.tokens.rotate(form.refresh_token);
      if ('ok' in r) {
        if (t) t.counters.refreshFailures++;
        return json(res, 400, { error: r.error, error_description: r.detail });
      }
      if (t) t.counters.tokensIssued++, t.counters.refreshes++;
      return json(res, 200, r);
    }
    if (req.method === 'POST' && p === '/connect/revocation') {
      const form = parseForm(req, await readBody(req));
      if (form.token) host.tokens.revokeByRefresh(form.token);
      res.writeHead(200).end();
      return;
    }
    if (req.method === 'POST' && p === '/connect/sandbox/authorize') {
      // Stands in for the browser part of OAuth: "the user picked this organisation and consented".
      const body = parseJson(await readBody(req));
      if (typeof body.seed !== 'string' || !body.seed) throw new HttpError(400, 'seed (string) is required');
      const t = host.createTenant({
        seed: body.seed,
        ...(body.size !== undefined ? { size: body.size as number | TenantSize } : {}),
        ...(typeof body.name === 'string' ? { name: body.name } : {}),
      });
      const g = host.grant(t.id);
      return json(res, 200, { ...g, tenantId: t.id, tenantName: t.displayName });
    }
    throw new HttpError(404, 'not found');
  }

  function serveConnections(req: IncomingMessage, res: ServerResponse, url: URL): void {
    const bearer = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1];
    const check = bearer ? host.tokens.check(bearer) : undefined;
    if (!check || !check.ok) return json(res, 401, { Title: 'Unauthorized', Status: 401, Detail: check && !check.ok ? check.detail : 'no bearer token' });
    const g = host.tokens.grantInfo(check.grantId)!;
    const t = host.tenants.get(check.tenantId);
    if (req.method === 'DELETE') {
      host.tokens.revokeTenant(check.tenantId);
      res.writeHead(204).end();
      return;
    }
    void url;
    return json(res, 200, [
      {
        id: g.id,
        authEventId: g.authEventId,
        tenantId: check.tenantId,
        tenantType: 'ORGANISATION',
        tenantName: t?.displayName ?? '',
        createdDateUtc: new Date(g.createdMs).toISOString(),
        updatedDateUtc: new Date(g.createdMs).toISOString(),
      },
    ]);
  }
  return { serveConnect, serveConnections };
}

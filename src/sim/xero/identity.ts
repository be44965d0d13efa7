/**
 * Xero's identity side as the simulator serves it (source-platforms.md §1.7, §5.1): the authorize endpoint with an HTML
 * consent page where the user ticks organisations (`/identity/connect/authorize`), the token endpoint
 * (`/connect/token`: authorization_code with single-use 5-minute codes, redirect_uri and PKCE checks; refresh_token
 * with rotation and grace), revocation, `/connections` (with `?authEventId=` and `DELETE /connections/{id}`), and the
 * Sandbox's consent stand-in (`/connect/sandbox/authorize`).
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TenantSize } from '../generate.js';
import { HttpError, json, parseForm, parseJson, readBody } from '../http.js';
import type { SimHost } from '../host.js';
import { KNOWN_SCOPES } from './scopes.js';

interface PendingConsent {
  clientId: string;
  redirectUri: string;
  scopes: string[];
  state?: string;
  codeChallenge?: string;
  codeChallengeMethod?: string;
  expiresMs: number;
}

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(res: ServerResponse, status: number, title: string, body: string): void {
  const html =
    `<!doctype html><html><head><meta charset="utf-8"><title>${esc(title)}</title>` +
    `<style>body{font-family:system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem}label{display:block;margin:.3rem 0}</style>` +
    `</head><body><h1>${esc(title)}</h1>${body}</body></html>`;
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'content-length': Buffer.byteLength(html), 'cache-control': 'no-store' });
  res.end(html);
}

function redirect(res: ServerResponse, base: string, params: Record<string, string | undefined>): void {
  const u = new URL(base);
  for (const [k, v] of Object.entries(params)) if (v !== undefined) u.searchParams.set(k, v);
  res.writeHead(302, { location: u.toString() }).end();
}

/** Client credentials of a token-endpoint request: HTTP Basic, or client_id/client_secret in the form. */
function clientCredentials(req: IncomingMessage, form: Record<string, string>): { id?: string; secret?: string } {
  const basic = /^Basic\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1];
  if (basic) {
    const decoded = Buffer.from(basic, 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    if (i > 0) return { id: decodeURIComponent(decoded.slice(0, i)), secret: decodeURIComponent(decoded.slice(i + 1)) };
  }
  return { ...(form.client_id ? { id: form.client_id } : {}), ...(form.client_secret ? { secret: form.client_secret } : {}) };
}

export function createXeroIdentity(host: SimHost) {
  const pending = new Map<string, PendingConsent>();
  /** Test hook (admin): the next N token responses are lost after the token endpoint processed the request. */
  let dropTokenResponses = 0;
  /** Test hook (admin): every token response waits this long (a slow identity service). */
  let tokenDelayMs = 0;

  function consentPage(res: ServerResponse, id: string, c: PendingConsent): void {
    if (host.tenants.size === 0) host.createTenant({ seed: 'demo-company', name: 'Demo Company (Global)' });
    const orgs = [...host.tenants.values()]
      .map((t) => `<label><input type="checkbox" name="tenant" value="${esc(t.id)}"> ${esc(t.displayName)}</label>`)
      .join('');
    page(
      res,
      200,
      'Allow access to your Xero organisations',
      `<p>The app <strong>${esc(c.clientId)}</strong> wants to:</p><ul>${c.scopes.map((s) => `<li>${esc(s)}</li>`).join('')}</ul>` +
        `<form method="post" action="/identity/connect/authorize"><input type="hidden" name="request" value="${esc(id)}">` +
        `<fieldset><legend>Organisations</legend>${orgs}</fieldset>` +
        `<button type="submit" name="decision" value="allow">Allow access</button> <button type="submit" name="decision" value="deny">Cancel</button></form>`,
    );
  }

  async function serveAuthorize(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    if (req.method === 'GET') {
      const q = Object.fromEntries(url.searchParams);
      const app = q.client_id ? host.tokens.apps.get(q.client_id) : undefined;
      // Errors about the client or its redirect URI are shown, never redirected (RFC 6749 §4.1.2.1).
      if (!app) return page(res, 400, 'unauthorized_client', '<p>Unknown client_id.</p>');
      if (!q.redirect_uri) return page(res, 400, 'invalid_request', '<p>redirect_uri is required.</p>');
      if (app.redirectUri !== undefined && app.redirectUri !== q.redirect_uri) return page(res, 400, 'invalid_request', '<p>Invalid redirect_uri.</p>');
      app.redirectUri ??= q.redirect_uri;
      const back = (error: string, description: string) => redirect(res, q.redirect_uri!, { error, error_description: description, state: q.state });
      if (q.response_type !== 'code') return back('unsupported_response_type', 'response_type must be code');
      const scopes = (q.scope ?? '').split(/\s+/).filter(Boolean);
      if (scopes.length === 0 || scopes.some((s) => !KNOWN_SCOPES.has(s))) return back('invalid_scope', 'unknown or missing scope');
      if (q.code_challenge_method !== undefined && q.code_challenge_method !== 'S256' && q.code_challenge_method !== 'plain') return back('invalid_request', 'code_challenge_method must be S256 or plain');
      if (app.clientSecret === undefined && !q.code_challenge) return back('invalid_request', 'code_challenge is required for a public client');
      const id = randomBytes(18).toString('base64url');
      const c: PendingConsent = {
        clientId: app.clientId,
        redirectUri: q.redirect_uri,
        scopes,
        ...(q.state !== undefined ? { state: q.state } : {}),
        ...(q.code_challenge ? { codeChallenge: q.code_challenge, codeChallengeMethod: q.code_challenge_method ?? 'plain' } : {}),
        expiresMs: Date.now() + 3_600_000,
      };
      pending.set(id, c);
      for (const [k, v] of pending) if (v.expiresMs < Date.now()) pending.delete(k);
      return consentPage(res, id, c);
    }
    if (req.method === 'POST') {
      const text = await readBody(req);
      const form = new URLSearchParams(text);
      const id = form.get('request') ?? '';
      const c = pending.get(id);
      if (!c) return page(res, 400, 'invalid_request', '<p>This consent request is unknown or was already answered.</p>');
      pending.delete(id);
      if (form.get('decision') !== 'allow') return redirect(res, c.redirectUri, { error: 'access_denied', error_description: 'The user denied access', state: c.state });
      const tenantIds = [...new Set(form.getAll('tenant'))].filter((t) => host.tenants.has(t));
      const code = host.tokens.issueCode({
        clientId: c.clientId,
        redirectUri: c.redirectUri,
        scopes: c.scopes,
        tenantIds,
        ...(c.codeChallenge ? { codeChallenge: c.codeChallenge, codeChallengeMethod: c.codeChallengeMethod! } : {}),
      });
      return redirect(res, c.redirectUri, { code, scope: c.scopes.join(' '), state: c.state, session_state: randomBytes(16).toString('base64url') });
    }
    throw new HttpError(405, 'GET or POST');
  }

  async function serveConnect(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const p = url.pathname.toLowerCase();
    if (req.method === 'POST' && p === '/connect/token') {
      const form = parseForm(req, await readBody(req));
      if (tokenDelayMs > 0) await new Promise((r) => setTimeout(r, tokenDelayMs));
      const cred = clientCredentials(req, form);
      const send = (status: number, body: unknown) => {
        if (status === 200 && dropTokenResponses > 0) {
          // Processed, then the connection drops before the client reads the answer.
          dropTokenResponses--;
          res.socket?.destroy();
          return;
        }
        json(res, status, body, { 'cache-control': 'no-store' });
      };
      if (form.grant_type === 'authorization_code') {
        const app = host.tokens.authenticateClient(cred.id, cred.secret);
        if ('ok' in app) return json(res, 401, { error: app.error, error_description: app.detail });
        if (!form.code) return json(res, 400, { error: 'invalid_request', error_description: 'code is required' });
        const r = host.tokens.exchangeCode(app, form.code, form.redirect_uri, form.code_verifier);
        if ('ok' in r) return json(res, 400, { error: r.error, error_description: r.detail });
        return send(200, r);
      }
      if (form.grant_type !== 'refresh_token' || !form.refresh_token) return json(res, 400, { error: 'unsupported_grant_type' });
      let clientId: string | undefined;
      if (cred.id) {
        const app = host.tokens.authenticateClient(cred.id, cred.secret);
        if ('ok' in app) return json(res, 401, { error: app.error, error_description: app.detail });
        clientId = app.clientId;
      }
      const tid = host.tokens.tenantOfRefresh(form.refresh_token);
      const t = tid ? host.tenants.get(tid) : undefined;
      const r = host.tokens.rotate(form.refresh_token, clientId);
      if ('ok' in r) {
        if (t) t.counters.refreshFailures++;
        return json(res, 400, { error: r.error, error_description: r.detail });
      }
      if (t) t.counters.tokensIssued++, t.counters.refreshes++;
      return send(200, r);
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
    const segs = url.pathname.split('/').filter(Boolean);
    if (req.method === 'DELETE') {
      if (segs.length !== 2) return json(res, 405, { Title: 'Method Not Allowed', Status: 405 });
      if (!host.tokens.deleteConnection(check.grantId, segs[1]!)) return json(res, 404, { Title: 'Not Found', Status: 404, Detail: `no connection ${segs[1]}` });
      res.writeHead(204).end();
      return;
    }
    if (req.method !== 'GET' || segs.length !== 1) return json(res, 405, { Title: 'Method Not Allowed', Status: 405 });
    const authEventId = url.searchParams.get('authEventId') ?? undefined;
    return json(
      res,
      200,
      host.tokens.connections(check.grantId, authEventId).map(({ grant, connection }) => ({
        id: connection.id,
        authEventId: grant.authEventId,
        tenantId: connection.tenantId,
        tenantType: connection.tenantType,
        tenantName: host.tenants.get(connection.tenantId)?.displayName ?? '',
        createdDateUtc: new Date(connection.createdMs).toISOString(),
        updatedDateUtc: new Date(connection.updatedMs).toISOString(),
      })),
    );
  }

  /**
   * Admin (`POST /admin/identity/faults`): `dropTokenResponses: n` loses the next n successful token responses (the
   * request is still processed: a rotation happens), `tokenDelayMs` slows every token response.
   */
  function setFaults(body: Record<string, unknown>): { dropTokenResponses: number; tokenDelayMs: number } {
    const count = (name: string): number | undefined => {
      const v = body[name];
      if (v === undefined) return undefined;
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 600_000) throw new HttpError(400, `${name} must be a non-negative integer`);
      return v;
    };
    dropTokenResponses = count('dropTokenResponses') ?? dropTokenResponses;
    tokenDelayMs = count('tokenDelayMs') ?? tokenDelayMs;
    return { dropTokenResponses, tokenDelayMs };
  }

  return { serveAuthorize, serveConnect, serveConnections, setFaults };
}

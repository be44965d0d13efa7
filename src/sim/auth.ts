import { createHash, createHmac, randomBytes, randomUUID } from 'node:crypto';

/**
 * Xero's identity service as the simulator models it (source-platforms.md §1.7, §5.1):
 *
 * - OAuth apps (`--oauth-client ID:SECRET`): a confidential client authenticates with its secret, a public one
 *   (no secret) must use PKCE. The first redirect URI an app uses is then fixed for it, as a registered one is.
 * - Authorization codes live 5 minutes and are single-use, checked against the redirect URI and the PKCE verifier.
 * - A grant (one consent) covers the organisations the user ticked: one `/connections` entry per tenant, all sharing
 *   the grant's rotating refresh token and its `authentication_event_id`.
 * - Access tokens are JWTs (30 minutes) carrying `authentication_event_id`, `xero_userid`, `client_id` and `scope`.
 * - Every refresh rotates the refresh token; the used one stays valid for a 30-minute grace period; a refresh token
 *   unused for 60 days dies. A refresh token is issued only with `offline_access`.
 * - Revoking the refresh token kills the grant; deleting a connection removes one tenant from it.
 *
 * Times come from the clock of the grant's first connected tenant (each tenant's clock may run ahead), so tests move
 * one tenant's time without touching the others; codes use the simulator's clock.
 */
export interface AuthSettings {
  accessTokenSeconds: number;
  refreshTokenIdleDays: number;
  refreshGraceSeconds: number;
  /** Authorization code lifetime (Xero: 5 minutes). */
  codeSeconds?: number;
}

export interface OAuthApp {
  clientId: string;
  /** Unset: a public client, which must use PKCE. */
  clientSecret?: string;
  /** Fixed on first use. */
  redirectUri?: string;
}

export interface SimConnection {
  id: string;
  tenantId: string;
  tenantType: 'ORGANISATION' | 'PRACTICE';
  createdMs: number;
  updatedMs: number;
}

export interface Grant {
  id: string;
  /** Unset for grants made by the Sandbox's consent stand-in (`/connect/sandbox/authorize`). */
  clientId?: string;
  userId: string;
  authEventId: string;
  scopes: string[];
  connections: SimConnection[];
  revoked: boolean;
  createdMs: number;
}

interface AccessToken {
  grant: Grant;
  expiresMs: number;
}

interface RefreshToken {
  grant: Grant;
  expiresMs: number;
  /** Set when a refresh rotated it: usable until this instant. */
  supersededUntilMs?: number;
}

interface Code {
  clientId: string;
  redirectUri: string;
  scopes: string[];
  tenantIds: string[];
  codeChallenge?: string;
  codeChallengeMethod?: string;
  expiresMs: number;
  used: boolean;
}

export interface TokenSet {
  access_token: string;
  expires_in: number;
  token_type: 'Bearer';
  /** Absent when the grant has no offline_access. */
  refresh_token?: string;
  scope: string;
  /** Not in Xero's token response: when the refresh token lapses if unused (the simulator is generous with facts). */
  refresh_token_expires_in?: number;
}

/** Tokens of a grant with offline_access (the Sandbox's and test grants). */
export type OfflineTokenSet = TokenSet & { refresh_token: string; refresh_token_expires_in: number };

export type AuthFailure = { ok: false; error: 'invalid_grant' | 'invalid_token' | 'invalid_client' | 'invalid_request'; detail: string };

const opaque = () => randomBytes(24).toString('base64url');
/** Tokens are held (and saved to a state file) only as their SHA-256, as an identity provider keeps them. */
const tokenKey = (token: string) => createHash('sha256').update(token).digest('base64url');

/** The token store as the simulator's state file keeps it: grants, hashed tokens, the redirect URI fixed per app. */
export interface TokenStoreSnapshot {
  grants: Grant[];
  access: [string, { grantId: string; expiresMs: number }][];
  refresh: [string, { grantId: string; expiresMs: number; supersededUntilMs?: number }][];
  redirectUris: [string, string][];
}

/** Scopes of the Sandbox's stand-in consent: everything it reads. */
export const SCOPE = 'offline_access accounting.transactions.read accounting.settings.read accounting.contacts.read accounting.reports.read accounting.journals.read accounting.attachments.read';

/** The one user of the simulator (Xero's `xero_userid`). */
export const SIM_USER_ID = '5c9a2b7e-3f1d-4e8a-9b6c-0d2e4f6a8b10';

export class TokenStore {
  private readonly access = new Map<string, AccessToken>();
  private readonly refresh = new Map<string, RefreshToken>();
  private readonly grants = new Map<string, Grant>();
  private readonly codes = new Map<string, Code>();
  readonly apps = new Map<string, OAuthApp>();
  /** Signs the access-token JWTs (HS256; clients read the claims, they do not verify Xero's signature either). */
  private readonly jwtKey = randomBytes(32);

  /** `nowOf` gives a tenant's clock (an unknown id gives the simulator's): token lifetimes run on it. */
  constructor(
    readonly settings: AuthSettings,
    private readonly nowOf: (tenantId: string) => number,
    apps: OAuthApp[] = [],
  ) {
    for (const a of apps) this.apps.set(a.clientId, { ...a });
  }

  snapshot(): TokenStoreSnapshot {
    return {
      grants: [...this.grants.values()].map((g) => structuredClone(g)),
      access: [...this.access].map(([k, a]) => [k, { grantId: a.grant.id, expiresMs: a.expiresMs }]),
      refresh: [...this.refresh].map(([k, r]) => [k, { grantId: r.grant.id, expiresMs: r.expiresMs, ...(r.supersededUntilMs !== undefined ? { supersededUntilMs: r.supersededUntilMs } : {}) }]),
      redirectUris: [...this.apps.values()].flatMap((a) => (a.redirectUri ? [[a.clientId, a.redirectUri] as [string, string]] : [])),
    };
  }

  /** Puts back a snapshot. Apps are the ones configured now; a redirect URI fixed before is kept for an app still configured. */
  restore(s: TokenStoreSnapshot): void {
    this.grants.clear();
    this.access.clear();
    this.refresh.clear();
    for (const g of s.grants) this.grants.set(g.id, structuredClone(g));
    for (const [k, a] of s.access) {
      const grant = this.grants.get(a.grantId);
      if (grant) this.access.set(k, { grant, expiresMs: a.expiresMs });
    }
    for (const [k, r] of s.refresh) {
      const grant = this.grants.get(r.grantId);
      if (grant) this.refresh.set(k, { grant, expiresMs: r.expiresMs, ...(r.supersededUntilMs !== undefined ? { supersededUntilMs: r.supersededUntilMs } : {}) });
    }
    for (const [clientId, uri] of s.redirectUris) {
      const app = this.apps.get(clientId);
      if (app && !app.redirectUri) app.redirectUri = uri;
    }
  }

  private grantNow(g: Grant): number {
    return this.nowOf(g.connections[0]?.tenantId ?? '');
  }

  private jwt(g: Grant, nowMs: number, expiresMs: number): string {
    const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const header = enc({ alg: 'HS256', kid: 'syncline-sim', typ: 'JWT' });
    const payload = enc({
      nbf: Math.floor(nowMs / 1000),
      exp: Math.floor(expiresMs / 1000),
      iss: 'https://identity.xero.com',
      aud: 'https://identity.xero.com/resources',
      client_id: g.clientId ?? 'syncline-sandbox',
      sub: createHash('sha256').update(g.userId).digest('hex').slice(0, 32),
      auth_time: Math.floor(g.createdMs / 1000),
      xero_userid: g.userId,
      global_session_id: g.id,
      sid: g.id,
      jti: randomUUID().replaceAll('-', ''),
      authentication_event_id: g.authEventId,
      scope: g.scopes,
    });
    const sig = createHmac('sha256', this.jwtKey).update(`${header}.${payload}`).digest('base64url');
    return `${header}.${payload}.${sig}`;
  }

  private issue(grant: Grant, nowMs: number): TokenSet {
    const accessExpires = nowMs + this.settings.accessTokenSeconds * 1000;
    const a = this.jwt(grant, nowMs, accessExpires);
    this.access.set(tokenKey(a), { grant, expiresMs: accessExpires });
    const set: TokenSet = { access_token: a, expires_in: this.settings.accessTokenSeconds, token_type: 'Bearer', scope: grant.scopes.join(' ') };
    if (grant.scopes.includes('offline_access')) {
      const r = opaque();
      this.refresh.set(tokenKey(r), { grant, expiresMs: nowMs + this.settings.refreshTokenIdleDays * 86_400_000 });
      set.refresh_token = r;
      set.refresh_token_expires_in = this.settings.refreshTokenIdleDays * 86_400;
    }
    return set;
  }

  private newGrant(tenantIds: string[], scopes: string[], clientId: string | undefined): Grant {
    const nowMs = this.nowOf(tenantIds[0] ?? '');
    const g: Grant = {
      id: randomUUID(),
      ...(clientId ? { clientId } : {}),
      userId: SIM_USER_ID,
      authEventId: randomUUID(),
      scopes,
      connections: tenantIds.map((tenantId) => ({ id: randomUUID(), tenantId, tenantType: 'ORGANISATION' as const, createdMs: nowMs, updatedMs: nowMs })),
      revoked: false,
      createdMs: nowMs,
    };
    this.grants.set(g.id, g);
    return g;
  }

  /** A new grant for one tenant with every scope (the Sandbox's stand-in for the browser consent). */
  grant(tenantId: string): OfflineTokenSet & { authEventId: string } {
    const g = this.newGrant([tenantId], SCOPE.split(' '), undefined);
    return { ...(this.issue(g, g.createdMs) as OfflineTokenSet), authEventId: g.authEventId };
  }

  /** A grant issued to an OAuth app, as a completed consent leaves it (tests and the admin API). */
  grantFor(tenantId: string, clientId: string, scopes: string[] = SCOPE.split(' ')): OfflineTokenSet & { authEventId: string } {
    const g = this.newGrant([tenantId], scopes.includes('offline_access') ? scopes : ['offline_access', ...scopes], clientId);
    return { ...(this.issue(g, g.createdMs) as OfflineTokenSet), authEventId: g.authEventId };
  }

  // ---- Authorization-code flow -------------------------------------------------------------------------------------

  /** Issues a single-use code for a consent (the user ticked `tenantIds`). */
  issueCode(c: Omit<Code, 'expiresMs' | 'used'>): string {
    const code = opaque();
    const now = this.nowOf('');
    this.codes.set(code, { ...c, expiresMs: now + (this.settings.codeSeconds ?? 300) * 1000, used: false });
    for (const [k, v] of this.codes) if (v.expiresMs < now - 3_600_000) this.codes.delete(k);
    return code;
  }

  /** Client authentication of a token or revocation request. */
  authenticateClient(clientId: string | undefined, clientSecret: string | undefined): OAuthApp | AuthFailure {
    const app = clientId ? this.apps.get(clientId) : undefined;
    if (!app) return { ok: false, error: 'invalid_client', detail: 'unknown client' };
    if (app.clientSecret !== undefined && app.clientSecret !== clientSecret) return { ok: false, error: 'invalid_client', detail: 'client authentication failed' };
    return app;
  }

  /** grant_type=authorization_code. */
  exchangeCode(app: OAuthApp, code: string, redirectUri: string | undefined, codeVerifier: string | undefined): TokenSet | AuthFailure {
    const c = this.codes.get(code);
    if (!c) return { ok: false, error: 'invalid_grant', detail: 'unknown authorization code' };
    if (c.used) return { ok: false, error: 'invalid_grant', detail: 'the authorization code was already used' };
    c.used = true;
    if (this.nowOf('') >= c.expiresMs) return { ok: false, error: 'invalid_grant', detail: 'the authorization code has expired' };
    if (c.clientId !== app.clientId) return { ok: false, error: 'invalid_grant', detail: 'the authorization code was issued to another client' };
    if (redirectUri !== c.redirectUri) return { ok: false, error: 'invalid_grant', detail: 'redirect_uri does not match the authorization request' };
    if (c.codeChallenge !== undefined) {
      if (!codeVerifier) return { ok: false, error: 'invalid_grant', detail: 'code_verifier is required' };
      const derived = c.codeChallengeMethod === 'S256' ? createHash('sha256').update(codeVerifier).digest('base64url') : codeVerifier;
      if (derived !== c.codeChallenge) return { ok: false, error: 'invalid_grant', detail: 'code_verifier does not match the code_challenge' };
    } else if (app.clientSecret === undefined) {
      return { ok: false, error: 'invalid_grant', detail: 'a public client must use PKCE' };
    }
    const g = this.newGrant(c.tenantIds, c.scopes, app.clientId);
    return this.issue(g, g.createdMs);
  }

  // ---- Refresh, check, revoke ----------------------------------------------------------------------------------------

  tenantOfRefresh(refreshToken: string): string | undefined {
    return this.refresh.get(tokenKey(refreshToken))?.grant.connections[0]?.tenantId;
  }

  /** grant_type=refresh_token; `clientId` is the authenticated client (undefined: none presented). */
  rotate(refreshToken: string, clientId?: string): TokenSet | AuthFailure {
    const r = this.refresh.get(tokenKey(refreshToken));
    if (!r) return { ok: false, error: 'invalid_grant', detail: 'unknown refresh token' };
    const nowMs = this.grantNow(r.grant);
    if (r.grant.clientId !== undefined && r.grant.clientId !== clientId) return { ok: false, error: 'invalid_grant', detail: 'the refresh token was issued to another client' };
    if (r.grant.revoked) return { ok: false, error: 'invalid_grant', detail: 'the grant was revoked' };
    if (nowMs >= r.expiresMs) return { ok: false, error: 'invalid_grant', detail: 'refresh token expired' };
    if (r.supersededUntilMs !== undefined && nowMs >= r.supersededUntilMs) return { ok: false, error: 'invalid_grant', detail: 'refresh token was already used' };
    r.supersededUntilMs ??= nowMs + this.settings.refreshGraceSeconds * 1000;
    this.prune();
    return this.issue(r.grant, nowMs);
  }

  /** Validates a bearer token: the tenants it grants (its connections) and its scopes. */
  check(accessToken: string): { ok: true; tenantId: string; tenantIds: string[]; grantId: string; scopes: string[] } | AuthFailure {
    const a = this.access.get(tokenKey(accessToken));
    if (!a) return { ok: false, error: 'invalid_token', detail: 'unknown access token' };
    const nowMs = this.grantNow(a.grant);
    if (a.grant.revoked) return { ok: false, error: 'invalid_token', detail: 'the grant was revoked' };
    if (nowMs >= a.expiresMs) return { ok: false, error: 'invalid_token', detail: `TokenExpired: token expired at ${new Date(a.expiresMs).toISOString()}` };
    const tenantIds = a.grant.connections.map((c) => c.tenantId);
    return { ok: true, tenantId: tenantIds[0] ?? '', tenantIds, grantId: a.grant.id, scopes: a.grant.scopes };
  }

  grantInfo(grantId: string): Readonly<Grant> | undefined {
    return this.grants.get(grantId);
  }

  /** Connections of a grant's user for the grant's app (Xero's GET /connections), optionally of one auth event. */
  connections(grantId: string, authEventId?: string): { grant: Grant; connection: SimConnection }[] {
    const g = this.grants.get(grantId);
    if (!g) return [];
    // The Sandbox's stand-in grants belong to no app: each sees only its own tenant.
    if (g.clientId === undefined) return g.revoked ? [] : g.connections.map((connection) => ({ grant: g, connection }));
    const out: { grant: Grant; connection: SimConnection }[] = [];
    for (const other of this.grants.values()) {
      if (other.revoked || other.userId !== g.userId || other.clientId !== g.clientId) continue;
      if (authEventId !== undefined && other.authEventId !== authEventId) continue;
      for (const c of other.connections) out.push({ grant: other, connection: c });
    }
    return out;
  }

  /** DELETE /connections/{id}: removes one tenant connection of the user's grants for this app. */
  deleteConnection(grantId: string, connectionId: string): boolean {
    for (const { grant, connection } of this.connections(grantId)) {
      if (connection.id.toLowerCase() !== connectionId.toLowerCase()) continue;
      grant.connections = grant.connections.filter((c) => c !== connection);
      return true;
    }
    return false;
  }

  /** Revokes the grant a refresh token belongs to (POST /connect/revocation). */
  revokeByRefresh(refreshToken: string): boolean {
    const r = this.refresh.get(tokenKey(refreshToken));
    if (!r) return false;
    r.grant.revoked = true;
    return true;
  }

  revokeTenant(tenantId: string): number {
    let n = 0;
    for (const g of this.grants.values()) if (!g.revoked && g.connections.some((c) => c.tenantId === tenantId)) (g.revoked = true), n++;
    return n;
  }

  /** Makes every access token of a tenant expire now (forces a refresh). */
  expireAccess(tenantId: string): number {
    let n = 0;
    for (const [k, a] of this.access) if (a.grant.connections.some((c) => c.tenantId === tenantId)) this.access.delete(k), n++;
    return n;
  }

  dropTenant(tenantId: string): void {
    this.revokeTenant(tenantId);
  }

  private prune(): void {
    if (this.access.size + this.refresh.size < 10_000) return;
    for (const [k, a] of this.access) if (a.expiresMs <= this.grantNow(a.grant)) this.access.delete(k);
    for (const [k, r] of this.refresh) {
      const now = this.grantNow(r.grant);
      if (r.expiresMs <= now || (r.supersededUntilMs ?? Infinity) <= now) this.refresh.delete(k);
    }
  }
}

import { randomBytes } from 'node:crypto';

/**
 * OAuth2-style grants, modelled on Xero: an access token lives `accessTokenSeconds` (1800); every refresh rotates the
 * refresh token; a refresh token dies `refreshTokenIdleDays` (60) after it was issued if unused, and a superseded one
 * stays usable for a grace period (30 minutes) so a client that crashed before storing the new one can retry.
 * Revoking a grant kills all its tokens. Times come from the tenant's clock.
 */
export interface AuthSettings {
  accessTokenSeconds: number;
  refreshTokenIdleDays: number;
  refreshGraceSeconds: number;
}

interface Grant {
  id: string;
  tenantId: string;
  revoked: boolean;
  createdMs: number;
  authEventId: string;
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

export interface TokenSet {
  access_token: string;
  expires_in: number;
  token_type: 'Bearer';
  refresh_token: string;
  scope: string;
  /** Not in Xero's token response: when the refresh token lapses if unused (the simulator is generous with facts). */
  refresh_token_expires_in: number;
}

export type AuthFailure = { ok: false; error: 'invalid_grant' | 'invalid_token'; detail: string };

const token = () => randomBytes(24).toString('base64url');
export const SCOPE = 'offline_access accounting.transactions.read accounting.settings.read accounting.contacts.read accounting.reports.read';

export class TokenStore {
  private readonly access = new Map<string, AccessToken>();
  private readonly refresh = new Map<string, RefreshToken>();
  private readonly grants = new Map<string, Grant>();

  /** `nowOf` gives a tenant's clock: every token's lifetime is measured on its tenant's clock. */
  constructor(
    readonly settings: AuthSettings,
    private readonly nowOf: (tenantId: string) => number,
  ) {}

  private issue(grant: Grant, nowMs: number): TokenSet {
    const a = token();
    const r = token();
    this.access.set(a, { grant, expiresMs: nowMs + this.settings.accessTokenSeconds * 1000 });
    this.refresh.set(r, { grant, expiresMs: nowMs + this.settings.refreshTokenIdleDays * 86_400_000 });
    return {
      access_token: a,
      expires_in: this.settings.accessTokenSeconds,
      token_type: 'Bearer',
      refresh_token: r,
      scope: SCOPE,
      refresh_token_expires_in: this.settings.refreshTokenIdleDays * 86_400,
    };
  }

  /** A new grant for a tenant (the end of an authorization-code flow). */
  grant(tenantId: string): TokenSet & { authEventId: string } {
    const nowMs = this.nowOf(tenantId);
    const g: Grant = { id: token(), tenantId, revoked: false, createdMs: nowMs, authEventId: token() };
    this.grants.set(g.id, g);
    return { ...this.issue(g, nowMs), authEventId: g.authEventId };
  }

  tenantOfRefresh(refreshToken: string): string | undefined {
    return this.refresh.get(refreshToken)?.grant.tenantId;
  }

  rotate(refreshToken: string): TokenSet | AuthFailure {
    const r = this.refresh.get(refreshToken);
    if (!r) return { ok: false, error: 'invalid_grant', detail: 'unknown refresh token' };
    const nowMs = this.nowOf(r.grant.tenantId);
    if (r.grant.revoked) return { ok: false, error: 'invalid_grant', detail: 'the grant was revoked' };
    if (nowMs >= r.expiresMs) return { ok: false, error: 'invalid_grant', detail: 'refresh token expired' };
    if (r.supersededUntilMs !== undefined && nowMs >= r.supersededUntilMs) return { ok: false, error: 'invalid_grant', detail: 'refresh token was already used' };
    r.supersededUntilMs ??= nowMs + this.settings.refreshGraceSeconds * 1000;
    this.prune();
    return this.issue(r.grant, nowMs);
  }

  /** Validates a bearer token; returns the tenant id it grants. */
  check(accessToken: string): { ok: true; tenantId: string; grantId: string } | AuthFailure {
    const a = this.access.get(accessToken);
    if (!a) return { ok: false, error: 'invalid_token', detail: 'unknown access token' };
    const nowMs = this.nowOf(a.grant.tenantId);
    if (a.grant.revoked) return { ok: false, error: 'invalid_token', detail: 'the grant was revoked' };
    if (nowMs >= a.expiresMs) return { ok: false, error: 'invalid_token', detail: `TokenExpired: token expired at ${new Date(a.expiresMs).toISOString()}` };
    return { ok: true, tenantId: a.grant.tenantId, grantId: a.grant.id };
  }

  grantInfo(grantId: string): Grant | undefined {
    return this.grants.get(grantId);
  }

  /** Revokes the grant a refresh token belongs to (POST /connect/revocation). */
  revokeByRefresh(refreshToken: string): boolean {
    const r = this.refresh.get(refreshToken);
    if (!r) return false;
    r.grant.revoked = true;
    return true;
  }

  revokeTenant(tenantId: string): number {
    let n = 0;
    for (const g of this.grants.values()) if (g.tenantId === tenantId && !g.revoked) (g.revoked = true), n++;
    return n;
  }

  /** Makes every access token of a tenant expire now (forces a refresh). */
  expireAccess(tenantId: string): number {
    let n = 0;
    for (const [k, a] of this.access) if (a.grant.tenantId === tenantId) this.access.delete(k), n++;
    return n;
  }

  dropTenant(tenantId: string): void {
    this.revokeTenant(tenantId);
  }

  private prune(): void {
    if (this.access.size + this.refresh.size < 10_000) return;
    for (const [k, a] of this.access) if (a.expiresMs <= this.nowOf(a.grant.tenantId)) this.access.delete(k);
    for (const [k, r] of this.refresh) {
      const now = this.nowOf(r.grant.tenantId);
      if (r.expiresMs <= now || (r.supersededUntilMs ?? Infinity) <= now) this.refresh.delete(k);
    }
  }
}

import { randomBytes } from 'node:crypto';

/**
 * Intuit's OAuth 2.0 as QuickBooks Online applies it (source-platforms.md §2.8, §5.2):
 * - authorization codes are single-use and live 10 minutes, bound to the client, the redirect URI and the realm the
 *   user picked on the consent screen;
 * - an access token lives 3,600 s;
 * - a refresh token is rolling: each use pushes its lapse 100 days out (`x_refresh_token_expires_in`); for about 24 h
 *   after it was issued, a refresh returns the same value; after that, a refresh returns a new one and the old one is
 *   dead at once (no grace period);
 * - revoking any token of a grant kills the grant.
 * Times come from the realm's tenant clock.
 */
export interface QboAuthSettings {
  accessTokenSeconds: number;
  refreshTokenDays: number;
  /** How long a refresh token is handed back unchanged before a refresh replaces it (24 h). */
  rotateAfterSeconds: number;
  codeSeconds: number;
}

export const DEFAULT_QBO_AUTH: QboAuthSettings = { accessTokenSeconds: 3600, refreshTokenDays: 100, rotateAfterSeconds: 86_400, codeSeconds: 600 };

export const QBO_SCOPE = 'com.intuit.quickbooks.accounting';

interface Grant {
  id: string;
  clientId: string;
  realmId: string;
  revoked: boolean;
}

interface Code {
  clientId: string;
  redirectUri: string;
  realmId: string;
  expiresMs: number;
  used: boolean;
}

interface RefreshToken {
  grant: Grant;
  issuedMs: number;
  expiresMs: number;
  dead: boolean;
}

export interface QboTokenResponse {
  token_type: 'bearer';
  access_token: string;
  expires_in: number;
  refresh_token: string;
  x_refresh_token_expires_in: number;
}

export type TokenError = { error: 'invalid_grant' | 'invalid_request' | 'unsupported_grant_type'; error_description: string };

const token = (bytes = 24) => randomBytes(bytes).toString('base64url');

export class QboAuth {
  private readonly codes = new Map<string, Code>();
  private readonly access = new Map<string, { grant: Grant; expiresMs: number }>();
  private readonly refresh = new Map<string, RefreshToken>();
  private readonly grants = new Map<string, Grant>();

  constructor(
    readonly settings: QboAuthSettings,
    /** The realm's clock (its tenant's). */
    private readonly nowOf: (realmId: string) => number,
  ) {}

  issueCode(clientId: string, redirectUri: string, realmId: string): string {
    const code = `AB11${token(30)}`;
    this.codes.set(code, { clientId, redirectUri, realmId, expiresMs: this.nowOf(realmId) + this.settings.codeSeconds * 1000, used: false });
    return code;
  }

  private issue(grant: Grant, refresh: string | undefined): QboTokenResponse {
    const now = this.nowOf(grant.realmId);
    const a = token(48);
    this.access.set(a, { grant, expiresMs: now + this.settings.accessTokenSeconds * 1000 });
    let r = refresh;
    if (!r) {
      r = `RT1-${token(32)}`;
      this.refresh.set(r, { grant, issuedMs: now, expiresMs: now + this.settings.refreshTokenDays * 86_400_000, dead: false });
    }
    const rt = this.refresh.get(r)!;
    return {
      token_type: 'bearer',
      access_token: a,
      expires_in: this.settings.accessTokenSeconds,
      refresh_token: r,
      x_refresh_token_expires_in: Math.max(0, Math.floor((rt.expiresMs - now) / 1000)),
    };
  }

  /** A grant straight away (the admin shortcut for "the user consented to this realm"). */
  grant(clientId: string, realmId: string): QboTokenResponse {
    const g: Grant = { id: token(12), clientId, realmId, revoked: false };
    this.grants.set(g.id, g);
    return this.issue(g, undefined);
  }

  exchangeCode(clientId: string, code: string, redirectUri: string | undefined): (QboTokenResponse & { realmId: string }) | TokenError {
    const c = this.codes.get(code);
    if (!c || c.clientId !== clientId) return { error: 'invalid_grant', error_description: 'the authorization code is unknown' };
    if (c.used) return { error: 'invalid_grant', error_description: 'the authorization code was already used' };
    if (this.nowOf(c.realmId) >= c.expiresMs) return { error: 'invalid_grant', error_description: 'the authorization code expired' };
    if (redirectUri !== c.redirectUri) return { error: 'invalid_grant', error_description: 'redirect_uri does not match the authorization request' };
    c.used = true;
    return { ...this.grant(clientId, c.realmId), realmId: c.realmId };
  }

  rotate(clientId: string, refreshToken: string): QboTokenResponse | TokenError {
    const r = this.refresh.get(refreshToken);
    if (!r || r.grant.clientId !== clientId) return { error: 'invalid_grant', error_description: 'Incorrect or invalid refresh token' };
    const now = this.nowOf(r.grant.realmId);
    if (r.grant.revoked) return { error: 'invalid_grant', error_description: 'the grant was revoked' };
    if (r.dead) return { error: 'invalid_grant', error_description: 'Incorrect or invalid refresh token (it was replaced by a newer one)' };
    if (now >= r.expiresMs) return { error: 'invalid_grant', error_description: 'the refresh token expired' };
    if (now - r.issuedMs < this.settings.rotateAfterSeconds * 1000) {
      r.expiresMs = now + this.settings.refreshTokenDays * 86_400_000;
      return this.issue(r.grant, refreshToken);
    }
    r.dead = true;
    return this.issue(r.grant, undefined);
  }

  realmOfRefresh(refreshToken: string): string | undefined {
    return this.refresh.get(refreshToken)?.grant.realmId;
  }

  /** Bearer check: the realm the token grants, or why not. */
  check(accessToken: string): { ok: true; realmId: string; clientId: string } | { ok: false; reason: 'unknown' | 'expired' | 'revoked' } {
    const a = this.access.get(accessToken);
    if (!a) return { ok: false, reason: 'unknown' };
    if (a.grant.revoked) return { ok: false, reason: 'revoked' };
    if (this.nowOf(a.grant.realmId) >= a.expiresMs) return { ok: false, reason: 'expired' };
    return { ok: true, realmId: a.grant.realmId, clientId: a.grant.clientId };
  }

  /** Revokes the grant of an access or refresh token; false when the token is unknown. */
  revoke(tokenValue: string): boolean {
    const g = this.refresh.get(tokenValue)?.grant ?? this.access.get(tokenValue)?.grant;
    if (!g) return false;
    g.revoked = true;
    return true;
  }

  revokeRealm(realmId: string): number {
    let n = 0;
    for (const g of this.grants.values()) if (g.realmId === realmId && !g.revoked) (g.revoked = true), n++;
    return n;
  }

  expireAccess(realmId: string): number {
    let n = 0;
    for (const [k, a] of this.access) if (a.grant.realmId === realmId) this.access.delete(k), n++;
    return n;
  }
}

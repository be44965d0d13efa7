/**
 * OAuth 2.0 token handling shared by HTTP connectors (Xero, the Sandbox, later QuickBooks Online): token-endpoint
 * requests with the operator's client authentication, refreshes serialised and persisted through the CredentialsStore
 * (connector.ts), revocation.
 *
 * Client authentication: with a client secret, HTTP Basic `client_id:client_secret` (RFC 6749 §2.3.1, what Xero and
 * Intuit expect); with only a client id (a public client using PKCE), `client_id` in the form body; with neither (the
 * Sandbox), no client authentication at all.
 *
 * What differs per platform is in the settings: the header that traces a call with the platform's support (Intuit:
 * `intuit_tid`), the hint added to a refusal, the access-token lifetime when the response does not say, the form of
 * a revocation request. A throttled token request (HTTP 429) waits Retry-After (60 s when absent) and is retried.
 */
import type { Clock } from '../../lib/clock.js';
import { metrics } from '../../lib/metrics.js';
import { AuthRevokedError, FetchFailedError, type Credentials, type CredentialsStore } from '../connector.js';

/** The token part of a connection's stored credentials. */
export interface OAuthTokens extends Credentials {
  accessToken?: string;
  /** RFC 3339; when the access token lapses (by the connector's clock). */
  accessTokenExpiresAt?: string;
  refreshToken: string;
  refreshTokenExpiresAt?: string;
}

export interface TokenClientSettings {
  /** Integration key, the `platform` label of the source-call metrics. */
  platform: string;
  tokenUrl: string;
  /** RFC 7009 revocation endpoint; unset → revoke() does nothing. */
  revocationUrl?: string;
  clientId?: string;
  clientSecret?: string;
  requestTimeoutMs: number;
  retries: number;
  retryBaseMs: number;
  /** Refresh the access token when it expires within this margin. */
  refreshMarginMs: number;
  /** Used when the token response does not say when the refresh token lapses. */
  refreshTokenIdleDays: number;
  sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  /** Response header quoted in errors and returned with a grant, to trace a call with the platform (Intuit: intuit_tid). */
  traceHeader?: string;
  /** Said after an `invalid_grant` refusal (e.g. what it means for the connection and that it must be re-linked). */
  refusalHint?: string;
  /** Said after an `invalid_client` refusal (which configuration holds the client credentials). */
  clientHint?: string;
  /** Access-token lifetime in seconds when the response has no `expires_in` (default 1800). */
  defaultAccessLifeSeconds?: number;
  /** Body of a revocation request: RFC 7009's form (default) or Intuit's JSON `{"token": …}`. */
  revocationBody?: 'form' | 'json';
}

/** What a token refresh needs from the caller: a clock, a signal, the credentials store and a call counter. */
export interface TokenContext {
  clock: Clock;
  signal: AbortSignal;
  credentials: CredentialsStore;
  calls: number;
}

/** A successful token response: the tokens as stored, and the raw body (for fields such as `id_token`, `scope`). */
export interface TokenGrant {
  tokens: Required<Pick<OAuthTokens, 'accessToken' | 'accessTokenExpiresAt' | 'refreshToken' | 'refreshTokenExpiresAt'>>;
  body: Record<string, unknown>;
  /** The trace header's value (settings.traceHeader), when the response carried one. */
  trace?: string;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v)) ? Number(v) : undefined);

export class TokenClient {
  constructor(readonly s: TokenClientSettings) {}

  /** Headers and extra body fields of the configured client authentication. */
  private clientAuth(): { headers: Record<string, string>; body: Record<string, string> } {
    if (this.s.clientId && this.s.clientSecret) {
      const basic = Buffer.from(`${encodeURIComponent(this.s.clientId)}:${encodeURIComponent(this.s.clientSecret)}`).toString('base64');
      return { headers: { authorization: `Basic ${basic}` }, body: {} };
    }
    if (this.s.clientId) return { headers: {}, body: { client_id: this.s.clientId } };
    return { headers: {}, body: {} };
  }

  expiring(c: Partial<OAuthTokens>, clock: Clock): boolean {
    if (!c.accessToken || !c.accessTokenExpiresAt) return true;
    return Date.parse(c.accessTokenExpiresAt) - clock.now().getTime() < this.s.refreshMarginMs;
  }

  private backoff(attempt: number): number {
    return this.s.retryBaseMs * 2 ** (attempt - 1);
  }

  /**
   * POSTs a token request (any grant: `refresh_token`, `authorization_code`…) with client authentication. Transient
   * failures (network, 5xx, unreadable body) are retried; `invalid_grant` (or 401) → AuthRevokedError; other 4xx →
   * FetchFailedError.
   */
  async request(
    params: Record<string, string>,
    ctx: { clock: Clock; signal: AbortSignal },
    counter?: { calls: number },
    /** requireRefreshToken false: a response without one is returned with refreshToken '' (the caller decides). */
    opts: { requireRefreshToken?: boolean } = {},
  ): Promise<TokenGrant> {
    const auth = this.clientAuth();
    const what = params.grant_type === 'refresh_token' ? 'token refresh' : `token request (${params.grant_type ?? 'no grant'})`;
    let attempt = 0;
    for (;;) {
      let res: Response;
      let text: string;
      try {
        res = await fetch(this.s.tokenUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', ...auth.headers },
          body: new URLSearchParams({ ...params, ...auth.body }).toString(),
          signal: AbortSignal.any([ctx.signal, AbortSignal.timeout(this.s.requestTimeoutMs)]),
        });
        text = await res.text();
        if (counter) counter.calls++;
        metrics.sourceCalls.inc({ platform: this.s.platform });
      } catch (err) {
        if (ctx.signal.aborted) throw ctx.signal.reason;
        metrics.sourceCalls.inc({ platform: this.s.platform });
        if (attempt++ < this.s.retries) {
          await this.s.sleep(this.backoff(attempt), ctx.signal);
          continue;
        }
        throw new FetchFailedError(`token endpoint unreachable: ${(err as Error).message}`);
      }
      const trace = this.s.traceHeader ? (res.headers.get(this.s.traceHeader) ?? undefined) : undefined;
      const traced = trace ? ` ${this.s.traceHeader}=${trace}` : '';
      let body: Record<string, unknown> | undefined;
      try {
        const v = JSON.parse(text) as unknown;
        body = v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
      } catch {
        body = undefined;
      }
      if (res.status === 400 || res.status === 401) {
        const error = str(body?.error) ?? 'invalid_grant';
        const said = `${what} refused: ${error}${body?.error_description ? ` (${String(body.error_description)})` : ''}`;
        if (error === 'invalid_client' && this.s.clientHint) throw new AuthRevokedError(`${said}. ${this.s.clientHint}${traced}`, res.status);
        if (error === 'invalid_grant' || res.status === 401) throw new AuthRevokedError(`${said}${this.s.refusalHint ? `. ${this.s.refusalHint}` : ''}${traced}`, res.status);
        throw new FetchFailedError(`${what} failed: ${error}${traced}`, res.status);
      }
      if (res.status === 429) {
        const retryAfter = Number(res.headers.get('retry-after'));
        if (attempt++ < this.s.retries) {
          await this.s.sleep(Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : 60_000, ctx.signal);
          continue;
        }
        throw new FetchFailedError(`${what} throttled (HTTP 429) ${attempt} times${traced}`, 429);
      }
      if (res.status >= 500 || !body) {
        if (attempt++ < this.s.retries) {
          await this.s.sleep(this.backoff(attempt), ctx.signal);
          continue;
        }
        throw new FetchFailedError(`${what} failed with HTTP ${res.status}${traced}`, res.status);
      }
      if (res.status !== 200) throw new FetchFailedError(`${what} failed with HTTP ${res.status}${traced}`, res.status);
      const access = str(body.access_token);
      const refresh = str(body.refresh_token);
      const expiresIn = num(body.expires_in) ?? this.s.defaultAccessLifeSeconds ?? 1800;
      if (!access || (!refresh && opts.requireRefreshToken !== false)) throw new FetchFailedError(`token response lacks access_token or refresh_token${traced}`, res.status);
      const now = ctx.clock.now().getTime();
      // Intuit says when the refresh token lapses in x_refresh_token_expires_in.
      const refreshLife = num(body.refresh_token_expires_in) ?? num(body.x_refresh_token_expires_in) ?? this.s.refreshTokenIdleDays * 86_400;
      return {
        tokens: {
          accessToken: access,
          accessTokenExpiresAt: new Date(now + expiresIn * 1000).toISOString(),
          refreshToken: refresh ?? '',
          refreshTokenExpiresAt: new Date(now + refreshLife * 1000).toISOString(),
        },
        body,
        ...(trace ? { trace } : {}),
      };
    }
  }

  /** Exchanges a refresh token (rotating it). invalid_grant → AuthRevokedError. */
  async refreshGrant(refreshToken: string, ctx: { clock: Clock; signal: AbortSignal }, counter?: { calls: number }): Promise<TokenGrant['tokens']> {
    return (await this.request({ grant_type: 'refresh_token', refresh_token: refreshToken }, ctx, counter)).tokens;
  }

  /**
   * Refreshes through the store (serialised per connection, persisted before use). Without `force`, credentials that
   * another worker already refreshed (a different, still-valid access token than `stale`) are used as they are.
   */
  async refreshStored<C extends OAuthTokens>(ctx: TokenContext, stale: string | undefined, force = false): Promise<C> {
    const updated = await ctx.credentials.refresh(async (current) => {
      const c = current as C;
      if (!force && c.accessToken && c.accessToken !== stale && !this.expiring(c, ctx.clock)) return current;
      if (!c.refreshToken) throw new AuthRevokedError(`no refresh token stored${this.s.refusalHint ? `. ${this.s.refusalHint}` : ''}`);
      const next = await this.refreshGrant(c.refreshToken, ctx, ctx);
      return { ...c, ...next };
    });
    return updated as C;
  }

  /** A usable access token: the stored one, or a refreshed one when it is missing or about to expire. */
  async current<C extends OAuthTokens>(ctx: TokenContext): Promise<C> {
    const creds = (await ctx.credentials.read()) as C;
    return this.expiring(creds, ctx.clock) ? this.refreshStored<C>(ctx, creds.accessToken) : creds;
  }

  /**
   * RFC 7009 revocation of a refresh token (revokes the grant). Throws when the platform refuses it; callers treat
   * revocation as best effort.
   */
  async revoke(refreshToken: string, signal: AbortSignal): Promise<void> {
    if (!this.s.revocationUrl) return;
    const auth = this.clientAuth();
    const json = this.s.revocationBody === 'json';
    const res = await fetch(this.s.revocationUrl, {
      method: 'POST',
      headers: { 'content-type': json ? 'application/json' : 'application/x-www-form-urlencoded', accept: 'application/json', ...auth.headers },
      body: json ? JSON.stringify({ token: refreshToken, ...auth.body }) : new URLSearchParams({ token: refreshToken, ...auth.body }).toString(),
      signal: AbortSignal.any([signal, AbortSignal.timeout(this.s.requestTimeoutMs)]),
    });
    await res.body?.cancel();
    if (!res.ok) throw new FetchFailedError(`token revocation answered HTTP ${res.status}`, res.status);
  }
}

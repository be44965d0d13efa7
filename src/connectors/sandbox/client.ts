/**
 * HTTP calls to the Sandbox (Xero-style) API: bearer tokens refreshed through the CredentialsStore, a per-tenant
 * concurrency limit, Retry-After pauses within a budget, retries of transient failures, typed errors.
 */
import type { Clock } from '../../lib/clock.js';
import { metrics } from '../../lib/metrics.js';
import { AuthRevokedError, ConnectorError, FetchFailedError, NotSupportedError, PermissionDeniedError, RateLimitedError, type Credentials, type CredentialsStore } from '../connector.js';
import { num, obj, str, type Wire } from './wire.js';

export interface SandboxCredentials extends Credentials {
  accessToken?: string;
  /** RFC 3339; when the access token lapses (by the connector's clock). */
  accessTokenExpiresAt?: string;
  refreshToken: string;
  refreshTokenExpiresAt?: string;
  tenantId: string;
}

export interface ClientSettings {
  /** Integration key, the `platform` label of the source-call metrics. */
  platform: string;
  apiUrl: string;
  tokenUrl: string;
  revocationUrl: string;
  connectionsUrl: string;
  pauseBudgetMs: number;
  requestTimeoutMs: number;
  retries: number;
  retryBaseMs: number;
  refreshMarginMs: number;
  refreshTokenIdleDays: number;
  /** The platform's rate-limit window (Xero: a rolling minute), for pacing by X-MinLimit-Remaining. */
  rateWindowMs: number;
  sleep: (ms: number, signal: AbortSignal) => Promise<void>;
}

export function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** A counting semaphore per tenant: at most `limit` calls in flight against one tenant from this process. */
export class TenantLimiter {
  private readonly state = new Map<string, { active: number; waiters: (() => void)[] }>();
  constructor(private readonly limit: number) {}

  async acquire(key: string, signal: AbortSignal): Promise<() => void> {
    let s = this.state.get(key);
    if (!s) this.state.set(key, (s = { active: 0, waiters: [] }));
    const st = s;
    if (st.active >= this.limit) {
      await new Promise<void>((resolve, reject) => {
        const wake = () => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        };
        const onAbort = () => {
          st.waiters = st.waiters.filter((w) => w !== wake);
          reject(signal.reason);
        };
        st.waiters.push(wake);
        signal.addEventListener('abort', onAbort, { once: true });
      });
    } else st.active++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = st.waiters.shift();
      if (next) next();
      else if (--st.active === 0) this.state.delete(key);
    };
  }
}

/**
 * Paces calls by what the platform says is left of its per-minute budget (X-MinLimit-Remaining), so a pull waits
 * before the call that would be refused instead of spending a call on a 429 (sync-behaviour.md §2.4: be polite).
 * Shared by every pull of the process; per tenant it remembers when its own calls were made, in real time as the
 * platform counts: when the platform says nothing is left, the next slot frees as the oldest of those calls leaves
 * the window. Calls other processes made to the tenant are invisible here; the 429 handling covers them.
 */
export class RatePacer {
  private readonly state = new Map<string, { calls: number[]; remaining: number | undefined; at: number }>();
  constructor(private readonly windowMs: number) {}

  /** Milliseconds to wait before the next call to the tenant (0: go now). */
  delay(tenantId: string, now: number): number {
    const s = this.state.get(tenantId);
    if (!s) return 0;
    while (s.calls.length && s.calls[0]! <= now - this.windowMs) s.calls.shift();
    if (s.calls.length === 0) {
      this.state.delete(tenantId);
      return 0;
    }
    if (s.remaining === undefined || s.remaining > 0 || s.at <= now - this.windowMs) return 0;
    return Math.max(0, s.calls[0]! + this.windowMs - now);
  }

  /**
   * After a call: when it was made, whether the platform counted it (a refused call does not use the budget) and the
   * budget it reported (undefined when it did not say).
   */
  record(tenantId: string, at: number, counted: boolean, remaining: number | undefined): void {
    let s = this.state.get(tenantId);
    if (!s) this.state.set(tenantId, (s = { calls: [], remaining: undefined, at }));
    if (counted) s.calls.push(at);
    s.remaining = remaining;
    s.at = at;
  }
}

/** State of one pull (or one keep-alive): counts calls and the pause budget since the last successful call. */
export interface CallContext {
  tenantId: string;
  credentials: CredentialsStore;
  clock: Clock;
  signal: AbortSignal;
  reportPause(until: Date | null): void;
  calls: number;
  pausedMs: number;
}

class Transient extends Error {}

export class SandboxClient {
  private readonly pacer: RatePacer;

  constructor(
    private readonly s: ClientSettings,
    private readonly limiter: TenantLimiter,
  ) {
    this.pacer = new RatePacer(s.rateWindowMs);
  }

  private expiring(c: SandboxCredentials, clock: Clock): boolean {
    if (!c.accessToken || !c.accessTokenExpiresAt) return true;
    return Date.parse(c.accessTokenExpiresAt) - clock.now().getTime() < this.s.refreshMarginMs;
  }

  /** Exchanges a refresh token (rotating it). invalid_grant → AuthRevokedError. */
  async tokenRequest(refreshToken: string, ctx: Pick<CallContext, 'clock' | 'signal'> & { calls?: number }, counter?: { calls: number }): Promise<Omit<SandboxCredentials, 'tenantId'>> {
    let attempt = 0;
    for (;;) {
      let res: Response;
      let text: string;
      try {
        res = await fetch(this.s.tokenUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
          body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken }).toString(),
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
      let body: Wire | undefined;
      try {
        body = obj(JSON.parse(text));
      } catch {
        body = undefined;
      }
      if (res.status === 400 || res.status === 401) {
        const error = str(body?.error) ?? 'invalid_grant';
        if (error === 'invalid_grant' || res.status === 401) throw new AuthRevokedError(`token refresh refused: ${error}${body?.error_description ? ` (${String(body.error_description)})` : ''}`, res.status);
        throw new FetchFailedError(`token refresh failed: ${error}`, res.status);
      }
      if (res.status >= 500 || !body) {
        if (attempt++ < this.s.retries) {
          await this.s.sleep(this.backoff(attempt), ctx.signal);
          continue;
        }
        throw new FetchFailedError(`token refresh failed with HTTP ${res.status}`, res.status);
      }
      const access = str(body.access_token);
      const refresh = str(body.refresh_token);
      const expiresIn = num(body.expires_in) ?? 1800;
      if (!access || !refresh) throw new FetchFailedError('token response lacks access_token or refresh_token', res.status);
      const now = ctx.clock.now().getTime();
      const refreshLife = num(body.refresh_token_expires_in) ?? this.s.refreshTokenIdleDays * 86_400;
      return {
        accessToken: access,
        accessTokenExpiresAt: new Date(now + expiresIn * 1000).toISOString(),
        refreshToken: refresh,
        refreshTokenExpiresAt: new Date(now + refreshLife * 1000).toISOString(),
      };
    }
  }

  /**
   * Refreshes through the store (serialised per connection, persisted before use). Without `force`, credentials that
   * another worker already refreshed (a different, still-valid access token than `stale`) are used as they are.
   */
  async refresh(ctx: CallContext, stale: string | undefined, force = false): Promise<SandboxCredentials> {
    const updated = await ctx.credentials.refresh(async (current) => {
      const c = current as SandboxCredentials;
      if (!force && c.accessToken && c.accessToken !== stale && !this.expiring(c, ctx.clock)) return current;
      if (!c.refreshToken) throw new AuthRevokedError('no refresh token stored');
      const next = await this.tokenRequest(c.refreshToken, ctx, ctx);
      return { ...c, ...next };
    });
    return updated as SandboxCredentials;
  }

  private backoff(attempt: number): number {
    return this.s.retryBaseMs * 2 ** (attempt - 1);
  }

  /** GET an API path; returns the parsed JSON body. */
  async get(ctx: CallContext, path: string, query: Record<string, string | number | undefined> = {}, ifModifiedSince?: Date): Promise<Wire> {
    const url = new URL(this.s.apiUrl + path);
    for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, String(v));
    let creds = (await ctx.credentials.read()) as SandboxCredentials;
    if (this.expiring(creds, ctx.clock)) creds = await this.refresh(ctx, creds.accessToken);
    let refreshedAfter401 = false;
    let attempt = 0;
    for (;;) {
      if (ctx.signal.aborted) throw ctx.signal.reason;
      const release = await this.limiter.acquire(ctx.tenantId, ctx.signal);
      const wait = this.pacer.delay(ctx.tenantId, Date.now());
      if (wait > 0) {
        // The platform's minute budget is spent: wait for a slot rather than collect a 429. Checked once per call,
        // holding the tenant's slot so pulls side by side wait in turn.
        try {
          ctx.reportPause(new Date(ctx.clock.now().getTime() + wait));
          await this.s.sleep(wait, ctx.signal);
          ctx.reportPause(null);
        } catch (err) {
          release();
          throw err;
        }
      }
      let res: Response;
      let text: string;
      try {
        res = await fetch(url, {
          headers: {
            authorization: `Bearer ${creds.accessToken}`,
            'xero-tenant-id': ctx.tenantId,
            accept: 'application/json',
            ...(ifModifiedSince ? { 'if-modified-since': ifModifiedSince.toISOString() } : {}),
          },
          signal: AbortSignal.any([ctx.signal, AbortSignal.timeout(this.s.requestTimeoutMs)]),
        });
        text = await res.text();
      } catch (err) {
        release();
        ctx.calls++;
        metrics.sourceCalls.inc({ platform: this.s.platform });
        if (ctx.signal.aborted) throw ctx.signal.reason;
        if (attempt++ < this.s.retries) {
          await this.s.sleep(this.backoff(attempt), ctx.signal);
          continue;
        }
        const what = (err as Error).name === 'TimeoutError' ? `timed out after ${this.s.requestTimeoutMs} ms` : (err as Error).message;
        throw new FetchFailedError(`GET ${path}: ${what}`);
      }
      release();
      ctx.calls++;
      metrics.sourceCalls.inc({ platform: this.s.platform });
      const remaining = Number.parseInt(res.headers.get('x-minlimit-remaining') ?? '', 10);
      // Stamped on arrival: the platform counted the call somewhere between sending and now, so its slot frees no
      // later than now + window (stamping at send time under load called a few milliseconds early: a 429).
      this.pacer.record(ctx.tenantId, Date.now(), res.status !== 429, Number.isNaN(remaining) ? undefined : remaining);
      try {
        if (res.status === 401) {
          if (refreshedAfter401) throw new AuthRevokedError(`GET ${path}: still unauthorized after a token refresh`, 401);
          refreshedAfter401 = true;
          creds = await this.refresh(ctx, creds.accessToken);
          continue;
        }
        if (res.status === 429) {
          metrics.sourceRateLimited.inc({ platform: this.s.platform });
          await this.pause(ctx, res, path);
          continue;
        }
        if (res.status === 403) throw new PermissionDeniedError(`GET ${path}: forbidden (${text.slice(0, 200)})`, 403);
        if (res.status === 404) throw new NotSupportedError(`GET ${path}: not found on this platform account`, 404);
        if (res.status >= 500) throw new Transient(`GET ${path}: HTTP ${res.status}`);
        if (res.status !== 200) throw new FetchFailedError(`GET ${path}: HTTP ${res.status} ${text.slice(0, 200)}`, res.status);
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch {
          throw new Transient(`GET ${path}: malformed or truncated JSON (${text.length} bytes)`);
        }
        const o = obj(body);
        if (!o) throw new Transient(`GET ${path}: response is not a JSON object`);
        ctx.pausedMs = 0;
        return o;
      } catch (err) {
        if (!(err instanceof Transient)) throw err;
        if (attempt++ < this.s.retries) {
          await this.s.sleep(this.backoff(attempt), ctx.signal);
          continue;
        }
        throw new FetchFailedError(err.message, res.status);
      }
    }
  }

  /**
   * Waits out a 429 (sync-behaviour.md §2.4): Retry-After seconds (60 when absent), reported through reportPause.
   * The pause budget bounds the total waited since the last successful call; a wait that would exceed it ends the
   * pull with RateLimitedError at once (no point sleeping first), carrying the reset time.
   */
  private async pause(ctx: CallContext, res: Response, path: string): Promise<void> {
    const retryAfter = Number(res.headers.get('retry-after'));
    const waitMs = Number.isFinite(retryAfter) && retryAfter >= 0 ? Math.max(retryAfter, 0) * 1000 : 60_000;
    const until = new Date(ctx.clock.now().getTime() + waitMs);
    const problem = res.headers.get('x-rate-limit-problem') ?? 'unknown';
    if (ctx.pausedMs + waitMs > this.s.pauseBudgetMs) {
      throw new RateLimitedError(
        `GET ${path}: rate limited (${problem}); waiting ${Math.round(waitMs / 1000)} s more would exceed the pause budget of ${Math.round(this.s.pauseBudgetMs / 1000)} s`,
        until,
      );
    }
    ctx.reportPause(until);
    await this.s.sleep(waitMs, ctx.signal);
    ctx.pausedMs += waitMs;
    ctx.reportPause(null);
  }

  async revoke(refreshToken: string, signal: AbortSignal): Promise<void> {
    await fetch(this.s.revocationUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: refreshToken }).toString(),
      signal: AbortSignal.any([signal, AbortSignal.timeout(this.s.requestTimeoutMs)]),
    }).then((r) => r.body?.cancel());
  }
}

export { ConnectorError };

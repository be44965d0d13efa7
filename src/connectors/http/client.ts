/**
 * HTTP calls to a platform's API, shared by every HTTP connector: bearer tokens refreshed through the CredentialsStore
 * (oauth.ts), a per-tenant concurrency limit and pacing by the platform's remaining budget (limits.ts), Retry-After
 * pauses within a budget, retries of transient failures with backoff, request timeouts, typed errors.
 * What differs per platform (tenant headers, which response headers carry the remaining budget) is in the settings.
 */
import type { Clock } from '../../lib/clock.js';
import { metrics } from '../../lib/metrics.js';
import { AuthRevokedError, FetchFailedError, NotSupportedError, PermissionDeniedError, RateLimitedError, type CredentialsStore } from '../connector.js';
import { RatePacer, type TenantLimiter } from './limits.js';
import type { TokenClient } from './oauth.js';

export interface ApiClientSettings {
  /** Integration key, the `platform` label of the source-call metrics. */
  platform: string;
  /** API root; request paths are appended to it. */
  apiUrl: string;
  pauseBudgetMs: number;
  requestTimeoutMs: number;
  retries: number;
  retryBaseMs: number;
  /** The platform's rate-limit window (Xero: a rolling minute), for pacing by `remaining`. */
  rateWindowMs: number;
  /** Headers that name the tenant on every call (Xero: `xero-tenant-id`). */
  tenantHeaders(tenantId: string): Record<string, string>;
  /** Calls left in the current window, as the response says (Xero: X-MinLimit-Remaining); undefined when it does not. */
  remaining(res: Response): number | undefined;
  sleep: (ms: number, signal: AbortSignal) => Promise<void>;
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

export class ApiClient {
  private readonly pacer: RatePacer;

  constructor(
    private readonly s: ApiClientSettings,
    readonly tokens: TokenClient,
    private readonly limiter: TenantLimiter,
  ) {
    this.pacer = new RatePacer(s.rateWindowMs);
  }

  private backoff(attempt: number): number {
    return this.s.retryBaseMs * 2 ** (attempt - 1);
  }

  /** GET an API path; returns the parsed JSON body. */
  async get(ctx: CallContext, path: string, query: Record<string, string | number | undefined> = {}, headers: Record<string, string> = {}): Promise<Record<string, unknown>> {
    const url = new URL(this.s.apiUrl + path);
    for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, String(v));
    let creds = await this.tokens.current(ctx);
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
            accept: 'application/json',
            ...this.s.tenantHeaders(ctx.tenantId),
            ...headers,
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
      const remaining = this.s.remaining(res);
      // Stamped on arrival: the platform counted the call somewhere between sending and now, so its slot frees no
      // later than now + window (stamping at send time under load called a few milliseconds early: a 429).
      this.pacer.record(ctx.tenantId, Date.now(), res.status !== 429, remaining);
      try {
        if (res.status === 401) {
          if (refreshedAfter401) throw new AuthRevokedError(`GET ${path}: still unauthorized after a token refresh`, 401);
          refreshedAfter401 = true;
          creds = await this.tokens.refreshStored(ctx, creds.accessToken);
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
        const o = body && typeof body === 'object' && !Array.isArray(body) ? (body as Record<string, unknown>) : undefined;
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
}

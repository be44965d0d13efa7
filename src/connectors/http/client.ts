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
  /** Calls left in the app-wide window, shared by every tenant (Xero: X-AppMinLimit-Remaining). */
  appRemaining?(res: Response): number | undefined;
  /** Calls left of the tenant's daily budget (Xero: X-DayLimit-Remaining). */
  dayRemaining?(res: Response): number | undefined;
  /**
   * Daily calls kept back: once the platform says no more than this many are left, pulls of the tenant stop with
   * RateLimitedError until the next UTC day, so keep-alive and the next day's work still have budget.
   */
  dayReserve?: number;
  sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  /**
   * The clock the platform's rate windows run on (default: real time). Not the pull's business clock, which tests jump
   * by days: the platform counts its minute in real time. Tests inject one clock shared with the simulator's
   * `rateClock` and a `sleep` that moves it, so pacing is exercised without wall-clock waits (DESIGN invariant 7).
   */
  rateClock?: Clock;
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

/** The pacer key of the app-wide budget (tenant ids are UUIDs, so it cannot collide). */
const APP = '*app*';

export class ApiClient {
  private readonly pacer: RatePacer;
  /** Tenants whose daily budget is down to the reserve: until when their pulls stop. */
  private readonly dayHold = new Map<string, number>();
  private readonly rateNow: () => number;

  constructor(
    private readonly s: ApiClientSettings,
    readonly tokens: TokenClient,
    private readonly limiter: TenantLimiter,
  ) {
    this.pacer = new RatePacer(s.rateWindowMs);
    const rc = s.rateClock;
    this.rateNow = rc ? () => rc.now().getTime() : Date.now;
  }

  private backoff(attempt: number): number {
    return this.s.retryBaseMs * 2 ** (attempt - 1);
  }

  /** GET an API path; returns the parsed JSON body. */
  async get(ctx: CallContext, path: string, query: Record<string, string | number | undefined> = {}, headers: Record<string, string> = {}): Promise<Record<string, unknown>> {
    const url = new URL(this.s.apiUrl + path);
    for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, String(v));
    const held = this.dayHold.get(ctx.tenantId);
    if (held !== undefined) {
      if (held > ctx.clock.now().getTime()) {
        throw new RateLimitedError(`GET ${path}: the daily call budget is down to its reserve of ${this.s.dayReserve ?? 0} calls; calls resume after ${new Date(held).toISOString()}`, new Date(held));
      }
      this.dayHold.delete(ctx.tenantId);
    }
    let creds = await this.tokens.current(ctx);
    let refreshedAfter401 = false;
    let attempt = 0;
    for (;;) {
      if (ctx.signal.aborted) throw ctx.signal.reason;
      const release = await this.limiter.acquire(ctx.tenantId, ctx.signal);
      // The platform's minute budgets (the tenant's, and the app's shared by every tenant's pulls in this process): a
      // call goes only while what is surely left of both is above zero; otherwise it waits for a slot to come back,
      // holding the tenant's slot so pulls side by side wait in turn (RatePacer).
      try {
        for (;;) {
          const now = this.rateNow();
          const wait = Math.max(this.pacer.delay(ctx.tenantId, now), this.s.appRemaining ? this.pacer.delay(APP, now) : 0);
          if (wait <= 0) break;
          ctx.reportPause(new Date(ctx.clock.now().getTime() + wait));
          await this.s.sleep(wait, ctx.signal);
          ctx.reportPause(null);
        }
      } catch (err) {
        release();
        throw err;
      }
      const sentAt = this.rateNow();
      const tenantCall = this.pacer.begin(ctx.tenantId, sentAt);
      const appCall = this.s.appRemaining ? this.pacer.begin(APP, sentAt) : undefined;
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
        // No answer: the platform may have counted the call.
        const at = this.rateNow();
        this.pacer.end(tenantCall, at, true, undefined);
        if (appCall) this.pacer.end(appCall, at, true, undefined);
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
      // A refused call does not use the budget; every other answer (a 401 too, when unsure) is taken as counted.
      const arrived = this.rateNow();
      this.pacer.end(tenantCall, arrived, res.status !== 429, this.s.remaining(res));
      if (appCall) this.pacer.end(appCall, arrived, res.status !== 429, this.s.appRemaining?.(res));
      const dayLeft = this.s.dayRemaining?.(res);
      if (res.status === 200 && dayLeft !== undefined && dayLeft <= (this.s.dayReserve ?? 0)) {
        const now = ctx.clock.now().getTime();
        this.dayHold.set(ctx.tenantId, Math.floor(now / 86_400_000) * 86_400_000 + 86_400_000);
      }
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
    // A daily limit (Xero: X-Rate-Limit-Problem "day", also seen as "DayLimit") does not lift within a pull's pause
    // budget in any useful way: the pull ends at once, and the scheduler holds the connection until the reset.
    if (/day/i.test(problem)) throw new RateLimitedError(`GET ${path}: daily rate limit reached (${problem}); calls resume at ${until.toISOString()}`, until);
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

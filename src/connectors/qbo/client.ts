/**
 * HTTP calls to QuickBooks Online, on the shared connector layer (src/connectors/http/): bearer tokens through the
 * shared TokenClient (Basic client authentication, refreshes serialised per connection and persisted before use,
 * Intuit's `x_refresh_token_expires_in`, JSON revocation), pacing below Intuit's per-realm limits with the shared
 * WindowPacer (8 calls a second and 450 a minute from this process, one call in flight per realm by default). What is
 * QuickBooks' own stays here: `minorversion` on every call, Faults (JSON or XML) turned into typed errors, a 60 s
 * pause on a throttle (HTTP 429 / Fault 3001, which carries no Retry-After) within the pull's pause budget, and
 * `intuit_tid` quoted in every error so a failed dataset can be traced with Intuit support.
 */
import type { Clock } from '../../lib/clock.js';
import { metrics } from '../../lib/metrics.js';
import { AuthRevokedError, FetchFailedError, NotSupportedError, PermissionDeniedError, RateLimitedError, type CredentialsStore } from '../connector.js';
import { obj, str, type Wire } from './wire.js';
import { abortableSleep, WindowPacer } from '../http/limits.js';
import { TokenClient, type OAuthTokens } from '../http/oauth.js';

export interface QboCredentials extends OAuthTokens {
  realmId: string;
}

export interface QboClientSettings {
  platform: string;
  /** Accounting API root, without `/v3/company/…`. */
  apiUrl: string;
  tokenUrl: string;
  revokeUrl: string;
  clientId: string;
  clientSecret: string;
  minorVersion: number;
  pauseBudgetMs: number;
  throttleWaitMs: number;
  requestTimeoutMs: number;
  retries: number;
  retryBaseMs: number;
  refreshMarginMs: number;
  refreshTokenIdleDays: number;
  perSecond: number;
  perMinute: number;
  concurrentPerRealm: number;
  sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  /**
   * The clock Intuit's per-realm windows run on (default: real time, as Intuit counts). Not the pull's business
   * clock, which tests jump by days. Tests inject one clock shared with the simulator's `rateClock` and a `sleep` that
   * moves it, so pacing is exercised without wall-clock waits (DESIGN invariant 7).
   */
  rateClock?: Clock;
}

export { abortableSleep };

/** State of one pull (or keep-alive): calls made and time paused since the last successful call. */
export interface CallContext {
  realmId: string;
  credentials: CredentialsStore;
  clock: Clock;
  signal: AbortSignal;
  reportPause(until: Date | null): void;
  calls: number;
  pausedMs: number;
  /** intuit_tid of the last response, quoted in errors. */
  lastTid?: string;
}

class Transient extends Error {}

/** The Fault of a QuickBooks error body (JSON or XML). */
export function parseFault(text: string): { code?: string; message?: string; detail?: string; type?: string } {
  try {
    const f = obj(obj(JSON.parse(text))?.Fault);
    const e = obj((f?.Error as unknown[] | undefined)?.[0]);
    if (f) return { code: str(e?.code), message: str(e?.Message), detail: str(e?.Detail), type: str(f.type) };
  } catch {
    /* XML or text */
  }
  const code = /<Error[^>]*code="(\d+)"/.exec(text)?.[1];
  const message = /<Message>([^<]*)<\/Message>/.exec(text)?.[1];
  const detail = /<Detail>([^<]*)<\/Detail>/.exec(text)?.[1];
  const type = /<Fault[^>]*type="([^"]+)"/.exec(text)?.[1];
  return { ...(code ? { code } : {}), ...(message ? { message } : {}), ...(detail ? { detail } : {}), ...(type ? { type } : {}) };
}

export const RELINK = 'The connection must be re-linked through its linkUrl.';

export class QboClient {
  readonly pacer: WindowPacer;
  readonly tokens: TokenClient;

  constructor(private readonly s: QboClientSettings) {
    const rc = s.rateClock;
    this.pacer = new WindowPacer({ perSecond: s.perSecond, perMinute: s.perMinute, concurrent: s.concurrentPerRealm, ...(rc ? { now: () => rc.now().getTime(), sleep: s.sleep } : {}) });
    this.tokens = new TokenClient({
      platform: s.platform,
      tokenUrl: s.tokenUrl,
      revocationUrl: s.revokeUrl,
      revocationBody: 'json',
      clientId: s.clientId,
      clientSecret: s.clientSecret,
      requestTimeoutMs: s.requestTimeoutMs,
      retries: s.retries,
      retryBaseMs: s.retryBaseMs,
      refreshMarginMs: s.refreshMarginMs,
      refreshTokenIdleDays: s.refreshTokenIdleDays,
      defaultAccessLifeSeconds: 3600,
      traceHeader: 'intuit_tid',
      // No grace for a lost answer: within 24 h of its issue the refresh token still answers; after a rotation it is
      // dead, and the refusal says the connection must be re-linked.
      refusalHint: `QuickBooks refused the refresh token: it expired, was revoked, or was replaced by a newer one whose answer never arrived. ${RELINK}`,
      clientHint: "QuickBooks refused Syncline's client credentials: check SYNCLINE_QBO_CLIENT_ID/SECRET (or SYNCLINE_QBO_SANDBOX_CLIENT_ID/SECRET).",
      sleep: s.sleep,
    });
  }

  private backoff(attempt: number): number {
    return this.s.retryBaseMs * 2 ** (attempt - 1);
  }

  /** A token request (authorization_code or refresh_token) through the shared TokenClient. */
  async tokenRequest(form: Record<string, string>, ctx: Pick<CallContext, 'clock' | 'signal'>, counter?: { calls: number }): Promise<{ credentials: OAuthTokens; tid?: string }> {
    const grant = await this.tokens.request(form, ctx, counter);
    return { credentials: grant.tokens, ...(grant.trace ? { tid: grant.trace } : {}) };
  }

  /**
   * Refreshes through the store (serialised per connection, persisted before use). Without `force`, credentials that
   * another worker already refreshed (a different, still-valid access token than `stale`) are used as they are.
   */
  refresh(ctx: CallContext, stale: string | undefined, force = false): Promise<QboCredentials> {
    return this.tokens.refreshStored<QboCredentials>(ctx, stale, force);
  }

  /** GET `/v3/company/{realmId}{path}` with minorversion; returns the parsed body. */
  async get(ctx: CallContext, path: string, query: Record<string, string | number | undefined> = {}): Promise<Wire> {
    const url = new URL(`${this.s.apiUrl}/v3/company/${encodeURIComponent(ctx.realmId)}${path}`);
    for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, String(v));
    url.searchParams.set('minorversion', String(this.s.minorVersion));
    const what = `GET ${path}${query.query ? ` (${String(query.query).slice(0, 80)})` : ''}`;
    let creds = await this.tokens.current<QboCredentials>(ctx);
    let refreshedAfter401 = false;
    let attempt = 0;
    for (;;) {
      if (ctx.signal.aborted) throw ctx.signal.reason;
      const release = await this.pacer.acquire(ctx.realmId, ctx.signal);
      let res: Response;
      let text: string;
      try {
        res = await fetch(url, {
          headers: { authorization: `Bearer ${creds.accessToken}`, accept: 'application/json' },
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
        const why = (err as Error).name === 'TimeoutError' ? `timed out after ${this.s.requestTimeoutMs} ms` : (err as Error).message;
        throw new FetchFailedError(`${what}: ${why}`);
      }
      release();
      ctx.calls++;
      metrics.sourceCalls.inc({ platform: this.s.platform });
      const tid = res.headers.get('intuit_tid') ?? undefined;
      if (tid) ctx.lastTid = tid;
      const tidText = tid ? ` intuit_tid=${tid}` : '';
      try {
        if (res.status === 200) {
          let body: unknown;
          try {
            body = JSON.parse(text);
          } catch {
            throw new Transient(`${what}: malformed or truncated JSON (${text.length} bytes)`);
          }
          const o = obj(body);
          if (!o) throw new Transient(`${what}: response is not a JSON object`);
          if (o.Fault) throw new FetchFailedError(`${what}: ${JSON.stringify(o.Fault).slice(0, 300)}${tidText}`, 200);
          ctx.pausedMs = 0;
          return o;
        }
        const fault = parseFault(text);
        if (res.status === 429 || fault.code === '3001') {
          metrics.sourceRateLimited.inc({ platform: this.s.platform });
          await this.throttled(ctx, what, tidText);
          continue;
        }
        if (res.status === 401 || fault.code === '3200') {
          if (refreshedAfter401) throw new AuthRevokedError(`${what}: QuickBooks still refuses the token after a refresh (Fault ${fault.code ?? res.status}: ${fault.detail ?? fault.message ?? ''}). ${RELINK}${tidText}`, res.status);
          refreshedAfter401 = true;
          // Not forced: when another worker has already replaced the refused token, its new one is used as it is.
          creds = await this.refresh(ctx, creds.accessToken);
          continue;
        }
        if (fault.code === '3201') throw new AuthRevokedError(`${what}: QuickBooks says the authorization no longer holds (Fault 3201: ${fault.detail ?? ''}). ${RELINK}${tidText}`, res.status);
        if (fault.code === '3100') throw new AuthRevokedError(`${what}: QuickBooks refuses this app for company ${ctx.realmId} (Fault 3100: ${fault.detail ?? 'ApplicationAuthorizationFailed'}); the company may belong to the other environment (production vs sandbox). ${RELINK}${tidText}`, res.status);
        if (res.status === 403) throw new PermissionDeniedError(`${what}: forbidden (${fault.detail ?? text.slice(0, 200)})${tidText}`, 403);
        if (res.status === 404) throw new NotSupportedError(`${what}: not found on this QuickBooks company${tidText}`, 404);
        if (res.status >= 500) throw new Transient(`${what}: HTTP ${res.status} ${fault.detail ?? ''}${tidText}`);
        throw new FetchFailedError(`${what}: HTTP ${res.status} Fault ${fault.code ?? '?'} ${fault.message ?? ''}: ${fault.detail ?? text.slice(0, 200)}${tidText}`, res.status);
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
   * A throttle has no Retry-After: wait 60 s. The pause budget bounds the total waited since the last successful
   * call; a wait that would exceed it ends the pull with RateLimitedError at once.
   */
  private async throttled(ctx: CallContext, what: string, tid: string): Promise<void> {
    const waitMs = this.s.throttleWaitMs;
    const until = new Date(ctx.clock.now().getTime() + waitMs);
    if (ctx.pausedMs + waitMs > this.s.pauseBudgetMs) {
      throw new RateLimitedError(
        `${what}: QuickBooks throttled the company (Fault 3001) again; waiting ${Math.round(waitMs / 1000)} s more would exceed the pause budget of ${Math.round(this.s.pauseBudgetMs / 1000)} s.${tid}`,
        until,
      );
    }
    ctx.reportPause(until);
    await this.s.sleep(waitMs, ctx.signal);
    ctx.pausedMs += waitMs;
    ctx.reportPause(null);
  }

  /** Revocation of a refresh token (Intuit revokes the whole grant); throws when refused, callers treat it as best effort. */
  revoke(token: string, signal: AbortSignal): Promise<void> {
    return this.tokens.revoke(token, signal);
  }
}

/**
 * HTTP calls to QuickBooks Online: bearer tokens refreshed through the CredentialsStore (serialised per connection,
 * persisted before use), `minorversion` on every call, pacing below Intuit's per-realm limits (8 calls a second and
 * 450 a minute from this process, one call in flight per realm), a 60 s pause on a throttle (HTTP 429 / Fault 3001,
 * which carries no Retry-After) within the pull's pause budget, retries of transient failures, and typed errors that
 * quote Intuit's `intuit_tid` so a failed dataset can be traced with Intuit support.
 */
import type { Clock } from '../../lib/clock.js';
import { metrics } from '../../lib/metrics.js';
import { AuthRevokedError, FetchFailedError, NotSupportedError, PermissionDeniedError, RateLimitedError, type Credentials, type CredentialsStore } from '../connector.js';
import { num, obj, str, type Wire } from './wire.js';
import { abortableSleep } from '../http/limits.js';

export interface QboCredentials extends Credentials {
  accessToken?: string;
  /** RFC 3339, by the connector's clock. */
  accessTokenExpiresAt?: string;
  refreshToken: string;
  /** When the refresh token lapses unused (from x_refresh_token_expires_in). */
  refreshTokenExpiresAt?: string;
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
}

export { abortableSleep };

/**
 * Per realm: a semaphore (calls in flight) and two sliding windows of call times (a second and a minute), in real
 * time as Intuit counts. A caller waits for a slot, then for the windows, before it sends.
 */
export class RealmPacer {
  private readonly state = new Map<string, { active: number; waiters: (() => void)[]; calls: number[] }>();
  constructor(
    private readonly perSecond: number,
    private readonly perMinute: number,
    private readonly concurrent: number,
  ) {}

  private get(realm: string) {
    let s = this.state.get(realm);
    if (!s) this.state.set(realm, (s = { active: 0, waiters: [], calls: [] }));
    return s;
  }

  async acquire(realm: string, signal: AbortSignal): Promise<() => void> {
    const s = this.get(realm);
    if (s.active >= this.concurrent) {
      await new Promise<void>((resolve, reject) => {
        const wake = () => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        };
        const onAbort = () => {
          s.waiters = s.waiters.filter((w) => w !== wake);
          reject(signal.reason);
        };
        s.waiters.push(wake);
        signal.addEventListener('abort', onAbort, { once: true });
      });
    } else s.active++;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      const next = s.waiters.shift();
      if (next) next();
      else s.active--;
    };
    try {
      for (;;) {
        const now = Date.now();
        while (s.calls.length && s.calls[0]! <= now - 60_000) s.calls.shift();
        const inSecond = s.calls.filter((t) => t > now - 1000);
        let wait = 0;
        if (s.calls.length >= this.perMinute) wait = s.calls[s.calls.length - this.perMinute]! + 60_000 - now;
        if (inSecond.length >= this.perSecond) wait = Math.max(wait, inSecond[inSecond.length - this.perSecond]! + 1000 - now);
        if (wait <= 0) break;
        // Real time: Intuit counts calls by the wall clock.
        await abortableSleep(wait, signal);
      }
      s.calls.push(Date.now());
    } catch (err) {
      release();
      throw err;
    }
    return release;
  }

  /** Calls made to a realm in the last minute (for tests and metrics). */
  recent(realm: string): number {
    const now = Date.now();
    return this.get(realm).calls.filter((t) => t > now - 60_000).length;
  }
}

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
  readonly pacer: RealmPacer;

  constructor(private readonly s: QboClientSettings) {
    this.pacer = new RealmPacer(s.perSecond, s.perMinute, s.concurrentPerRealm);
  }

  private basic(): string {
    return `Basic ${Buffer.from(`${this.s.clientId}:${this.s.clientSecret}`).toString('base64')}`;
  }

  private expiring(c: QboCredentials, clock: Clock): boolean {
    if (!c.accessToken || !c.accessTokenExpiresAt) return true;
    return Date.parse(c.accessTokenExpiresAt) - clock.now().getTime() < this.s.refreshMarginMs;
  }

  private backoff(attempt: number): number {
    return this.s.retryBaseMs * 2 ** (attempt - 1);
  }

  /** A token request (authorization_code or refresh_token) with Basic client authentication. */
  async tokenRequest(form: Record<string, string>, ctx: Pick<CallContext, 'clock' | 'signal'>, counter?: { calls: number }): Promise<{ credentials: Omit<QboCredentials, 'realmId'>; tid?: string }> {
    let attempt = 0;
    for (;;) {
      let res: Response;
      let text: string;
      try {
        res = await fetch(this.s.tokenUrl, {
          method: 'POST',
          headers: { authorization: this.basic(), 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
          body: new URLSearchParams(form).toString(),
          signal: AbortSignal.any([ctx.signal, AbortSignal.timeout(this.s.requestTimeoutMs)]),
        });
        text = await res.text();
      } catch (err) {
        if (counter) counter.calls++;
        metrics.sourceCalls.inc({ platform: this.s.platform });
        if (ctx.signal.aborted) throw ctx.signal.reason;
        // A lost answer: the same request again. Within 24 h of its issue the refresh token still answers; after a
        // rotation it is dead, and the refusal below says the connection must be re-linked.
        if (attempt++ < this.s.retries) {
          await this.s.sleep(this.backoff(attempt), ctx.signal);
          continue;
        }
        throw new FetchFailedError(`QuickBooks token endpoint unreachable: ${(err as Error).message}`);
      }
      if (counter) counter.calls++;
      metrics.sourceCalls.inc({ platform: this.s.platform });
      const tid = res.headers.get('intuit_tid') ?? undefined;
      let body: Wire | undefined;
      try {
        body = obj(JSON.parse(text));
      } catch {
        body = undefined;
      }
      if (res.status === 400 || res.status === 401) {
        const error = str(body?.error) ?? `HTTP ${res.status}`;
        if (error === 'invalid_grant') {
          throw new AuthRevokedError(
            `QuickBooks refused the refresh token (invalid_grant${body?.error_description ? `: ${String(body.error_description)}` : ''}): it expired, was revoked, or was replaced by a newer one whose answer never arrived. ${RELINK}${tid ? ` intuit_tid=${tid}` : ''}`,
            res.status,
          );
        }
        if (error === 'invalid_client') throw new AuthRevokedError(`QuickBooks refused Syncline's client credentials (invalid_client): check SYNCLINE_QBO_CLIENT_ID/SECRET.${tid ? ` intuit_tid=${tid}` : ''}`, res.status);
        throw new FetchFailedError(`QuickBooks token request failed: ${error}${tid ? ` intuit_tid=${tid}` : ''}`, res.status);
      }
      if (res.status >= 500 || res.status === 429 || !body) {
        if (attempt++ < this.s.retries) {
          await this.s.sleep(res.status === 429 ? this.s.throttleWaitMs : this.backoff(attempt), ctx.signal);
          continue;
        }
        throw new FetchFailedError(`QuickBooks token request failed with HTTP ${res.status}`, res.status);
      }
      const access = str(body.access_token);
      const refresh = str(body.refresh_token);
      if (!access || !refresh) throw new FetchFailedError('QuickBooks token response lacks access_token or refresh_token', res.status);
      const now = ctx.clock.now().getTime();
      const refreshLife = num(body.x_refresh_token_expires_in) ?? this.s.refreshTokenIdleDays * 86_400;
      return {
        credentials: {
          accessToken: access,
          accessTokenExpiresAt: new Date(now + (num(body.expires_in) ?? 3600) * 1000).toISOString(),
          refreshToken: refresh,
          refreshTokenExpiresAt: new Date(now + refreshLife * 1000).toISOString(),
        },
        ...(tid ? { tid } : {}),
      };
    }
  }

  /**
   * Refreshes through the store (serialised per connection, persisted before use). Without `force`, credentials that
   * another worker already refreshed (a different, still-valid access token than `stale`) are used as they are.
   */
  async refresh(ctx: CallContext, stale: string | undefined, force = false): Promise<QboCredentials> {
    const updated = await ctx.credentials.refresh(async (current) => {
      const c = current as QboCredentials;
      if (!force && c.accessToken && c.accessToken !== stale && !this.expiring(c, ctx.clock)) return current;
      if (!c.refreshToken) throw new AuthRevokedError(`no refresh token stored. ${RELINK}`);
      const next = await this.tokenRequest({ grant_type: 'refresh_token', refresh_token: c.refreshToken }, ctx, ctx);
      return { ...c, ...next.credentials };
    });
    return updated as QboCredentials;
  }

  /** GET `/v3/company/{realmId}{path}` with minorversion; returns the parsed body. */
  async get(ctx: CallContext, path: string, query: Record<string, string | number | undefined> = {}): Promise<Wire> {
    const url = new URL(`${this.s.apiUrl}/v3/company/${encodeURIComponent(ctx.realmId)}${path}`);
    for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, String(v));
    url.searchParams.set('minorversion', String(this.s.minorVersion));
    const what = `GET ${path}${query.query ? ` (${String(query.query).slice(0, 80)})` : ''}`;
    let creds = (await ctx.credentials.read()) as QboCredentials;
    if (this.expiring(creds, ctx.clock)) creds = await this.refresh(ctx, creds.accessToken);
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

  /** Best-effort revocation of a refresh token (Intuit revokes the whole grant). */
  async revoke(token: string, signal: AbortSignal): Promise<void> {
    const res = await fetch(this.s.revokeUrl, {
      method: 'POST',
      headers: { authorization: this.basic(), 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ token }),
      signal: AbortSignal.any([signal, AbortSignal.timeout(this.s.requestTimeoutMs)]),
    });
    await res.body?.cancel();
    if (!res.ok) throw new FetchFailedError(`QuickBooks revocation answered HTTP ${res.status}`, res.status);
  }
}

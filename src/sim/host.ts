/**
 * What a wire dialect (src/sim/xero, later QuickBooks Online) needs from the simulator core: the tenants, the token
 * store, paging limits and the platform-neutral rate limits and fault injection.
 */
import type { ServerResponse } from 'node:http';
import type { Clock } from '../lib/clock.js';
import type { OfflineTokenSet, TokenStore } from './auth.js';
import type { TenantSize } from './generate.js';
import type { Fault, Tenant } from './tenant.js';

export interface CreateTenantOptions {
  seed: string;
  size?: number | TenantSize;
  name?: string;
  /** The day history ends (default: the simulator clock's today). Same seed + size + anchor → same data. */
  anchor?: Date | string;
}

export interface SimHost {
  clock: Clock;
  tenants: Map<string, Tenant>;
  tokens: TokenStore;
  /** Now on the clock the rate-limit windows run on (real time unless the simulator was given a `rateClock`). */
  rateNow(): number;
  /** The rate-limit minute window, in milliseconds of `rateNow`. */
  windowMs: number;
  /** App-wide limit: calls per minute window across every tenant (Xero: 10,000), and the accepted calls in it. */
  app: { perMinute: number; window: number[] };
  maxPageSize: number;
  defaultPageSize: number;
  /** Responses held open by the `timeout` fault (destroyed on close). */
  hanging: Set<ServerResponse>;
  createTenant(o: CreateTenantOptions): Tenant;
  grant(tenantId: string): OfflineTokenSet;
}

/** Rate limits (per day, per minute, app-wide per minute, concurrent): undefined when the call may proceed. */
export function rateLimited(
  t: Tenant,
  nowReal: number,
  windowMs: number,
  app?: SimHost['app'],
): { problem: 'day' | 'minute' | 'appminute' | 'concurrent'; retryAfter: number } | undefined {
  const day = t.now().toISOString().slice(0, 10);
  if (t.dayKey !== day) (t.dayKey = day), (t.dayCalls = 0);
  if (t.limits.perDay !== undefined && t.dayCalls >= t.limits.perDay) {
    const next = Date.parse(`${day}T00:00:00Z`) + 86_400_000;
    return { problem: 'day', retryAfter: Math.max(1, Math.ceil((next - t.nowMs()) / 1000)) };
  }
  t.window = t.window.filter((x) => x > nowReal - windowMs);
  if (t.window.length >= t.limits.perMinute) {
    return { problem: 'minute', retryAfter: Math.max(1, Math.ceil((t.window[0]! + windowMs - nowReal) / 1000)) };
  }
  if (app) {
    while (app.window.length && app.window[0]! <= nowReal - windowMs) app.window.shift();
    if (app.window.length >= app.perMinute) return { problem: 'appminute', retryAfter: Math.max(1, Math.ceil((app.window[0]! + windowMs - nowReal) / 1000)) };
  }
  if (t.inflight >= t.limits.concurrent) return { problem: 'concurrent', retryAfter: 1 };
  return undefined;
}

export function takeFault(t: Tenant, path: string): Fault | undefined {
  const f = t.faults.find((x) => (x.remaining === null || x.remaining > 0) && (!x.path || path.toLowerCase().includes(x.path.toLowerCase())));
  if (!f) return undefined;
  if (f.remaining !== null) f.remaining--;
  t.faults = t.faults.filter((x) => x.remaining === null || x.remaining > 0);
  t.counters.faultsInjected++;
  return f;
}

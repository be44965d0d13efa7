/**
 * Politeness primitives shared by every HTTP connector: abortable waits, a per-tenant concurrency limit and a pacer
 * that spends a platform's per-window call budget without collecting 429s.
 */
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

  /** Calls this process made to the key that are still inside the window. */
  inWindow(key: string, now: number): number {
    const s = this.state.get(key);
    if (!s) return 0;
    while (s.calls.length && s.calls[0]! <= now - this.windowMs) s.calls.shift();
    return s.calls.length;
  }

  /** Milliseconds until the oldest call this process made to the key leaves the window (0: none in it). */
  oldestExpiry(key: string, now: number): number {
    const s = this.state.get(key);
    if (!s) return 0;
    while (s.calls.length && s.calls[0]! <= now - this.windowMs) s.calls.shift();
    return s.calls.length ? Math.max(0, s.calls[0]! + this.windowMs - now) : 0;
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

/**
 * Paces calls by fixed limits the platform publishes instead of reporting what is left (QuickBooks Online: 500 calls a
 * minute and 10 in flight per realm, no remaining-budget headers): per key, a semaphore for calls in flight and two
 * sliding windows of call times (a second and a minute). A caller waits for a slot, then for the windows, before it
 * sends. Times are on `now` (real time by default, as platforms count; tests inject a clock and a `sleep` that moves
 * it, DESIGN invariant 7).
 */
export class WindowPacer {
  private readonly limiter: TenantLimiter;
  private readonly calls = new Map<string, number[]>();
  private readonly now: () => number;
  private readonly sleep: (ms: number, signal: AbortSignal) => Promise<void>;

  constructor(
    private readonly o: {
      perSecond: number;
      perMinute: number;
      concurrent: number;
      now?: () => number;
      sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
    },
  ) {
    this.limiter = new TenantLimiter(o.concurrent);
    this.now = o.now ?? Date.now;
    this.sleep = o.sleep ?? abortableSleep;
  }

  private window(key: string, now: number): number[] {
    let c = this.calls.get(key);
    if (!c) this.calls.set(key, (c = []));
    while (c.length && c[0]! <= now - 60_000) c.shift();
    return c;
  }

  /** Milliseconds until the key may make another call under both windows (0: now). */
  delay(key: string, now = this.now()): number {
    const c = this.window(key, now);
    let wait = 0;
    if (c.length >= this.o.perMinute) wait = c[c.length - this.o.perMinute]! + 60_000 - now;
    const inSecond = c.filter((t) => t > now - 1000);
    if (inSecond.length >= this.o.perSecond) wait = Math.max(wait, inSecond[inSecond.length - this.o.perSecond]! + 1000 - now);
    return Math.max(0, wait);
  }

  /** Waits for a slot and the windows; returns the release of the slot. The call is counted when it is let go. */
  async acquire(key: string, signal: AbortSignal): Promise<() => void> {
    const release = await this.limiter.acquire(key, signal);
    try {
      for (let wait = this.delay(key); wait > 0; wait = this.delay(key)) await this.sleep(wait, signal);
      this.window(key, this.now()).push(this.now());
    } catch (err) {
      release();
      throw err;
    }
    return release;
  }

  /** Calls made to the key in the last minute (for tests and metrics). */
  recent(key: string): number {
    return this.window(key, this.now()).length;
  }
}

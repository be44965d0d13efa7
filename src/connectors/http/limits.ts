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

/** One call as the pacer tracks it (RatePacer.begin → RatePacer.end). */
export interface PacedCall {
  readonly key: string;
  /** When it was sent, on the pacer's clock, and its place in this process's order of sends and answers. */
  readonly sent: number;
  readonly sentTick: number;
  /** When its answer was back (undefined: still in flight). */
  arrived?: number;
  arrivedTick?: number;
  /** False once the platform said it did not count the call (a 429 refusal). */
  counted: boolean;
}

/**
 * Paces calls by what the platform says is left of a per-window budget (Xero: X-MinLimit-Remaining per tenant,
 * X-AppMinLimit-Remaining per app), so a pull waits before the call that would be refused instead of spending a call on
 * a 429 (sync-behaviour.md §2.4: be polite). Shared by every pull of the process, keyed by budget.
 *
 * The platform counts a call at some instant between its sending and its answer, and forgets it a window later. From
 * the last remainder it reported (the "report") and this process's own calls, the pacer keeps a lower bound of what is
 * left now, true whatever the latency and however answers interleave:
 * - every call that may have been counted after the report's call (answered after that call was sent, or still in
 *   flight) takes one off, until it has surely left the window (answered a whole window ago);
 * - every call surely counted before the report and surely inside its window (answered before the report's call was
 *   sent, sent less than a window before the report came back) gives one back once it has surely left the window.
 * A call goes only while the bound is above zero. The oldest call this process knows of is not what frees the next
 * slot: it may have left the platform's window already (the platform stamped it earlier than its answer came back)
 * and its slot been spent on a call the platform still had room for — waiting for it alone was the cause of the few
 * 429s a long pull collected. Calls other processes made are invisible here; the 429 handling covers them.
 */
export class RatePacer {
  private readonly state = new Map<string, { calls: PacedCall[]; report?: { left: number; at: number; sentTick: number; call: PacedCall } }>();
  private tick = 0;
  constructor(private readonly windowMs: number) {}

  /** A call to the key is sent now. */
  begin(key: string, now: number): PacedCall {
    let s = this.state.get(key);
    if (!s) this.state.set(key, (s = { calls: [] }));
    const call: PacedCall = { key, sent: now, sentTick: ++this.tick, counted: true };
    s.calls.push(call);
    return call;
  }

  /**
   * Its answer is back: whether the platform counted it (a refused call does not use the budget; when unsure, say
   * true) and the remainder it reported (undefined when it did not say).
   */
  end(call: PacedCall, now: number, counted: boolean, remaining: number | undefined): void {
    call.arrived = now;
    call.arrivedTick = ++this.tick;
    call.counted = counted;
    const s = this.state.get(call.key);
    if (!s) return;
    if (!counted) s.calls = s.calls.filter((c) => c !== call);
    if (remaining === undefined) return;
    const next = { left: remaining, at: now, sentTick: call.sentTick, call };
    // Both bounds are true; keep the higher (tighter) one.
    if (!s.report || this.bound(s.calls, next, now) >= this.bound(s.calls, s.report, now)) s.report = next;
  }

  /** The lower bound of what is left of the key's budget now (Infinity: nothing known limits it). */
  left(key: string, now: number): number {
    const s = this.prune(key, now);
    return s?.report ? this.bound(s.calls, s.report, now) : Infinity;
  }

  /** Milliseconds to wait before the next call to the key (0: go now). */
  delay(key: string, now: number): number {
    const s = this.prune(key, now);
    if (!s?.report || this.bound(s.calls, s.report, now) > 0) return 0;
    const r = s.report;
    // The bound rises when a counted call surely leaves the window, or when the report itself is a window old.
    let next = r.at + this.windowMs;
    let inFlight = false;
    for (const c of s.calls) {
      if (c === r.call) continue;
      if (c.arrived === undefined) inFlight = true;
      else if (c.arrived + this.windowMs > now) next = Math.min(next, c.arrived + this.windowMs);
    }
    // An answer in flight may bring a higher remainder: look again soon rather than a whole slot later.
    const wait = Math.max(1, next - now);
    return inFlight ? Math.min(wait, 20) : wait;
  }

  /** Calls this process made to the key that the platform may still count (in flight or answered within a window). */
  inWindow(key: string, now: number): number {
    const s = this.prune(key, now);
    return s ? s.calls.filter((c) => c.arrived === undefined || c.arrived + this.windowMs > now).length : 0;
  }

  private bound(calls: PacedCall[], r: { left: number; sentTick: number; call: PacedCall; at: number }, now: number): number {
    let left = r.left;
    for (const c of calls) {
      if (c === r.call || !c.counted) continue;
      const gone = c.arrived !== undefined && c.arrived + this.windowMs <= now;
      if (c.arrivedTick === undefined || c.arrivedTick > r.sentTick) {
        if (!gone) left -= 1;
      } else if (gone && c.sent > r.at - this.windowMs) left += 1;
    }
    return left;
  }

  /** Forgets what can no longer change the bound: the report a window after it came, calls that left before it. */
  private prune(key: string, now: number) {
    const s = this.state.get(key);
    if (!s) return undefined;
    if (s.report && s.report.at + this.windowMs <= now) s.report = undefined;
    const r = s.report;
    s.calls = s.calls.filter(
      (c) => c.arrived === undefined || c.arrived + this.windowMs > now || (r !== undefined && c !== r.call && c.arrivedTick! <= r.sentTick && c.sent > r.at - this.windowMs),
    );
    if (!s.report && s.calls.length === 0) {
      this.state.delete(key);
      return undefined;
    }
    return s;
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

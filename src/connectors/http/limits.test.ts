import { describe, expect, it } from 'vitest';
import { Rng } from '../../sim/rng.js';
import { RatePacer } from './limits.js';

const W = 60_000;


/**
 * A discrete-event model of a platform with a sliding-window limit (as Xero counts X-MinLimit: a call is stamped when
 * it reaches the platform, refused with 429 when the window already holds `limit` calls, and answered with what is
 * left) and `callers` loops sharing one pacer, each making calls one after another. Latencies (to the platform, and
 * back) are drawn from `latency`, so answers come back in any order and stamps are earlier than answers.
 */
function run(o: { limit: number; calls: number; callers: number; latency: () => [number, number]; start?: number; preStamps?: number[] }) {
  const pacer = new RatePacer(W);
  const stamps: number[] = [...(o.preStamps ?? [])];
  let refused = 0;
  let made = 0;
  let maxInWindow = 0;
  type Ev = { at: number; seq: number; fn: () => void };
  const queue: Ev[] = [];
  let seq = 0;
  let now = o.start ?? 0;
  const at = (t: number, fn: () => void) => queue.push({ at: t, seq: seq++, fn });
  const step = (caller: number) => {
    if (made >= o.calls) return;
    const d = pacer.delay('t', now);
    if (d > 0) return at(now + d, () => step(caller));
    made++;
    const call = pacer.begin('t', now);
    const [toPlatform, back] = o.latency();
    at(now + toPlatform, () => {
      const inWindow = stamps.filter((x) => x > now - W).length;
      const ok = inWindow < o.limit;
      if (ok) stamps.push(now);
      else refused++;
      maxInWindow = Math.max(maxInWindow, inWindow + (ok ? 1 : 0));
      const remaining = Math.max(0, o.limit - stamps.filter((x) => x > now - W).length);
      at(now + back, () => {
        pacer.end(call, now, ok, remaining);
        if (!ok) made--; // the refused call is made again
        step(caller);
      });
    });
  };
  for (let c = 0; c < o.callers; c++) at(now, () => step(c));
  while (queue.length) {
    queue.sort((a, b) => a.at - b.at || a.seq - b.seq);
    const ev = queue.shift()!;
    now = ev.at;
    ev.fn();
  }
  return { refused, stamps: stamps.length - (o.preStamps?.length ?? 0), end: now, maxInWindow };
}

describe('RatePacer', () => {
  it('when the window is full, waits until a call it surely counted has surely left (its answer + a window)', () => {
    // Limit 3. The platform stamps each call 5 ms after it is sent and the answer is back 5 ms later.
    const p = new RatePacer(W);
    const call = (sent: number, remaining: number) => p.end(p.begin('t', sent), sent + 10, true, remaining);
    call(0, 2); // stamped 5, answered 10
    call(10, 1); // stamped 15
    call(20, 0); // stamped 25: the window is full
    expect(p.left('t', 30)).toBe(0);
    // The first call leaves the platform's window at 60,005; the pacer only knows it surely has at 60,010.
    expect(p.delay('t', 30)).toBe(60_010 - 30);
    expect(p.delay('t', 60_009)).toBe(1);
    expect(p.left('t', 60_010)).toBe(1);
    expect(p.delay('t', 60_010)).toBe(0);
    call(60_010, 1); // stamped 60,015: the platform holds 25 and it (15 left at 60,015)
    expect(p.delay('t', 60_020)).toBe(0);
    call(60_020, 1); // stamped 60,025: 25 has left too
    expect(p.delay('t', 60_030)).toBe(0);
    call(60_030, 0); // stamped 60,035: full again, with this process's three new calls only
    // The next slot is the first of them's (answered 60,020), not the old calls' (which the remainders already spent).
    expect(p.delay('t', 60_040)).toBe(120_020 - 60_040);
  });

  it('never lets the platform refuse a call, whatever the latencies and however answers interleave (seeded)', () => {
    for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
      const rng = new Rng(seed);
      const rnd = () => rng.next();
      for (const callers of [1, 3, 5]) {
        const r = run({ limit: 20, calls: 150, callers, latency: () => [1 + Math.floor(rnd() * 40), 1 + Math.floor(rnd() * 200)] });
        expect({ seed, callers, refused: r.refused }).toEqual({ seed, callers, refused: 0 });
        expect(r.stamps).toBe(150);
        expect(r.maxInWindow).toBeLessThanOrEqual(20);
        // Polite but not idle: 150 calls at 20 a window need 7 windows after the first; latency adds little.
        expect(r.end).toBeLessThan(9 * W);
      }
    }
  });

  it('a platform window already holding other calls: the first answer says so, and the pacer waits for the report', () => {
    // Another process spent 18 of 20 calls just before: the pacer knows nothing until the first answer says so.
    const rng = new Rng(42);
    const rnd = () => rng.next();
    const r = run({ limit: 20, calls: 40, callers: 1, latency: () => [1 + Math.floor(rnd() * 10), 1 + Math.floor(rnd() * 10)], start: 1_000, preStamps: Array.from({ length: 18 }, (_, i) => 500 + i) });
    expect(r.refused).toBe(0);
    expect(r.stamps).toBe(40);
  });

  it('with no remainder reported, nothing limits the calls; a refused call does not count', () => {
    const p = new RatePacer(W);
    p.end(p.begin('t', 0), 5, true, undefined);
    expect(p.delay('t', 6)).toBe(0);
    expect(p.left('t', 6)).toBe(Infinity);
    const refused = p.begin('t', 10);
    p.end(refused, 15, false, 0);
    // Refused and told nothing is left: wait, but the refused call itself frees nothing later (it was never counted).
    expect(p.delay('t', 16)).toBeGreaterThan(0);
    expect(p.inWindow('t', 16)).toBe(1);
    // A window after the report, it says nothing any more.
    expect(p.delay('t', 15 + W)).toBe(0);
  });

  it('a call in flight holds its slot: a second caller waits for its answer rather than guess', () => {
    const p = new RatePacer(W);
    p.end(p.begin('t', 0), 10, true, 1);
    p.begin('t', 20); // in flight, may take the last slot
    const d = p.delay('t', 25);
    expect(d).toBeGreaterThan(0);
    expect(d).toBeLessThanOrEqual(20); // looks again soon: the answer may bring a higher remainder
  });
});

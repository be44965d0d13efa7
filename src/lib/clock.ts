/**
 * Time comes from an injected clock (DESIGN invariant 7) so tests can move weeks forward
 * without sleeping. Production code never calls `Date.now()` directly for business time.
 */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** A clock tests can move forward by hand. */
export class ManualClock implements Clock {
  private current: number;
  constructor(start: Date | string = '2026-01-01T00:00:00.000Z') {
    this.current = new Date(start).getTime();
  }
  now(): Date {
    return new Date(this.current);
  }
  advance(ms: number): void {
    this.current += ms;
  }
  set(at: Date | string): void {
    this.current = new Date(at).getTime();
  }
}

/** Syncline's wire format for its own timestamps: RFC 3339 UTC with milliseconds. */
export function iso(d: Date): string {
  return d.toISOString();
}

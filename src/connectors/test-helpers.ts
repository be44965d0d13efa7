/**
 * Test support only (the real CredentialsStore lives in src/sync over the database): an in-memory credentials store
 * with serialised refreshes, and a helper that drains a pull.
 */
import { ManualClock, type Clock } from '../lib/clock.js';
import type { DataType } from '../domain/data-types.js';
import type { Connector, Credentials, CredentialsStore, PullOutcome, PullRequest, PullWindow, SourceRecord } from './connector.js';

export class MemoryCredentialsStore implements CredentialsStore {
  private chain: Promise<unknown> = Promise.resolve();
  refreshCount = 0;
  constructor(public current: Credentials) {}
  async read(): Promise<Credentials> {
    return structuredClone(this.current);
  }
  refresh(fn: (current: Credentials) => Promise<Credentials>): Promise<Credentials> {
    const run = this.chain.then(async () => {
      const next = await fn(structuredClone(this.current));
      if (next !== this.current) this.refreshCount++;
      this.current = structuredClone(next); // persisted before the caller may use it
      return structuredClone(next);
    });
    this.chain = run.catch(() => undefined);
    return run;
  }
}

export interface DrainResult {
  records: SourceRecord[];
  outcome: PullOutcome;
  pages: number;
  pauses: (Date | null)[];
  progress: number[];
}

export interface PullArgs {
  dataType: DataType;
  credentials: CredentialsStore;
  connectionInfo: Record<string, string>;
  cursor?: string;
  full?: boolean;
  window?: PullWindow;
  clock?: Clock;
  signal?: AbortSignal;
  /** Called with each page instead of collecting it (bounded-memory tests). */
  onPage?: (page: SourceRecord[]) => void;
}

export async function drain(connector: Connector, a: PullArgs): Promise<DrainResult> {
  const pauses: (Date | null)[] = [];
  const progress: number[] = [];
  const req: PullRequest = {
    dataType: a.dataType,
    credentials: a.credentials,
    connectionInfo: a.connectionInfo,
    cursor: a.cursor,
    full: a.full ?? false,
    window: a.window ?? {},
    clock: a.clock ?? new ManualClock(),
    signal: a.signal ?? new AbortController().signal,
    reportProgress: (p) => progress.push(p),
    reportPause: (d) => pauses.push(d),
  };
  const gen = connector.pull(req);
  const records: SourceRecord[] = [];
  let pages = 0;
  for (;;) {
    const step = await gen.next();
    if (step.done) return { records, outcome: step.value, pages, pauses, progress };
    pages++;
    if (a.onPage) a.onPage(step.value);
    else records.push(...step.value);
  }
}

import type { Connector, CredentialsStore, PullOutcome, PullRequest, SourceRecord } from '../../src/connectors/connector.js';
import { ACCOUNTING_READ_TYPES, type DataType } from '../../src/domain/data-types.js';

interface Versioned {
  data: Record<string, unknown>;
  version: number;
  deleted: boolean;
}

export interface TestBehaviour {
  pageSize: number;
  /** Delay before each page. */
  delayMs: number;
  /** Throw this before the given page index (0-based). */
  failAt?: { page: number; error: Error };
  /** Never finish: wait for the abort signal (lease loss / shutdown). */
  hang: boolean;
}

/**
 * A deterministic in-memory platform for pull-engine tests: records per data type with versions, soft deletes
 * (reported as deleted) and hard deletes (gone), incremental listings from a version cursor.
 */
export class TestConnector implements Connector {
  readonly tokenLifetimes = { accessTokenSeconds: 1800, refreshTokenIdleDays: 60, refreshKeepsAlive: true };
  maxConcurrentPullsPerConnection = 1;
  behaviour: TestBehaviour = { pageSize: 50, delayMs: 0, hang: false };
  keepAlives = 0;
  readonly pulls: { dataType: DataType; cursor: string | undefined; full: boolean; monthsToSync?: number | undefined }[] = [];
  private version = 0;
  private readonly data = new Map<DataType, Map<string, Versioned>>();

  constructor(readonly key = 'mqjo') {}

  /** One token refresh, as a platform's keep-alive would do. */
  async keepAlive(credentials: CredentialsStore): Promise<void> {
    this.keepAlives++;
    await credentials.refresh(async (c) => ({ ...c, refreshToken: `rt-${this.keepAlives}` }));
  }

  supports(t: DataType): boolean {
    return (ACCOUNTING_READ_TYPES as readonly string[]).includes(t);
  }

  upsert(t: DataType, id: string, data: Record<string, unknown>): void {
    if (!this.data.has(t)) this.data.set(t, new Map());
    this.data.get(t)!.set(id, { data: { id, ...data }, version: ++this.version, deleted: false });
  }
  softDelete(t: DataType, id: string): void {
    const r = this.data.get(t)?.get(id);
    if (r) Object.assign(r, { deleted: true, version: ++this.version });
  }
  hardDelete(t: DataType, id: string): void {
    this.data.get(t)?.delete(id);
  }
  seed(t: DataType, n: number, prefix = 'r'): void {
    for (let i = 0; i < n; i++) this.upsert(t, `${prefix}${String(i).padStart(6, '0')}`, { name: `${prefix} ${i}`, amount: i });
  }

  async *pull(req: PullRequest): AsyncGenerator<SourceRecord[], PullOutcome, void> {
    this.pulls.push({ dataType: req.dataType, cursor: req.cursor, full: req.full, monthsToSync: req.window.monthsToSync });
    const since = req.cursor && !req.full ? Number(req.cursor) : undefined;
    const start = this.version;
    const all = [...(this.data.get(req.dataType)?.values() ?? [])].filter((r) => (since === undefined ? !r.deleted : r.version > since));
    let page = 0;
    for (let i = 0; i === 0 || i < all.length; i += this.behaviour.pageSize) {
      if (this.behaviour.delayMs) await new Promise((r) => setTimeout(r, this.behaviour.delayMs));
      if (req.signal.aborted) throw req.signal.reason;
      if (this.behaviour.failAt && this.behaviour.failAt.page === page) throw this.behaviour.failAt.error;
      if (this.behaviour.hang) {
        await new Promise((_, reject) => req.signal.addEventListener('abort', () => reject(req.signal.reason), { once: true }));
      }
      const slice = all.slice(i, i + this.behaviour.pageSize);
      req.reportProgress(Math.round(((i + slice.length) / Math.max(1, all.length)) * 100));
      page++;
      if (slice.length) {
        yield slice.map((r) => ({
          id: String(r.data.id),
          data: r.data,
          sourceModifiedDate: `2026-01-01T00:00:${String(r.version % 60).padStart(2, '0')}Z`,
          deleted: r.deleted,
        }));
      }
      if (all.length === 0) break;
    }
    return { cursor: String(start), fullListing: since === undefined, calls: page };
  }
}

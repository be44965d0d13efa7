import type pg from 'pg';
import { loadPg } from './load-pg.js';
import type { Logger } from './logger.js';
import { sleep } from './daemon.js';

/**
 * Wakes idle loops when work arrives: in-process through `notify()`, and across processes on PostgreSQL through
 * LISTEN/NOTIFY on `channel`, on a dedicated connection (reconnected with backoff if it drops).
 */
export class Wakeup {
  private waiters = new Set<() => void>();
  private client: pg.Client | undefined;
  private stopped = false;
  private listenLoop: Promise<void> | undefined;
  /** A notify that found nobody waiting (the loop was busy claiming): the next wait returns at once instead. */
  private pending = false;

  constructor(
    private readonly log: Logger,
    private readonly databaseUrl: string | undefined,
    private readonly channel: string,
  ) {}

  notify(): void {
    if (this.waiters.size === 0) {
      this.pending = true;
      return;
    }
    const w = this.waiters;
    this.waiters = new Set();
    for (const fn of w) fn();
  }

  /**
   * Resolves on the next notify, after `ms`, or when the signal aborts, whichever comes first; at once when a notify
   * came while nobody was waiting since the last wait.
   */
  wait(ms: number, signal?: AbortSignal): Promise<void> {
    if (this.pending || signal?.aborted) {
      // Work arrived while the caller was busy (its claim may have run before that work committed): look again now.
      this.pending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      let t: NodeJS.Timeout | undefined = undefined;
      const done = () => {
        clearTimeout(t);
        this.waiters.delete(done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      t = setTimeout(done, ms);
      this.waiters.add(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  start(): void {
    if (!this.databaseUrl || this.listenLoop) return;
    this.listenLoop = (async () => {
      let backoff = 250;
      while (!this.stopped) {
        const client = new (loadPg().Client)({ connectionString: this.databaseUrl });
        // From the start: the server can go away during connect or LISTEN, and an unhandled 'error' ends the process.
        let dropped = (): void => {};
        client.on('error', () => dropped());
        try {
          await client.connect();
          this.client = client;
          await client.query(`listen ${this.channel}`);
          backoff = 250;
          // Anything queued while we were not listening is found by the next poll; wake now to look.
          this.notify();
          await new Promise<void>((resolve) => {
            client.on('notification', () => this.notify());
            dropped = resolve;
            client.on('end', () => resolve());
          });
        } catch (err) {
          if (!this.stopped) this.log.warn({ err: (err as Error).message }, 'LISTEN connection failed; retrying');
        } finally {
          this.client = undefined;
          await client.end().catch(() => {});
        }
        if (!this.stopped) await sleep(backoff);
        backoff = Math.min(backoff * 2, 10_000);
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.notify();
    await this.client?.end().catch(() => {});
    await this.listenLoop;
  }
}

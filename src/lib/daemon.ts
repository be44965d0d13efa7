import type { Logger } from './logger.js';

/** Resolves after `ms`, or early (without throwing) when the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

export interface DaemonOptions {
  name: string;
  intervalMs: number;
  tick: (signal: AbortSignal) => Promise<void>;
  log: Logger;
  onError?: (err: unknown) => void;
}

/**
 * A background loop: runs `tick` every `intervalMs` until stopped. A failing tick is logged and retried at the next
 * interval; it never kills the process. `runOnce` lets tests drive it deterministically.
 */
export class Daemon {
  private controller: AbortController | undefined;
  private loop: Promise<void> | undefined;
  private kick: (() => void) | undefined;
  constructor(private readonly opts: DaemonOptions) {}

  get name(): string {
    return this.opts.name;
  }

  async runOnce(): Promise<void> {
    await this.opts.tick(this.controller?.signal ?? new AbortController().signal);
  }

  /** Runs the next tick now instead of at the end of the interval. */
  wake(): void {
    this.kick?.();
  }

  start(): void {
    if (this.loop) return;
    const controller = new AbortController();
    this.controller = controller;
    this.loop = (async () => {
      while (!controller.signal.aborted) {
        try {
          await this.opts.tick(controller.signal);
        } catch (err) {
          if (controller.signal.aborted) break;
          this.opts.log.error({ err, daemon: this.opts.name }, 'daemon tick failed');
          this.opts.onError?.(err);
        }
        await new Promise<void>((resolve) => {
          let t: NodeJS.Timeout | undefined = undefined;
          const finish = () => {
            clearTimeout(t);
            controller.signal.removeEventListener('abort', finish);
            this.kick = undefined;
            resolve();
          };
          t = setTimeout(finish, this.opts.intervalMs);
          this.kick = finish;
          controller.signal.addEventListener('abort', finish, { once: true });
        });
      }
    })();
  }

  async stop(): Promise<void> {
    this.controller?.abort();
    await this.loop;
    this.loop = undefined;
  }
}

import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { TokenStoreSnapshot } from './auth.js';
import type { TenantSnapshot } from './tenant.js';

/** The simulator's saved state: every tenant (seed, size, anchor, clock offset and overlay of changes) and the grants. */
export interface SimState {
  version: 1;
  tenants: TenantSnapshot[];
  tokens: TokenStoreSnapshot;
}

/**
 * The state file (`--data FILE`): read once at start, rewritten after changes. Writes are coalesced (one in flight,
 * then one more if something changed meanwhile), go to a temporary file renamed over the old one (a crash never
 * leaves half a file) and are readable by the owner only (the file holds token hashes and the tenants' data).
 */
export function createStateFile(file: string) {
  let pending: (() => SimState) | undefined;
  let timer: NodeJS.Timeout | undefined;
  let writing: Promise<void> = Promise.resolve();

  function write(): void {
    const make = pending;
    pending = undefined;
    if (!make) return;
    const text = JSON.stringify(make());
    mkdirSync(path.dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, text, { mode: 0o600 });
    renameSync(tmp, file);
  }

  function safeWrite(): void {
    try {
      write();
    } catch (err) {
      // The simulator keeps serving; the next change tries again.
      process.stderr.write(`simulator: could not save its state to ${file}: ${(err as Error).message}\n`);
    }
  }

  return {
    /** The saved state, or undefined when there is no file yet. A file that cannot be read stops the start. */
    load(): SimState | undefined {
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw err;
      }
      let state: SimState;
      try {
        state = JSON.parse(text) as SimState;
      } catch (err) {
        throw new Error(`the simulator state file ${file} is not valid JSON (${(err as Error).message}); move it away to start empty`);
      }
      if (state?.version !== 1 || !Array.isArray(state.tenants) || !state.tokens) throw new Error(`the simulator state file ${file} is not a version-1 state file`);
      return state;
    },
    /** Saves `make()` soon (after the current burst of changes). */
    schedule(make: () => SimState): void {
      pending = make;
      if (timer) return;
      timer = setTimeout(() => {
        timer = undefined;
        writing = writing.then(safeWrite, safeWrite);
      }, 50);
      timer.unref();
    },
    /** Writes what is pending now (on close). */
    async flush(): Promise<void> {
      if (timer) clearTimeout(timer), (timer = undefined);
      await writing.catch(() => {});
      write();
    },
  };
}

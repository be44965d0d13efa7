import { createRequire } from 'node:module';
import type pg from 'pg';

const require = createRequire(import.meta.url);
let loaded: typeof pg | undefined;

/**
 * The `pg` driver, loaded at its first use: a process on SQLite never loads it (importing pg cost a start ~140 ms of
 * CPU, issue 17). pg is CommonJS, so a synchronous require returns the same module an `import` would.
 */
export function loadPg(): typeof pg {
  return (loaded ??= require('pg') as typeof pg);
}

import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../test/support/postgres.js';
import type { Benchmark, BenchRow } from './support/harness.js';
import { ROOT } from './support/sandbox.js';

/**
 * Starts `command` in its own process group and measures the time from spawn to the first 200 answered by /healthz
 * (polled every 10 ms), then stops the group with SIGTERM and waits for the start command to exit.
 */
async function timeToHealthy(command: string[], env: Record<string, string>, port: number): Promise<number> {
  return (await startMeasured(command, env, port)).ms;
}

/** CPU time (user + system) a process has used so far, from /proc/<pid>/stat (Linux), in ms. */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime, stime in clock ticks (USER_HZ = 100)
}

/** Time to the first /healthz 200 and the CPU time the started process had used by then (load-independent). */
async function startMeasured(command: string[], env: Record<string, string>, port: number): Promise<{ ms: number; cpu: number }> {
  const started = performance.now();
  const child = spawn(command[0]!, command.slice(1), {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  try {
    for (;;) {
      const ok = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(2_000) })
        .then((r) => r.status === 200)
        .catch(() => false);
      if (ok) return { ms: performance.now() - started, cpu: cpuMs(child.pid!) };
      if (child.exitCode !== null) throw new Error(`${command.join(' ')} exited (${child.exitCode}) before /healthz answered: ${out}`);
      if (performance.now() - started > 180_000) throw new Error(`${command.join(' ')}: no /healthz within 180 s: ${out}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  } finally {
    if (child.exitCode === null) process.kill(-child.pid!, 'SIGTERM');
    await exited;
  }
}

export const startup: Benchmark = {
  name: 'startup',
  description:
    '`npm start` on a fresh data directory (SQLite, in-process Sandbox), started twice: time from spawn to the first 200 from /healthz, vs `node -e` starting a bare http server in the same run',
  async run(ctx) {
    // dist/ current first, so no start below compiles (that is the first `npm install`'s or a source change's cost).
    const built = spawnSync('node', ['scripts/ensure-build.mjs'], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
    if (built.status !== 0) throw new Error('scripts/ensure-build.mjs failed');
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'syncline-startup-'));
    const env = { SYNCLINE_DATA_DIR: dataDir, LOG_LEVEL: 'warn' };
    const rows: BenchRow[] = [];
    try {
      const rounds = ctx.size === 'smoke' ? 1 : 3;
      const bare: number[] = [];
      const first = await timeToHealthy(['npm', 'start'], env, await freePort());
      ctx.log(`startup: first npm start ${first.toFixed(0)} ms`);
      const second: number[] = [];
      const direct: number[] = [];
      const cpu: number[] = [];
      const bareCpu: number[] = [];
      for (let i = 0; i < rounds; i++) {
        const port = await freePort();
        const b = await startMeasured([process.execPath, '-e', `require('node:http').createServer((q, s) => s.end('ok')).listen(${port}, '127.0.0.1')`], {}, port);
        bare.push(b.ms);
        bareCpu.push(b.cpu);
        second.push(await timeToHealthy(['npm', 'start'], env, await freePort()));
        const d = await startMeasured([process.execPath, 'dist/src/cli/main.js', 'serve'], env, await freePort());
        direct.push(d.ms);
        cpu.push(d.cpu);
        ctx.log(`startup: round ${i + 1}: bare ${bare[i]!.toFixed(0)} ms, npm start ${second[i]!.toFixed(0)} ms, node dist/src/cli/main.js serve ${direct[i]!.toFixed(0)} ms`);
      }
      const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
      const baseline = { label: '`node -e` bare http server, median', value: median(bare) };
      rows.push({ metric: 'first `npm start` (fresh data directory: migrations, keys, Sandbox state created)', value: first, unit: 'ms', baseline });
      rows.push({ metric: `second and later \`npm start\` to /healthz 200, median of ${rounds}`, value: median(second), unit: 'ms', baseline });
      rows.push({ metric: `\`node dist/src/cli/main.js serve\` (no npm, no build check), median of ${rounds}`, value: median(direct), unit: 'ms', baseline });
      // CPU used by the server process up to its first 200: what the wall time comes to on an idle machine, whatever
      // else runs at the same time.
      rows.push({
        metric: `CPU time (user + system) of \`node dist/src/cli/main.js serve\` at its first /healthz 200, median of ${rounds}`,
        value: median(cpu),
        unit: 'ms',
        baseline: { label: 'the bare http server process, CPU at its first 200', value: median(bareCpu) },
      });
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
    return rows;
  },
};

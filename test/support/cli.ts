import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { inject } from 'vitest';

export const ROOT = path.resolve(import.meta.dirname, '../..');
export const MAIN = path.join(ROOT, 'src/cli/main.ts');
export const COMPILED_MAIN = path.join(ROOT, 'dist/src/cli/main.js');

/**
 * True in the processes project, whose global setup built dist/ from the current sources (global-setup.ts): the CLI
 * then runs as `npm start` and an installed `syncline` run it. Elsewhere (and outside vitest) it runs through tsx.
 */
export function compiledCli(): boolean {
  try {
    return inject('compiledCli') === true;
  } catch {
    return false;
  }
}

/** Only what the CLI needs: the test runner's own env (DATABASE_URL, PORT…) must not leak in. */
export function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: 'test', ...extra };
}

export interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export type CliProcess = ChildProcess & { output: () => { stdout: string; stderr: string }; done: Promise<Run> };

/** Runs the real `syncline` CLI as a child process: dist/src/cli/main.js when built for the run (compiledCli), else src/cli/main.ts through tsx. */
export function cli(args: string[], env: Record<string, string>): CliProcess {
  const entry = compiledCli() ? [COMPILED_MAIN] : ['--import', 'tsx', MAIN];
  const child = spawn(process.execPath, [...entry, ...args], { cwd: ROOT, env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const done = new Promise<Run>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
  return Object.assign(child, { output: () => ({ stdout, stderr }), done });
}

/** Waits until the process printed a line matching `pattern`; returns the match. */
export async function waitForOutput(child: CliProcess, pattern: RegExp, timeoutMs = 30_000): Promise<RegExpExecArray> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const m = pattern.exec(child.output().stdout);
    if (m) return m;
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`process did not print ${pattern}: ${JSON.stringify(child.output())}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Starts `serve` (extra args e.g. --no-worker) and waits for the listening line; returns the URL and the process. */
export async function serve(env: Record<string, string>, args: string[] = []): Promise<{ child: CliProcess; url: string }> {
  const child = cli(['serve', ...args], { PORT: '0', LOG_LEVEL: 'info', ...env });
  const m = await waitForOutput(child, /"url":"(http:\/\/[^"]+)"[^\n]*"msg":"syncline listening"/, 45_000);
  return { child, url: m[1]! };
}

export async function stop(child: CliProcess): Promise<Run> {
  if (child.exitCode !== null) return child.done;
  child.kill('SIGTERM');
  return child.done;
}

export const basic = (key: string) => ({ authorization: `Basic ${Buffer.from(key).toString('base64')}` });

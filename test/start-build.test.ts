import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from './support/cli.js';

/**
 * `npm start` builds dist/ only when it is missing or older than its sources (issue 12 item 12), then starts the CLI in
 * the same process (issue 17): the repository's own start and prepare scripts run in a scratch package whose `build`
 * only counts its runs and whose CLI only records its arguments.
 */
describe('npm start does not rebuild an up-to-date dist/', () => {
  const real = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  const dir = mkdtempSync(path.join(os.tmpdir(), 'syncline-build-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  mkdirSync(path.join(dir, 'scripts'));
  cpSync(path.join(ROOT, 'scripts/ensure-build.mjs'), path.join(dir, 'scripts/ensure-build.mjs'));
  mkdirSync(path.join(dir, 'src'));
  mkdirSync(path.join(dir, 'node_modules/typescript'), { recursive: true });
  writeFileSync(path.join(dir, 'src/a.ts'), 'export const a = 1;\n');
  writeFileSync(path.join(dir, 'src/a.test.ts'), '// a test\n');
  // The build: writes the entry point and counts its runs.
  writeFileSync(
    path.join(dir, 'build.mjs'),
    `import fs from 'node:fs';
fs.mkdirSync('dist/src/cli', { recursive: true });
fs.writeFileSync('dist/src/cli/main.js', "import fs from 'node:fs'; fs.appendFileSync('runs.log', JSON.stringify(process.argv.slice(2)) + String.fromCharCode(10));");
fs.appendFileSync('builds.log', 'x');
`,
  );
  writeFileSync(
    path.join(dir, 'package.json'),
    JSON.stringify({
      name: 'scratch',
      private: true,
      type: 'module',
      scripts: { build: 'node build.mjs', start: real.scripts.start, prepare: real.scripts.prepare },
      buildInputs: ['src'],
    }),
  );
  const npm = (script: string) => {
    const r = spawnSync('npm', ['run', script], { cwd: dir, encoding: 'utf8', env: { PATH: process.env.PATH, HOME: process.env.HOME } });
    expect(r.status, r.stderr).toBe(0);
    return r.stderr;
  };
  const builds = () => {
    try {
      return readFileSync(path.join(dir, 'builds.log'), 'utf8').length;
    } catch {
      return 0;
    }
  };

  const runs = () => {
    try {
      return readFileSync(path.join(dir, 'runs.log'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    } catch {
      return [];
    }
  };

  it('builds once, says so, then skips while the sources are unchanged; then starts the CLI', () => {
    expect(real.scripts.start).toBe('exec node scripts/ensure-build.mjs --run serve');
    expect(real.scripts.syncline).toBe('exec node scripts/ensure-build.mjs --run');
    expect(real.scripts.prestart).toBeUndefined();
    expect(npm('prepare')).toMatch(/syncline: compiling TypeScript into dist\/ \(no build yet\)[^\n]*\n[\s\S]*syncline: built in [\d.]+ s/);
    expect(builds()).toBe(1);
    expect(runs()).toEqual([]); // prepare builds only
    expect(npm('start')).toMatch(/syncline: dist\/ is up to date \(built [^)]+\); starting/);
    expect(runs()).toEqual([['serve']]);
    // A test file is not an input of the build.
    const later = new Date(Date.now() + 60_000);
    utimesSync(path.join(dir, 'src/a.test.ts'), later, later);
    npm('start');
    expect(builds()).toBe(1);
    // A changed source is.
    utimesSync(path.join(dir, 'src/a.ts'), later, later);
    expect(npm('start')).toMatch(/compiling TypeScript into dist\/ \(the sources changed since the last build\)/);
    expect(builds()).toBe(2);
    expect(runs()).toHaveLength(3); // a start that built still starts
    // A missing entry point is rebuilt even with a fresh stamp.
    rmSync(path.join(dir, 'dist/src/cli/main.js'));
    npm('start');
    expect(builds()).toBe(3);
    expect(runs()).toHaveLength(4);
  });
});

/**
 * npm runs a script through `sh -c`, and forwards SIGTERM to that shell; dash does not pass it on, so without `exec` the
 * shell died and the server kept running, orphaned, holding its port (issue 17: "SIGTERM right after the first /healthz
 * is ignored"). The start script execs node, so npm's SIGTERM reaches the server, which shuts down cleanly.
 */
describe('SIGTERM to `npm start` reaches the server', () => {
  const real = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  const dir = mkdtempSync(path.join(os.tmpdir(), 'syncline-sigterm-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('the start script execs node, so the server gets the signal', async () => {
    mkdirSync(path.join(dir, 'dist/src/cli'), { recursive: true });
    // Stands in for the server: says it is up, and records the SIGTERM it gets before exiting 0.
    writeFileSync(
      path.join(dir, 'dist/src/cli/main.js'),
      `import fs from 'node:fs';
process.on('SIGTERM', () => { fs.writeFileSync('stopped', 'SIGTERM'); process.exit(0); });
setInterval(() => {}, 1000);
fs.writeFileSync('ready', String(process.pid));
`,
    );
    mkdirSync(path.join(dir, 'scripts'));
    cpSync(path.join(ROOT, 'scripts/ensure-build.mjs'), path.join(dir, 'scripts/ensure-build.mjs'));
    mkdirSync(path.join(dir, 'node_modules/typescript'), { recursive: true });
    writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'scratch', private: true, type: 'module', scripts: { start: real.scripts.start, build: 'node -e 0' }, buildInputs: ['dist/src'] }));
    const npm = spawn('npm', ['start'], { cwd: dir, env: { PATH: process.env.PATH, HOME: process.env.HOME }, stdio: 'ignore' });
    const npmExited = new Promise<void>((r) => npm.on('exit', () => r()));
    const waitFor = async (file: string) => {
      const deadline = Date.now() + 30_000;
      while (!existsSync(path.join(dir, file)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      return existsSync(path.join(dir, file));
    };
    let serverPid: number | undefined;
    try {
      expect(await waitFor('ready')).toBe(true);
      serverPid = Number(readFileSync(path.join(dir, 'ready'), 'utf8'));
      npm.kill('SIGTERM'); // npm itself, as a supervisor or a terminal would signal it
      await npmExited;
      expect(await waitFor('stopped')).toBe(true);
    } finally {
      if (npm.exitCode === null && npm.signalCode === null) npm.kill('SIGKILL');
      if (serverPid && !existsSync(path.join(dir, 'stopped'))) {
        try {
          process.kill(serverPid, 'SIGKILL'); // the orphan a failing run leaves
        } catch {
          /* already gone */
        }
      }
    }
  }, 60_000);
});

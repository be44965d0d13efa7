import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from './support/cli.js';

/**
 * `npm start` builds dist/ only when it is missing or older than its sources (issue 12 item 12): the repository's own
 * prestart and prepare scripts run in a scratch package whose `build` only counts its runs.
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
fs.writeFileSync('dist/src/cli/main.js', '');
fs.appendFileSync('builds.log', 'x');
`,
  );
  writeFileSync(
    path.join(dir, 'package.json'),
    JSON.stringify({
      name: 'scratch',
      private: true,
      type: 'module',
      scripts: { build: 'node build.mjs', prestart: real.scripts.prestart, prepare: real.scripts.prepare, },
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

  it('builds once, says so, then skips while the sources are unchanged', () => {
    expect(real.scripts.start).toBe('node dist/src/cli/main.js serve');
    expect(npm('prepare')).toMatch(/syncline: compiling TypeScript into dist\/ \(no build yet\)[^\n]*\n[\s\S]*syncline: built in [\d.]+ s/);
    expect(builds()).toBe(1);
    expect(npm('prestart')).toMatch(/syncline: dist\/ is up to date \(built [^)]+\); starting/);
    expect(real.scripts.presyncline).toBe(real.scripts.prestart);
    // A test file is not an input of the build.
    const later = new Date(Date.now() + 60_000);
    utimesSync(path.join(dir, 'src/a.test.ts'), later, later);
    npm('prestart');
    expect(builds()).toBe(1);
    // A changed source is.
    utimesSync(path.join(dir, 'src/a.ts'), later, later);
    expect(npm('prestart')).toMatch(/compiling TypeScript into dist\/ \(the sources changed since the last build\)/);
    expect(builds()).toBe(2);
    // A missing entry point is rebuilt even with a fresh stamp.
    rmSync(path.join(dir, 'dist/src/cli/main.js'));
    npm('prestart');
    expect(builds()).toBe(3);
  });
});

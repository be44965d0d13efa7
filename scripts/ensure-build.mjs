#!/usr/bin/env node
/**
 * Builds dist/ only when it is missing or older than its sources, and says which. `npm start` and `npm run syncline`
 * run it with `--run <args>`: it then starts the CLI (dist/src/cli/main.js <args>) in this same process, so a start
 * pays one Node start, not two (a separate prestart process cost ~0.2 s CPU and ~0.6 s wall, issue 17). It also runs
 * once at `npm install` (prepare), so a start does not recompile TypeScript for half a minute in silence.
 *
 * Up to date means: the last build through this script recorded the newest modification time of its inputs, and no
 * input is newer now. Inputs are package.json's `buildInputs` (files or directories; `*.test.ts` files are skipped, as
 * tsconfig.build.json skips them). The build itself is `npm run build`, whatever steps that runs.
 */
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const atInstall = process.argv.includes('--install');
const runAt = process.argv.indexOf('--run');
/** The CLI's arguments after `--run`, or undefined: check (and build) only. */
const runArgs = runAt >= 0 ? process.argv.slice(runAt + 1) : undefined;
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
const inputs = pkg.buildInputs ?? ['src', 'tsconfig.json', 'tsconfig.build.json', 'package.json'];
const stampFile = path.join(root, 'dist', '.build-stamp.json');
const entry = path.join(root, 'dist', 'src', 'cli', 'main.js');
const say = (line) => process.stderr.write(`syncline: ${line}\n`);

function newestMtime(p) {
  let st;
  try {
    st = statSync(p);
  } catch {
    return 0;
  }
  if (!st.isDirectory()) return /\.test\.ts$/.test(p) ? 0 : st.mtimeMs;
  let newest = 0;
  for (const name of readdirSync(p)) newest = Math.max(newest, newestMtime(path.join(p, name)));
  return newest;
}

const newest = Math.max(...inputs.map((i) => newestMtime(path.join(root, i))));
let stamp;
try {
  stamp = JSON.parse(readFileSync(stampFile, 'utf8'));
} catch {
  stamp = undefined;
}
/** Starts the CLI in this process when asked to (`--run`), else exits 0. */
async function done() {
  if (!runArgs) process.exit(0);
  process.argv = [process.argv[0], entry, ...runArgs];
  await import(pathToFileURL(entry).href);
}

if (stamp && existsSync(entry) && stamp.inputsMtime >= newest) {
  if (!atInstall) say(`dist/ is up to date (built ${stamp.builtAt}); starting`);
  await done();
} else {
  build();
  await done();
}

/** Builds dist/ (npm run build) and stamps it; exits when it cannot. */
function build() {
  if (!existsSync(path.join(root, 'node_modules', 'typescript'))) {
    // An install without devDependencies: nothing to compile with. A start then needs a dist/ built elsewhere.
    if (atInstall) {
      say('TypeScript is not installed (devDependencies omitted): dist/ is not built now');
      process.exit(0);
    }
    if (existsSync(entry)) {
      say('TypeScript is not installed, so dist/ cannot be rebuilt; starting the existing build');
      return;
    }
    say('dist/ is missing and TypeScript is not installed: run `npm install` (with devDependencies) first');
    process.exit(1);
  }

  say(
    `compiling TypeScript into dist/ (${stamp ? 'the sources changed since the last build' : 'no build yet'}); ` +
      'this takes about half a minute and happens again only when the sources change…',
  );
  const started = Date.now();
  const r = spawnSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    say(`the build failed (${r.error ? r.error.message : `exit code ${r.status}`})`);
    process.exit(r.status || 1);
  }
  writeFileSync(stampFile, JSON.stringify({ builtAt: new Date().toISOString(), inputsMtime: newest }) + '\n');
  say(`built in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

/**
 * A throwaway PostgreSQL server for the test suite: initdb + pg_ctl on a temporary directory and a free port.
 * PostgreSQL refuses to run as root, so as root it runs as the `postgres` user with a data directory that user owns.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface TempPostgres {
  url: string;
  stop(): void;
  /** Stops the server (`immediate`: as a crash would, no checkpoint) and starts it again on the same port. */
  restart(opts?: { mode?: 'fast' | 'immediate'; downMs?: number; settings?: Record<string, string> }): Promise<void>;
}

function findBinDir(): string {
  const fromPath = spawnSync('sh', ['-c', 'command -v initdb'], { encoding: 'utf8' }).stdout.trim();
  if (fromPath) return path.dirname(fromPath);
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = readdirSync(root).sort((a, b) => Number(b) - Number(a));
    for (const v of versions) if (existsSync(path.join(root, v, 'bin', 'initdb'))) return path.join(root, v, 'bin');
  }
  throw new Error('PostgreSQL server binaries (initdb, pg_ctl) not found: install the postgresql package, or set TEST_DATABASE_URL');
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** A directory for a data directory, owned by the `postgres` user when running as root (PostgreSQL refuses root). */
function ownedTempDir(prefix: string) {
  const isRoot = process.getuid?.() === 0;
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  let uid: number | undefined;
  let gid: number | undefined;
  if (isRoot) {
    uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    chownSync(dir, uid, gid);
  }
  const bin = findBinDir();
  const run = (cmd: string, args: string[]) => {
    const res = spawnSync(cmd.includes('/') ? cmd : path.join(bin, cmd), args, { encoding: 'utf8', uid, gid, cwd: dir, env: { ...process.env, LC_ALL: 'C' } });
    if (res.status !== 0) throw new Error(`${cmd} failed (${res.status}): ${res.stderr || res.stdout || res.error?.message}`);
  };
  return { isRoot, bin, dir, uid, gid, run };
}

/**
 * An initdb'd data directory that is never started, for startTempPostgres({ template }) to copy: a copy of its files is
 * a fresh cluster (the same as initdb makes) in a fraction of initdb's time, so a test run calls initdb once however
 * many servers it starts. Returns the directory; remove it with rmSync when done.
 */
export function createDataDirTemplate(): string {
  const t = ownedTempDir('syncline-pg-template-');
  t.run('initdb', ['-D', path.join(t.dir, 'data'), '-U', 'syncline', '-A', 'trust', '-E', 'UTF8', '--no-sync']);
  return path.join(t.dir, 'data');
}

/**
 * Starts a throwaway server: its data directory made by initdb, or copied from `template` (createDataDirTemplate) —
 * the server is as real either way (its own files, its own process, restarted for real by restart()).
 */
export async function startTempPostgres(opts: { template?: string } = {}): Promise<TempPostgres> {
  const { isRoot, bin, dir, uid, gid, run } = ownedTempDir('syncline-pg-');
  const dataDir = path.join(dir, 'data');
  if (opts.template) run('/bin/cp', ['-a', opts.template, dataDir]);
  else run('initdb', ['-D', dataDir, '-U', 'syncline', '-A', 'trust', '-E', 'UTF8', '--no-sync']);
  const port = await freePort();
  writeFileSync(
    path.join(dataDir, 'postgresql.auto.conf'),
    [
      `port = ${port}`,
      `listen_addresses = '127.0.0.1'`,
      `unix_socket_directories = '${dir}'`,
      'fsync = off',
      'synchronous_commit = off',
      'full_page_writes = off',
      'max_connections = 300',
      'shared_buffers = 128MB',
      '',
    ].join('\n'),
  );
  if (isRoot) chownSync(path.join(dataDir, 'postgresql.auto.conf'), uid!, gid!);
  run('pg_ctl', ['-D', dataDir, '-l', path.join(dir, 'postgres.log'), '-w', '-t', '60', 'start']);
  return {
    url: `postgres://syncline@127.0.0.1:${port}/postgres`,
    async restart({ mode = 'immediate', downMs = 0, settings = {} } = {}) {
      run('pg_ctl', ['-D', dataDir, '-m', mode, '-w', 'stop']);
      if (Object.keys(settings).length) {
        const extra = Object.entries(settings).map(([k, v]) => `${k} = '${v}'`);
        const conf = path.join(dataDir, 'postgresql.auto.conf');
        writeFileSync(conf, extra.join('\n') + '\n', { flag: 'a' });
        if (isRoot) chownSync(conf, uid!, gid!);
      }
      if (downMs) await new Promise((r) => setTimeout(r, downMs));
      run('pg_ctl', ['-D', dataDir, '-l', path.join(dir, 'postgres.log'), '-w', '-t', '60', 'start']);
    },
    stop() {
      spawnSync(path.join(bin, 'pg_ctl'), ['-D', dataDir, '-m', 'immediate', '-w', 'stop'], { uid, gid, cwd: dir });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

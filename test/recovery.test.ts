/**
 * Recovery across real processes (issue #3 item 11): a worker killed with SIGKILL in the middle of a pull loses its
 * lease and another worker completes the dataset; queued datasets left by a stopped server run when a worker starts;
 * nothing stays Fetching forever. The Sandbox platform runs as its own `syncline sim` process so it outlives workers.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DIALECTS, createTestDatabase } from './support/stores.js';
import { basic, cli, serve, stop, waitForOutput, type CliProcess } from './support/cli.js';
import { openStore } from '../src/store/db.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.each(DIALECTS)('recovery after a worker dies [%s]', (dialect) => {
  const children: CliProcess[] = [];
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    for (const f of cleanups) await f();
  });

  it('kill -9 mid-pull → another worker completes the dataset; queued work survives a restart', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'syncline-recovery-'));
    cleanups.push(async () => rmSync(dataDir, { recursive: true, force: true }));
    const sim = cli(['sim', '--port', '0', '--rate-per-minute', '100000', '--tenant-size', '300'], { LOG_LEVEL: 'warn' });
    children.push(sim);
    const simUrl = (await waitForOutput(sim, /listening on (http:\/\/\S+)/))[1]!;
    const apiKey = 'RecoveryTestKey0123456789abcdefghijklmno';
    const env: Record<string, string> = {
      SYNCLINE_API_KEY: apiKey,
      SYNCLINE_SECRET_KEY: 'recovery-test-secret-key-012345',
      SYNCLINE_DATA_DIR: dataDir,
      SYNCLINE_SANDBOX_URL: simUrl,
      SYNCLINE_LEASE_SECONDS: '2',
      LOG_LEVEL: 'info',
    };
    if (dialect === 'postgres') {
      const db = await createTestDatabase('postgres');
      cleanups.push(db.drop);
      env.DATABASE_URL = db.location;
    }
    const h = { ...basic(apiKey), 'content-type': 'application/json' };
    const call = async (base: string, method: string, p: string, body?: unknown) => {
      const res = await fetch(base + p, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) });
      return { status: res.status, body: res.status === 204 ? undefined : ((await res.json()) as any) };
    };

    // 1. An API-only server queues the first-link read; nobody runs it yet.
    const api = await serve(env, ['--no-worker']);
    children.push(api.child);
    const company = (await call(api.url, 'POST', '/companies', { name: 'Recovery Ltd' })).body;
    const conn = (await call(api.url, 'POST', `/companies/${company.id}/connections`, { platformKey: 'mqjo' })).body;
    expect((await fetch(conn.linkUrl, { redirect: 'manual' })).status).toBe(302);
    const tenantId = (await call(api.url, 'GET', `/companies/${company.id}/connections/${conn.id}`)).body.connectionInfo.tenantId;
    const history = async () => (await call(api.url, 'GET', `/companies/${company.id}/data/history?pageSize=100`)).body.results as any[];
    expect((await history()).every((o) => o.status === 'Queued')).toBe(true);
    // With SQLite the API process must stop before a second process opens the file for writing work.
    if (dialect === 'sqlite') await stop(api.child);

    // 2. The platform holds every call until the test releases them, so the worker is mid-pull (its datasets Fetching,
    // their calls in flight, none able to finish) for as long as it takes to see that and kill it, however slow the
    // machine.
    const faults = async (p: string, body: unknown) => {
      const res = await fetch(`${simUrl}/admin/tenants/${tenantId}/faults${p}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      expect(res.status, `faults${p}`).toBeLessThan(300);
    };
    await faults('', { kind: 'hold', count: null });
    const workerCmd = dialect === 'sqlite' ? ['serve'] : ['worker'];
    const first = cli(workerCmd, { ...env, PORT: '0' });
    children.push(first);
    // wait until a dataset is being fetched by that worker, then kill it without warning
    const reader = dialect === 'sqlite' ? undefined : api.url;
    const readHistory = async (base: string | undefined) => {
      if (base) return history();
      const m = /"url":"(http:\/\/[^"]+)"[^\n]*"msg":"syncline listening"/.exec(first.output().stdout);
      return m ? (await call(m[1]!, 'GET', `/companies/${company.id}/data/history?pageSize=100`)).body.results as any[] : [];
    };
    // Generous deadlines: they bound a hang, they do not time the work (a loaded 2-core machine is slow).
    const deadline = Date.now() + 90_000;
    let victim: any;
    while (!victim && Date.now() < deadline) {
      victim = (await readHistory(reader)).find((o) => o.status === 'Fetching');
      if (!victim) await sleep(50);
    }
    expect(victim, 'a dataset being fetched').toBeDefined();
    first.kill('SIGKILL');
    await first.done;
    // The dead worker's held calls went away with it; the release drops the hold, so the next worker's calls are answered.
    await faults('/release', {});

    // 3. A new process starts: the dead worker's lease runs out, the sweeper requeues the dataset, it completes.
    const second = dialect === 'sqlite' ? await serve({ ...env, PORT: '0' }) : { child: cli(['worker'], env), url: api.url };
    children.push(second.child);
    const base = second.url;
    const until = Date.now() + 150_000;
    let ops: any[] = [];
    while (Date.now() < until) {
      ops = (await call(base, 'GET', `/companies/${company.id}/data/history?pageSize=100`)).body.results;
      if (ops.every((o) => !['Queued', 'Fetching', 'Processing'].includes(o.status))) break;
      await sleep(200);
    }
    expect(ops.map((o) => `${o.dataType}:${o.status}`).filter((s) => !s.endsWith(':Complete') && !s.endsWith(':NotSupported'))).toEqual([]);
    const recovered = (await call(base, 'GET', `/companies/${company.id}/data/history/${victim.id}`)).body;
    expect(recovered.status).toBe('Complete');
    expect(recovered.recordsAdded).toBeGreaterThan(0);
    // the store holds exactly what the platform has
    const truth = (await (await fetch(`${simUrl}/admin/tenants/${tenantId}/records/invoices?limit=100000`)).json()) as any;
    const stored = (await call(base, 'GET', `/companies/${company.id}/data/invoices?pageSize=5000`)).body;
    expect(stored.totalResults).toBe(truth.total);
    await stop(second.child);
    // it really was taken over: the dead worker's attempt counts
    const store = openStore(env.DATABASE_URL ? { databaseUrl: env.DATABASE_URL, poolSize: 1 } : { sqliteFile: path.join(dataDir, 'syncline.db') });
    const row = await store.db.selectFrom('datasets').select(['attempts', 'status']).where('id', '=', victim.id).executeTakeFirstOrThrow();
    await store.close();
    expect(row).toEqual({ attempts: 2, status: 'Complete' });
  }, 300_000);
});

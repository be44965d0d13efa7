import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { DIALECTS } from '../../test/support/stores.js';
import { openStore } from '../store/db.js';
import { createTestApp, type TestApp } from '../../test/support/app.js';
import { DATA_TYPES } from '../domain/data-types.js';
import { DatasetsRepository } from '../store/datasets.repository.js';
import { SyncSettingsRepository } from '../store/sync-settings.repository.js';
import { ConnectionsRepository } from '../store/connections.repository.js';
import { ApiKeysRepository } from '../store/api-keys.repository.js';
import { CompaniesRepository } from '../store/companies.repository.js';
import { RECENT_LOOKUP_MS } from '../store/recent-lookups.js';
import { hashApiKey } from '../lib/secrets.js';
import { newId, randomAlnum } from '../lib/ids.js';
import type { Store } from '../store/db.js';
import BetterSqlite3 from 'better-sqlite3';

/**
 * GET /companies/{id}/dataStatus answers from one statement (src/store/data-status.sql.ts); it must answer what the
 * per-fact reads answered (current connection, newest and newest Complete dataset per type, effective settings).
 * API keys and company existence are trusted for RECENT_LOOKUP_MS: changes through this process are seen at once,
 * changes by another process within that bound (moved with the injected clock, never slept).
 */
describe.each(DIALECTS)('dataStatus and recent lookups [%s]', (dialect) => {
  let t: TestApp;
  /** Another process on the same database: its own store and repositories. */
  let other: Store;
  let seq = 0;
  const at = (minute: number) => new Date(Date.UTC(2026, 1, 1, 0, minute)).toISOString();

  async function company(name: string): Promise<string> {
    const r = await t.call('POST', '/companies', { name });
    expect(r.statusCode).toBe(200);
    return r.json().id as string;
  }
  async function connection(companyId: string, status: string, linkedMinute: number | null, createdMinute: number): Promise<string> {
    const id = newId();
    await t.store.db
      .insertInto('connections')
      .values({ id, company_id: companyId, integration_key: 'mqjo', status, credentials: null, connection_info: null, errors: null, created_at: at(createdMinute), updated_at: at(createdMinute), last_sync: null, linked_at: linkedMinute === null ? null : at(linkedMinute) })
      .execute();
    return id;
  }
  async function dataset(companyId: string, connectionId: string, dataType: string, status: string, db = t.store.db): Promise<string> {
    const id = newId();
    seq++;
    await db
      .insertInto('datasets')
      .values({ id, company_id: companyId, connection_id: connectionId, data_type: dataType, status, progress: 0, requested: at(seq), completed: status === 'Complete' || status.endsWith('Error') ? at(seq + 1) : null, read_id: 'r', trigger: 'refresh', sync_order: 0, settings: '{}', attempts: 0, records_added: 0, records_updated: 0, records_deleted: 0 })
      .execute();
    return id;
  }

  /** What the seven reads dataStatus made before answered, built the same way. */
  async function reference(companyId: string): Promise<Record<string, unknown>> {
    const conn = await new ConnectionsRepository(t.store.db).current(companyId);
    if (!conn) return {};
    const datasets = new DatasetsRepository(t.store.db, dialect);
    const latest = new Map((await datasets.latestPerType(conn.id)).map((d) => [d.data_type, d]));
    const ok = new Map((await datasets.latestPerType(conn.id, 'Complete')).map((d) => [d.data_type, d]));
    const effective = await new SyncSettingsRepository(t.store.db).effective(companyId);
    const def = t.ctx.registry.get(conn.integration_key);
    const out: Record<string, unknown> = {};
    for (const type of DATA_TYPES) {
      const d = latest.get(type);
      if (!d) {
        if (effective.get(type)?.fetchOnFirstLink && def && t.ctx.registry.supports(def, type)) out[type] = { dataType: type, currentStatus: 'Initial' };
        continue;
      }
      const o = ok.get(type);
      out[type] = { dataType: type, currentStatus: d.status, ...(o?.completed ? { lastSuccessfulSync: o.completed } : {}), latestSyncId: d.id, ...(o ? { latestSuccessfulSyncId: o.id } : {}) };
    }
    return out;
  }

  beforeAll(async () => {
    t = await createTestApp(dialect);
    other = dialect === 'postgres' ? openStore({ databaseUrl: t.store.location, poolSize: 2 }) : openStore({ sqliteFile: t.store.location });
  });
  afterAll(async () => {
    await other.close();
    await t.close();
  });

  it('answers what the per-fact reads answered: current connection, newest and newest Complete per type, settings', async () => {
    const co = await company('Status Co');
    expect((await t.call('GET', `/companies/${co}/dataStatus`)).json()).toEqual({});
    const older = await connection(co, 'Linked', 1, 1);
    const current = await connection(co, 'Linked', 5, 2);
    await connection(co, 'PendingAuth', null, 9); // created last, never linked: never the current one
    await dataset(co, older, 'chartOfAccounts', 'Complete'); // on the other connection: not shown
    const inv1 = await dataset(co, current, 'invoices', 'Complete');
    const inv2 = await dataset(co, current, 'invoices', 'Complete');
    const inv3 = await dataset(co, current, 'invoices', 'Queued');
    const bill = await dataset(co, current, 'bills', 'FetchError');
    const cust = await dataset(co, current, 'customers', 'Complete');
    const cust2 = await dataset(co, current, 'customers', 'FetchError');
    await new SyncSettingsRepository(t.store.db).setCompany(co, {
      overridesDefaults: true,
      settings: [{ dataType: 'suppliers', fetchOnFirstLink: false, syncSchedule: 24, syncOrder: 0 }, { dataType: 'journals', fetchOnFirstLink: true, syncSchedule: 24, syncOrder: 0 }],
    });
    const res = await t.call('GET', `/companies/${co}/dataStatus`);
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toEqual(await reference(co));
    expect(body.invoices).toEqual({ dataType: 'invoices', currentStatus: 'Queued', lastSuccessfulSync: at(4), latestSyncId: inv3, latestSuccessfulSyncId: inv2 });
    expect(inv1).not.toBe(inv2);
    expect(body.bills).toEqual({ dataType: 'bills', currentStatus: 'FetchError', latestSyncId: bill });
    expect(body.customers).toEqual({ dataType: 'customers', currentStatus: 'FetchError', lastSuccessfulSync: at(7), latestSyncId: cust2, latestSuccessfulSyncId: cust });
    expect(body.chartOfAccounts?.latestSyncId).toBeUndefined();
    expect(body.suppliers).toBeUndefined();
    expect(body.journals).toEqual({ dataType: 'journals', currentStatus: 'Initial' });
    // The profile's own settings count too, and a newly linked connection becomes the current one.
    await new SyncSettingsRepository(t.store.db).setProfile([{ dataType: 'chartOfAccounts', fetchOnFirstLink: false, syncSchedule: 24, syncOrder: 0 }]);
    await connection(co, 'Linked', 20, 20);
    const after = (await t.call('GET', `/companies/${co}/dataStatus`)).json();
    expect(after).toEqual(await reference(co));
    expect(after.invoices.currentStatus).toBe('Initial');
    expect(after.chartOfAccounts).toBeUndefined();
  });

  it("another process's dataset and settings changes are in the very next answer; the body is what JSON.stringify gives", async () => {
    const co = await company('Elsewhere Co');
    const conn = await connection(co, 'Linked', 1, 1);
    const inv = await dataset(co, conn, 'invoices', 'Queued');
    const get = () => t.call('GET', `/companies/${co}/dataStatus`);
    const first = await get();
    expect(first.statusCode).toBe(200);
    expect(first.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(first.body).toBe(JSON.stringify(await reference(co)));
    expect((await get()).body).toBe(first.body);
    // A worker process finishes the dataset: no clock moves, the next answer has it.
    await other.db.updateTable('datasets').set({ status: 'Complete', completed: at(50) }).where('id', '=', inv).execute();
    expect((await get()).json().invoices).toEqual({ dataType: 'invoices', currentStatus: 'Complete', lastSuccessfulSync: at(50), latestSyncId: inv, latestSuccessfulSyncId: inv });
    // It queues a newer one.
    const next = await dataset(co, conn, 'invoices', 'Fetching', other.db);
    expect((await get()).json().invoices).toEqual({ dataType: 'invoices', currentStatus: 'Fetching', lastSuccessfulSync: at(50), latestSyncId: next, latestSuccessfulSyncId: inv });
    // Another process changes the company's sync settings: a type no longer read on first link leaves the answer.
    const before = (await get()).json();
    const initial = Object.keys(before).find((k) => before[k].currentStatus === 'Initial')!;
    expect(initial).toBeDefined();
    await new SyncSettingsRepository(other.db).setCompany(co, { overridesDefaults: true, settings: [{ dataType: initial as never, fetchOnFirstLink: false, syncSchedule: 24, syncOrder: 0 }] });
    const after = await get();
    expect(after.json()[initial]).toBeUndefined();
    expect(after.body).toBe(JSON.stringify(await reference(co)));
  });

  it('the change version moves with every commit, by this process or another, and is read in one trivial statement', async () => {
    const co = await company('Versioned Co');
    const conn = await connection(co, 'Linked', 1, 1);
    const v0 = await t.store.changeVersion!();
    await dataset(co, conn, 'invoices', 'Queued', other.db);
    const v1 = await t.store.changeVersion!();
    expect(v1).not.toBe(v0);
    await dataset(co, conn, 'bills', 'Queued');
    const v2 = await t.store.changeVersion!();
    expect(v2).not.toBe(v1);
    // An open transaction of another process that wrote: its commit moves the version again (PostgreSQL: it leaves
    // the snapshot's in-progress list; SQLite: data_version).
    await other.db.transaction().execute(async (trx) => {
      await trx.updateTable('companies').set({ name: 'Versioned Co 2' }).where('id', '=', co).execute();
      await new Promise((r) => setTimeout(r, 10));
    });
    expect(await t.store.changeVersion!()).not.toBe(v2);
  });

  it.runIf(dialect === 'sqlite')('SQLite: an unchanged database answers without the statement; a change by this or another process runs it again', async () => {
    const co = await company('Unchanged Co');
    const conn = await connection(co, 'Linked', 1, 1);
    await dataset(co, conn, 'invoices', 'Complete');
    // Statements run through better-sqlite3 (Kysely's driver calls all() for reads): count the dataStatus statement.
    const probe = new BetterSqlite3(':memory:');
    const proto = Object.getPrototypeOf(probe.prepare('select 1')) as { all: (...a: unknown[]) => unknown };
    probe.close();
    const original = proto.all;
    let runs = 0;
    proto.all = function (this: { source: string }, ...args: unknown[]) {
      if (this.source.includes("select 'complete'")) runs++;
      return original.apply(this, args);
    };
    try {
      const get = async () => (await t.call('GET', `/companies/${co}/dataStatus`)).json();
      const a = await get();
      expect(runs).toBe(1);
      expect(await get()).toEqual(a);
      expect(await get()).toEqual(a);
      expect(runs).toBe(1);
      // A change through this process's own connection (a row changed anywhere: the version is the whole database's).
      const mine = await dataset(co, conn, 'bills', 'Queued');
      expect((await get()).bills).toMatchObject({ currentStatus: 'Queued', latestSyncId: mine });
      expect(runs).toBe(2);
      // A commit by another process's connection.
      const theirs = await dataset(co, conn, 'customers', 'Queued', other.db);
      expect((await get()).customers).toMatchObject({ currentStatus: 'Queued', latestSyncId: theirs });
      expect(runs).toBe(3);
      await get();
      expect(runs).toBe(3);
    } finally {
      proto.all = original;
    }
  });

  it('404 in the ErrorMessage shape for an unknown company, 400 for a malformed id', async () => {
    const missing = await t.call('GET', `/companies/${newId()}/dataStatus`);
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({ statusCode: 404, error: expect.any(String) });
    expect((await t.call('GET', '/companies/not-a-uuid/dataStatus')).statusCode).toBe(400);
  });

  it.runIf(dialect === 'postgres')('costs the change-version probe and at most one statement once the API key is known', async () => {
    const co = await company('One Statement Co');
    const conn = await connection(co, 'Linked', 1, 1);
    await dataset(co, conn, 'invoices', 'Complete');
    expect((await t.call('GET', `/companies/${co}/dataStatus`)).statusCode).toBe(200);
    const sent: string[] = [];
    const original = pg.Client.prototype.query;
    pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
      const q = args[0];
      sent.push(typeof q === 'string' ? q : String((q as { text?: unknown } | undefined)?.text ?? q));
      return (original as (...a: unknown[]) => unknown).apply(this, args);
    } as typeof original;
    try {
      expect((await t.call('GET', `/companies/${co}/dataStatus`)).json().invoices.currentStatus).toBe('Complete');
    } finally {
      pg.Client.prototype.query = original;
    }
    // The probe (pg_current_snapshot), then the dataStatus statement only if anything committed on the server since
    // the last answer — other test files commit on the same server at any moment, so either count can happen. No key,
    // company or settings lookup.
    const probes = sent.filter((q) => q.includes('pg_current_snapshot'));
    expect(probes).toHaveLength(1);
    expect(sent.length - probes.length).toBeLessThanOrEqual(1);
  });

  it('a deleted API key is refused at once in this process, and by another process within the bound', async () => {
    const create = async () => {
      const r = await t.call('POST', '/apiKeys', { name: 'temp' });
      expect(r.statusCode).toBe(201);
      return r.json() as { id: string; apiKey: string };
    };
    const as = (key: string) => t.call('GET', '/companies?page=1&pageSize=1', undefined, { authorization: `Basic ${Buffer.from(key).toString('base64')}` });
    // Through this process's API: 401 on the very next request.
    const a = await create();
    expect((await as(a.apiKey)).statusCode).toBe(200);
    expect((await t.call('DELETE', `/apiKeys/${a.id}`)).statusCode).toBe(204);
    expect((await as(a.apiKey)).statusCode).toBe(401);
    // By another process (`syncline api-keys delete`, another server): trusted until the bound passes, then 401.
    const b = await create();
    expect((await as(b.apiKey)).statusCode).toBe(200);
    expect(await new ApiKeysRepository(other.db).delete(b.id)).toBe(true);
    expect((await as(b.apiKey)).statusCode).toBe(200);
    t.clock.advance(RECENT_LOOKUP_MS);
    expect((await as(b.apiKey)).statusCode).toBe(401);
    // A key created by another process works at once (unknown keys are never remembered).
    const fresh = randomAlnum(40);
    expect((await as(fresh)).statusCode).toBe(401);
    await new ApiKeysRepository(other.db).insert({ id: newId(), name: 'other', key_hash: hashApiKey(fresh), created_at: t.clock.now().toISOString() });
    expect((await as(fresh)).statusCode).toBe(200);
  });

  it('a deleted company is gone at once for reads in this process, and for another process within the bound', async () => {
    const list = (co: string) => t.call('GET', `/companies/${co}/data/invoices?page=1&pageSize=10`);
    const co = await company('Deleted Co');
    const conn = await connection(co, 'Linked', 1, 1);
    await dataset(co, conn, 'invoices', 'Complete');
    expect((await list(co)).statusCode).toBe(200);
    expect((await t.call('DELETE', `/companies/${co}`)).statusCode).toBe(204);
    expect((await list(co)).statusCode).toBe(404);
    expect((await t.call('GET', `/companies/${co}/dataStatus`)).statusCode).toBe(404);

    const co2 = await company('Deleted Elsewhere Co');
    const conn2 = await connection(co2, 'Linked', 1, 1);
    await dataset(co2, conn2, 'invoices', 'Complete');
    expect((await list(co2)).statusCode).toBe(200);
    expect(await new CompaniesRepository(other.db).delete(co2, t.clock.now().toISOString())).toBe(true);
    // dataStatus always asks the database; the list trusts the company until the bound passes.
    expect((await t.call('GET', `/companies/${co2}/dataStatus`)).statusCode).toBe(404);
    t.clock.advance(RECENT_LOOKUP_MS);
    const gone = await list(co2);
    expect(gone.statusCode).toBe(404);
    expect(gone.json()).toMatchObject({ statusCode: 404 });
  });
});

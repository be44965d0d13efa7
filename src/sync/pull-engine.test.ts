import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { DIALECTS } from '../../test/support/stores.js';
import { createTestApp, expectErrorShape, type TestApp } from '../../test/support/app.js';
import { startEngine, waitFor, type Engine } from '../../test/support/engine.js';
import { AuthRevokedError, FetchFailedError, MappingError, PermissionDeniedError, RateLimitedError } from '../connectors/connector.js';
import { ACCOUNTING_READ_TYPES } from '../domain/data-types.js';
import { DatasetsRepository } from '../store/datasets.repository.js';

describe.each(DIALECTS)('pull engine [%s]', (dialect) => {
  let t: TestApp;
  let engine: Engine;
  let companyId: string;
  let connectionId: string;

  beforeAll(async () => {
    t = await createTestApp(dialect);
  });
  afterAll(async () => t.close());
  beforeEach(async () => {
    engine = startEngine(t);
    companyId = (await t.call('POST', '/companies', { name: 'Pull Co' })).json().id;
    connectionId = (await t.call('POST', `/companies/${companyId}/connections`, { platformKey: 'mqjo' })).json().id;
  });
  afterEach(async () => {
    await engine.stop();
    // Leave no in-progress work behind for the next test's workers.
    await t.store.db
      .updateTable('datasets')
      .set({ status: 'Cancelled', completed: t.clock.now().toISOString(), lease_owner: null, run_slot: null })
      .where('status', 'in', ['Queued', 'Fetching', 'Processing'])
      .execute();
  });

  const link = async () => {
    const res = await t.app.inject({ method: 'GET', url: `/link/companies/${companyId}/connections/${connectionId}/start` });
    expect(res.statusCode).toBe(302);
  };
  const history = async () => (await t.call('GET', `/companies/${companyId}/data/history?pageSize=5000`)).json().results as any[];
  const op = async (id: string) => (await t.call('GET', `/companies/${companyId}/data/history/${id}`)).json();
  const terminal = (id: string) =>
    waitFor(async () => {
      const o = await op(id);
      return ['Queued', 'Fetching', 'Mapping', 'Processing'].includes(o.status) ? false : o;
    });
  const queue = (dataType: string, qs = '') => t.call('POST', `/companies/${companyId}/data/queue/${dataType}${qs}`);

  it('first link queues every fetchOnFirstLink type in syncOrder and the workers complete them', async () => {
    engine.connector.seed('invoices', 120);
    engine.connector.seed('customers', 3);
    await link();
    const ops = await history();
    expect(ops.length).toBe(ACCOUNTING_READ_TYPES.length);
    expect(new Set(ops.map((o) => o.dataType))).toEqual(new Set(ACCOUNTING_READ_TYPES));
    for (const o of ops) await terminal(o.id);
    const done = await history();
    expect(done.every((o) => o.status === 'Complete' && o.progress === 100 && o.isCompleted && !o.isErrored)).toBe(true);
    const inv = done.find((o) => o.dataType === 'invoices');
    expect(inv.recordsAdded).toBe(120);
    expect(inv.completed).toBeDefined();
    // syncOrder: company (1) was requested in the same batch before invoices; the engine claims in syncOrder.
    const rows = await new DatasetsRepository(t.store.db, t.store.dialect).latestPerType(connectionId);
    const started = (type: string) => rows.find((r) => r.data_type === type)!.started!;
    expect(started('company') <= started('invoices')).toBe(true);
    const company = (await t.call('GET', `/companies/${companyId}`)).json();
    expect(company.lastSync).toBeDefined();
    expect(company.dataConnections[0].lastSync).toBe(company.lastSync);
  });

  it('data status: Initial before any pull, then current status and sync ids', async () => {
    expect((await t.call('GET', `/companies/${companyId}/dataStatus`)).json()).toMatchObject({ invoices: { dataType: 'invoices', currentStatus: 'Initial' } });
    expect((await t.call('GET', `/companies/${companyId}/dataStatus`)).json()).not.toHaveProperty('banking-accounts');
    await link();
    const ops = await history();
    for (const o of ops) await terminal(o.id);
    const status = (await t.call('GET', `/companies/${companyId}/dataStatus`)).json();
    const inv = ops.find((o) => o.dataType === 'invoices');
    expect(status.invoices).toEqual({
      dataType: 'invoices',
      currentStatus: 'Complete',
      lastSuccessfulSync: (await op(inv.id)).completed,
      latestSyncId: inv.id,
      latestSuccessfulSyncId: inv.id,
    });
    // a later failure keeps the last success
    engine.connector.behaviour.failAt = { page: 0, error: new FetchFailedError('platform answered 503', 503) };
    const failed = (await queue('invoices')).json();
    await terminal(failed.id);
    const after = (await t.call('GET', `/companies/${companyId}/dataStatus`)).json().invoices;
    expect(after.currentStatus).toBe('FetchError');
    expect(after.latestSyncId).toBe(failed.id);
    expect(after.latestSuccessfulSyncId).toBe(inv.id);
    // a type queued explicitly but not supported shows up too
    const ns = (await queue('banking-accounts')).json();
    expect(ns.status).toBe('NotSupported');
    expect(ns.isCompleted).toBe(true);
    const s2 = (await t.call('GET', `/companies/${companyId}/dataStatus`)).json();
    expect(s2['banking-accounts']).toMatchObject({ currentStatus: 'NotSupported', latestSyncId: ns.id });
  });

  it('refuses a second pull of a type in progress with DatasetAlreadyInProgressException', async () => {
    engine.connector.behaviour.hang = true;
    await link();
    const first = (await history()).find((o) => o.dataType === 'invoices');
    const res = await queue('invoices');
    const err = expectErrorShape(res, 400);
    expect(err.service).toBe('PullApi');
    expect(err.error).toBe(`DatasetAlreadyInProgressException: Cannot queue invoices sync for ${companyId} as previous sync ${first.id} is still in progress`);
    // refresh-all skips busy pairs silently
    const all = await t.call('POST', `/companies/${companyId}/data/all`);
    expect(all.statusCode).toBe(204);
    expect((await history()).length).toBe(ACCOUNTING_READ_TYPES.length);
  });

  it('holds one in-progress dataset per pair under 100 concurrent requests', async () => {
    engine.connector.behaviour.hang = true;
    // items is not fetched on first link for this company, so it is idle when the race starts
    const profile = (await t.call('GET', `/companies/${companyId}/syncSettings`)).json();
    const items = profile.settings.find((s: any) => s.dataType === 'items');
    const res = await t.call('POST', `/companies/${companyId}/syncSettings`, {
      companyId,
      overridesDefaults: true,
      settings: [{ ...items, fetchOnFirstLink: false }],
    });
    expect(res.statusCode).toBe(204);
    await link();
    expect((await history()).some((o) => o.dataType === 'items')).toBe(false);
    const race = await Promise.all(Array.from({ length: 100 }, () => queue('items')));
    const won = race.filter((r) => r.statusCode === 200);
    expect(won.length).toBe(1);
    const lost = race.filter((r) => r.statusCode === 400);
    expect(lost.length).toBe(99);
    for (const r of lost) {
      expect(r.json().error).toBe(
        `DatasetAlreadyInProgressException: Cannot queue items sync for ${companyId} as previous sync ${won[0]!.json().id} is still in progress`,
      );
    }
    expect((await history()).filter((o) => o.dataType === 'items').length).toBe(1);
  });

  it('queue failure paths', async () => {
    const missing = '00000000-0000-4000-8000-000000000000';
    const bare = (await t.call('POST', '/companies', { name: 'No connections' })).json().id;
    expect(expectErrorShape(await t.call('POST', `/companies/${bare}/data/queue/invoices`), 404).error).toBe(
      `No accounting connection was found for company ${bare}`,
    );
    expect((await t.call('GET', `/companies/${bare}/dataStatus`)).json()).toEqual({});
    expectErrorShape(await queue('notAType'), 400);
    expectErrorShape(await queue('invoices', '?connectionId=nope'), 400);
    expect(expectErrorShape(await queue('invoices', `?connectionId=${missing}`), 404).error).toBe(`Data connection ${missing} not found`);
    expectErrorShape(await t.call('POST', `/companies/${missing}/data/queue/invoices`), 404);
    // not linked yet: the dataset ends AuthError at once
    const pending = (await queue('invoices')).json();
    expect(pending.status).toBe('AuthError');
    expect(pending.errorMessage).toContain('PendingAuth');
    expect(pending.completed).toBeDefined();
    const all = expectErrorShape(await t.call('POST', `/companies/${companyId}/data/all`), 400);
    expect(all.error).toBe(`No linked connection for company ${companyId}; link a connection before refreshing`);
    expectErrorShape(await t.call('POST', `/companies/${missing}/data/all`), 404);
    expectErrorShape(await t.call('GET', `/companies/${missing}/dataStatus`), 404);
    expectErrorShape(await t.call('GET', `/companies/${companyId}/data/history/${missing}`), 404);
    expectErrorShape(await t.call('GET', `/companies/${companyId}/data/history?orderBy=isCompleted`), 400);
    expect(expectErrorShape(await t.call('GET', `/companies/${companyId}/data/history?orderBy=isCompleted`), 400).error).toBe(
      'Error parsing query - Could not resolve property isCompleted on Dataset',
    );
  });

  it('maps connector failures to statuses; a revoked token deauthorizes the connection', async () => {
    await link();
    for (const o of await history()) await terminal(o.id);
    const cases: [Error, string][] = [
      [new FetchFailedError('truncated body'), 'FetchError'],
      [new MappingError('bad invoice'), 'MapError'],
      [new PermissionDeniedError('scope missing', 403), 'PermissionsError'],
      [new RateLimitedError('daily limit', new Date('2026-03-02T00:00:00.000Z')), 'RateLimitError'],
      [new TypeError('bug in connector'), 'InternalError'],
    ];
    for (const [error, status] of cases) {
      engine.connector.behaviour.failAt = { page: 0, error };
      const o = await terminal((await queue('invoices')).json().id);
      expect(o.status).toBe(status);
      expect(o.isErrored).toBe(true);
      expect(o.errorMessage).toBe(error.message);
      if (status === 'RateLimitError') expect(o.statusDescription).toBe('Paused until 2026-03-02T00:00:00.000Z');
    }
    engine.connector.behaviour.failAt = { page: 0, error: new AuthRevokedError('invalid_grant', 400) };
    const o = await terminal((await queue('invoices')).json().id);
    expect(o.status).toBe('AuthError');
    const conn = (await t.call('GET', `/companies/${companyId}/connections/${connectionId}`)).json();
    expect(conn.status).toBe('Deauthorized');
    expect(conn.dataConnectionErrors[0]).toMatchObject({ statusCode: '400', errorMessage: 'invalid_grant', status: 'Active' });
    // re-link resolves the error and queues the first-link read again
    engine.connector.behaviour.failAt = undefined;
    await link();
    const relinked = (await t.call('GET', `/companies/${companyId}/connections/${connectionId}`)).json();
    expect(relinked.status).toBe('Linked');
    expect(relinked.dataConnectionErrors[0].status).toBe('Resolved');
  });

  it('the database going away under a pull hands it back instead of failing it; a later attempt completes', async () => {
    await link();
    for (const o of await history()) await terminal(o.id);
    const pulls = () => engine.connector.pulls.filter((p) => p.dataType === 'invoices').length;
    const before = pulls();
    // What pg throws when the server shuts down under a query.
    engine.connector.behaviour.failAt = { page: 0, error: Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }) };
    const id = (await queue('invoices')).json().id;
    const back = await waitFor(async () => {
      const o = await op(id);
      return o.status === 'Queued' && o.statusDescription === 'Retrying: the database was unavailable' && o;
    });
    expect(back.isErrored).toBe(false);
    expect(pulls()).toBe(before + 1);
    // Not claimed again before its retry time (no hot loop against a database that is away).
    await new Promise((r) => setTimeout(r, 200));
    expect(pulls()).toBe(before + 1);
    engine.connector.behaviour.failAt = undefined;
    t.clock.advance(6_000);
    const o = await terminal(id);
    expect(o.status).toBe('Complete');
    expect(o.errorMessage).toBeUndefined();
  });

  it('a failed pull leaves the cache exactly as it was; a complete one applies adds, edits and deletes together', async () => {
    engine.connector.seed('invoices', 200);
    await link();
    for (const o of await history()) await terminal(o.id);
    const snapshot = async () =>
      (await t.store.db.selectFrom('records').select(['record_id', 'content_hash', 'modified_date', 'is_deleted']).where('connection_id', '=', connectionId).where('data_type', '=', 'invoices').orderBy('record_id').execute()).map(
        (r) => JSON.stringify(r),
      );
    const before = await snapshot();
    expect(before.length).toBe(200);
    engine.connector.upsert('invoices', 'r000001', { name: 'edited', amount: 999 });
    engine.connector.softDelete('invoices', 'r000002');
    engine.connector.upsert('invoices', 'new1', { name: 'new', amount: 1 });
    engine.connector.behaviour.failAt = { page: 2, error: new FetchFailedError('boom') };
    engine.connector.behaviour.pageSize = 1;
    const failed = await terminal((await queue('invoices')).json().id);
    expect(failed.status).toBe('FetchError');
    expect(failed.recordsAdded).toBe(0);
    expect(await snapshot()).toEqual(before);
    const staged = await t.store.db.selectFrom('record_staging').select('record_id').execute();
    expect(staged).toEqual([]);
    engine.connector.behaviour.failAt = undefined;
    t.clock.advance(60_000);
    const ok = await terminal((await queue('invoices')).json().id);
    expect(ok).toMatchObject({ status: 'Complete', recordsAdded: 1, recordsUpdated: 1, recordsDeleted: 1 });
    const after = await t.store.db.selectFrom('records').selectAll().where('connection_id', '=', connectionId).where('data_type', '=', 'invoices').where('record_id', 'in', ['r000001', 'r000002', 'r000003']).orderBy('record_id').execute();
    expect(after.map((r) => r.is_deleted)).toEqual([0, 1, 0]);
    expect(after[0]!.modified_date).toBe(t.clock.now().toISOString());
    expect(after[1]!.modified_date).toBe(t.clock.now().toISOString());
    expect(after[2]!.modified_date < t.clock.now().toISOString()).toBe(true);
  });

  it('runs one dataset per connection at a time by default', async () => {
    engine.connector.behaviour.hang = true;
    await link();
    await waitFor(async () => (await history()).some((o) => o.status === 'Fetching'));
    await new Promise((r) => setTimeout(r, 200));
    const running = (await history()).filter((o) => o.status !== 'Queued');
    expect(running.length).toBe(1);
    expect(running[0].dataType).toBe('company');
  });

  it('a connection with a long queue does not hold up the others: one pull per connection, all at once', async () => {
    engine.connector.behaviour.hang = true;
    // Four more companies linked after this one: five first-link reads of 17 datasets each, queued in that order.
    await link();
    const others: string[] = [];
    for (let i = 0; i < 4; i++) {
      const co = (await t.call('POST', '/companies', { name: `Queue Co ${i}` })).json().id;
      const cn = (await t.call('POST', `/companies/${co}/connections`, { platformKey: 'mqjo' })).json().id;
      others.push(co);
      t.clock.advance(1000); // each read a second after the previous one, as in real life
      expect((await t.app.inject({ method: 'GET', url: `/link/companies/${co}/connections/${cn}/start` })).statusCode).toBe(302);
    }
    // The pool runs 4 at once (the default); with the first connection's 16 queued datasets filling every claim's
    // candidates, only one pull ran at a time.
    const running = async () =>
      Number((await t.store.db.selectFrom('datasets').select((eb) => eb.fn.countAll<number>().as('n')).where('status', '=', 'Fetching').executeTakeFirstOrThrow()).n);
    await waitFor(async () => (await running()) === 4, 10_000, '4 pulls running at once');
    const byConnection = await t.store.db.selectFrom('datasets').select('connection_id').where('status', '=', 'Fetching').execute();
    expect(new Set(byConnection.map((r) => r.connection_id)).size).toBe(4);
    for (const co of others) await t.call('DELETE', `/companies/${co}`);
  });

  it('a dataset whose lease expires is requeued by the sweeper and resumed; after the attempt limit it fails', async () => {
    await engine.stop();
    engine = startEngine(t, { concurrency: 1 });
    engine.connector.behaviour.hang = true;
    await link();
    const first = await waitFor(async () => (await history()).find((o) => o.status === 'Fetching'));
    // the worker "dies": its heartbeat never runs and the lease runs out
    const repo = new DatasetsRepository(t.store.db, t.store.dialect);
    for (let attempt = 1; attempt <= 3; attempt++) {
      await waitFor(async () => (await repo.get(first.id))?.status === 'Fetching' && (await repo.get(first.id))!.attempts === attempt, 10_000, `attempt ${attempt}`);
      t.clock.advance(61_000);
      await engine.sweeper.runOnce();
      // the stale run notices at its next heartbeat that the dataset is no longer its own, and lets go
      await engine.pool.heartbeat();
    }
    const failed = await op(first.id);
    expect(failed.status).toBe('InternalError');
    expect(failed.errorMessage).toMatch(/stopped responding/);
  });

  // PostgreSQL: a merge holds its dataset's row lock until it commits, so that dataset's lease renewal waits for it
  // (a 149 s merge in the history bench). The other datasets' renewals must not wait behind it, and the next ticks must
  // not queue more renewals of it on pooled connections.
  it.runIf(dialect === 'postgres')('a lease renewal waiting on a locked dataset holds back neither the others nor queues another', async () => {
    engine.connector.behaviour.hang = true;
    await link();
    const co = (await t.call('POST', '/companies', { name: 'Renewal Co' })).json().id;
    const cn = (await t.call('POST', `/companies/${co}/connections`, { platformKey: 'mqjo' })).json().id;
    expect((await t.app.inject({ method: 'GET', url: `/link/companies/${co}/connections/${cn}/start` })).statusCode).toBe(302);
    const fetching = () => t.store.db.selectFrom('datasets').select(['id', 'connection_id', 'lease_expires']).where('status', '=', 'Fetching').orderBy('id').execute();
    const both = await waitFor(async () => {
      const rows = await fetching();
      return new Set(rows.map((r) => r.connection_id)).size === 2 && rows;
    }, 10_000, 'one pull running per connection');
    // Whichever comes first in the pool's own order is the one locked: renewed one after another, the other waited.
    const waitingRenewals = async () =>
      Number(
        (
          await sql<{ n: string }>`select count(*)::text as n from pg_stat_activity
            where wait_event_type = 'Lock' and query like 'update "datasets" set "lease_expires"%' and datname = current_database()`.execute(t.store.db)
        ).rows[0]?.n ?? 0,
      );
    for (const locked of [both[0]!, both[both.length - 1]!]) {
      const other = both.find((r) => r.connection_id !== locked.connection_id)!;
      let release!: () => void;
      const released = new Promise<void>((r) => (release = r));
      let lockTaken!: () => void;
      const taken = new Promise<void>((r) => (lockTaken = r));
      const holder = t.store.db.transaction().execute(async (trx) => {
        await sql`select id from datasets where id = ${locked.id} for update`.execute(trx);
        lockTaken();
        await released;
      });
      await taken;
      let first: Promise<void> | undefined;
      try {
        const before = (await t.store.db.selectFrom('datasets').select('lease_expires').where('id', '=', other.id).executeTakeFirstOrThrow()).lease_expires;
        t.clock.advance(1_000);
        first = engine.pool.heartbeat();
        const second = engine.pool.heartbeat();
        await waitFor(
          async () => (await t.store.db.selectFrom('datasets').select('lease_expires').where('id', '=', other.id).executeTakeFirstOrThrow()).lease_expires !== before,
          10_000,
          'the other dataset renewed while the locked one waits',
        );
        await waitFor(async () => (await waitingRenewals()) === 1, 10_000, "the locked dataset's renewal waiting");
        await second; // the second tick skipped the renewal still waiting, and did not queue one
        expect(await waitingRenewals()).toBe(1);
      } finally {
        release(); // never leave the row locked, whatever failed
        await holder;
      }
      await first;
      const renewed = await t.store.db.selectFrom('datasets').select('lease_expires').where('id', '=', locked.id).executeTakeFirstOrThrow();
      expect(renewed.lease_expires! > locked.lease_expires!).toBe(true);
    }
    await t.call('DELETE', `/companies/${co}`);
  });

  it('a stopping worker hands its datasets back without counting an attempt', async () => {
    engine.connector.behaviour.hang = true;
    await link();
    const running = await waitFor(async () => (await history()).find((o) => o.status === 'Fetching'));
    await engine.stop();
    const row = await new DatasetsRepository(t.store.db, t.store.dialect).get(running.id);
    expect(row!.status).toBe('Queued');
    expect(row!.attempts).toBe(0);
    engine = startEngine(t);
    await terminal(running.id);
    expect((await op(running.id)).status).toBe('Complete');
  });

  it('unlinking cancels in-progress datasets', async () => {
    engine.connector.behaviour.hang = true;
    await link();
    await waitFor(async () => (await history()).some((o) => o.status === 'Fetching'));
    await t.call('PATCH', `/companies/${companyId}/connections/${connectionId}`, { status: 'Unlinked' });
    const ops = await history();
    expect(ops.every((o) => o.status === 'Cancelled' && o.errorMessage && o.completed && o.progress === 100)).toBe(true);
  });

  it('incremental pulls use the last cursor; a periodic full listing reconciles hard deletes', async () => {
    engine.connector.seed('customers', 10);
    await link();
    for (const o of await history()) await terminal(o.id);
    engine.connector.pulls.length = 0;
    engine.connector.hardDelete('customers', 'r000003');
    const inc = await terminal((await queue('customers')).json().id);
    expect(engine.connector.pulls[0]).toMatchObject({ full: false });
    expect(engine.connector.pulls[0]!.cursor).toBeDefined();
    expect(inc.recordsDeleted).toBe(0); // an incremental feed cannot see a hard delete
    for (let i = 0; i < 6; i++) await terminal((await queue('customers')).json().id);
    const full = engine.connector.pulls.filter((p) => p.full);
    expect(full.length).toBeGreaterThanOrEqual(1);
    const row = await t.store.db.selectFrom('records').select('is_deleted').where('connection_id', '=', connectionId).where('record_id', '=', 'r000003').where('data_type', '=', 'customers').executeTakeFirstOrThrow();
    expect(row.is_deleted).toBe(1);
  });
});

/**
 * Issue 12 item 5: staged rows never outlive their pull. The lease sweeper clears the staging of datasets it fails,
 * company and connection deletion remove everything of theirs, and the housekeeping daemon removes orphaned staging.
 * Item 8 (first half): deleting a company or connection ends its pulls in progress Cancelled, with their events.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../test/support/stores.js';
import { createTestApp, type TestApp } from '../../test/support/app.js';
import { startEngine, type Engine } from '../../test/support/engine.js';
import { allowPrivateTargets, clearConsumers, subscribe } from '../../test/support/webhooks.js';
import { ACCOUNTING_READ_TYPES } from '../domain/data-types.js';
import { RecordsRepository } from '../store/records.repository.js';
import { housekeepingTick, DEFAULT_HOUSEKEEPING_OPTIONS } from './housekeeping.js';
import { emitEvents } from '../store/webhook-outbox.js';
import { newId } from '../lib/ids.js';

describe.each(DIALECTS)('staged rows and deletions [%s]', (dialect) => {
  let t: TestApp;
  let engine: Engine;
  let records: RecordsRepository;

  beforeAll(async () => {
    t = await createTestApp(dialect);
    allowPrivateTargets(t);
    records = new RecordsRepository(t.store.db, t.store.dialect);
  });
  afterAll(async () => {
    await t.close();
  });
  beforeEach(async () => {
    await clearConsumers(t);
    engine = startEngine(t);
  });
  afterEach(async () => {
    await engine.stop();
  });

  /** A company with a linked connection whose first read is in progress: every dataset Queued (none running). */
  const linkedWithPullsInProgress = async (name: string) => {
    const company = (await t.call('POST', '/companies', { name })).json();
    const conn = (await t.call('POST', `/companies/${company.id}/connections`, { platformKey: 'mqjo' })).json();
    engine.connector.behaviour.hang = true;
    engine.connector.seed('invoices', 30);
    const res = await t.call('PUT', `/companies/${company.id}/connections/${conn.id}/authorization`);
    expect(res.statusCode).toBe(200);
    await engine.stop(); // hands the running pull back: the whole read is Queued
    engine.connector.behaviour.hang = false;
    const ids = (await t.store.db.selectFrom('datasets').select(['id', 'data_type']).where('connection_id', '=', conn.id).execute()).map((d) => d.id);
    expect(ids).toHaveLength(ACCOUNTING_READ_TYPES.length);
    return { company, conn, ids };
  };
  /** Pages a worker staged before it died. */
  const stageFor = async (datasetId: string, n = 20) =>
    records.stage(
      datasetId,
      Array.from({ length: n }, (_, i) => ({ id: `inv-${i}`, data: { id: `inv-${i}`, amount: i }, sourceModifiedDate: '2026-01-01T00:00:00Z', deleted: false })),
    );
  const staged = async (ids?: string[]) => {
    let q = t.store.db.selectFrom('record_staging').select((eb) => eb.fn.countAll<number>().as('n'));
    if (ids) q = q.where('dataset_id', 'in', ids.length ? ids : ['']);
    return Number((await q.executeTakeFirstOrThrow()).n);
  };
  const dying = (ids: string[], attempts: number) =>
    t.store.db
      .updateTable('datasets')
      .set({ status: 'Fetching', lease_owner: 'dead-host:1:0', lease_expires: new Date(t.clock.now().getTime() - 1000).toISOString(), attempts })
      .where('id', 'in', ids)
      .execute();

  it('the lease sweeper clears the staging of the datasets it fails, and keeps that of the ones it requeues', async () => {
    const { ids } = await linkedWithPullsInProgress('Swept');
    const [failing, requeued] = [ids.slice(0, 3), ids.slice(3, 4)];
    await dying(failing, 3);
    await dying(requeued, 1);
    for (const id of [...failing, ...requeued]) await stageFor(id);
    expect(await staged(failing)).toBe(60);
    await engine.sweeper.runOnce();
    const statuses = await t.store.db.selectFrom('datasets').select(['id', 'status']).where('id', 'in', [...failing, ...requeued]).execute();
    expect(statuses.filter((d) => failing.includes(d.id)).every((d) => d.status === 'InternalError')).toBe(true);
    expect(statuses.find((d) => d.id === requeued[0])?.status).toBe('Queued');
    expect(await staged(failing)).toBe(0);
    expect(await staged(requeued)).toBe(20); // its next worker starts by clearing it
    await t.store.db.deleteFrom('record_staging').execute();
  });

  it('deleting a company ends its pulls Cancelled with their events, then removes its staging, records, datasets and slots', async () => {
    await subscribe(t, 'http://127.0.0.1:9/hooks', ['read.completed', 'company.deleted', 'connection.deleted']);
    const { company, conn, ids } = await linkedWithPullsInProgress('Deleted with pulls running');
    await dying(ids.slice(0, 2), 1); // two of them "running" on a dead worker, the rest Queued
    for (const id of ids.slice(0, 3)) await stageFor(id);
    // Something already cached: a completed pull's records must go too.
    await t.store.db
      .insertInto('records')
      .values({ connection_id: conn.id, data_type: 'invoices', record_id: 'cached-1', data: dialect === 'postgres' ? '{"id":"cached-1"}' : '{"id":"cached-1"}', content_hash: 'h', modified_date: t.clock.now().toISOString(), source_modified_date: null, is_deleted: 0 })
      .execute();
    const other = await linkedWithPullsInProgress('Bystander');
    await stageFor(other.ids[0]!);

    const res = await t.call('DELETE', `/companies/${company.id}`);
    expect(res.statusCode).toBe(204);
    expect(await staged(ids)).toBe(0);
    expect(await staged(other.ids)).toBe(20); // another company's pull is untouched
    for (const table of ['datasets', 'records', 'schedule_slots', 'dataset_reads'] as const) {
      const n = await t.store.db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).where('connection_id', '=', conn.id).executeTakeFirstOrThrow();
      expect(Number(n.n), table).toBe(0);
    }
    // The outbox kept what the deletion caused, in order: the read ended Cancelled, then the deletions.
    const events = await t.store.db.selectFrom('webhook_events').select(['event_type', 'data']).where('company_id', '=', company.id).orderBy('seq').execute();
    expect(events.map((e) => e.event_type)).toEqual(['read.completed', 'connection.deleted', 'company.deleted']);
    const read = JSON.parse(events[0]!.data) as { dataTypes: { status: string }[] };
    expect(read.dataTypes).toHaveLength(ACCOUNTING_READ_TYPES.length);
    expect(read.dataTypes.every((d) => d.status === 'Cancelled')).toBe(true);
    const deliveries = await t.store.db.selectFrom('webhook_deliveries').select('status').execute();
    expect(deliveries.length).toBeGreaterThanOrEqual(3);
    await t.store.db.deleteFrom('record_staging').execute();
  });

  it('deleting a connection does the same for that connection only', async () => {
    await subscribe(t, 'http://127.0.0.1:9/hooks', ['read.completed', 'DataSyncStatusChangedToError', 'connection.deleted']);
    const { company, conn, ids } = await linkedWithPullsInProgress('Connection deleted');
    await dying(ids.slice(0, 1), 1);
    await stageFor(ids[0]!);
    const res = await t.call('DELETE', `/companies/${company.id}/connections/${conn.id}`);
    expect(res.statusCode).toBe(200);
    expect(await staged(ids)).toBe(0);
    expect(await t.store.db.selectFrom('datasets').select('id').where('connection_id', '=', conn.id).execute()).toHaveLength(0);
    const events = await t.store.db.selectFrom('webhook_events').select(['event_type', 'data']).where('connection_id', '=', conn.id).orderBy('seq').execute();
    expect(events.map((e) => e.event_type)).toEqual(['read.completed', 'connection.deleted']);
    expect((JSON.parse(events[0]!.data) as { dataTypes: { status: string }[] }).dataTypes.every((d) => d.status === 'Cancelled')).toBe(true);
    expect((await t.call('GET', `/companies/${company.id}`)).statusCode).toBe(200);
  });

  it('unlinking clears the staging of the pulls it cancels', async () => {
    const { company, conn, ids } = await linkedWithPullsInProgress('Unlinked');
    await dying(ids.slice(0, 1), 1);
    await stageFor(ids[0]!);
    expect((await t.call('PATCH', `/companies/${company.id}/connections/${conn.id}`, { status: 'Unlinked' })).statusCode).toBe(200);
    expect(await staged(ids)).toBe(0);
  });

  it('the housekeeping daemon removes staging whose dataset is terminal or gone, in bounded batches, and keeps running pulls’ rows', async () => {
    await t.store.db.deleteFrom('record_staging').execute();
    const { ids } = await linkedWithPullsInProgress('Orphans');
    const [running, ended] = [ids[0]!, ids[1]!];
    await dying([running], 1);
    await t.store.db.updateTable('datasets').set({ status: 'FetchError', completed: t.clock.now().toISOString() }).where('id', '=', ended).execute();
    const gone = ['00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000002', '00000000-0000-4000-8000-000000000003'];
    for (const id of [running, ended, ...gone]) await stageFor(id, 5);
    // A worker that lost its pull with a page in flight staged it after the pull ended: one batch of one dataset.
    const one = await housekeepingTick({ store: t.store, clock: t.clock, log: t.ctx.log }, { ...DEFAULT_HOUSEKEEPING_OPTIONS, stagingBatch: 1, maxBatches: 1 });
    expect(one.stagingRows).toBe(5);
    const rest = await housekeepingTick({ store: t.store, clock: t.clock, log: t.ctx.log });
    expect(rest.stagingRows).toBe(15);
    expect(await staged()).toBe(5);
    expect(await staged([running])).toBe(5);
    expect((await housekeepingTick({ store: t.store, clock: t.clock, log: t.ctx.log })).stagingRows).toBe(0);
  });

  it('webhook retention: old delivered events go with their deliveries and attempts; pending and recently failed ones stay', async () => {
    await t.store.db.deleteFrom('webhook_events').execute();
    const company = (await t.call('POST', '/companies', { name: 'Retained' })).json();
    const consumer = await subscribe(t, 'http://127.0.0.1:9/hooks', ['company.created']);
    const DAY = 86_400_000;
    const now = t.clock.now().getTime();
    const iso = (ms: number) => new Date(ms).toISOString();
    /** One company.created event generated `daysAgo` days ago, its delivery set to `state`, with two attempts. */
    const event = async (daysAgo: number, state: { status: 'pending' | 'succeeded' | 'failed'; failedDaysAgo?: number }) => {
      const at = iso(now - daysAgo * DAY);
      await emitEvents(t.store.db, [{ type: 'company.created', companyId: company.id, connectionId: null, tags: {}, data: { company } }], at);
      const e = await t.store.db.selectFrom('webhook_events').select('id').orderBy('seq', 'desc').limit(1).executeTakeFirstOrThrow();
      const d = await t.store.db.selectFrom('webhook_deliveries').select('id').where('event_id', '=', e.id).executeTakeFirstOrThrow();
      await t.store.db
        .updateTable('webhook_deliveries')
        .set({
          status: state.status,
          delivered_at: state.status === 'succeeded' ? at : null,
          failed_at: state.status === 'failed' ? iso(now - (state.failedDaysAgo ?? daysAgo) * DAY) : null,
        })
        .where('id', '=', d.id)
        .execute();
      for (const attempt of [1, 2]) {
        await t.store.db
          .insertInto('webhook_attempts')
          .values({ id: newId(), delivery_id: d.id, consumer_id: consumer.id, event_id: e.id, event_type: 'company.created', attempt, sent_at: at, status_code: 500, duration_ms: 3, success: 0, error: 'HTTP 500' })
          .execute();
      }
      return e.id;
    };
    const oldDelivered = [await event(45, { status: 'succeeded' }), await event(40, { status: 'succeeded' }), await event(31, { status: 'succeeded' })];
    const oldFailedLongAgo = await event(60, { status: 'failed', failedDaysAgo: 59 });
    const stay = {
      oldPending: await event(90, { status: 'pending' }), // still being retried (or replayed): never pruned
      oldRecentlyFailed: await event(35, { status: 'failed', failedDaysAgo: 2 }), // replayed, failed again lately
      newDelivered: await event(29, { status: 'succeeded' }),
      newPending: await event(1, { status: 'pending' }),
    };
    const count = async (table: 'webhook_events' | 'webhook_deliveries' | 'webhook_attempts') =>
      Number((await t.store.db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
    expect([await count('webhook_events'), await count('webhook_deliveries'), await count('webhook_attempts')]).toEqual([8, 8, 16]);

    const deps = { store: t.store, clock: t.clock, log: t.ctx.log };
    // Bounded: one batch of two, oldest first.
    const first = await housekeepingTick(deps, { ...DEFAULT_HOUSEKEEPING_OPTIONS, webhookBatch: 2, maxBatches: 1 });
    expect(first.webhookEvents).toBe(2);
    const left = (await t.store.db.selectFrom('webhook_events').select('id').execute()).map((r) => r.id);
    expect(left).not.toContain(oldFailedLongAgo);
    expect(left).not.toContain(oldDelivered[0]);
    const rest = await housekeepingTick(deps); // default retention: 30 days
    expect(rest.webhookEvents).toBe(2);
    const kept = (await t.store.db.selectFrom('webhook_events').select('id').execute()).map((r) => r.id).sort();
    expect(kept).toEqual(Object.values(stay).sort());
    expect([await count('webhook_deliveries'), await count('webhook_attempts')]).toEqual([4, 8]);
    // A shorter retention (SYNCLINE_WEBHOOK_RETENTION_DAYS=7) takes the 29-day-old delivered one as well, never a pending one.
    expect((await housekeepingTick(deps, { ...DEFAULT_HOUSEKEEPING_OPTIONS, webhookRetentionDays: 7 })).webhookEvents).toBe(1);
    expect((await t.store.db.selectFrom('webhook_events').select('id').execute()).map((r) => r.id).sort()).toEqual(
      [stay.oldPending, stay.oldRecentlyFailed, stay.newPending].sort(),
    );
    // The delivery log of what stays is intact.
    expect((await t.call('GET', `/webhooks/${consumer.id}/attempts?pageSize=100`)).json().totalResults).toBe(6);
  });
});

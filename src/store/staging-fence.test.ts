import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS, openTestStore, type TestStore } from '../../test/support/stores.js';
import { seedLinkedConnections } from '../../test/support/fixtures.js';
import type { Dialect } from './db.js';
import { DatasetsRepository, type ClaimedDataset } from './datasets.repository.js';
import { NotHeldError, RecordsRepository, type StagedRecord } from './records.repository.js';
import { queueRead } from './enqueue.js';
import { defaultSetting } from '../domain/sync-settings.js';

const T0 = '2026-01-01T00:00:00.000Z';
const at = (min: number) => new Date(Date.parse(T0) + min * 60_000).toISOString();
const page = (from: number, n: number): StagedRecord[] =>
  Array.from({ length: n }, (_, i) => ({ id: `inv-${from + i}`, data: { id: `inv-${from + i}`, amountDue: from + i }, sourceModifiedDate: null, deleted: false }));

/**
 * Staging is fenced by the lease: a worker whose lease ran out (the sweeper queued its pull again and another worker
 * claimed it) can neither add a page to the pull nor clear the pages its new owner staged — either would make the
 * new owner's merge wrong (a stale page merged, or a full listing missing pages and flagging their records deleted).
 */
describe.each(DIALECTS)('staging fenced by the lease [%s]', (dialect: Dialect) => {
  let store: TestStore;
  let datasets: DatasetsRepository;
  let records: RecordsRepository;
  let ds: ClaimedDataset;
  const staged = async () =>
    Number((await store.db.selectFrom('record_staging').select((eb) => eb.fn.countAll().as('n')).where('dataset_id', '=', ds.id).executeTakeFirstOrThrow()).n);

  beforeAll(async () => {
    store = await openTestStore(dialect);
    datasets = new DatasetsRepository(store.db, dialect);
    records = new RecordsRepository(store.db, dialect);
    const conn = (await seedLinkedConnections(store.db, { companyId: 'co', connectionIds: ['conn'], at: T0, connectionInfo: '{}' }))[0]!;
    await queueRead(store.db, dialect, { companyId: 'co', connection: conn, settings: [defaultSetting('invoices')], trigger: 'refresh', now: at(0), supports: () => true, integrationEnabled: true });
    ds = (await datasets.claim({ workerId: 'old', now: at(1), leaseExpires: at(2), maxPerConnection: { mqjo: 1 } }))!;
    expect(ds).toBeDefined();
  });
  afterAll(async () => {
    await store.cleanup();
  });

  it('the holder stages; once the pull is another worker’s, the old holder can neither stage nor clear', async () => {
    await records.stage(ds.id, page(0, 3), 'old');
    expect(await staged()).toBe(3);

    // The lease runs out: the sweeper queues the pull again, a new worker claims it (the re-claim clears staging).
    expect((await datasets.sweep(at(3), 5, at(-60))).requeued.map((d) => d.id)).toEqual([ds.id]);
    const again = (await datasets.claim({ workerId: 'new', now: at(3), leaseExpires: at(9), maxPerConnection: { mqjo: 1 } }))!;
    expect(again.id).toBe(ds.id);
    expect(await staged()).toBe(0);
    await records.stage(ds.id, page(100, 2), 'new');

    await expect(records.stage(ds.id, page(0, 3), 'old')).rejects.toBeInstanceOf(NotHeldError);
    await records.clearStaging(ds.id, 'old');
    const ids = await store.db.selectFrom('record_staging').select('record_id').where('dataset_id', '=', ds.id).orderBy('record_id').execute();
    expect(ids.map((r) => r.record_id)).toEqual(['inv-100', 'inv-101']);

    // The holder's own clear still works.
    await records.clearStaging(ds.id, 'new');
    expect(await staged()).toBe(0);
  });
});

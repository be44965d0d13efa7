/**
 * Issue 17: ConnectionsRepository.forRead answers in one statement what a read asked in three (the connection —
 * `get` or `current` —, its newest dataset of the type, and whether any of them completed). Checked against those
 * (the two dataset questions asked here as plain queries), case by case, on both databases. It is the store half of
 * the 409 rule (src/api/read-rule.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../lib/ids.js';
import { seedLinkedConnections } from '../../test/support/fixtures.js';
import { DIALECTS, openTestStore, type TestStore } from '../../test/support/stores.js';
import { ConnectionsRepository } from './connections.repository.js';
import { newDatasetRow } from './datasets.repository.js';

describe.each(DIALECTS)('ConnectionsRepository.forRead [%s]', (dialect) => {
  let store: TestStore;
  let connections: ConnectionsRepository;
  const at = '2026-03-01T09:00:00.000Z';
  const companyId = newId();
  const otherCompany = newId();
  const emptyCompany = newId();
  // Sorted so `current` (Linked, same linked_at and created_at: the greater id) is the second one.
  const [c1, c2] = [newId(), newId()].sort();
  const c3 = newId();

  async function dataset(connectionId: string, dataType: string, status: string) {
    await store.db
      .insertInto('datasets')
      .values(
        newDatasetRow({
          company_id: connectionId === c3 ? otherCompany : companyId,
          connection_id: connectionId,
          data_type: dataType,
          status,
          progress: status === 'Complete' ? 100 : 0,
          requested: at,
          completed: status === 'Complete' || status.endsWith('Error') || status === 'NotSupported' ? at : null,
          read_id: newId(),
          trigger: 'refresh',
          settings: '{}',
          full_listing: 1,
        }),
      )
      .execute();
  }

  /** The three statements forRead replaces. */
  async function oracle(company: string, connectionId: string | undefined, dataType: string) {
    const conn = connectionId ? await connections.get(company, connectionId) : await connections.current(company);
    if (!conn) return undefined;
    const ofType = () => store.db.selectFrom('datasets').where('connection_id', '=', conn.id).where('data_type', '=', dataType);
    const latest = await ofType().select('status').orderBy('seq', 'desc').limit(1).executeTakeFirst();
    const complete = await ofType().select('id').where('status', '=', 'Complete').limit(1).executeTakeFirst();
    const { last_completed: _ignored, ...row } = conn;
    return { conn: row, latestStatus: latest?.status, hasComplete: complete !== undefined };
  }

  beforeAll(async () => {
    store = await openTestStore(dialect);
    connections = new ConnectionsRepository(store.db);
    await seedLinkedConnections(store.db, { companyId, connectionIds: [c1!, c2!], at });
    await seedLinkedConnections(store.db, { companyId: otherCompany, connectionIds: [c3], at });
    await store.db.insertInto('companies').values({ id: emptyCompany, name: 'empty', description: null, tags: '{}', created_at: at }).execute();
    // c2 (current): invoices completed once, then a newer pull is queued; bills only failed; no contacts.
    await dataset(c2!, 'invoices', 'Complete');
    await dataset(c2!, 'invoices', 'Queued');
    await dataset(c2!, 'bills', 'FetchError');
    // c1: invoices only ever failed, then a pull is in progress; payments not supported.
    await dataset(c1!, 'invoices', 'AuthError');
    await dataset(c1!, 'invoices', 'Fetching');
    await dataset(c1!, 'payments', 'NotSupported');
    await dataset(c3, 'invoices', 'Complete');
  });
  afterAll(async () => {
    await store?.cleanup();
  });

  it('answers what get/current and the two dataset queries answered, for the current connection and a named one', async () => {
    const cases: [string, string | undefined, string][] = [];
    for (const conn of [undefined, c1!, c2!]) for (const t of ['invoices', 'bills', 'contacts', 'payments']) cases.push([companyId, conn, t]);
    for (const [company, conn, t] of cases) {
      const got = await connections.forRead(company, conn, t);
      expect(got, `${conn ?? 'current'} ${t}`).toEqual(await oracle(company, conn, t));
    }
    // Spot checks, so the oracle cannot be wrong the same way.
    expect(await connections.forRead(companyId, undefined, 'invoices')).toMatchObject({ conn: { id: c2 }, latestStatus: 'Queued', hasComplete: true });
    expect(await connections.forRead(companyId, c1, 'invoices')).toMatchObject({ conn: { id: c1 }, latestStatus: 'Fetching', hasComplete: false });
    expect(await connections.forRead(companyId, undefined, 'bills')).toMatchObject({ latestStatus: 'FetchError', hasComplete: false });
    expect(await connections.forRead(companyId, undefined, 'contacts')).toMatchObject({ latestStatus: undefined, hasComplete: false });
    expect(await connections.forRead(companyId, c1, 'payments')).toMatchObject({ latestStatus: 'NotSupported', hasComplete: false });
  });

  it('answers undefined for a connection of another company, an unknown one, and a company without connections', async () => {
    expect(await connections.forRead(companyId, c3, 'invoices')).toBeUndefined();
    expect(await connections.forRead(companyId, newId(), 'invoices')).toBeUndefined();
    expect(await connections.forRead(emptyCompany, undefined, 'invoices')).toBeUndefined();
    expect(await oracle(emptyCompany, undefined, 'invoices')).toBeUndefined();
  });
});

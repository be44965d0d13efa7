/**
 * A NUL character in a request (a path parameter, a query value, a JSON body's value or key) names nothing that can be
 * stored: PostgreSQL refuses it in text and jsonb, so a read by such an id answered 500 there (and 404 on SQLite).
 * Every route now refuses it alike, 400 in the error shape, naming the item, before any handler reads the input.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../lib/ids.js';
import { newDatasetRow } from '../store/datasets.repository.js';
import { seedLinkedConnections } from '../../test/support/fixtures.js';
import { DIALECTS } from '../../test/support/stores.js';
import { createTestApp, expectErrorShape, type TestApp } from '../../test/support/app.js';

describe.each(DIALECTS)('a NUL character in a request [%s]', (dialect) => {
  let t: TestApp;
  const at = '2026-03-01T09:00:00.000Z';
  const companyId = newId();
  const connectionId = newId();

  beforeAll(async () => {
    t = await createTestApp(dialect);
    await seedLinkedConnections(t.store.db, { companyId, connectionIds: [connectionId], at });
    // Invoices readable (a completed pull), so each read below reaches the store.
    await t.store.db
      .insertInto('datasets')
      .values(newDatasetRow({ company_id: companyId, connection_id: connectionId, data_type: 'invoices', status: 'Complete', requested: at, read_id: newId(), trigger: 'refresh', settings: '{}' }))
      .execute();
  });
  afterAll(async () => t?.close());

  const refused = async (method: 'GET' | 'POST' | 'PUT', url: string, itemId: string, body?: unknown) => {
    const res = await t.call(method, url, body);
    const err = expectErrorShape(res, 400);
    expect(err.validation.errors[0].itemId, `${method} ${url}`).toBe(itemId);
    expect(err.validation.errors[0].message).toContain('NUL');
  };

  it('answers 400 naming the item for a path parameter, a query value and a body value or key', async () => {
    const base = `/companies/${companyId}`;
    for (const path of [`${base}/data/invoices/a%00b`, `${base}/connections/${connectionId}/data/invoices/a%00b`]) {
      await refused('GET', path, 'invoiceId');
      await refused('GET', `${path}/versions`, 'recordId');
    }
    await refused('GET', `${base}/data/invoices?query=${encodeURIComponent('id=a\u0000b')}`, 'query');
    await refused('GET', `${base}/data/invoices/changes?cursor=%00`, 'cursor');
    await refused('POST', '/companies', 'name', { name: 'Acme\u0000 Ltd' });
    await refused('POST', '/companies', 'tags.re\u0000gion', { name: 'Acme Ltd', tags: { 're\u0000gion': 'uk' } });
    await refused('PUT', `${base}`, 'description', { name: 'Acme Ltd', description: 'x\u0000' });
  });

  it('answers as before without the NUL (the same requests reach their handlers)', async () => {
    const base = `/companies/${companyId}`;
    expect(expectErrorShape(await t.call('GET', `${base}/data/invoices/ab`), 404).error).toBe('No data available for invoices for ID ab');
    expect((await t.call('GET', `${base}/data/invoices?query=${encodeURIComponent('id=ab')}`)).statusCode).toBe(200);
    const created = await t.call('POST', '/companies', { name: 'Acme Ltd', tags: { region: 'uk' } });
    expect(created.statusCode).toBe(200);
    // Nothing was created by the refused requests.
    const names = await t.store.db.selectFrom('companies').select('name').where('name', 'like', 'Acme%').execute();
    expect(names.map((n) => n.name)).toEqual(['Acme Ltd']);
  });
});

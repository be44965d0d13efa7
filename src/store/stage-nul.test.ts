import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS, openTestStore, type TestStore } from '../../test/support/stores.js';
import { seedLinkedConnections } from '../../test/support/fixtures.js';
import type { Dialect } from './db.js';
import { RecordsRepository } from './records.repository.js';
import { canonicalJson, hashText } from '../lib/canonical-json.js';

/**
 * A platform record holding a NUL character (in a value, a key or its id) is stored with U+FFFD in its place on both
 * databases. PostgreSQL cannot hold NUL in text or jsonb: the page failed to stage, and so every pull of the type.
 */
describe.each(DIALECTS)('a NUL character in a platform record [%s]', (dialect: Dialect) => {
  let store: TestStore;
  let repo: RecordsRepository;
  const conn = 'c-1';
  const now = '2026-03-01T00:00:00.000Z';

  beforeAll(async () => {
    store = await openTestStore(dialect);
    repo = new RecordsRepository(store.db, dialect);
    await seedLinkedConnections(store.db, { companyId: 'co-1', connectionIds: [conn], at: now });
  });
  afterAll(async () => store?.close());

  it('stages, merges and serves the record with U+FFFD in place of each NUL, hashed as stored', async () => {
    await repo.stage('ds-1', [
      { id: 'inv-1', data: { id: 'inv-1', note: 'a\u0000b', lines: [{ description: '\u0000' }], ['ke\u0000y']: 1 }, sourceModifiedDate: null, deleted: false },
      { id: 'inv-\u00002', data: { id: 'inv-\u00002', note: 'plain \\u0000 text' }, sourceModifiedDate: null, deleted: false },
    ]);
    await store.db.transaction().execute((trx) => repo.merge(trx, { datasetId: 'ds-1', connectionId: conn, dataType: 'invoices', now, fullListing: true }));
    const rows = await store.db.selectFrom('records').select(['record_id', 'data', 'content_hash']).where('connection_id', '=', conn).orderBy('record_id').execute();
    const docs = rows.map((r) => ({ id: r.record_id, data: typeof r.data === 'string' ? JSON.parse(r.data) : r.data, hash: r.content_hash }));
    expect(docs.map((d) => d.id)).toEqual(['inv-1', 'inv-\uFFFD2']);
    expect(docs[0]!.data).toEqual({ id: 'inv-1', note: 'a\uFFFDb', lines: [{ description: '\uFFFD' }], ['ke\uFFFDy']: 1 });
    // A backslash followed by "u0000" is text, not a NUL: kept as it was.
    expect(docs[1]!.data).toEqual({ id: 'inv-\uFFFD2', note: 'plain \\u0000 text' });
    // The hash is that of the document as stored (so a later pull of the same record compares equal).
    expect(docs.map((d) => d.hash)).toEqual(docs.map((d) => hashText(canonicalJson(d.data))));
  });
});

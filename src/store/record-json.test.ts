import { describe, expect, it } from 'vitest';
import { recordDocument, recordJson, type RecordRow } from './records.repository.js';

const row = (data: unknown, deleted = 0): RecordRow => ({ record_id: 'r1', data, modified_date: '2026-01-02T03:04:05.000Z', source_modified_date: null, is_deleted: deleted });

describe('recordJson', () => {
  it('is recordDocument as JSON, from stored text (SQLite form, PostgreSQL jsonb::text form, empty) or a parsed value', () => {
    const cases: unknown[] = [
      '{"id":"r1","totalAmount":1.5,"customerRef":{"id":"c"}}',
      '{"id": "r1", "lines": [{"a": 1}], "note": "} tricky {"}  ',
      '{}',
      '{ }',
      { id: 'r1', n: 2 },
    ];
    for (const data of cases) {
      for (const deleted of [0, 1]) {
        for (const withModifiedDate of [true, false]) {
          const r = row(data, deleted);
          const parsed = typeof data === 'string' ? row(JSON.parse(data), deleted) : r;
          expect(JSON.parse(recordJson(r, { withModifiedDate }))).toEqual(recordDocument(parsed, { withModifiedDate }));
        }
      }
    }
  });
});

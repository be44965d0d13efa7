import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Collection } from './collection.js';

interface R {
  id: number;
  updatedMs: number;
  tag: string;
}

/** A naive model of the same listing, to check the O(overlay) paging arithmetic against. */
function naive(base: number, overlay: Map<number, R | null>, created: number, since: number | undefined): number[] {
  const out: number[] = [];
  for (let i = 0; i < base + created; i++) {
    const r = overlay.has(i) ? overlay.get(i) : i < base ? { id: i, updatedMs: i * 10, tag: 'base' } : undefined;
    if (!r) continue;
    if (since !== undefined && r.updatedMs < since) continue;
    out.push(i);
  }
  return out;
}

describe('Collection listing (base + overlay)', () => {
  it('pages exactly like a naive listing, for any mix of edits, hard deletes and creations', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 60 }),
        fc.array(fc.tuple(fc.constantFrom('edit', 'delete', 'create'), fc.nat(80)), { maxLength: 30 }),
        fc.option(fc.integer({ min: -10, max: 1200 }), { nil: undefined }),
        fc.integer({ min: 1, max: 7 }),
        (base, ops, since, pageSize) => {
          const col = new Collection<R>({
            baseCount: () => base,
            base: (i) => ({ id: i, updatedMs: i * 10, tag: 'base' }),
            baseUpdated: (i) => i * 10,
            lowerBound: (ms) => Math.min(base, Math.max(0, Math.ceil(ms / 10))),
          });
          const model = new Map<number, R | null>();
          let created = 0;
          let now = 1000;
          for (const [op, n] of ops) {
            now += 7;
            if (op === 'create') {
              const i = col.allocate();
              created++;
              const r = { id: i, updatedMs: now, tag: 'new' };
              col.put(i, r);
              model.set(i, r);
            } else {
              const size = base + created;
              if (size === 0) continue;
              const i = n % size;
              if (col.get(i) === undefined) continue;
              if (op === 'edit') {
                const r = { id: i, updatedMs: now, tag: 'edited' };
                col.put(i, r);
                model.set(i, r);
              } else {
                col.hardDelete(i);
                model.set(i, null);
              }
            }
          }
          const expected = naive(base, model, created, since);
          const seen: number[] = [];
          for (let page = 0; ; page++) {
            const { items, total } = col.list({ since, offset: page * pageSize, limit: pageSize });
            expect(total).toBe(expected.length);
            seen.push(...items.map((r) => r.id));
            if (items.length < pageSize) break;
          }
          expect(seen).toEqual(expected);
          const filtered = col.list({ since, offset: 1, limit: 3, filter: (r) => r.id % 2 === 0 });
          const ev = expected.filter((i) => i % 2 === 0);
          expect(filtered.total).toBe(ev.length);
          expect(filtered.items.map((r) => r.id)).toEqual(ev.slice(1, 4));
        },
      ),
      { numRuns: 400 },
    );
  });
});

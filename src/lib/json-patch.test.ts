import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { applyPatch, diff } from './json-patch.js';

describe('JSON Patch (RFC 6902)', () => {
  it('describes field-level changes with JSON Pointer paths', () => {
    const before = { id: 'a', status: 'Submitted', note: 'x', lines: [{ amount: 1 }, { amount: 2 }], 'a/b~c': 1, metadata: { isDeleted: false } };
    const after = { id: 'a', status: 'Void', lines: [{ amount: 1 }, { amount: 3 }], 'a/b~c': 2, metadata: { isDeleted: true }, paid: null };
    expect(diff(before, after)).toEqual([
      { op: 'remove', path: '/note' },
      { op: 'replace', path: '/a~1b~0c', value: 2 },
      { op: 'replace', path: '/lines/1/amount', value: 3 },
      { op: 'replace', path: '/metadata/isDeleted', value: true },
      { op: 'add', path: '/paid', value: null },
      { op: 'replace', path: '/status', value: 'Void' },
    ]);
    expect(diff({ lines: [1, 2] }, { lines: [1, 2, 3] })).toEqual([{ op: 'replace', path: '/lines', value: [1, 2, 3] }]);
    expect(diff({}, { a: 1 })).toEqual([{ op: 'add', path: '/a', value: 1 }]);
    expect(diff(before, structuredClone(before))).toEqual([]);
  });

  it('treats keys named like Object.prototype members as data (found by the property below: {"valueOf":[]} → {})', () => {
    const cases: [string, string][] = [
      ['{"valueOf":[]}', '{}'],
      ['{}', '{"toString":1}'],
      ['{"constructor":{"a":1}}', '{"constructor":{"a":2}}'],
      ['{}', '{"__proto__":{"x":1}}'],
      ['{"__proto__":1}', '{"__proto__":2,"a":{"hasOwnProperty":0}}'],
    ];
    for (const [a, b] of cases) {
      const from = JSON.parse(a) as unknown;
      const to = JSON.parse(b) as unknown;
      const patched = applyPatch(from, diff(from, to));
      expect(JSON.stringify(patched), `${a} → ${b}`).toBe(JSON.stringify(to));
      expect(Object.getPrototypeOf(patched)).toBe(Object.prototype);
    }
    expect(diff(JSON.parse('{"valueOf":[]}'), {})).toEqual([{ op: 'remove', path: '/valueOf' }]);
  });

  it('applying the diff of any two documents to the first gives the second', () => {
    const json = fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.parse(JSON.stringify(v)) as unknown);
    fc.assert(
      fc.property(json, json, (a, b) => {
        expect(applyPatch(a, diff(a, b))).toEqual(b);
      }),
      { numRuns: 500 },
    );
    // documents that share most of their structure (the realistic case: one field edited)
    const doc = fc.dictionary(fc.string({ maxLength: 4 }), json, { maxKeys: 6 });
    fc.assert(
      fc.property(doc, fc.string({ maxLength: 4 }), json, (a, k, v) => {
        const b = { ...a, [k]: v };
        expect(applyPatch(a, diff(a, b))).toEqual(b);
      }),
      { numRuns: 500 },
    );
  });

  it('applyPatch refuses paths that do not resolve', () => {
    expect(() => applyPatch({ a: 1 }, [{ op: 'replace', path: '/b', value: 1 }])).toThrow();
    expect(() => applyPatch({ a: 1 }, [{ op: 'add', path: '/x/y', value: 1 }])).toThrow();
  });
});

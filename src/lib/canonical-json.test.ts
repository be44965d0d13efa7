import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { canonicalJson, canonicalJsonPiecewise, contentHash } from './canonical-json.js';

/** The reference form: sorted keys, undefined members dropped, undefined array items as null (JSON.stringify's rules). */
function reference(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : reference(v))).join(',')}]`;
  const o = value as Record<string, unknown>;
  return `{${Object.keys(o)
    .filter((k) => o[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${reference(o[k])}`)
    .join(',')}}`;
}

describe('canonicalJson', () => {
  it('is key-order independent and equals the reference form on random documents', () => {
    expect(canonicalJson({ b: 1, a: [3, undefined, { d: null, c: 'x"' }], u: undefined })).toBe('{"a":[3,null,{"c":"x\\"","d":null}],"b":1}');
    expect(contentHash({ x: 1, y: 2 })).toBe(contentHash({ y: 2, x: 1 }));
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        expect(canonicalJson(v)).toBe(reference(v));
        expect(JSON.parse(canonicalJson(v))).toEqual(JSON.parse(JSON.stringify(v)));
      }),
      { numRuns: 500 },
    );
  });
});

describe('canonicalJson equals its piecewise definition', () => {
  it('on random values, including the cases JSON.stringify writes differently', () => {
    class Boxed {
      constructor(readonly b = 1, readonly a = 2) {}
    }
    const edge: unknown[] = [
      { '10': 1, '9': 2, a: 3, '01': 4, '-1': 5 },
      { b: { __proto__: null, z: 1, y: 2 } },
      JSON.parse('{"__proto__": {"x": 1}, "a": 1}'),
      { b: () => 1, a: Symbol('s'), c: [() => 1, Symbol('t'), undefined] },
      { d: new Date(0), e: { toJSON: () => undefined }, f: { toJSON: () => ({ z: 1, a: [{ y: 1, x: 2 }] }) } },
      { n: new Number(3), s: new String('ab'), k: new Boxed() },
      [1, , 3],
      { a: { b: { c: 1 } }, b: [{ y: 1, x: { q: 1, p: 2 } }] },
      Object.assign(Object.create(null) as object, { b: 1, a: 2 }),
      'x',
      undefined,
      () => 1,
      { toJSON: () => undefined },
    ];
    for (const v of edge) expect(canonicalJson(v)).toBe(canonicalJsonPiecewise(v));
    fc.assert(
      fc.property(fc.anything({ withBoxedValues: true, withDate: true, withNullPrototype: true, withSparseArray: true, withObjectString: true }), (v) => {
        let expected: string | undefined;
        try {
          expected = canonicalJsonPiecewise(v);
        } catch {
          return; // what the definition cannot write (a BigInt) is not compared
        }
        expect(canonicalJson(v)).toBe(expected);
      }),
      { numRuns: 1000 },
    );
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        expect(canonicalJson(v)).toBe(canonicalJsonPiecewise(v));
      }),
      { numRuns: 500 },
    );
  });
});

/**
 * RFC 6902 JSON Patch between two JSON documents (record versions), and applying one. Written here rather than taken
 * from a package: it is small, and a runtime dependency in the app's import graph must be installed everywhere the
 * app runs. Objects are compared key by key (removals first, then additions and replacements, keys in sorted order);
 * arrays of equal length element by element; an array whose length changed is replaced whole (valid, and short for
 * the line-item arrays of accounting documents). Paths are JSON Pointers (RFC 6901).
 */
export type JsonPatchOp = { op: 'add'; path: string; value: unknown } | { op: 'remove'; path: string } | { op: 'replace'; path: string; value: unknown };

const escape = (key: string) => key.replace(/~/g, '~0').replace(/\//g, '~1');
const unescape = (token: string) => token.replace(/~1/g, '/').replace(/~0/g, '~');
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const hasOwn = (o: Record<string, unknown>, k: string) => Object.prototype.hasOwnProperty.call(o, k);
/** A member of a JSON object: own properties only (a document's `valueOf` or `__proto__` key is data, not Object.prototype's). */
const own = (o: Record<string, unknown>, k: string): unknown => (hasOwn(o, k) ? o[k] : undefined);
/** Sets a member as an own data property (plain assignment of `__proto__` would change the object's prototype). */
const setOwn = (o: Record<string, unknown>, k: string, v: unknown) => {
  Object.defineProperty(o, k, { value: v, writable: true, enumerable: true, configurable: true });
};

export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => jsonEqual(x, b[i]));
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a).filter((k) => a[k] !== undefined);
    const kb = Object.keys(b).filter((k) => b[k] !== undefined);
    return ka.length === kb.length && ka.every((k) => hasOwn(b, k) && jsonEqual(a[k], b[k]));
  }
  return false;
}

/** The operations that turn `from` into `to`. */
export function diff(from: unknown, to: unknown, path = ''): JsonPatchOp[] {
  if (jsonEqual(from, to)) return [];
  if (isObject(from) && isObject(to)) {
    const ops: JsonPatchOp[] = [];
    const keys = [...new Set([...Object.keys(from), ...Object.keys(to)])].sort();
    for (const k of keys) if (own(from, k) !== undefined && own(to, k) === undefined) ops.push({ op: 'remove', path: `${path}/${escape(k)}` });
    for (const k of keys) {
      const was = own(from, k);
      const now = own(to, k);
      if (now === undefined) continue;
      if (was === undefined) ops.push({ op: 'add', path: `${path}/${escape(k)}`, value: now });
      else ops.push(...diff(was, now, `${path}/${escape(k)}`));
    }
    return ops;
  }
  if (Array.isArray(from) && Array.isArray(to) && from.length === to.length) {
    return from.flatMap((x, i) => diff(x, to[i], `${path}/${i}`));
  }
  return [{ op: 'replace', path, value: to }];
}

/** Applies add / remove / replace operations to a copy of `doc` (throws on a path that does not resolve). */
export function applyPatch<T>(doc: T, ops: readonly JsonPatchOp[]): T {
  let root: unknown = structuredClone(doc);
  for (const op of ops) {
    if (op.path === '') {
      if (op.op === 'remove') throw new Error('cannot remove the root');
      root = structuredClone(op.value);
      continue;
    }
    const tokens = op.path.split('/').slice(1).map(unescape);
    const last = tokens.pop()!;
    let parent: unknown = root;
    for (const t of tokens) {
      parent = Array.isArray(parent) ? parent[Number(t)] : isObject(parent) ? own(parent, t) : undefined;
      if (parent === undefined) throw new Error(`path ${op.path} does not resolve`);
    }
    if (Array.isArray(parent)) {
      const i = last === '-' ? parent.length : Number(last);
      if (!Number.isInteger(i) || i < 0 || i > parent.length) throw new Error(`bad array index in ${op.path}`);
      if (op.op === 'add') parent.splice(i, 0, structuredClone(op.value));
      else if (op.op === 'remove') parent.splice(i, 1);
      else parent[i] = structuredClone(op.value);
    } else if (isObject(parent)) {
      if (op.op !== 'add' && !hasOwn(parent, last)) throw new Error(`path ${op.path} does not exist`);
      if (op.op === 'remove') delete parent[last];
      else setOwn(parent, last, structuredClone(op.value));
    } else throw new Error(`path ${op.path} does not resolve`);
  }
  return root as T;
}

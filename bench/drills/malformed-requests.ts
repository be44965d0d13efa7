/**
 * Drill: thousands of malformed API requests over a real socket — bad JSON, wrong types, huge bodies, bad queries,
 * unknown paths and ids, wrong methods and content types, bad credentials, broken percent-encoding. Not one may be a
 * 5xx, and every error must be the spec's ErrorMessage (platform-api.md §3.1): statusCode, service, error,
 * correlationId (the x-correlation-id header), canBeRetried, detailedErrorCode.
 */
import { randomUUID } from 'node:crypto';
import { Rng } from '../../src/sim/rng.js';

export interface MalformedOptions {
  baseUrl: string;
  apiKey: string;
  count: number;
  concurrency: number;
  seed?: number;
}

export interface MalformedResult {
  sent: number;
  byStatus: Record<string, number>;
  serverErrors: number;
  /** Error responses not in the spec's shape (first few), and 5xx answers. */
  problems: string[];
  seconds: number;
}

interface Req {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string;
}


const JUNK = ['', ' ', '{', '}', '[', ']', '"', "'", '\\', '%', '%%', '%zz', '%00', '&&', '||', '=', '!=', '~', '>', '<=', '{{', 'null', 'true', '1e309', '-0', '💥', '\u0000', '\n', 'a'.repeat(300)];

export function malformedRequests(n: number, ids: { companyId: string; connectionId: string }, seed = 1): Req[] {
  // Seeded (the simulator's mulberry32), so a failing request can be replayed.
  const rng = new Rng(seed);
  const r = () => rng.next();
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const junk = () => Array.from({ length: 1 + Math.floor(r() * 4) }, () => pick(JUNK)).join(pick(['', 'x', '.', ' ', 'metadata.isDeleted', 'status']));
  const enc = (s: string) => (r() < 0.7 ? encodeURIComponent(s) : s.replace(/[ #?\n\u0000]/g, (c) => encodeURIComponent(c)));
  const { companyId: c, connectionId: k } = ids;
  const json = { 'content-type': 'application/json' };
  const makers: (() => Req)[] = [
    // bad JSON
    () => ({ method: 'POST', path: '/companies', headers: json, body: pick(['{"name": "x"', '{name: 1}', '[', 'nul', '{"name": "a",}', '"', '{"name":"\\q"}', '\u0000', '{"a":' + '['.repeat(2000)]) }),
    () => ({ method: pick(['POST', 'PUT']), path: pick([`/companies/${c}`, `/companies/${c}/syncSettings`, '/profile/syncSettings', '/webhooks', `/companies/${c}/connections`]), headers: json, body: pick(['{', '}{', '{"x": tru}', 'undefined']) }),
    // wrong types and unknown keys
    () => ({ method: 'POST', path: '/companies', headers: json, body: JSON.stringify({ name: pick([123, null, [], {}, true, 1.5, '', ' '.repeat(5)]) }) }),
    () => ({ method: 'POST', path: '/companies', headers: json, body: JSON.stringify({ name: 'ok', [pick(['bogus', 'id', 'Name', '__proto__'])]: 1 }) }),
    () => ({ method: 'PUT', path: `/companies/${c}`, headers: json, body: JSON.stringify({ name: pick([[], 7, null]), description: pick([5, {}, []]) }) }),
    () => ({ method: 'POST', path: `/companies/${c}/connections`, headers: json, body: JSON.stringify({ platformKey: pick([5, null, [], 'no-such-platform', '']) }) }),
    () => ({ method: 'POST', path: '/profile/syncSettings', headers: json, body: JSON.stringify(pick([{ settings: 'x' }, { settings: [{ dataType: 5 }] }, { settings: [{ dataType: 'invoices', syncSchedule: -1 }] }, [], { settings: [{ dataType: 'invoices', monthsToSync: 3 }] }])) }),
    () => ({ method: 'POST', path: `/companies/${c}/syncSettings`, headers: json, body: JSON.stringify({ companyId: pick([c, 'x', 5]), overridesDefaults: pick([true, 'yes', 1]), settings: pick([[], 'x', [{}]]) }) }),
    () => ({ method: 'POST', path: '/webhooks', headers: json, body: JSON.stringify({ url: pick([12, 'not a url', 'ftp://x', 'http://169.254.169.254/latest', 'http://[::1', '']), eventTypes: pick(['x', [5], [], null]) }) }),
    () => ({ method: 'POST', path: `/companies/${c}/data/queue/${pick(['invoices', 'nonsense', '%zz', 'INVOICES', ''])}?connectionId=${enc(pick(['not-a-uuid', randomUUID(), '', junk()]))}` }),
    // huge bodies
    () => ({ method: 'POST', path: pick(['/companies', '/webhooks', '/profile/syncSettings']), headers: json, body: JSON.stringify({ name: 'x'.repeat(1_100_000 + Math.floor(r() * 100_000)) }) }),
    // bad queries and paging
    () => ({ method: 'GET', path: `/companies?query=${enc(junk())}&orderBy=${enc(junk())}` }),
    () => ({ method: 'GET', path: `/companies/${c}/data/invoices?query=${enc(junk())}&page=${enc(pick(['0', '-1', 'x', '1.5', '99999999999999999999', '']))}&pageSize=${enc(pick(['0', '5001', 'abc', '-5', '']))}` }),
    () => ({ method: 'GET', path: `/companies/${c}/data/history?query=${enc(pick(['isCompleted=true', junk(), 'status=', '=', 'a'.repeat(3000)]))}` }),
    () => ({ method: 'GET', path: `/companies/${c}/connections?query=${enc(junk())}&orderBy=${enc(pick(['-', '--id', 'nope', junk()]))}` }),
    () => ({ method: 'GET', path: `/companies?tags=${enc(junk())}` }),
    // unknown paths and ids
    () => ({ method: pick(['GET', 'DELETE']), path: pick([`/companies/${randomUUID()}`, `/companies/not-a-uuid`, `/companies/${c}/connections/${randomUUID()}`, `/companies/${randomUUID()}/data/invoices`, `/webhooks/${randomUUID()}`, `/companies/${c}/data/history/${randomUUID()}`]) }),
    () => ({ method: 'GET', path: `/companies/${c}/data/${pick(['invoices', 'bills', 'nope'])}/${enc(junk() || 'x')}` }),
    () => ({ method: pick(['GET', 'POST', 'DELETE']), path: '/' + Array.from({ length: 1 + Math.floor(r() * 4) }, () => enc(junk() || 'x')).join('/') }),
    () => ({ method: 'GET', path: `/companies/${c}/connections/${k}/data/${enc(junk() || 'x')}` }),
    // wrong methods and content types
    () => ({ method: pick(['PATCH', 'PUT', 'DELETE']), path: pick(['/companies', '/profile', '/healthz', `/companies/${c}/dataStatus`, '/integrations']) }),
    () => ({ method: 'POST', path: '/companies', headers: { 'content-type': pick(['text/plain', 'application/xml', 'multipart/form-data; boundary=x', 'application/x-www-form-urlencoded', 'application/json; charset=latin-9']) }, body: 'name=x' }),
    // credentials
    () => ({ method: 'GET', path: '/companies', headers: { authorization: pick(['', 'Basic', 'Basic !!!', 'Bearer abc', `Basic ${Buffer.from('wrong-key').toString('base64')}`, 'Basic ' + 'A'.repeat(5000)]) } }),
    // broken encodings and long segments
    () => ({ method: 'GET', path: pick([`/companies/%zz`, `/companies/${c}/data/%E0%A4%A`, `/companies/${'x'.repeat(600)}`, `/companies/${c}/connections/%00`]) }),
  ];
  return Array.from({ length: n }, () => pick(makers)());
}

/** Checks an error body against the ErrorMessage of platform-api.md §3.1; returns what is wrong, or undefined. */
export function errorShapeProblem(status: number, headers: Headers, text: string): string | undefined {
  if (!String(headers.get('content-type') ?? '').startsWith('application/json')) return `content-type ${headers.get('content-type')}`;
  let b: Record<string, unknown>;
  try {
    b = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return 'body is not JSON';
  }
  const bad: string[] = [];
  if (b.statusCode !== status) bad.push('statusCode');
  if (typeof b.service !== 'string') bad.push('service');
  if (typeof b.error !== 'string' || !b.error) bad.push('error');
  if (typeof b.correlationId !== 'string' || !/^[0-9a-f]{32}$/.test(b.correlationId) || b.correlationId !== headers.get('x-correlation-id')) bad.push('correlationId');
  if (b.canBeRetried !== 'Unknown') bad.push('canBeRetried');
  if (b.detailedErrorCode !== 0) bad.push('detailedErrorCode');
  return bad.length ? `bad ${bad.join(', ')}: ${text.slice(0, 200)}` : undefined;
}

export async function malformedRequestsDrill(o: MalformedOptions): Promise<MalformedResult> {
  const started = Date.now();
  const auth = { authorization: `Basic ${Buffer.from(o.apiKey).toString('base64')}` };
  const post = async (path: string, body: unknown) => {
    const res = await fetch(o.baseUrl + path, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as { id: string };
  };
  const companyId = (await post('/companies', { name: 'Drill Co' })).id;
  const connectionId = (await post(`/companies/${companyId}/connections`, { platformKey: 'mqjo' })).id;
  const requests = malformedRequests(o.count, { companyId, connectionId }, o.seed ?? 1);
  const byStatus: Record<string, number> = {};
  const problems: string[] = [];
  let serverErrors = 0;
  let next = 0;
  await Promise.all(
    Array.from({ length: o.concurrency }, async () => {
      while (next < requests.length) {
        const q = requests[next++]!;
        const headers = { ...auth, ...(q.headers ?? {}) };
        if (headers.authorization === '') delete (headers as Record<string, string>).authorization;
        let status: number;
        let text: string;
        let resHeaders: Headers;
        try {
          const res = await fetch(o.baseUrl + q.path, { method: q.method, headers, body: q.body, redirect: 'manual' });
          status = res.status;
          resHeaders = res.headers;
          text = await res.text();
        } catch (err) {
          problems.push(`${q.method} ${q.path.slice(0, 120)}: no answer (${(err as Error).message})`);
          continue;
        }
        byStatus[status] = (byStatus[status] ?? 0) + 1;
        if (status >= 500) {
          serverErrors++;
          problems.push(`${q.method} ${q.path.slice(0, 120)} → ${status}: ${text.slice(0, 200)}`);
        } else if (status >= 400) {
          const p = errorShapeProblem(status, resHeaders, text);
          if (p) problems.push(`${q.method} ${q.path.slice(0, 120)} → ${status}: ${p}`);
        }
      }
    }),
  );
  return { sent: requests.length, byStatus, serverErrors, problems, seconds: (Date.now() - started) / 1000 };
}

/**
 * The simulator's QuickBooks Online dialect: Intuit's OAuth endpoints (consent screen, token, revoke) and the
 * Accounting API under `/v3/company/{realmId}/…` (production) and `/sandbox/v3/company/{realmId}/…` (sandbox), over
 * the same tenants (the platform-neutral ledger) as the Xero dialect. A realm is a tenant seen through QuickBooks,
 * in one environment; a token used against the other environment's host gets Fault 3100, as Intuit answers.
 *
 * Per realm: 500 calls a minute and 10 in flight (HTTP 429, Fault 3001, no Retry-After), a counter of calls made
 * without `minorversion`, injectable faults (throttle in JSON or XML, 3200, 3201, 5xx, a token response lost on the
 * way back) and the token rules of auth.ts.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { Clock } from '../../lib/clock.js';
import { hashString } from '../rng.js';
import type { Tenant } from '../tenant.js';
import type { TenantSize } from '../generate.js';
import { DEFAULT_QBO_AUTH, QBO_SCOPE, QboAuth, type QboAuthSettings, type TokenError } from './auth.js';
import { ENTITIES, entityDef, QUERYABLE, RenderCache, type EntityDef, type Row } from './entities.js';
import { FAULTS, FaultError, faultBody, type QboFault } from './faults.js';
import { likeToRegExp, parseQuery, QueryParserError, type QCondition, type QQuery, type QValue } from './query.js';
import { renderCompanyInfo, renderPreferences } from './render.js';
import { renderPaymentMethod, upsertPaymentMethod } from './render-more.js';
import { balanceSheet, profitAndLoss, reportMonths } from './reports.js';
import { parseQboTime, qboNow, UnparseableDate } from './time.js';

export type QboEnvironment = 'production' | 'sandbox';

export interface QboClient {
  id: string;
  secret: string;
}

export interface QboFaultSpec {
  kind: 'throttle' | '3200' | '3201' | '5xx' | 'slow' | 'drop-token-response';
  delayMs?: number;
  remaining: number | null;
  format?: 'json' | 'xml';
  path?: string;
  status?: number;
}

export interface QboCounters {
  calls: number;
  byEndpoint: Record<string, number>;
  byStatus: Record<string, number>;
  minorVersions: Record<string, number>;
  withoutMinorVersion: number;
  throttled: number;
  maxConcurrent: number;
  tokenRequests: number;
  codeExchanges: number;
  refreshes: number;
  refreshFailures: number;
}

const newCounters = (): QboCounters => ({
  calls: 0,
  byEndpoint: {},
  byStatus: {},
  minorVersions: {},
  withoutMinorVersion: 0,
  throttled: 0,
  maxConcurrent: 0,
  tokenRequests: 0,
  codeExchanges: 0,
  refreshes: 0,
  refreshFailures: 0,
});

export interface Realm {
  realmId: string;
  tenant: Tenant;
  environment: QboEnvironment;
  perMinute: number;
  concurrent: number;
  window: number[];
  inflight: number;
  faults: QboFaultSpec[];
  counters: QboCounters;
}

export interface QboDialectOptions {
  clock: Clock;
  createTenant(o: { seed: string; size?: number | TenantSize; name?: string; anchor?: Date | string }): Tenant;
  /** OAuth clients (`--oauth-client ID:SECRET`); when empty, any client id and secret are accepted. */
  clients?: QboClient[];
  perMinute?: number;
  concurrent?: number;
  windowMs?: number;
  auth?: Partial<QboAuthSettings>;
  /** Now on the clock the per-realm rate windows run on (default: real time, as Intuit counts). */
  rateNow?: () => number;
}

export interface CreateRealmOptions {
  seed: string;
  size?: number | TenantSize;
  name?: string;
  anchor?: Date | string;
  environment?: QboEnvironment;
}

class HttpStatus extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const MAX_RESULTS = 1000;
const DEFAULT_RESULTS = 100;
const CDC_MAX = 1000;
const CDC_WINDOW_DAYS = 30;

function realmIdFor(seed: string, env: QboEnvironment): string {
  const a = hashString(`qbo-realm:${env}:${seed}`) >>> 0;
  const b = hashString(`qbo-realm-b:${env}:${seed}`) >>> 0;
  const digits = `${a}${b}`.padEnd(15, '7').slice(0, 15);
  return env === 'sandbox' ? `4620${digits}` : `9130${digits.slice(0, 12)}`;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > 1_000_000) throw new HttpStatus(413, 'body too large');
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.destroyed || res.writableEnded) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json;charset=UTF-8', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

const escHtml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
function html(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** Values of a condition, coerced for comparison with a rendered field. */
function compareValues(field: string, a: unknown, b: QValue): number | undefined {
  if (a === undefined || a === null) return undefined;
  if (typeof a === 'object' && a !== null && 'value' in (a as object)) a = (a as { value: unknown }).value; // references compare by id
  if (/^metadata\./i.test(field)) {
    const x = parseQboTime(String(a));
    const y = typeof b === 'string' ? parseQboTime(b) : NaN;
    return Math.sign(x - y);
  }
  if (field.toLowerCase() === 'id' || (typeof a === 'string' && /^\d+$/.test(a) && /^\d+$/.test(String(b)) && /ref$/i.test(field))) return Math.sign(Number(a) - Number(b));
  if (typeof a === 'number') return Math.sign(a - Number(b));
  if (typeof a === 'boolean') return a === b ? 0 : 1;
  const s = String(a);
  const t = String(b);
  return s < t ? -1 : s > t ? 1 : 0;
}

function fieldValue(o: Record<string, unknown>, path: string): unknown {
  let v: unknown = o;
  for (const part of path.split('.')) {
    if (v === null || typeof v !== 'object') return undefined;
    const obj = v as Record<string, unknown>;
    const key = Object.keys(obj).find((k) => k.toLowerCase() === part.toLowerCase());
    v = key === undefined ? undefined : obj[key];
  }
  return v;
}

function matches(row: Row, c: QCondition): boolean {
  if (c.field.toLowerCase() === 'metadata.lastupdatedtime' && c.op !== 'IN' && c.op !== 'LIKE' && typeof c.values[0] === 'string') {
    // The rendered value is the record's time in whole seconds: compare without rendering the record.
    const cmp = Math.sign(Math.floor(row.updatedMs / 1000) * 1000 - parseQboTime(c.values[0]));
    return c.op === '=' ? cmp === 0 : c.op === '!=' ? cmp !== 0 : c.op === '<' ? cmp < 0 : c.op === '>' ? cmp > 0 : c.op === '<=' ? cmp <= 0 : cmp >= 0;
  }
  const o = row.render() as Record<string, unknown>;
  const v = fieldValue(o, c.field);
  switch (c.op) {
    case 'IN':
      return c.values.some((x) => compareValues(c.field, v, x) === 0);
    case 'LIKE':
      return typeof v === 'string' && likeToRegExp(String(c.values[0])).test(v);
    default: {
      const cmp = compareValues(c.field, v, c.values[0]!);
      if (cmp === undefined) return false;
      return c.op === '=' ? cmp === 0 : c.op === '!=' ? cmp !== 0 : c.op === '<' ? cmp < 0 : c.op === '>' ? cmp > 0 : c.op === '<=' ? cmp <= 0 : cmp >= 0;
    }
  }
}

/** The earliest LastUpdatedTime a query's conditions allow (a hint for the collections' modified-since index). */
function sinceHint(q: QQuery): number | undefined {
  let since: number | undefined;
  for (const c of q.where) {
    if (c.field.toLowerCase() !== 'metadata.lastupdatedtime' || typeof c.values[0] !== 'string') continue;
    const t = parseQboTime(c.values[0]);
    const sec = Math.floor(t / 1000) * 1000;
    const bound = c.op === '>' ? sec + 1000 : c.op === '>=' ? Math.ceil(t / 1000) * 1000 : c.op === '=' ? sec : undefined;
    if (bound !== undefined) since = Math.max(since ?? -Infinity, bound);
  }
  return since;
}

export function runQuery(t: Tenant, q: QQuery): { entity: EntityDef; rows: Row[]; total: number } {
  const def = entityDef(q.entity);
  if (!def) throw new FaultError(FAULTS.queryValidation(`QueryValidationError: Invalid entity name '${q.entity}'`));
  for (const f of [...q.where.map((c) => c.field), ...q.orderBy.map((o) => o.field)]) {
    if (!QUERYABLE.has(f.toLowerCase())) throw new FaultError(FAULTS.queryValidation(`QueryValidationError: property '${f}' is not queryable`));
  }
  for (const c of q.where) {
    if (/^metadata\./i.test(c.field)) for (const v of c.values) if (typeof v === 'string') parseQboTime(v);
  }
  const ctx = new RenderCache(t);
  let rows = def.rows(t, ctx, sinceHint(q)).filter((r) => r.state === 'live');
  // Name lists answer active rows only, unless the query says something about Active.
  if (def.nameList && !q.where.some((c) => c.field.toLowerCase() === 'active')) rows = rows.filter((r) => (r.render() as { Active?: boolean }).Active !== false);
  for (const c of q.where) rows = rows.filter((r) => matches(r, c));
  const order = q.orderBy.length ? q.orderBy : [{ field: 'Id', desc: false }];
  rows.sort((a, b) => {
    for (const o of order) {
      let cmp: number;
      if (o.field.toLowerCase() === 'metadata.lastupdatedtime') cmp = Math.floor(a.updatedMs / 1000) - Math.floor(b.updatedMs / 1000);
      else if (o.field.toLowerCase() === 'id') cmp = a.id - b.id;
      else {
        const va = fieldValue(a.render() as Record<string, unknown>, o.field);
        const vb = fieldValue(b.render() as Record<string, unknown>, o.field);
        cmp = compareValues(o.field, va, vb as QValue) ?? 0;
      }
      if (cmp !== 0) return o.desc ? -cmp : cmp;
    }
    return a.id - b.id;
  });
  return { entity: def, rows, total: rows.length };
}

export interface QboDialect {
  /** Whether a (lower-cased) path belongs to this dialect. */
  owns(pathLower: string): boolean;
  handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void>;
  /** `/admin/qbo/…`; `segs` are the path segments after `qbo`. */
  admin(req: IncomingMessage, res: ServerResponse, url: URL, segs: string[], body: Record<string, unknown>): Promise<void>;
  createRealm(o: CreateRealmOptions): Realm;
  realm(realmId: string): Realm | undefined;
  realms(): Realm[];
  /** Tokens for a realm as if its user had consented (tests, benchmarks). */
  grant(realmId: string, clientId?: string): ReturnType<QboAuth['grant']>;
  addClient(c: QboClient): void;
  readonly auth: QboAuth;
}

export function createQboDialect(opts: QboDialectOptions): QboDialect {
  const realms = new Map<string, Realm>();
  const clients = new Map<string, string>((opts.clients ?? []).map((c) => [c.id, c.secret]));
  const windowMs = opts.windowMs ?? 60_000;
  const rateNow = opts.rateNow ?? Date.now;
  const auth = new QboAuth({ ...DEFAULT_QBO_AUTH, ...(opts.auth ?? {}) }, (realmId) => realms.get(realmId)?.tenant.nowMs() ?? opts.clock.now().getTime());

  function createRealm(o: CreateRealmOptions): Realm {
    const environment = o.environment ?? 'production';
    const tenant = opts.createTenant({ seed: o.seed, ...(o.size !== undefined ? { size: o.size } : {}), ...(o.name ? { name: o.name } : {}), ...(o.anchor ? { anchor: o.anchor } : {}) });
    const realmId = realmIdFor(o.seed, environment);
    let r = realms.get(realmId);
    if (!r) {
      r = { realmId, tenant, environment, perMinute: opts.perMinute ?? 500, concurrent: opts.concurrent ?? 10, window: [], inflight: 0, faults: [], counters: newCounters() };
      realms.set(realmId, r);
    }
    return r;
  }

  function realmInfo(r: Realm) {
    return { realmId: r.realmId, tenantId: r.tenant.id, environment: r.environment, companyName: r.tenant.displayName, now: r.tenant.now().toISOString(), rateLimit: { perMinute: r.perMinute, concurrent: r.concurrent }, faults: r.faults };
  }

  /** Basic client authentication on the token endpoints. */
  function clientOf(req: IncomingMessage): string | undefined {
    const m = /^Basic\s+(.+)$/i.exec(req.headers.authorization ?? '');
    if (!m) return undefined;
    const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
    const i = decoded.indexOf(':');
    if (i < 0) return undefined;
    const id = decodeURIComponent(decoded.slice(0, i));
    const secret = decodeURIComponent(decoded.slice(i + 1));
    if (clients.size === 0) return id || undefined;
    return clients.get(id) === secret ? id : undefined;
  }

  function takeFault(r: Realm, path: string, kinds: QboFaultSpec['kind'][]): QboFaultSpec | undefined {
    const f = r.faults.find((x) => kinds.includes(x.kind) && (x.remaining === null || x.remaining > 0) && (!x.path || path.toLowerCase().includes(x.path.toLowerCase())));
    if (!f) return undefined;
    if (f.remaining !== null) f.remaining--;
    r.faults = r.faults.filter((x) => x.remaining === null || x.remaining > 0);
    return f;
  }

  // ----- OAuth ----------------------------------------------------------------------------------------------------

  function consentPage(url: URL, res: ServerResponse): void {
    const p = url.searchParams;
    const clientId = p.get('client_id') ?? '';
    const redirectUri = p.get('redirect_uri') ?? '';
    const state = p.get('state') ?? '';
    if (!clientId || (clients.size > 0 && !clients.has(clientId))) return html(res, 400, `<h1>invalid_client</h1><p>Unknown client_id ${escHtml(clientId)}.</p>`);
    let redirect: URL;
    try {
      redirect = new URL(redirectUri);
    } catch {
      return html(res, 400, '<h1>invalid_request</h1><p>redirect_uri is missing or not a URL.</p>');
    }
    const bounce = (params: Record<string, string>) => {
      for (const [k, v] of Object.entries(params)) redirect.searchParams.set(k, v);
      res.writeHead(302, { location: redirect.toString() }).end();
    };
    if (p.get('response_type') !== 'code') return bounce({ error: 'unsupported_response_type', state });
    if (!(p.get('scope') ?? '').split(/[\s+]+/).includes(QBO_SCOPE)) return bounce({ error: 'invalid_scope', state });
    const hidden = (k: string, v: string) => `<input type="hidden" name="${k}" value="${escHtml(v)}">`;
    const options = [...realms.values()]
      .map((r, i) => `<label><input type="radio" name="realmId" value="${r.realmId}"${i === 0 ? ' checked' : ''}> ${escHtml(r.tenant.displayName)} (${r.environment}, ${r.realmId})</label><br>`)
      .join('\n');
    html(
      res,
      200,
      `<!doctype html><html><head><title>Connect to QuickBooks</title></head><body>
<h1>Connect ${escHtml(clientId)} to QuickBooks</h1>
<form method="post" action="/connect/oauth2">
${hidden('client_id', clientId)}${hidden('redirect_uri', redirectUri)}${hidden('state', state)}${hidden('scope', p.get('scope') ?? '')}
${options || '<p>No companies.</p>'}
<button type="submit" name="decision" value="allow">Connect</button>
<button type="submit" name="decision" value="deny">Cancel</button>
</form></body></html>`,
    );
  }

  async function consentDecision(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const form = new URLSearchParams(await readBody(req));
    const clientId = form.get('client_id') ?? '';
    if (!clientId || (clients.size > 0 && !clients.has(clientId))) return html(res, 400, '<h1>invalid_client</h1>');
    let redirect: URL;
    try {
      redirect = new URL(form.get('redirect_uri') ?? '');
    } catch {
      return html(res, 400, '<h1>invalid_request</h1><p>redirect_uri is missing or not a URL.</p>');
    }
    const state = form.get('state') ?? '';
    if (form.get('decision') !== 'allow') {
      redirect.searchParams.set('error', 'access_denied');
      redirect.searchParams.set('state', state);
      return void res.writeHead(302, { location: redirect.toString() }).end();
    }
    const realm = realms.get(form.get('realmId') ?? '');
    if (!realm) return html(res, 400, '<h1>Pick a company</h1>');
    const code = auth.issueCode(clientId, form.get('redirect_uri')!, realm.realmId);
    redirect.searchParams.set('code', code);
    redirect.searchParams.set('state', state);
    redirect.searchParams.set('realmId', realm.realmId);
    res.writeHead(302, { location: redirect.toString() }).end();
  }

  async function tokenEndpoint(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const text = await readBody(req);
    const form = (req.headers['content-type'] ?? '').includes('json') ? new URLSearchParams(Object.entries(JSON.parse(text || '{}') as Record<string, string>)) : new URLSearchParams(text);
    const clientId = clientOf(req);
    if (!clientId) return send(res, 401, { error: 'invalid_client' });
    const grantType = form.get('grant_type');
    let out: ReturnType<QboAuth['rotate']> | ReturnType<QboAuth['exchangeCode']>;
    let realm: Realm | undefined;
    if (grantType === 'authorization_code') {
      out = auth.exchangeCode(clientId, form.get('code') ?? '', form.get('redirect_uri') ?? undefined);
      realm = 'realmId' in out ? realms.get(out.realmId) : undefined;
      if (realm) realm.counters.codeExchanges++;
    } else if (grantType === 'refresh_token') {
      const rt = form.get('refresh_token') ?? '';
      realm = [...realms.values()].find((r) => auth.realmOfRefresh(rt) === r.realmId);
      out = auth.rotate(clientId, rt);
      if (realm) {
        realm.counters.tokenRequests++;
        if ('error' in out) realm.counters.refreshFailures++;
        else realm.counters.refreshes++;
      }
    } else return send(res, 400, { error: 'unsupported_grant_type' });
    if ('error' in out) return send(res, 400, out satisfies TokenError);
    if (realm && grantType === 'refresh_token' && takeFault(realm, '/oauth2/v1/tokens/bearer', ['drop-token-response'])) {
      // The token was rotated, but the answer never reaches the client.
      res.destroy();
      return;
    }
    const { realmId: _r, ...body } = out as typeof out & { realmId?: string };
    send(res, 200, body, { intuit_tid: randomUUID() });
  }

  async function revokeEndpoint(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const text = await readBody(req);
    if (!clientOf(req)) return send(res, 401, { error: 'invalid_client' });
    let tokenValue: string | null = null;
    try {
      tokenValue = (req.headers['content-type'] ?? '').includes('json') ? String((JSON.parse(text) as { token?: string }).token ?? '') : new URLSearchParams(text).get('token');
    } catch {
      return send(res, 400, { error: 'invalid_request' });
    }
    if (!tokenValue) return send(res, 400, { error: 'invalid_request' });
    auth.revoke(tokenValue);
    res.writeHead(200, { 'content-length': '0' }).end();
  }

  // ----- API ------------------------------------------------------------------------------------------------------

  function fail(res: ServerResponse, req: IncomingMessage, realm: Realm | undefined, f: QboFault, forceXml = false): void {
    const xml = forceXml || !/json/i.test(String(req.headers.accept ?? ''));
    const body = faultBody(f, qboNow(realm?.tenant.nowMs() ?? opts.clock.now().getTime()), xml);
    if (realm) realm.counters.byStatus[f.status] = (realm.counters.byStatus[f.status] ?? 0) + 1;
    if (res.destroyed || res.writableEnded) return;
    res.writeHead(f.status, { 'content-type': body.contentType, 'content-length': Buffer.byteLength(body.text), intuit_tid: randomUUID() });
    res.end(body.text);
  }

  async function api(req: IncomingMessage, res: ServerResponse, url: URL, env: QboEnvironment, rest: string): Promise<void> {
    const segs = rest.split('/').filter(Boolean); // company, realmId, resource, id…
    const realm = realms.get(segs[1] ?? '');
    const bearer = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1];
    const check = bearer ? auth.check(bearer) : ({ ok: false, reason: 'unknown' } as const);
    if (realm) {
      realm.counters.calls++;
      const mv = url.searchParams.get('minorversion');
      realm.counters.minorVersions[mv ?? 'none'] = (realm.counters.minorVersions[mv ?? 'none'] ?? 0) + 1;
      if (!mv) realm.counters.withoutMinorVersion++;
      const ep = `${req.method} /${(segs[2] ?? '').toLowerCase()}${segs[2]?.toLowerCase() === 'reports' ? `/${segs[3] ?? ''}` : ''}`;
      realm.counters.byEndpoint[ep] = (realm.counters.byEndpoint[ep] ?? 0) + 1;
    }
    if (!check.ok) return fail(res, req, realm, FAULTS.authentication(check.reason === 'expired' ? 'Token expired' : check.reason === 'revoked' ? 'Token revoked' : 'Token invalid'));
    if (!realm || check.realmId !== realm.realmId) return fail(res, req, realm, FAULTS.application('The token does not grant access to this company'));
    if (realm.environment !== env) return fail(res, req, realm, FAULTS.application(`Company ${realm.realmId} is a ${realm.environment} company; this is the ${env} host`));
    const nowReal = rateNow();
    realm.window = realm.window.filter((x) => x > nowReal - windowMs);
    const injected = takeFault(realm, rest, ['throttle', '3200', '3201', '5xx']);
    if (realm.window.length >= realm.perMinute || realm.inflight >= realm.concurrent || injected?.kind === 'throttle') {
      realm.counters.throttled++;
      return fail(res, req, realm, FAULTS.throttle(), injected?.format === 'xml');
    }
    if (injected?.kind === '3200') return fail(res, req, realm, FAULTS.authentication('Token revoked'), injected.format === 'xml');
    if (injected?.kind === '3201') return fail(res, req, realm, FAULTS.authorization('The user no longer has access to this company'), injected.format === 'xml');
    if (injected?.kind === '5xx') return fail(res, req, realm, FAULTS.server(injected.status ?? 503), injected.format === 'xml');
    realm.window.push(nowReal);
    realm.inflight++;
    realm.counters.maxConcurrent = Math.max(realm.counters.maxConcurrent, realm.inflight);
    let released = false;
    const release = () => {
      if (!released) (released = true), realm.inflight--;
    };
    res.once('close', release);
    res.once('finish', release);
    try {
      const slow = takeFault(realm, rest, ['slow']);
      if (slow) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, slow.delayMs ?? 2000);
          res.once('close', () => (clearTimeout(timer), resolve()));
        });
      }
      const body = await route(req, url, realm, segs.slice(2));
      realm.counters.byStatus[200] = (realm.counters.byStatus[200] ?? 0) + 1;
      send(res, 200, body, { intuit_tid: randomUUID() });
    } catch (err) {
      release();
      if (err instanceof FaultError) return fail(res, req, realm, err.fault);
      if (err instanceof QueryParserError) return fail(res, req, realm, FAULTS.parser(err.message));
      if (err instanceof UnparseableDate) return fail(res, req, realm, FAULTS.parser(`QueryParserError: ${err.message}`));
      throw err;
    }
  }

  async function route(req: IncomingMessage, url: URL, realm: Realm, segs: string[]): Promise<unknown> {
    const t = realm.tenant;
    const time = qboNow(t.nowMs());
    const resource = (segs[0] ?? '').toLowerCase();
    switch (resource) {
      case 'query': {
        let q = url.searchParams.get('query');
        if (req.method === 'POST') q = await readBody(req);
        const parsed = parseQuery(q ?? '');
        if (parsed.entity.toLowerCase() === 'companyinfo') return { QueryResponse: { CompanyInfo: [renderCompanyInfo(t, realm.realmId)], startPosition: 1, maxResults: 1 }, time };
        if (parsed.entity.toLowerCase() === 'preferences') return { QueryResponse: { Preferences: [renderPreferences(t)], startPosition: 1, maxResults: 1 }, time };
        const { entity, rows, total } = runQuery(t, parsed);
        if (parsed.count) return { QueryResponse: { totalCount: total }, time };
        const max = Math.min(MAX_RESULTS, parsed.maxResults ?? DEFAULT_RESULTS);
        const page = rows.slice(parsed.startPosition - 1, parsed.startPosition - 1 + max);
        // No rows: QuickBooks leaves the entity key out altogether.
        return { QueryResponse: page.length ? { [entity.name]: page.map((r) => r.render()), startPosition: parsed.startPosition, maxResults: page.length } : {}, time };
      }
      case 'cdc': {
        const names = (url.searchParams.get('entities') ?? '').split(',').map((s) => s.trim()).filter(Boolean);
        const since = url.searchParams.get('changedSince');
        if (!names.length || !since) throw new FaultError(FAULTS.validation('Required param missing, need to supply the required value for the API', `Required parameter ${!names.length ? 'entities' : 'changedSince'} is missing in the request`, '2010'));
        const sinceMs = parseQboTime(since);
        if (sinceMs < t.nowMs() - CDC_WINDOW_DAYS * 86_400_000) {
          throw new FaultError(FAULTS.validation('Invalid Request', `Operation cdc with changedSince date ${since} which is older than fixed days is not supported.`, '4000'));
        }
        const responses = names.map((n) => {
          const def = entityDef(n);
          if (!def || !def.cdc) throw new FaultError(FAULTS.validation('Invalid Request', `Operation cdc is not supported for entity ${n}`, '4000'));
          const ctx = new RenderCache(t);
          const changed = def.rows(t, ctx, sinceMs).filter((r) => r.updatedMs >= sinceMs);
          const live = changed.filter((r) => r.state === 'live').sort((a, b) => a.updatedMs - b.updatedMs || a.id - b.id);
          const dead = changed.filter((r) => r.state === 'deleted').sort((a, b) => a.updatedMs - b.updatedMs || a.id - b.id);
          const all = [...live, ...dead].slice(0, CDC_MAX);
          return all.length ? { [def.name]: all.map((r) => r.render()), startPosition: 1, maxResults: all.length, totalCount: all.length } : {};
        });
        return { CDCResponse: [{ QueryResponse: responses }], time };
      }
      case 'companyinfo':
        return { CompanyInfo: renderCompanyInfo(t, realm.realmId), time };
      case 'preferences':
        return { Preferences: renderPreferences(t), time };
      case 'reports': {
        const name = (segs[1] ?? '').toLowerCase();
        const by = url.searchParams.get('summarize_column_by') ?? 'Total';
        if (!['total', 'month'].includes(by.toLowerCase())) throw new FaultError(FAULTS.validation('Invalid Request', `the simulator summarizes columns by Total or Month, not ${by}`, '2020'));
        const method = url.searchParams.get('accounting_method') ?? 'Accrual';
        if (method !== 'Accrual') throw new FaultError(FAULTS.validation('Invalid Request', 'the simulator keeps accrual books: accounting_method=Accrual', '2020'));
        let months;
        try {
          months = reportMonths(t, url.searchParams.get('start_date'), url.searchParams.get('end_date'));
        } catch (err) {
          throw new FaultError(FAULTS.validation('Invalid Request', (err as Error).message, '2020'));
        }
        const r = { ...months, byMonth: by.toLowerCase() === 'month' };
        if (name === 'profitandloss') return profitAndLoss(t, r);
        if (name === 'balancesheet') return balanceSheet(t, r);
        throw new FaultError(FAULTS.validation('Invalid Request', `Unsupported report ${segs[1]}`, '2020'));
      }
      default: {
        const def = entityDef(resource);
        const id = segs[1];
        if (!def || !id || req.method !== 'GET') throw new FaultError(FAULTS.validation('Unsupported Operation', `Operation ${req.method} ${segs.join('/')} is not supported`, '500'));
        const row = def.rows(t, new RenderCache(t)).find((r) => String(r.id) === id && r.state === 'live');
        if (!row) throw new FaultError(FAULTS.notFound());
        return { [def.name]: row.render(), time };
      }
    }
  }

  // ----- admin ----------------------------------------------------------------------------------------------------

  async function admin(req: IncomingMessage, res: ServerResponse, url: URL, segs: string[], body: Record<string, unknown>): Promise<void> {
    const method = req.method ?? 'GET';
    const num = (v: unknown, name: string, dflt?: number) => {
      if (v === undefined || v === null) {
        if (dflt === undefined) throw new HttpStatus(400, `${name} is required`);
        return dflt;
      }
      if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new HttpStatus(400, `${name} must be a non-negative number`);
      return v;
    };
    if (segs[0] === 'clients' && method === 'POST') {
      if (typeof body.clientId !== 'string' || typeof body.clientSecret !== 'string') throw new HttpStatus(400, 'clientId and clientSecret (strings) are required');
      clients.set(body.clientId, body.clientSecret);
      return send(res, 201, { clientId: body.clientId });
    }
    if (segs[0] !== 'realms') throw new HttpStatus(404, `no admin route ${method} ${url.pathname}`);
    if (segs.length === 1) {
      if (method === 'GET') return send(res, 200, [...realms.values()].map(realmInfo));
      if (method === 'POST') {
        if (typeof body.seed !== 'string' || !body.seed) throw new HttpStatus(400, 'seed (string) is required');
        const env = body.environment ?? 'production';
        if (env !== 'production' && env !== 'sandbox') throw new HttpStatus(400, 'environment must be production or sandbox');
        const before = realms.size;
        const r = createRealm({
          seed: body.seed,
          environment: env,
          ...(body.size !== undefined ? { size: body.size as number | TenantSize } : {}),
          ...(typeof body.name === 'string' ? { name: body.name } : {}),
          ...(typeof body.anchor === 'string' ? { anchor: body.anchor } : {}),
        });
        return send(res, realms.size > before ? 201 : 200, realmInfo(r));
      }
    }
    const r = realms.get(segs[1] ?? '');
    if (!r) throw new HttpStatus(404, `no realm ${segs[1]}`);
    if (segs[2] === 'payment-methods' && (method === 'POST' || method === 'PATCH')) {
      // QuickBooks-only name list (render-more.ts): add one, or rename / (in)activate one.
      if (body.name !== undefined && (typeof body.name !== 'string' || !body.name)) throw new HttpStatus(400, 'name must be a non-empty string');
      if (body.active !== undefined && typeof body.active !== 'boolean') throw new HttpStatus(400, 'active must be a boolean');
      if (body.type !== undefined && body.type !== 'CREDIT_CARD' && body.type !== 'NON_CREDIT_CARD') throw new HttpStatus(400, 'type must be CREDIT_CARD or NON_CREDIT_CARD');
      const id = method === 'PATCH' ? Number(segs[3]) : undefined;
      if (method === 'PATCH' && !Number.isInteger(id)) throw new HttpStatus(404, `no payment method ${segs[3] ?? ''}`);
      try {
        const row = upsertPaymentMethod(r.tenant, id, body as { name?: string; type?: 'CREDIT_CARD' | 'NON_CREDIT_CARD'; active?: boolean });
        return send(res, method === 'POST' ? 201 : 200, renderPaymentMethod(row));
      } catch (err) {
        throw new HttpStatus((err as { status?: number }).status ?? 400, (err as Error).message);
      }
    }
    switch (`${method} ${segs[2] ?? ''}`) {
      case 'GET ':
        return send(res, 200, realmInfo(r));
      case 'GET counters':
        return send(res, 200, r.counters);
      case 'POST counters':
        r.counters = newCounters();
        return send(res, 200, r.counters);
      case 'PUT rate-limit':
        r.perMinute = Math.floor(num(body.perMinute, 'perMinute', r.perMinute));
        r.concurrent = Math.floor(num(body.concurrent, 'concurrent', r.concurrent));
        return send(res, 200, { perMinute: r.perMinute, concurrent: r.concurrent });
      case 'GET faults':
        return send(res, 200, r.faults);
      case 'DELETE faults':
        r.faults = [];
        return send(res, 200, r.faults);
      case 'POST faults': {
        const kind = body.kind as QboFaultSpec['kind'];
        if (!['throttle', '3200', '3201', '5xx', 'slow', 'drop-token-response'].includes(kind)) throw new HttpStatus(400, 'kind must be one of throttle, 3200, 3201, 5xx, slow, drop-token-response');
        const f: QboFaultSpec = { kind, remaining: body.count === null ? null : Math.floor(num(body.count, 'count', 1)) };
        if (body.format === 'xml' || body.format === 'json') f.format = body.format;
        if (typeof body.path === 'string') f.path = body.path;
        if (body.status !== undefined) f.status = Math.floor(num(body.status, 'status'));
        if (body.delayMs !== undefined) f.delayMs = num(body.delayMs, 'delayMs');
        r.faults.push(f);
        return send(res, 201, r.faults);
      }
      case 'POST grant':
        return send(res, 200, { ...grant(r.realmId, typeof body.clientId === 'string' ? body.clientId : undefined), realmId: r.realmId });
      case 'POST revoke':
        return send(res, 200, { revokedGrants: auth.revokeRealm(r.realmId) });
      case 'POST expire-access-tokens':
        return send(res, 200, { expired: auth.expireAccess(r.realmId) });
    }
    throw new HttpStatus(404, `no admin route ${method} ${url.pathname}`);
  }

  function grant(realmId: string, clientId?: string) {
    if (!realms.has(realmId)) throw new HttpStatus(404, `no realm ${realmId}`);
    return auth.grant(clientId ?? [...clients.keys()][0] ?? 'sim-client', realmId);
  }

  return {
    auth,
    owns: (p) => p.startsWith('/v3/company/') || p.startsWith('/sandbox/v3/company/') || p === '/connect/oauth2' || p.startsWith('/oauth2/v1/tokens/') || p === '/v2/oauth2/tokens/revoke',
    async handle(req, res, url) {
      const p = url.pathname;
      const lower = p.toLowerCase();
      try {
        if (lower === '/connect/oauth2') return req.method === 'POST' ? await consentDecision(req, res) : consentPage(url, res);
        if (lower === '/oauth2/v1/tokens/bearer' && req.method === 'POST') return await tokenEndpoint(req, res);
        if ((lower === '/oauth2/v1/tokens/revoke' || lower === '/v2/oauth2/tokens/revoke') && req.method === 'POST') return await revokeEndpoint(req, res);
        if (lower.startsWith('/sandbox/v3/')) return await api(req, res, url, 'sandbox', p.slice('/sandbox/v3/'.length));
        if (lower.startsWith('/v3/')) return await api(req, res, url, 'production', p.slice('/v3/'.length));
        return send(res, 404, { error: 'not found' });
      } catch (err) {
        if (err instanceof HttpStatus) return send(res, err.status, { error: err.message });
        throw err;
      }
    },
    async admin(req, res, url, segs, body) {
      try {
        return await admin(req, res, url, segs, body);
      } catch (err) {
        if (err instanceof HttpStatus) return send(res, err.status, { Title: 'Error', Status: err.status, Detail: err.message });
        throw err;
      }
    },
    createRealm,
    realm: (id) => realms.get(id),
    realms: () => [...realms.values()],
    grant,
    addClient: (c) => void clients.set(c.id, c.secret),
  };
}

export { ENTITIES };

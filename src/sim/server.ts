import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { randomUUID } from 'node:crypto';
import { systemClock, type Clock } from '../lib/clock.js';
import { TokenStore, type TokenSet } from './auth.js';
import type { TenantSize } from './generate.js';
import { balanceSheetReport, cashFlowReport, monthIndexOf, profitAndLossReport, type ReportContext } from './ledger.js';
import { COLLECTIONS, type CollectionName, type Doc, type Pay, type RecordTypes } from './model.js';
import { msDate, renderAccount, renderContact, renderDoc, renderItem, renderManualJournal, renderOrganisation, renderPayment, renderTaxRate, renderTrackingCategory } from './render.js';
import { SimError, Tenant, newCounters, type Fault, type FaultKind, type RateLimit } from './tenant.js';
import { createQboDialect, type QboDialect, type QboDialectOptions } from './qbo/dialect.js';

export interface SimulatorOptions {
  host?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  /** Business time (token lifetimes, generated history, UpdatedDateUTC of changes). Each tenant may run ahead of it. */
  clock?: Clock;
  accessTokenSeconds?: number;
  /** Days a refresh token stays valid unused (default 60, as Xero's). */
  refreshTokenIdleDays?: number;
  /** Seconds a rotated-out refresh token remains usable (default 1800, as Xero's). */
  refreshGraceSeconds?: number;
  /** Default limits of new tenants. The minute window runs on real time, because clients really wait. */
  rateLimit?: Partial<RateLimit> & { windowSeconds?: number };
  maxPageSize?: number;
  defaultPageSize?: number;
  /** Size of tenants created by the sandbox authorize endpoint when the request names none (default 200 invoices). */
  defaultTenantSize?: number | TenantSize;
  /** When set, /admin calls need `Authorization: Bearer <adminToken>`. */
  adminToken?: string;
  /** The QuickBooks Online dialect (src/sim/qbo/): OAuth clients, per-realm limits, token lifetimes. */
  qbo?: Omit<QboDialectOptions, 'clock' | 'createTenant'>;
}

export interface CreateTenantOptions {
  seed: string;
  size?: number | TenantSize;
  name?: string;
  /** The day history ends (default: the simulator clock's today). Same seed + size + anchor → same data. */
  anchor?: Date | string;
}

export interface Simulator {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
  createTenant(opts: CreateTenantOptions): Tenant;
  tenant(id: string): Tenant | undefined;
  /** Issues a new grant (access + refresh token) for a tenant, as the end of an OAuth authorization would. */
  grant(tenantId: string): TokenSet;
  tokens: TokenStore;
  /** The QuickBooks Online dialect over the same tenants. */
  qbo: QboDialect;
}

const API_PREFIX = '/api.xro/2.0';
const PROVIDER = 'Syncline Sandbox';

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

interface Reply {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.destroyed || res.writableEnded) return; // the client went away (timeouts, aborts, shutdown)
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > 1_000_000) throw new HttpError(413, 'body too large');
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function parseJson(text: string): Record<string, unknown> {
  if (!text.trim()) return {};
  try {
    const v = JSON.parse(text) as unknown;
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    /* fall through */
  }
  throw new HttpError(400, 'body must be a JSON object');
}

function parseForm(req: IncomingMessage, text: string): Record<string, string> {
  if ((req.headers['content-type'] ?? '').includes('application/json')) {
    return Object.fromEntries(Object.entries(parseJson(text)).map(([k, v]) => [k, String(v)]));
  }
  return Object.fromEntries(new URLSearchParams(text));
}

/** `If-Modified-Since`: RFC 3339 with an offset or Z (Xero), or an HTTP date. A bare local time is rejected. */
export function parseIfModifiedSince(v: string): number {
  const s = v.trim();
  const iso = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/i.test(s);
  const http = /GMT$/i.test(s);
  const ms = Date.parse(s);
  if ((!iso && !http) || Number.isNaN(ms)) throw new HttpError(400, `If-Modified-Since must be RFC 3339 with an offset or an HTTP date, got "${s}"`);
  return ms;
}

interface Clause {
  field: string;
  value: string | boolean;
}
/** A small subset of Xero's `where`: `Field=="value"` / `Field==true` clauses joined by && or AND. */
export function parseWhere(where: string | null): Clause[] {
  if (!where) return [];
  return where.split(/\s*&&\s*|\s+AND\s+/i).map((part) => {
    const m = /^\s*([A-Za-z.]+)\s*==\s*(?:"([^"]*)"|(true|false))\s*$/.exec(part);
    if (!m) throw new HttpError(400, `unsupported where clause: ${part}`);
    return { field: m[1]!.toLowerCase(), value: m[2] ?? m[3] === 'true' };
  });
}

function takeClause(clauses: Clause[], field: string): Clause | undefined {
  const i = clauses.findIndex((c) => c.field === field.toLowerCase());
  return i < 0 ? undefined : clauses.splice(i, 1)[0];
}

const parseIntParam = (v: string | null, name: string, dflt: number): number => {
  if (v === null || v === '') return dflt;
  if (!/^\d+$/.test(v)) throw new HttpError(400, `${name} must be a positive integer`);
  return Number(v);
};

export async function startSimulator(opts: SimulatorOptions = {}): Promise<Simulator> {
  const clock = opts.clock ?? systemClock;
  const tenants = new Map<string, Tenant>();
  const tokens = new TokenStore(
    {
      accessTokenSeconds: opts.accessTokenSeconds ?? 1800,
      refreshTokenIdleDays: opts.refreshTokenIdleDays ?? 60,
      refreshGraceSeconds: opts.refreshGraceSeconds ?? 1800,
    },
    (tid) => tenants.get(tid)?.nowMs() ?? clock.now().getTime(),
  );
  const defaultLimits: RateLimit = {
    perMinute: opts.rateLimit?.perMinute ?? 60,
    concurrent: opts.rateLimit?.concurrent ?? 5,
    ...(opts.rateLimit?.perDay !== undefined ? { perDay: opts.rateLimit.perDay } : {}),
  };
  const windowMs = (opts.rateLimit?.windowSeconds ?? 60) * 1000;
  const maxPageSize = opts.maxPageSize ?? 1000;
  const defaultPageSize = opts.defaultPageSize ?? 100;
  const hanging = new Set<ServerResponse>();
  const sockets = new Set<Socket>();

  function createTenant(o: CreateTenantOptions): Tenant {
    const t = new Tenant(o.seed, o.size ?? opts.defaultTenantSize ?? 200, o.name, clock, defaultLimits, o.anchor ? new Date(o.anchor) : undefined);
    const existing = tenants.get(t.id);
    if (existing) return existing;
    tenants.set(t.id, t);
    return t;
  }

  const qbo = createQboDialect({ ...(opts.qbo ?? {}), clock, createTenant });

  function grant(tenantId: string): TokenSet {
    const t = tenants.get(tenantId);
    if (!t) throw new SimError(404, `no tenant ${tenantId}`);
    t.counters.tokensIssued++;
    return tokens.grant(tenantId);
  }

  function tenantInfo(t: Tenant) {
    return {
      tenantId: t.id,
      tenantName: t.displayName,
      seed: t.seed,
      size: t.gen.counts,
      anchor: new Date(t.gen.anchorMs).toISOString(),
      historyStart: new Date(t.gen.startMs).toISOString(),
      now: t.now().toISOString(),
      clockOffsetSeconds: t.offsetMs / 1000,
      records: Object.fromEntries(COLLECTIONS.map((c) => [c, t.collections[c].size])),
      overlay: Object.fromEntries(COLLECTIONS.map((c) => [c, t.collections[c].overlaySize])),
      rateLimit: t.limits,
      faults: t.faults,
    };
  }

  // ----- accounting API ------------------------------------------------------------------------------------------

  function envelope(t: Tenant, key: string, items: unknown[], pagination?: { page: number; pageSize: number; total: number }) {
    return {
      Id: randomUUID(),
      Status: 'OK',
      ProviderName: PROVIDER,
      DateTimeUTC: msDate(t.nowMs()),
      ...(pagination
        ? { pagination: { page: pagination.page, pageSize: pagination.pageSize, pageCount: Math.ceil(pagination.total / pagination.pageSize), itemCount: pagination.total } }
        : {}),
      [key]: items,
    };
  }

  interface Source<K extends CollectionName> {
    name: K;
    filter?: (r: RecordTypes[K]) => boolean;
  }

  /** One page over one or more collections listed one after the other. */
  function listPaged<K extends CollectionName>(t: Tenant, sources: Source<K>[], since: number | undefined, offset: number, limit: number) {
    const items: RecordTypes[K][] = [];
    let total = 0;
    let skip = offset;
    for (const s of sources) {
      const col = t.collections[s.name] as unknown as { list(o: object): { items: RecordTypes[K][]; total: number } };
      const want = limit - items.length;
      const page = col.list({ since, filter: s.filter, offset: skip, limit: Math.max(0, want) });
      items.push(...page.items.slice(0, want));
      total += page.total;
      skip = Math.max(0, skip - page.total);
    }
    return { items, total };
  }

  function statusFilter<T extends { status: string }>(clauses: Clause[]): ((r: T) => boolean) | undefined {
    const c = takeClause(clauses, 'Status');
    if (!c) return undefined;
    return (r) => r.status === c.value;
  }

  function handleApi(t: Tenant, path: string, url: URL, req: IncomingMessage): Reply {
    const segs = path.split('/').filter(Boolean);
    const resource = (segs[0] ?? '').toLowerCase();
    const id = segs[1];
    const ims = req.headers['if-modified-since'];
    const since = typeof ims === 'string' && ims ? parseIfModifiedSince(ims) : undefined;
    const clauses = parseWhere(url.searchParams.get('where'));
    const page = Math.max(1, parseIntParam(url.searchParams.get('page'), 'page', 1));
    const pageSize = Math.min(maxPageSize, Math.max(1, parseIntParam(url.searchParams.get('pageSize'), 'pageSize', defaultPageSize)));
    const includeArchived = url.searchParams.get('includeArchived') === 'true';
    const ok = (body: unknown): Reply => ({ status: 200, body });
    const one = <K extends CollectionName>(names: K[], key: string, render: (r: RecordTypes[K]) => unknown): Reply => {
      for (const n of names) {
        const i = t.indexOf(n, id!);
        const r = i === undefined ? undefined : t.collections[n].get(i);
        if (r) return ok(envelope(t, key, [render(r as RecordTypes[K])]));
      }
      throw new HttpError(404, `The resource you're looking for cannot be found`);
    };
    const finish = (leftover: Clause[]) => {
      if (leftover.length) throw new HttpError(400, `unsupported where field: ${leftover.map((c) => c.field).join(', ')}`);
    };

    switch (resource) {
      case 'organisation':
        return ok(envelope(t, 'Organisations', [renderOrganisation(t, t.id)]));
      case 'accounts': {
        if (id) return one(['accounts'], 'Accounts', (a) => renderAccount(t, a));
        const type = takeClause(clauses, 'Type');
        const status = statusFilter<RecordTypes['accounts']>(clauses);
        finish(clauses);
        const { items } = listPaged(t, [{ name: 'accounts', filter: (a) => (!type || a.type === type.value) && (!status || status(a)) }], since, 0, Number.MAX_SAFE_INTEGER);
        return ok(envelope(t, 'Accounts', items.map((a) => renderAccount(t, a))));
      }
      case 'taxrates': {
        const status = statusFilter<RecordTypes['taxRates']>(clauses);
        const tt = takeClause(clauses, 'TaxType');
        finish(clauses);
        // TaxRates ignore If-Modified-Since, as Xero's do.
        const { items } = listPaged(t, [{ name: 'taxRates', filter: (r) => (!status || status(r)) && (!tt || r.taxType === tt.value) }], undefined, 0, Number.MAX_SAFE_INTEGER);
        return ok(envelope(t, 'TaxRates', items.map(renderTaxRate)));
      }
      case 'trackingcategories': {
        const status = statusFilter<RecordTypes['trackingCategories']>(clauses);
        finish(clauses);
        const { items } = listPaged(
          t,
          [{ name: 'trackingCategories', filter: (c) => (!status || status(c)) && (includeArchived || c.status !== 'ARCHIVED') }],
          undefined,
          0,
          Number.MAX_SAFE_INTEGER,
        );
        return ok(envelope(t, 'TrackingCategories', items.map((c) => renderTrackingCategory(t, c, includeArchived))));
      }
      case 'items': {
        if (id) return one(['items'], 'Items', (i) => renderItem(t, i));
        finish(clauses);
        const { items } = listPaged(t, [{ name: 'items' }], since, 0, Number.MAX_SAFE_INTEGER);
        return ok(envelope(t, 'Items', items.map((i) => renderItem(t, i))));
      }
      case 'contacts': {
        if (id) return one(['contacts'], 'Contacts', (c) => renderContact(t, c));
        const isC = takeClause(clauses, 'IsCustomer');
        const isS = takeClause(clauses, 'IsSupplier');
        const cs = takeClause(clauses, 'ContactStatus');
        finish(clauses);
        const filter =
          isC || isS || cs || !includeArchived
            ? (c: RecordTypes['contacts']) =>
                (!isC || c.isCustomer === isC.value) && (!isS || c.isSupplier === isS.value) && (!cs || c.status === cs.value) && (includeArchived || !!cs || c.status !== 'ARCHIVED')
            : undefined;
        const { items, total } = listPaged(t, [{ name: 'contacts', filter }], since, (page - 1) * pageSize, pageSize);
        return ok(envelope(t, 'Contacts', items.map((c) => renderContact(t, c)), { page, pageSize, total }));
      }
      case 'invoices':
      case 'creditnotes': {
        const credit = resource === 'creditnotes';
        const key = credit ? 'CreditNotes' : 'Invoices';
        if (id) return one(credit ? ['creditNotes'] : ['invoices', 'bills'], key, (d) => renderDoc(t, d as Doc));
        const type = takeClause(clauses, 'Type');
        const status = statusFilter<Doc>(clauses);
        finish(clauses);
        let names: ('invoices' | 'bills' | 'creditNotes')[];
        if (credit) names = !type || type.value === 'ACCRECCREDIT' ? ['creditNotes'] : [];
        else names = !type ? ['invoices', 'bills'] : type.value === 'ACCREC' ? ['invoices'] : type.value === 'ACCPAY' ? ['bills'] : [];
        const { items, total } = listPaged(t, names.map((name) => ({ name, ...(status ? { filter: status } : {}) })), since, (page - 1) * pageSize, pageSize);
        return ok(envelope(t, key, items.map((d) => renderDoc(t, d)), { page, pageSize, total }));
      }
      case 'payments': {
        if (id) return one(['payments', 'billPayments'], 'Payments', (p) => renderPayment(t, p as Pay));
        const type = takeClause(clauses, 'PaymentType');
        const status = statusFilter<Pay>(clauses);
        finish(clauses);
        const names: ('payments' | 'billPayments')[] = !type ? ['payments', 'billPayments'] : type.value === 'ACCRECPAYMENT' ? ['payments'] : type.value === 'ACCPAYPAYMENT' ? ['billPayments'] : [];
        const { items, total } = listPaged(t, names.map((name) => ({ name, ...(status ? { filter: status } : {}) })), since, (page - 1) * pageSize, pageSize);
        return ok(envelope(t, 'Payments', items.map((p) => renderPayment(t, p)), { page, pageSize, total }));
      }
      case 'manualjournals': {
        if (id) return one(['manualJournals'], 'ManualJournals', (j) => renderManualJournal(t, j));
        const status = statusFilter<RecordTypes['manualJournals']>(clauses);
        finish(clauses);
        const { items, total } = listPaged(t, [{ name: 'manualJournals', ...(status ? { filter: status } : {}) }], since, (page - 1) * pageSize, pageSize);
        return ok(envelope(t, 'ManualJournals', items.map((j) => renderManualJournal(t, j)), { page, pageSize, total }));
      }
      case 'reports': {
        const report = (id ?? '').toLowerCase();
        const timeframe = (url.searchParams.get('timeframe') ?? 'MONTH').toUpperCase();
        if (timeframe !== 'MONTH') throw new HttpError(400, 'the sandbox supports timeframe=MONTH only');
        const periods = parseIntParam(url.searchParams.get('periods'), 'periods', 0);
        if (periods > 12) throw new HttpError(400, 'periods must be between 0 and 12');
        const dateParam = report === 'balancesheet' ? url.searchParams.get('date') : url.searchParams.get('toDate');
        let endMonth = monthIndexOf(t.nowMs());
        if (dateParam) {
          const ms = Date.parse(`${dateParam}T00:00:00Z`);
          if (!/^\d{4}-\d{2}-\d{2}$/.test(dateParam) || Number.isNaN(ms)) throw new HttpError(400, `bad date ${dateParam}`);
          endMonth = monthIndexOf(ms);
        }
        const accounts = t.collections.accounts.list({ offset: 0, limit: Number.MAX_SAFE_INTEGER, filter: (a) => a.status !== 'DELETED' }).items;
        const ctx: ReportContext = { gen: t.gen, accounts, accountId: (a) => t.gen.id('accounts', a.index), ledger: t.ledger(), nowMs: t.nowMs() };
        const build = { balancesheet: balanceSheetReport, profitandloss: profitAndLossReport, cashflow: cashFlowReport }[report];
        if (!build) throw new HttpError(404, `no report ${id}`);
        return ok(envelope(t, 'Reports', [build(ctx, endMonth, periods)]));
      }
      default:
        throw new HttpError(404, `The resource you're looking for cannot be found`);
    }
  }

  function rateHeaders(t: Tenant, nowReal: number): Record<string, string> {
    const inWindow = t.window.filter((x) => x > nowReal - windowMs).length;
    return {
      'x-minlimit-remaining': String(Math.max(0, t.limits.perMinute - inWindow)),
      'x-daylimit-remaining': String(t.limits.perDay !== undefined ? Math.max(0, t.limits.perDay - t.dayCalls) : 999_999),
      'x-appminlimit-remaining': '9999',
    };
  }

  /** Rate limits (per day, per minute, concurrent): undefined when the call may proceed. */
  function rateLimited(t: Tenant, nowReal: number): { problem: 'day' | 'minute' | 'concurrent'; retryAfter: number } | undefined {
    const day = t.now().toISOString().slice(0, 10);
    if (t.dayKey !== day) (t.dayKey = day), (t.dayCalls = 0);
    if (t.limits.perDay !== undefined && t.dayCalls >= t.limits.perDay) {
      const next = Date.parse(`${day}T00:00:00Z`) + 86_400_000;
      return { problem: 'day', retryAfter: Math.max(1, Math.ceil((next - t.nowMs()) / 1000)) };
    }
    t.window = t.window.filter((x) => x > nowReal - windowMs);
    if (t.window.length >= t.limits.perMinute) {
      return { problem: 'minute', retryAfter: Math.max(1, Math.ceil((t.window[0]! + windowMs - nowReal) / 1000)) };
    }
    if (t.inflight >= t.limits.concurrent) return { problem: 'concurrent', retryAfter: 1 };
    return undefined;
  }

  function takeFault(t: Tenant, path: string): Fault | undefined {
    const f = t.faults.find((x) => (x.remaining === null || x.remaining > 0) && (!x.path || path.toLowerCase().includes(x.path.toLowerCase())));
    if (!f) return undefined;
    if (f.remaining !== null) f.remaining--;
    t.faults = t.faults.filter((x) => x.remaining === null || x.remaining > 0);
    t.counters.faultsInjected++;
    return f;
  }

  async function serveApi(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const path = url.pathname.slice(API_PREFIX.length);
    const auth = req.headers.authorization ?? '';
    const bearer = /^Bearer\s+(.+)$/i.exec(auth)?.[1];
    const check = bearer ? tokens.check(bearer) : ({ ok: false, error: 'invalid_token', detail: 'no bearer token' } as const);
    const tenantHeader = req.headers['xero-tenant-id'];
    const tenant = typeof tenantHeader === 'string' ? tenants.get(tenantHeader.toLowerCase()) : undefined;
    if (tenant) {
      tenant.counters.calls++;
      const ep = `${req.method} /${(path.split('/').filter(Boolean)[0] ?? '').replace(/^./, (c) => c.toUpperCase())}${path.toLowerCase().startsWith('/reports/') ? '/' + path.split('/')[2] : ''}`;
      tenant.counters.byEndpoint[ep] = (tenant.counters.byEndpoint[ep] ?? 0) + 1;
    }
    const count = (status: number) => {
      if (tenant) tenant.counters.byStatus[status] = (tenant.counters.byStatus[status] ?? 0) + 1;
    };
    if (!check.ok) {
      if (tenant) tenant.counters.unauthorized++;
      count(401);
      return json(res, 401, { Type: null, Title: 'Unauthorized', Status: 401, Detail: check.detail, Instance: randomUUID() }, { 'www-authenticate': 'Bearer error="invalid_token"' });
    }
    if (typeof tenantHeader !== 'string' || !tenantHeader) return json(res, 400, { Title: 'Bad Request', Status: 400, Detail: 'the xero-tenant-id header is required' });
    if (!tenant || tenant.id !== check.tenantId) {
      count(403);
      return json(res, 403, { Type: null, Title: 'Forbidden', Status: 403, Detail: 'AuthenticationUnsuccessful: this token does not grant that tenant' });
    }
    if (req.method !== 'GET') return json(res, 405, { Title: 'Method Not Allowed', Status: 405, Detail: 'the sandbox serves reads only' });
    const nowReal = Date.now();
    const limited = rateLimited(tenant, nowReal);
    const fault = limited ? undefined : takeFault(tenant, path);
    if (limited || fault?.kind === '429') {
      const retryAfter = limited?.retryAfter ?? fault?.retryAfterSeconds ?? 1;
      const problem = limited?.problem ?? 'minute';
      tenant.counters.rateLimited.total++;
      tenant.counters.rateLimited[limited ? problem : 'injected']++;
      count(429);
      return json(res, 429, { Title: 'Too Many Requests', Status: 429, Detail: `rate limit exceeded (${problem})` }, {
        ...rateHeaders(tenant, nowReal),
        'retry-after': String(retryAfter),
        'x-rate-limit-problem': problem,
      });
    }
    tenant.window.push(nowReal);
    tenant.dayCalls++;
    tenant.inflight++;
    tenant.counters.maxConcurrent = Math.max(tenant.counters.maxConcurrent, tenant.inflight);
    let released = false;
    const release = () => {
      if (!released) (released = true), tenant.inflight--;
    };
    res.once('close', release);
    res.once('finish', release);
    if (fault?.kind === 'timeout') {
      hanging.add(res);
      res.once('close', () => hanging.delete(res));
      return;
    }
    if (fault?.kind === 'slow') {
      await new Promise<void>((r) => {
        const timer = setTimeout(r, fault.delayMs ?? 2000);
        res.once('close', () => (clearTimeout(timer), r()));
      });
      if (res.destroyed) return;
    }
    if (fault?.kind === '5xx') {
      const status = fault.status ?? 503;
      count(status);
      return json(res, status, { Title: 'Service Unavailable', Status: status, Detail: 'injected fault' }, rateHeaders(tenant, nowReal));
    }
    let reply: Reply;
    try {
      reply = handleApi(tenant, path, url, req);
    } catch (err) {
      release();
      throw err;
    }
    count(reply.status);
    const headers = { ...rateHeaders(tenant, nowReal), ...(reply.headers ?? {}) };
    if (res.destroyed) return;
    if (fault?.kind === 'truncate') {
      const text = JSON.stringify(reply.body);
      res.writeHead(reply.status, { 'content-type': 'application/json; charset=utf-8', ...headers });
      res.end(text.slice(0, Math.floor(text.length / 2)));
      return;
    }
    json(res, reply.status, reply.body, headers);
  }

  // ----- OAuth --------------------------------------------------------------------------------------------------

  async function serveConnect(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const p = url.pathname.toLowerCase();
    if (req.method === 'POST' && p === '/connect/token') {
      const form = parseForm(req, await readBody(req));
      if (form.grant_type !== 'refresh_token' || !form.refresh_token) return json(res, 400, { error: 'unsupported_grant_type' });
      const tid = tokens.tenantOfRefresh(form.refresh_token);
      const t = tid ? tenants.get(tid) : undefined;
      const r = tokens.rotate(form.refresh_token);
      if ('ok' in r) {
        if (t) t.counters.refreshFailures++;
        return json(res, 400, { error: r.error, error_description: r.detail });
      }
      if (t) t.counters.tokensIssued++, t.counters.refreshes++;
      return json(res, 200, r);
    }
    if (req.method === 'POST' && p === '/connect/revocation') {
      const form = parseForm(req, await readBody(req));
      if (form.token) tokens.revokeByRefresh(form.token);
      res.writeHead(200).end();
      return;
    }
    if (req.method === 'POST' && p === '/connect/sandbox/authorize') {
      // Stands in for the browser part of OAuth: "the user picked this organisation and consented".
      const body = parseJson(await readBody(req));
      if (typeof body.seed !== 'string' || !body.seed) throw new HttpError(400, 'seed (string) is required');
      const t = createTenant({
        seed: body.seed,
        ...(body.size !== undefined ? { size: body.size as number | TenantSize } : {}),
        ...(typeof body.name === 'string' ? { name: body.name } : {}),
      });
      const g = grant(t.id);
      return json(res, 200, { ...g, tenantId: t.id, tenantName: t.displayName });
    }
    throw new HttpError(404, 'not found');
  }

  function serveConnections(req: IncomingMessage, res: ServerResponse, url: URL): void {
    const bearer = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1];
    const check = bearer ? tokens.check(bearer) : undefined;
    if (!check || !check.ok) return json(res, 401, { Title: 'Unauthorized', Status: 401, Detail: check && !check.ok ? check.detail : 'no bearer token' });
    const g = tokens.grantInfo(check.grantId)!;
    const t = tenants.get(check.tenantId);
    if (req.method === 'DELETE') {
      tokens.revokeTenant(check.tenantId);
      res.writeHead(204).end();
      return;
    }
    void url;
    return json(res, 200, [
      {
        id: g.id,
        authEventId: g.authEventId,
        tenantId: check.tenantId,
        tenantType: 'ORGANISATION',
        tenantName: t?.displayName ?? '',
        createdDateUtc: new Date(g.createdMs).toISOString(),
        updatedDateUtc: new Date(g.createdMs).toISOString(),
      },
    ]);
  }

  // ----- admin ----------------------------------------------------------------------------------------------------

  function requireTenant(id: string | undefined): Tenant {
    const t = id ? tenants.get(id.toLowerCase()) : undefined;
    if (!t) throw new HttpError(404, `no tenant ${id}`);
    return t;
  }
  function collectionName(s: string | undefined): CollectionName {
    const c = COLLECTIONS.find((x) => x.toLowerCase() === (s ?? '').toLowerCase());
    if (!c) throw new HttpError(404, `unknown collection ${s}; one of ${COLLECTIONS.join(', ')}`);
    return c;
  }
  const num = (v: unknown, name: string, dflt?: number): number => {
    if (v === undefined || v === null) {
      if (dflt === undefined) throw new HttpError(400, `${name} is required`);
      return dflt;
    }
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new HttpError(400, `${name} must be a non-negative number`);
    return v;
  };

  async function serveAdmin(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    if (opts.adminToken && req.headers.authorization !== `Bearer ${opts.adminToken}`) return json(res, 401, { error: 'admin token required' });
    const segs = url.pathname.split('/').filter(Boolean).slice(1); // drop "admin"
    const method = req.method ?? 'GET';
    const body = method === 'GET' || method === 'DELETE' ? {} : parseJson(await readBody(req));
    const send = (status: number, b: unknown) => json(res, status, b);
    if (segs[0] === 'counters' && segs.length === 1 && method === 'GET') {
      return send(200, Object.fromEntries([...tenants.values()].map((t) => [t.id, t.counters])));
    }
    if (segs[0] === 'stats' && method === 'GET') {
      const m = process.memoryUsage();
      return send(200, { tenants: tenants.size, heapUsedBytes: m.heapUsed, rssBytes: m.rss });
    }
    if (segs[0] === 'qbo') return qbo.admin(req, res, url, segs.slice(1), body);
    if (segs[0] !== 'tenants') throw new HttpError(404, 'not found');
    if (segs.length === 1) {
      if (method === 'GET') return send(200, [...tenants.values()].map(tenantInfo));
      if (method === 'POST') {
        if (typeof body.seed !== 'string' || !body.seed) throw new HttpError(400, 'seed (string) is required');
        const before = tenants.size;
        const t = createTenant({
          seed: body.seed,
          ...(body.size !== undefined ? { size: body.size as number | TenantSize } : {}),
          ...(typeof body.name === 'string' ? { name: body.name } : {}),
          ...(typeof body.anchor === 'string' ? { anchor: body.anchor } : {}),
        });
        const created = tenants.size > before;
        const tokensOut = body.grant === true ? { tokens: grant(t.id) } : {};
        return send(created ? 201 : 200, { ...tenantInfo(t), created, ...tokensOut });
      }
    }
    const t = requireTenant(segs[1]);
    const action = segs[2];
    if (!action) {
      if (method === 'GET') return send(200, tenantInfo(t));
      if (method === 'DELETE') {
        tokens.dropTenant(t.id);
        tenants.delete(t.id);
        res.writeHead(204).end();
        return;
      }
    }
    switch (`${method} ${action}`) {
      case 'POST clock': {
        const ms = num(body.advanceSeconds, 'advanceSeconds', 0) * 1000 + num(body.advanceDays, 'advanceDays', 0) * 86_400_000;
        t.advance(ms);
        return send(200, { now: t.now().toISOString(), clockOffsetSeconds: t.offsetMs / 1000 });
      }
      case 'POST activity': {
        const events = Math.floor(num(body.events, 'events', 20));
        const ms = num(body.advanceSeconds, 'advanceSeconds', 0) * 1000 + num(body.advanceDays, 'advanceDays', body.advanceSeconds === undefined ? 1 : 0) * 86_400_000;
        const changes = t.activity(events, ms);
        return send(200, { now: t.now().toISOString(), changes });
      }
      case 'POST grant':
        return send(200, { ...grant(t.id), tenantId: t.id });
      case 'POST revoke':
        return send(200, { revokedGrants: tokens.revokeTenant(t.id) });
      case 'POST expire-access-tokens':
        return send(200, { expired: tokens.expireAccess(t.id) });
      case 'GET counters':
        return send(200, t.counters);
      case 'POST counters':
        if (segs[3] !== 'reset') break;
        t.counters = newCounters();
        return send(200, t.counters);
      case 'PUT rate-limit': {
        const next: RateLimit = {
          perMinute: Math.floor(num(body.perMinute, 'perMinute', t.limits.perMinute)),
          concurrent: Math.floor(num(body.concurrent, 'concurrent', t.limits.concurrent)),
        };
        const perDay = body.perDay === null ? undefined : body.perDay === undefined ? t.limits.perDay : Math.floor(num(body.perDay, 'perDay'));
        if (perDay !== undefined) next.perDay = perDay;
        t.limits = next;
        return send(200, t.limits);
      }
      case 'GET faults':
        return send(200, t.faults);
      case 'DELETE faults':
        t.faults = [];
        return send(200, t.faults);
      case 'POST faults': {
        const kind = body.kind as FaultKind | 'revoke';
        if (kind === 'revoke') return send(200, { revokedGrants: tokens.revokeTenant(t.id) });
        if (!['5xx', 'slow', 'timeout', 'truncate', '429'].includes(kind)) throw new HttpError(400, 'kind must be one of 5xx, slow, timeout, truncate, 429, revoke');
        const fault: Fault = { kind, remaining: body.count === null ? null : Math.floor(num(body.count, 'count', 1)) };
        if (typeof body.path === 'string') fault.path = body.path;
        if (body.status !== undefined) fault.status = Math.floor(num(body.status, 'status'));
        if (body.delayMs !== undefined) fault.delayMs = num(body.delayMs, 'delayMs');
        if (body.retryAfterSeconds !== undefined) fault.retryAfterSeconds = Math.floor(num(body.retryAfterSeconds, 'retryAfterSeconds'));
        t.faults.push(fault);
        return send(201, t.faults);
      }
      case 'GET records': {
        const name = collectionName(segs[3]);
        const col = t.collections[name];
        if (segs[4]) {
          const { record } = t.require(name, segs[4]);
          return send(200, url.searchParams.get('raw') === 'true' ? record : renderAny(t, name, record));
        }
        const offset = parseIntParam(url.searchParams.get('offset'), 'offset', 0);
        const limit = Math.min(10_000, parseIntParam(url.searchParams.get('limit'), 'limit', 100));
        const page = col.list({ offset, limit });
        return send(200, { total: page.total, ids: page.items.map((r) => t.gen.id(name, (r as { index: number }).index)) });
      }
      case 'POST records': {
        const name = collectionName(segs[3]);
        const op = segs[5];
        if (!segs[4]) return send(201, t.create(name, (body.fields as Record<string, unknown>) ?? body));
        const id = segs[4];
        switch (op) {
          case 'edit':
            return send(200, t.edit(name, id, (body.patch as Record<string, unknown>) ?? {}));
          case 'void':
            return send(200, t.void(name, id));
          case 'delete':
            return send(200, t.delete(name, id));
          case 'hard-delete':
            return send(200, t.hardDelete(name, id));
        }
        break;
      }
    }
    throw new HttpError(404, `no admin route ${method} ${url.pathname}`);
  }

  function renderAny(t: Tenant, name: CollectionName, r: unknown): unknown {
    switch (name) {
      case 'accounts':
        return renderAccount(t, r as RecordTypes['accounts']);
      case 'taxRates':
        return renderTaxRate(r as RecordTypes['taxRates']);
      case 'trackingCategories':
        return renderTrackingCategory(t, r as RecordTypes['trackingCategories'], true);
      case 'items':
        return renderItem(t, r as RecordTypes['items']);
      case 'contacts':
        return renderContact(t, r as RecordTypes['contacts']);
      case 'invoices':
      case 'bills':
      case 'creditNotes':
        return renderDoc(t, r as Doc);
      case 'payments':
      case 'billPayments':
        return renderPayment(t, r as Pay);
      case 'manualJournals':
        return renderManualJournal(t, r as RecordTypes['manualJournals']);
    }
  }

  // ----- server -----------------------------------------------------------------------------------------------

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://sim.local');
    const p = url.pathname;
    const lower = p.toLowerCase();
    const run = async () => {
      if (lower.startsWith(API_PREFIX)) return serveApi(req, res, url);
      if (qbo.owns(lower)) return qbo.handle(req, res, url);
      if (lower.startsWith('/connect/')) return serveConnect(req, res, url);
      if (lower === '/connections' || lower.startsWith('/connections/')) return serveConnections(req, res, url);
      if (lower === '/admin' || lower.startsWith('/admin/')) return serveAdmin(req, res, url);
      if (lower === '/' && req.method === 'GET') return json(res, 200, { name: PROVIDER, api: API_PREFIX, tenants: tenants.size, docs: 'docs/simulator.md' });
      throw new HttpError(404, 'not found');
    };
    run().catch((err: unknown) => {
      if (res.headersSent) return void res.destroy();
      if (err instanceof HttpError || err instanceof SimError) return json(res, err.status, { Title: 'Error', Status: err.status, Detail: err.message }, err instanceof HttpError ? err.headers : {});
      json(res, 500, { Title: 'Internal Server Error', Status: 500, Detail: err instanceof Error ? err.message : String(err) });
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    url: `http://${host}:${addr.port}`,
    port: addr.port,
    tokens,
    qbo,
    createTenant,
    tenant: (id) => tenants.get(id.toLowerCase()),
    grant,
    close: () =>
      new Promise<void>((resolve) => {
        for (const r of hanging) r.destroy();
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      }),
  };
}

/**
 * Xero's Accounting API (`/api.xro/2.0`, xero_accounting.yaml) over the platform-neutral tenants: the envelope,
 * paging, If-Modified-Since, `where` filters, statuses, reports and the rate-limit headers.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { allowed } from './scopes.js';
import { randomUUID } from 'node:crypto';
import { monthIndexOf } from '../ledger.js';
import { monthEndMs, monthStartMs } from '../generate.js';
import type { CollectionName, Doc, Pay, RecordTypes } from '../model.js';
import { HttpError, json, parseIntParam, type Reply } from '../http.js';
import { rateLimited, takeFault, type SimHost } from '../host.js';
import type { Tenant } from '../tenant.js';
import { msDate, renderAccount, renderContact, renderDoc, renderItem, renderManualJournal, renderOnAccount, renderOrganisation, renderPayment, renderTaxRate, renderTrackingCategory } from './render.js';
import { BANKING_RESOURCES, handleBanking } from './banking.js';
import { balanceSheetReport, cashFlowReport, profitAndLossReport, reportPeriods, reportTitles, type ReportContext } from './reports.js';
import { handleDocuments, isRawReply } from './documents.js';

export const API_PREFIX = '/api.xro/2.0';
export const PROVIDER = 'Syncline Sandbox';

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
  /** The first (or only) value. */
  value: string | boolean;
  /** Every value of `Field=="a" OR Field=="b"`. */
  values: (string | boolean)[];
}
/**
 * A small subset of Xero's `where`: `Field=="value"` / `Field==true` clauses joined by && or AND, each optionally a
 * parenthesised choice of values of one field joined by || or OR (`(PaymentType=="A" OR PaymentType=="B")`).
 */
export function parseWhere(where: string | null): Clause[] {
  if (!where) return [];
  return where.split(/\s*&&\s*|\s+AND\s+/i).map((part) => {
    const inner = part.trim().replace(/^\((.*)\)$/, '$1');
    const alts = inner.split(/\s*\|\|\s*|\s+OR\s+/i).map((alt) => {
      const m = /^\s*([A-Za-z.]+)\s*==\s*(?:"([^"]*)"|(true|false))\s*$/.exec(alt);
      if (!m) throw new HttpError(400, `unsupported where clause: ${part}`);
      return { field: m[1]!.toLowerCase(), value: m[2] ?? m[3] === 'true' };
    });
    if (alts.some((a) => a.field !== alts[0]!.field)) throw new HttpError(400, `unsupported where clause (OR across fields): ${part}`);
    return { field: alts[0]!.field, value: alts[0]!.value, values: alts.map((a) => a.value) };
  });
}

function takeClause(clauses: Clause[], field: string): Clause | undefined {
  const i = clauses.findIndex((c) => c.field === field.toLowerCase());
  return i < 0 ? undefined : clauses.splice(i, 1)[0];
}

const TIMEFRAME_MONTHS: Record<string, number> = { MONTH: 1, QUARTER: 3, YEAR: 12 };

/** A `YYYY-MM-DD` report parameter as UTC midnight. */
function reportDate(v: string, name: string): number {
  const ms = Date.parse(`${v}T00:00:00Z`);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(v) || Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== v) throw new HttpError(400, `${name} must be a date YYYY-MM-DD, got "${v}"`);
  return ms;
}

/**
 * `/Reports/{BalanceSheet|ProfitAndLoss|CashFlow}` with Xero's parameters: `date` (balance sheet) or `fromDate` and
 * `toDate` (profit and loss; default the current month), `periods` (further columns, 1–12; 0 is taken as none) and
 * `timeframe` (MONTH, QUARTER, YEAR: how much earlier each further column is). The ledger is kept by month, so
 * `fromDate` must start a month and `toDate` and `date` end one (400 otherwise, rather than a silently wrong figure).
 */
function report(t: Tenant, name: string, q: URLSearchParams) {
  const timeframe = (q.get('timeframe') ?? 'MONTH').toUpperCase();
  const step = TIMEFRAME_MONTHS[timeframe];
  if (!step) throw new HttpError(400, `timeframe must be MONTH, QUARTER or YEAR, got "${q.get('timeframe')}"`);
  const periods = parseIntParam(q.get('periods'), 'periods', 0);
  if (periods < 0 || periods > 12) throw new HttpError(400, 'periods must be between 1 and 12');
  const monthEnd = (v: string, param: string) => {
    const ms = reportDate(v, param);
    const m = monthIndexOf(ms);
    if (monthEndMs(m) !== ms) throw new HttpError(400, `${param} must be the last day of a month (the sandbox keeps its ledger by month), got ${v}`);
    return m;
  };
  const current = monthIndexOf(t.nowMs());
  const accounts = t.collections.accounts.list({ offset: 0, limit: Number.MAX_SAFE_INTEGER, filter: (a) => a.status !== 'DELETED' }).items;
  const ctx: ReportContext = {
    gen: t.gen,
    accounts,
    accountId: (a) => t.gen.id('accounts', a.index),
    ledger: t.ledger(),
    nowMs: t.nowMs(),
    titles: reportTitles(t.gen.organisation.version, t.reportTitles),
  };
  if (name === 'balancesheet') {
    const date = q.get('date');
    return balanceSheetReport(ctx, date ? monthEnd(date, 'date') : current, periods, step);
  }
  if (name !== 'profitandloss' && name !== 'cashflow') throw new HttpError(404, `no report ${name}`);
  const fromParam = q.get('fromDate');
  const toParam = q.get('toDate');
  const to = toParam ? monthEnd(toParam, 'toDate') : fromParam ? monthIndexOf(reportDate(fromParam, 'fromDate')) : current;
  let from = to;
  if (fromParam) {
    const ms = reportDate(fromParam, 'fromDate');
    from = monthIndexOf(ms);
    if (monthStartMs(from) !== ms) throw new HttpError(400, `fromDate must be the first day of a month (the sandbox keeps its ledger by month), got ${fromParam}`);
    if (from > to) throw new HttpError(400, 'fromDate must not be after toDate');
  }
  const cols = reportPeriods({ from, to }, periods, step);
  return name === 'profitandloss' ? profitAndLossReport(ctx, cols) : cashFlowReport(ctx, cols);
}

/** The handler of every request under /api.xro/2.0. */
export function createXeroApi(host: SimHost): (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void> {
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
      const page = col.list({ since, filter: s.filter, order: 'updated', offset: skip, limit: Math.max(0, want) });
      items.push(...page.items.slice(0, want));
      total += page.total;
      skip = Math.max(0, skip - page.total);
    }
    return { items, total };
  }

  function statusFilter<T extends { status: string }>(clauses: Clause[]): ((r: T) => boolean) | undefined {
    const c = takeClause(clauses, 'Status');
    if (!c) return undefined;
    return (r) => c.values.includes(r.status);
  }

  function handleApi(t: Tenant, path: string, url: URL, req: IncomingMessage): Reply {
    const segs = path.split('/').filter(Boolean);
    const resource = (segs[0] ?? '').toLowerCase();
    const id = segs[1];
    const ims = req.headers['if-modified-since'];
    const since = typeof ims === 'string' && ims ? parseIfModifiedSince(ims) : undefined;
    const clauses = parseWhere(url.searchParams.get('where'));
    const page = Math.max(1, parseIntParam(url.searchParams.get('page'), 'page', 1));
    const pageSize = Math.min(host.maxPageSize, Math.max(1, parseIntParam(url.searchParams.get('pageSize'), 'pageSize', host.defaultPageSize)));
    const includeArchived = url.searchParams.get('includeArchived') === 'true';
    // Unit prices with 4 decimals only when asked (Xero: `unitdp=4`; anything else rounds them to 2).
    const unitdp = url.searchParams.get('unitdp') === '4' ? 4 : 2;
    const ok = (body: unknown): Reply => ({ status: 200, body });
    const one = <K extends CollectionName>(names: K[], key: string, render: (r: RecordTypes[K]) => unknown): Reply => {
      for (const n of names) {
        const i = t.indexOf(n, id!);
        const r = i === undefined ? undefined : t.collections[n].get(i);
        if (r) return ok(envelope(t, key, [render(r as RecordTypes[K])]));
      }
      throw new HttpError(404, `The resource you're looking for cannot be found`);
    };
    // Purchase orders, attachments and invoice PDFs (./documents.ts).
    const doc = handleDocuments(t, segs, url, req, { envelope, since, page, pageSize });
    if (doc) return doc;
    const finish = (leftover: Clause[]) => {
      if (leftover.length) throw new HttpError(400, `unsupported where field: ${leftover.map((c) => c.field).join(', ')}`);
    };

    if (BANKING_RESOURCES.has(resource)) {
      const a = handleBanking(t, { resource, id, since, clauses, page, pageSize, url });
      return ok(envelope(t, a.key, a.items, a.pagination));
    }
    switch (resource) {
      case 'organisation':
        return ok(envelope(t, 'Organisations', [renderOrganisation(t, t.id)]));
      case 'accounts': {
        if (id) return one(['accounts'], 'Accounts', (a) => renderAccount(t, a));
        const type = takeClause(clauses, 'Type');
        const status = statusFilter<RecordTypes['accounts']>(clauses);
        finish(clauses);
        const { items } = listPaged(t, [{ name: 'accounts', filter: (a) => (!type || type.values.includes(a.type)) && (!status || status(a)) }], since, 0, Number.MAX_SAFE_INTEGER);
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
        if (id) return one(credit ? ['creditNotes', 'billCreditNotes'] : ['invoices', 'bills'], key, (d) => renderDoc(t, d as Doc, unitdp));
        const type = takeClause(clauses, 'Type');
        const status = statusFilter<Doc>(clauses);
        finish(clauses);
        let names: ('invoices' | 'bills' | 'creditNotes' | 'billCreditNotes')[];
        if (credit) names = !type ? ['creditNotes', 'billCreditNotes'] : type.value === 'ACCRECCREDIT' ? ['creditNotes'] : type.value === 'ACCPAYCREDIT' ? ['billCreditNotes'] : [];
        else names = !type ? ['invoices', 'bills'] : type.value === 'ACCREC' ? ['invoices'] : type.value === 'ACCPAY' ? ['bills'] : [];
        const { items, total } = listPaged(t, names.map((name) => ({ name, ...(status ? { filter: status } : {}) })), since, (page - 1) * pageSize, pageSize);
        return ok(envelope(t, key, items.map((d) => renderDoc(t, d, unitdp)), { page, pageSize, total }));
      }
      case 'payments': {
        if (id) return one(['payments', 'billPayments'], 'Payments', (p) => renderPayment(t, p as Pay));
        const type = takeClause(clauses, 'PaymentType');
        const status = statusFilter<Pay>(clauses);
        finish(clauses);
        // The simulator's customer payments are ACCRECPAYMENT and its supplier payments ACCPAYPAYMENT; the other types
        // (credit-note, overpayment and prepayment refunds) are accepted in filters and have no records here.
        const names: ('payments' | 'billPayments')[] = !type
          ? ['payments', 'billPayments']
          : [...(type.values.includes('ACCRECPAYMENT') ? (['payments'] as const) : []), ...(type.values.includes('ACCPAYPAYMENT') ? (['billPayments'] as const) : [])];
        const { items, total } = listPaged(t, names.map((name) => ({ name, ...(status ? { filter: status } : {}) })), since, (page - 1) * pageSize, pageSize);
        return ok(envelope(t, 'Payments', items.map((p) => renderPayment(t, p)), { page, pageSize, total }));
      }
      case 'overpayments':
      case 'prepayments': {
        // Xero's getOverpayments / getPrepayments: paged, If-Modified-Since, `where` on Type and Status, both sides.
        const name = resource === 'overpayments' ? 'overpayments' : 'prepayments';
        const key = resource === 'overpayments' ? 'Overpayments' : 'Prepayments';
        if (id) return one([name], key, (r) => renderOnAccount(t, r, unitdp));
        const type = takeClause(clauses, 'Type');
        const status = statusFilter<RecordTypes['overpayments']>(clauses);
        finish(clauses);
        const suffix = name === 'overpayments' ? 'OVERPAYMENT' : 'PREPAYMENT';
        const filter = type || status ? (r: RecordTypes['overpayments']) => (!type || type.values.includes(`${r.type}-${suffix}`)) && (!status || status(r)) : undefined;
        const { items, total } = listPaged(t, [{ name, ...(filter ? { filter } : {}) }], since, (page - 1) * pageSize, pageSize);
        return ok(envelope(t, key, items.map((r) => renderOnAccount(t, r, unitdp)), { page, pageSize, total }));
      }
      case 'manualjournals': {
        if (id) return one(['manualJournals'], 'ManualJournals', (j) => renderManualJournal(t, j));
        const status = statusFilter<RecordTypes['manualJournals']>(clauses);
        finish(clauses);
        const { items, total } = listPaged(t, [{ name: 'manualJournals', ...(status ? { filter: status } : {}) }], since, (page - 1) * pageSize, pageSize);
        return ok(envelope(t, 'ManualJournals', items.map((j) => renderManualJournal(t, j)), { page, pageSize, total }));
      }
      case 'reports':
        return ok(envelope(t, 'Reports', [report(t, (id ?? '').toLowerCase(), url.searchParams)]));
      default:
        throw new HttpError(404, `The resource you're looking for cannot be found`);
    }
  }

  function rateHeaders(t: Tenant, nowReal: number): Record<string, string> {
    const inWindow = t.window.filter((x) => x > nowReal - host.windowMs).length;
    return {
      'x-minlimit-remaining': String(Math.max(0, t.limits.perMinute - inWindow)),
      'x-daylimit-remaining': String(t.limits.perDay !== undefined ? Math.max(0, t.limits.perDay - t.dayCalls) : 999_999),
      'x-appminlimit-remaining': String(Math.max(0, host.app.perMinute - host.app.window.filter((x) => x > nowReal - host.windowMs).length)),
    };
  }

  return async function serveApi(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const path = url.pathname.slice(API_PREFIX.length);
    const auth = req.headers.authorization ?? '';
    const bearer = /^Bearer\s+(.+)$/i.exec(auth)?.[1];
    const check = bearer ? host.tokens.check(bearer) : ({ ok: false, error: 'invalid_token', detail: 'no bearer token' } as const);
    const tenantHeader = req.headers['xero-tenant-id'];
    const tenant = typeof tenantHeader === 'string' ? host.tenants.get(tenantHeader.toLowerCase()) : undefined;
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
    if (!tenant || !check.tenantIds.includes(tenant.id)) {
      count(403);
      return json(res, 403, { Type: null, Title: 'Forbidden', Status: 403, Detail: 'AuthenticationUnsuccessful: this token does not grant that tenant' });
    }
    // A call outside the granted scopes: 403, as Xero answers it (source-platforms.md §5.1).
    if (!allowed(check.scopes, path)) {
      count(403);
      return json(res, 403, { Type: null, Title: 'Forbidden', Status: 403, Detail: 'AuthorizationUnsuccessful', Instance: randomUUID(), Extensions: {} });
    }
    if (req.method !== 'GET') return json(res, 405, { Title: 'Method Not Allowed', Status: 405, Detail: 'the sandbox serves reads only' });
    const nowReal = host.rateNow();
    const limited = rateLimited(tenant, nowReal, host.windowMs, host.app);
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
    host.app.window.push(nowReal);
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
      host.hanging.add(res);
      res.once('close', () => host.hanging.delete(res));
      return;
    }
    if (fault?.kind === 'slow') {
      await new Promise<void>((r) => {
        const timer = setTimeout(r, fault.delayMs ?? 2000);
        res.once('close', () => (clearTimeout(timer), r()));
      });
      if (res.destroyed) return;
    }
    if (fault?.kind === 'hold') {
      // Until the test says so (admin `POST …/faults/release`): a call in flight for as long as a test needs, with no
      // wall-clock delay to guess.
      await new Promise<void>((r) => {
        tenant.held.push(r);
        res.once('close', () => ((tenant.held = tenant.held.filter((x) => x !== r)), r()));
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
    if (isRawReply(reply)) return reply.write(res, headers);
    if (fault?.kind === 'truncate') {
      const text = JSON.stringify(reply.body);
      res.writeHead(reply.status, { 'content-type': 'application/json; charset=utf-8', ...headers });
      res.end(text.slice(0, Math.floor(text.length / 2)));
      return;
    }
    json(res, reply.status, reply.body, headers);
  }
}

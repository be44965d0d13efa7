/**
 * The Xero connector (`gbol`): reads Xero's Accounting API (`/api.xro/2.0`) for one tenant of an OAuth grant — paging,
 * If-Modified-Since, statuses, rate-limit headers, reports — and maps it to the accounting model. The Sandbox (`mqjo`,
 * sandbox.ts) is a configuration of it: the Syncline simulator's base URL, no client authentication, a tenant created
 * on link. HTTP concerns (tokens, retries, pacing, pauses) live in ../http.
 */
import { systemClock, type Clock } from '../../lib/clock.js';
import type { OAuthLinker } from '../../domain/oauth-link.js';
import { isStatementType, type DataType } from '../../domain/data-types.js';
import {
  AuthRevokedError,
  FetchFailedError,
  MappingError,
  NotSupportedError,
  type Connector,
  type Credentials,
  type CredentialsStore,
  type PullOutcome,
  type PullRequest,
  type SourceRecord,
  type TokenLifetimes,
} from '../connector.js';
import { abortableSleep, ApiClient, TenantLimiter, TokenClient, type CallContext, type OAuthTokens } from '../http/index.js';
import * as M from './mappers.js';
import { BANKING_LISTS, pullJournals } from './mappers-banking.js';
import { accountKinds, balanceSheetPeriod, cashFlowPeriod, checkColumns, firstReport, monthFirst, monthIndex, monthKey, monthLast, profitAndLossPeriod } from './reports.js';
import { mapBillCreditNote, mapPurchaseOrder } from './mappers-documents.js';
import { XeroFiles } from './files.js';
import { arr, num, obj, parseXeroDate, str, type Wire } from './wire.js';

function intHeader(res: Response, name: string): number | undefined {
  const n = Number.parseInt(res.headers.get(name) ?? '', 10);
  return Number.isNaN(n) ? undefined : n;
}

/** Xero's production endpoints (source-platforms.md §1). */
export const XERO_API_URL = 'https://api.xero.com';
export const XERO_TOKEN_URL = 'https://identity.xero.com/connect/token';

/** Stored credentials of a Xero (or Sandbox) connection. */
export interface XeroCredentials extends OAuthTokens {
  tenantId: string;
}

export interface XeroConnectorOptions {
  /** Integration key (default `gbol`). */
  key?: string;
  /** API host root: `/connections` and `/api.xro/2.0/…` are under it (Xero: https://api.xero.com). */
  apiUrl: string;
  /** Token endpoint (Xero: https://identity.xero.com/connect/token). */
  tokenUrl: string;
  /** Revocation endpoint (default: `revocation` beside the token endpoint). */
  revocationUrl?: string;
  /** The operator's OAuth app: HTTP Basic client authentication with a secret, `client_id` in the body without. */
  clientId?: string;
  clientSecret?: string;
  /** Daily calls (of Xero's 5,000 per tenant) pulls leave unused, for keep-alive and the rest of the day (default 100). */
  dayReserve?: number;
  /** Whether `cashFlowStatement` is read (`/Reports/CashFlow`: the Sandbox serves one; Xero has none). */
  cashFlow?: boolean;
  /** Clock for token expiry bookkeeping outside a pull (authorize, keep-alive). */
  clock?: Clock;
  /** Records per page (1–1000, default 1000: the fewest calls). */
  pageSize?: number;
  /** Total time a pull may spend paused on 429s since its last successful call (default 15 min, §2.4). */
  pauseBudgetMs?: number;
  /** Calls in flight at once against one tenant from this process (default 1, source-platforms.md §1.6). */
  maxConcurrentCallsPerTenant?: number;
  maxConcurrentPullsPerConnection?: number;
  requestTimeoutMs?: number;
  /** Retries of 5xx, network errors, timeouts and malformed bodies before FetchFailedError (default 3). */
  retries?: number;
  retryBaseMs?: number;
  /** Subtracted from the cursor before an incremental (If-Modified-Since) listing (default 10 min). */
  overlapMs?: number;
  /** Refresh the access token when it expires within this margin (default 5 min). */
  refreshMarginMs?: number;
  /** The platform's rate-limit window for pacing by X-MinLimit-Remaining (default 60 s: Xero's rolling minute). */
  rateWindowMs?: number;
  /** The clock of the platform's rate windows (default: real time); tests share one with the simulator's `rateClock`. */
  rateClock?: Clock;
  /** Test hook: how to wait (Retry-After pauses, retry backoff). Default: real timers. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

export type ListKind = {
  path: string;
  key: string;
  where?: string;
  paged: boolean;
  ims: boolean;
  /** Documents honour window.syncFrom; reference data ignores it (sync-behaviour.md §8.2). */
  document: boolean;
  query?: Record<string, string>;
  map: (w: Wire, ctx: M.MapContext) => SourceRecord | SourceRecord[];
  /** Further listings whose records belong to the same data type (credit-note allocations of payments). */
  also?: ListKind[];
  /** Calls made once before the listing to fill the map context (mappers-banking.ts). */
  prepare?: (get: (path: string, query?: Record<string, string>) => Promise<Wire>, ctx: M.MapContext) => Promise<void>;
};

const AR_PAYMENTS = ['ACCRECPAYMENT', 'ARCREDITPAYMENT', 'AROVERPAYMENTPAYMENT', 'ARPREPAYMENTPAYMENT'];
const AP_PAYMENTS = ['ACCPAYPAYMENT', 'APCREDITPAYMENT', 'APOVERPAYMENTPAYMENT', 'APPREPAYMENTPAYMENT'];
const anyOf = (field: string, values: string[]) => `(${values.map((v) => `${field}=="${v}"`).join(' OR ')})`;

/** Overpayments and prepayments received from customers (RECEIVE) or paid to suppliers (SPEND), with their allocations. */
const onAccountLists = (side: 'RECEIVE' | 'SPEND'): ListKind[] =>
  (['Overpayments', 'Prepayments'] as const).map((key) => ({
    path: `/${key}`,
    key,
    where: `Type=="${side}-${key.slice(0, -1).toUpperCase()}"`,
    paged: true,
    ims: true,
    document: true,
    map: (w: Wire) => M.mapOnAccount(w, side === 'RECEIVE' ? 'customer' : 'supplier'),
  }));

const LISTS: Partial<Record<DataType, ListKind>> = {
  chartOfAccounts: { path: '/Accounts', key: 'Accounts', paged: false, ims: false, document: false, map: M.mapAccount },
  bankAccounts: { path: '/Accounts', key: 'Accounts', where: 'Type=="BANK"', paged: false, ims: false, document: false, map: M.mapBankAccount },
  taxRates: { path: '/TaxRates', key: 'TaxRates', paged: false, ims: false, document: false, map: (w) => M.mapTaxRate(w) },
  trackingCategories: {
    path: '/TrackingCategories',
    key: 'TrackingCategories',
    paged: false,
    ims: false,
    document: false,
    query: { includeArchived: 'true' },
    map: (w) => M.mapTrackingCategory(w),
  },
  items: { path: '/Items', key: 'Items', paged: false, ims: false, document: false, query: { unitdp: '4' }, map: M.mapItem },
  customers: { path: '/Contacts', key: 'Contacts', where: 'IsCustomer==true', paged: true, ims: true, document: false, query: { includeArchived: 'true' }, map: M.mapCustomer },
  suppliers: { path: '/Contacts', key: 'Contacts', where: 'IsSupplier==true', paged: true, ims: true, document: false, query: { includeArchived: 'true' }, map: M.mapSupplier },
  invoices: { path: '/Invoices', key: 'Invoices', where: 'Type=="ACCREC"', paged: true, ims: true, document: true, query: { unitdp: '4' }, map: (w) => M.mapInvoice(w) },
  bills: { path: '/Invoices', key: 'Invoices', where: 'Type=="ACCPAY"', paged: true, ims: true, document: true, query: { unitdp: '4' }, map: (w) => M.mapBill(w) },
  creditNotes: { path: '/CreditNotes', key: 'CreditNotes', where: 'Type=="ACCRECCREDIT"', paged: true, ims: true, document: true, query: { unitdp: '4' }, map: (w) => M.mapCreditNote(w) },
  payments: {
    path: '/Payments',
    key: 'Payments',
    where: anyOf('PaymentType', AR_PAYMENTS),
    paged: true,
    ims: true,
    document: true,
    map: (w) => M.mapPayment(w),
    also: [
      { path: '/CreditNotes', key: 'CreditNotes', where: 'Type=="ACCRECCREDIT"', paged: true, ims: true, document: true, map: (w) => M.mapCreditNoteAllocations(w, 'customer') },
      ...onAccountLists('RECEIVE'),
    ],
  },
  billPayments: {
    path: '/Payments',
    key: 'Payments',
    where: anyOf('PaymentType', AP_PAYMENTS),
    paged: true,
    ims: true,
    document: true,
    map: (w) => M.mapBillPayment(w),
    also: [
      { path: '/CreditNotes', key: 'CreditNotes', where: 'Type=="ACCPAYCREDIT"', paged: true, ims: true, document: true, map: (w) => M.mapCreditNoteAllocations(w, 'supplier') },
      ...onAccountLists('SPEND'),
    ],
  },
  journalEntries: { path: '/ManualJournals', key: 'ManualJournals', paged: true, ims: true, document: true, map: M.mapJournalEntry },
  ...BANKING_LISTS,
  // Supplier credit notes and purchase orders (mappers-documents.ts). Xero's PurchaseOrders take no `where`.
  billCreditNotes: { path: '/CreditNotes', key: 'CreditNotes', where: 'Type=="ACCPAYCREDIT"', paged: true, ims: true, document: true, query: { unitdp: '4' }, map: (w) => mapBillCreditNote(w) },
  purchaseOrders: { path: '/PurchaseOrders', key: 'PurchaseOrders', paged: true, ims: true, document: true, map: (w) => mapPurchaseOrder(w) },
};

const SUPPORTED: readonly DataType[] = [...(Object.keys(LISTS) as DataType[]), 'company', 'balanceSheet', 'profitAndLoss', 'journals'];

/**
 * The connector's declared capabilities: the types Xero (`gbol`) reads, and the Sandbox (`mqjo`, which also reads the
 * cash-flow report Xero lacks). The integration registry lists exactly these (src/connectors/integrations.ts), so what
 * `/integrations`, first-link reads and schedules offer is what a pull runs.
 */
export const XERO_READ_TYPES: readonly DataType[] = SUPPORTED;
export const SANDBOX_READ_TYPES: readonly DataType[] = [...SUPPORTED, 'cashFlowStatement'];

/** Columns per report call: the current month plus 11 earlier ones. */
const MONTHS_PER_REPORT = 12;

export class XeroConnector implements Connector {
  readonly key: string;
  readonly tokenLifetimes: TokenLifetimes = { accessTokenSeconds: 1800, refreshTokenIdleDays: 60, refreshKeepsAlive: true };
  readonly maxConcurrentPullsPerConnection: number;
  /** The OAuth side of the Link flow (./link.ts), set where the operator's app is configured; the Sandbox has none. */
  oauthLinker?: OAuthLinker;
  /** Attachments and invoice PDFs, read live (files.ts). */
  readonly files: XeroFiles;
  protected readonly client: ApiClient;
  protected readonly tokens: TokenClient;
  protected readonly clock: Clock;
  protected readonly apiRoot: string;
  private readonly supported: ReadonlySet<DataType>;
  private readonly pageSize: number;
  private readonly overlapMs: number;

  constructor(protected readonly opts: XeroConnectorOptions) {
    this.key = opts.key ?? 'gbol';
    this.apiRoot = opts.apiUrl.replace(/\/+$/, '');
    this.supported = new Set<DataType>(opts.cashFlow ? SANDBOX_READ_TYPES : XERO_READ_TYPES);
    this.clock = opts.clock ?? systemClock;
    this.pageSize = Math.min(1000, Math.max(1, opts.pageSize ?? 1000));
    this.overlapMs = opts.overlapMs ?? 10 * 60_000;
    this.maxConcurrentPullsPerConnection = opts.maxConcurrentPullsPerConnection ?? 1;
    const timeouts = { requestTimeoutMs: opts.requestTimeoutMs ?? 30_000, retries: opts.retries ?? 3, retryBaseMs: opts.retryBaseMs ?? 500, sleep: opts.sleep ?? abortableSleep };
    this.tokens = new TokenClient({
      platform: this.key,
      tokenUrl: opts.tokenUrl,
      revocationUrl: opts.revocationUrl ?? opts.tokenUrl.replace(/\/token\/?$/, '/revocation'),
      ...(opts.clientId ? { clientId: opts.clientId } : {}),
      ...(opts.clientSecret ? { clientSecret: opts.clientSecret } : {}),
      refreshMarginMs: opts.refreshMarginMs ?? 5 * 60_000,
      refreshTokenIdleDays: this.tokenLifetimes.refreshTokenIdleDays,
      ...timeouts,
    });
    this.client = new ApiClient(
      {
        platform: this.key,
        apiUrl: `${this.apiRoot}/api.xro/2.0`,
        pauseBudgetMs: opts.pauseBudgetMs ?? 15 * 60_000,
        rateWindowMs: opts.rateWindowMs ?? 60_000,
        ...(opts.rateClock ? { rateClock: opts.rateClock } : {}),
        tenantHeaders: (tenantId) => ({ 'xero-tenant-id': tenantId }),
        remaining: (res) => intHeader(res, 'x-minlimit-remaining'),
        appRemaining: (res) => intHeader(res, 'x-appminlimit-remaining'),
        dayRemaining: (res) => intHeader(res, 'x-daylimit-remaining'),
        dayReserve: opts.dayReserve ?? 100,
        ...timeouts,
      },
      this.tokens,
      new TenantLimiter(opts.maxConcurrentCallsPerTenant ?? 1),
    );
    this.files = new XeroFiles(`${this.apiRoot}/api.xro/2.0`, this.tokens, opts.requestTimeoutMs ?? 30_000);
  }

  supports(dataType: DataType): boolean {
    return this.supported.has(dataType);
  }

  async validateCredentials(credentials: Credentials, signal: AbortSignal): Promise<{ credentials: Credentials; connectionInfo: Record<string, string> }> {
    const c = credentials as Partial<XeroCredentials>;
    if (!c.refreshToken || !c.tenantId) throw new AuthRevokedError('refreshToken and tenantId are required');
    const next = await this.tokens.refreshGrant(c.refreshToken, { clock: this.clock, signal });
    const out: XeroCredentials = { ...c, ...next, tenantId: c.tenantId };
    const res = await fetch(`${this.apiRoot}/connections`, { headers: { authorization: `Bearer ${out.accessToken}` }, signal });
    const list = res.ok ? ((await res.json()) as Wire[]) : [];
    const conn = list.find((x) => x.tenantId === c.tenantId);
    if (!conn) throw new AuthRevokedError(`tenant ${c.tenantId} is not among this grant's connections`);
    return { credentials: out, connectionInfo: { tenantId: c.tenantId, tenantName: str(conn.tenantName) ?? '' } };
  }

  async keepAlive(credentials: CredentialsStore, signal: AbortSignal): Promise<void> {
    const c = (await credentials.read()) as XeroCredentials;
    const ctx = this.context(c.tenantId, credentials, this.clock, signal, () => {});
    await this.tokens.refreshStored(ctx, c.accessToken, true);
  }

  /**
   * Deleting a connection (best effort; the caller logs failures): disconnects its tenant from the app
   * (`DELETE /connections/{id}`, which Xero's certification requires) with a valid access token, then revokes the
   * refresh token. Both are attempted; the first failure is thrown after both ran.
   */
  async revoke(credentials: Credentials, signal: AbortSignal): Promise<void> {
    const c = credentials as Partial<XeroCredentials> & { xeroConnectionId?: string };
    let failure: unknown;
    let refreshToken = c.refreshToken;
    if (c.xeroConnectionId) {
      try {
        let access = c.accessToken;
        if (!access || this.tokens.expiring(c, this.clock)) {
          if (!refreshToken) throw new AuthRevokedError('no refresh token stored');
          const next = await this.tokens.refreshGrant(refreshToken, { clock: this.clock, signal });
          access = next.accessToken;
          refreshToken = next.refreshToken;
        }
        await this.disconnectTenant(access, c.xeroConnectionId, signal);
      } catch (err) {
        failure = err;
      }
    }
    if (refreshToken) {
      try {
        await this.tokens.revoke(refreshToken, signal);
      } catch (err) {
        failure ??= err;
      }
    }
    if (failure) throw failure;
  }

  /** `DELETE /connections/{id}`: removes one tenant from the app's grant. 404 (already gone) counts as done. */
  async disconnectTenant(accessToken: string, xeroConnectionId: string, signal: AbortSignal): Promise<void> {
    const res = await fetch(`${this.apiRoot}/connections/${encodeURIComponent(xeroConnectionId)}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${accessToken}` },
      signal: AbortSignal.any([signal, AbortSignal.timeout(this.opts.requestTimeoutMs ?? 30_000)]),
    });
    await res.body?.cancel();
    if (res.status !== 204 && res.status !== 200 && res.status !== 404) throw new FetchFailedError(`DELETE /connections/${xeroConnectionId} answered HTTP ${res.status}`, res.status);
  }

  /** For the Link flow: the shared token client (client-authenticated code exchange) and the connector's clock. */
  get tokenClient(): TokenClient {
    return this.tokens;
  }
  get connectorClock(): Clock {
    return this.clock;
  }
  /** True when the app authenticates with a client secret; false → a public client (PKCE). */
  get hasClientSecret(): boolean {
    return Boolean(this.opts.clientSecret);
  }

  /**
   * One call for the organisation's base currency (statements and journal lines carry it), with freshly obtained
   * credentials; returns the credentials as they are after the call (a refresh may have rotated them).
   */
  async organisation(credentials: XeroCredentials, signal: AbortSignal): Promise<{ credentials: XeroCredentials; baseCurrency?: string }> {
    let current: Credentials = credentials;
    const store: CredentialsStore = { read: async () => current, refresh: async (fn) => (current = await fn(current)) };
    const ctx = this.context(credentials.tenantId, store, this.clock, signal, () => {});
    const org = arr((await this.client.get(ctx, '/Organisation')).Organisations)[0];
    const currency = str(org?.BaseCurrency);
    return { credentials: current as XeroCredentials, ...(currency ? { baseCurrency: currency } : {}) };
  }

  protected context(tenantId: string, credentials: CredentialsStore, clock: Clock, signal: AbortSignal, reportPause: (d: Date | null) => void): CallContext {
    return { tenantId, credentials, clock, signal, reportPause, calls: 0, pausedMs: 0 };
  }

  async *pull(req: PullRequest): AsyncGenerator<SourceRecord[], PullOutcome, void> {
    if (!this.supports(req.dataType)) {
      const platform = this.key === 'gbol' ? 'Xero' : 'the Sandbox';
      // Xero has quotes (estimates a customer may accept) but no sales orders, and Codat reads none from it.
      if (req.dataType === 'salesOrders') throw new NotSupportedError(`${platform} has no sales orders (Xero's Quotes are estimates, not orders)`);
      throw new NotSupportedError(`${platform} does not provide ${req.dataType}`);
    }
    const tenantId = req.connectionInfo.tenantId ?? ((await req.credentials.read()) as XeroCredentials).tenantId;
    if (!tenantId) throw new AuthRevokedError('the connection has no tenant id');
    const ctx = this.context(tenantId, req.credentials, req.clock, req.signal, (d) => req.reportPause(d));
    const mapCtx: M.MapContext = { ...(req.connectionInfo.baseCurrency ? { baseCurrency: req.connectionInfo.baseCurrency } : {}) };
    let outcome: PullOutcome;
    if (req.dataType === 'company') {
      const body = await this.client.get(ctx, '/Organisation');
      const org = arr(body.Organisations)[0];
      if (!org) throw new MappingError('Organisation response is empty');
      yield [M.mapCompany(org, tenantId, req.clock.now().getTime())];
      outcome = { cursor: undefined, fullListing: true };
    } else if (isStatementType(req.dataType)) {
      outcome = yield* this.pullStatements(req, ctx, mapCtx);
    } else if (req.dataType === 'journals') {
      outcome = yield* pullJournals(this.client, req, ctx);
    } else {
      outcome = yield* this.pullList(req, ctx, mapCtx, LISTS[req.dataType]!);
    }
    req.reportProgress(100);
    return { ...outcome, calls: ctx.calls };
  }

  private async *pullList(req: PullRequest, ctx: CallContext, mapCtx: M.MapContext, kind: ListKind): AsyncGenerator<SourceRecord[], PullOutcome, void> {
    const incremental = kind.ims && req.cursor !== undefined && !req.full;
    let since: number | undefined;
    if (incremental) {
      const c = Date.parse(req.cursor!);
      if (Number.isNaN(c)) throw new MappingError(`unreadable cursor ${req.cursor}`);
      since = c - this.overlapMs;
    }
    if (kind.document && req.window.syncFrom) since = Math.max(since ?? -Infinity, req.window.syncFrom.getTime());
    if (req.dataType === 'items') {
      // Item details carry account codes only; one call for the chart turns them into references with ids.
      const accounts = arr((await this.client.get(ctx, '/Accounts')).Accounts);
      mapCtx.accountsByCode = new Map(accounts.flatMap((a) => (str(a.Code) && str(a.AccountID) ? [[str(a.Code)!, { id: str(a.AccountID)!, name: str(a.Name) ?? '' }]] : [])));
    }
    if (kind.prepare) await kind.prepare((path, query) => this.client.get(ctx, path, query), mapCtx);
    let cursor: string | undefined;
    for (const k of [kind, ...(kind.also ?? [])]) {
      const c = yield* this.listPages(req, ctx, mapCtx, k, since);
      cursor ??= c;
    }
    return { cursor, fullListing: !incremental };
  }

  /** One listing (all its pages); returns the platform's clock at its start when the endpoint filters by IMS. */
  private async *listPages(req: PullRequest, ctx: CallContext, mapCtx: M.MapContext, kind: ListKind, since: number | undefined): AsyncGenerator<SourceRecord[], string | undefined, void> {
    const query: Record<string, string | number | undefined> = { ...(kind.query ?? {}), where: kind.where };
    let cursor: string | undefined;
    // Paged listings come in UpdatedDateUTC order (Xero's default). A record edited between two page calls moves to
    // the end, so every record after it moves up one place and the first record of the next page slides onto the
    // page already read: skipped (and, in a full listing, falsely reconciled as deleted). The edited record shows up
    // again at the end of this listing with an UpdatedDateUTC after the listing's start, which is how the skip is
    // detected; then, for each page fetched after that edit, one more call from the previous page's last
    // UpdatedDateUTC (If-Modified-Since, page 1) re-reads the place where records may have slid past. Duplicates
    // are harmless (the store keeps the latest version of an id seen twice). Without edits: no extra call.
    const pages: { lastMs: number | undefined; callMs: number | undefined }[] = [];
    let listStart: number | undefined;
    let editedAfter: number | undefined;
    const imsHeader = (ms: number | undefined): Record<string, string> => (kind.ims && ms !== undefined ? { 'if-modified-since': new Date(ms).toISOString() } : {});
    const mapAll = (wires: Wire[]) =>
      wires.flatMap((w) => {
        const r = kind.map(w, mapCtx);
        return Array.isArray(r) ? r : [r];
      });
    // One call, parsed and mapped; the parsed wire page is dropped here, before its records are handed on, so that
    // while the caller stages them (and this generator fetches the next page) only the mapped records are held.
    const fetchPage = async (page: number) => {
      const body = await this.client.get(ctx, kind.path, kind.paged ? { ...query, page, pageSize: this.pageSize } : query, imsHeader(since));
      const callMs = parseXeroDate(body.DateTimeUTC);
      const raw = body[kind.key];
      if (!Array.isArray(raw)) throw new FetchFailedError(`${kind.path}: response has no ${kind.key} array`);
      const wires = arr(raw);
      const updated = wires.map((w) => parseXeroDate(w.UpdatedDateUTC));
      const pageCount = num(obj(body.pagination)?.pageCount);
      return { records: mapAll(wires), callMs, updated, lastMs: updated[updated.length - 1], rawLength: raw.length, pageCount };
    };
    for (let page = 1; ; page++) {
      let p: Awaited<ReturnType<typeof fetchPage>> | undefined = await fetchPage(page);
      const { callMs, rawLength, pageCount } = p;
      if (page === 1) {
        listStart = callMs;
        // The next incremental pull starts from the platform's clock at the start of this listing.
        if (kind.ims) cursor = callMs === undefined ? undefined : new Date(callMs).toISOString();
      }
      if (kind.paged && listStart !== undefined) {
        for (const u of p.updated) {
          if (u !== undefined && u > listStart && (editedAfter === undefined || u < editedAfter)) editedAfter = u;
        }
        pages.push({ lastMs: p.lastMs, callMs });
      }
      const records = p.records;
      p = undefined;
      if (records.length) yield records;
      if (pageCount) req.reportProgress(Math.min(99, Math.floor((page / pageCount) * 100)));
      if (!kind.paged || rawLength < this.pageSize || (pageCount !== undefined && page >= pageCount)) break;
    }
    if (editedAfter !== undefined && kind.ims) {
      for (let p = 1; p < pages.length; p++) {
        const prevLast = pages[p - 1]!.lastMs;
        const callMs = pages[p]!.callMs;
        if (prevLast === undefined || (callMs !== undefined && callMs < editedAfter)) continue;
        const body = await this.client.get(ctx, kind.path, { ...query, page: 1, pageSize: this.pageSize }, imsHeader(Math.max(prevLast, since ?? -Infinity)));
        const records = mapAll(arr(body[kind.key]));
        if (records.length) yield records;
      }
    }
    return cursor;
  }

  private async *pullStatements(req: PullRequest, ctx: CallContext, mapCtx: M.MapContext): AsyncGenerator<SourceRecord[], PullOutcome, void> {
    const months = Math.max(1, Math.min(240, Math.floor(req.window.monthsToSync ?? 24)));
    const end = monthIndex(req.clock.now().getTime());
    const path = req.dataType === 'balanceSheet' ? '/Reports/BalanceSheet' : req.dataType === 'profitAndLoss' ? '/Reports/ProfitAndLoss' : '/Reports/CashFlow';
    const iso = (ms: number) => new Date(ms).toISOString().slice(0, 10);
    // Lines are classified by their account's Class and Type (section titles are worded by edition and locale): one
    // call for the chart of accounts, archived ones included.
    const kinds = req.dataType === 'cashFlowStatement' ? new Map() : accountKinds(arr((await this.client.get(ctx, '/Accounts')).Accounts));
    for (let done = 0; done < months; done += MONTHS_PER_REPORT) {
      const chunkEnd = end - done;
      const cols = Math.min(MONTHS_PER_REPORT, months - done);
      // `periods` is 1–12 in Xero's spec: a single column is asked for without it.
      const compare = cols > 1 ? { periods: cols - 1 } : {};
      const query =
        req.dataType === 'balanceSheet'
          ? { date: iso(monthLast(chunkEnd)), ...compare, timeframe: 'MONTH' }
          : { fromDate: iso(monthFirst(chunkEnd)), toDate: iso(monthLast(chunkEnd)), ...compare, timeframe: 'MONTH' };
      const report = firstReport(await this.client.get(ctx, path, query));
      checkColumns(report, cols);
      const out: SourceRecord[] = [];
      for (let c = 1; c <= cols; c++) {
        const month = chunkEnd - (c - 1);
        const currency = mapCtx.baseCurrency ? { currency: mapCtx.baseCurrency } : {};
        const data =
          req.dataType === 'balanceSheet'
            ? { ...currency, ...balanceSheetPeriod(report, c, month, kinds) }
            : req.dataType === 'profitAndLoss'
              ? { ...currency, reportBasis: 'Accrual', ...profitAndLossPeriod(report, c, month, kinds) }
              : { ...currency, reportBasis: 'Cash', reportInput: 'Direct', ...cashFlowPeriod(report, c, month) };
        out.push({ id: monthKey(month), data, sourceModifiedDate: null, deleted: false });
      }
      yield out;
      req.reportProgress(Math.min(99, Math.floor(((done + cols) / months) * 100)));
    }
    return { cursor: undefined, fullListing: true };
  }
}

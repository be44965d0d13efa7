/**
 * The QuickBooks Online connector: `qhyg` (production) and `ndsk` (sandbox), the same code with separate client
 * credentials and base URLs (source-platforms.md §2, §5.2).
 *
 * Reading. A first pull, a periodic reconciliation, a cursor older than 29 days, or a CDC answer of 1,000 objects for
 * the entity → a full listing through the query endpoint (`SELECT * FROM <Entity> [WHERE Active IN (true,false)] …
 * ORDERBY MetaData.LastUpdatedTime`), paged by the last seen LastUpdatedTime (`>=`, ids already seen are skipped) so
 * that a record edited between two pages — which moves to the end of the order — can neither push an unseen record
 * into a page already read nor be missed; the engine then reconciles ids (a record not listed is deleted: QuickBooks
 * hard-deletes transactions). Otherwise an incremental pull is ONE Change Data Capture call since the cursor: changed
 * objects with their full payloads, and deleted ones (`status: "Deleted"`) as deletions. The cursor is QuickBooks'
 * own `time` of the first response. TaxCode/TaxRate and Class/Department are small and always listed in full (CDC
 * does not cover tax).
 */
import { systemClock, type Clock } from '../../lib/clock.js';
import { OAuthLinkError, type OAuthLinker } from '../../domain/oauth-link.js';
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
import { abortableSleep, QboClient, RELINK, type CallContext, type QboCredentials } from './client.js';
import * as M from './mappers.js';
import * as X from './mappers-more.js';
import { balanceSheetPeriod, monthColumns, monthFirst, monthIndex, monthKey, monthLast, profitAndLossPeriod, reportDay } from './statements.js';
import { arr, obj, parseQboInstant, qboLiteral, str, type Wire } from './wire.js';

export const QBO_SCOPE = 'com.intuit.quickbooks.accounting';
export const QBO_DEFAULTS = {
  authorizeUrl: 'https://appcenter.intuit.com/connect/oauth2',
  tokenUrl: 'https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer',
  apiUrl: 'https://quickbooks.api.intuit.com',
  sandboxApiUrl: 'https://sandbox-quickbooks.api.intuit.com',
} as const;

/** Intuit's revocation endpoint, beside the token endpoint (…/tokens/bearer → …/tokens/revoke). */
export const revokeUrlFor = (tokenUrl: string): string => tokenUrl.replace(/\/tokens\/bearer\/?$/, '/tokens/revoke');

export interface QboConnectorOptions {
  key: 'qhyg' | 'ndsk';
  clientId: string;
  clientSecret: string;
  /** API root; `/v3/company/{realmId}/…` is appended. */
  apiUrl: string;
  tokenUrl?: string;
  revokeUrl?: string;
  authorizeUrl?: string;
  clock?: Clock;
  /** MAXRESULTS per query page (1–1000, default 1000). */
  pageSize?: number;
  minorVersion?: number;
  /** Total time a pull may spend paused on throttles since its last successful call (default 15 min). */
  pauseBudgetMs?: number;
  /** Wait after a throttle (QuickBooks sends no Retry-After; default 60 s). */
  throttleWaitMs?: number;
  /** Pacing per realm from this process (defaults 8/s, 450/min, 1 in flight: under Intuit's 10/s, 500/min, 10). */
  perSecond?: number;
  perMinute?: number;
  concurrentPerRealm?: number;
  maxConcurrentPullsPerConnection?: number;
  requestTimeoutMs?: number;
  retries?: number;
  retryBaseMs?: number;
  refreshMarginMs?: number;
  /** CDC looks back at most 30 days; a cursor older than this many days gets a full listing instead (default 29). */
  cdcMaxAgeDays?: number;
  /** Subtracted from the cursor before a CDC call (default 60 s). */
  overlapMs?: number;
  /** Test hook: how to wait (throttle pauses, retry backoff, pacing). Default: real timers. */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /**
   * The clock Intuit's per-realm rate windows run on (default: real time). Tests share one with the simulator's
   * `rateClock` and give a `sleep` that moves it, so pacing runs without wall-clock waits.
   */
  rateClock?: Clock;
}

interface ListKind {
  entity: string;
  /** Further entities read into the same type (direct incomes: sales receipts and refund receipts). */
  more?: readonly string[];
  nameList: boolean;
  /** Extra WHERE conditions of the listing. */
  where?: string;
  /** Rows of a CDC answer that belong to this type. */
  keep?: (w: Wire) => boolean;
  map: (w: Wire, ctx: M.MapContext, entity: string) => SourceRecord;
  /** Documents honour window.syncFrom. */
  document: boolean;
}

const isBank = (w: Wire) => w.AccountType === 'Bank' || w.AccountType === 'Credit Card';

const LISTS: Partial<Record<DataType, ListKind>> = {
  chartOfAccounts: { entity: 'Account', nameList: true, map: M.mapAccount, document: false },
  bankAccounts: { entity: 'Account', nameList: true, where: "AccountType IN ('Bank', 'Credit Card')", keep: isBank, map: M.mapBankAccount, document: false },
  customers: { entity: 'Customer', nameList: true, map: M.mapCustomer, document: false },
  suppliers: { entity: 'Vendor', nameList: true, map: M.mapSupplier, document: false },
  items: { entity: 'Item', nameList: true, map: (w) => M.mapItem(w), document: false },
  invoices: { entity: 'Invoice', nameList: false, map: (w) => M.mapInvoice(w), document: true },
  creditNotes: { entity: 'CreditMemo', nameList: false, map: (w) => M.mapCreditMemo(w), document: true },
  payments: { entity: 'Payment', nameList: false, map: (w) => M.mapPayment(w), document: true },
  bills: { entity: 'Bill', nameList: false, map: (w) => M.mapBill(w), document: true },
  billPayments: { entity: 'BillPayment', nameList: false, map: (w) => M.mapBillPayment(w), document: true },
  journalEntries: { entity: 'JournalEntry', nameList: false, map: M.mapJournalEntry, document: true },
  // issue 15 (mappers-more.ts)
  paymentMethods: { entity: 'PaymentMethod', nameList: true, map: (w) => X.mapPaymentMethod(w), document: false },
  purchaseOrders: { entity: 'PurchaseOrder', nameList: false, map: X.mapPurchaseOrder, document: true },
  billCreditNotes: { entity: 'VendorCredit', nameList: false, map: X.mapVendorCredit, document: true },
  transfers: { entity: 'Transfer', nameList: false, map: X.mapTransfer, document: true },
  directCosts: { entity: 'Purchase', nameList: false, map: X.mapPurchase, document: true },
  // Codat counts refund receipts as (negative) direct incomes.
  directIncomes: { entity: 'SalesReceipt', more: ['RefundReceipt'], nameList: false, map: (w, ctx, entity) => (entity === 'RefundReceipt' ? X.mapRefundReceipt(w, ctx) : X.mapSalesReceipt(w, ctx)), document: true },
};

/**
 * Why the accounting types QuickBooks Online has no faithful source for are NotSupported (they are not in the
 * integration's data types either, so a refresh ends NotSupported when it is queued).
 */
export const QBO_NOT_SUPPORTED: Partial<Record<DataType, string>> = {
  cashFlowStatement: 'has only an indirect-method cash flow report, which does not map to the model\'s cash receipts and payments',
  journals:
    'has no books of the ledger: its journal codes exist only for French companies, and its journal entries are read as journalEntries (Codat maps QuickBooks JournalEntry to journal entries, not to journals)',
  salesOrders: 'has no sales orders (its estimates are quotes, not orders)',
  bankTransactions: 'exposes no bank statement lines through its Accounting API (bank-feed transactions are not readable), so bank transactions have no faithful source',
  accountTransactions:
    'has no account-transaction entity: bank activity is spread over expenses, sales receipts, deposits, transfers, payments and bill payments, which are read as their own types',
};

const SUPPORTED: ReadonlySet<DataType> = new Set<DataType>([...(Object.keys(LISTS) as DataType[]), 'company', 'taxRates', 'trackingCategories', 'balanceSheet', 'profitAndLoss']);
/** The connector's declared capabilities, which the integration registry lists for qhyg and ndsk (integrations.ts). */
export const QBO_READ_TYPES: readonly DataType[] = [...SUPPORTED];

/** Months of columns per report call (QuickBooks answers slowly and partially beyond about six). */
const MONTHS_PER_REPORT = 6;
const CDC_CAP = 1000;

export class QboConnector implements Connector {
  readonly key: 'qhyg' | 'ndsk';
  readonly name: string;
  readonly tokenLifetimes: TokenLifetimes = { accessTokenSeconds: 3600, refreshTokenIdleDays: 100, refreshKeepsAlive: true };
  readonly maxConcurrentPullsPerConnection: number;
  readonly client: QboClient;
  readonly oauthLinker: OAuthLinker;
  private readonly clock: Clock;
  private readonly pageSize: number;

  constructor(private readonly opts: QboConnectorOptions) {
    this.key = opts.key;
    this.name = opts.key === 'ndsk' ? 'QuickBooks Online Sandbox' : 'QuickBooks Online';
    this.clock = opts.clock ?? systemClock;
    this.pageSize = Math.min(1000, Math.max(1, opts.pageSize ?? 1000));
    this.maxConcurrentPullsPerConnection = opts.maxConcurrentPullsPerConnection ?? 1;
    const tokenUrl = opts.tokenUrl ?? QBO_DEFAULTS.tokenUrl;
    this.client = new QboClient({
      platform: opts.key,
      apiUrl: opts.apiUrl.replace(/\/+$/, ''),
      tokenUrl,
      revokeUrl: opts.revokeUrl ?? revokeUrlFor(tokenUrl),
      clientId: opts.clientId,
      clientSecret: opts.clientSecret,
      minorVersion: opts.minorVersion ?? 75,
      pauseBudgetMs: opts.pauseBudgetMs ?? 15 * 60_000,
      throttleWaitMs: opts.throttleWaitMs ?? 60_000,
      requestTimeoutMs: opts.requestTimeoutMs ?? 120_000,
      retries: opts.retries ?? 3,
      retryBaseMs: opts.retryBaseMs ?? 500,
      refreshMarginMs: opts.refreshMarginMs ?? 5 * 60_000,
      refreshTokenIdleDays: 100,
      perSecond: opts.perSecond ?? 8,
      perMinute: opts.perMinute ?? 450,
      concurrentPerRealm: opts.concurrentPerRealm ?? 1,
      sleep: opts.sleep ?? abortableSleep,
      ...(opts.rateClock ? { rateClock: opts.rateClock } : {}),
    });
    this.oauthLinker = this.linker();
  }

  /**
   * The Link flow's QuickBooks side: Intuit's authorize URL (no PKCE), the code exchange with Basic client auth, the
   * realm named on the callback checked with a CompanyInfo read. One authorization grants one realm, so there is
   * nothing to choose and nothing to disconnect; re-linking a connection binds the same realm (the Link flow compares
   * `tenantId`, which is the realmId).
   */
  private linker(): OAuthLinker {
    return {
      pkce: false,
      authorizeUrl: (a) => this.authorizeUrl(a),
      exchange: async ({ code, redirectUri, callback, signal }) => {
        const realmId = callback?.realmId;
        if (!realmId || !/^\d{1,32}$/.test(realmId)) throw new OAuthLinkError('platform_error', `${this.name} returned no realmId with the authorization code`);
        let creds: QboCredentials;
        try {
          creds = await this.exchangeCode({ code, redirectUri, realmId, signal });
        } catch (err) {
          if (err instanceof AuthRevokedError) throw new OAuthLinkError('invalid_grant', err.message, err.statusCode);
          throw new OAuthLinkError('platform_error', (err as Error).message);
        }
        let bound: Awaited<ReturnType<QboConnector['bindRealm']>>;
        try {
          bound = await this.bindRealm(creds, signal);
        } catch (err) {
          // The tokens are useless for this integration: give them back (best effort).
          await this.client.revoke(creds.refreshToken, signal).catch(() => {});
          if (err instanceof WrongEnvironmentError) throw new OAuthLinkError('wrong_environment', err.message, 403);
          throw new OAuthLinkError('platform_error', (err as Error).message);
        }
        return {
          credentials: { ...bound.credentials, connectionInfo: bound.connectionInfo },
          hasRefreshToken: true,
          tenants: [{ tenantId: realmId, tenantName: bound.connectionInfo.tenantName ?? '', connectionId: realmId }],
          scopes: [QBO_SCOPE],
        };
      },
      bind: async (grant) => {
        const { connectionInfo, ...credentials } = grant.credentials as QboCredentials & { connectionInfo: Record<string, string> };
        return { credentials, connectionInfo };
      },
      disconnect: async () => {},
    };
  }

  supports(dataType: DataType): boolean {
    return SUPPORTED.has(dataType);
  }

  private context(realmId: string, credentials: CredentialsStore, clock: Clock, signal: AbortSignal, reportPause: (d: Date | null) => void): CallContext {
    return { realmId, credentials, clock, signal, reportPause, calls: 0, pausedMs: 0 };
  }

  // ----- linking -----------------------------------------------------------------------------------------------------

  /** Intuit's authorize URL (no PKCE: the client authenticates with its secret on the token call). */
  authorizeUrl(args: { state: string; redirectUri: string }): string {
    const u = new URL(this.opts.authorizeUrl ?? QBO_DEFAULTS.authorizeUrl);
    u.searchParams.set('client_id', this.opts.clientId);
    u.searchParams.set('response_type', 'code');
    u.searchParams.set('scope', QBO_SCOPE);
    u.searchParams.set('redirect_uri', args.redirectUri);
    u.searchParams.set('state', args.state);
    return u.toString();
  }

  /** Exchanges an authorization code (Basic client auth) for the realm named on the callback. */
  async exchangeCode(args: { code: string; redirectUri: string; realmId: string; signal: AbortSignal }): Promise<QboCredentials> {
    const next = await this.client.tokenRequest({ grant_type: 'authorization_code', code: args.code, redirect_uri: args.redirectUri }, { clock: this.clock, signal: args.signal });
    return { ...next.credentials, realmId: args.realmId } as QboCredentials;
  }

  /**
   * Checks that the credentials read the realm (one CompanyInfo call, and Preferences for the base currency) and
   * returns what to store. A realm of the other environment answers Fault 3100: WrongEnvironmentError.
   */
  async bindRealm(credentials: QboCredentials, signal: AbortSignal): Promise<{ credentials: QboCredentials; connectionInfo: Record<string, string> }> {
    let current: Credentials = credentials;
    const store: CredentialsStore = { read: async () => current, refresh: async (fn) => (current = await fn(current)) };
    const ctx = this.context(credentials.realmId, store, this.clock, signal, () => {});
    let info: Wire | undefined;
    try {
      info = obj((await this.client.get(ctx, `/companyinfo/${encodeURIComponent(credentials.realmId)}`)).CompanyInfo);
    } catch (err) {
      if (err instanceof AuthRevokedError && /Fault 3100/.test(err.message)) {
        throw new WrongEnvironmentError(
          `QuickBooks company ${credentials.realmId} does not belong to the ${this.key === 'ndsk' ? 'sandbox' : 'production'} environment of ${this.name} (Fault 3100). ${this.key === 'ndsk' ? 'Link a production company with the QuickBooks Online integration (qhyg).' : 'Link a sandbox company with the QuickBooks Online Sandbox integration (ndsk).'}`,
        );
      }
      throw err;
    }
    if (!info) throw new FetchFailedError('CompanyInfo response is empty');
    const prefs = obj((await this.client.get(ctx, '/preferences')).Preferences);
    const currency = str(obj(obj(prefs?.CurrencyPrefs)?.HomeCurrency)?.value);
    const connectionInfo: Record<string, string> = { realmId: credentials.realmId, tenantId: credentials.realmId, tenantName: str(info.CompanyName) ?? '' };
    if (currency) connectionInfo.baseCurrency = currency;
    return { credentials: current as QboCredentials, connectionInfo };
  }

  async validateCredentials(credentials: Credentials, signal: AbortSignal): Promise<{ credentials: Credentials; connectionInfo: Record<string, string> }> {
    const c = credentials as Partial<QboCredentials>;
    if (!c.refreshToken || !c.realmId) throw new AuthRevokedError('refreshToken and realmId are required');
    const next = await this.client.tokenRequest({ grant_type: 'refresh_token', refresh_token: c.refreshToken }, { clock: this.clock, signal });
    return this.bindRealm({ ...c, ...next.credentials, realmId: c.realmId } as QboCredentials, signal);
  }

  async keepAlive(credentials: CredentialsStore, signal: AbortSignal): Promise<void> {
    const c = (await credentials.read()) as QboCredentials;
    const ctx = this.context(c.realmId, credentials, this.clock, signal, () => {});
    await this.client.refresh(ctx, c.accessToken, true);
  }

  async revoke(credentials: Credentials, signal: AbortSignal): Promise<void> {
    const c = credentials as Partial<QboCredentials>;
    const token = c.refreshToken ?? c.accessToken;
    if (token) await this.client.revoke(token, signal);
  }

  // ----- reading -----------------------------------------------------------------------------------------------------

  async *pull(req: PullRequest): AsyncGenerator<SourceRecord[], PullOutcome, void> {
    if (!this.supports(req.dataType)) {
      throw new NotSupportedError(`${this.name} ${QBO_NOT_SUPPORTED[req.dataType] ?? `does not provide ${req.dataType}`}`);
    }
    const realmId = req.connectionInfo.realmId ?? ((await req.credentials.read()) as QboCredentials).realmId;
    if (!realmId) throw new AuthRevokedError(`the connection has no QuickBooks realmId. ${RELINK}`);
    const ctx = this.context(realmId, req.credentials, req.clock, req.signal, (d) => req.reportPause(d));
    const mapCtx: M.MapContext = { realmId, ...(req.connectionInfo.baseCurrency ? { baseCurrency: req.connectionInfo.baseCurrency } : {}) };
    let outcome: PullOutcome;
    try {
      if (req.dataType === 'company') {
        const info = obj((await this.client.get(ctx, `/companyinfo/${encodeURIComponent(realmId)}`)).CompanyInfo);
        if (!info) throw new MappingError('CompanyInfo response is empty');
        const prefs = obj((await this.client.get(ctx, '/preferences')).Preferences);
        yield [M.mapCompany(info, prefs, mapCtx, req.clock.now().getTime())];
        outcome = { cursor: undefined, fullListing: true };
      } else if (isStatementType(req.dataType)) {
        outcome = yield* this.pullStatements(req, ctx);
      } else if (req.dataType === 'taxRates') {
        const codes = await this.listAll(ctx, 'TaxCode', true);
        const rates = new Map((await this.listAll(ctx, 'TaxRate', true)).rows.map((r) => [String(r.Id), r]));
        yield codes.rows.map((c) => M.mapTaxCode(c, rates));
        outcome = { cursor: undefined, fullListing: true };
      } else if (req.dataType === 'trackingCategories') {
        const classes = await this.listAll(ctx, 'Class', true);
        const departments = await this.listAll(ctx, 'Department', true);
        yield [...M.mapTrackingList('Class', classes.rows), ...M.mapTrackingList('Department', departments.rows)];
        outcome = { cursor: undefined, fullListing: true };
      } else {
        outcome = yield* this.pullList(req, ctx, mapCtx, LISTS[req.dataType]!);
      }
    } catch (err) {
      // Quote Intuit's request id with any failure of this dataset, for Intuit support.
      if (err instanceof Error && ctx.lastTid && !err.message.includes('intuit_tid=')) err.message += ` (last intuit_tid=${ctx.lastTid})`;
      throw err;
    }
    req.reportProgress(100);
    return { ...outcome, calls: ctx.calls };
  }

  private mapRows(rows: Wire[], kind: ListKind, mapCtx: M.MapContext, entity = kind.entity): SourceRecord[] {
    const out: SourceRecord[] = [];
    for (const w of rows) {
      if (M.isTombstone(w)) out.push(M.tombstone(w));
      else {
        try {
          out.push(kind.map(w, mapCtx, entity));
        } catch (err) {
          throw new MappingError(`${entity} ${String(w.Id)}: ${(err as Error).message}`);
        }
      }
    }
    return out;
  }

  private async *pullList(req: PullRequest, ctx: CallContext, mapCtx: M.MapContext, kind: ListKind): AsyncGenerator<SourceRecord[], PullOutcome, void> {
    const now = req.clock.now().getTime();
    const syncFrom = kind.document && req.window.syncFrom ? req.window.syncFrom.getTime() : undefined;
    if (req.cursor !== undefined && !req.full) {
      const cursorMs = parseQboInstant(req.cursor);
      if (cursorMs === undefined) throw new MappingError(`unreadable cursor ${req.cursor}`);
      const maxAge = (this.opts.cdcMaxAgeDays ?? 29) * 86_400_000;
      if (now - cursorMs <= maxAge) {
        const since = Math.max(cursorMs - (this.opts.overlapMs ?? 60_000), syncFrom ?? -Infinity);
        const entities = [kind.entity, ...(kind.more ?? [])];
        // One CDC call covers every entity of the type.
        const body = await this.client.get(ctx, '/cdc', { entities: entities.join(','), changedSince: qboLiteral(since) });
        const responses = arr(arr(body.CDCResponse)[0]?.QueryResponse);
        const byEntity = entities.map((e) => [e, responses.flatMap((r) => arr(r[e]))] as const);
        if (byEntity.every(([, rows]) => rows.length < CDC_CAP)) {
          for (const [entity, rows] of byEntity) {
            const kept = kind.keep ? rows.filter((w) => M.isTombstone(w) || kind.keep!(w)) : rows;
            const records = this.mapRows(kept, kind, mapCtx, entity);
            if (records.length) yield records;
          }
          return { cursor: str(body.time) ?? req.cursor, fullListing: false };
        }
        // CDC has no paging: a full answer may have left changes out. List everything and reconcile ids instead.
      }
      // The cursor is older than CDC's look-back: deletions since then can only be found by reconciling ids.
    }
    // The cursor is the time of the first answer: anything changed after it is seen by the next CDC call.
    let cursor: string | undefined;
    for (const entity of [kind.entity, ...(kind.more ?? [])]) {
      for await (const page of this.listPages(ctx, entity, kind.nameList, kind.where, syncFrom)) {
        cursor ??= page.time;
        const records = this.mapRows(page.rows, kind, mapCtx, entity);
        if (records.length) yield records;
      }
    }
    return { cursor, fullListing: true };
  }

  /**
   * Pages of a listing ordered by LastUpdatedTime, keyed on it: each page asks for rows updated at or after the last
   * row of the previous one, and rows already seen (same id and time) are dropped. Only a run of more than a page of
   * rows sharing one second falls back to STARTPOSITION within that second.
   */
  private async *listPages(ctx: CallContext, entity: string, nameList: boolean, where: string | undefined, sinceMs: number | undefined): AsyncGenerator<{ rows: Wire[]; time: string | undefined }> {
    const seen = new Map<string, string>();
    let boundary: string | undefined = sinceMs === undefined ? undefined : qboLiteral(sinceMs);
    let offset = 0;
    for (;;) {
      const conds = [nameList ? 'Active IN (true,false)' : undefined, where, boundary ? `MetaData.LastUpdatedTime >= '${boundary}'` : undefined].filter(Boolean);
      const query = `SELECT * FROM ${entity}${conds.length ? ` WHERE ${conds.join(' AND ')}` : ''} ORDERBY MetaData.LastUpdatedTime STARTPOSITION ${offset + 1} MAXRESULTS ${this.pageSize}`;
      const body = await this.client.get(ctx, '/query', { query });
      const qr = obj(body.QueryResponse);
      if (!qr) throw new FetchFailedError(`query ${entity}: response has no QueryResponse`);
      const rows = arr(qr[entity]);
      const fresh = rows.filter((r) => {
        const key = String(r.Id);
        const t = String(obj(r.MetaData)?.LastUpdatedTime ?? '');
        if (seen.get(key) === t) return false;
        seen.set(key, t);
        return true;
      });
      yield { rows: fresh, time: str(body.time) };
      if (rows.length < this.pageSize) return;
      const last = String(obj(rows[rows.length - 1]!.MetaData)?.LastUpdatedTime ?? '');
      const lastMs = parseQboInstant(last);
      if (lastMs === undefined) throw new MappingError(`${entity} ${String(rows[rows.length - 1]!.Id)} has no readable LastUpdatedTime`);
      const allTied = rows.every((r) => parseQboInstant(obj(r.MetaData)?.LastUpdatedTime) === lastMs);
      const next = qboLiteral(lastMs);
      if (allTied && boundary === next) offset += rows.length;
      else {
        boundary = next;
        offset = allTied ? rows.length : 0;
      }
    }
  }

  /** Every row of a (small) entity. */
  private async listAll(ctx: CallContext, entity: string, nameList: boolean): Promise<{ rows: Wire[]; time: string | undefined }> {
    const rows: Wire[] = [];
    let time: string | undefined;
    for await (const page of this.listPages(ctx, entity, nameList, undefined, undefined)) {
      time ??= page.time;
      rows.push(...page.rows);
    }
    return { rows, time };
  }

  private async *pullStatements(req: PullRequest, ctx: CallContext): AsyncGenerator<SourceRecord[], PullOutcome, void> {
    const months = Math.max(1, Math.min(240, Math.floor(req.window.monthsToSync ?? 24)));
    const end = monthIndex(req.clock.now().getTime());
    const report = req.dataType === 'balanceSheet' ? 'BalanceSheet' : 'ProfitAndLoss';
    const currency = req.connectionInfo.baseCurrency ? { currency: req.connectionInfo.baseCurrency } : {};
    for (let done = 0; done < months; done += MONTHS_PER_REPORT) {
      const chunkEnd = end - done;
      const cols = Math.min(MONTHS_PER_REPORT, months - done);
      const chunkStart = chunkEnd - cols + 1;
      const body = await this.client.get(ctx, `/reports/${report}`, {
        start_date: reportDay(monthFirst(chunkStart)),
        end_date: reportDay(monthLast(chunkEnd)),
        summarize_column_by: 'Month',
        accounting_method: 'Accrual',
      });
      const columns = monthColumns(body);
      const out: SourceRecord[] = [];
      for (const [col, month] of columns) {
        if (month < chunkStart || month > chunkEnd) continue;
        const data = report === 'BalanceSheet' ? { ...currency, ...balanceSheetPeriod(body, col, month) } : { ...currency, reportBasis: 'Accrual', ...profitAndLossPeriod(body, col, month) };
        out.push({ id: monthKey(month), data, sourceModifiedDate: null, deleted: false });
      }
      if (out.length !== cols) throw new MappingError(`${report} ${reportDay(monthFirst(chunkStart))}..${reportDay(monthLast(chunkEnd))}: ${out.length} month columns, expected ${cols}`);
      yield out;
      req.reportProgress(Math.min(99, Math.floor(((done + cols) / months) * 100)));
    }
    return { cursor: undefined, fullListing: true };
  }
}

/** A realm of the other environment (production vs sandbox): Fault 3100 on the CompanyInfo check. */
export class WrongEnvironmentError extends AuthRevokedError {}

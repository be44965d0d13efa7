/**
 * Xero's banking and general-ledger reads over the simulator's tenants (xero_accounting.yaml): `GET /BankTransactions`
 * (paged, If-Modified-Since, `where` on Type, Status and BankAccount.AccountID; spend and receive money plus the two
 * SPEND-TRANSFER / RECEIVE-TRANSFER legs Xero creates for every transfer), `GET /BankTransfers` (unpaged,
 * If-Modified-Since, DELETED rows only with `includeDeleted=true`) and `GET /Journals` (`offset` = the last
 * JournalNumber read, at most 100 a call, If-Modified-Since on CreatedDateUTC, `paymentsOnly`; no where, no order).
 */
import { listJournals, transferLegId, BANKING_STREAMS, type BankTransfer, type BankTxn, type Journal } from '../banking.js';
import { HttpError, parseIntParam } from '../http.js';
import { COLLECTIONS, money, type Account, type OnAccount } from '../model.js';
import { decodeIndex, deriveUuid } from '../rng.js';
import type { Tenant } from '../tenant.js';
import { contactSummary, msDate, renderLine } from './render.js';

/** A `where` clause as api.ts parses it (field lower-cased). */
export interface BankingClause {
  field: string;
  value: string | boolean;
  values: (string | boolean)[];
}

export interface BankingRequest {
  resource: string;
  id: string | undefined;
  since: number | undefined;
  clauses: BankingClause[];
  page: number;
  pageSize: number;
  url: URL;
}

export interface BankingAnswer {
  key: string;
  items: unknown[];
  pagination?: { page: number; pageSize: number; total: number };
}

/** Xero serves at most 100 journals a call. */
export const JOURNALS_PER_CALL = 100;

export const BANKING_RESOURCES: ReadonlySet<string> = new Set(['banktransactions', 'banktransfers', 'journals']);

function accountSummary(t: Tenant, code: string) {
  const a = t.account(code) ?? t.gen.accountByCode.get(code)!;
  return { AccountID: t.gen.id('accounts', a.index), Code: a.code, Name: a.name };
}

export function renderBankTransaction(t: Tenant, r: BankTxn) {
  const id = t.gen.id('bankTransactions', r.index);
  return {
    Type: r.type,
    BankTransactionID: id,
    Contact: contactSummary(t, r.contactIndex),
    LineItems: r.lines.map((l, n) => renderLine(t, l, id, n)),
    BankAccount: accountSummary(t, r.bankCode),
    IsReconciled: r.isReconciled,
    Date: msDate(r.dateMs),
    Reference: r.reference,
    CurrencyCode: r.currency,
    CurrencyRate: r.rate,
    Status: r.status,
    LineAmountTypes: 'Exclusive',
    SubTotal: money(r.subCents),
    TotalTax: money(r.taxCents),
    Total: money(r.totalCents),
    UpdatedDateUTC: msDate(r.updatedMs),
    HasAttachments: false,
  };
}

/** One of the two bank transactions of a transfer: money out of the from-account, into the to-account. */
export function renderTransferLeg(t: Tenant, r: BankTransfer, side: 'from' | 'to') {
  const [own, other] = side === 'from' ? [r.fromCode, r.toCode] : [r.toCode, r.fromCode];
  const otherAccount = accountSummary(t, other);
  const amount = money(r.amountCents);
  return {
    Type: side === 'from' ? 'SPEND-TRANSFER' : 'RECEIVE-TRANSFER',
    BankTransactionID: transferLegId(t.gen, r.index, side),
    LineItems: [
      { Description: `Bank transfer ${side === 'from' ? 'to' : 'from'} ${otherAccount.Name}`, Quantity: 1, UnitAmount: amount, AccountCode: other, AccountID: otherAccount.AccountID, TaxType: 'NONE', TaxAmount: 0, LineAmount: amount, Tracking: [] },
    ],
    BankAccount: accountSummary(t, own),
    IsReconciled: side === 'from' ? r.fromReconciled : r.toReconciled,
    Date: msDate(r.dateMs),
    Reference: r.reference,
    CurrencyCode: t.gen.organisation.baseCurrency,
    CurrencyRate: 1,
    Status: r.status,
    LineAmountTypes: 'NoTax',
    SubTotal: amount,
    TotalTax: 0,
    Total: amount,
    UpdatedDateUTC: msDate(r.updatedMs),
    HasAttachments: false,
  };
}

const LEG_STREAM = { overpayments: BANKING_STREAMS.overpaymentLegs, prepayments: BANKING_STREAMS.prepaymentLegs } as const;

/** The bank transaction Xero keeps for an overpayment or prepayment: RECEIVE-OVERPAYMENT, SPEND-PREPAYMENT, … */
export function renderOnAccountLeg(t: Tenant, r: OnAccount) {
  const name = r.kind === 'overpayment' ? 'overpayments' : 'prepayments';
  const id = deriveUuid(t.gen.seedHash, LEG_STREAM[name], r.index);
  return {
    Type: `${r.type}-${r.kind === 'overpayment' ? 'OVERPAYMENT' : 'PREPAYMENT'}`,
    BankTransactionID: id,
    [r.kind === 'overpayment' ? 'OverpaymentID' : 'PrepaymentID']: t.gen.id(name, r.index),
    Contact: contactSummary(t, r.contactIndex),
    LineItems: r.lines.map((l, n) => renderLine(t, l, id, n)),
    BankAccount: accountSummary(t, r.bankCode),
    IsReconciled: r.isReconciled,
    Date: msDate(r.dateMs),
    Reference: r.reference,
    CurrencyCode: r.currency,
    CurrencyRate: r.rate,
    // The bank transaction stays AUTHORISED while its credit is allocated (PAID is the overpayment's own status).
    Status: r.status === 'VOIDED' ? 'VOIDED' : 'AUTHORISED',
    LineAmountTypes: 'NoTax',
    SubTotal: money(r.subCents),
    TotalTax: money(r.taxCents),
    Total: money(r.totalCents),
    UpdatedDateUTC: msDate(r.updatedMs),
    HasAttachments: false,
  };
}

export function renderBankTransfer(t: Tenant, r: BankTransfer) {
  return {
    BankTransferID: t.gen.id('bankTransfers', r.index),
    FromBankAccount: accountSummary(t, r.fromCode),
    ToBankAccount: accountSummary(t, r.toCode),
    Amount: money(r.amountCents),
    Date: msDate(r.dateMs),
    CurrencyRate: 1,
    FromBankTransactionID: transferLegId(t.gen, r.index, 'from'),
    ToBankTransactionID: transferLegId(t.gen, r.index, 'to'),
    FromIsReconciled: r.fromReconciled,
    ToIsReconciled: r.toReconciled,
    Reference: r.reference,
    HasAttachments: false,
    CreatedDateUTC: msDate(r.createdMs),
    Status: r.status,
  };
}

export function renderJournal(t: Tenant, j: Journal) {
  return {
    JournalID: j.id,
    JournalDate: msDate(j.posting.dateMs),
    JournalNumber: j.number,
    CreatedDateUTC: msDate(j.createdMs),
    ...(j.reference ? { Reference: j.reference } : {}),
    ...(j.source ? { SourceID: t.gen.id(j.source.name, j.source.index), SourceType: j.source.type } : {}),
    JournalLines: j.posting.lines.map(([code, cents], n) => {
      const a: Account | undefined = t.account(code) ?? t.gen.accountByCode.get(code);
      const amount = money(cents);
      return {
        JournalLineID: deriveUuid(t.gen.seedHash, BANKING_STREAMS.journalLines, j.number * 256 + n),
        ...(a ? { AccountID: t.gen.id('accounts', a.index), AccountType: a.type, AccountName: a.name } : {}),
        AccountCode: code,
        NetAmount: amount,
        GrossAmount: amount,
        TaxAmount: 0,
        TrackingCategories: [],
      };
    }),
  };
}

function take(clauses: BankingClause[], field: string): BankingClause | undefined {
  const i = clauses.findIndex((c) => c.field === field.toLowerCase());
  return i < 0 ? undefined : clauses.splice(i, 1)[0];
}

const notFound = () => new HttpError(404, `The resource you're looking for cannot be found`);

type Source = { list(offset: number, limit: number): { items: unknown[]; total: number } };

/** One page over several listings, one after the other (as Xero pages one result set). */
function pageOver(sources: Source[], offset: number, limit: number): { items: unknown[]; total: number } {
  const items: unknown[] = [];
  let total = 0;
  let skip = offset;
  for (const s of sources) {
    const page = s.list(skip, Math.max(0, limit - items.length));
    items.push(...page.items.slice(0, limit - items.length));
    total += page.total;
    skip = Math.max(0, skip - page.total);
  }
  return { items, total };
}

export function handleBanking(t: Tenant, q: BankingRequest): BankingAnswer {
  const finish = () => {
    if (q.clauses.length) throw new HttpError(400, `unsupported where field: ${q.clauses.map((c) => c.field).join(', ')}`);
  };
  switch (q.resource) {
    case 'banktransactions': {
      if (q.id) {
        const id = q.id.toLowerCase();
        const i = t.indexOf('bankTransactions', id);
        const r = i === undefined ? undefined : t.collections.bankTransactions.get(i);
        if (r) return { key: 'BankTransactions', items: [renderBankTransaction(t, r)] };
        const leg = decodeIndex(t.gen.seedHash, BANKING_STREAMS.transferLegs, id);
        const tr = leg === undefined ? undefined : t.collections.bankTransfers.get(leg >> 1);
        if (leg !== undefined && tr) return { key: 'BankTransactions', items: [renderTransferLeg(t, tr, leg % 2 === 0 ? 'from' : 'to')] };
        for (const name of ['overpayments', 'prepayments'] as const) {
          const k = decodeIndex(t.gen.seedHash, LEG_STREAM[name], id);
          const r = k === undefined ? undefined : t.collections[name].get(k);
          if (r) return { key: 'BankTransactions', items: [renderOnAccountLeg(t, r)] };
        }
        throw notFound();
      }
      const type = take(q.clauses, 'Type');
      const status = take(q.clauses, 'Status');
      const bank = take(q.clauses, 'BankAccount.AccountID');
      finish();
      const types = type ? type.values.map(String) : ['SPEND', 'RECEIVE', 'SPEND-TRANSFER', 'RECEIVE-TRANSFER', 'RECEIVE-OVERPAYMENT', 'SPEND-OVERPAYMENT', 'RECEIVE-PREPAYMENT', 'SPEND-PREPAYMENT'];
      const okStatus = (s: string) => !status || status.values.includes(s);
      const okBank = (code: string) => !bank || bank.values.some((v) => String(v).toLowerCase() === accountSummary(t, code).AccountID);
      const sources: Source[] = [];
      const direct = types.filter((x) => x === 'SPEND' || x === 'RECEIVE');
      if (direct.length) {
        const filter = type || status || bank ? (r: BankTxn) => direct.includes(r.type) && okStatus(r.status) && okBank(r.bankCode) : undefined;
        sources.push({
          list: (offset, limit) => {
            const p = t.collections.bankTransactions.list({ since: q.since, ...(filter ? { filter } : {}), order: 'updated', offset, limit });
            return { items: p.items.map((r) => renderBankTransaction(t, r)), total: p.total };
          },
        });
      }
      for (const side of ['from', 'to'] as const) {
        if (!types.includes(side === 'from' ? 'SPEND-TRANSFER' : 'RECEIVE-TRANSFER')) continue;
        const filter = status || bank ? (r: BankTransfer) => okStatus(r.status) && okBank(side === 'from' ? r.fromCode : r.toCode) : undefined;
        sources.push({
          list: (offset, limit) => {
            const p = t.collections.bankTransfers.list({ since: q.since, ...(filter ? { filter } : {}), order: 'updated', offset, limit });
            return { items: p.items.map((r) => renderTransferLeg(t, r, side)), total: p.total };
          },
        });
      }
      for (const [name, suffix] of [
        ['overpayments', 'OVERPAYMENT'],
        ['prepayments', 'PREPAYMENT'],
      ] as const) {
        const wanted = (['RECEIVE', 'SPEND'] as const).filter((side) => types.includes(`${side}-${suffix}`));
        if (!wanted.length) continue;
        const legStatus = (r: OnAccount) => (r.status === 'VOIDED' ? 'VOIDED' : 'AUTHORISED');
        const filter = wanted.length < 2 || status || bank ? (r: OnAccount) => wanted.includes(r.type) && okStatus(legStatus(r)) && okBank(r.bankCode) : undefined;
        sources.push({
          list: (offset, limit) => {
            const p = t.collections[name].list({ since: q.since, ...(filter ? { filter } : {}), order: 'updated', offset, limit });
            return { items: p.items.map((r) => renderOnAccountLeg(t, r)), total: p.total };
          },
        });
      }
      const { items, total } = pageOver(sources, (q.page - 1) * q.pageSize, q.pageSize);
      return { key: 'BankTransactions', items, pagination: { page: q.page, pageSize: q.pageSize, total } };
    }
    case 'banktransfers': {
      if (q.id) {
        const i = t.indexOf('bankTransfers', q.id);
        const r = i === undefined ? undefined : t.collections.bankTransfers.get(i);
        if (!r) throw notFound();
        return { key: 'BankTransfers', items: [renderBankTransfer(t, r)] };
      }
      finish();
      const includeDeleted = q.url.searchParams.get('includeDeleted') === 'true';
      const { items } = t.collections.bankTransfers.list({
        since: q.since,
        ...(includeDeleted ? {} : { filter: (r: BankTransfer) => r.status !== 'DELETED' }),
        order: 'updated',
        offset: 0,
        limit: Number.MAX_SAFE_INTEGER,
      });
      return { key: 'BankTransfers', items: items.map((r) => renderBankTransfer(t, r)) };
    }
    case 'journals': {
      if (q.url.searchParams.has('where') || q.url.searchParams.has('order')) throw new HttpError(400, 'Journals support neither where nor order');
      const offset = parseIntParam(q.url.searchParams.get('offset'), 'offset', 0);
      const paymentsOnly = q.url.searchParams.get('paymentsOnly') === 'true';
      const journals = listJournals(
        { gen: t.gen, collections: COLLECTIONS, log: t.journalLog },
        { offset, limit: JOURNALS_PER_CALL, ...(q.since !== undefined ? { sinceMs: q.since } : {}), paymentsOnly },
      );
      return { key: 'Journals', items: journals.map((j) => renderJournal(t, j)) };
    }
  }
  throw notFound();
}

/**
 * Bank activity of a simulated tenant — spend and receive money (Xero BankTransactions of Type SPEND / RECEIVE) and
 * transfers between bank accounts (Xero BankTransfers) — and the general ledger's own postings (Xero Journals).
 *
 * Like every generated collection, base records are derived one by one from (seed, index), with UpdatedDateUTC growing
 * with the index, so a page of a million-invoice tenant costs only its own records. They post to the same Ledger as the
 * documents (ledger.ts: spend money debits expenses and input tax and credits the bank; receive money the reverse; a
 * transfer credits one bank account and debits another), so balances, the trial balance and the statements still agree.
 *
 * Journals are not stored: base journal n is the posting of one base record (numbered in blocks, collection by
 * collection, after the opening balances), computed from that record through `postRecord` — the very function the
 * Ledger sums — so the journals of a tenant add up to its ledger by construction. Every later change of a posted
 * record appends a reversal of its previous version and the posting of its new one (JournalLog), as Xero does: the
 * ledger is append-only and its journal numbers only grow.
 */
import { monthIndexOf, type Generator } from './generate.js';
import { Ledger, postRecord } from './ledger.js';
import { DAY_MS, dayStart, type CollectionName, type LineAmounts, type OnAccount, type RecordTypes } from './model.js';
import { onAccountSourceType } from './on-account.js';
import { deriveUuid, hashString, Rng } from './rng.js';

export interface BankTxn extends LineAmounts {
  kind: 'bankTransaction';
  index: number;
  type: 'SPEND' | 'RECEIVE';
  bankCode: string;
  contactIndex: number;
  dateMs: number;
  reference: string;
  status: 'AUTHORISED' | 'DELETED' | 'VOIDED';
  isReconciled: boolean;
  updatedMs: number;
}

export interface BankTransfer {
  kind: 'bankTransfer';
  index: number;
  fromCode: string;
  toCode: string;
  amountCents: number;
  dateMs: number;
  reference: string;
  status: 'AUTHORISED' | 'DELETED';
  fromReconciled: boolean;
  toReconciled: boolean;
  /** Xero's CreatedDateUTC (a transfer is never edited, only deleted). */
  createdMs: number;
  updatedMs: number;
}

/** Same values as generate.ts's STREAMS for these collections (ids decode with either). */
export const BANKING_STREAMS = {
  bankTransactions: hashString('bankTransactions'),
  bankTransfers: hashString('bankTransfers'),
  transferLegs: hashString('bankTransferLegs'),
  journals: hashString('journals'),
  journalLines: hashString('journalLines'),
  /** The bank transaction (RECEIVE-/SPEND-OVERPAYMENT, -PREPAYMENT) of each overpayment and prepayment. */
  overpaymentLegs: hashString('overpaymentLegs'),
  prepaymentLegs: hashString('prepaymentLegs'),
};

/** Base counts: a few spend/receive-money transactions and transfers a month, more with the tenant's size. */
export function bankingCounts(gen: Pick<Generator, 'counts'>): { bankTransactions: number; bankTransfers: number } {
  const { invoices, historyMonths } = gen.counts;
  return { bankTransactions: historyMonths * 4 + Math.floor(invoices / 10), bankTransfers: historyMonths + Math.floor(invoices / 200) };
}

const RECEIVE_BANKS = ['090', '090', '091'];
const SPEND_BANKS = ['090', '090', '092'];
const TRANSFERS: readonly [string, string][] = [
  ['090', '091'],
  ['091', '090'],
  ['090', '092'],
];

/** Spend or receive money i: a supplier paid (or a customer paying) directly from the bank, no bill or invoice. */
export function baseBankTransaction(gen: Generator, i: number, updatedMs: number): BankTxn {
  const rng = Rng.of(gen.seedHash, BANKING_STREAMS.bankTransactions, i);
  const receive = rng.chance(0.3);
  return bankTransaction(gen, rng, i, receive ? 'RECEIVE' : 'SPEND', dayStart(updatedMs) - rng.int(0, 3) * DAY_MS, updatedMs);
}

function bankTransaction(gen: Generator, rng: Rng, index: number, type: BankTxn['type'], dateMs: number, updatedMs: number): BankTxn {
  const receive = type === 'RECEIVE';
  const { customers, suppliers } = gen.counts;
  const contactIndex = receive ? rng.int(0, Math.max(0, customers - 1)) : customers + rng.int(0, Math.max(0, suppliers - 1));
  const body = gen.makeLines(rng, receive, false, rng.int(1, 2));
  return {
    kind: 'bankTransaction',
    index,
    type,
    bankCode: rng.pick(receive ? RECEIVE_BANKS : SPEND_BANKS),
    contactIndex,
    dateMs,
    reference: rng.chance(0.6) ? `${receive ? 'RCPT' : 'CARD'} ${rng.int(10_000, 99_999)}` : '',
    status: 'AUTHORISED',
    isReconciled: rng.chance(0.85),
    ...body,
    currency: gen.organisation.baseCurrency,
    rate: 1,
    updatedMs,
  };
}

/** Transfer i between two of the tenant's bank accounts. */
export function baseBankTransfer(gen: Generator, i: number, updatedMs: number): BankTransfer {
  const rng = Rng.of(gen.seedHash, BANKING_STREAMS.bankTransfers, i);
  const [fromCode, toCode] = rng.pick(TRANSFERS);
  return {
    kind: 'bankTransfer',
    index: i,
    fromCode,
    toCode,
    amountCents: rng.int(5, 400) * 10_000 + rng.pick([0, 2_500, 5_000]),
    dateMs: dayStart(updatedMs),
    reference: `Transfer ${i + 1}`,
    status: 'AUTHORISED',
    fromReconciled: rng.chance(0.9),
    toReconciled: rng.chance(0.9),
    createdMs: updatedMs,
    updatedMs,
  };
}

/** Ids of the two bank transactions a transfer creates in Xero (Type SPEND-TRANSFER and RECEIVE-TRANSFER). */
export function transferLegId(gen: Pick<Generator, 'seedHash'>, index: number, side: 'from' | 'to'): string {
  return deriveUuid(gen.seedHash, BANKING_STREAMS.transferLegs, index * 2 + (side === 'from' ? 0 : 1));
}

// ----- ledger postings ------------------------------------------------------------------------------------------

/** Debits positive: spend money debits its lines and the input tax and credits the bank; receive money the reverse. */
export function postBankTransaction(l: Ledger, t: BankTxn, sign: 1 | -1): void {
  if (t.status !== 'AUTHORISED') return;
  const month = monthIndexOf(t.dateMs);
  const s = t.type === 'SPEND' ? sign : -sign;
  for (const line of t.lines) l.post(month, line.accountCode, s * line.lineCents);
  l.post(month, '820', s * t.taxCents);
  l.post(month, t.bankCode, -s * t.totalCents);
  l.cashFlow(month, t.type === 'SPEND' ? 'otherPayments' : 'otherReceipts', sign * t.totalCents);
}

/** Money leaves one bank account and arrives in another: no cash enters or leaves the business. */
export function postBankTransfer(l: Ledger, t: BankTransfer, sign: 1 | -1): void {
  if (t.status !== 'AUTHORISED') return;
  const month = monthIndexOf(t.dateMs);
  l.post(month, t.toCode, sign * t.amountCents);
  l.post(month, t.fromCode, -sign * t.amountCents);
}

// ----- admin creation ------------------------------------------------------------------------------------------

export interface CreateArgs {
  gen: Generator;
  rng: Rng;
  index: number;
  fields: Record<string, unknown>;
  todayMs: number;
  nowMs: number;
  /** Is this code one of the tenant's bank accounts? */
  isBank(code: string): boolean;
  contactIndex(id: string): number;
}

const bad = (message: string) => Object.assign(new Error(message), { status: 400 });

/** `fields`: `type` (SPEND | RECEIVE), `bankAccountCode`, `contactId`, `reference`, `isReconciled`. */
export function createBankTransaction(a: CreateArgs): BankTxn {
  const type = a.fields.type === undefined ? (a.rng.chance(0.3) ? 'RECEIVE' : 'SPEND') : a.fields.type;
  if (type !== 'SPEND' && type !== 'RECEIVE') throw bad('type must be SPEND or RECEIVE');
  const t = bankTransaction(a.gen, a.rng, a.index, type, a.todayMs, a.nowMs);
  if (a.fields.bankAccountCode !== undefined) {
    if (typeof a.fields.bankAccountCode !== 'string' || !a.isBank(a.fields.bankAccountCode)) throw bad('bankAccountCode must be the code of a bank account');
    t.bankCode = a.fields.bankAccountCode;
  }
  if (typeof a.fields.contactId === 'string') t.contactIndex = a.contactIndex(a.fields.contactId);
  if (typeof a.fields.reference === 'string') t.reference = a.fields.reference;
  t.isReconciled = a.fields.isReconciled === true;
  return t;
}

/** `fields`: `fromAccountCode`, `toAccountCode`, `amount` (a positive amount with two decimals), `reference`. */
export function createBankTransfer(a: CreateArgs): BankTransfer {
  const t = baseBankTransfer(a.gen, a.index, a.nowMs);
  t.dateMs = a.todayMs;
  t.reference = typeof a.fields.reference === 'string' ? a.fields.reference : `Transfer ${a.index + 1}`;
  t.fromReconciled = false;
  t.toReconciled = false;
  for (const [k, key] of [
    ['fromAccountCode', 'fromCode'],
    ['toAccountCode', 'toCode'],
  ] as const) {
    const v = a.fields[k];
    if (v === undefined) continue;
    if (typeof v !== 'string' || !a.isBank(v)) throw bad(`${k} must be the code of a bank account`);
    t[key] = v;
  }
  if (t.fromCode === t.toCode) throw bad('a transfer needs two different bank accounts');
  if (a.fields.amount !== undefined) {
    if (typeof a.fields.amount !== 'number' || !(a.fields.amount > 0)) throw bad('amount must be a positive number');
    t.amountCents = Math.round(a.fields.amount * 100);
  }
  return t;
}

// ----- journals -------------------------------------------------------------------------------------------------

/** Collections whose records never post to the ledger (reference data, purchase orders): no journal block. */
const REFERENCE: ReadonlySet<string> = new Set(['accounts', 'taxRates', 'trackingCategories', 'items', 'contacts', 'purchaseOrders']);
/**
 * Collections whose base records post to the ledger, in journal-number order. Listed, not inferred: a collection that
 * never posts (orders, quotes) must not be scanned on every /Journals call,
 * and one that posts but is missing here makes banking.test.ts's journals-equal-ledger check fail loudly.
 */
const POSTING_BLOCKS: readonly string[] = ['invoices', 'creditNotes', 'payments', 'bills', 'billPayments', 'manualJournals', 'bankTransactions', 'bankTransfers', 'billCreditNotes', 'overpayments', 'prepayments'];

const SOURCE_TYPE: Record<string, string> = {
  invoices: 'ACCREC',
  bills: 'ACCPAY',
  creditNotes: 'ACCRECCREDIT',
  billCreditNotes: 'ACCPAYCREDIT',
  payments: 'ACCRECPAYMENT',
  billPayments: 'ACCPAYPAYMENT',
  manualJournals: 'MANJOURNAL',
  bankTransfers: 'TRANSFER',
};
/** Source types Xero counts as cash (`paymentsOnly=true`). */
export const CASH_SOURCE_TYPES: ReadonlySet<string> = new Set(['ACCRECPAYMENT', 'ACCPAYPAYMENT', 'ARCREDITPAYMENT', 'APCREDITPAYMENT', 'CASHREC', 'CASHPAID', 'TRANSFER', 'AROVERPAYMENT', 'APOVERPAYMENT', 'ARPREPAYMENT', 'APPREPAYMENT']);

export function sourceType(name: string, r: unknown): string {
  if (name === 'bankTransactions') return (r as BankTxn).type === 'RECEIVE' ? 'CASHREC' : 'CASHPAID';
  if (name === 'overpayments' || name === 'prepayments') return onAccountSourceType(r as OnAccount);
  return SOURCE_TYPE[name] ?? 'MANJOURNAL';
}

export interface JournalPosting {
  /** JournalDate: the record's own date (a reversal keeps the date of what it reverses). */
  dateMs: number;
  /** Account code → base-currency cents, debit positive; sums to zero. */
  lines: [string, number][];
}

/** The posting a record makes to the ledger, through the Ledger's own rules; undefined when it posts nothing. */
export function postingOf(name: CollectionName, r: RecordTypes[CollectionName], sign: 1 | -1 = 1): JournalPosting | undefined {
  const l = new Ledger();
  postRecord(l, name, r as never, sign);
  const lines: [string, number][] = [];
  for (const accts of l.movements.values()) for (const [code, cents] of accts) if (cents !== 0) lines.push([code, cents]);
  if (lines.length === 0) return undefined;
  return { dateMs: (r as { dateMs: number }).dateMs, lines };
}

export interface Journal {
  number: number;
  id: string;
  createdMs: number;
  posting: JournalPosting;
  /** Absent for the opening balances. */
  source?: { name: CollectionName; index: number; type: string };
  reference: string;
}

interface LoggedJournal {
  createdMs: number;
  name: CollectionName;
  index: number;
  type: string;
  posting: JournalPosting;
  reference: string;
}

/** Journals appended after generation: one reversal and/or one posting per change of a posted record. */
export class JournalLog {
  readonly entries: LoggedJournal[] = [];

  change(name: CollectionName, index: number, before: RecordTypes[CollectionName] | undefined, after: RecordTypes[CollectionName] | undefined, nowMs: number): void {
    if (REFERENCE.has(name)) return;
    const was = before ? postingOf(name, before, -1) : undefined;
    const now = after ? postingOf(name, after, 1) : undefined;
    // A change that leaves the posting as it was (a reference edited, a payment recorded) adds no journal.
    if (was && now && was.dateMs === now.dateMs && samePosting(was, now)) return;
    if (was) this.entries.push({ createdMs: nowMs, name, index, type: sourceType(name, before), posting: was, reference: 'Reversal' });
    if (now) this.entries.push({ createdMs: nowMs, name, index, type: sourceType(name, after), posting: now, reference: '' });
  }
}

function samePosting(reversal: JournalPosting, posting: JournalPosting): boolean {
  if (reversal.lines.length !== posting.lines.length) return false;
  const m = new Map(posting.lines);
  return reversal.lines.every(([code, cents]) => m.get(code) === -cents);
}

export interface JournalSource {
  gen: Generator;
  collections: readonly CollectionName[];
  log: JournalLog;
}

/** The blocks of base journal numbers: opening balances (number 1), then each posting collection's base records. */
function blocks(src: JournalSource): { name: CollectionName; first: number; count: number }[] {
  const out: { name: CollectionName; first: number; count: number }[] = [];
  let next = 2;
  for (const name of POSTING_BLOCKS as CollectionName[]) {
    if (!src.collections.includes(name)) continue;
    const count = src.gen.baseCount(name);
    out.push({ name, first: next, count });
    next += count;
  }
  return out;
}

function openingJournal(gen: Generator): Journal {
  const { ownerCents, loanCents } = gen.openingCash();
  return {
    number: 1,
    id: deriveUuid(gen.seedHash, BANKING_STREAMS.journals, 0),
    createdMs: gen.startMs,
    posting: {
      dateMs: gen.startMs,
      lines: [
        ['090', ownerCents + loanCents],
        ['970', -ownerCents],
        ['900', -loanCents],
      ],
    },
    reference: 'Conversion balances',
  };
}

/**
 * Xero's `GET /Journals?offset=N`: up to `limit` journals with JournalNumber > N, in number order; with
 * `sinceMs` only those created at or after it; with `paymentsOnly` only cash journals.
 */
export function listJournals(src: JournalSource, opts: { offset: number; limit: number; sinceMs?: number; paymentsOnly?: boolean }): Journal[] {
  const out: Journal[] = [];
  const { gen } = src;
  const since = opts.sinceMs;
  const want = (createdMs: number, type: string) => (since === undefined || createdMs >= since) && (!opts.paymentsOnly || CASH_SOURCE_TYPES.has(type));
  const bs = blocks(src);
  if (opts.offset < 1 && want(gen.startMs, 'MANJOURNAL')) out.push(openingJournal(gen));
  for (const b of bs) {
    if (out.length >= opts.limit) return out;
    let i = Math.max(0, opts.offset + 1 - b.first);
    if (since !== undefined) i = Math.max(i, gen.lowerBound(b.name, since));
    for (; i < b.count && out.length < opts.limit; i++) {
      const r = gen.base(b.name, i);
      if (!r) continue;
      const createdMs = gen.baseUpdated(b.name, i);
      const type = sourceType(b.name, r);
      if (!want(createdMs, type)) continue;
      const posting = postingOf(b.name, r);
      if (!posting) continue;
      const number = b.first + i;
      out.push({ number, id: deriveUuid(gen.seedHash, BANKING_STREAMS.journals, number - 1), createdMs, posting, source: { name: b.name, index: i, type }, reference: '' });
    }
  }
  const baseEnd = bs.length ? bs[bs.length - 1]!.first + bs[bs.length - 1]!.count : 2;
  for (let k = Math.max(0, opts.offset + 1 - baseEnd); k < src.log.entries.length && out.length < opts.limit; k++) {
    const e = src.log.entries[k]!;
    if (!want(e.createdMs, e.type)) continue;
    const number = baseEnd + k;
    out.push({ number, id: deriveUuid(gen.seedHash, BANKING_STREAMS.journals, number - 1), createdMs: e.createdMs, posting: e.posting, source: { name: e.name, index: e.index, type: e.type }, reference: e.reference });
  }
  return out;
}


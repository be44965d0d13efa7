/**
 * Xero's bank activity and general ledger → the accounting model (docs/accounting-model.md): direct costs and incomes
 * (spend / receive money), transfers, bank-account transactions, account transactions, and journals (the books of the
 * ledger). Decisions the model leaves open are written next to the code that takes them.
 *
 * Sources and calls (the fewest Xero allows):
 * - `directCosts` / `directIncomes`: `/BankTransactions` with `where=Type=="SPEND"` / `"RECEIVE"`, paged by 1000,
 *   If-Modified-Since after the first pull.
 * - `transfers`: `/BankTransfers?includeDeleted=true`, one unpaged call, always in full (Xero's transfers carry no
 *   UpdatedDateUTC and a deleted one shows only with includeDeleted).
 * - `bankTransactions` (per bank account): every `/BankTransactions` (spend, receive, both legs of each transfer,
 *   over- and prepayments) and every `/Payments` (money received for invoices, paid for bills, refunds), each on its
 *   bank account; paged, If-Modified-Since.
 * - `accountTransactions`: the same two listings as account transactions, each line pointing at its source record,
 *   plus one `/BankTransfers` call so a transfer's two legs point at the transfer.
 * - `journals`: `/Journals` (`offset` = last JournalNumber read, 100 a call, Xero's only paging there): the ledger is
 *   append-only, so after the first pull only postings made since are read (the cursor keeps the offset and the books
 *   found so far). Needs the `accounting.journals.read` scope.
 * - `paymentMethods`: Xero has no payment methods (its payments carry none): NotSupported.
 */
import { FetchFailedError, MappingError, type PullOutcome, type PullRequest, type SourceRecord } from '../connector.js';
import type { ApiClient, CallContext } from '../http/index.js';
import { currencyRate, lineCommon, type MapContext } from './mappers.js';
import type { ListKind } from './xero-connector.js';
import { arr, compact, dateOnly, instant, num, obj, parseXeroDate, required, round2, str, type Wire } from './wire.js';

/** MapContext plus what account transactions need: the transfer each SPEND-/RECEIVE-TRANSFER leg belongs to. */
export interface BankMapContext extends MapContext {
  transferByLeg?: ReadonlyMap<string, string>;
}

function record(id: string, data: Record<string, unknown>, updated: unknown, deleted: boolean): SourceRecord {
  const ms = parseXeroDate(updated);
  return { id, data: compact(data), sourceModifiedDate: ms === undefined ? null : instant(ms), deleted };
}
const modified = (v: unknown) => {
  const ms = parseXeroDate(v);
  return ms === undefined ? undefined : instant(ms);
};
const dateField = (v: unknown) => {
  const ms = parseXeroDate(v);
  return ms === undefined ? undefined : dateOnly(ms);
};
const accountRef = (a: Wire | undefined) => (a && str(a.AccountID) ? compact({ id: str(a.AccountID)!, name: str(a.Name) }) : undefined);

/**
 * A spend or receive money that was deleted or voided moved no money: Xero keeps it (Status DELETED / VOIDED); the
 * model's direct costs and incomes, bank transactions and transfers have no status, so both are flagged deleted.
 */
const gone = (w: Wire) => w.Status === 'DELETED' || w.Status === 'VOIDED';

/** Money in (+) or out (−) of the bank account, in the account's currency. */
const moneyIn = (type: string) => type.startsWith('RECEIVE');

// ----- direct costs and incomes ---------------------------------------------------------------------------------

/**
 * SPEND → DirectCost (contactRef to `suppliers`), RECEIVE → DirectIncome (`customers`). The money moved is its one
 * payment allocation: the bank account it left or entered, on the transaction's date, for its total.
 */
export function mapDirect(w: Wire, kind: 'cost' | 'income'): SourceRecord {
  const id = required(str(w.BankTransactionID), 'BankTransactionID');
  const inclusive = w.LineAmountTypes === 'Inclusive';
  const contact = obj(w.Contact);
  const currency = str(w.CurrencyCode);
  const rate = currencyRate(w);
  const date = required(dateField(w.Date), 'Date');
  const total = required(num(w.Total), 'Total');
  const lineItems = arr(w.LineItems).map((l) => {
    const c = lineCommon(l, inclusive);
    return compact({
      description: c.description,
      unitAmount: c.unitAmount,
      quantity: c.quantity,
      discountAmount: c.discountAmount,
      discountPercentage: c.discountPercentage,
      subTotal: c.subTotal,
      taxAmount: c.taxAmount,
      totalAmount: c.totalAmount,
      accountRef: c.accountRef,
      taxRateRef: c.taxRateRef,
      itemRef: c.itemRef,
      trackingCategoryRefs: c.trackingCategoryRefs,
      ...(kind === 'cost' ? { tracking: { categoryRefs: c.trackingCategoryRefs, isBilledTo: 'NotApplicable', isRebilledTo: 'NotApplicable' } } : {}),
    });
  });
  return record(
    id,
    {
      id,
      reference: str(w.Reference),
      contactRef: contact && str(contact.ContactID) ? { id: str(contact.ContactID)!, dataType: kind === 'cost' ? 'suppliers' : 'customers' } : undefined,
      issueDate: date,
      currency,
      currencyRate: rate,
      lineItems,
      paymentAllocations: [
        {
          payment: compact({ id, reference: str(w.Reference), accountRef: accountRef(obj(w.BankAccount)), currency, currencyRate: rate, paidOnDate: date, totalAmount: total }),
          allocation: compact({ currency, currencyRate: rate, allocatedOnDate: date, totalAmount: total }),
        },
      ],
      subTotal: num(w.SubTotal) ?? 0,
      taxAmount: num(w.TotalTax) ?? 0,
      totalAmount: total,
      sourceModifiedDate: modified(w.UpdatedDateUTC),
    },
    w.UpdatedDateUTC,
    gone(w),
  );
}

// ----- transfers -----------------------------------------------------------------------------------------------------

/**
 * A Xero transfer: `Amount` leaves the from-account; when the two accounts' currencies differ Xero's CurrencyRate
 * converts it (to = Amount × CurrencyRate). Transfers are never edited in Xero (only deleted): CreatedDateUTC is
 * their source modified date.
 */
export function mapTransfer(w: Wire, ctx: MapContext): SourceRecord {
  const id = required(str(w.BankTransferID), 'BankTransferID');
  const from = obj(w.FromBankAccount);
  const to = obj(w.ToBankAccount);
  const amount = required(num(w.Amount), 'Amount');
  const rate = num(w.CurrencyRate);
  const fromCurrency = str(from?.CurrencyCode) ?? ctx.baseCurrency;
  const toCurrency = str(to?.CurrencyCode) ?? ctx.baseCurrency;
  const toAmount = rate && rate !== 1 && fromCurrency !== toCurrency ? round2(amount * rate) : amount;
  return record(
    id,
    {
      id,
      description: str(w.Reference),
      date: required(dateField(w.Date), 'Date'),
      from: compact({ accountRef: accountRef(from), currency: fromCurrency, amount }),
      to: compact({ accountRef: accountRef(to), currency: toCurrency, amount: toAmount }),
      trackingCategoryRefs: [],
      depositedRecordRefs: [],
      sourceModifiedDate: modified(w.CreatedDateUTC),
    },
    w.CreatedDateUTC,
    w.Status === 'DELETED',
  );
}

// ----- bank transactions (per bank account) --------------------------------------------------------------------------

/** Xero payment types that bring money in: customer payments and refunds from suppliers. */
const PAYMENT_IN = new Set(['ACCRECPAYMENT', 'APCREDITPAYMENT', 'APOVERPAYMENTPAYMENT', 'APPREPAYMENTPAYMENT']);
const paymentAmount = (p: Wire) => num(p.BankAmount) ?? required(num(p.Amount), 'Amount');

/** A spend/receive money (or a transfer leg) as a line of its bank account: amount positive = money in. */
export function mapBankTransactionLine(w: Wire): SourceRecord {
  const id = required(str(w.BankTransactionID), 'BankTransactionID');
  const type = required(str(w.Type), 'Type');
  const total = required(num(w.Total), 'Total');
  const contact = obj(w.Contact);
  return record(
    id,
    {
      id,
      accountId: required(str(obj(w.BankAccount)?.AccountID), 'BankAccount.AccountID'),
      clearedOnDate: required(dateField(w.Date), 'Date'),
      description: str(w.Reference) ?? str(contact?.Name) ?? str(arr(w.LineItems)[0]?.Description),
      reconciled: w.IsReconciled === true,
      amount: moneyIn(type) ? total : -total,
      transactionType: type.endsWith('TRANSFER') ? 'Xfer' : moneyIn(type) ? 'Credit' : 'Debit',
      sourceModifiedDate: modified(w.UpdatedDateUTC),
    },
    w.UpdatedDateUTC,
    gone(w),
  );
}

/** A payment (of an invoice or bill, or a refund) as a line of the bank account it went through, in that account's currency. */
export function mapPaymentLine(p: Wire): SourceRecord {
  const id = required(str(p.PaymentID), 'PaymentID');
  const amount = paymentAmount(p);
  const inv = obj(p.Invoice);
  return record(
    id,
    {
      id,
      accountId: required(str(obj(p.Account)?.AccountID), 'Account.AccountID'),
      clearedOnDate: required(dateField(p.Date), 'Date'),
      description: str(p.Reference) ?? (str(inv?.InvoiceNumber) ? `Payment of ${str(inv?.InvoiceNumber)}` : undefined),
      reconciled: p.IsReconciled === true,
      amount: PAYMENT_IN.has(String(p.PaymentType)) ? amount : -amount,
      transactionType: 'Payment',
      sourceModifiedDate: modified(p.UpdatedDateUTC),
    },
    p.UpdatedDateUTC,
    p.Status === 'DELETED',
  );
}

// ----- account transactions ----------------------------------------------------------------------------------------

const accountStatus = (w: Wire) => (w.Status === 'VOIDED' ? 'Void' : w.IsReconciled === true ? 'Reconciled' : 'Unreconciled');

/** The record a bank transaction stands for, as the model's recordRef. */
function bankTransactionSource(w: Wire, id: string, ctx: BankMapContext): { id: string; dataType: string } {
  const type = String(w.Type);
  if (type === 'SPEND') return { id, dataType: 'directCosts' };
  if (type === 'RECEIVE') return { id, dataType: 'directIncomes' };
  if (type.endsWith('TRANSFER')) {
    const transfer = ctx.transferByLeg?.get(id.toLowerCase());
    return transfer ? { id: transfer, dataType: 'transfers' } : { id, dataType: 'bankTransactions' };
  }
  // Over- and prepayments: money received from a customer (RECEIVE-*) or paid to a supplier (SPEND-*) on account.
  const onAccount = str(w.OverpaymentID) ?? str(w.PrepaymentID) ?? id;
  return { id: onAccount, dataType: moneyIn(type) ? 'payments' : 'billPayments' };
}

/**
 * Spend and receive money, transfer legs, over- and prepayments as account transactions: one line, the source record,
 * signed like the bank account's balance (money in positive). VOIDED → status Void; DELETED → metadata.isDeleted.
 */
export function mapAccountTransactionFromBank(w: Wire, ctx: BankMapContext): SourceRecord {
  const id = required(str(w.BankTransactionID), 'BankTransactionID');
  const type = required(str(w.Type), 'Type');
  const total = required(num(w.Total), 'Total');
  const amount = moneyIn(type) ? total : -total;
  return record(
    id,
    {
      id,
      transactionId: id,
      note: str(w.Reference),
      bankAccountRef: accountRef(obj(w.BankAccount)),
      date: required(dateField(w.Date), 'Date'),
      status: accountStatus(w),
      currency: str(w.CurrencyCode),
      currencyRate: currencyRate(w),
      lines: [compact({ description: str(arr(w.LineItems)[0]?.Description), recordRef: bankTransactionSource(w, id, ctx), amount })],
      totalAmount: amount,
      sourceModifiedDate: modified(w.UpdatedDateUTC),
    },
    w.UpdatedDateUTC,
    w.Status === 'DELETED',
  );
}

/** A payment as an account transaction: its one line points at the payment (`payments`) or bill payment (`billPayments`). */
export function mapAccountTransactionFromPayment(p: Wire, ctx: MapContext): SourceRecord {
  const id = required(str(p.PaymentID), 'PaymentID');
  const type = String(p.PaymentType);
  const amount = PAYMENT_IN.has(type) ? paymentAmount(p) : -paymentAmount(p);
  const customerSide = type.startsWith('ACCREC') || type.startsWith('AR');
  const inv = obj(p.Invoice);
  return record(
    id,
    {
      id,
      transactionId: id,
      note: str(p.Reference),
      bankAccountRef: accountRef(obj(p.Account)),
      date: required(dateField(p.Date), 'Date'),
      status: accountStatus(p),
      // The bank amount is in the bank account's currency; Xero's payment summary of a bank account carries none, so
      // the organisation's base currency (the simulator's and most organisations' bank accounts).
      currency: ctx.baseCurrency,
      lines: [compact({ description: str(inv?.InvoiceNumber), recordRef: { id, dataType: customerSide ? 'payments' : 'billPayments' }, amount })],
      totalAmount: amount,
      sourceModifiedDate: modified(p.UpdatedDateUTC),
    },
    p.UpdatedDateUTC,
    p.Status === 'DELETED',
  );
}

// ----- the listings -----------------------------------------------------------------------------------------------

const PAYMENTS_PAGED = { path: '/Payments', key: 'Payments', paged: true, ims: true, document: true } as const;

/** One call: which transfer each SPEND-TRANSFER / RECEIVE-TRANSFER bank transaction belongs to. */
async function transfersByLeg(get: (path: string, query?: Record<string, string>) => Promise<Wire>, ctx: MapContext): Promise<void> {
  const body = await get('/BankTransfers', { includeDeleted: 'true' });
  if (!Array.isArray(body.BankTransfers)) throw new FetchFailedError('/BankTransfers: response has no BankTransfers array');
  const byLeg = new Map<string, string>();
  for (const t of arr(body.BankTransfers)) {
    const id = str(t.BankTransferID);
    if (!id) continue;
    for (const leg of [str(t.FromBankTransactionID), str(t.ToBankTransactionID)]) if (leg) byLeg.set(leg.toLowerCase(), id);
  }
  (ctx as BankMapContext).transferByLeg = byLeg;
}

export const BANKING_LISTS = {
  directCosts: { path: '/BankTransactions', key: 'BankTransactions', where: 'Type=="SPEND"', paged: true, ims: true, document: true, query: { unitdp: '4' }, map: (w) => mapDirect(w, 'cost') },
  directIncomes: { path: '/BankTransactions', key: 'BankTransactions', where: 'Type=="RECEIVE"', paged: true, ims: true, document: true, query: { unitdp: '4' }, map: (w) => mapDirect(w, 'income') },
  transfers: { path: '/BankTransfers', key: 'BankTransfers', paged: false, ims: false, document: true, query: { includeDeleted: 'true' }, map: mapTransfer },
  bankTransactions: {
    path: '/BankTransactions',
    key: 'BankTransactions',
    paged: true,
    ims: true,
    document: true,
    map: (w) => mapBankTransactionLine(w),
    also: [{ ...PAYMENTS_PAGED, map: (w) => mapPaymentLine(w) }],
  },
  accountTransactions: {
    path: '/BankTransactions',
    key: 'BankTransactions',
    paged: true,
    ims: true,
    document: true,
    prepare: transfersByLeg,
    map: (w, ctx) => mapAccountTransactionFromBank(w, ctx as BankMapContext),
    also: [{ ...PAYMENTS_PAGED, map: mapAccountTransactionFromPayment }],
  },
} satisfies Record<string, ListKind>;

// ----- journals (the books of the ledger) ----------------------------------------------------------------------------

/**
 * Codat's Journal is a book of the ledger (sales, purchases, cash receipts…), not an entry. Xero keeps one general
 * ledger whose postings (`/Journals`) each name their SourceType; each source type found in the ledger is one book,
 * `id` and `journalCode` the SourceType, `createdOn` the date of its first posting. Postings without a SourceType
 * (conversion balances) are the general journal.
 */
const BOOKS: Record<string, [name: string, type: string]> = {
  GENERAL: ['General journal', 'General'],
  MANJOURNAL: ['Manual journals', 'General'],
  ACCREC: ['Sales invoices', 'Sales'],
  ACCRECCREDIT: ['Sales credit notes', 'Sales'],
  ACCPAY: ['Purchase bills', 'Purchases'],
  ACCPAYCREDIT: ['Purchase credit notes', 'Purchases'],
  ACCRECPAYMENT: ['Customer payments', 'CashReceipts'],
  ACCPAYPAYMENT: ['Supplier payments', 'CashPayments'],
  ARCREDITPAYMENT: ['Customer credit note refunds', 'CashPayments'],
  APCREDITPAYMENT: ['Supplier credit note refunds', 'CashReceipts'],
  CASHREC: ['Receive money', 'CashReceipts'],
  CASHPAID: ['Spend money', 'CashPayments'],
  TRANSFER: ['Bank transfers', 'Bank'],
  ARPREPAYMENT: ['Customer prepayments', 'CashReceipts'],
  APPREPAYMENT: ['Supplier prepayments', 'CashPayments'],
  AROVERPAYMENT: ['Customer overpayments', 'CashReceipts'],
  APOVERPAYMENT: ['Supplier overpayments', 'CashPayments'],
  EXPCLAIM: ['Expense claims', 'Purchases'],
  EXPPAYMENT: ['Expense claim payments', 'CashPayments'],
  PAYSLIP: ['Payslips', 'Payroll'],
  WAGEPAYABLE: ['Wages payable', 'Payroll'],
  INTEGRATEDPAYROLLPE: ['Payroll expenses', 'Payroll'],
  INTEGRATEDPAYROLLPT: ['Payroll payments', 'Payroll'],
  INTEGRATEDPAYROLLPTPAYMENT: ['Payroll payment transactions', 'Payroll'],
  INTEGRATEDPAYROLLCN: ['Payroll credit notes', 'Payroll'],
  EXTERNALSPENDMONEY: ['External spend money', 'CashPayments'],
};

export const JOURNALS_PER_CALL = 100;

interface JournalsCursor {
  /** The last JournalNumber read. */
  offset: number;
  /** SourceType → epoch ms of its first posting's JournalDate. */
  books: Record<string, number>;
}

function readJournalsCursor(cursor: string | undefined): JournalsCursor {
  if (cursor === undefined) return { offset: 0, books: {} };
  try {
    const c = JSON.parse(cursor) as JournalsCursor;
    if (Number.isInteger(c.offset) && c.offset >= 0 && c.books && typeof c.books === 'object') return c;
  } catch {
    // fall through
  }
  throw new MappingError(`unreadable journals cursor ${cursor}`);
}

export function mapJournalBook(code: string, firstMs: number): SourceRecord {
  const [name, type] = BOOKS[code] ?? [code, 'Other'];
  return { id: code, data: { id: code, name, journalCode: code, type, status: 'Active', hasChildren: false, createdOn: dateOnly(firstMs) }, sourceModifiedDate: null, deleted: false };
}

/**
 * Reads the postings made since the cursor (all of them on the first pull) and returns every book of the ledger. The
 * ledger is append-only — a changed or deleted document adds reversing postings, never removes any — so the books in
 * the cursor plus those of the new postings are all of them: every pull is a full listing of the books, whether or
 * not a reconciliation was asked for, without re-reading the ledger.
 */
export async function* pullJournals(client: ApiClient, req: PullRequest, ctx: CallContext): AsyncGenerator<SourceRecord[], PullOutcome, void> {
  const state = readJournalsCursor(req.cursor);
  const books = new Map(Object.entries(state.books));
  let offset = state.offset;
  for (;;) {
    const body = await client.get(ctx, '/Journals', { offset });
    if (!Array.isArray(body.Journals)) throw new FetchFailedError('/Journals: response has no Journals array');
    const journals = arr(body.Journals);
    for (const j of journals) {
      const n = num(j.JournalNumber);
      const date = parseXeroDate(j.JournalDate);
      if (n === undefined || date === undefined) throw new MappingError('a journal has no JournalNumber or JournalDate');
      const code = str(j.SourceType) ?? 'GENERAL';
      const first = books.get(code);
      if (first === undefined || date < first) books.set(code, date);
      offset = Math.max(offset, n);
    }
    if (journals.length < JOURNALS_PER_CALL) break;
  }
  const records = [...books].sort(([a], [b]) => a.localeCompare(b)).map(([code, first]) => mapJournalBook(code, first));
  if (records.length) yield records;
  return { cursor: JSON.stringify({ offset, books: Object.fromEntries(books) } satisfies JournalsCursor), fullListing: true };
}

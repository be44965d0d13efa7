/**
 * OpenAPI shapes of the bank and ledger records (docs/accounting-model.md, issue 15): directCosts, directIncomes,
 * transfers, accountTransactions, bankTransactions and journals, as Codat's Accounting API declares them. Every object
 * keeps `additionalProperties: true` (Syncline adds `modifiedDate`, `metadata`; platforms may add more), so these
 * describe the records without narrowing what is served.
 */
import { Type, type TSchema } from '@sinclair/typebox';
import type { DataType } from '../domain/data-types.js';

const open = { additionalProperties: true };
/**
 * Every property optional: a GET answer is serialised through this schema, and a record a platform sent without a field
 * must still be served (a missing required property would fail serialisation).
 */
const Obj = (props: Record<string, TSchema>, description?: string) =>
  Type.Object(Object.fromEntries(Object.entries(props).map(([k, v]) => [k, Type.Optional(v)])), { ...open, ...(description ? { description } : {}) });
const Opt = Type.Optional;
const Str = (description?: string) => Type.String(description ? { description } : {});
const Num = (description?: string) => Type.Number(description ? { description } : {});
const Enum = (values: readonly string[], description?: string) => Type.String({ enum: [...values], ...(description ? { description } : {}) });
const DateTime = (description?: string) => Type.String({ description: description ?? 'ISO 8601 date-time' });

const common = {
  id: Str('The platform id'),
  modifiedDate: Opt(DateTime('When Syncline last changed its copy')),
  sourceModifiedDate: Opt(DateTime('When the platform last changed the record')),
  metadata: Opt(Obj({ isDeleted: Opt(Type.Boolean()) })),
};
const ref = Obj({ id: Str(), name: Opt(Str()) });
const recordRef = Obj({ id: Str(), dataType: Str() });
const trackingRefs = Type.Array(Obj({ id: Str(), name: Opt(Str()) }));
const allocation = Obj({
  payment: Obj({ id: Opt(Str()), note: Opt(Str()), reference: Opt(Str()), accountRef: Opt(ref), currency: Opt(Str()), currencyRate: Opt(Num()), paidOnDate: Opt(DateTime()), totalAmount: Opt(Num()) }),
  allocation: Obj({ currency: Opt(Str()), currencyRate: Opt(Num()), allocatedOnDate: Opt(DateTime()), totalAmount: Opt(Num()) }),
});
const directLine = Obj({
  description: Opt(Str()),
  unitAmount: Num(),
  quantity: Num(),
  discountAmount: Opt(Num()),
  discountPercentage: Opt(Num()),
  subTotal: Opt(Num()),
  taxAmount: Opt(Num()),
  totalAmount: Opt(Num()),
  accountRef: Opt(ref),
  taxRateRef: Opt(ref),
  itemRef: Opt(ref),
  trackingCategoryRefs: Opt(trackingRefs),
  tracking: Opt(Obj({ categoryRefs: trackingRefs, isBilledTo: Str(), isRebilledTo: Str() })),
});
const direct = (entity: string, contact: string) =>
  Obj(
    {
      ...common,
      reference: Opt(Str()),
      note: Opt(Str()),
      contactRef: Opt(Obj({ id: Str(), dataType: Str(`\`${contact}\``) })),
      issueDate: DateTime(),
      currency: Str(),
      currencyRate: Opt(Num()),
      lineItems: Type.Array(directLine),
      paymentAllocations: Type.Array(allocation),
      subTotal: Num(),
      taxAmount: Num(),
      totalAmount: Num(),
    },
    `${entity} (docs/accounting-model.md): money ${contact === 'suppliers' ? 'spent' : 'received'} without a ${contact === 'suppliers' ? 'bill' : 'invoice'}`,
  );
const transferSide = Obj({ accountRef: Opt(ref), currency: Opt(Str()), amount: Opt(Num()) });

export const BANK_RECORD_SCHEMAS: Partial<Record<DataType, TSchema>> = {
  directCosts: direct('DirectCost', 'suppliers'),
  directIncomes: direct('DirectIncome', 'customers'),
  transfers: Obj(
    {
      ...common,
      description: Opt(Str()),
      contactRef: Opt(recordRef),
      date: DateTime(),
      from: Opt(transferSide),
      to: Opt(transferSide),
      trackingCategoryRefs: Opt(trackingRefs),
      depositedRecordRefs: Opt(Type.Array(recordRef)),
    },
    'Transfer (docs/accounting-model.md): money moved between two accounts',
  ),
  accountTransactions: Obj(
    {
      ...common,
      transactionId: Opt(Str()),
      note: Opt(Str()),
      bankAccountRef: Opt(ref),
      date: DateTime(),
      status: Enum(['Unknown', 'Unreconciled', 'Reconciled', 'Void']),
      currency: Opt(Str()),
      currencyRate: Opt(Num()),
      lines: Type.Array(Obj({ description: Opt(Str()), recordRef: recordRef, amount: Num('Money in positive, money out negative') })),
      totalAmount: Num('Money in positive, money out negative'),
    },
    'AccountTransaction (docs/accounting-model.md): a movement on a bank account and the record it comes from',
  ),
  bankTransactions: Obj(
    {
      ...common,
      accountId: Str('The bank account'),
      clearedOnDate: DateTime(),
      description: Opt(Str()),
      reconciled: Type.Boolean(),
      amount: Num('Money in positive, money out negative, in the account currency'),
      balance: Opt(Num()),
      transactionType: Enum(['Unknown', 'Credit', 'Debit', 'Int', 'Div', 'Fee', 'SerChg', 'Dep', 'Atm', 'Pos', 'Xfer', 'Check', 'Payment', 'Cash', 'DirectDep', 'DirectDebit', 'RepeatPmt', 'Other']),
    },
    'BankTransaction (docs/accounting-model.md): one line of a bank account',
  ),
  journals: Obj(
    {
      ...common,
      name: Opt(Str()),
      journalCode: Opt(Str()),
      type: Opt(Str()),
      status: Enum(['Unknown', 'Active', 'Archived']),
      parentId: Opt(Str()),
      hasChildren: Opt(Type.Boolean()),
      createdOn: Opt(DateTime()),
    },
    'Journal (docs/accounting-model.md): a book of the ledger, not an entry',
  ),
};

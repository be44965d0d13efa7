/**
 * The refund half of direct incomes: the simulator's ledger pays no cash refunds, so a RefundReceipt in QuickBooks'
 * own shape (Intuit's documented example, trimmed) is mapped here — the same record as a SalesReceipt gives the same
 * direct income with every amount negated, as Codat reads refunds.
 */
import { describe, expect, it } from 'vitest';
import { checkRecord } from '../xero/model-check.js';
import { mapRefundReceipt, mapSalesReceipt } from './mappers-more.js';

const RECEIPT = {
  domain: 'QBO',
  sparse: false,
  Id: '66',
  SyncToken: '0',
  MetaData: { CreateTime: '2026-06-02T10:04:51-07:00', LastUpdatedTime: '2026-06-02T10:04:51-07:00' },
  DocNumber: '1020',
  TxnDate: '2026-06-02',
  CurrencyRef: { value: 'USD', name: 'United States Dollar' },
  PrivateNote: 'Returned goods',
  Line: [
    {
      Id: '1',
      LineNum: 1,
      Description: 'Garden hose, returned',
      Amount: 60,
      DetailType: 'SalesItemLineDetail',
      SalesItemLineDetail: { ItemRef: { value: '5', name: 'Hose' }, UnitPrice: 30, Qty: 2, ItemAccountRef: { value: '79', name: 'Sales of Product Income' }, TaxCodeRef: { value: 'TAX' } },
    },
    { Amount: 60, DetailType: 'SubTotalLineDetail', SubTotalLineDetail: {} },
  ],
  TxnTaxDetail: { TotalTax: 4.8 },
  CustomerRef: { value: '3', name: 'Cool Cars' },
  TotalAmt: 64.8,
  PaymentMethodRef: { value: '2', name: 'Check' },
  DepositToAccountRef: { value: '35', name: 'Checking' },
  PaymentRefNum: '1020',
  Balance: 0,
};

describe('QuickBooks refund receipts as direct incomes', () => {
  it('are the sales receipt of the same content with every amount negated', () => {
    const ctx = { realmId: '9130', baseCurrency: 'USD' };
    const sale = mapSalesReceipt(RECEIPT, ctx);
    const refund = mapRefundReceipt(RECEIPT, ctx);
    expect(sale.data).toMatchObject({ totalAmount: 64.8, subTotal: 60, taxAmount: 4.8, contactRef: { id: '3', dataType: 'customers' } });
    expect(refund).toMatchObject({
      id: '66',
      deleted: false,
      data: {
        reference: '1020',
        note: 'Returned goods',
        issueDate: '2026-06-02T00:00:00',
        contactRef: { id: '3', dataType: 'customers' },
        totalAmount: -64.8,
        subTotal: -60,
        taxAmount: -4.8,
        lineItems: [{ description: 'Garden hose, returned', unitAmount: -30, quantity: 2, subTotal: -60, itemRef: { id: '5', name: 'Hose' }, accountRef: { id: '79' } }],
        paymentAllocations: [{ payment: { accountRef: { id: '35', name: 'Checking' }, paidOnDate: '2026-06-02T00:00:00', totalAmount: -64.8 }, allocation: { totalAmount: -64.8 } }],
      },
    });
    expect(checkRecord('directIncomes', refund.data)).toEqual([]);
    // A voided refund moved no money: flagged deleted, like a voided sales receipt.
    const voided = { ...RECEIPT, TotalAmt: 0, PrivateNote: 'Voided' };
    expect(mapRefundReceipt(voided, ctx).deleted).toBe(true);
    expect(mapSalesReceipt(voided, ctx).deleted).toBe(true);
  });
});

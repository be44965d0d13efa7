/**
 * Aged reports and money on account (issue 13 item 5): an overpayment or prepayment is a payment whose lines are its
 * allocations (each dated) plus the rest on account. As at a report date, the credit still on account is the rest plus
 * every allocation made on or after that date — the invoice it was applied to is then still owed in full — and a
 * refund of the credit gives it back.
 */
import { describe, expect, it } from 'vitest';
import { AgedReportBuilder } from './aged-report.js';

const at = (iso: string) => Date.parse(`${iso}T00:00:00Z`);
const report = (reportDate: string, feed: (b: AgedReportBuilder) => void) => {
  const b = new AgedReportBuilder('debtor', { reportDateMs: at(reportDate), periodLengthDays: 30, numberOfPeriods: 2 });
  feed(b);
  const out = b.build('2026-06-01T00:00:00Z') as { data: { customerId: string; agedCurrencyOutstanding: { agedOutstandingAmounts: { amount: number; details: { name: string; amount: number }[] }[] }[] }[] };
  return Object.fromEntries(out.data.map((c) => [c.customerId, c.agedCurrencyOutstanding[0]!.agedOutstandingAmounts.map((a) => a.amount)]));
};

const invoice = { id: 'inv-1', customerRef: { id: 'c1' }, currency: 'GBP', issueDate: '2026-03-01T00:00:00', totalAmount: 100, status: 'PartiallyPaid' };
const allocation = { payment: { id: 'op-1', paidOnDate: '2026-04-10T00:00:00', totalAmount: 60 }, allocation: { allocatedOnDate: '2026-04-10T00:00:00', totalAmount: 60 } };
/** Overpayment of 80 received 2026-03-20, 60 of it applied to the invoice on 2026-04-10, 20 still on account. */
const overpayment = {
  id: 'op-1',
  customerRef: { id: 'c1' },
  currency: 'GBP',
  date: '2026-03-20T00:00:00',
  totalAmount: 80,
  lines: [
    { amount: 60, allocatedOnDate: '2026-04-10T00:00:00', links: [{ type: 'Invoice', id: 'inv-1', amount: -60 }] },
    { amount: 20, allocatedOnDate: '2026-03-20T00:00:00', links: [{ type: 'PaymentOnAccount', id: 'op-1', amount: -20 }] },
  ],
};

describe('aged debtors with overpayments and prepayments', () => {
  it('after the allocation: the invoice owes 40, 20 is on account', () => {
    const r = report('2026-04-20', (b) => {
      b.document('documents', { ...invoice, paymentAllocations: [allocation] }, false);
      b.payment(overpayment, false);
    });
    // Periods from 2026-04-20 back: [03-21, 04-20) and before. Invoice 03-01 and overpayment 03-20 are both older.
    expect(r).toEqual({ c1: [0, 40 - 20] });
  });

  it('before the allocation: the invoice owes 100 and all 80 is still on account', () => {
    const r = report('2026-04-01', (b) => {
      b.document('documents', { ...invoice, paymentAllocations: [allocation] }, false);
      b.payment(overpayment, false);
    });
    expect(r).toEqual({ c1: [-80, 100] });
  });

  it('a refund of credit on account gives it back; a deleted (voided) overpayment counts nothing', () => {
    const refund = { id: 'rf-1', customerRef: { id: 'c1' }, currency: 'GBP', date: '2026-04-15T00:00:00', totalAmount: -20, lines: [{ amount: -20, allocatedOnDate: '2026-04-15T00:00:00', links: [{ type: 'PaymentOnAccount', id: 'op-1', amount: 20 }] }] };
    const r = report('2026-04-20', (b) => {
      b.document('documents', { ...invoice, paymentAllocations: [allocation] }, false);
      b.payment(overpayment, false);
      b.payment(refund, false);
      b.payment({ ...overpayment, id: 'op-2' }, true);
    });
    expect(r).toEqual({ c1: [20, 40 - 20] });
  });
});

/**
 * Overpayments and prepayments in the simulator (Xero dialect): `/Overpayments` and `/Prepayments` agree with the
 * invoices and bills they are allocated to (AmountCredited, AmountDue, status), with `/BankTransactions` (the money
 * that moved) and with the ledger the statements and journals are built from — before and after changes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../lib/clock.js';
import { balancesAt } from './ledger.js';
import { monthIndexOf } from './generate.js';
import { listJournals } from './banking.js';
import { COLLECTIONS } from './model.js';
import { startSimulator, type Simulator } from './server.js';
import type { Tenant } from './tenant.js';

const DAY = 86_400_000;
const cents = (x: number) => Math.round(x * 100);
const msOf = (d: string) => Number(/\/Date\((-?\d+)/.exec(d)![1]);

describe('simulator overpayments and prepayments', () => {
  const clock = new ManualClock('2026-04-20T09:00:00Z');
  let sim: Simulator;
  let t: Tenant;

  const call = async (path: string, headers: Record<string, string> = {}) => {
    const res = await fetch(`${sim.url}/api.xro/2.0${path}`, { headers: { authorization: `Bearer ${sim.grant(t.id).access_token}`, 'xero-tenant-id': t.id, ...headers } });
    return { status: res.status, body: (await res.json()) as any };
  };
  const admin = async (path: string, body: unknown = {}) => {
    const res = await fetch(`${sim.url}/admin/tenants/${t.id}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as any };
  };
  const all = async (path: string, key: string, pageSize = 7, headers: Record<string, string> = {}) => {
    const out: any[] = [];
    for (let page = 1; ; page++) {
      const r = await call(`${path}${path.includes('?') ? '&' : '?'}page=${page}&pageSize=${pageSize}`, headers);
      expect(r.status).toBe(200);
      out.push(...r.body[key]);
      if (r.body[key].length < pageSize) {
        expect(r.body.pagination.itemCount).toBe(out.length);
        return out;
      }
    }
  };

  /** Every document agrees with the on-account records applied to it, and each of those with its documents. */
  async function expectConsistent() {
    const invoices = new Map((await all('/Invoices', 'Invoices', 1000)).map((d) => [d.InvoiceID, d]));
    const onAccount = [...(await all('/Overpayments', 'Overpayments')), ...(await all('/Prepayments', 'Prepayments'))];
    const applied = new Map<string, number>();
    for (const r of onAccount) {
      const id = r.OverpaymentID ?? r.PrepaymentID;
      const allocated = r.Allocations.reduce((s: number, a: any) => s + cents(a.Amount), 0);
      if (r.Status === 'VOIDED') expect(r.Allocations).toEqual([]);
      else expect(cents(r.RemainingCredit), id).toBe(cents(r.Total) - allocated);
      if (r.Status === 'PAID') expect(cents(r.RemainingCredit)).toBe(0);
      if (r.Status === 'AUTHORISED') expect(cents(r.RemainingCredit)).toBeGreaterThan(0);
      for (const a of r.Allocations) {
        const doc = invoices.get(a.Invoice.InvoiceID)!;
        expect(doc, a.Invoice.InvoiceID).toBeDefined();
        expect(doc.Type).toBe(r.Type.startsWith('RECEIVE') ? 'ACCREC' : 'ACCPAY');
        expect(doc.Contact.ContactID).toBe(r.Contact.ContactID);
        const embedded = [...doc.Overpayments, ...doc.Prepayments].find((x: any) => x.ID === id);
        expect(embedded, `${doc.InvoiceNumber} lists ${id}`).toMatchObject({ AppliedAmount: a.Amount, Date: a.Date });
        applied.set(doc.InvoiceID, (applied.get(doc.InvoiceID) ?? 0) + cents(a.Amount));
      }
    }
    for (const d of invoices.values()) {
      const credit = [...d.CreditNotes, ...d.Overpayments, ...d.Prepayments].reduce((s: number, c: any) => s + cents(c.AppliedAmount), 0);
      expect(cents(d.AmountCredited), d.InvoiceNumber).toBe(credit);
      expect([...d.Overpayments, ...d.Prepayments].reduce((s: number, c: any) => s + cents(c.AppliedAmount), 0)).toBe(applied.get(d.InvoiceID) ?? 0);
      if (d.Status !== 'VOIDED' && d.Status !== 'DELETED') expect(cents(d.AmountDue), d.InvoiceNumber).toBe(cents(d.Total) - cents(d.AmountPaid) - credit);
      if (d.Status === 'PAID') expect(cents(d.AmountDue)).toBe(0);
    }
    // The money that moved: one bank transaction per on-account record, same total, VOIDED when it is.
    const legs = await all(`/BankTransactions?where=${encodeURIComponent('Type=="RECEIVE-OVERPAYMENT" OR Type=="SPEND-OVERPAYMENT" OR Type=="RECEIVE-PREPAYMENT" OR Type=="SPEND-PREPAYMENT"')}`, 'BankTransactions', 100);
    expect(legs.map((l) => `${l.OverpaymentID ?? l.PrepaymentID}:${l.Type}:${l.Total}:${l.Status === 'VOIDED'}`).sort()).toEqual(
      onAccount.map((r) => `${r.OverpaymentID ?? r.PrepaymentID}:${r.Type}:${r.Total}:${r.Status === 'VOIDED'}`).sort(),
    );
    for (const l of legs) expect((await call(`/BankTransactions/${l.BankTransactionID}`)).body.BankTransactions[0]).toEqual(l);
    // Journals are the ledger's own postings, on-account ones included, and add up to it account by account.
    const journals = listJournals({ gen: t.gen, collections: COLLECTIONS, log: t.journalLog }, { offset: 0, limit: 1_000_000 });
    const sums = new Map<string, number>();
    for (const j of journals) for (const [code, c] of j.posting.lines) sums.set(`${monthIndexOf(j.posting.dateMs)}:${code}`, (sums.get(`${monthIndexOf(j.posting.dateMs)}:${code}`) ?? 0) + c);
    const ledger = t.ledger();
    for (const [m, accts] of ledger.movements) for (const [code, c] of accts) expect(sums.get(`${m}:${code}`) ?? 0, `${m}:${code}`).toBe(c);
    return { invoices, onAccount, journals, ledger };
  }

  beforeAll(async () => {
    sim = await startSimulator({ clock, rateLimit: { perMinute: 100_000 } });
    t = sim.createTenant({ seed: 'on-account', size: { invoices: 300, overpayments: 12, prepayments: 12 } });
  });
  afterAll(() => sim.close());

  it('generated ones: paged listings, applied to their invoices, the money in the bank, journals and ledger agree', async () => {
    const { onAccount, journals } = await expectConsistent();
    expect(onAccount.filter((r) => r.OverpaymentID)).toHaveLength(12);
    expect(onAccount.filter((r) => r.PrepaymentID)).toHaveLength(12);
    expect(new Set(onAccount.map((r) => r.Type))).toEqual(new Set(['RECEIVE-OVERPAYMENT', 'RECEIVE-PREPAYMENT']));
    const statuses = new Set(onAccount.map((r) => r.Status));
    expect(statuses.has('PAID') && statuses.has('AUTHORISED')).toBe(true);
    // Each posts bank against receivables (610) in its own journal, of its own source type.
    const types = new Set(journals.filter((j) => j.source?.name === 'overpayments' || j.source?.name === 'prepayments').map((j) => j.source!.type));
    expect(types).toEqual(new Set(['AROVERPAYMENT', 'ARPREPAYMENT']));
    // A prepayment is received before the invoice it is allocated to, on that invoice's date.
    const invoices = new Map((await all('/Invoices', 'Invoices', 1000)).map((d) => [d.InvoiceID, d]));
    for (const r of onAccount.filter((x) => x.PrepaymentID)) for (const a of r.Allocations) expect(msOf(a.Date)).toBe(msOf(invoices.get(a.Invoice.InvoiceID).Date));
  });

  it('created, allocated and voided through the admin API: statuses, If-Modified-Since, receivables and payables move as Xero books them', async () => {
    const before = clock.now().getTime() + t.offsetMs;
    clock.advance(DAY);
    const m = monthIndexOf(t.nowMs());
    const bal = () => balancesAt(t.ledger(), [m]).get(m)!;
    const b0 = bal();
    // A supplier prepayment applied to an open bill; then a customer overpayment on account, not applied.
    const bill = (await all(`/Invoices?where=${encodeURIComponent('Type=="ACCPAY" AND Status=="AUTHORISED"')}`, 'Invoices', 1000)).find((d) => d.AmountDue > 10)!;
    expect(bill).toBeDefined();
    const pre = await admin('/records/prepayments', { type: 'SPEND', billId: bill.InvoiceID, amount: 10, reference: 'Deposit to supplier' });
    expect(pre.status, JSON.stringify(pre.body)).toBe(201);
    const over = await admin('/records/overpayments', { type: 'RECEIVE', amount: 123.45, contactId: (await all('/Contacts?where=IsCustomer%3D%3Dtrue', 'Contacts', 1000))[0].ContactID });
    expect(over.status).toBe(201);
    const b1 = bal();
    expect((b1.get('800') ?? 0) - (b0.get('800') ?? 0)).toBe(1000); // payables debited by the prepayment
    expect((b1.get('610') ?? 0) - (b0.get('610') ?? 0)).toBe(-12345); // receivables credited by the overpayment
    const bankDelta = (b1.get('090') ?? 0) - (b0.get('090') ?? 0);
    expect(bankDelta).toBe(12345 - 1000);
    const p = (await call(`/Prepayments/${pre.body.id}`)).body.Prepayments[0];
    expect(p).toMatchObject({ Type: 'SPEND-PREPAYMENT', Status: 'PAID', Total: 10, RemainingCredit: 0, Reference: 'Deposit to supplier', Allocations: [{ Invoice: { InvoiceID: bill.InvoiceID }, Amount: 10 }] });
    const billAfter = (await call(`/Invoices/${bill.InvoiceID}`)).body.Invoices[0];
    expect(cents(billAfter.AmountDue)).toBe(cents(bill.AmountDue) - 1000);
    expect(billAfter.Prepayments).toEqual([expect.objectContaining({ PrepaymentID: pre.body.id, AppliedAmount: 10 })]);
    const o = (await call(`/Overpayments/${over.body.id}`)).body.Overpayments[0];
    expect(o).toMatchObject({ Type: 'RECEIVE-OVERPAYMENT', Status: 'AUTHORISED', Total: 123.45, RemainingCredit: 123.45, Allocations: [] });
    // Only what changed since `before`; the where filters on Type and Status.
    const since = { 'if-modified-since': new Date(before).toISOString() };
    expect((await all('/Prepayments', 'Prepayments', 7, since)).map((r) => r.PrepaymentID)).toEqual([pre.body.id]);
    expect((await all('/Overpayments', 'Overpayments', 7, since)).map((r) => r.OverpaymentID)).toEqual([over.body.id]);
    expect((await all(`/Prepayments?where=${encodeURIComponent('Type=="SPEND-PREPAYMENT"')}`, 'Prepayments')).map((r) => r.PrepaymentID)).toEqual([pre.body.id]);
    expect((await all(`/Overpayments?where=${encodeURIComponent('Status=="PAID"')}`, 'Overpayments')).every((r) => r.Status === 'PAID')).toBe(true);
    await expectConsistent();

    // Voiding the prepayment takes its allocation off the bill and its posting out of the ledger.
    clock.advance(DAY);
    expect((await admin(`/records/prepayments/${pre.body.id}/void`)).status).toBe(200);
    const voided = (await call(`/Prepayments/${pre.body.id}`)).body.Prepayments[0];
    expect(voided).toMatchObject({ Status: 'VOIDED', RemainingCredit: 0, Allocations: [] });
    expect(cents((await call(`/Invoices/${bill.InvoiceID}`)).body.Invoices[0].AmountDue)).toBe(cents(bill.AmountDue));
    expect((await admin(`/records/overpayments/${over.body.id}/delete`)).status).toBe(400); // Xero voids them, never deletes
    const b2 = bal();
    expect((b2.get('800') ?? 0) - (b0.get('800') ?? 0)).toBe(0);
    const { onAccount } = await expectConsistent();
    expect(onAccount.some((r) => r.Status === 'VOIDED')).toBe(true);
  });

  it('bad input is refused with 4xx', async () => {
    expect((await admin('/records/overpayments', { type: 'SIDEWAYS' })).status).toBe(400);
    expect((await admin('/records/prepayments', { amount: -3 })).status).toBe(400);
    expect((await admin('/records/prepayments', { invoiceId: '00000000-0000-0000-0000-000000000000' })).status).toBe(404);
    expect((await call('/Overpayments/00000000-0000-0000-0000-000000000000')).status).toBe(404);
    expect((await call(`/Overpayments?where=${encodeURIComponent('Amount>3')}`)).status).toBe(400);
  });
});

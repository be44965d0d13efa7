/**
 * The simulator's banking and general ledger (Xero dialect): BankTransactions, BankTransfers and Journals agree with the
 * ledger the statements are built from — before and after changes at the source.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../lib/clock.js';
import { balancesAt } from './ledger.js';
import { monthIndexOf } from './generate.js';
import { startSimulator, type Simulator } from './server.js';
import { Tenant } from './tenant.js';
import { listJournals } from './banking.js';
import { COLLECTIONS } from './model.js';

const DAY = 86_400_000;
const cents = (x: number) => Math.round(x * 100);
const msOf = (d: string) => Number(/\/Date\((-?\d+)/.exec(d)![1]);

describe('simulator banking and journals', () => {
  const clock = new ManualClock('2026-03-10T09:00:00Z');
  let sim: Simulator;
  let t: Tenant;
  let access: string;

  const call = async (path: string, headers: Record<string, string> = {}) => {
    // Tokens live 30 minutes of the moved clock: a fresh grant per call.
    access = sim.grant(t.id).access_token;
    const res = await fetch(`${sim.url}/api.xro/2.0${path}`, { headers: { authorization: `Bearer ${access}`, 'xero-tenant-id': t.id, ...headers } });
    return { status: res.status, body: (await res.json()) as any };
  };
  const admin = async (path: string, body: unknown = {}) => {
    const res = await fetch(`${sim.url}/admin/tenants/${t.id}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as any };
  };
  const allJournals = async (headers: Record<string, string> = {}) => {
    const out: any[] = [];
    let calls = 0;
    for (let offset = 0; ; ) {
      const r = await call(`/Journals?offset=${offset}`, headers);
      calls++;
      expect(r.status).toBe(200);
      const js = r.body.Journals as any[];
      expect(js.length).toBeLessThanOrEqual(100);
      if (js.length === 0) return { journals: out, calls };
      out.push(...js);
      offset = js[js.length - 1].JournalNumber;
    }
  };
  const allBankTransactions = async (qs = '') => {
    const out: any[] = [];
    for (let page = 1; ; page++) {
      const r = await call(`/BankTransactions?page=${page}&pageSize=100${qs}`);
      expect(r.status).toBe(200);
      out.push(...r.body.BankTransactions);
      if (r.body.BankTransactions.length < 100) return { items: out, total: r.body.pagination.itemCount };
    }
  };
  const allPayments = async () => {
    const out: any[] = [];
    for (let page = 1; ; page++) {
      const r = await call(`/Payments?page=${page}&pageSize=1000`);
      out.push(...r.body.Payments);
      if (r.body.Payments.length < 1000) return out;
    }
  };
  /** Journals summed per (month, account code), in cents, against the ledger the statements use. */
  const expectJournalsEqualLedger = (journals: any[]) => {
    const sums = new Map<string, number>();
    for (const j of journals) {
      const m = monthIndexOf(msOf(j.JournalDate));
      let total = 0;
      for (const l of j.JournalLines) {
        const key = `${m}:${l.AccountCode}`;
        sums.set(key, (sums.get(key) ?? 0) + cents(l.NetAmount));
        total += cents(l.NetAmount);
      }
      expect(total, `journal ${j.JournalNumber} balances`).toBe(0);
    }
    const ledger = new Map<string, number>();
    for (const [m, accts] of t.ledger().movements) for (const [code, c] of accts) if (c !== 0) ledger.set(`${m}:${code}`, c);
    for (const [k, v] of [...sums]) if (v === 0) sums.delete(k);
    expect(Object.fromEntries([...sums].sort())).toEqual(Object.fromEntries([...ledger].sort()));
  };
  /** Each bank account's balance from its bank transactions, transfer legs and payments equals the ledger's. */
  const expectBankBalancesReconcile = async () => {
    const { items } = await allBankTransactions();
    const payments = await allPayments();
    const balance = new Map<string, number>();
    const add = (code: string, c: number) => balance.set(code, (balance.get(code) ?? 0) + c);
    const { ownerCents, loanCents } = t.gen.openingCash();
    add('090', ownerCents + loanCents);
    for (const b of items) {
      if (b.Status !== 'AUTHORISED') continue;
      add(b.BankAccount.Code, (b.Type.startsWith('RECEIVE') ? 1 : -1) * cents(b.Total));
    }
    for (const p of payments) {
      if (p.Status !== 'AUTHORISED') continue;
      add(p.Account.Code, (p.PaymentType === 'ACCRECPAYMENT' ? 1 : -1) * cents(p.BankAmount));
    }
    const end = balancesAt(t.ledger(), [monthIndexOf(t.nowMs()) + 1]).values().next().value!;
    for (const code of ['090', '091', '092']) expect(balance.get(code) ?? 0, `bank ${code}`).toBe(end.get(code) ?? 0);
  };

  beforeAll(async () => {
    sim = await startSimulator({ clock, rateLimit: { perMinute: 100_000, concurrent: 10 } });
    t = sim.createTenant({ seed: 'banking-test', size: { invoices: 300, historyMonths: 12 } });
    access = sim.grant(t.id).access_token;
  });
  afterAll(() => sim.close());

  it('journals are the ledger’s own postings: offset paging, 100 a call, summing to the ledger month by month', async () => {
    const { journals, calls } = await allJournals();
    expect(journals.length).toBeGreaterThan(500);
    // Full pages of 100, then the page that comes back empty.
    expect(calls).toBe(Math.ceil(journals.length / 100) + 1);
    const numbers = journals.map((j) => j.JournalNumber);
    expect(numbers).toEqual([...numbers].sort((a, b) => a - b));
    expect(new Set(numbers).size).toBe(numbers.length);
    expect(new Set(journals.map((j) => j.SourceType))).toEqual(new Set([undefined, 'ACCREC', 'ACCPAY', 'ACCRECCREDIT', 'ACCPAYCREDIT', 'ACCRECPAYMENT', 'ACCPAYPAYMENT', 'MANJOURNAL', 'CASHREC', 'CASHPAID', 'TRANSFER']));
    expectJournalsEqualLedger(journals);
    // A journal names its source document, which exists.
    const spend = journals.find((j) => j.SourceType === 'CASHPAID');
    const src = await call(`/BankTransactions/${spend.SourceID}`);
    expect(src.body.BankTransactions[0]).toMatchObject({ Type: 'SPEND', BankTransactionID: spend.SourceID });
    expect(spend.JournalLines.find((l: any) => l.AccountCode === src.body.BankTransactions[0].BankAccount.Code).NetAmount).toBe(-src.body.BankTransactions[0].Total);
    await expectBankBalancesReconcile();
  });

  it('bank transactions: spend and receive money and both legs of every transfer, paged and filtered', async () => {
    const { items, total } = await allBankTransactions();
    expect(items).toHaveLength(total);
    const transfers = (await call('/BankTransfers')).body.BankTransfers as any[];
    expect(transfers.length).toBeGreaterThan(5);
    expect(total).toBe(t.collections.bankTransactions.size + 2 * transfers.length);
    for (const tr of transfers) {
      const from = items.find((b) => b.BankTransactionID === tr.FromBankTransactionID);
      const to = items.find((b) => b.BankTransactionID === tr.ToBankTransactionID);
      expect(from).toMatchObject({ Type: 'SPEND-TRANSFER', Total: tr.Amount, BankAccount: { AccountID: tr.FromBankAccount.AccountID }, IsReconciled: tr.FromIsReconciled });
      expect(to).toMatchObject({ Type: 'RECEIVE-TRANSFER', Total: tr.Amount, BankAccount: { AccountID: tr.ToBankAccount.AccountID }, IsReconciled: tr.ToIsReconciled });
      expect((await call(`/BankTransactions/${tr.FromBankTransactionID}`)).body.BankTransactions[0]).toEqual(from);
    }
    const spend = await allBankTransactions(`&where=${encodeURIComponent('Type=="SPEND"')}`);
    expect(spend.items.length).toBeGreaterThan(0);
    expect(spend.items.every((b) => b.Type === 'SPEND')).toBe(true);
    expect(spend.items.length).toBe(items.filter((b) => b.Type === 'SPEND').length);
    const savings = items.find((b) => b.BankAccount.Code === '091').BankAccount.AccountID;
    const of091 = await allBankTransactions(`&where=${encodeURIComponent(`BankAccount.AccountID=="${savings}"`)}`);
    expect(of091.items.length).toBe(items.filter((b) => b.BankAccount.Code === '091').length);
    for (const b of spend.items) expect(cents(b.Total)).toBe(cents(b.SubTotal) + cents(b.TotalTax));
    expect((await call(`/BankTransactions?where=${encodeURIComponent('Contact.Name=="x"')}`)).status).toBe(400);
    expect((await call('/BankTransactions?page=x')).status).toBe(400);
    expect((await call('/BankTransactions/00000000-0000-4000-8000-000000000000')).status).toBe(404);
    expect((await call('/Journals?offset=-1')).status).toBe(400);
    expect((await call(`/Journals?where=${encodeURIComponent('SourceType=="ACCREC"')}`)).status).toBe(400);
  });

  it('changes at the source: new, voided and deleted bank transactions and transfers append journals; everything still agrees', async () => {
    const before = (await allJournals()).journals;
    const lastNumber = before[before.length - 1].JournalNumber;
    clock.advance(DAY);
    const mark = new Date(t.nowMs()).toISOString();
    const spend = (await admin('/records/bankTransactions', { type: 'SPEND', bankAccountCode: '092', reference: 'Taxi' })).body.id as string;
    const receive = (await admin('/records/bankTransactions', { type: 'RECEIVE' })).body.id as string;
    const transfer = (await admin('/records/bankTransfers', { fromAccountCode: '090', toAccountCode: '091', amount: 123.45 })).body.id as string;
    expect((await admin('/records/bankTransfers', { fromAccountCode: '090', toAccountCode: '090' })).status).toBe(400);
    expect((await admin('/records/bankTransactions', { type: 'SPEND', bankAccountCode: '200' })).status).toBe(400);
    expect((await admin('/records/bankTransactions', { type: 'TRANSFER' })).status).toBe(400);
    const old = (await call(`/BankTransactions?page=1&pageSize=1&where=${encodeURIComponent('Type=="SPEND"')}`)).body.BankTransactions[0];
    expect((await admin(`/records/bankTransactions/${old.BankTransactionID}/void`)).status).toBe(200);
    expect((await admin(`/records/bankTransactions/${receive}/delete`)).status).toBe(200);
    const oldTransfer = (await call('/BankTransfers')).body.BankTransfers[0];
    expect((await admin(`/records/bankTransfers/${oldTransfer.BankTransferID}/delete`)).status).toBe(200);

    const after = (await allJournals()).journals;
    expect(after.slice(0, before.length)).toEqual(before);
    const added = after.slice(before.length);
    expect(added[0].JournalNumber).toBeGreaterThan(lastNumber);
    // spend + receive + transfer postings, reversals of the voided spend, the deleted receive and the deleted transfer
    expect(added.map((j) => [j.SourceType, j.SourceID])).toEqual([
      ['CASHPAID', spend],
      ['CASHREC', receive],
      ['TRANSFER', transfer],
      ['CASHPAID', old.BankTransactionID],
      ['CASHREC', receive],
      ['TRANSFER', oldTransfer.BankTransferID],
    ]);
    expect(added[3].JournalDate).toBe(old.Date);
    expectJournalsEqualLedger(after);
    // If-Modified-Since on Journals: only the ones created since.
    const since = await allJournals({ 'if-modified-since': mark });
    expect(since.journals.map((j) => j.JournalNumber)).toEqual(added.map((j) => j.JournalNumber));

    const changed = await allBankTransactions();
    expect(changed.items.find((b) => b.BankTransactionID === old.BankTransactionID).Status).toBe('VOIDED');
    expect(changed.items.find((b) => b.BankTransactionID === receive).Status).toBe('DELETED');
    const created = changed.items.find((b) => b.BankTransactionID === spend);
    expect(created).toMatchObject({ Type: 'SPEND', Reference: 'Taxi', BankAccount: { Code: '092' }, IsReconciled: false });
    // IMS on BankTransactions: the new, voided and deleted ones and the legs of the new and the deleted transfer.
    const modified = await call('/BankTransactions?page=1&pageSize=100', { 'if-modified-since': mark });
    expect(modified.body.BankTransactions.map((b: any) => b.BankTransactionID).sort()).toEqual(
      [spend, receive, old.BankTransactionID, oldTransfer.FromBankTransactionID, oldTransfer.ToBankTransactionID, ...(await call(`/BankTransfers/${transfer}`)).body.BankTransfers.flatMap((x: any) => [x.FromBankTransactionID, x.ToBankTransactionID])].sort(),
    );
    // A deleted transfer is listed only with includeDeleted=true.
    expect((await call('/BankTransfers')).body.BankTransfers.some((x: any) => x.BankTransferID === oldTransfer.BankTransferID)).toBe(false);
    const withDeleted = (await call('/BankTransfers?includeDeleted=true')).body.BankTransfers as any[];
    expect(withDeleted.find((x) => x.BankTransferID === oldTransfer.BankTransferID).Status).toBe('DELETED');
    expect(withDeleted.find((x) => x.BankTransferID === transfer)).toMatchObject({ Amount: 123.45, FromBankAccount: { Code: '090' }, ToBankAccount: { Code: '091' } });
    await expectBankBalancesReconcile();
  });

  it('the journals appended by changes survive a restart from the state file (tenant snapshot)', () => {
    const all = (x: Tenant) => listJournals({ gen: x.gen, collections: COLLECTIONS, log: x.journalLog }, { offset: 0, limit: Number.MAX_SAFE_INTEGER });
    expect(t.journalLog.entries.length).toBeGreaterThan(0);
    const restored = Tenant.restore(JSON.parse(JSON.stringify(t.snapshot())), clock);
    expect(all(restored)).toEqual(all(t));
  });

  it('documents changed by the generic activity append their reversals and postings too', async () => {
    clock.advance(DAY);
    await fetch(`${sim.url}/admin/tenants/${t.id}/activity`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ events: 40, advanceDays: 2 }) });
    expectJournalsEqualLedger((await allJournals()).journals);
    await expectBankBalancesReconcile();
  });
});

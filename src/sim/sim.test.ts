import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../lib/clock.js';
import { startSimulator, type Simulator } from './server.js';
import type { Tenant } from './tenant.js';
import { reportTitles } from './xero/reports.js';

const DAY = 86_400_000;

async function call(sim: Simulator, token: string, tenantId: string, path: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${sim.url}/api.xro/2.0${path}`, { headers: { authorization: `Bearer ${token}`, 'xero-tenant-id': tenantId, accept: 'application/json', ...headers } });
  const text = await res.text();
  let body: any;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: res.status, headers: res.headers, body, text };
}

async function admin(sim: Simulator, method: string, path: string, body?: unknown) {
  const res = await fetch(`${sim.url}/admin${path}`, { method, headers: { 'content-type': 'application/json' }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  return { status: res.status, body: (await res.json().catch(() => undefined)) as any };
}

async function token(sim: Simulator, refresh: string) {
  const res = await fetch(`${sim.url}/connect/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `grant_type=refresh_token&refresh_token=${encodeURIComponent(refresh)}` });
  return { status: res.status, body: (await res.json()) as any };
}

/** Waits for a condition (an event), up to a generous deadline that only bounds a hang. */
async function until(cond: () => boolean) {
  for (const deadline = Date.now() + 30_000; !cond(); await new Promise((r) => setTimeout(r, 5))) if (Date.now() > deadline) throw new Error('condition not met');
}

const where = (w: string) => `where=${encodeURIComponent(w)}`;

describe('simulator', () => {
  const clock = new ManualClock('2026-03-10T09:00:00Z');
  let sim: Simulator;
  let t: Tenant;
  let access: string;

  beforeAll(async () => {
    sim = await startSimulator({ clock, rateLimit: { perMinute: 100_000, concurrent: 10 } });
    t = sim.createTenant({ seed: 'sim-test', size: 2500 });
    access = sim.grant(t.id).access_token;
  });
  afterAll(() => sim.close());

  it('generates the same tenant from the same seed, size and day, and a different one from another seed', async () => {
    const other = await startSimulator({ clock });
    try {
      const same = other.createTenant({ seed: 'sim-test', size: 2500 });
      const diff = other.createTenant({ seed: 'sim-test-2', size: 2500 });
      expect(same.id).toBe(t.id);
      const a = await call(sim, access, t.id, `/Invoices?page=3&pageSize=50&${where('Type=="ACCREC"')}`);
      const b = await call(other, other.grant(same.id).access_token, same.id, `/Invoices?page=3&pageSize=50&${where('Type=="ACCREC"')}`);
      const c = await call(other, other.grant(diff.id).access_token, diff.id, `/Invoices?page=3&pageSize=50&${where('Type=="ACCREC"')}`);
      expect(b.body.Invoices).toEqual(a.body.Invoices);
      expect(c.body.Invoices[0].InvoiceID).not.toBe(a.body.Invoices[0].InvoiceID);
      expect(c.body.Invoices[0].Total).not.toBe(a.body.Invoices[0].Total);
    } finally {
      await other.close();
    }
  });

  it('pages with a maximum page size and reports pagination; every record appears once', async () => {
    const big = await call(sim, access, t.id, `/Invoices?page=1&pageSize=5000&${where('Type=="ACCREC"')}`);
    expect(big.body.pagination).toEqual({ page: 1, pageSize: 1000, pageCount: 3, itemCount: 2500 });
    const ids = new Set<string>();
    for (let page = 1; page <= 3; page++) {
      const r = await call(sim, access, t.id, `/Invoices?page=${page}&pageSize=1000&${where('Type=="ACCREC"')}`);
      for (const inv of r.body.Invoices) ids.add(inv.InvoiceID);
    }
    expect(ids.size).toBe(2500);
    const past = await call(sim, access, t.id, `/Invoices?page=4&pageSize=1000&${where('Type=="ACCREC"')}`);
    expect(past.body.Invoices).toEqual([]);
  });

  it('keeps documents consistent: payments reference real invoices and amounts add up', async () => {
    const invs = (await call(sim, access, t.id, `/Invoices?page=1&pageSize=1000&${where('Type=="ACCREC"')}`)).body.Invoices as any[];
    const pays = (await call(sim, access, t.id, `/Payments?page=1&pageSize=1000&${where('PaymentType=="ACCRECPAYMENT"')}`)).body.Payments as any[];
    const byId = new Map(invs.map((i) => [i.InvoiceID, i]));
    let checked = 0;
    for (const p of pays) {
      const inv = byId.get(p.Invoice.InvoiceID);
      if (!inv) continue;
      expect(inv.Payments.map((x: any) => x.PaymentID)).toContain(p.PaymentID);
      expect(p.Invoice.Contact.ContactID).toBe(inv.Contact.ContactID);
      checked++;
    }
    expect(checked).toBeGreaterThan(500);
    for (const inv of invs) {
      const lines = inv.LineItems.reduce((s: number, l: any) => s + Math.round(l.LineAmount * 100), 0);
      const tax = inv.LineItems.reduce((s: number, l: any) => s + Math.round(l.TaxAmount * 100), 0);
      expect(Math.round(inv.SubTotal * 100)).toBe(lines);
      expect(Math.round(inv.Total * 100)).toBe(lines + tax);
      const paid = inv.Payments.reduce((s: number, p: any) => s + Math.round(p.Amount * 100), 0);
      const credited = inv.CreditNotes.reduce((s: number, c: any) => s + Math.round(c.AppliedAmount * 100), 0);
      if (inv.Status !== 'VOIDED' && inv.Status !== 'DELETED') expect(Math.round(inv.AmountDue * 100)).toBe(lines + tax - paid - credited);
      if (inv.Status === 'PAID') expect(inv.AmountDue).toBe(0);
    }
  });

  it('statements agree with the documents and with each other for 36 months', async () => {
    const end = '2026-02-28';
    // Titles are the organisation's edition's words (Xero's differ between UK, US and AU organisations).
    const T = reportTitles(t.gen.organisation.version);
    const bs = (await call(sim, access, t.id, `/Reports/BalanceSheet?date=${end}&periods=11&timeframe=MONTH`)).body.Reports[0];
    const rows = bs.Rows as any[];
    const valueOf = (title: string, col: number) => {
      for (const s of rows) for (const r of s.Rows ?? []) if (r.Cells?.[0]?.Value === title) return Number(r.Cells[col].Value);
      throw new Error(`no row ${title}`);
    };
    for (let col = 1; col <= 12; col++) {
      const assets = valueOf(T.totalAssets, col);
      const liabilities = valueOf(T.totalLiabilities, col);
      const equity = valueOf(T.totalEquity, col);
      expect(Math.round((assets - liabilities) * 100)).toBe(Math.round(equity * 100));
    }
    // Income of a month = authorised/paid invoices of that month less credit notes (base currency).
    const month = '2025-11';
    const pnl = (await call(sim, access, t.id, `/Reports/ProfitAndLoss?fromDate=2025-11-01&toDate=2025-11-30&periods=0`)).body.Reports[0];
    const income = Number(pnl.Rows.find((s: any) => s.Title === T.income).Rows.find((r: any) => r.RowType === 'SummaryRow').Cells[1].Value);
    let expected = 0;
    const inMonth = (d: string) => new Date(Number(/\d+/.exec(d)![0])).toISOString().startsWith(month);
    for (let page = 1; ; page++) {
      const r = (await call(sim, access, t.id, `/Invoices?page=${page}&pageSize=1000&${where('Type=="ACCREC"')}`)).body.Invoices as any[];
      for (const inv of r) {
        if (!['AUTHORISED', 'PAID'].includes(inv.Status) || !inMonth(inv.Date)) continue;
        for (const l of inv.LineItems) if (l.AccountCode === '200' || l.AccountCode === '260') expected += Math.round((l.LineAmount * 100) / inv.CurrencyRate);
      }
      if (r.length < 1000) break;
    }
    const cns = (await call(sim, access, t.id, `/CreditNotes?page=1&pageSize=1000`)).body.CreditNotes as any[];
    for (const cn of cns) {
      // /CreditNotes lists both kinds, as Xero does: supplier credit notes (ACCPAYCREDIT) reduce expenses, not income.
      if (cn.Type !== 'ACCRECCREDIT' || !['AUTHORISED', 'PAID'].includes(cn.Status) || !inMonth(cn.Date)) continue;
      for (const l of cn.LineItems) expected -= Math.round((l.LineAmount * 100) / cn.CurrencyRate);
    }
    // Receive money (cash sales without an invoice) is income too.
    for (let page = 1; ; page++) {
      const r = (await call(sim, access, t.id, `/BankTransactions?page=${page}&pageSize=1000&${where('Type=="RECEIVE"')}`)).body.BankTransactions as any[];
      for (const b of r) {
        if (b.Status !== 'AUTHORISED' || !inMonth(b.Date)) continue;
        for (const l of b.LineItems) if (l.AccountCode === '200' || l.AccountCode === '260') expected += Math.round((l.LineAmount * 100) / b.CurrencyRate);
      }
      if (r.length < 1000) break;
    }
    expect(Math.round(income * 100)).toBe(expected);
    // Cash flow: receipts − payments = change in bank balances.
    const cf = (await call(sim, access, t.id, `/Reports/CashFlow?fromDate=2025-11-01&toDate=2025-11-30&periods=0`)).body.Reports[0];
    const net = Number(cf.Rows.at(-1).Rows[0].Cells[1].Value);
    const bank = (await call(sim, access, t.id, `/Reports/BalanceSheet?date=2025-11-30&periods=1`)).body.Reports[0];
    const totalBank = bank.Rows.find((s: any) => s.Title === T.bank).Rows.find((r: any) => r.RowType === 'SummaryRow').Cells;
    expect(Math.round(net * 100)).toBe(Math.round((Number(totalBank[1].Value) - Number(totalBank[2].Value)) * 100));
    // 36 months of history exist.
    const old = (await call(sim, access, t.id, `/Reports/ProfitAndLoss?fromDate=2023-03-01&toDate=2023-03-31&periods=0`)).body.Reports[0];
    expect(Number(old.Rows.find((s: any) => s.Title === T.income).Rows.at(-1).Cells[1].Value)).toBeGreaterThan(0);
  });

  it('reports honour fromDate/toDate, date, periods and timeframe as Xero defines them, and reject what the ledger cannot answer', async () => {
    const rep = async (path: string) => {
      const r = await call(sim, access, t.id, path);
      expect(r.status, `${path}: ${r.text}`).toBe(200);
      return r.body.Reports[0];
    };
    const cents = (v: string) => Math.round(Number(v) * 100);
    /** Column values of the row whose account (or title) is `key`. */
    const rowsOf = (report: any) => new Map<string, number[]>(report.Rows.flatMap((s: any) => (s.Rows ?? []).map((r: any) => [r.Cells[0].Attributes?.[0]?.Value ?? `${s.Title}/${r.Cells[0].Value}`, r.Cells.slice(1).map((c: any) => cents(c.Value))])));
    // A quarter, compared with the quarter before (timeframe=QUARTER), equals the sum of its three months.
    const q = await rep('/Reports/ProfitAndLoss?fromDate=2025-10-01&toDate=2025-12-31&periods=1&timeframe=QUARTER');
    expect(q.Rows[0].Cells.slice(1).map((c: any) => c.Value)).toEqual(['1 Oct 2025-31 Dec 2025', '1 Jul 2025-30 Sep 2025']);
    const months = await rep('/Reports/ProfitAndLoss?fromDate=2025-12-01&toDate=2025-12-31&periods=5&timeframe=MONTH');
    expect(months.Rows[0].Cells.slice(1).map((c: any) => c.Value)).toEqual(['Dec 2025', 'Nov 2025', 'Oct 2025', 'Sep 2025', 'Aug 2025', 'Jul 2025']);
    const qRows = rowsOf(q);
    const mRows = rowsOf(months);
    expect(qRows.size).toBeGreaterThan(3);
    for (const [key, v] of qRows) {
      const m = mRows.get(key) ?? [0, 0, 0, 0, 0, 0];
      expect(v, key).toEqual([m[0]! + m[1]! + m[2]!, m[3]! + m[4]! + m[5]!]);
    }
    // Balance sheet: `date` and YEAR steps, each column equal to the balance sheet at that date.
    const years = await rep('/Reports/BalanceSheet?date=2025-12-31&periods=2&timeframe=YEAR');
    expect(years.Rows[0].Cells.slice(1).map((c: any) => c.Value)).toEqual(['31 Dec 2025', '31 Dec 2024', '31 Dec 2023']);
    for (const [i, date] of ['2025-12-31', '2024-12-31', '2023-12-31'].entries()) {
      const single = rowsOf(await rep(`/Reports/BalanceSheet?date=${date}`));
      for (const [key, v] of rowsOf(years)) expect(single.get(key)?.[0] ?? 0, `${date} ${key}`).toBe(v[i]);
    }
    // Without dates: the current month (the tenant's clock: March 2026), one column.
    const now = await rep('/Reports/ProfitAndLoss');
    expect(now.Rows[0].Cells.slice(1).map((c: any) => c.Value)).toEqual(['Mar 2026']);
    for (const bad of [
      '/Reports/ProfitAndLoss?timeframe=WEEK',
      '/Reports/ProfitAndLoss?periods=13',
      '/Reports/ProfitAndLoss?periods=-1',
      '/Reports/ProfitAndLoss?fromDate=2025-10-02&toDate=2025-12-31',
      '/Reports/ProfitAndLoss?fromDate=2025-12-01&toDate=2025-10-31',
      '/Reports/ProfitAndLoss?toDate=2025-12-30',
      '/Reports/BalanceSheet?date=2025-12-15',
      '/Reports/BalanceSheet?date=2025-02-30',
      '/Reports/BalanceSheet?date=yesterday',
    ]) {
      const r = await call(sim, access, t.id, bad);
      expect(r.status, bad).toBe(400);
      expect(r.body.Detail, bad).toBeTruthy();
    }
    expect((await call(sim, access, t.id, '/Reports/TrialBalances')).status).toBe(404);
  });

  it('report titles are the edition\'s words and can be set per tenant; figures do not change', async () => {
    const before = await call(sim, access, t.id, '/Reports/ProfitAndLoss?fromDate=2025-11-01&toDate=2025-11-30');
    const set = await admin(sim, 'PUT', `/tenants/${t.id}/report-titles`, { income: 'Chiffre d\'affaires', operatingExpenses: 'Charges d\'exploitation', netProfit: 'Résultat net' });
    expect(set.status).toBe(200);
    expect(set.body.income).toBe('Chiffre d\'affaires');
    try {
      const after = await call(sim, access, t.id, '/Reports/ProfitAndLoss?fromDate=2025-11-01&toDate=2025-11-30');
      const titles = after.body.Reports[0].Rows.map((s: any) => s.Title);
      expect(titles).toContain('Chiffre d\'affaires');
      expect(titles).toContain('Charges d\'exploitation');
      expect(titles).not.toContain(reportTitles(t.gen.organisation.version).income);
      const values = (r: any) => r.body.Reports[0].Rows.flatMap((s: any) => (s.Rows ?? []).map((x: any) => x.Cells.slice(1).map((c: any) => c.Value)));
      expect(values(after)).toEqual(values(before));
      expect((await admin(sim, 'PUT', `/tenants/${t.id}/report-titles`, { turnover: 'x' })).status).toBe(400);
      expect((await admin(sim, 'PUT', `/tenants/${t.id}/report-titles`, { income: '' })).status).toBe(400);
    } finally {
      expect((await admin(sim, 'PUT', `/tenants/${t.id}/report-titles`, {})).status).toBe(200);
    }
    expect((await admin(sim, 'GET', `/tenants/${t.id}/report-titles`)).body).toEqual(reportTitles(t.gen.organisation.version));
  });

  it('filters by If-Modified-Since, shows soft deletes with their status and drops hard deletes', async () => {
    const t2 = sim.createTenant({ seed: 'ims', size: 300 });
    const tok = sim.grant(t2.id).access_token;
    const since = clock.now().toISOString();
    expect((await call(sim, tok, t2.id, `/Invoices?page=1`, { 'if-modified-since': since })).body.Invoices).toEqual([]);
    expect((await call(sim, tok, t2.id, `/Invoices?page=1`, { 'if-modified-since': '2026-01-01T00:00:00' })).status).toBe(400);
    clock.advance(1000);
    const ids = (await admin(sim, 'GET', `/tenants/${t2.id}/records/invoices?limit=300`)).body.ids as string[];
    const open = (await call(sim, tok, t2.id, `/Invoices?page=1&pageSize=300&${where('Type=="ACCREC"&&Status=="AUTHORISED"')}`)).body.Invoices.filter((i: any) => i.Payments.length === 0);
    await admin(sim, 'POST', `/tenants/${t2.id}/records/invoices/${ids[5]}/edit`, { patch: { reference: 'changed' } });
    await admin(sim, 'POST', `/tenants/${t2.id}/records/invoices/${open[0].InvoiceID}/void`);
    const created = (await admin(sim, 'POST', `/tenants/${t2.id}/records/invoices`, { status: 'DRAFT' })).body.id;
    await admin(sim, 'POST', `/tenants/${t2.id}/records/invoices/${created}/delete`);
    const item = (await admin(sim, 'GET', `/tenants/${t2.id}/records/items`)).body.ids[0];
    await admin(sim, 'POST', `/tenants/${t2.id}/records/items/${item}/hard-delete`);
    const changed = (await call(sim, tok, t2.id, `/Invoices?page=1&${where('Type=="ACCREC"')}`, { 'if-modified-since': since })).body.Invoices as any[];
    const byId = Object.fromEntries(changed.map((i) => [i.InvoiceID, i]));
    expect(Object.keys(byId).sort()).toEqual([ids[5], open[0].InvoiceID, created].sort());
    expect(byId[ids[5]!].Reference).toBe('changed');
    expect(byId[open[0].InvoiceID].Status).toBe('VOIDED');
    expect(byId[created].Status).toBe('DELETED');
    const items = (await call(sim, tok, t2.id, `/Items`)).body.Items as any[];
    expect(items.map((i) => i.ItemID)).not.toContain(item);
    expect((await call(sim, tok, t2.id, `/Items/${item}`)).status).toBe(404);
  });

  it('issues short-lived access tokens and rotating refresh tokens that lapse after 60 idle days or on revocation', async () => {
    const t3 = sim.createTenant({ seed: 'tokens', size: 20 });
    const g = sim.grant(t3.id);
    expect(g.expires_in).toBe(1800);
    expect((await call(sim, g.access_token, t3.id, '/Organisation')).status).toBe(200);
    // Another tenant's token does not open this one.
    expect((await call(sim, access, t3.id, '/Organisation')).status).toBe(403);
    await admin(sim, 'POST', `/tenants/${t3.id}/clock`, { advanceSeconds: 1801 });
    const expired = await call(sim, g.access_token, t3.id, '/Organisation');
    expect(expired.status).toBe(401);
    expect(expired.body.Detail).toMatch(/TokenExpired/);
    const r1 = await token(sim, g.refresh_token);
    expect(r1.status).toBe(200);
    expect(r1.body.refresh_token).not.toBe(g.refresh_token);
    // The old refresh token still works inside the 30-minute grace, not after.
    expect((await token(sim, g.refresh_token)).status).toBe(200);
    await admin(sim, 'POST', `/tenants/${t3.id}/clock`, { advanceSeconds: 1801 });
    expect((await token(sim, g.refresh_token)).body.error).toBe('invalid_grant');
    // Unused for 60 days → invalid_grant.
    const r2 = await token(sim, r1.body.refresh_token);
    await admin(sim, 'POST', `/tenants/${t3.id}/clock`, { advanceDays: 59 });
    const r3 = await token(sim, r2.body.refresh_token);
    expect(r3.status).toBe(200);
    await admin(sim, 'POST', `/tenants/${t3.id}/clock`, { advanceDays: 60 });
    expect((await token(sim, r3.body.refresh_token)).body).toMatchObject({ error: 'invalid_grant' });
    // Revocation kills the grant.
    const g2 = sim.grant(t3.id);
    await admin(sim, 'POST', `/tenants/${t3.id}/revoke`);
    expect((await call(sim, g2.access_token, t3.id, '/Organisation')).status).toBe(401);
    expect((await token(sim, g2.refresh_token)).body.error).toBe('invalid_grant');
    const counters = (await admin(sim, 'GET', `/tenants/${t3.id}/counters`)).body;
    expect(counters.tokensIssued).toBeGreaterThanOrEqual(5);
    expect(counters.refreshFailures).toBeGreaterThanOrEqual(3);
  });

  it('rate-limits per tenant per minute and per concurrent call, with Retry-After and Xero headers', async () => {
    const t4 = sim.createTenant({ seed: 'limits', size: 20 });
    const tok = sim.grant(t4.id).access_token;
    await admin(sim, 'PUT', `/tenants/${t4.id}/rate-limit`, { perMinute: 3, concurrent: 1 });
    const ok = await call(sim, tok, t4.id, '/Organisation');
    expect(ok.headers.get('x-minlimit-remaining')).toBe('2');
    expect(ok.headers.get('x-daylimit-remaining')).toBeTruthy();
    await call(sim, tok, t4.id, '/Organisation');
    await call(sim, tok, t4.id, '/Organisation');
    const limited = await call(sim, tok, t4.id, '/Organisation');
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(limited.headers.get('x-rate-limit-problem')).toBe('minute');
    await admin(sim, 'PUT', `/tenants/${t4.id}/rate-limit`, { perMinute: 1000 });
    // The first call is held in flight (no delay to guess) while the second arrives.
    await admin(sim, 'POST', `/tenants/${t4.id}/faults`, { kind: 'hold', count: 1 });
    const first = call(sim, tok, t4.id, '/Organisation');
    await until(() => t4.held.length === 1);
    const b = await call(sim, tok, t4.id, '/Organisation');
    expect((await admin(sim, 'POST', `/tenants/${t4.id}/faults/release`)).body).toEqual({ released: 1 });
    const a = await first;
    expect(a.status).toBe(200);
    expect(b.status).toBe(429);
    expect(b.headers.get('x-rate-limit-problem')).toBe('concurrent');
    const counters = (await admin(sim, 'GET', `/tenants/${t4.id}/counters`)).body;
    expect(counters.rateLimited).toMatchObject({ minute: 1, concurrent: 1 });
    expect(counters.byEndpoint['GET /Organisation']).toBe(6);
  });

  it('injects faults: 5xx, truncated bodies, timeouts and 429 storms', async () => {
    const t5 = sim.createTenant({ seed: 'faults', size: 20 });
    const tok = sim.grant(t5.id).access_token;
    await admin(sim, 'POST', `/tenants/${t5.id}/faults`, { kind: '5xx', status: 502, count: 1, path: '/Contacts' });
    expect((await call(sim, tok, t5.id, '/Organisation')).status).toBe(200);
    expect((await call(sim, tok, t5.id, '/Contacts')).status).toBe(502);
    expect((await call(sim, tok, t5.id, '/Contacts')).status).toBe(200);
    await admin(sim, 'POST', `/tenants/${t5.id}/faults`, { kind: 'truncate', count: 1 });
    const truncated = await call(sim, tok, t5.id, '/Contacts');
    expect(truncated.status).toBe(200);
    expect(truncated.body).toBeUndefined();
    await admin(sim, 'POST', `/tenants/${t5.id}/faults`, { kind: '429', count: 2, retryAfterSeconds: 7 });
    const storm = await call(sim, tok, t5.id, '/Contacts');
    expect(storm.status).toBe(429);
    expect(storm.headers.get('retry-after')).toBe('7');
    await call(sim, tok, t5.id, '/Contacts');
    expect((await call(sim, tok, t5.id, '/Contacts')).status).toBe(200);
    await admin(sim, 'POST', `/tenants/${t5.id}/faults`, { kind: 'timeout', count: 1 });
    await expect(fetch(`${sim.url}/api.xro/2.0/Organisation`, { headers: { authorization: `Bearer ${tok}`, 'xero-tenant-id': t5.id }, signal: AbortSignal.timeout(300) })).rejects.toThrow();
    // hold: the matching call waits until released, then answers normally; a release drops hold faults not yet
    // taken, and clearing the faults lets held calls go on too.
    await admin(sim, 'POST', `/tenants/${t5.id}/faults`, { kind: 'hold', count: 2, path: '/Contacts' });
    let answered = false;
    const held = call(sim, tok, t5.id, '/Contacts').then((r) => ((answered = true), r));
    await until(() => t5.held.length === 1);
    expect((await call(sim, tok, t5.id, '/Organisation')).status).toBe(200);
    expect(answered).toBe(false);
    expect((await admin(sim, 'POST', `/tenants/${t5.id}/faults/release`)).body).toEqual({ released: 1 });
    expect((await held).status).toBe(200);
    expect((await admin(sim, 'GET', `/tenants/${t5.id}/faults`)).body).toEqual([]);
    expect((await call(sim, tok, t5.id, '/Contacts')).status).toBe(200);
    await admin(sim, 'POST', `/tenants/${t5.id}/faults`, { kind: 'hold', count: 1 });
    const cleared = call(sim, tok, t5.id, '/Contacts');
    await until(() => t5.held.length === 1);
    await admin(sim, 'DELETE', `/tenants/${t5.id}/faults`);
    expect((await cleared).status).toBe(200);
    expect((await admin(sim, 'POST', `/tenants/${t5.id}/faults/release`)).body).toEqual({ released: 0 });
    expect((await admin(sim, 'POST', `/tenants/${t5.id}/faults/nothing`)).status).toBe(404);
    const c = (await admin(sim, 'GET', `/tenants/${t5.id}/counters`)).body;
    expect(c.faultsInjected).toBe(7);
    expect(c.rateLimited.injected).toBe(2);
  });

  it('applies deterministic activity between pulls', async () => {
    const mk = async (s: Simulator) => {
      const tt = s.createTenant({ seed: 'activity', size: 400 });
      return (await admin(s, 'POST', `/tenants/${tt.id}/activity`, { events: 40, advanceDays: 2 })).body;
    };
    const other = await startSimulator({ clock });
    try {
      const a = await mk(sim);
      const b = await mk(other);
      expect(a.changes.length).toBeGreaterThan(30);
      expect(b.changes).toEqual(a.changes);
      const ops = new Set(a.changes.map((c: any) => `${c.op}:${c.collection}`));
      expect(ops.has('create:invoices')).toBe(true);
      expect(ops.has('create:payments')).toBe(true);
    } finally {
      await other.close();
    }
  });

  it('serves a 1,000,000-invoice tenant page by page without holding it in memory', async () => {
    global.gc?.();
    const before = process.memoryUsage().heapUsed;
    const started = Date.now();
    const big = sim.createTenant({ seed: 'million', size: 1_000_000 });
    const tok = sim.grant(big.id).access_token;
    const first = await call(sim, tok, big.id, `/Invoices?page=1&pageSize=1000&${where('Type=="ACCREC"')}`);
    expect(first.body.pagination).toMatchObject({ pageCount: 1000, itemCount: 1_000_000 });
    const middle = await call(sim, tok, big.id, `/Invoices?page=500&pageSize=1000&${where('Type=="ACCREC"')}`);
    const last = await call(sim, tok, big.id, `/Invoices?page=1000&pageSize=1000&${where('Type=="ACCREC"')}`);
    expect(middle.body.Invoices[0].InvoiceNumber).toBe('INV-499001');
    expect(last.body.Invoices.at(-1).InvoiceNumber).toBe('INV-1000000');
    const since = new Date(Date.parse(last.body.Invoices[500].UpdatedDateUTCString)).toISOString();
    const recent = await call(sim, tok, big.id, `/Invoices?page=1&pageSize=1000&${where('Type=="ACCREC"')}`, { 'if-modified-since': since });
    expect(recent.body.pagination.itemCount).toBeLessThanOrEqual(500);
    expect(recent.body.Invoices[0].InvoiceNumber >= 'INV-999501').toBe(true);
    const grown = process.memoryUsage().heapUsed - before;
    expect(grown).toBeLessThan(150 * 1024 * 1024);
    expect(Date.now() - started).toBeLessThan(20_000);
  });
});

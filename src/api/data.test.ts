import { beforeEach, describe, expect, it } from 'vitest';
import { companyPerTest } from '../../test/support/company.js';
import { DIALECTS } from '../../test/support/stores.js';
import { expectErrorShape, type TestApp } from '../../test/support/app.js';
import { startEngine, waitFor, type Engine } from '../../test/support/engine.js';
import { FetchFailedError } from '../connectors/connector.js';
import { addMonths, monthEnd } from '../domain/statements.js';

describe.each(DIALECTS)('accounting data reads [%s]', (dialect) => {
  // The shared fixture (test/support/company.ts); these names are this test's app, engine, company and connection.
  const fixture = companyPerTest(dialect, 'Reader');
  let t: TestApp;
  let engine: Engine;
  let companyId: string;
  let connectionId: string;
  beforeEach(() => {
    ({ t, engine, companyId, connectionId } = fixture);
  });

  const link = () => t.app.inject({ method: 'GET', url: `/link/companies/${companyId}/connections/${connectionId}/start` });
  const settle = async () => {
    await waitFor(async () => {
      const h = (await t.call('GET', `/companies/${companyId}/data/history?pageSize=5000`)).json().results as any[];
      return h.length > 0 && h.every((o) => !['Queued', 'Fetching', 'Processing'].includes(o.status));
    });
  };
  const get = (p: string) => t.call('GET', `/companies/${companyId}${p}`);

  it('applies the 409 rule before and after the first pull', async () => {
    expect(expectErrorShape(await get('/data/invoices'), 409).error).toBe('The data set has not been requested.');
    const bare = (await t.call('POST', '/companies', { name: 'Nothing' })).json().id;
    expect(expectErrorShape(await t.call('GET', `/companies/${bare}/data/invoices`), 409).error).toBe('The data set has not been requested.');
    expect(expectErrorShape(await t.call('GET', `/companies/00000000-0000-4000-8000-000000000000/data/invoices`), 404).error).toMatch(/No company/);
    expect(expectErrorShape(await get(`/connections/00000000-0000-4000-8000-000000000000/data/invoices`), 404).error).toMatch(/Data connection/);
    engine.connector.behaviour.hang = true;
    await link();
    await waitFor(async () => (await get('/data/history')).json().results.some((o: any) => o.status === 'Fetching'));
    expect(expectErrorShape(await get('/data/info'), 409).error).toBe('The data set is still syncing.');
    await engine.stop();
    await t.store.db.updateTable('datasets').set({ status: 'Cancelled', lease_owner: null, run_slot: null }).where('status', 'in', ['Queued', 'Fetching']).execute();
    engine = fixture.engine = startEngine(t); // the fixture stops it after the test
    expect(expectErrorShape(await get('/data/invoices'), 409).error).toBe('The data set has not been synced successfully.');
    engine.connector.behaviour.failAt = { page: 0, error: new FetchFailedError('down') };
    await t.call('POST', `/companies/${companyId}/data/queue/invoices`);
    await settle();
    expect(expectErrorShape(await get('/data/invoices'), 409).error).toBe('The data set has not been synced successfully.');
    engine.connector.behaviour.failAt = undefined;
    engine.connector.seed('invoices', 3);
    await t.call('POST', `/companies/${companyId}/data/queue/invoices`);
    await settle();
    expect((await get('/data/invoices')).statusCode).toBe(200);
    // a later failure keeps the data readable
    engine.connector.behaviour.failAt = { page: 0, error: new FetchFailedError('down') };
    await t.call('POST', `/companies/${companyId}/data/queue/invoices`);
    await settle();
    expect((await get('/data/invoices')).json().totalResults).toBe(3);
  });

  it('unsupported types answer 404, not served paths too', async () => {
    await link();
    await settle();
    expect(expectErrorShape(await get('/data/directCosts'), 404).error).toBe(`Operation GET /companies/${companyId}/data/directCosts is not supported by Syncline`);
    // Attachments are per connection in Codat: the company-level path is not served.
    expect(expectErrorShape(await get('/data/invoices/x/attachments'), 404).error).toMatch(/is not supported by Syncline/);
    // The invoice PDF is served: an unknown invoice is a 404 of its own.
    expect(expectErrorShape(await get('/data/invoices/x/pdf'), 404).error).toBe('No data available for invoices for ID x');
  });

  it('lists and gets records with paging, deleted records flagged, per-connection and company paths', async () => {
    engine.connector.seed('invoices', 25);
    engine.connector.seed('bankAccounts', 2, 'ba');
    await link();
    await settle();
    const page = (await get('/data/invoices?page=2&pageSize=10')).json();
    expect(page.totalResults).toBe(25);
    expect(page.results.map((r: any) => r.id)).toEqual(Array.from({ length: 10 }, (_, i) => `r${String(i + 10).padStart(6, '0')}`));
    expect(page._links.self.href).toBe(`/companies/${companyId}/data/invoices`);
    expect(page._links.next.href).toBe(`/companies/${companyId}/data/invoices?page=3&pageSize=10`);
    const one = (await get('/data/invoices/r000003')).json();
    expect(one).toMatchObject({ id: 'r000003', name: 'r 3', amount: 3, metadata: { isDeleted: false } });
    expect(one.modifiedDate).toBeDefined();
    expect(one.sourceModifiedDate).toBeDefined();
    expect(expectErrorShape(await get('/data/invoices/nope'), 404).error).toBe('No data available for invoices for ID nope');
    const viaConn = (await get(`/connections/${connectionId}/data/invoices/r000003`)).json();
    expect(viaConn).toEqual(one);
    expect((await get(`/connections/${connectionId}/data/bankAccounts`)).json().totalResults).toBe(2);
    expect((await get('/data/bankAccounts/ba000001')).json().id).toBe('ba000001');
    const desc = (await get('/data/invoices?orderBy=-id&pageSize=3')).json();
    expect(desc.results.map((r: any) => r.id)).toEqual(['r000024', 'r000023', 'r000022']);
    expectErrorShape(await get('/data/invoices?orderBy=nope'), 400);
    expectErrorShape(await get('/data/invoices?pageSize=0'), 400);

    t.clock.advance(3_600_000);
    engine.connector.softDelete('invoices', 'r000004');
    await t.call('POST', `/companies/${companyId}/data/queue/invoices`);
    await settle();
    const deleted = (await get('/data/invoices/r000004')).json();
    expect(deleted.metadata).toEqual({ isDeleted: true });
    expect(deleted.modifiedDate).toBe(t.clock.now().toISOString());
    expect((await get('/data/invoices')).json().totalResults).toBe(25);
  });

  it('company info is a single document without id, modifiedDate or metadata', async () => {
    engine.connector.upsert('company', 'org-1', { companyName: 'Reader Ltd', baseCurrency: 'GBP' });
    await link();
    await settle();
    const info = (await get('/data/info')).json();
    expect(info).toMatchObject({ companyName: 'Reader Ltd', baseCurrency: 'GBP' });
    expect(info).not.toHaveProperty('id');
    expect(info).not.toHaveProperty('modifiedDate');
    expect(info).not.toHaveProperty('metadata');
  });

  it('financial statements from monthly periods: sums for P&L, last month for balance sheet', async () => {
    const months: string[] = [];
    for (let i = 0; i < 24; i++) months.push(addMonths('2024-03', i)); // 2024-03 … 2026-02
    for (const [i, m] of months.entries()) {
      engine.connector.upsert('profitAndLoss', m, {
        fromDate: `${m}-01T00:00:00`,
        toDate: monthEnd(m),
        currency: 'GBP',
        reportBasis: 'Accrual',
        income: { name: 'Income', value: 100 + i, items: [{ accountId: 'a1', name: 'Sales', value: 100 + i }] },
        expenses: { name: 'Expenses', value: 10, items: [{ accountId: 'a2', name: 'Rent', value: 10 }] },
        grossProfit: 100 + i,
        netOperatingProfit: 90 + i,
        netOtherIncome: 0,
        netProfit: 90 + i,
      });
      engine.connector.upsert('balanceSheet', m, {
        date: monthEnd(m),
        currency: 'GBP',
        assets: { name: 'Assets', value: 1000 + i },
        liabilities: { name: 'Liabilities', value: 400 },
        equity: { name: 'Equity', value: 600 + i },
        netAssets: 600 + i,
      });
    }
    await link();
    await settle();
    const pl = (await get('/data/financials/profitAndLoss?periodLength=3&periodsToCompare=2&startMonth=2026-02-10')).json();
    expect(pl.reports).toHaveLength(2);
    // Dec 2025–Feb 2026 are months 21, 22, 23
    expect(pl.reports[0]).toMatchObject({ fromDate: '2025-12-01T00:00:00', toDate: '2026-02-28T00:00:00', netProfit: 90 * 3 + 21 + 22 + 23 });
    expect(pl.reports[0].income.items[0]).toEqual({ accountId: 'a1', name: 'Sales', value: 300 + 21 + 22 + 23 });
    expect(pl.reports[1]).toMatchObject({ fromDate: '2025-09-01T00:00:00', toDate: '2025-11-30T00:00:00' });
    expect(pl).toMatchObject({ currency: 'GBP', reportBasis: 'Accrual', mostRecentAvailableMonth: '2026-02-01T00:00:00', earliestAvailableMonth: '2024-03-01T00:00:00' });
    const one = (await get('/data/financials/profitAndLoss?periodLength=1&periodsToCompare=3&startMonth=2025-12-01')).json();
    expect(one.reports.map((r: any) => r.toDate)).toEqual(['2025-12-31T00:00:00', '2025-11-30T00:00:00', '2025-10-31T00:00:00']);
    const bs = (await get('/data/financials/balanceSheet?periodLength=6&periodsToCompare=10')).json();
    // periods entirely before the earliest month are left out: 24 months / 6 = 4 periods
    expect(bs.reports).toHaveLength(4);
    expect(bs.reports[0]).toMatchObject({ date: '2026-02-28T00:00:00', netAssets: 623, assets: { value: 1023 } });
    expect(bs.reports[1]).toMatchObject({ date: '2025-08-31T00:00:00', netAssets: 617 });
    for (const q of ['', '?periodLength=0&periodsToCompare=1', '?periodLength=13&periodsToCompare=1', '?periodLength=1&periodsToCompare=121', '?periodLength=1&periodsToCompare=1&startMonth=soon']) {
      expectErrorShape(await get(`/data/financials/profitAndLoss${q}`), 400);
    }
    expect(engine.connector.pulls.find((p) => p.dataType === 'profitAndLoss')!.monthsToSync).toBe(24);
  });
});

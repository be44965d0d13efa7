/**
 * `npm run bench dashboard`: does every dashboard page stay responsive with a million invoices in one company?
 * The real server (`syncline serve`, its own process) on the shared 1,000,000-invoice database, the built dashboard in
 * Debian's Chromium: each page is loaded until its content shows, and every API response it fetched is measured. The
 * baseline is the same page for a company of 100 invoices in the same database, so the ratio is what the million
 * costs. Lists are paged on the server, so the largest response a page fetches must not grow with the company.
 */
import type { Page } from 'playwright-core';
import type { Dialect } from '../src/store/db.js';
import { chromiumMissing, ensureUiBuilt, launchBrowser } from '../test/browser/harness.js';
import { serve } from './api.js';
import { percentile, type Benchmark, type BenchContext, type BenchRow } from './support/harness.js';
import { insertCompany, insertCompleteDataset, seedInvoices, sharedInvoiceStore } from './support/seed.js';

const DB_NAME: Record<Dialect, string> = { sqlite: 'SQLite', postgres: 'PostgreSQL' };
const API_KEY = 'BenchApiKey0123456789abcdefghijklmnopqrs';
const SMALL = 100;

interface Load {
  ms: number;
  requests: number;
  largestBytes: number;
}

/** Loads `path` until `ready` shows; the API calls it made (count, largest body). */
async function loadPage(page: Page, url: string, ready: string): Promise<Load> {
  const sizes: Promise<number>[] = [];
  const onResponse = (r: import('playwright-core').Response) => {
    if (!new URL(r.url()).pathname.startsWith('/app')) sizes.push(r.body().then((b) => b.length, () => 0));
  };
  page.on('response', onResponse);
  const started = performance.now();
  await page.goto(url);
  await page.locator(ready).first().waitFor({ timeout: 120_000 });
  const ms = performance.now() - started;
  await page.waitForLoadState('networkidle');
  page.off('response', onResponse);
  const all = await Promise.all(sizes);
  return { ms, requests: all.length, largestBytes: Math.max(0, ...all) };
}

async function measure(ctx: BenchContext, dialect: Dialect, rounds: number): Promise<BenchRow[]> {
  const n = ctx.size === 'smoke' ? 5_000 : 1_000_000;
  const s = await sharedInvoiceStore(ctx, dialect, n);
  const small = await insertCompany(s.db.store, 'Hundred Invoices Ltd');
  await seedInvoices(s.db.store, small.connectionId, SMALL);
  await insertCompleteDataset(s.db.store, small.companyId, small.connectionId, 'invoices', SMALL);
  const server = await serve(s.db.location, dialect);
  const browser = await launchBrowser();
  const rows: BenchRow[] = [];
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(`${server.url}/app`);
    await page.evaluate((k) => (globalThis as any).sessionStorage.setItem('syncline.apiKey', k), API_KEY);
    const lastPage = (count: number) => Math.ceil(count * 0.99 / 50); // the dashboard hides the 1 % flagged deleted, 50 a page
    const pages = (companyId: string, count: number) => [
      { label: 'company page (freshness grid)', path: `/app/companies/${companyId}`, ready: 'td.cell[data-type="invoices"]' },
      { label: 'records: invoices, first page', path: `/app/companies/${companyId}/records/invoices`, ready: 'table.records tbody tr' },
      { label: 'records: invoices, last page', path: `/app/companies/${companyId}/records/invoices?page=${lastPage(count)}`, ready: 'table.records tbody tr' },
      { label: 'records: invoices with query status=Void', path: `/app/companies/${companyId}/records/invoices?query=status%3DVoid`, ready: 'table.records tbody tr' },
      // An order no index serves: over more than 10,000 records the API answers 400 at once and the page shows why.
      { label: 'records: invoices ordered by -totalAmount', path: `/app/companies/${companyId}/records/invoices?orderBy=-totalAmount`, ready: 'table.records tbody tr, #records-query-error' },
      { label: 'pull history', path: `/app/companies/${companyId}/history`, ready: 'tbody tr[data-status]' },
      { label: 'companies list', path: '/app/companies', ready: 'tbody tr' },
    ];
    const big = pages(s.companyId, n);
    const base = pages(small.companyId, SMALL);
    for (let i = 0; i < big.length; i++) {
      const b = big[i]!;
      ctx.log(`dashboard: ${DB_NAME[dialect]} ${b.label}`);
      const runs: Load[] = [];
      const baseRuns: Load[] = [];
      for (let r = 0; r < rounds + 1; r++) {
        const got = await loadPage(page, server.url + b.path, b.ready);
        const baseGot = await loadPage(page, server.url + base[i]!.path, base[i]!.ready);
        if (r === 0) continue; // warm-up: JIT, page cache
        runs.push(got);
        baseRuns.push(baseGot);
      }
      const label = `${DB_NAME[dialect]}: ${b.label}, ${n.toLocaleString('en')} invoices`;
      rows.push({
        metric: `${label}: until shown, median of ${rounds}`,
        value: percentile(runs.map((x) => x.ms), 50),
        unit: 'ms',
        baseline: { label: `${SMALL} invoices`, value: percentile(baseRuns.map((x) => x.ms), 50) },
      });
      rows.push({
        metric: `${label}: largest API response`,
        value: Math.max(...runs.map((x) => x.largestBytes)) / 1024,
        unit: 'KiB',
        baseline: { label: `${SMALL} invoices`, value: Math.max(...baseRuns.map((x) => x.largestBytes)) / 1024 },
        note: `${runs[0]!.requests} API calls`,
      });
    }
  } finally {
    await browser.close();
    await server.stop();
  }
  return rows;
}

export const dashboard: Benchmark = {
  name: 'dashboard',
  description:
    'dashboard pages in Chromium over 1,000,000 invoices in one company (server in its own process): time until each page shows its content and the largest API response it fetched, vs the same page for a company of 100 invoices',
  async run(ctx) {
    const missing = chromiumMissing();
    if (missing) throw new Error(`the dashboard benchmark needs Chromium: ${missing}`);
    await ensureUiBuilt();
    const rounds = ctx.size === 'smoke' ? 1 : 5;
    const dialects: Dialect[] = process.env.BENCH_DIALECTS ? (process.env.BENCH_DIALECTS.split(',') as Dialect[]) : ['sqlite', 'postgres'];
    const rows: BenchRow[] = [];
    for (const d of dialects) rows.push(...(await measure(ctx, d, rounds)));
    return rows;
  },
};

import { ACCOUNTING_READ_TYPES, V1_READ_TYPES, type DataType } from '../src/domain/data-types.js';
import { SandboxConnector } from '../src/connectors/xero/index.js';
import { listJournals } from '../src/sim/banking.js';
import { COLLECTIONS } from '../src/sim/model.js';
import { JOURNALS_PER_CALL } from '../src/sim/xero/banking.js';
import { startSimulator, type Simulator } from '../src/sim/server.js';
import { newCounters } from '../src/sim/tenant.js';
import { freePort } from '../test/support/postgres.js';
import { benchDatabase, type BenchDb } from './support/databases.js';
import type { Benchmark, BenchContext, BenchRow } from './support/harness.js';
import { linkSandbox, queueTypes, secretBox, startWorker, waitTerminal, type Linked } from './support/sandbox.js';
import { newId } from '../src/lib/ids.js';
import { QboConnector } from '../src/connectors/qbo/index.js';
import { XeroConnector } from '../src/connectors/xero/index.js';
import type { Realm } from '../src/sim/qbo/dialect.js';
import { runQuery } from '../src/sim/qbo/dialect.js';
import { parseQuery } from '../src/sim/qbo/query.js';

/** API calls plus token refreshes the platform saw from a tenant, and the 429s it answered. */
function platformCalls(sim: Simulator, tenantId: string): { calls: number; limited: number; refreshes: number } {
  const c = sim.tenant(tenantId)!.counters;
  return { calls: c.calls + c.refreshes, limited: c.rateLimited.total, refreshes: c.refreshes };
}

async function waitStarted(out: () => string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!/syncline worker started/.test(out())) {
    if (Date.now() > deadline) throw new Error(`worker did not start: ${out()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A counter's value for platform mqjo in a /metrics text. */
function counter(text: string, name: string, platform = 'mqjo'): number {
  const m = new RegExp(`^${name}\\{platform="${platform}"\\} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

/**
 * Pulls `types` on each linked connection at once with one `syncline worker` of the given concurrency (`env` adds the
 * platform's settings); returns, with the outcome, the source calls and 429s the worker itself counted for `platform`
 * (its /metrics, on SYNCLINE_METRICS_PORT). `mustComplete` names the platform in the error thrown when a pull did not
 * complete.
 */
async function pullAll(
  db: BenchDb,
  links: Linked[],
  types: DataType[],
  opts: { concurrency: number; env: Record<string, string>; platform?: string; mustComplete?: string },
): Promise<{ seconds: number; statuses: string[]; workerCalls: number; worker429s: number }> {
  const metricsPort = await freePort();
  const worker = startWorker(db.location, {
    ...opts.env,
    SYNCLINE_WORKER_CONCURRENCY: String(opts.concurrency),
    LOG_LEVEL: 'info',
    SYNCLINE_METRICS_PORT: String(metricsPort),
  });
  try {
    await waitStarted(worker.output);
    const started = Date.now();
    const ids: string[] = [];
    for (const l of links) ids.push(...(await queueTypes(db.store, l, types)).created.map((d) => d.id));
    const rows = await waitTerminal(db.store, ids, 30 * 60_000);
    const seconds = (Date.now() - started) / 1000;
    const bad = rows.filter((r) => r.status !== 'Complete');
    if (opts.mustComplete && bad.length) {
      throw new Error(`${bad.length} ${opts.mustComplete} pulls did not complete: ${bad.map((r) => `${r.data_type} ${r.status} ${r.error_message ?? ''}`).join('; ').slice(0, 500)}`);
    }
    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    return {
      seconds,
      statuses: rows.map((r) => r.status),
      workerCalls: counter(metrics, 'syncline_source_calls_total', opts.platform),
      worker429s: counter(metrics, 'syncline_source_rate_limited_total', opts.platform),
    };
  } finally {
    await worker.stop();
  }
}

/** pullAll against the Sandbox platform of simulator `sim`. */
const pullSandbox = (db: BenchDb, sim: Simulator, links: Linked[], types: DataType[], concurrency: number) =>
  pullAll(db, links, types, { concurrency, env: { SYNCLINE_SANDBOX_URL: sim.url } });

/**
 * (1) One pull of a 100,000-invoice tenant under Xero's limits (60 calls a minute, 5 at once), starting with an
 * expired access token: calls the platform saw against the minimum, 100 pages of 1,000 + 1 token refresh.
 */
async function bigTenant(ctx: BenchContext): Promise<BenchRow[]> {
  const n = ctx.size === 'smoke' ? 3_000 : 100_000;
  const sim = await startSimulator({ host: '127.0.0.1', port: 0, rateLimit: { perMinute: 60, concurrent: 5 } });
  const db = await benchDatabase(ctx, 'postgres');
  try {
    const link = await linkSandbox(db.store, sim.url, { invoices: n, bills: 0, creditNotes: 0 }, { expireAccessToken: true });
    sim.tenant(link.tenantId)!.counters = newCounters(); // linking read /Organisation once
    ctx.log(`politeness: pulling ${n.toLocaleString('en')} invoices under 60 calls/minute`);
    const r = await pullSandbox(db, sim, [link], ['invoices'], 1);
    if (r.statuses[0] !== 'Complete') throw new Error(`pull ended ${r.statuses[0]}`);
    const seen = platformCalls(sim, link.tenantId);
    const minimum = Math.ceil(n / 1000) + 1;
    return [
      {
        metric: `${n.toLocaleString('en')}-invoice pull under 60 calls/min: calls the platform saw (API + token)`,
        value: seen.calls,
        unit: 'calls',
        baseline: { label: `minimum: ${Math.ceil(n / 1000)} pages + 1 token refresh`, value: minimum },
        note: `${r.seconds.toFixed(0)} s; the worker's /metrics counted ${r.workerCalls} calls`,
      },
      { metric: `${n.toLocaleString('en')}-invoice pull under 60 calls/min: 429 answers received`, value: seen.limited, unit: '429s', note: `worker's /metrics: ${r.worker429s}` },
    ];
  } finally {
    await db.drop();
    await sim.close();
  }
}

/**
 * The fewest calls a first (full) Sandbox pull of every type it reads can make, from what the platform holds: each
 * listing the connector needs (Codat's types map onto Xero listings; some types need two) at one page of 1,000 per
 * call (an empty listing still costs one), asked of the simulator's own Xero API (pageCount); `/Journals` at Xero's
 * fixed 100 per call, counted in process; the unpaged reference reads; /Accounts and two 12-month report calls per
 * statement (the cash-flow report needs no /Accounts). Token refreshes are added by the caller.
 */
async function sandboxAllTypesMinimum(sim: Simulator, tenantId: string): Promise<{ calls: number; detail: string }> {
  const token = sim.grant(tenantId).access_token;
  const pages = async (path: string, where?: string): Promise<number> => {
    const q = new URLSearchParams({ page: '1', pageSize: '1000', ...(where ? { where } : {}) });
    const res = await fetch(`${sim.url}/api.xro/2.0${path}?${q}`, { headers: { authorization: `Bearer ${token}`, 'xero-tenant-id': tenantId } });
    if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`);
    const body = (await res.json()) as { pagination?: { pageCount?: number } };
    return Math.max(1, body.pagination?.pageCount ?? 1);
  };
  const anyOf = (values: string[]) => `(${values.map((v) => `PaymentType=="${v}"`).join(' OR ')})`;
  const ar = anyOf(['ACCRECPAYMENT', 'ARCREDITPAYMENT', 'AROVERPAYMENTPAYMENT', 'ARPREPAYMENTPAYMENT']);
  const ap = anyOf(['ACCPAYPAYMENT', 'APCREDITPAYMENT', 'APOVERPAYMENTPAYMENT', 'APPREPAYMENTPAYMENT']);
  const customers = await pages('/Contacts', 'IsCustomer==true');
  const suppliers = await pages('/Contacts', 'IsSupplier==true');
  const invoices = await pages('/Invoices', 'Type=="ACCREC"');
  const bills = await pages('/Invoices', 'Type=="ACCPAY"');
  const salesCredits = await pages('/CreditNotes', 'Type=="ACCRECCREDIT"');
  const supplierCredits = await pages('/CreditNotes', 'Type=="ACCPAYCREDIT"');
  const arPayments = await pages('/Payments', ar);
  const apPayments = await pages('/Payments', ap);
  const allPayments = await pages('/Payments');
  // Overpayments and prepayments received (payments) and paid (billPayments), one listing each.
  const onAccountIn = (await pages('/Overpayments', 'Type=="RECEIVE-OVERPAYMENT"')) + (await pages('/Prepayments', 'Type=="RECEIVE-PREPAYMENT"'));
  const onAccountOut = (await pages('/Overpayments', 'Type=="SPEND-OVERPAYMENT"')) + (await pages('/Prepayments', 'Type=="SPEND-PREPAYMENT"'));
  const manualJournals = await pages('/ManualJournals');
  const purchaseOrders = await pages('/PurchaseOrders');
  const spend = await pages('/BankTransactions', 'Type=="SPEND"');
  const receive = await pages('/BankTransactions', 'Type=="RECEIVE"');
  const bankTx = await pages('/BankTransactions');
  // The general ledger's journals, counted in process (as /Journals?offset= would list them, 100 a call).
  const t = sim.tenant(tenantId)!;
  let journals = 0;
  for (let offset = 0; ; ) {
    const batch = listJournals({ gen: t.gen, collections: COLLECTIONS, log: t.journalLog }, { offset, limit: 10_000 });
    journals += batch.length;
    if (batch.length < 10_000) break;
    offset = batch[batch.length - 1]!.number;
  }
  const journalCalls = Math.floor(journals / JOURNALS_PER_CALL) + 1;
  const parts: [string, number][] = [
    ['company, accounts, bank accounts, tax rates, tracking categories', 5],
    ['items (+ /Accounts)', 2],
    ['customers', customers],
    ['suppliers', suppliers],
    ['invoices', invoices],
    ['bills', bills],
    ['creditNotes', salesCredits],
    ['payments (+ customer credit-note allocations, overpayments, prepayments)', arPayments + salesCredits + onAccountIn],
    ['billPayments (+ supplier credit-note allocations, overpayments, prepayments)', apPayments + supplierCredits + onAccountOut],
    ['journalEntries', manualJournals],
    ['billCreditNotes', supplierCredits],
    ['purchaseOrders', purchaseOrders],
    ['directCosts', spend],
    ['directIncomes', receive],
    ['transfers', 1],
    ['bankTransactions (bank transactions + payments)', bankTx + allPayments],
    ['accountTransactions (transfers + bank transactions + payments)', 1 + bankTx + allPayments],
    [`journals (${journals.toLocaleString('en')} at ${JOURNALS_PER_CALL} a call)`, journalCalls],
    ['balanceSheet, profitAndLoss (/Accounts + 2 reports each)', 6],
    ['cashFlowStatement (2 reports)', 2],
  ];
  return { calls: parts.reduce((a, [, n]) => a + n, 0), detail: parts.map(([k, n]) => `${k} ${n}`).join('; ') };
}

/**
 * (1b) Every type the Sandbox reads (the issue-15 types with v1's: bank transactions of every account, account
 * transactions, journals, transfers, direct costs and incomes, supplier credit notes, purchase orders…; attachments are
 * read live, never pulled) from one tenant of 100,000 invoices and everything the generator gives such a tenant,
 * starting with an expired access token, by one worker: calls the platform saw against the minimum, and the 429s.
 * The platform's minute limit is raised from Xero's 60 to 1,000 so that the ~4,000 calls fit in minutes (they would
 * take over an hour at 60); it still binds, and 5 at once is Xero's.
 */
async function allTypesBigTenant(ctx: BenchContext): Promise<BenchRow[]> {
  const n = ctx.size === 'smoke' ? 3_000 : 100_000;
  const perMinute = 1_000;
  const sim = await startSimulator({ host: '127.0.0.1', port: 0, rateLimit: { perMinute, concurrent: 5 } });
  const db = await benchDatabase(ctx, 'postgres');
  try {
    const link = await linkSandbox(db.store, sim.url, { invoices: n }, { expireAccessToken: true });
    const connector = new SandboxConnector({ baseUrl: sim.url });
    const types = ACCOUNTING_READ_TYPES.filter((t) => connector.supports(t));
    const minimum = await sandboxAllTypesMinimum(sim, link.tenantId);
    sim.tenant(link.tenantId)!.counters = newCounters(); // linking and the minimum's own reads
    // The minimum's reads spent this minute's allowance: let the window forget them.
    await new Promise((r) => setTimeout(r, ctx.size === 'smoke' ? 0 : 61_000));
    ctx.log(`politeness: pulling all ${types.length} types of a ${n.toLocaleString('en')}-invoice tenant under ${perMinute} calls/minute`);
    const r = await pullSandbox(db, sim, [link], types, 1);
    if (r.statuses.some((s) => s !== 'Complete')) throw new Error(`pulls did not complete: ${r.statuses.join(', ')}`);
    const seen = platformCalls(sim, link.tenantId);
    // One refresh for the expired token, and one per 25 minutes more (the 30-minute token, refreshed 5 minutes early).
    const refreshes = 1 + Math.floor(r.seconds / 1500);
    const byEndpoint = Object.entries(sim.tenant(link.tenantId)!.counters.byEndpoint)
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => `${k} ${v}`)
      .join('; ');
    ctx.log(`politeness: minimum ${minimum.calls} + ${refreshes} refresh(es): ${minimum.detail}`);
    ctx.log(`politeness: seen ${seen.calls} (${seen.refreshes} refreshes): ${byEndpoint}`);
    const refused = Object.entries(sim.tenant(link.tenantId)!.counters.rateLimited).filter(([k, v]) => k !== 'total' && v > 0);
    ctx.log(`politeness: 429s by limit: ${refused.map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}`);
    return [
      {
        metric: `all ${types.length} types of a ${n.toLocaleString('en')}-invoice tenant under ${perMinute} calls/min: calls the platform saw (API + token)`,
        value: seen.calls,
        unit: 'calls',
        baseline: { label: `minimum: pages of 1,000 per listing + report calls + ${refreshes} token refresh(es)`, value: minimum.calls + refreshes },
        note: `${r.seconds.toFixed(0)} s; ${seen.refreshes} refreshes; the worker's /metrics counted ${r.workerCalls} calls`,
      },
      { metric: `all ${types.length} types of a ${n.toLocaleString('en')}-invoice tenant: 429 answers received`, value: seen.limited, unit: '429s', note: `worker's /metrics: ${r.worker429s}` },
    ];
  } finally {
    await db.drop();
    await sim.close();
  }
}

/**
 * (2) 50 connections, each a tenant of 3,000 invoices with its bills, payments, contacts…, pulled at once (every type
 * the Sandbox reads) by one worker process running 50 pulls, under a strict platform limit of 20 calls a minute per
 * tenant. Baseline: calls of the same pull of one such connection alone, with no limit at all (the minimum: its
 * pages + refreshes).
 */
async function fiftyAtOnce(ctx: BenchContext): Promise<BenchRow[]> {
  const count = ctx.size === 'smoke' ? 3 : 50;
  const size = { invoices: ctx.size === 'smoke' ? 500 : 3_000 };
  const types = [...V1_READ_TYPES] as DataType[];
  const rows: BenchRow[] = [];

  // The minimum: one connection alone, nothing limited.
  const free = await startSimulator({ host: '127.0.0.1', port: 0, rateLimit: { perMinute: 1_000_000, concurrent: 100 } });
  const db0 = await benchDatabase(ctx, 'postgres');
  let minimum: number;
  try {
    const link = await linkSandbox(db0.store, free.url, size);
    free.tenant(link.tenantId)!.counters = newCounters();
    const r = await pullSandbox(db0, free, [link], types, 1);
    if (r.statuses.some((s) => s !== 'Complete')) throw new Error(`baseline pull: ${r.statuses.join(', ')}`);
    minimum = platformCalls(free, link.tenantId).calls;
  } finally {
    await db0.drop();
    await free.close();
  }

  const sim = await startSimulator({ host: '127.0.0.1', port: 0, rateLimit: { perMinute: 20, concurrent: 5 } });
  const db = await benchDatabase(ctx, 'postgres', 60);
  try {
    const links: Linked[] = [];
    for (let i = 0; i < count; i++) links.push(await linkSandbox(db.store, sim.url, size, { name: `Polite ${i}` }));
    for (const l of links) sim.tenant(l.tenantId)!.counters = newCounters();
    // Linking made one call per tenant just now: let the platform's minute window forget it.
    await new Promise((r) => setTimeout(r, ctx.size === 'smoke' ? 0 : 61_000));
    ctx.log(`politeness: ${count} connections × ${types.length} types at once under 20 calls/minute per tenant`);
    const r = await pullSandbox(db, sim, links, types, count);
    const bad = r.statuses.filter((s) => s !== 'Complete');
    if (bad.length) throw new Error(`${bad.length} pulls did not complete: ${bad.join(', ')}`);
    const per = links.map((l) => platformCalls(sim, l.tenantId));
    const limited = per.reduce((s, p) => s + p.limited, 0);
    const mean = per.reduce((s, p) => s + p.calls, 0) / per.length;
    const worst = Math.max(...per.map((p) => p.calls));
    const note = `${count} connections, ${r.seconds.toFixed(0)} s`;
    rows.push({ metric: `${count} connections pulled at once under 20 calls/min: calls per connection, mean`, value: mean, unit: 'calls', baseline: { label: 'same pull alone, unlimited', value: minimum }, note });
    rows.push({ metric: `${count} connections pulled at once under 20 calls/min: calls per connection, worst`, value: worst, unit: 'calls', baseline: { label: 'same pull alone, unlimited', value: minimum } });
    rows.push({ metric: `${count} connections pulled at once under 20 calls/min: 429 answers received (all connections)`, value: limited, unit: '429s', note: `worker's /metrics: ${r.worker429s} 429s, ${r.workerCalls} calls` });
  } finally {
    await db.drop();
    await sim.close();
  }
  return rows;
}

const QBO_CLIENT = { id: 'bench-qbo-client', secret: 'bench-qbo-secret' };

/** A company with a Linked QuickBooks Online (qhyg) connection to a realm, tokens granted as a consent would. */
async function linkQbo(db: BenchDb, sim: Simulator, realm: Realm, name: string): Promise<Linked> {
  const now = new Date();
  const g = sim.qbo.grant(realm.realmId, QBO_CLIENT.id);
  const credentials = {
    accessToken: g.access_token,
    accessTokenExpiresAt: new Date(now.getTime() + g.expires_in * 1000).toISOString(),
    refreshToken: g.refresh_token,
    refreshTokenExpiresAt: new Date(now.getTime() + g.x_refresh_token_expires_in * 1000).toISOString(),
    realmId: realm.realmId,
  };
  const companyId = newId();
  const connectionId = newId();
  const at = now.toISOString();
  await db.store.db.insertInto('companies').values({ id: companyId, name, description: null, tags: '{}', created_at: at }).execute();
  await db.store.db
    .insertInto('connections')
    .values({
      id: connectionId,
      company_id: companyId,
      integration_key: 'qhyg',
      status: 'Linked',
      credentials: secretBox.sealJson(credentials),
      connection_info: JSON.stringify({ realmId: realm.realmId, tenantId: realm.realmId, tenantName: name, baseCurrency: realm.tenant.gen.organisation.baseCurrency }),
      errors: null,
      created_at: at,
      updated_at: at,
      last_sync: null,
      linked_at: at,
    })
    .execute();
  return { companyId, connectionId, tenantId: realm.realmId };
}

/**
 * The fewest calls a first (full) QuickBooks pull of every supported type can make: CompanyInfo + Preferences; one
 * query page per 1,000 rows (and the short last page) of each listed entity; TaxCode + TaxRate; Class + Department;
 * 24 months of each statement at 6 months a call.
 */
function qboMinimum(realm: Realm): number {
  const rows = (q: string) => runQuery(realm.tenant, parseQuery(q)).total;
  const pages = (n: number) => Math.floor(n / 1000) + 1;
  const lists = [
    'SELECT * FROM Account WHERE Active IN (true,false)',
    "SELECT * FROM Account WHERE Active IN (true,false) AND AccountType IN ('Bank', 'Credit Card')",
    'SELECT * FROM Customer WHERE Active IN (true,false)',
    'SELECT * FROM Vendor WHERE Active IN (true,false)',
    'SELECT * FROM Item WHERE Active IN (true,false)',
    'SELECT * FROM Invoice',
    'SELECT * FROM CreditMemo',
    'SELECT * FROM Payment',
    'SELECT * FROM Bill',
    'SELECT * FROM BillPayment',
    'SELECT * FROM JournalEntry',
    // issue 15
    'SELECT * FROM PaymentMethod WHERE Active IN (true,false)',
    'SELECT * FROM PurchaseOrder',
    'SELECT * FROM VendorCredit',
    'SELECT * FROM Transfer',
    'SELECT * FROM Purchase',
    'SELECT * FROM SalesReceipt',
    'SELECT * FROM RefundReceipt',
  ].reduce((s, q) => s + pages(rows(q)), 0);
  return 2 + lists + 2 + 2 + 4 + 4;
}

/**
 * (3) QuickBooks Online: 50 realms pulled at once (every type QuickBooks has) by one worker process at Intuit's own
 * limits (500 calls a minute and 10 at once per realm), then an incremental pull after some activity (one CDC call per
 * list type). Calls per pull against the minimum, and the 429s received.
 */
async function qboFifty(ctx: BenchContext): Promise<BenchRow[]> {
  const count = ctx.size === 'smoke' ? 3 : 50;
  const size = { invoices: ctx.size === 'smoke' ? 300 : 3_000 };
  const sim = await startSimulator({ host: '127.0.0.1', port: 0, qbo: { clients: [QBO_CLIENT], perMinute: 500, concurrent: 10 } });
  const db = await benchDatabase(ctx, 'postgres', 60);
  const connector = new QboConnector({ key: 'qhyg', clientId: QBO_CLIENT.id, clientSecret: QBO_CLIENT.secret, apiUrl: sim.url });
  const types = ([...ACCOUNTING_READ_TYPES] as DataType[]).filter((t) => connector.supports(t));
  const listTypes = types.filter((t) => !['company', 'taxRates', 'trackingCategories', 'balanceSheet', 'profitAndLoss'].includes(t)).length;
  const run = (links: Linked[]) =>
    pullAll(db, links, types, {
      concurrency: count,
      platform: 'qhyg',
      mustComplete: 'QuickBooks',
      env: {
        SYNCLINE_SANDBOX_URL: sim.url,
        SYNCLINE_QBO_CLIENT_ID: QBO_CLIENT.id,
        SYNCLINE_QBO_CLIENT_SECRET: QBO_CLIENT.secret,
        SYNCLINE_QBO_TOKEN_URL: `${sim.url}/oauth2/v1/tokens/bearer`,
        SYNCLINE_QBO_API_URL: sim.url,
      },
    });
  try {
    const realms: Realm[] = [];
    const links: Linked[] = [];
    for (let i = 0; i < count; i++) {
      const realm = sim.qbo.createRealm({ seed: `bench-qbo-${i}`, size, name: `QBO Polite ${i}` });
      realms.push(realm);
      links.push(await linkQbo(db, sim, realm, `QBO Polite ${i}`));
    }
    const minimum = qboMinimum(realms[0]!);
    const minima = realms.map(qboMinimum);
    const seen = (r: Realm) => r.counters.calls + r.counters.tokenRequests;
    ctx.log(`politeness: ${count} QuickBooks realms × ${types.length} types at once under 500 calls/minute and 10 at once per realm`);
    const first = await run(links);
    const firstCalls = realms.map(seen);
    const over = realms.map((r, i) => seen(r) - minima[i]!);
    const throttled = realms.reduce((s, r) => s + r.counters.throttled, 0);
    const withoutMinor = realms.reduce((s, r) => s + r.counters.withoutMinorVersion, 0);
    // Some activity, then every type again: incremental pulls (one CDC call per list type).
    for (const r of realms) r.tenant.activity(20, 3600_000);
    for (const r of realms) r.counters.calls = r.counters.tokenRequests = r.counters.throttled = 0;
    const second = await run(links);
    const incCalls = realms.map(seen);
    // The hour of activity also expired the access tokens at Intuit: one token refresh per realm belongs to the minimum.
    const incMinimum = 2 + listTypes + 2 + 2 + 4 + 4 + 1;
    const throttled2 = realms.reduce((s, r) => s + r.counters.throttled, 0);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const note = `${count} realms, first ${first.seconds.toFixed(0)} s, incremental ${second.seconds.toFixed(0)} s; calls without minorversion: ${withoutMinor}`;
    return [
      { metric: `QuickBooks: ${count} realms' first pull of every type at once: calls per realm, mean`, value: mean(firstCalls), unit: 'calls', baseline: { label: 'minimum (pages + 2 + 2 + 2 + 8 statement calls)', value: minimum }, note },
      { metric: `QuickBooks: first pull: calls above each realm's own minimum, worst`, value: Math.max(...over), unit: 'calls' },
      { metric: `QuickBooks: incremental pull of every type after activity: calls per realm, mean`, value: mean(incCalls), unit: 'calls', baseline: { label: 'minimum (1 CDC per list type + 2 + 2 + 2 + 8 + 1 token refresh)', value: incMinimum } },
      { metric: `QuickBooks: ${count} realms at 500 calls/min and 10 at once per realm: 429 answers received (both runs)`, value: throttled + throttled2, unit: '429s', note: `worker's /metrics: ${first.worker429s + second.worker429s} 429s, ${first.workerCalls + second.workerCalls} calls` },
    ];
  } finally {
    await db.drop();
    await sim.close();
  }
}

export const politeness: Benchmark = {
  name: 'politeness',
  description: 'calls the platform sees from a pull against the minimum (pages + token refreshes), and 429s received, under the platform\'s rate limits',
  async run(ctx) {
    return [...(await bigTenant(ctx)), ...(await allTypesBigTenant(ctx)), ...(await fiftyAtOnce(ctx)), ...(await qboFifty(ctx)), ...(await xeroFifty(ctx))];
  },
};

/** Every type of a 100,000-invoice Sandbox tenant alone (`npm run bench politeness-all-types`); `politeness` runs it too. */
export const politenessAllTypes: Benchmark = {
  name: 'politeness-all-types',
  description: 'Sandbox: calls the platform sees from pulling every data type of a 100,000-invoice tenant against the minimum, and 429s',
  run: allTypesBigTenant,
};

/** The QuickBooks part alone (`npm run bench politeness-qbo`); `politeness` runs it too. */
export const politenessQbo: Benchmark = {
  name: 'politeness-qbo',
  description: 'QuickBooks Online: calls per pull against the minimum and 429s for 50 realms at Intuit\'s limits',
  run: qboFifty,
};

const XERO_CLIENT = { clientId: 'bench-xero-app', clientSecret: 'bench-xero-secret' };

/** A company with a Linked Xero (gbol) connection to a tenant, its tokens granted to the app as a completed consent leaves them. */
async function linkXero(db: BenchDb, sim: Simulator, tenantId: string, name: string): Promise<Linked> {
  const now = new Date();
  const g = sim.tokens.grantFor(tenantId, XERO_CLIENT.clientId);
  const credentials = {
    accessToken: g.access_token,
    accessTokenExpiresAt: new Date(now.getTime() + g.expires_in * 1000).toISOString(),
    refreshToken: g.refresh_token,
    refreshTokenExpiresAt: new Date(now.getTime() + g.refresh_token_expires_in * 1000).toISOString(),
    tenantId,
  };
  const companyId = newId();
  const connectionId = newId();
  const at = now.toISOString();
  await db.store.db.insertInto('companies').values({ id: companyId, name, description: null, tags: '{}', created_at: at }).execute();
  await db.store.db
    .insertInto('connections')
    .values({
      id: connectionId,
      company_id: companyId,
      integration_key: 'gbol',
      status: 'Linked',
      credentials: secretBox.sealJson(credentials),
      connection_info: JSON.stringify({ tenantId, tenantName: name, baseCurrency: sim.tenant(tenantId)!.gen.organisation.baseCurrency }),
      errors: null,
      created_at: at,
      updated_at: at,
      last_sync: null,
      linked_at: at,
    })
    .execute();
  return { companyId, connectionId, tenantId };
}

/**
 * The fewest calls a first (full) Xero pull of every v1 type Xero has can make, from the tenant's own record counts:
 * one call per listing page of 1,000 (and the short last page), /Organisation, the reference listings, /Accounts
 * for items and for each statement, and 24 months of each statement at 12 months a call.
 */
function xeroMinimum(sim: Simulator, tenantId: string): number {
  const t = sim.tenant(tenantId)!;
  const count = <K extends keyof typeof t.collections>(name: K, ok: (r: any) => boolean = () => true) =>
    t.collections[name].list({ offset: 0, limit: Number.MAX_SAFE_INTEGER, filter: ok as never }).total;
  // The connector stops at the envelope's pageCount (or a short page): ceil(n / 1000) calls, one for an empty listing.
  const pages = (n: number) => Math.max(1, Math.ceil(n / 1000));
  const lists =
    pages(count('contacts', (c) => c.isCustomer)) +
    pages(count('contacts', (c) => c.isSupplier)) +
    pages(count('invoices')) +
    pages(count('bills')) +
    pages(count('creditNotes')) +
    pages(count('payments')) +
    pages(count('creditNotes')) + // payments: credit-note allocations
    pages(count('billPayments')) +
    pages(count('billCreditNotes')) + // billPayments: supplier credit-note allocations
    // payments and billPayments: overpayments and prepayments received (RECEIVE-*) and paid (SPEND-*), one listing each
    pages(count('overpayments', (r) => r.type === 'RECEIVE')) +
    pages(count('prepayments', (r) => r.type === 'RECEIVE')) +
    pages(count('overpayments', (r) => r.type === 'SPEND')) +
    pages(count('prepayments', (r) => r.type === 'SPEND')) +
    pages(count('manualJournals'));
  // company, chartOfAccounts, bankAccounts, taxRates, trackingCategories, items (+ /Accounts), two statements × (/Accounts + 2 reports).
  return 1 + 1 + 1 + 1 + 1 + 2 + lists + 2 * 3;
}

/**
 * (4) Xero: 50 connections of the real Xero connector (`gbol`, an OAuth app with a client secret) pulled at once by one
 * worker process under Xero's limits — 60 calls a minute, 5 at once and 5,000 a day per tenant — and an app-wide
 * minute limit scaled down from Xero's 10,000 to 600 so that it binds (50 × ~25 calls do not reach 10,000). Calls per
 * connection against each tenant's minimum, and the 429s (minute, app-minute, concurrent, day) received.
 */
async function xeroFifty(ctx: BenchContext): Promise<BenchRow[]> {
  const count = ctx.size === 'smoke' ? 3 : 50;
  const size = { invoices: ctx.size === 'smoke' ? 300 : 1_000 };
  const appPerMinute = ctx.size === 'smoke' ? 40 : 600;
  const sim = await startSimulator({ host: '127.0.0.1', port: 0, oauthClients: [XERO_CLIENT], rateLimit: { perMinute: 60, concurrent: 5, perDay: 5000, appPerMinute } });
  const db = await benchDatabase(ctx, 'postgres', 60);
  const connector = new XeroConnector({ apiUrl: sim.url, tokenUrl: `${sim.url}/connect/token`, ...XERO_CLIENT });
  const types = ([...V1_READ_TYPES] as DataType[]).filter((t) => connector.supports(t));
  try {
    const links: Linked[] = [];
    for (let i = 0; i < count; i++) {
      const t = sim.createTenant({ seed: `bench-xero-${i}`, size, name: `Xero Polite ${i}` });
      links.push(await linkXero(db, sim, t.id, `Xero Polite ${i}`));
      t.counters = newCounters();
    }
    const minima = links.map((l) => xeroMinimum(sim, l.tenantId));
    ctx.log(`politeness: ${count} Xero connections × ${types.length} types at once under 60 calls/minute per tenant and ${appPerMinute} per minute app-wide`);
    const { seconds, workerCalls, worker429s } = await pullAll(db, links, types, {
      concurrency: count,
      platform: 'gbol',
      mustComplete: 'Xero',
      env: {
        SYNCLINE_XERO_CLIENT_ID: XERO_CLIENT.clientId,
        SYNCLINE_XERO_CLIENT_SECRET: XERO_CLIENT.clientSecret,
        SYNCLINE_XERO_AUTHORIZE_URL: `${sim.url}/identity/connect/authorize`,
        SYNCLINE_XERO_TOKEN_URL: `${sim.url}/connect/token`,
        SYNCLINE_XERO_API_URL: sim.url,
        SYNCLINE_SANDBOX_URL: sim.url,
      },
    });
    const seen = links.map((l) => platformCalls(sim, l.tenantId));
    const limited = links.map((l) => sim.tenant(l.tenantId)!.counters.rateLimited);
    const sum = (f: (x: (typeof limited)[number]) => number) => limited.reduce((s, x) => s + f(x), 0);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const over = seen.map((s, i) => s.calls - minima[i]!);
    const peak = Math.max(...links.map((l) => sim.tenant(l.tenantId)!.counters.maxConcurrent));
    const note = `${count} connections, ${seconds.toFixed(0)} s; at most ${peak} call(s) in flight per tenant`;
    return [
      { metric: `Xero: ${count} connections' first pull of every type at once: calls per connection, mean`, value: mean(seen.map((s) => s.calls)), unit: 'calls', baseline: { label: 'minimum (pages + /Organisation + reference lists + /Accounts ×3 + 4 report calls)', value: mean(minima) }, note },
      { metric: 'Xero: calls above each connection\'s own minimum, worst', value: Math.max(...over), unit: 'calls' },
      {
        metric: `Xero: ${count} connections at 60/min, 5 at once, 5,000/day per tenant and ${appPerMinute}/min app-wide: 429 answers received`,
        value: sum((x) => x.total),
        unit: '429s',
        note: `minute ${sum((x) => x.minute)}, app-minute ${sum((x) => x.appminute)}, concurrent ${sum((x) => x.concurrent)}, day ${sum((x) => x.day)}; worker's /metrics: ${worker429s} 429s, ${workerCalls} calls`,
      },
    ];
  } finally {
    await db.drop();
    await sim.close();
  }
}

/** The Xero part alone (`npm run bench politeness-xero`); `politeness` runs it too. */
export const politenessXero: Benchmark = {
  name: 'politeness-xero',
  description: 'Xero: calls per pull against the minimum and 429s for 50 connections at Xero\'s per-tenant limits and a binding app-wide limit',
  run: xeroFifty,
};

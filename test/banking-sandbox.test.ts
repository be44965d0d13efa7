/**
 * Bank and ledger data types (issue 15) against the Sandbox platform — the simulator on a loopback socket speaking
 * Xero's dialect, the Sandbox connector, the pull engine and the API — on both databases: directCosts, directIncomes,
 * transfers, accountTransactions, bankTransactions (per bank account) and journals. Each served record equals what the
 * simulator holds mapped by the connector's own mapper; bank balances from the served bank transactions equal the
 * simulator's ledger; refreshes flag deletions at the source; the official @codat/accounting SDK reads each type.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CodatAccounting } from '@codat/accounting';
import { DIALECTS } from './support/stores.js';
import { createTestApp, expectErrorShape, type TestApp } from './support/app.js';
import { startEngine, type Engine } from './support/engine.js';
import { startSimulator, type Simulator } from '../src/sim/server.js';
import { balancesAt } from '../src/sim/ledger.js';
import { monthIndexOf } from '../src/sim/generate.js';
import { SandboxConnector } from '../src/connectors/xero/index.js';
import {
  mapAccountTransactionFromBank,
  mapAccountTransactionFromPayment,
  mapBankTransactionLine,
  mapDirect,
  mapJournalBook,
  mapPaymentLine,
  mapTransfer,
} from '../src/connectors/xero/mappers-banking.js';
import type { SourceRecord } from '../src/connectors/connector.js';
import { checkRecord } from '../src/connectors/xero/model-check.js';

type Doc = Record<string, any>;
const BANK_TYPES = ['directCosts', 'directIncomes', 'transfers', 'accountTransactions', 'bankTransactions', 'journals'] as const;
const cents = (x: number) => Math.round(x * 100);

describe.each(DIALECTS)('bank and ledger data types against the Sandbox [%s]', (dialect) => {
  let t: TestApp;
  let sim: Simulator;
  let engine: Engine<SandboxConnector>;
  let companyId: string;
  let connectionId: string;
  let tenantId: string;
  let baseCurrency: string;

  beforeAll(async () => {
    t = await createTestApp(dialect);
    sim = await startSimulator({ port: 0, clock: t.clock, rateLimit: { perMinute: 100_000, concurrent: 5 } });
    const connector = new SandboxConnector({ baseUrl: sim.url, clock: t.clock, retryBaseMs: 1, sleep: async (ms) => t.clock.advance(ms), tenantSize: { invoices: 60, historyMonths: 6 } });
    engine = startEngine(t, {}, connector);
    companyId = (await t.call('POST', '/companies', { name: 'Bank Trading' })).json().id;
    // Only what this file reads is pulled on link (keeps it fast): the six types, paymentMethods and bank accounts.
    const wanted = new Set<string>([...BANK_TYPES, 'paymentMethods', 'bankAccounts']);
    const settings = ((await t.call('GET', `/companies/${companyId}/syncSettings`)).json().settings as Doc[]).map((s) => ({ ...s, fetchOnFirstLink: wanted.has(s.dataType) }));
    const saved = await t.call('POST', `/companies/${companyId}/syncSettings`, { companyId, settings });
    expect(saved.statusCode, saved.body).toBe(204);
    connectionId = (await t.call('POST', `/companies/${companyId}/connections`, { platformKey: 'mqjo' })).json().id;
    expect((await t.app.inject({ method: 'GET', url: `/link/companies/${companyId}/connections/${connectionId}/start` })).statusCode).toBe(302);
    await engine.pool.drain(60_000);
    const info = (await t.call('GET', `/companies/${companyId}/connections/${connectionId}`)).json().connectionInfo;
    tenantId = info.tenantId;
    baseCurrency = info.baseCurrency;
  });
  afterAll(async () => {
    await engine.stop();
    await sim.close();
    await t.close();
  });

  const get = (p: string) => t.call('GET', `/companies/${companyId}${p}`);
  const conn = (p: string) => get(`/connections/${connectionId}/data${p}`);
  const admin = async (path: string, body: unknown = {}) => {
    const res = await fetch(`${sim.url}/admin/tenants/${tenantId}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    if (res.status >= 300) throw new Error(`admin ${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as any;
  };
  /** Reads the simulator as Xero's API serves it (a fresh grant per call: the shared clock moves). */
  const xero = async (path: string): Promise<any> => {
    const res = await fetch(`${sim.url}/api.xro/2.0${path}`, { headers: { authorization: `Bearer ${sim.grant(tenantId).access_token}`, 'xero-tenant-id': tenantId } });
    expect(res.status, path).toBe(200);
    return res.json();
  };
  const xeroPaged = async (path: string, key: string): Promise<any[]> => {
    const out: any[] = [];
    for (let page = 1; ; page++) {
      const body = await xero(`${path}${path.includes('?') ? '&' : '?'}page=${page}&pageSize=100`);
      out.push(...body[key]);
      if (body[key].length < 100) return out;
    }
  };
  const refresh = async (dataType: string) => {
    t.clock.advance(60_000);
    const op = (await t.call('POST', `/companies/${companyId}/data/queue/${dataType}`)).json();
    await engine.pool.drain(60_000);
    return (await get(`/data/history/${op.id}`)).json();
  };
  const listAll = async (path: string): Promise<Doc[]> => {
    const out: Doc[] = [];
    for (let page = 1; ; page++) {
      const r = await get(`${path}${path.includes('?') ? '&' : '?'}pageSize=40&page=${page}`);
      expect(r.statusCode, r.body).toBe(200);
      out.push(...r.json().results);
      if (!r.json()._links.next) return out;
    }
  };
  const strip = ({ modifiedDate: _m, metadata: _md, ...rest }: Doc) => rest;

  /** What the platform holds now, per data type, through the connector's own mappers: id → record. */
  const platformTruth = async (): Promise<Record<(typeof BANK_TYPES)[number], Map<string, SourceRecord>>> => {
    const bank = await xeroPaged('/BankTransactions', 'BankTransactions');
    const payments = await xeroPaged('/Payments', 'Payments');
    const transfers = (await xero('/BankTransfers?includeDeleted=true')).BankTransfers as any[];
    const journals: any[] = [];
    for (let offset = 0; ; ) {
      const js = (await xero(`/Journals?offset=${offset}`)).Journals as any[];
      journals.push(...js);
      if (js.length < 100) break;
      offset = js[js.length - 1].JournalNumber;
    }
    const byId = (rs: SourceRecord[]) => new Map(rs.map((r) => [r.id, r]));
    const transferByLeg = new Map(transfers.flatMap((x) => [[x.FromBankTransactionID, x.BankTransferID], [x.ToBankTransactionID, x.BankTransferID]]));
    const ctx = { baseCurrency, transferByLeg };
    const books = new Map<string, number>();
    for (const j of journals) {
      const ms = Number(/\d+/.exec(j.JournalDate)![0]);
      const code = j.SourceType ?? 'GENERAL';
      books.set(code, Math.min(books.get(code) ?? Infinity, ms));
    }
    return {
      directCosts: byId(bank.filter((b) => b.Type === 'SPEND').map((b) => mapDirect(b, 'cost'))),
      directIncomes: byId(bank.filter((b) => b.Type === 'RECEIVE').map((b) => mapDirect(b, 'income'))),
      transfers: byId(transfers.map((x) => mapTransfer(x, ctx))),
      accountTransactions: byId([...bank.map((b) => mapAccountTransactionFromBank(b, ctx)), ...payments.map((p) => mapAccountTransactionFromPayment(p, ctx))]),
      bankTransactions: byId([...bank.map(mapBankTransactionLine), ...payments.map(mapPaymentLine)]),
      journals: byId([...books].map(([code, ms]) => mapJournalBook(code, ms))),
    };
  };
  const bankAccountIds = async () => ((await conn('/bankAccounts?pageSize=100')).json().results as Doc[]).map((a) => a.id as string);
  const served = async (type: (typeof BANK_TYPES)[number]): Promise<Doc[]> => {
    if (type === 'journals') return listAll('/data/journals');
    if (type !== 'bankTransactions') return listAll(`/connections/${connectionId}/data/${type}`);
    const out: Doc[] = [];
    for (const id of await bankAccountIds()) out.push(...(await listAll(`/connections/${connectionId}/data/bankAccounts/${id}/bankTransactions`)));
    return out;
  };
  /** Syncline serves exactly what the platform holds: every record field by field, deletions flagged. */
  const expectServedEqualsPlatform = async () => {
    const truth = await platformTruth();
    for (const type of BANK_TYPES) {
      const rows = await served(type);
      expect(rows.length, type).toBeGreaterThan(0);
      const byId = new Map(rows.map((r) => [r.id as string, r]));
      for (const [id, p] of truth[type]) {
        const s = byId.get(id);
        expect(s, `${type} ${id}`).toBeDefined();
        expect(checkRecord(type, p.data), `${type} ${id}`).toEqual([]);
        expect(s!.metadata.isDeleted, `${type} ${id}`).toBe(p.deleted);
        // A deleted record keeps the content it had when last live (as every type does).
        if (!p.deleted) expect(strip(s!), `${type} ${id}`).toEqual({ ...p.data, ...(p.sourceModifiedDate ? { sourceModifiedDate: p.sourceModifiedDate } : {}) });
      }
      for (const s of rows) if (!truth[type].has(s.id)) expect(s.metadata.isDeleted, `${type} ${s.id} is gone at the source`).toBe(true);
    }
    return truth;
  };

  it('pulls each type on link; dataStatus and syncSettings list them; paymentMethods is NotSupported at queue time, without a platform call', async () => {
    let status = (await get('/dataStatus')).json();
    for (const type of BANK_TYPES) expect(status[type], type).toMatchObject({ dataType: type, currentStatus: 'Complete' });
    // Not offered on link (the Sandbox connector does not read it); queued by hand it ends NotSupported at once.
    expect(status.paymentMethods).toBeUndefined();
    expect((await t.call('POST', `/companies/${companyId}/data/queue/paymentMethods`)).json()).toMatchObject({ status: 'NotSupported', isCompleted: true });
    status = (await get('/dataStatus')).json();
    expect(status.paymentMethods).toMatchObject({ dataType: 'paymentMethods', currentStatus: 'NotSupported' });
    expect(expectErrorShape(await get('/data/paymentMethods'), 404).error).toBe('Datatype paymentMethods not supported by platform(s) Sandbox');
    const settings = (await t.call('GET', `/companies/${companyId}/syncSettings`)).json().settings as Doc[];
    for (const type of [...BANK_TYPES, 'paymentMethods']) expect(settings.find((s) => s.dataType === type), type).toMatchObject({ fetchOnFirstLink: true });
    // One listing per type, the fewest calls (read before this test reads the simulator itself): one transfers call
    // each for transfers and for accountTransactions' leg lookup, journals at 100 a call.
    const calls = { ...sim.tenant(tenantId)!.counters.byEndpoint };
    expect(Object.keys(calls).filter((k) => /payment ?methods/i.test(k))).toEqual([]);
    expect(calls['GET /BankTransfers']).toBe(2);
    expect(calls['GET /Journals']).toBe(Math.floor((await platformJournalCount()) / 100) + 1);
  });

  const platformJournalCount = async () => {
    let n = 0;
    for (let offset = 0; ; ) {
      const js = (await xero(`/Journals?offset=${offset}`)).Journals as any[];
      n += js.length;
      if (js.length < 100) return n;
      offset = js[js.length - 1].JournalNumber;
    }
  };

  it('serves every record as the simulator holds it, mapped field by field; bank balances equal the ledger', async () => {
    const truth = await expectServedEqualsPlatform();
    // The sources' shapes, not only their mapping: spend → directCosts, receive → directIncomes, transfer legs → transfers.
    const at = await served('accountTransactions');
    const dataTypes = new Set(at.map((r) => r.lines[0].recordRef.dataType));
    expect(dataTypes).toEqual(new Set(['directCosts', 'directIncomes', 'transfers', 'payments', 'billPayments']));
    for (const r of at.filter((x) => x.lines[0].recordRef.dataType === 'transfers')) expect(truth.transfers.has(r.lines[0].recordRef.id)).toBe(true);
    for (const d of await served('directCosts')) expect(cents(d.totalAmount)).toBe(cents(d.subTotal) + cents(d.taxAmount));
    expect((await served('journals')).map((j) => j.id).sort()).toEqual(['ACCPAY', 'ACCPAYCREDIT', 'ACCPAYPAYMENT', 'ACCREC', 'ACCRECCREDIT', 'ACCRECPAYMENT', 'CASHPAID', 'CASHREC', 'GENERAL', 'MANJOURNAL', 'TRANSFER'].filter((c) => truth.journals.has(c)).sort());
    // Each bank account's transactions add up to its balance in the simulator's ledger (opening balances aside).
    const tenant = sim.tenant(tenantId)!;
    const end = balancesAt(tenant.ledger(), [monthIndexOf(tenant.nowMs()) + 1]).values().next().value!;
    const accounts = (await conn('/bankAccounts?pageSize=100')).json().results as Doc[];
    const { ownerCents, loanCents } = tenant.gen.openingCash();
    for (const a of accounts) {
      const rows = (await listAll(`/connections/${connectionId}/data/bankAccounts/${a.id}/bankTransactions?query=metadata.isDeleted!=true`)) as Doc[];
      const sum = rows.reduce((s, r) => s + cents(r.amount), 0) + (a.nominalCode === '090' ? ownerCents + loanCents : 0);
      expect(sum, a.nominalCode).toBe(end.get(a.nominalCode) ?? 0);
    }
  });

  it('pages, filters and sorts each list with the query language; bad input is a 4xx', async () => {
    const costs = await served('directCosts');
    const sorted = [...costs].sort((a, b) => b.totalAmount - a.totalAmount || 0);
    const page2 = (await conn('/directCosts?orderBy=-totalAmount&pageSize=3&page=2')).json();
    expect(page2).toMatchObject({ pageNumber: 2, pageSize: 3, totalResults: costs.length });
    expect(page2.results.map((r: Doc) => r.totalAmount)).toEqual(sorted.slice(3, 6).map((r) => r.totalAmount));
    const big = (await conn('/directCosts?query=totalAmount>100&pageSize=100')).json();
    expect(big.totalResults).toBe(costs.filter((c) => c.totalAmount > 100).length);
    const incomes = await served('directIncomes');
    const one = incomes[0]!;
    expect((await conn(`/directIncomes?query=contactRef.id=${one.contactRef.id}&pageSize=100`)).json().results.map((r: Doc) => r.id).sort()).toEqual(incomes.filter((r) => r.contactRef.id === one.contactRef.id).map((r) => r.id).sort());
    const transfers = await served('transfers');
    const min = Math.min(...transfers.map((x) => x.from.amount));
    expect((await conn(`/transfers?query=from.amount>${min}`)).json().totalResults).toBe(transfers.filter((x) => x.from.amount > min).length);
    expect((await conn('/transfers?orderBy=date&pageSize=100')).json().results.map((r: Doc) => r.date)).toEqual(transfers.map((r) => r.date).sort());
    const reconciled = (await conn('/accountTransactions?query=status=Reconciled&pageSize=1')).json();
    expect(reconciled.totalResults).toBe((await served('accountTransactions')).filter((r) => r.status === 'Reconciled').length);
    // An account that has outflows in this tenant (the seed is random per link: the first account may have none).
    const outflowsServed = (await served('bankTransactions')).filter((r) => r.amount < 0);
    expect(outflowsServed.length).toBeGreaterThan(0);
    const bankId = outflowsServed[0]!.accountId as string;
    const outflows = (await conn(`/bankAccounts/${bankId}/bankTransactions?query=amount<0&orderBy=amount&pageSize=5`)).json();
    const expectedOutflows = outflowsServed.filter((r) => r.accountId === bankId);
    expect(outflows.totalResults).toBe(expectedOutflows.length);
    expect(outflows.results.length).toBe(Math.min(5, expectedOutflows.length));
    expect(outflows.results.every((r: Doc) => r.amount < 0 && r.accountId === bankId)).toBe(true);
    expect(outflows.results.map((r: Doc) => r.amount)).toEqual([...outflows.results.map((r: Doc) => r.amount)].sort((a, b) => a - b));
    const salesBooks = (await served('journals')).filter((j) => j.type === 'Sales').map((j) => j.name as string);
    expect(salesBooks.length).toBeGreaterThan(0);
    expect((await get('/data/journals?query=type=Sales&orderBy=-name')).json().results.map((r: Doc) => r.name)).toEqual(salesBooks.sort().reverse());
    expect(expectErrorShape(await conn('/directCosts?query=bogus=1'), 400).error).toBe('Error parsing query - Could not resolve property bogus on DirectCost');
    expect(expectErrorShape(await conn('/transfers?orderBy=nope'), 400).statusCode).toBe(400);
    expect(expectErrorShape(await conn('/accountTransactions?pageSize=0'), 400).statusCode).toBe(400);
    expect(expectErrorShape(await conn('/bankAccounts/no-such-account/bankTransactions'), 404).error).toBe('No data available for bankAccounts for ID no-such-account');
    expect(expectErrorShape(await conn('/directIncomes/no-such-id'), 404).error).toBe('No data available for directIncomes for ID no-such-id');
    expect(expectErrorShape(await get('/data/transfers'), 404).error).toMatch(/is not supported by Syncline/);
  });

  it('refreshes each type incrementally after changes at the source and flags deletions', async () => {
    t.clock.advance(3_600_000);
    const costs = (await served('directCosts')).filter((r) => !r.metadata.isDeleted);
    const incomes = (await served('directIncomes')).filter((r) => !r.metadata.isDeleted);
    const transfers = (await served('transfers')).filter((r) => !r.metadata.isDeleted);
    const newSpend = (await admin('/records/bankTransactions', { type: 'SPEND', bankAccountCode: '092', reference: 'New spend' })).id as string;
    const newTransfer = (await admin('/records/bankTransfers', { fromAccountCode: '091', toAccountCode: '090', amount: 77.7 })).id as string;
    await admin(`/records/bankTransactions/${costs[0]!.id}/delete`);
    await admin(`/records/bankTransactions/${incomes[0]!.id}/void`);
    await admin(`/records/bankTransfers/${transfers[0]!.id}/delete`);
    const payment = ((await served('accountTransactions')).find((r) => r.lines[0].recordRef.dataType === 'payments' && !r.metadata.isDeleted))!.id as string;
    await admin(`/records/payments/${payment}/delete`);
    const journalCallsBefore = sim.tenant(tenantId)!.counters.byEndpoint['GET /Journals'] ?? 0;

    for (const type of BANK_TYPES) expect(await refresh(type), type).toMatchObject({ status: 'Complete' });
    // Journals: only the postings made since the last pull are read (one call here), the books stay complete.
    expect(sim.tenant(tenantId)!.counters.byEndpoint['GET /Journals']).toBe(journalCallsBefore + 1);

    const cost = (id: string) => conn(`/directCosts/${id}`).then((r) => r.json());
    expect((await cost(costs[0]!.id)).metadata.isDeleted).toBe(true);
    expect(await cost(newSpend)).toMatchObject({ reference: 'New spend', metadata: { isDeleted: false } });
    expect((await conn(`/directIncomes/${incomes[0]!.id}`)).json().metadata.isDeleted).toBe(true);
    expect((await conn(`/transfers/${transfers[0]!.id}`)).json().metadata.isDeleted).toBe(true);
    expect((await conn(`/transfers/${newTransfer}`)).json()).toMatchObject({ from: { amount: 77.7 }, to: { amount: 77.7 }, metadata: { isDeleted: false } });
    expect((await conn(`/accountTransactions/${incomes[0]!.id}`)).json()).toMatchObject({ status: 'Void', metadata: { isDeleted: false } });
    expect((await conn(`/accountTransactions/${costs[0]!.id}`)).json().metadata.isDeleted).toBe(true);
    expect((await conn(`/accountTransactions/${payment}`)).json().metadata.isDeleted).toBe(true);
    await expectServedEqualsPlatform();
    const history = (await get('/data/history?query=dataType=directCosts&orderBy=-requested&pageSize=1')).json().results[0];
    expect(history).toMatchObject({ status: 'Complete' });
    const changes = (await get(`/data/history/${history.id}`)).json();
    expect(changes.status).toBe('Complete');
  });

  it('the official @codat/accounting SDK reads each type', async () => {
    const address = await t.app.listen({ port: 0, host: '127.0.0.1' });
    const sdk = new CodatAccounting({ security: { authHeader: t.authHeader }, serverURL: address, retryConfig: { strategy: 'none' } as never });
    const c = { companyId, connectionId };
    const costs = await sdk.directCosts.list({ ...c, orderBy: '-issueDate', pageSize: 5 });
    expect(costs.statusCode).toBe(200);
    const cost = costs.directCosts!.results![0]!;
    expect(cost.contactRef?.dataType).toBe('suppliers');
    expect((await sdk.directCosts.get({ ...c, directCostId: cost.id! })).directCost!.totalAmount).toBe(cost.totalAmount);
    const income = (await sdk.directIncomes.list({ ...c, query: 'metadata.isDeleted!=true' })).directIncomes!.results![0]!;
    expect((await sdk.directIncomes.get({ ...c, directIncomeId: income.id! })).directIncome!.lineItems!.length).toBeGreaterThan(0);
    const transfer = (await sdk.transfers.list(c)).transfers!.results![0]!;
    expect((await sdk.transfers.get({ ...c, transferId: transfer.id! })).transfer!.from!.accountRef!.id).toBe(transfer.from!.accountRef!.id);
    const at = (await sdk.accountTransactions.list({ ...c, query: 'status=Reconciled' })).accountTransactions!.results![0]!;
    expect((await sdk.accountTransactions.get({ ...c, accountTransactionId: at.id! })).accountTransaction!.lines![0]!.recordRef!.id).toBe(at.lines![0]!.recordRef!.id);
    const [bankId] = await bankAccountIds();
    const bt = await sdk.bankAccountTransactions.list({ ...c, accountId: bankId!, orderBy: '-amount', pageSize: 3 });
    expect(bt.statusCode).toBe(200);
    expect(bt.bankTransactions!.results!.map((r) => r.amount)).toEqual([...bt.bankTransactions!.results!.map((r) => r.amount)].sort((a, b) => b! - a!));
    expect(bt.bankTransactions!.results!.every((r) => r.accountId === bankId)).toBe(true);
    const journals = (await sdk.journals.list({ companyId, orderBy: 'name' })).journals!.results!;
    expect(journals.map((j) => j.name)).toEqual([...journals.map((j) => j.name)].sort());
    expect((await sdk.journals.get({ companyId, journalId: 'ACCREC' })).journal!).toMatchObject({ name: 'Sales invoices', journalCode: 'ACCREC', type: 'Sales' });
    // Xero has no payment methods: the SDK gets the 404 in Codat's ErrorMessage shape.
    const pm = await sdk.paymentMethods.list({ companyId });
    expect(pm.statusCode).toBe(404);
    expect(pm.errorMessage?.error).toBe('Datatype paymentMethods not supported by platform(s) Sandbox');
  });
});

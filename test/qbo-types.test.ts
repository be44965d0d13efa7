/**
 * Issue 15 for QuickBooks Online, end to end on both databases: the simulator's QuickBooks dialect on a loopback port,
 * the QBO connector, the Link flow and the pull engine. Payment methods, purchase orders, vendor credits, transfers,
 * expenses and sales receipts end Complete and match the neutral ledger's records (the same records the Xero dialect
 * serves) field by field; an incremental pull is one CDC call that flags deletions; the types QuickBooks has no
 * faithful source for end NotSupported when queued, and the registry lists exactly what the connector reads.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from './support/stores.js';
import { createTestApp, type TestApp } from './support/app.js';
import { startEngine, type Engine } from './support/engine.js';
import { startSimulator, type Simulator } from '../src/sim/server.js';
import type { Realm } from '../src/sim/qbo/dialect.js';
import type { QboConnector } from '../src/connectors/qbo/index.js';
import { linkThroughConsent, simQboConnector } from './support/qbo.js';
import { MORE_READ_TYPES } from '../src/domain/data-types.js';
import { checkRecord } from '../src/connectors/xero/model-check.js';
import { money } from '../src/sim/model.js';
import { vendorCreditBalance } from '../src/sim/qbo/render-more.js';

const CLIENT = { id: 'syncline-qbo-types', secret: 'types-secret' };
const READ = ['paymentMethods', 'purchaseOrders', 'billCreditNotes', 'transfers', 'directCosts', 'directIncomes'] as const;
const UNSUPPORTED = ['journals', 'salesOrders', 'bankTransactions', 'accountTransactions'] as const;
const day = (ms: number) => `${new Date(ms).toISOString().slice(0, 10)}T00:00:00`;
const PATHS: Record<(typeof READ)[number], string> = {
  paymentMethods: '/data/paymentMethods',
  purchaseOrders: '/data/purchaseOrders',
  billCreditNotes: '/data/billCreditNotes',
  transfers: 'CONN/data/transfers',
  directCosts: 'CONN/data/directCosts',
  directIncomes: 'CONN/data/directIncomes',
};

describe.each(DIALECTS)('QuickBooks Online: issue 15 types [%s]', (dialect) => {
  let t: TestApp;
  let sim: Simulator;
  let engine: Engine<QboConnector>;
  let connector: QboConnector;
  let realm: Realm;
  let companyId: string;
  let connectionId: string;

  const get = (p: string) => t.call('GET', `/companies/${companyId}${p}`);
  const served = async (type: (typeof READ)[number]): Promise<Map<string, any>> => {
    const res = await get(`${PATHS[type].replace('CONN', `/connections/${connectionId}`)}?pageSize=5000`);
    expect(res.statusCode, res.body).toBe(200);
    return new Map((res.json().results as any[]).map((r) => [r.id, r]));
  };
  const pull = async (dataType: string) => {
    t.clock.advance(120_000);
    const op = (await t.call('POST', `/companies/${companyId}/data/queue/${dataType}`)).json();
    await engine.pool.drain(60_000);
    return (await get(`/data/history/${op.id}`)).json();
  };
  const tenant = () => realm.tenant;
  const accountId = (code: string) => String(tenant().account(code)!.index + 1);
  const contact = (i: number) => ({ id: String(i + 1), name: tenant().contact(i)!.name });
  const modelOk = (type: string, r: any) => {
    const { metadata: _m, modifiedDate: _d, ...data } = r;
    expect(checkRecord(type, data), `${type} ${r.id}`).toEqual([]);
  };

  beforeAll(async () => {
    t = await createTestApp(dialect, { qbo: true });
    t.clock.set('2026-06-15T19:00:00.000Z');
    sim = await startSimulator({ port: 0, clock: t.clock, qbo: { clients: [CLIENT] } });
    realm = sim.qbo.createRealm({ seed: `qbo-types-${dialect}`, size: { invoices: 120, bills: 160, customers: 30, suppliers: 12 }, name: 'Types Trading Co' });
    connector = simQboConnector(sim, t.clock, CLIENT);
    engine = startEngine(t, { fullEveryPulls: 1000, fullEveryMs: 365 * 86_400_000 }, connector);
    (t.ctx as { oauthLinker?: unknown }).oauthLinker = (key: string) => (key === 'qhyg' ? connector.oauthLinker : undefined);
    companyId = (await t.call('POST', '/companies', { name: 'Types Trading' })).json().id;
    connectionId = (await t.call('POST', `/companies/${companyId}/connections`, { platformKey: 'qhyg' })).json().id;
    const { answer } = await linkThroughConsent(t, sim, companyId, connectionId, realm);
    expect(answer.statusCode).toBe(302);
    await engine.pool.drain(60_000);
  });
  afterAll(async () => {
    await engine.stop();
    await sim.close();
    await t.close();
  });

  it('the first link pulls each type QuickBooks has to Complete; the registry lists exactly what the connector reads', async () => {
    const status = (await get('/dataStatus')).json();
    for (const type of READ) expect({ type, s: status[type]?.currentStatus }).toEqual({ type, s: 'Complete' });
    const def = t.ctx.registry.get('qhyg')!;
    for (const type of MORE_READ_TYPES) expect({ type, listed: t.ctx.registry.supports(def, type) }).toEqual({ type, listed: connector.supports(type) });
    const integ = (await t.call('GET', '/integrations/qhyg')).json();
    const listed = integ.datatypeFeatures.map((f: any) => f.dataType);
    for (const type of READ) expect(listed).toContain(type);
    for (const type of UNSUPPORTED) expect(listed).not.toContain(type);
    expect(realm.counters.withoutMinorVersion).toBe(0);
  });

  it('journals, sales orders, bank and account transactions end NotSupported when queued, without a platform call', async () => {
    const calls = realm.counters.calls;
    for (const type of UNSUPPORTED) {
      const op = await t.call('POST', `/companies/${companyId}/data/queue/${type}`);
      expect(op.statusCode, op.body).toBeLessThan(300);
      await engine.pool.drain(60_000);
      expect((await get(`/data/history/${op.json().id}`)).json().status, type).toBe('NotSupported');
    }
    expect(realm.counters.calls).toBe(calls);
  });

  it('payment methods: QuickBooks’ seven defaults, type Unknown as Codat reads them; one made inactive is Archived', async () => {
    const s = await served('paymentMethods');
    expect([...s.values()].map((m) => [m.id, m.name, m.type, m.status])).toEqual(
      ['Cash', 'Check', 'Visa', 'MasterCard', 'Discover', 'American Express', 'Diners Club'].map((n, i) => [String(i + 1), n, 'Unknown', 'Active']),
    );
    for (const m of s.values()) modelOk('paymentMethods', m);
    const admin = (method: string, path: string, body: unknown) => fetch(`${sim.url}/admin/qbo/realms/${realm.realmId}/payment-methods${path}`, { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    t.clock.advance(60_000);
    expect((await admin('PATCH', '/3', { active: false })).status).toBe(200);
    expect((await admin('POST', '', { name: 'Bank Transfer' })).status).toBe(201);
    expect((await admin('PATCH', '/99', { active: false })).status).toBe(404);
    expect((await admin('PATCH', '/3', { active: 'no' })).status).toBe(400);
    const cdc = realm.counters.byEndpoint['GET /cdc'] ?? 0;
    expect(await pull('paymentMethods')).toMatchObject({ status: 'Complete' });
    expect(realm.counters.byEndpoint['GET /cdc']).toBe(cdc + 1);
    const after = await served('paymentMethods');
    expect(after.get('3')).toMatchObject({ name: 'Visa', status: 'Archived', metadata: { isDeleted: false } });
    expect(after.get('8')).toMatchObject({ name: 'Bank Transfer', type: 'Unknown', status: 'Active' });
  });

  it('purchase orders match the ledger’s open and billed orders field by field; drafts do not exist in QuickBooks', async () => {
    const s = await served('purchaseOrders');
    const orders = tenant().collections.purchaseOrders.list({ offset: 0, limit: 100_000 }).items;
    const live = orders.filter((p) => p.status === 'AUTHORISED' || p.status === 'BILLED');
    expect(live.length).toBeGreaterThan(5);
    expect(s.size).toBe(live.length);
    for (const p of live) {
      const r = s.get(String(p.index + 1));
      const c = contact(p.contactIndex);
      expect(r, p.number).toMatchObject({
        purchaseOrderNumber: p.number,
        supplierRef: { id: c.id, supplierName: c.name },
        status: p.status === 'BILLED' ? 'Closed' : 'Open',
        issueDate: day(p.dateMs),
        expectedDeliveryDate: day(p.deliveryDateMs),
        currency: p.currency,
        subTotal: money(p.subCents),
        totalTaxAmount: money(p.taxCents),
        totalAmount: money(p.totalCents),
        shipTo: { address: { type: 'Delivery', line1: p.deliveryAddress } },
        metadata: { isDeleted: false },
      });
      expect(r.note).toBe(p.reference || undefined);
      expect(r.lineItems.map((l: any) => [l.description, l.subTotal, l.itemRef?.id ?? l.accountRef?.id])).toEqual(
        p.lines.map((l) => [l.description, money(l.lineCents), l.itemIndex !== undefined ? String(l.itemIndex + 1) : accountId(l.accountCode)]),
      );
      modelOk('purchaseOrders', r);
    }
  });

  it('vendor credits match the ledger’s supplier credit notes: remaining credit, status and lines', async () => {
    const s = await served('billCreditNotes');
    const notes = tenant().collections.billCreditNotes.list({ offset: 0, limit: 100_000 }).items.filter((d) => d.status === 'AUTHORISED' || d.status === 'PAID');
    expect(notes.length).toBeGreaterThan(2);
    expect(s.size).toBe(notes.length);
    for (const d of notes) {
      const r = s.get(String(d.index + 1));
      const remaining = vendorCreditBalance(d);
      expect(r, d.number).toMatchObject({
        billCreditNoteNumber: d.number,
        supplierRef: { id: contact(d.contactIndex).id, supplierName: contact(d.contactIndex).name },
        totalAmount: money(d.totalCents),
        subTotal: money(d.subCents),
        totalTaxAmount: money(d.taxCents),
        remainingCredit: money(remaining),
        status: remaining <= 0 ? 'Paid' : remaining < d.totalCents ? 'PartiallyPaid' : 'Submitted',
        issueDate: day(d.dateMs),
        currency: d.currency,
      });
      expect(r.lineItems.map((l: any) => l.subTotal)).toEqual(d.lines.map((l) => money(l.lineCents)));
      modelOk('billCreditNotes', r);
    }
    // Some are applied to their bills in full, as the ledger allocates them.
    expect([...s.values()].some((r) => r.status === 'Paid')).toBe(true);
  });

  it('transfers, expenses and sales receipts carry the ledger’s money on the right bank accounts', async () => {
    const transfers = await served('transfers');
    const ledgerTransfers = tenant().collections.bankTransfers.list({ offset: 0, limit: 100_000 }).items.filter((x) => x.status === 'AUTHORISED');
    expect(transfers.size).toBe(ledgerTransfers.length);
    for (const x of ledgerTransfers) {
      const r = transfers.get(String(x.index + 1));
      expect(r).toMatchObject({ description: x.reference, date: day(x.dateMs), from: { accountRef: { id: accountId(x.fromCode) }, amount: money(x.amountCents) }, to: { accountRef: { id: accountId(x.toCode) }, amount: money(x.amountCents) } });
      modelOk('transfers', r);
    }
    const bank = tenant().collections.bankTransactions.list({ offset: 0, limit: 100_000 }).items.filter((b) => b.status === 'AUTHORISED');
    for (const [type, kind, dataType] of [['directCosts', 'SPEND', 'suppliers'], ['directIncomes', 'RECEIVE', 'customers']] as const) {
      const s = await served(type);
      const mine = bank.filter((b) => b.type === kind);
      expect(mine.length, type).toBeGreaterThan(3);
      expect(s.size, type).toBe(mine.length);
      for (const b of mine) {
        const r = s.get(String(b.index + 1));
        expect(r, `${type} ${b.index}`).toMatchObject({
          contactRef: { id: String(b.contactIndex + 1), dataType },
          issueDate: day(b.dateMs),
          currency: b.currency,
          subTotal: money(b.subCents),
          taxAmount: money(b.taxCents),
          totalAmount: money(b.totalCents),
          paymentAllocations: [{ payment: { accountRef: { id: accountId(b.bankCode) }, paidOnDate: day(b.dateMs), totalAmount: money(b.totalCents) }, allocation: { totalAmount: money(b.totalCents) } }],
          metadata: { isDeleted: false },
        });
        expect(r.reference).toBe(b.reference || undefined);
        expect(r.lineItems.map((l: any) => l.subTotal)).toEqual(b.lines.map((l) => money(l.lineCents)));
        modelOk(type, r);
      }
    }
  });

  it('an incremental pull of each type is one CDC call; deletions (and a voided expense) are flagged, an edit is served', async () => {
    const tn = tenant();
    tn.advance(60_000);
    const po = tn.collections.purchaseOrders.list({ offset: 0, limit: 100_000 }).items.filter((p) => p.status === 'AUTHORISED' || p.status === 'BILLED');
    tn.delete('purchaseOrders', tn.gen.id('purchaseOrders', po[0]!.index));
    tn.edit('purchaseOrders', tn.gen.id('purchaseOrders', po[1]!.index), { reference: 'Edited in QuickBooks' });
    const vc = tn.collections.billCreditNotes.list({ offset: 0, limit: 100_000 }).items.filter((d) => d.status === 'AUTHORISED' || d.status === 'PAID');
    tn.delete('billCreditNotes', tn.gen.id('billCreditNotes', vc[0]!.index));
    const xf = tn.collections.bankTransfers.list({ offset: 0, limit: 100_000 }).items.filter((x) => x.status === 'AUTHORISED');
    tn.hardDelete('bankTransfers', tn.gen.id('bankTransfers', xf[0]!.index));
    const bank = tn.collections.bankTransactions.list({ offset: 0, limit: 100_000 }).items.filter((b) => b.status === 'AUTHORISED');
    const spend = bank.filter((b) => b.type === 'SPEND');
    const receive = bank.filter((b) => b.type === 'RECEIVE');
    tn.delete('bankTransactions', tn.gen.id('bankTransactions', spend[0]!.index));
    tn.void('bankTransactions', tn.gen.id('bankTransactions', spend[1]!.index));
    tn.hardDelete('bankTransactions', tn.gen.id('bankTransactions', receive[0]!.index));
    const expected: Record<string, { deleted: string[]; live?: [string, Record<string, unknown>] }> = {
      purchaseOrders: { deleted: [String(po[0]!.index + 1)], live: [String(po[1]!.index + 1), { note: 'Edited in QuickBooks', metadata: { isDeleted: false } }] },
      billCreditNotes: { deleted: [String(vc[0]!.index + 1)] },
      transfers: { deleted: [String(xf[0]!.index + 1)] },
      directCosts: { deleted: [String(spend[0]!.index + 1), String(spend[1]!.index + 1)], live: [String(spend[2]!.index + 1), { metadata: { isDeleted: false } }] },
      directIncomes: { deleted: [String(receive[0]!.index + 1)], live: [String(receive[1]!.index + 1), { metadata: { isDeleted: false } }] },
    };
    for (const [type, want] of Object.entries(expected)) {
      const cdc = realm.counters.byEndpoint['GET /cdc'] ?? 0;
      const queries = realm.counters.byEndpoint['GET /query'] ?? 0;
      const ds = await pull(type);
      expect(ds, type).toMatchObject({ status: 'Complete' });
      expect(realm.counters.byEndpoint['GET /cdc'], type).toBe(cdc + 1);
      expect(realm.counters.byEndpoint['GET /query'] ?? 0, type).toBe(queries);
      const s = await served(type as (typeof READ)[number]);
      for (const id of want.deleted) expect(s.get(id)?.metadata.isDeleted, `${type} ${id}`).toBe(true);
      if (want.live) expect(s.get(want.live[0]), type).toMatchObject(want.live[1]);
    }
  });
});

/**
 * Issue 15: what is served for the types beyond v1 is what /openapi.json declares. A company linked to the Sandbox
 * (the simulator in Xero's dialect) and one linked to QuickBooks Online (its dialect) are pulled by the real engine;
 * every record of every new type they read — list pages and gets, bank transactions per bank account — the aged debtor
 * and creditor reports, each pull's validation result and an attachment validate against the operation's documented
 * 200 schema, with additional properties forbidden throughout, so a field a mapper serves that the schema (and Codat's
 * model) does not declare fails here, as does a wrong type or enum value.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { DIALECTS } from './support/stores.js';
import { createTestApp, type TestApp } from './support/app.js';
import { startEngine, type Engine } from './support/engine.js';
import { linkThroughConsent, simQboConnector } from './support/qbo.js';
import { startSimulator, type Simulator } from '../src/sim/server.js';
import { SandboxConnector } from '../src/connectors/xero/index.js';
import type { Connector } from '../src/connectors/connector.js';
import { MORE_READ_TYPES } from '../src/domain/data-types.js';
import { BANK_TRANSACTIONS, READ_TYPES } from '../src/domain/read-types.js';

type Doc = Record<string, any>;
type Validate = ((data: unknown) => boolean) & { errors?: unknown };

/** The schema with `additionalProperties: false` on every object that declares properties. */
function closed(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(closed);
  if (!schema || typeof schema !== 'object') return schema;
  const out: Doc = Object.fromEntries(Object.entries(schema).map(([k, v]) => [k, k === 'properties' ? Object.fromEntries(Object.entries(v as Doc).map(([p, s]) => [p, closed(s)])) : closed(v)]));
  if (out.properties) out.additionalProperties = false;
  return out;
}

/** Validators of the documented 200 responses, by path and method, compiled from the served /openapi.json. */
async function openApi(t: TestApp) {
  const doc = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json();
  const ajv = new Ajv2020.default({ strict: false, allErrors: true });
  addFormats.default(ajv);
  ajv.addSchema({ $id: 'doc', components: closed(doc.components) }, 'doc');
  const cache = new Map<string, Validate>();
  return {
    doc,
    /** The 200 schema of `GET path` (OpenAPI path template), closed. */
    validator(path: string): Validate {
      let v = cache.get(path);
      if (!v) {
        const op = doc.paths[path]?.get;
        expect(op, path).toBeDefined();
        const schema = op.responses['200'].content['application/json'].schema;
        v = ajv.compile(JSON.parse(JSON.stringify(closed(schema)).replace(/"#\/components\//g, '"doc#/components/'))) as Validate;
        cache.set(path, v);
      }
      return v;
    },
  };
}

type Api = Awaited<ReturnType<typeof openApi>>;

function expectValid(api: Api, path: string, body: unknown, what: string): void {
  const v = api.validator(path);
  const ok = v(body);
  // One line per distinct failure (schema place and message), not one per record.
  const distinct = [...new Set(((v.errors ?? []) as Doc[]).map((e) => `${e.schemaPath} ${e.message} ${JSON.stringify(e.params)}`))];
  expect(ok, `${what}:\n${distinct.join('\n')}`).toBe(true);
}

/**
 * Reads every new type the connection's connector reads, each list page and each record by id, and validates them.
 * Returns how many records of each type were checked.
 */
async function checkRecords(t: TestApp, api: Api, companyId: string, connectionId: string, connector: Connector): Promise<Record<string, number>> {
  const checked: Record<string, number> = {};
  const get = async (url: string) => {
    const res = await t.call('GET', url);
    expect(res.statusCode, `${url}: ${res.body.slice(0, 300)}`).toBe(200);
    return res.json();
  };
  for (const rt of READ_TYPES.filter((r) => (MORE_READ_TYPES as readonly string[]).includes(r.dataType) && connector.supports(r.dataType))) {
    const singular = rt.segment.replace(/ies$/, 'y').replace(/s$/, '');
    const idParam = rt.idParam ?? `${singular}Id`;
    const scopes = rt.connectionOnly ? [`/companies/{companyId}/connections/{connectionId}/data`] : [`/companies/{companyId}/data`, `/companies/{companyId}/connections/{connectionId}/data`];
    for (const scope of scopes) {
      const base = scope.replace('{companyId}', companyId).replace('{connectionId}', connectionId);
      const list = await get(`${base}/${rt.segment}?pageSize=5000`);
      expectValid(api, `${scope}/${rt.segment}`, list, `list ${rt.segment}`);
      // A small page too: the envelope with its next link.
      expectValid(api, `${scope}/${rt.segment}`, await get(`${base}/${rt.segment}?pageSize=2&page=2`), `page of ${rt.segment}`);
      // Each record by id (the first 40: the list already carried them all).
      for (const r of (list.results as Doc[]).slice(0, 40)) expectValid(api, `${scope}/${rt.segment}/{${idParam}}`, await get(`${base}/${rt.segment}/${encodeURIComponent(r.id)}`), `${rt.segment} ${r.id}`);
      checked[rt.dataType] = (list.results as Doc[]).length;
    }
  }
  if (connector.supports(BANK_TRANSACTIONS.dataType)) {
    const base = `/companies/${companyId}/connections/${connectionId}/data`;
    const accounts = (await get(`${base}/bankAccounts?pageSize=5000`)).results as Doc[];
    checked.bankTransactions = 0;
    for (const a of accounts) {
      const page = await get(`${base}/bankAccounts/${encodeURIComponent(a.id)}/bankTransactions?pageSize=5000`);
      expectValid(api, '/companies/{companyId}/connections/{connectionId}/data/bankAccounts/{accountId}/bankTransactions', page, `bank transactions of ${a.id}`);
      checked.bankTransactions += page.results.length;
    }
  }
  for (const segment of ['agedDebtor', 'agedCreditor']) {
    for (const q of ['', '?reportDate=2026-06-01&periodLengthDays=45&numberOfPeriods=6']) {
      const report = await get(`/companies/${companyId}/reports/${segment}${q}`);
      if (!q) expect(report.data.length, segment).toBeGreaterThan(0);
      expectValid(api, `/companies/{companyId}/reports/${segment}`, report, `${segment}${q}`);
    }
  }
  const history = (await get(`/companies/${companyId}/data/history?pageSize=5000`)).results as Doc[];
  for (const op of history) expectValid(api, '/companies/{companyId}/sync/{datasetId}/validation', await get(`/companies/${companyId}/sync/${op.id}/validation`), `validation of ${op.dataType}`);
  return checked;
}

describe.each(DIALECTS)('served records validate against the OpenAPI document [%s]', (dialect) => {
  let t: TestApp;
  let sim: Simulator;
  let api: Api;

  beforeAll(async () => {
    t = await createTestApp(dialect, { qbo: true });
    t.clock.set('2026-06-15T19:00:00.000Z');
    sim = await startSimulator({ port: 0, clock: t.clock, rateLimit: { perMinute: 100_000, concurrent: 5 }, qbo: { clients: [QBO_CLIENT] } });
    api = await openApi(t);
  });
  afterAll(async () => {
    await sim.close();
    await t.close();
  });

  it('every new type has a typed schema: list and get, aged reports, validation; a wrong enum value is refused', () => {
    const prefix = '/companies/{companyId}/connections/{connectionId}/data';
    const deref = (schema: Doc): Doc => (schema.$ref ? api.doc.components.schemas[String(schema.$ref).split('/').pop()!] : schema);
    for (const rt of READ_TYPES.filter((r) => (MORE_READ_TYPES as readonly string[]).includes(r.dataType))) {
      const schema = api.doc.paths[`${prefix}/${rt.segment}`].get.responses['200'].content['application/json'].schema;
      // A named component (Codat's entity name), the same for the list's items and the get.
      expect(schema.properties.results.items.$ref, rt.segment).toBe(`#/components/schemas/${rt.entity}`);
      expect(api.doc.paths[`${prefix}/${rt.segment}/{${rt.idParam ?? `${rt.segment.replace(/ies$/, 'y').replace(/s$/, '')}Id`}}`].get.responses['200'].content['application/json'].schema.$ref).toBe(`#/components/schemas/${rt.entity}`);
      const item = deref(schema.properties.results.items);
      expect(Object.keys(item.properties ?? {}).length, rt.segment).toBeGreaterThan(4);
      for (const common of ['id', 'modifiedDate', 'sourceModifiedDate', 'metadata']) expect(item.properties, `${rt.segment}.${common}`).toHaveProperty(common);
      expect(item.properties.metadata.properties).toHaveProperty('isDeleted');
    }
    expect(deref(api.doc.paths[`${prefix}/bankAccounts/{accountId}/bankTransactions`].get.responses['200'].content['application/json'].schema.properties.results.items).properties).toHaveProperty('transactionType');
    for (const r of ['agedDebtor', 'agedCreditor']) expect(deref(api.doc.paths[`/companies/{companyId}/reports/${r}`].get.responses['200'].content['application/json'].schema).properties).toHaveProperty('data');
    // The validators can fail: enums are closed, undeclared fields are refused, types are checked.
    const v = api.validator('/companies/{companyId}/data/purchaseOrders/{purchaseOrderId}');
    expect(v({ id: 'p', status: 'Open', totalAmount: 1 })).toBe(true);
    expect(v({ id: 'p', status: 'Approved' })).toBe(false);
    expect(v({ id: 'p', shipTo: { address: { type: 'Home' } } })).toBe(false);
    expect(v({ id: 'p', purchaseOrderNo: 'P-1' })).toBe(false);
    expect(v({ id: 'p', totalAmount: '1' })).toBe(false);
    const pm = api.validator('/companies/{companyId}/data/paymentMethods/{paymentMethodId}');
    expect(pm({ id: 'm', name: 'Cash', type: 'Cash', status: 'Active' })).toBe(true);
    expect(pm({ id: 'm', type: 'Cheque' })).toBe(false);
    const so = api.validator('/companies/{companyId}/data/salesOrders/{salesOrderId}');
    expect(so({ id: 's', invoicingStatus: 'NotInvoiced', status: 'Open', lineItems: [{ unitAmount: 1, quantity: 2, tracking: { recordRefs: [{ id: 'c', dataType: 'customers' }] } }] })).toBe(true);
    expect(so({ id: 's', invoicingStatus: 'Billed' })).toBe(false);
  });

  it('the Sandbox: every record of every type it reads, bank transactions per account, aged reports, validation, an attachment', async () => {
    const connector = new SandboxConnector({ baseUrl: sim.url, clock: t.clock, retryBaseMs: 1, sleep: async (ms) => t.clock.advance(ms), tenantSize: { invoices: 60, bills: 120, customers: 30, suppliers: 10, historyMonths: 6 } });
    const engine = startEngine(t, {}, connector);
    try {
      const companyId = (await t.call('POST', '/companies', { name: 'Schema Trading' })).json().id;
      const connectionId = (await t.call('POST', `/companies/${companyId}/connections`, { platformKey: 'mqjo' })).json().id;
      expect((await t.app.inject({ method: 'GET', url: `/link/companies/${companyId}/connections/${connectionId}/start` })).statusCode).toBe(302);
      await engine.pool.drain(120_000);
      const checked = await checkRecords(t, api, companyId, connectionId, connector);
      // Each type the Sandbox reads had records to check.
      for (const type of MORE_READ_TYPES.filter((x) => connector.supports(x))) expect(checked[type], type).toBeGreaterThan(0);
      // An attachment, listed and got.
      const invoiceId = (await t.call('GET', `/companies/${companyId}/data/invoices?pageSize=1`)).json().results[0].id;
      const tenantId = (await t.call('GET', `/companies/${companyId}/connections/${connectionId}`)).json().connectionInfo.tenantId;
      const attach = () =>
        fetch(`${sim.url}/admin/tenants/${tenantId}/attachments`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ endpoint: 'Invoices', recordId: invoiceId, fileName: 'scan.txt', mimeType: 'text/plain', size: 100, includeOnline: true }),
        }).then((r) => r.json() as Promise<Doc>);
      // Once more on a reset: a pooled keep-alive socket the simulator closed just as it was reused (not a finding).
      const added = await attach().catch((err: Error & { cause?: { code?: string } }) => (err.cause?.code === 'ECONNRESET' ? attach() : Promise.reject(err)));
      const base = `/companies/${companyId}/connections/${connectionId}/data/invoices/${invoiceId}/attachments`;
      expectValid(api, '/companies/{companyId}/connections/{connectionId}/data/invoices/{invoiceId}/attachments', (await t.call('GET', base)).json(), 'attachments');
      expectValid(api, '/companies/{companyId}/connections/{connectionId}/data/invoices/{invoiceId}/attachments/{attachmentId}', (await t.call('GET', `${base}/${added.AttachmentID}`)).json(), 'attachment');
    } finally {
      await engine.stop();
    }
  });

  it('QuickBooks Online: every record of every new type it reads (payment methods among them), aged reports, validation', async () => {
    const realm = sim.qbo.createRealm({ seed: `record-schemas-${dialect}`, size: { invoices: 60, bills: 80, customers: 20, suppliers: 8 }, name: 'Schema Books' });
    const connector = simQboConnector(sim, t.clock, QBO_CLIENT);
    const engine = startEngine(t, {}, connector);
    (t.ctx as { oauthLinker?: unknown }).oauthLinker = (key: string) => (key === 'qhyg' ? connector.oauthLinker : undefined);
    try {
      const companyId = (await t.call('POST', '/companies', { name: 'Schema Books' })).json().id;
      const connectionId = (await t.call('POST', `/companies/${companyId}/connections`, { platformKey: 'qhyg' })).json().id;
      expect((await linkThroughConsent(t, sim, companyId, connectionId, realm)).answer.statusCode).toBe(302);
      await engine.pool.drain(120_000);
      const checked = await checkRecords(t, api, companyId, connectionId, connector);
      expect(checked.paymentMethods).toBeGreaterThan(0);
      for (const type of MORE_READ_TYPES.filter((x) => connector.supports(x))) expect(checked[type], type).toBeGreaterThan(0);
    } finally {
      await engine.stop();
    }
  });
});

const QBO_CLIENT = { id: 'syncline-record-schemas', secret: 'schemas-secret' };

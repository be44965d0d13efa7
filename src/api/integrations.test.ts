import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contrast } from '../domain/brand-colour.js';
import { DIALECTS } from '../../test/support/stores.js';
import { BASE_URL, createTestApp, expectErrorShape, type TestApp } from '../../test/support/app.js';
import { ACCOUNTING_READ_TYPES, DATA_TYPES, type DataType } from '../domain/data-types.js';
import { SandboxConnector, XeroConnector } from '../connectors/xero/index.js';
import { QboConnector } from '../connectors/qbo/index.js';
import { ConnectorRegistry, type Connector } from '../connectors/connector.js';
import { IntegrationRegistry } from '../connectors/integrations.js';
import { TestConnector } from '../../test/support/test-connector.js';
import { FEATURE_STATES, FEATURE_TYPES, SOURCE_TYPES } from '../domain/statuses.js';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const KEYS = ['gbol', 'mqjo', 'ndsk', 'qhyg'];
const NAMES: Record<string, string> = { gbol: 'Xero', mqjo: 'Sandbox', ndsk: 'QuickBooks Online Sandbox', qhyg: 'QuickBooks Online' };
/** The connector each integration key runs (never called: only their declared capabilities are read). */
const CONNECTORS: Record<string, Connector> = {
  mqjo: new SandboxConnector({ baseUrl: 'http://127.0.0.1:1' }),
  gbol: new XeroConnector({ apiUrl: 'https://api.xero.com', tokenUrl: 'https://identity.xero.com/connect/token', clientId: 'x' }),
  qhyg: new QboConnector({ key: 'qhyg', clientId: 'x', clientSecret: 'y', apiUrl: 'https://quickbooks.api.intuit.com', tokenUrl: 'https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer' }),
  ndsk: new QboConnector({ key: 'ndsk', clientId: 'x', clientSecret: 'y', apiUrl: 'https://sandbox-quickbooks.api.intuit.com', tokenUrl: 'https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer' }),
};
const readBy = (key: string): DataType[] => ACCOUNTING_READ_TYPES.filter((t) => CONNECTORS[key]!.supports(t));

describe.each(DIALECTS)('integrations API [%s]', (dialect) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(dialect);
  });
  afterAll(async () => t.close());

  it('lists the four integrations ordered by key, in the paging envelope', async () => {
    const res = await t.call('GET', '/integrations');
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    const body = res.json();
    expect(body.results.map((i: any) => i.key)).toEqual(KEYS);
    expect(body).toMatchObject({ pageNumber: 1, pageSize: 100, totalResults: 4 });
    expect(body._links).toEqual({ self: { href: '/integrations' }, current: { href: '/integrations?page=1&pageSize=100' } });
    for (const i of body.results) {
      expect(i.name).toBe(NAMES[i.key]);
      expect(i.sourceType).toBe('Accounting');
      expect(i.integrationId).toMatch(UUID_RE);
      expect(i.sourceId).toMatch(UUID_RE);
      expect(i.isOfflineConnector).toBe(false);
      expect(typeof i.isBeta).toBe('boolean');
      expect(i.logoUrl).toMatch(new RegExp(`^${BASE_URL}/`));
      for (const v of Object.values(i)) expect(v).not.toBeNull();
    }
    // integrationId / sourceId are distinct per integration
    expect(new Set(body.results.map((i: any) => i.integrationId)).size).toBe(4);
    expect(new Set(body.results.map((i: any) => i.sourceId)).size).toBe(4);
  });

  it('pages and orders', async () => {
    const p2 = (await t.call('GET', '/integrations?page=2&pageSize=3')).json();
    expect(p2.results.map((i: any) => i.key)).toEqual(['qhyg']);
    expect(p2.totalResults).toBe(4);
    expect(p2._links.previous.href).toBe('/integrations?page=1&pageSize=3');
    expect(p2._links).not.toHaveProperty('next');
    const p1 = (await t.call('GET', '/integrations?pageSize=3')).json();
    expect(p1._links.next.href).toBe('/integrations?page=2&pageSize=3');
    const desc = (await t.call('GET', '/integrations?orderBy=-key')).json();
    expect(desc.results.map((i: any) => i.key)).toEqual([...KEYS].reverse());
    const byName = (await t.call('GET', '/integrations?orderBy=name')).json();
    expect(byName.results.map((i: any) => i.name)).toEqual(Object.values(NAMES).sort());
    // ties broken by key ascending
    const byEnabled = (await t.call('GET', '/integrations?orderBy=-enabled')).json();
    expect(byEnabled.results.map((i: any) => i.key)).toEqual(['mqjo', 'gbol', 'ndsk', 'qhyg']);
    expect((await t.call('GET', '/integrations?page=3&pageSize=2')).json().results).toEqual([]);
    const ob = expectErrorShape(await t.call('GET', '/integrations?orderBy=colour'), 400);
    expect(ob.error).toBe('Error parsing query - Could not resolve property colour on Integration');
    for (const q of ['page=0', 'pageSize=0', 'pageSize=5001', 'page=x']) expectErrorShape(await t.call('GET', `/integrations?${q}`), 400);
  });

  it('only the Sandbox is enabled when no OAuth client is configured', async () => {
    const body = (await t.call('GET', '/integrations')).json();
    const enabled = Object.fromEntries(body.results.map((i: any) => [i.key, i.enabled]));
    expect(enabled).toEqual({ gbol: false, mqjo: true, ndsk: false, qhyg: false });
  });

  it('gets one integration, the same as in the list', async () => {
    const list = (await t.call('GET', '/integrations')).json().results;
    for (const key of KEYS) {
      const res = await t.call('GET', `/integrations/${key}`);
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual(list.find((i: any) => i.key === key));
    }
  });

  it('datatypeFeatures lists exactly what each platform\'s connector reads, with Get/Release', async () => {
    for (const key of KEYS) {
      const i = (await t.call('GET', `/integrations/${key}`)).json();
      expect(Array.isArray(i.datatypeFeatures)).toBe(true);
      // In canonical order, and nothing a pull of that platform would end NotSupported.
      expect(i.datatypeFeatures.map((f: any) => f.dataType), key).toEqual(readBy(key));
      for (const f of i.datatypeFeatures) {
        expect(DATA_TYPES).toContain(f.dataType);
        expect(Object.keys(f).sort()).toEqual(['dataType', 'supportedFeatures']);
        expect(f.supportedFeatures).toEqual([{ featureType: 'Get', featureState: 'Release' }]);
        for (const s of f.supportedFeatures) {
          expect(FEATURE_TYPES).toContain(s.featureType);
          expect(FEATURE_STATES).toContain(s.featureState);
        }
      }
      expect(SOURCE_TYPES).toContain(i.sourceType);
    }
    // What each platform lacks: the Sandbox and Xero have no payment methods and no sales orders, Xero no cash-flow
    // report; QuickBooks' cash flow is indirect-method only (its connector ends the type NotSupported).
    const lacks = (key: string, t: DataType) => !readBy(key).includes(t);
    expect(['paymentMethods', 'salesOrders'].every((x) => lacks('mqjo', x as DataType))).toBe(true);
    expect(['paymentMethods', 'salesOrders', 'cashFlowStatement'].every((x) => lacks('gbol', x as DataType))).toBe(true);
    expect(lacks('qhyg', 'cashFlowStatement') && lacks('ndsk', 'cashFlowStatement')).toBe(true);
    expect(readBy('mqjo')).toContain('cashFlowStatement');
  });

  it('the registry agrees with each connector for every data type; a registered connector is what it asks', async () => {
    for (const key of KEYS) {
      const def = t.ctx.registry.get(key)!;
      for (const dataType of DATA_TYPES) expect(t.ctx.registry.supports(def, dataType), `${key} ${dataType}`).toBe(CONNECTORS[key]!.supports(dataType));
      expect(t.ctx.registry.dataTypes(def)).toEqual(readBy(key));
    }
    // A process whose connector of a key reads other types (a test platform that reads everything) lists those.
    const everything = new IntegrationRegistry({ xero: false, qbo: false }, new ConnectorRegistry().register(new TestConnector('mqjo')));
    const mqjo = everything.get('mqjo')!;
    expect(everything.dataTypes(mqjo)).toEqual(ACCOUNTING_READ_TYPES);
    expect(everything.supports(mqjo, 'paymentMethods')).toBe(true);
    expect(everything.supports(everything.get('gbol')!, 'paymentMethods')).toBe(false);
  });

  it('a type the platform cannot serve is NotSupported at queue time, not in the first read, not in dataStatus', async () => {
    const companyId = (await t.call('POST', '/companies', { name: 'Capabilities' })).json().id;
    const connectionId = (await t.call('POST', `/companies/${companyId}/connections`, { platformKey: 'mqjo' })).json().id;
    expect((await t.app.inject({ method: 'GET', url: `/link/companies/${companyId}/connections/${connectionId}/start` })).statusCode).toBe(302);
    // No worker runs here: the first read is only queued, with exactly the types the Sandbox connector reads.
    const history = (await t.call('GET', `/companies/${companyId}/data/history?pageSize=100`)).json().results as any[];
    expect(history.map((o) => o.dataType).sort()).toEqual([...readBy('mqjo')].sort());
    expect(history.every((o) => o.status === 'Queued')).toBe(true);
    const status = (await t.call('GET', `/companies/${companyId}/dataStatus`)).json();
    expect(Object.keys(status).sort()).toEqual([...readBy('mqjo')].sort());
    for (const dataType of ['paymentMethods', 'salesOrders'] as const) {
      const op = await t.call('POST', `/companies/${companyId}/data/queue/${dataType}`);
      expect(op.statusCode).toBe(200);
      expect(op.json()).toMatchObject({ dataType, status: 'NotSupported', isCompleted: true, progress: 100 });
      expect((await t.call('GET', `/companies/${companyId}/dataStatus`)).json()[dataType]).toMatchObject({ currentStatus: 'NotSupported' });
      const read = await t.call('GET', `/companies/${companyId}/data/${dataType}`);
      expect(expectErrorShape(read, 404).error).toBe(`Datatype ${dataType} not supported by platform(s) Sandbox`);
    }
    // The schedule slots of the link are the readable types only: the scheduler never queues the others.
    const slots = await t.store.db.selectFrom('schedule_slots').select('data_type').where('connection_id', '=', connectionId).execute();
    expect(slots.map((s) => s.data_type).sort()).toEqual([...readBy('mqjo')].sort());
  });

  it('returns branding, whose images are served without auth', async () => {
    const res = await t.call('GET', '/integrations/gbol/branding');
    expect(res.statusCode).toBe(200);
    const b = res.json();
    const integ = (await t.call('GET', '/integrations/gbol')).json();
    expect(b.sourceId).toBe(integ.sourceId);
    for (const img of [b.logo.full, b.logo.square, b.button.default, b.button.hover]) {
      expect(typeof img.image.alt).toBe('string');
      expect(img.image.src).toMatch(new RegExp(`^${BASE_URL}/`));
      const svg = await t.app.inject({ method: 'GET', url: img.image.src.slice(BASE_URL.length) });
      expect(svg.statusCode).toBe(200);
      expect(svg.headers['content-type']).toMatch(/^image\/svg\+xml/);
    }
    const logo = await t.app.inject({ method: 'GET', url: integ.logoUrl.slice(BASE_URL.length) });
    expect(logo.statusCode).toBe(200);
    // Generated marks: the platform's initials on its colour (darkened to AA contrast for the white letters), named.
    const icon = (await t.app.inject({ method: 'GET', url: '/branding/gbol/icon.svg' })).body;
    expect(icon).toMatch(/^<svg [^>]*aria-label="Xero"/);
    expect(icon).toContain('>X</text>');
    expect((await t.app.inject({ method: 'GET', url: '/branding/qhyg/icon.svg' })).body).toContain('>QB</text>');
    const fill = /<rect [^>]*fill="(#[0-9a-f]{6})"/.exec(icon)![1]!;
    expect(contrast(fill, '#ffffff')).toBeGreaterThanOrEqual(4.5);
    for (const bad of ['/branding/gbol/evil.svg', '/branding/gbol/%3Cscript%3E', '/branding/zzzz/icon.svg']) {
      expectErrorShape(await t.app.inject({ method: 'GET', url: bad }), 404);
    }
  });

  it('404 for an unknown platform key', async () => {
    for (const path of ['/integrations/zzzz', '/integrations/zzzz/branding', '/integrations/MQJO']) {
      const e = expectErrorShape(await t.call('GET', path), 404);
      expect(e.error).toBe(`No integration was found with key ${path.split('/')[2]}`);
      expect(e.service).toBe('ClientsApi');
    }
  });
});

describe.each(DIALECTS)('integrations API with OAuth clients configured [%s]', (dialect) => {
  it('enables Xero and QuickBooks when their clients are configured', async () => {
    const t = await createTestApp(dialect, { xero: true, qbo: true, qboSandbox: true });
    try {
      const body = (await t.call('GET', '/integrations')).json();
      expect(body.results.every((i: any) => i.enabled === true)).toBe(true);
    } finally {
      await t.close();
    }
    const x = await createTestApp(dialect, { xero: true });
    try {
      const body = (await x.call('GET', '/integrations')).json();
      expect(Object.fromEntries(body.results.map((i: any) => [i.key, i.enabled]))).toEqual({ gbol: true, mqjo: true, ndsk: false, qhyg: false });
    } finally {
      await x.close();
    }
  });

  it('enables qhyg and ndsk separately: Intuit issues production and development keys', async () => {
    const q = await createTestApp(dialect, { qbo: true });
    try {
      const body = (await q.call('GET', '/integrations')).json();
      expect(Object.fromEntries(body.results.map((i: any) => [i.key, i.enabled]))).toEqual({ gbol: false, mqjo: true, ndsk: false, qhyg: true });
    } finally {
      await q.close();
    }
  });
});

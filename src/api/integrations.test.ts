import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contrast } from '../domain/brand-colour.js';
import { DIALECTS } from '../../test/support/stores.js';
import { BASE_URL, createTestApp, expectErrorShape, type TestApp } from '../../test/support/app.js';
import { ACCOUNTING_READ_TYPES, DATA_TYPES, V1_READ_TYPES } from '../domain/data-types.js';
import { XeroConnector } from '../connectors/xero/index.js';
import { FEATURE_STATES, FEATURE_TYPES, SOURCE_TYPES } from '../domain/statuses.js';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const KEYS = ['gbol', 'mqjo', 'ndsk', 'qhyg'];
const NAMES: Record<string, string> = { gbol: 'Xero', mqjo: 'Sandbox', ndsk: 'QuickBooks Online Sandbox', qhyg: 'QuickBooks Online' };

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

  it('datatypeFeatures lists the readable data types with Get/Release', async () => {
    const i = (await t.call('GET', '/integrations/mqjo')).json();
    expect(Array.isArray(i.datatypeFeatures)).toBe(true);
    expect(i.datatypeFeatures.map((f: any) => f.dataType).sort()).toEqual([...ACCOUNTING_READ_TYPES].sort());
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
  });

  it('Xero lists no cashFlowStatement, paymentMethods or salesOrders (Xero has none), and the registry agrees with the Xero connector', async () => {
    const i = (await t.call('GET', '/integrations/gbol')).json();
    expect(i.datatypeFeatures.map((f: any) => f.dataType).sort()).toEqual(ACCOUNTING_READ_TYPES.filter((x) => x !== 'cashFlowStatement' && x !== 'paymentMethods' && x !== 'salesOrders').sort());
    const connector = new XeroConnector({ apiUrl: 'https://api.xero.com', tokenUrl: 'https://identity.xero.com/connect/token', clientId: 'x' });
    const def = t.ctx.registry.get('gbol')!;
    const checked = [...V1_READ_TYPES, 'directCosts', 'directIncomes', 'transfers', 'bankTransactions', 'accountTransactions', 'journals', 'paymentMethods', 'billCreditNotes', 'purchaseOrders', 'salesOrders'] as const;
    for (const dataType of checked) expect(t.ctx.registry.supports(def, dataType), dataType).toBe(connector.supports(dataType));
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

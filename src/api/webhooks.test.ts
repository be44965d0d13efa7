import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../test/support/stores.js';
import { createTestApp, expectErrorShape, type TestApp } from '../../test/support/app.js';
import { networkInterfaces } from 'node:os';
import { allowPrivateTargets, clearConsumers } from '../../test/support/webhooks.js';
import { MAX_CONSUMERS } from '../domain/webhook-events.js';

const MISSING = '00000000-0000-4000-8000-000000000000';

describe.each(DIALECTS)('webhook consumers API [%s]', (dialect) => {
  let t: TestApp;

  beforeAll(async () => {
    t = await createTestApp(dialect);
  });
  afterAll(async () => t.close());
  beforeEach(async () => {
    allowPrivateTargets(t, false);
    await clearConsumers(t);
  });

  const create = (body: unknown) => t.call('POST', '/webhooks', body);

  it('creates (201, secret once), lists, reveals the secret, deletes (204)', async () => {
    const res = await create({ url: 'https://hooks.example.com/syncline', eventTypes: ['read.completed', 'Data sync completed'], companyTags: ['region:uk'] });
    expect(res.statusCode).toBe(201);
    const created = res.json();
    expect(created).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      url: 'https://hooks.example.com/syncline',
      disabled: false,
      eventTypes: ['read.completed', 'DataSyncCompleted'],
      companyTags: ['region:uk'],
      signingSecret: expect.stringMatching(/^whsec_[A-Za-z0-9+/]{43}=$/),
    });
    const list = (await t.call('GET', '/webhooks')).json();
    expect(list).toEqual({ results: [{ id: created.id, url: created.url, disabled: false, eventTypes: created.eventTypes, companyTags: ['region:uk'] }] });
    expect(JSON.stringify(list)).not.toContain('whsec_');
    expect((await t.call('GET', `/webhooks/${created.id}/secret`)).json()).toEqual({ key: created.signingSecret });
    // stored encrypted, not in clear
    const stored = await t.store.db.selectFrom('webhook_consumers').select('secret').where('id', '=', created.id).executeTakeFirstOrThrow();
    expect(stored.secret).not.toContain(created.signingSecret.slice(6));

    const del = await t.call('DELETE', `/webhooks/${created.id}`);
    expect(del.statusCode).toBe(204);
    expect(del.body).toBe('');
    expect((await t.call('GET', '/webhooks')).json()).toEqual({ results: [] });
    expect(expectErrorShape(await t.call('DELETE', `/webhooks/${created.id}`), 404)).toMatchObject({
      service: 'ClientsApi',
      error: `No webhook consumer was found with ID ${created.id}`,
    });
  });

  it('disabled and companyTags: null are accepted; unknown event names are kept as written', async () => {
    const c = (await create({ url: 'http://hooks.example.com/x', disabled: true, companyTags: null, eventTypes: ['invoices.write.successful', 'read.completed', 'READ.COMPLETED'] })).json();
    expect(c.disabled).toBe(true);
    expect(c.companyTags).toBeUndefined();
    expect(c.eventTypes).toEqual(['invoices.write.successful', 'read.completed']);
    const nulled = await create({ url: 'http://hooks.example.com/y', disabled: null, eventTypes: ['company.created'] });
    expect(nulled.json().disabled).toBe(false);
  });

  it('validates the prototype (400)', async () => {
    const bad = async (body: unknown, itemId: string) => {
      const e = expectErrorShape(await create(body), 400);
      expect(e.validation.errors.map((x: { itemId: string }) => x.itemId), JSON.stringify(body)).toContain(itemId);
      return e;
    };
    const ok = { url: 'https://hooks.example.com/a', eventTypes: ['read.completed'] };
    await bad({ ...ok, eventTypes: [] }, 'eventTypes');
    await bad({ url: ok.url }, 'eventTypes');
    await bad({ eventTypes: ok.eventTypes }, 'url');
    await bad({ ...ok, eventTypes: [''] }, 'eventTypes[0]');
    await bad({ ...ok, eventTypes: ['  '] }, 'eventTypes[0]');
    await bad({ ...ok, eventTypes: ['x'.repeat(129)] }, 'eventTypes[0]');
    await bad({ ...ok, companyTags: Array.from({ length: 11 }, (_, i) => `k:${i}`) }, 'companyTags');
    await bad({ ...ok, companyTags: ['novalue'] }, 'companyTags[0]');
    await bad({ ...ok, companyTags: [':x'] }, 'companyTags[0]');
    await bad({ ...ok, companyTags: [`k:${'v'.repeat(127)}`] }, 'companyTags[0]');
    await bad({ ...ok, secret: 'mine' }, 'secret');
    for (const url of ['ftp://hooks.example.com/', 'hooks.example.com/x', 'javascript:alert(1)']) {
      expect((await bad({ ...ok, url }, 'url')).service).toBe('ClientsApi');
    }
    // link-local and metadata: always; private and loopback: only when allowed
    for (const url of ['http://169.254.169.254/latest/meta-data', 'http://[fe80::1]/', 'http://metadata.google.internal/', 'http://[fd00:ec2::254]/']) {
      await bad({ ...ok, url }, 'url');
      allowPrivateTargets(t, true);
      await bad({ ...ok, url }, 'url');
      allowPrivateTargets(t, false);
    }
    // issue 12 item 10: IPv6 spellings of loopback, site-local, and this host's own interface addresses
    const ownAddresses = Object.values(networkInterfaces()).flatMap((l) => (l ?? []).map((i) => (i.family === 'IPv6' ? `[${i.address}]` : i.address)));
    const ownUrls = ownAddresses.filter((a) => !a.startsWith('[fe80:')).map((a) => `http://${a}/hook`); // link-local: always refused
    for (const url of ['http://127.0.0.1:9000/hook', 'http://localhost/hook', 'http://10.0.0.5/', 'http://192.168.1.2/', 'http://[::1]/', 'http://[::127.0.0.1]/', 'http://[::ffff:0:127.0.0.1]/', 'http://[fec0::1]/', ...ownUrls]) {
      const e = await bad({ ...ok, url }, 'url');
      expect(e.validation.errors[0].message).toMatch(/SYNCLINE_WEBHOOKS_ALLOW_PRIVATE/);
      allowPrivateTargets(t, true);
      expect((await create({ ...ok, url })).statusCode, url).toBe(201);
      allowPrivateTargets(t, false);
    }
    const tagged = await create({ ...ok, companyTags: [`k:${'v'.repeat(126)}`, 'url:http://x:1'] });
    expect(tagged.statusCode).toBe(201);
  });

  it(`refuses the ${MAX_CONSUMERS + 1}st consumer, even under concurrent creates`, async () => {
    const results = await Promise.all(
      Array.from({ length: MAX_CONSUMERS + 5 }, (_, i) => create({ url: `https://hooks.example.com/${i}`, eventTypes: ['company.created'] })),
    );
    expect(results.filter((r) => r.statusCode === 201)).toHaveLength(MAX_CONSUMERS);
    for (const r of results.filter((x) => x.statusCode !== 201)) {
      expect(expectErrorShape(r, 400)).toMatchObject({ service: 'ClientsApi', error: 'Maximum number of webhook consumers (50) reached.' });
    }
    expect((await t.call('GET', '/webhooks')).json().results).toHaveLength(MAX_CONSUMERS);
  });

  it('rotates the secret: the new one is returned and served; unknown ids 404, malformed ids 400', async () => {
    const c = (await create({ url: 'https://hooks.example.com/r', eventTypes: ['company.created'] })).json();
    const rotated = await t.call('POST', `/webhooks/${c.id}/secret/rotate`);
    expect(rotated.statusCode).toBe(200);
    const key = rotated.json().key;
    expect(key).toMatch(/^whsec_/);
    expect(key).not.toBe(c.signingSecret);
    expect((await t.call('GET', `/webhooks/${c.id}/secret`)).json()).toEqual({ key });
    const row = await t.store.db.selectFrom('webhook_consumers').selectAll().where('id', '=', c.id).executeTakeFirstOrThrow();
    expect(t.ctx.secretBox.open(row.previous_secret!)).toBe(c.signingSecret);
    expect(row.previous_secret_until).toBe(new Date(t.clock.now().getTime() + 24 * 3_600_000).toISOString());

    for (const [method, url] of [
      ['GET', `/webhooks/${MISSING}/secret`],
      ['POST', `/webhooks/${MISSING}/secret/rotate`],
      ['GET', `/webhooks/${MISSING}/attempts`],
      ['POST', `/webhooks/${MISSING}/events/${MISSING}/replay`],
    ] as const) {
      expect(expectErrorShape(await t.call(method, url), 404).error, url).toBe(`No webhook consumer was found with ID ${MISSING}`);
    }
    expect(expectErrorShape(await t.call('POST', `/webhooks/${MISSING}/recover`, { since: '2026-01-01T00:00:00Z' }), 404).error).toBe(
      `No webhook consumer was found with ID ${MISSING}`,
    );
    expect(expectErrorShape(await t.call('GET', `/webhooks/events/${MISSING}/attempts`), 404).error).toBe(`No webhook event was found with ID ${MISSING}`);
    expect(expectErrorShape(await t.call('POST', `/webhooks/${c.id}/events/${MISSING}/replay`), 404).error).toBe(`No webhook event was found with ID ${MISSING}`);
    for (const url of ['/webhooks/nope', '/webhooks/nope/secret', '/webhooks/events/nope/attempts']) {
      expectErrorShape(await t.call(url === '/webhooks/nope' ? 'DELETE' : 'GET', url), 400);
    }
    expectErrorShape(await t.call('POST', `/webhooks/${c.id}/recover`, {}), 400);
    expectErrorShape(await t.call('POST', `/webhooks/${c.id}/recover`, { since: 'yesterday' }), 400);
    expectErrorShape(await t.call('GET', `/webhooks/${c.id}/attempts?orderBy=timestamp`), 400);
    expect((await t.call('GET', `/webhooks/${c.id}/attempts`)).json()).toEqual({
      results: [],
      pageNumber: 1,
      pageSize: 100,
      totalResults: 0,
      _links: { self: { href: `/webhooks/${c.id}/attempts` }, current: { href: `/webhooks/${c.id}/attempts?page=1&pageSize=100` } },
    });
  });

  it('replay and recover refuse a disabled consumer', async () => {
    const c = (await create({ url: 'https://hooks.example.com/d', eventTypes: ['company.created'], disabled: true })).json();
    expect(expectErrorShape(await t.call('POST', `/webhooks/${c.id}/recover`, { since: '2026-01-01T00:00:00Z' }), 400).error).toMatch(/disabled/);
  });

  it('needs authentication and appears in the OpenAPI document', async () => {
    for (const [method, url] of [
      ['GET', '/webhooks'],
      ['POST', '/webhooks'],
      ['GET', `/webhooks/${MISSING}/secret`],
      ['GET', `/webhooks/events/${MISSING}/attempts`],
    ] as const) {
      expect((await t.app.inject({ method, url })).statusCode, url).toBe(401);
    }
    const doc = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json();
    const ids = Object.values<any>(doc.paths).flatMap((p) => Object.values<any>(p).map((op) => op.operationId));
    for (const id of [
      'list-webhook-consumers',
      'create-webhook-consumer',
      'delete-webhook-consumer',
      'get-webhook-consumer-secret',
      'rotate-webhook-consumer-secret',
      'list-webhook-consumer-attempts',
      'list-webhook-event-attempts',
      'replay-webhook-event',
      'recover-webhook-consumer',
    ]) {
      expect(ids).toContain(id);
    }
  });
});

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../test/support/stores.js';
import { createTestApp, expectErrorShape, type TestApp } from '../../test/support/app.js';
import { hashApiKey } from '../lib/secrets.js';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const MISSING = '00000000-0000-4000-8000-000000000000';
const basic = (key: string) => `Basic ${Buffer.from(key).toString('base64')}`;

describe.each(DIALECTS)('API keys [%s]', (dialect) => {
  let t: TestApp;
  beforeEach(async () => {
    t = await createTestApp(dialect);
  });
  afterEach(async () => t.close());

  it('lists keys without their secret', async () => {
    const res = await t.call('GET', '/apiKeys');
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(Object.keys(body)).toEqual(['results']);
    expect(body.results).toHaveLength(1);
    expect(body.results[0]).toEqual({ id: expect.stringMatching(UUID_RE), name: 'test', createdDate: '2026-03-01T09:00:00.000Z' });
    expect(res.body).not.toContain(t.apiKey);
    expect(res.body).not.toContain(hashApiKey(t.apiKey));
  });

  it('creates a key (201) that authenticates, returned only once', async () => {
    t.clock.advance(1000);
    const res = await t.call('POST', '/apiKeys', { name: 'ci' });
    expect(res.statusCode).toBe(201);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    const created = res.json();
    expect(created).toEqual({ id: expect.stringMatching(UUID_RE), name: 'ci', createdDate: '2026-03-01T09:00:01.000Z', apiKey: expect.any(String) });
    expect(created.apiKey).toMatch(/^[A-Za-z0-9]{40}$/);
    const me = await t.app.inject({ method: 'GET', url: '/apiKeys', headers: { authorization: basic(created.apiKey) } });
    expect(me.statusCode).toBe(200);
    const listed = me.json().results;
    expect(listed.map((k: any) => k.id)).toEqual([expect.any(String), created.id]);
    expect(listed[1]).not.toHaveProperty('apiKey');
    expect(me.body).not.toContain(created.apiKey);
    // Only the hash is stored.
    const rows = await t.store.db.selectFrom('api_keys').selectAll().execute();
    expect(JSON.stringify(rows)).not.toContain(created.apiKey);
    expect(rows.find((r) => r.id === created.id)!.key_hash).toBe(hashApiKey(created.apiKey));
  });

  it('creates keys with no body, {} and a null name', async () => {
    for (const body of [undefined, {}, { name: null }]) {
      const res = await t.call('POST', '/apiKeys', body);
      expect(res.statusCode).toBe(201);
      expect(res.json().name).toBeNull();
    }
    // What the SDK sends for createApiKey() with no argument: a JSON content-type and no body.
    const bare = await t.call('POST', '/apiKeys', undefined, { 'content-type': 'application/json' });
    expect(bare.statusCode).toBe(201);
    const keys = new Set((await t.call('GET', '/apiKeys')).json().results.map((k: any) => k.id));
    expect(keys.size).toBe(5);
  });

  it('refuses a name longer than 50 characters and bad bodies', async () => {
    const ok = await t.call('POST', '/apiKeys', { name: 'n'.repeat(50) });
    expect(ok.statusCode).toBe(201);
    const e = expectErrorShape(await t.call('POST', '/apiKeys', { name: 'n'.repeat(51) }), 400);
    expect(e.error).toBe('Max string length (50) for `name` reached.');
    expect(e.service).toBe('ClientsApi');
    expectErrorShape(await t.call('POST', '/apiKeys', { name: 5 }), 400);
    expectErrorShape(await t.call('POST', '/apiKeys', { name: 'x', apiKey: 'mine' }), 400);
    expectErrorShape(await t.call('POST', '/apiKeys', '{"name"', { 'content-type': 'application/json' }), 400);
    expect((await t.call('GET', '/apiKeys')).json().results).toHaveLength(2);
  });

  it('refuses the 11th key with 409', async () => {
    for (let i = 2; i <= 10; i++) expect((await t.call('POST', '/apiKeys', { name: `k${i}` })).statusCode).toBe(201);
    const e = expectErrorShape(await t.call('POST', '/apiKeys', { name: 'k11' }), 409);
    expect(e.error).toBe('Maximum number of API keys reached. To create a new API key, delete an unused key and try again.');
    expect(e.service).toBe('ClientsApi');
    expect((await t.call('GET', '/apiKeys')).json().results).toHaveLength(10);
    // Deleting one makes room again.
    // Not the test's own key: every key here has the same created_at (the test clock), so list order is by id.
    const one = (await t.call('GET', '/apiKeys')).json().results.find((k: { name: string | null }) => k.name === 'k5').id;
    expect((await t.call('DELETE', `/apiKeys/${one}`)).statusCode).toBe(204);
    expect((await t.call('POST', '/apiKeys', { name: 'again' })).statusCode).toBe(201);
  });

  it('keeps the limit under concurrent creates', async () => {
    const results = await Promise.all(Array.from({ length: 15 }, (_, i) => t.call('POST', '/apiKeys', { name: `c${i}` })));
    const codes = results.map((r) => r.statusCode).sort();
    expect(codes.filter((c) => c === 201)).toHaveLength(9);
    expect(codes.filter((c) => c === 409)).toHaveLength(6);
    expect((await t.call('GET', '/apiKeys')).json().results).toHaveLength(10);
  });

  it('deletes with 204, no body and no content-type; the key stops working', async () => {
    const created = (await t.call('POST', '/apiKeys', { name: 'gone' })).json();
    const res = await t.call('DELETE', `/apiKeys/${created.id}`);
    expect(res.statusCode).toBe(204);
    expect(res.body).toBe('');
    expect(res.headers).not.toHaveProperty('content-type');
    expect(res.headers['content-length'] ?? '0').toBe('0');
    const denied = await t.app.inject({ method: 'GET', url: '/apiKeys', headers: { authorization: basic(created.apiKey) } });
    expect(expectErrorShape(denied, 401).error).toBe('Unauthorized');
    const e = expectErrorShape(await t.call('DELETE', `/apiKeys/${created.id}`), 404);
    expect(e.error).toBe(`No API key was found with ID ${created.id}`);
    expect(e.service).toBe('ClientsApi');
  });

  it('deletes the key in use, even the last one', async () => {
    const [only] = (await t.call('GET', '/apiKeys')).json().results;
    const res = await t.call('DELETE', `/apiKeys/${only.id}`);
    expect(res.statusCode).toBe(204);
    expectErrorShape(await t.call('GET', '/apiKeys'), 401);
    expect(await t.store.db.selectFrom('api_keys').selectAll().execute()).toEqual([]);
  });

  it('unknown id → 404, malformed id → 400', async () => {
    const e = expectErrorShape(await t.call('DELETE', `/apiKeys/${MISSING}`), 404);
    expect(e.error).toBe(`No API key was found with ID ${MISSING}`);
    const bad = expectErrorShape(await t.call('DELETE', '/apiKeys/not-a-uuid'), 400);
    expect(bad.error).toBe('Error processing request - not valid.');
    expect(bad.validation.errors[0].itemId).toBe('apiKeyId');
    expect((await t.call('GET', '/apiKeys')).json().results).toHaveLength(1);
  });

  it('needs authentication', async () => {
    for (const [method, url] of [
      ['GET', '/apiKeys'],
      ['POST', '/apiKeys'],
      ['DELETE', `/apiKeys/${MISSING}`],
    ] as const) {
      expectErrorShape(await t.app.inject({ method, url }), 401);
    }
  });
});

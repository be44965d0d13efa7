import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import type { LightMyRequestResponse } from 'fastify';
import { DIALECTS } from '../../test/support/stores.js';
import { BASE_URL, createTestApp, expectErrorShape, type TestApp } from '../../test/support/app.js';
import { createLogger } from '../lib/logger.js';
import { buildApp, compileValidators } from './app.js';

const MISSING = '00000000-0000-4000-8000-000000000000';
const basic = (key: string, scheme = 'Basic') => `${scheme} ${Buffer.from(key).toString('base64')}`;

/** Operations of platform-api.md §5 that this version serves (§5.1–§5.3, §5.9, §5.11). */
const OPERATION_IDS = [
  'list-companies',
  'create-company',
  'get-company',
  'replace-company',
  'update-company',
  'delete-company',
  'list-connections',
  'create-connection',
  'get-connection',
  'delete-connection',
  'unlink-connection',
  'update-connection-authorization',
  'list-integrations',
  'get-integration',
  'get-integrations-branding',
  'list-api-keys',
  'create-api-key',
  'delete-api-key',
  'get-profile',
  'update-profile',
];

function expect401(res: LightMyRequestResponse) {
  const body = expectErrorShape(res, 401);
  expect(body).toEqual({
    statusCode: 401,
    service: 'PublicApi',
    error: 'Unauthorized',
    correlationId: res.headers['x-correlation-id'],
    canBeRetried: 'Unknown',
    detailedErrorCode: 0,
  });
}

describe.each(DIALECTS)('HTTP conventions [%s]', (dialect) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(dialect);
  });
  afterAll(async () => t.close());

  const get = (url: string, authorization?: string) =>
    t.app.inject({ method: 'GET', url, headers: authorization === undefined ? {} : { authorization } });

  describe('authentication', () => {
    it('401 with the exact ErrorMessage for missing, malformed and unknown keys', async () => {
      expect401(await get('/companies'));
      expect401(await get('/companies', ''));
      expect401(await get('/companies', `Bearer ${Buffer.from(t.apiKey).toString('base64')}`));
      expect401(await get('/companies', t.apiKey)); // no scheme
      expect401(await get('/companies', 'Basic'));
      expect401(await get('/companies', 'Basic '));
      expect401(await get('/companies', 'Basic %%%not-base64%%%'));
      expect401(await get('/companies', 'Basic abc')); // not a whole base64 quantum
      expect401(await get('/companies', basic('unknown-key-0000000000000000000000000000')));
      expect401(await get('/companies', basic(`${t.apiKey}:`))); // no user:password pair
      expect401(await get('/companies', basic(`user:${t.apiKey}`)));
      expect401(await get('/companies', basic(t.apiKey.toLowerCase())));
      expect401(await get('/companies', `${basic(t.apiKey)} extra`));
    });

    it('accepts the scheme word in any case', async () => {
      for (const scheme of ['Basic', 'basic', 'BASIC', 'bAsIc']) {
        const res = await get('/companies', basic(t.apiKey, scheme));
        expect(res.statusCode, scheme).toBe(200);
      }
    });

    it('a deleted key gets 401', async () => {
      const created = (await t.call('POST', '/apiKeys', { name: 'short-lived' })).json();
      expect((await get('/profile', basic(created.apiKey))).statusCode).toBe(200);
      expect((await t.call('DELETE', `/apiKeys/${created.id}`)).statusCode).toBe(204);
      expect401(await get('/profile', basic(created.apiKey)));
    });

    it('every API operation needs the key, even with an invalid body or id', async () => {
      const cases: [string, string, unknown?][] = [
        ['GET', '/companies'],
        ['POST', '/companies', { name: 'x' }],
        ['POST', '/companies', { bogus: true }],
        ['GET', `/companies/${MISSING}`],
        ['GET', '/companies/not-a-uuid'],
        ['PUT', `/companies/${MISSING}`, { name: 'x' }],
        ['PATCH', `/companies/${MISSING}`, {}],
        ['DELETE', `/companies/${MISSING}`],
        ['GET', `/companies/${MISSING}/connections`],
        ['POST', `/companies/${MISSING}/connections`, { platformKey: 'mqjo' }],
        ['GET', `/companies/${MISSING}/connections/${MISSING}`],
        ['PATCH', `/companies/${MISSING}/connections/${MISSING}`, { status: 'Unlinked' }],
        ['DELETE', `/companies/${MISSING}/connections/${MISSING}`],
        ['PUT', `/companies/${MISSING}/connections/${MISSING}/authorization`, {}],
        ['GET', '/integrations'],
        ['GET', '/integrations/mqjo'],
        ['GET', '/integrations/mqjo/branding'],
        ['GET', '/apiKeys'],
        ['POST', '/apiKeys', {}],
        ['DELETE', `/apiKeys/${MISSING}`],
        ['GET', '/profile'],
        ['PUT', '/profile', { name: 'x', redirectUrl: 'y' }],
        ['GET', '/companies?page=0'],
      ];
      for (const [method, url, body] of cases) {
        const res = await t.app.inject({ method: method as 'GET', url, ...(body === undefined ? {} : { payload: body as object }) });
        expect(res.statusCode, `${method} ${url}`).toBe(401);
        expect401(res);
      }
      // Authentication comes before body validation, the size limit included.
      const big = await t.app.inject({
        method: 'POST',
        url: '/companies',
        headers: { 'content-type': 'application/json' },
        payload: JSON.stringify({ name: 'x'.repeat(2 * 1024 * 1024) }),
      });
      expect401(big);
    });
  });

  describe('public paths', () => {
    it('/healthz and /readyz answer without a key', async () => {
      const h = await get('/healthz');
      expect(h.statusCode).toBe(200);
      expect(h.headers['content-type']).toBe('application/json; charset=utf-8');
      const r = await get('/readyz');
      expect(r.statusCode).toBe(200);
      expect(r.json()).toMatchObject({ database: dialect });
    });

    it('/docs serves the reference page without a key', async () => {
      const res = await get('/docs');
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/html/);
      expect(res.body).toMatch(/swagger/i);
    });

    it('/openapi.json is a valid OpenAPI 3.1 document with the operations of the spec', async () => {
      const res = await get('/openapi.json');
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
      const doc = res.json();
      expect(doc.openapi).toBe('3.1.0');
      expect(typeof doc.info.title).toBe('string');
      expect(typeof doc.info.version).toBe('string');
      expect(typeof doc.paths).toBe('object');

      const ops: { method: string; path: string; op: any }[] = [];
      for (const [path, item] of Object.entries<any>(doc.paths)) {
        expect(path.startsWith('/')).toBe(true);
        for (const [method, op] of Object.entries<any>(item)) {
          expect(['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace']).toContain(method);
          ops.push({ method, path, op });
        }
      }
      const ids = ops.map((o) => o.op.operationId);
      expect(new Set(ids).size).toBe(ids.length);
      for (const id of OPERATION_IDS) expect(ids).toContain(id);
      // Operational and browser-only routes are not part of the contract.
      for (const hidden of ['/healthz', '/readyz', '/openapi.json']) expect(doc.paths).not.toHaveProperty(hidden);
      expect(Object.keys(doc.paths).some((p) => p.startsWith('/link/'))).toBe(false);

      const ajv = new Ajv2020.default({ strict: false, allErrors: true });
      addFormats.default(ajv);
      ajv.addSchema({ $id: 'doc', components: doc.components }, 'doc');
      const localRefs = (schema: unknown): unknown => JSON.parse(JSON.stringify(schema).replace(/"#\/components\//g, '"doc#/components/'));
      // Many operations share a schema (the ErrorMessage responses, paging parameters): Ajv caches a compiled schema by
      // object identity only, so each distinct schema text is compiled once (the same text compiles to the same check).
      const compiled = new Set<string>();
      const compileOnce = (schema: unknown) => {
        const text = JSON.stringify(schema);
        if (compiled.has(text)) return;
        ajv.compile(localRefs(schema) as object);
        compiled.add(text);
      };
      const refs = new Set<string>();
      JSON.stringify(doc, (k, v) => {
        if (k === '$ref') refs.add(v);
        return v;
      });
      for (const ref of refs) {
        expect(ref).toMatch(/^#\/components\/schemas\/[A-Za-z]+$/);
        expect(doc.components.schemas).toHaveProperty(ref.split('/').pop()!);
      }
      for (const { method, path, op } of ops) {
        const where = `${method} ${path}`;
        expect(typeof op.operationId, where).toBe('string');
        expect(Object.keys(op.responses ?? {}).some((c) => /^2\d\d$/.test(c)), where).toBe(true);
        const declared = (op.parameters ?? []).filter((p: any) => p.in === 'path').map((p: any) => p.name).sort();
        const inPath = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
        expect(declared, where).toEqual(inPath);
        for (const p of op.parameters ?? []) {
          expect(['path', 'query', 'header', 'cookie']).toContain(p.in);
          if (p.in === 'path') expect(p.required).toBe(true);
          compileOnce(p.schema);
        }
        for (const [code, r] of Object.entries<any>(op.responses)) {
          expect(typeof r.description, `${where} ${code}`).toBe('string');
          for (const media of Object.values<any>(r.content ?? {})) compileOnce(media.schema);
        }
        for (const media of Object.values<any>(op.requestBody?.content ?? {})) compileOnce(media.schema);
        if (op.requestBody) expect(Object.keys(op.requestBody.content), where).toEqual(['application/json']);
      }
      const withBody = ops.filter((o) => o.op.requestBody).map((o) => o.op.operationId);
      for (const id of [
        'create-company',
        'replace-company',
        'update-company',
        'create-connection',
        'unlink-connection',
        'update-connection-authorization',
        'create-api-key',
        'update-profile',
      ]) {
        expect(withBody).toContain(id);
      }
      // Error responses point at the shared ErrorMessage schema.
      const getCompany = doc.paths['/companies/{companyId}'].get;
      expect(getCompany.responses['404'].content['application/json'].schema.$ref).toBe('#/components/schemas/ErrorMessage');
      const validateError = ajv.compile(localRefs(getCompany.responses['404'].content['application/json'].schema) as object);
      const sample = (await t.call('GET', `/companies/${MISSING}`)).json();
      expect(validateError(sample), JSON.stringify(validateError.errors)).toBe(true);
      // A real response validates against the documented schema.
      const company = (await t.call('POST', '/companies', { name: 'Doc Co', tags: { a: 'b' } })).json();
      await t.call('POST', `/companies/${company.id}/connections`, { platformKey: 'mqjo' });
      const validateCompany = ajv.compile(localRefs(getCompany.responses['200'].content['application/json'].schema) as object);
      const got = (await t.call('GET', `/companies/${company.id}`)).json();
      expect(validateCompany(got), JSON.stringify(validateCompany.errors)).toBe(true);
    });
  });

  describe('routing', () => {
    it('unknown routes get 404 before authentication', async () => {
      for (const [method, url] of [
        ['GET', '/x'],
        ['POST', '/x'],
        ['GET', '/companies/x/y/z/w'],
        ['GET', '/v2/companies'],
      ] as const) {
        const path = url.split('?')[0];
        const noAuth = expectErrorShape(await t.app.inject({ method, url }), 404);
        expect(noAuth.error).toBe(`No route matches ${method} ${path}`);
        expect(noAuth.service).toBe('PublicApi');
        const withAuth = expectErrorShape(await t.call(method, url), 404);
        expect(withAuth.error).toBe(`No route matches ${method} ${path}`);
      }
      const q = expectErrorShape(await t.app.inject({ method: 'GET', url: '/nowhere?page=2' }), 404);
      expect(q.error).toBe('No route matches GET /nowhere');
    });

    it('a known path with the wrong method gets 405 before authentication', async () => {
      for (const [method, url] of [
        ['DELETE', '/companies'],
        ['PUT', '/companies'],
        ['POST', `/companies/${MISSING}`],
        ['PUT', `/companies/${MISSING}/connections`],
        ['POST', `/companies/${MISSING}/connections/${MISSING}`],
        ['GET', `/companies/${MISSING}/connections/${MISSING}/authorization`],
        ['POST', '/integrations'],
        ['DELETE', '/integrations/mqjo'],
        ['PUT', '/apiKeys'],
        ['GET', `/apiKeys/${MISSING}`],
        ['POST', '/profile'],
        ['POST', '/healthz'],
      ] as const) {
        for (const res of [await t.app.inject({ method, url }), await t.call(method, url)]) {
          const e = expectErrorShape(res, 405);
          expect(e.error).toBe(`Method ${method} is not allowed on ${url}`);
          expect(res.headers.allow).toBeTruthy();
        }
      }
    });

    it('operations Syncline does not serve get 404 "not supported"', async () => {
      const cid = (await t.call('POST', '/companies', { name: 'Unsupported' })).json().id;
      for (const [method, url] of [
        ['POST', `/companies/${cid}/products/lending`],
        ['DELETE', `/companies/${cid}/products/lending`],
        ['POST', `/companies/${cid}/products/lending/refresh`],
        ['GET', `/companies/${cid}/accessToken`],
        ['GET', `/companies/${cid}/connectionManagement/accessToken`],
        ['GET', '/corsSettings'],
        ['POST', '/corsSettings'],
        ['GET', '/connectionManagement/corsSettings'],
        ['GET', `/companies/${cid}/push`],
        ['GET', `/companies/${cid}/push/${MISSING}`],
        ['GET', `/companies/${cid}/connections/${MISSING}/push`],
        ['POST', `/companies/${cid}/connections/${MISSING}/push/invoices`],
        ['GET', `/companies/${cid}/connections/${MISSING}/options/invoices`],
        ['GET', '/integrations/gbol/dataTypes/invoices/supplementalDataConfig'],
        ['PUT', '/integrations/gbol/dataTypes/custom/thing'],
        ['POST', `/companies/${cid}/connections/${MISSING}/data/queue/custom/thing`],
        ['GET', `/companies/${cid}/connections/${MISSING}/data/custom/thing`],
        ['POST', '/webhooks/integrationKeys/zapier'],
        ['GET', '/rules'],
        ['POST', '/rules'],
        ['GET', `/rules/${MISSING}`],
        ['DELETE', `/rules/${MISSING}`],
      ] as const) {
        const e = expectErrorShape(await t.call(method, url), 404);
        expect(e.error).toBe(`Operation ${method} ${url} is not supported by Syncline`);
      }
      // The query string is not part of the path in the message.
      const q = expectErrorShape(await t.call('GET', '/rules?page=1'), 404);
      expect(q.error).toBe('Operation GET /rules is not supported by Syncline');
    });

    it('route validators compile at first use, every one compiles, and validation stays strict', async () => {
      // A fresh app: nothing compiled at ready(); compileValidators compiles every route's validators once.
      const app = await buildApp(t.ctx);
      try {
        await app.ready();
        expect(compileValidators(app)).toBeGreaterThan(100);
        expect(compileValidators(app)).toBe(0);
      } finally {
        await app.close();
      }
      // On t.app, validators compile lazily at these calls: bodies are still strict (no coercion, unknown keys
      // refused, errors say which field), query and path parameters still coerced.
      const unknownKey = expectErrorShape(await t.call('POST', '/companies', { name: 'Strict', colour: 'red' }), 400);
      expect(JSON.stringify(unknownKey.validation)).toContain('colour');
      expectErrorShape(await t.call('POST', '/companies', { name: 42 }), 400);
      expect((await t.call('GET', '/companies?page=2&pageSize=5')).json()).toMatchObject({ pageNumber: 2, pageSize: 5 });
      expectErrorShape(await t.call('GET', '/companies?page=two'), 400);
      expect((await t.call('POST', '/companies', { name: 'Strict' })).statusCode).toBe(200);
    });

    it('a path that does not decode, or an over-long segment, is a 400 ErrorMessage', async () => {
      for (const url of ['/companies/%E0%A4%A', `/integrations/${'a'.repeat(600)}`]) {
        const e = expectErrorShape(await t.call('GET', url), 400);
        expect(e.error).toBe('Error processing request - not valid.');
      }
    });
  });

  describe('correlation ids', () => {
    it('every response carries X-Correlation-Id; errors repeat it in the body', async () => {
      const cid = (await t.call('POST', '/companies', { name: 'Corr' })).json().id;
      const responses = [
        await t.call('GET', '/companies'),
        await t.call('GET', `/companies/${cid}`),
        await t.call('DELETE', `/apiKeys/${MISSING}`),
        await get('/healthz'),
        await get('/openapi.json'),
        await get('/docs'),
        await get('/x'),
        await get('/companies'),
        await t.call('DELETE', '/companies'),
        await t.call('GET', '/companies/bad'),
        await t.call('GET', '/companies/%E0%A4%A'),
        await t.call('GET', `/companies/${cid}/accessToken`),
        await t.call('POST', '/companies', '{', { 'content-type': 'application/json' }),
        await t.call('POST', '/companies', JSON.stringify({ name: 'x'.repeat(2 * 1024 * 1024) }), { 'content-type': 'application/json' }),
      ];
      const ids = new Set<string>();
      for (const res of responses) {
        const id = res.headers['x-correlation-id'];
        expect(id, `${res.statusCode} ${res.body.slice(0, 80)}`).toMatch(/^[0-9a-f]{32}$/);
        ids.add(id as string);
        if (res.statusCode >= 400) expect(res.json().correlationId).toBe(id);
      }
      expect(ids.size).toBe(responses.length);
      const del = await t.call('DELETE', `/companies/${cid}`);
      expect(del.statusCode).toBe(204);
      expect(del.headers['x-correlation-id']).toMatch(/^[0-9a-f]{32}$/);
    });

    it('the correlation id is a field of the request log line; the key is never logged', async () => {
      const lines: string[] = [];
      const app = await buildApp({ ...t.ctx, log: createLogger('info', { write: (s: string) => void lines.push(s) }) });
      try {
        const res = await app.inject({ method: 'GET', url: `/companies/${MISSING}`, headers: { authorization: t.authHeader } });
        expect(res.statusCode).toBe(404);
        const id = res.headers['x-correlation-id'];
        const entries = lines.map((l) => JSON.parse(l));
        const mine = entries.filter((e) => e.correlationId === id);
        expect(mine.length).toBeGreaterThan(0);
        expect(mine.some((e) => e.res?.statusCode === 404)).toBe(true);
        expect(lines.join('\n')).not.toContain(t.apiKey);
        expect(lines.join('\n')).not.toContain(t.authHeader.slice(6));
      } finally {
        await app.close();
      }
    });
  });

  describe('profile', () => {
    it('GET returns the configured defaults before any PUT', async () => {
      const t2 = await createTestApp(dialect);
      try {
        const res = await t2.call('GET', '/profile');
        expect(res.statusCode).toBe(200);
        expect(res.json()).toEqual({ name: 'Syncline Test', redirectUrl: `${BASE_URL}/link/complete` });
      } finally {
        await t2.close();
      }
    });

    it('PUT replaces the profile; deprecated fields are accepted and ignored', async () => {
      const full = { name: 'Acme', redirectUrl: 'https://acme.example/linked', logoUrl: 'https://l', iconUrl: 'https://i', whiteListUrls: ['https://a'] };
      const res = await t.call('PUT', '/profile', { ...full, apiKey: 'legacy', confirmCompanyName: true });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual(full);
      expect((await t.call('GET', '/profile')).json()).toEqual(full);
      // Fields left out are removed.
      const min = { name: 'Acme 2', redirectUrl: 'https://acme.example/again' };
      expect((await t.call('PUT', '/profile', min)).json()).toEqual(min);
      expect((await t.call('GET', '/profile')).json()).toEqual(min);
    });

    it('PUT failure paths: missing name or redirectUrl, unknown keys, wrong types → 400', async () => {
      const before = (await t.call('GET', '/profile')).json();
      for (const [body, itemId] of [
        [{ redirectUrl: 'https://x' }, 'name'],
        [{ name: 'x' }, 'redirectUrl'],
        [{}, 'name'],
        [{ name: 'x', redirectUrl: 'https://x', colour: 'red' }, 'colour'],
        [{ name: 5, redirectUrl: 'https://x' }, 'name'],
        [{ name: 'x', redirectUrl: 'https://x', whiteListUrls: 'https://a' }, 'whiteListUrls'],
        [{ name: 'x', redirectUrl: 'https://x', confirmCompanyName: 'yes' }, 'confirmCompanyName'],
      ] as const) {
        const e = expectErrorShape(await t.call('PUT', '/profile', body), 400);
        expect(e.error).toBe('Error processing request - not valid.');
        expect(e.validation.errors.map((x: any) => x.itemId)).toContain(itemId);
      }
      expectErrorShape(await t.call('PUT', '/profile', undefined, { 'content-type': 'application/json' }), 400);
      expectErrorShape(await t.call('PUT', '/profile', 'name=x', { 'content-type': 'application/x-www-form-urlencoded' }), 400);
      expect((await t.call('GET', '/profile')).json()).toEqual(before);
    });
  });

  it('readyz answers 503 with Retry-After when the database is gone', async () => {
    const t2 = await createTestApp(dialect);
    try {
      await t2.store.close();
      const res = await t2.app.inject({ method: 'GET', url: '/readyz' });
      const e = expectErrorShape(res, 503);
      expect(e.error).toBe('The Syncline API is temporarily offline for maintenance. Please try again later.');
      expect(res.headers['retry-after']).toBeTruthy();
      expect((await t2.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    } finally {
      await t2.close();
    }
  });
});

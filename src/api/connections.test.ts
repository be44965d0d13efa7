import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../test/support/stores.js';
import { BASE_URL, createTestApp, expectErrorShape, type TestApp } from '../../test/support/app.js';
import { linkConnection } from './services/connection-lifecycle.js';

const MISSING = '00000000-0000-4000-8000-000000000000';
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe.each(DIALECTS)('connections API [%s]', (dialect) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(dialect);
  });
  afterAll(async () => t.close());

  async function company(name = 'Conn Co'): Promise<string> {
    const res = await t.call('POST', '/companies', { name });
    expect(res.statusCode).toBe(200);
    return res.json().id;
  }
  async function connection(cid: string, platformKey = 'mqjo'): Promise<Record<string, any>> {
    const res = await t.call('POST', `/companies/${cid}/connections`, { platformKey });
    expect(res.statusCode).toBe(200);
    return res.json();
  }
  /** Opens the linkUrl the way a browser would: a plain GET without any API key. */
  async function openLink(linkUrl: string) {
    const path = linkUrl.slice(BASE_URL.length);
    return t.app.inject({ method: 'GET', url: path });
  }
  async function history(connectionId: string) {
    return t.store.db
      .selectFrom('connection_status_changes')
      .selectAll()
      .where('connection_id', '=', connectionId)
      .orderBy('changed_at')
      .execute();
  }

  it('creates a PendingAuth connection with a linkUrl, and GET returns the same', async () => {
    const cid = await company();
    const res = await t.call('POST', `/companies/${cid}/connections`, { platformKey: 'mqjo' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    const c = res.json();
    expect(c.id).toMatch(UUID_RE);
    expect(c).toMatchObject({
      integrationKey: 'mqjo',
      platformName: 'Sandbox',
      sourceType: 'Accounting',
      status: 'PendingAuth',
      created: '2026-03-01T09:00:00.000Z',
    });
    expect(c.integrationId).toMatch(UUID_RE);
    expect(c.sourceId).toMatch(UUID_RE);
    expect(c.linkUrl).toBe(`${BASE_URL}/link/companies/${cid}/connections/${c.id}/start`);
    for (const absent of ['lastSync', 'dataConnectionErrors', 'connectionInfo', 'credentials']) expect(c).not.toHaveProperty(absent);
    for (const v of Object.values(c)) expect(v).not.toBeNull();
    const got = await t.call('GET', `/companies/${cid}/connections/${c.id}`);
    expect(got.statusCode).toBe(200);
    expect(got.json()).toEqual(c);
    // The integration's fixed ids are the same as /integrations reports.
    const integ = (await t.call('GET', '/integrations/mqjo')).json();
    expect(c.integrationId).toBe(integ.integrationId);
    expect(c.sourceId).toBe(integ.sourceId);
    // The creation is recorded as the first status change.
    const h = await history(c.id);
    expect(h.map((r) => [r.from_status, r.to_status])).toEqual([[null, 'PendingAuth']]);
    expect(h[0]!.changed_at).toBe('2026-03-01T09:00:00.000Z');
  });

  it('refuses unknown and disabled platform keys with 404', async () => {
    const cid = await company();
    for (const key of ['zzzz', 'gbol', 'qhyg', 'ndsk']) {
      const err = expectErrorShape(await t.call('POST', `/companies/${cid}/connections`, { platformKey: key }), 404);
      expect(err.error).toBe(`No integration was found with key ${key}`);
      expect(err.service).toBe('ClientsApi');
    }
    const list = (await t.call('GET', `/companies/${cid}/connections`)).json();
    expect(list.totalResults).toBe(0);
  });

  it('create failure paths: bad bodies 400, unknown company 404, bad uuid 400', async () => {
    const cid = await company();
    for (const [body, itemId] of [
      [{}, 'platformKey'],
      [{ platformKey: 5 }, 'platformKey'],
      [{ platformKey: 'mqjo', extra: true }, 'extra'],
      [{ platformKey: '' }, 'platformKey'],
    ] as const) {
      const err = expectErrorShape(await t.call('POST', `/companies/${cid}/connections`, body), 400);
      expect(err.error).toBe('Error processing request - not valid.');
      expect(err.validation.errors.map((e: any) => e.itemId)).toContain(itemId);
    }
    expectErrorShape(await t.call('POST', `/companies/${cid}/connections`, 'platformKey=mqjo', { 'content-type': 'text/plain' }), 400);
    const nf = expectErrorShape(await t.call('POST', `/companies/${MISSING}/connections`, { platformKey: 'mqjo' }), 404);
    expect(nf.error).toBe(`No company was found with ID ${MISSING}`);
    const bad = expectErrorShape(await t.call('POST', '/companies/nope/connections', { platformKey: 'mqjo' }), 400);
    expect(bad.validation.errors[0].itemId).toBe('companyId');
  });

  it('lists with paging, _links and orderBy; 404 for an unknown company', async () => {
    const cid = await company('Lister');
    const made: Record<string, any>[] = [];
    for (let i = 0; i < 3; i++) {
      t.clock.advance(1000);
      made.push(await connection(cid));
    }
    const all = (await t.call('GET', `/companies/${cid}/connections`)).json();
    expect(all.totalResults).toBe(3);
    expect(all.pageNumber).toBe(1);
    expect(all.pageSize).toBe(100);
    expect(all.results.map((c: any) => c.id)).toEqual(made.map((c) => c.id));
    expect(all._links).toEqual({
      self: { href: `/companies/${cid}/connections` },
      current: { href: `/companies/${cid}/connections?page=1&pageSize=100` },
    });
    const p2 = (await t.call('GET', `/companies/${cid}/connections?page=2&pageSize=1`)).json();
    expect(p2.results.map((c: any) => c.id)).toEqual([made[1]!.id]);
    expect(p2._links.next.href).toBe(`/companies/${cid}/connections?page=3&pageSize=1`);
    expect(p2._links.previous.href).toBe(`/companies/${cid}/connections?page=1&pageSize=1`);
    const p3 = (await t.call('GET', `/companies/${cid}/connections?page=3&pageSize=1`)).json();
    expect(p3._links).not.toHaveProperty('next');
    const past = (await t.call('GET', `/companies/${cid}/connections?page=9`)).json();
    expect(past.results).toEqual([]);
    expect(past.totalResults).toBe(3);
    const desc = (await t.call('GET', `/companies/${cid}/connections?orderBy=-created`)).json();
    expect(desc.results.map((c: any) => c.id)).toEqual(made.map((c) => c.id).reverse());
    expect(desc._links.current.href).toBe(`/companies/${cid}/connections?page=1&pageSize=100&orderBy=-created`);
    const byId = (await t.call('GET', `/companies/${cid}/connections?orderBy=id`)).json();
    expect(byId.results.map((c: any) => c.id)).toEqual(made.map((c) => c.id).sort());

    const ob = expectErrorShape(await t.call('GET', `/companies/${cid}/connections?orderBy=nope`), 400);
    expect(ob.error).toBe('Error parsing query - Could not resolve property nope on Connection');
    for (const q of ['page=0', 'pageSize=5001', 'pageSize=x']) expectErrorShape(await t.call('GET', `/companies/${cid}/connections?${q}`), 400);
    const nf = expectErrorShape(await t.call('GET', `/companies/${MISSING}/connections`), 404);
    expect(nf.error).toBe(`No company was found with ID ${MISSING}`);
    expectErrorShape(await t.call('GET', '/companies/123/connections'), 400);
  });

  it("404 for a missing connection and for another company's connection", async () => {
    const a = await company('A');
    const b = await company('B');
    const conn = await connection(a);
    const paths = (cid: string, id: string) => `/companies/${cid}/connections/${id}`;
    for (const [method, suffix, body] of [
      ['GET', '', undefined],
      ['DELETE', '', undefined],
      ['PATCH', '', { status: 'Unlinked' }],
      ['PUT', '/authorization', {}],
    ] as const) {
      for (const id of [conn.id, MISSING]) {
        const err = expectErrorShape(await t.call(method, paths(b, id) + suffix, body), 404);
        expect(err.error).toBe(`Data connection ${id} not found`);
        expect(err.service).toBe('PublicApi');
      }
      // unknown company comes first (outer path segment)
      const nf = expectErrorShape(await t.call(method, paths(MISSING, conn.id) + suffix, body), 404);
      expect(nf.error).toBe(`No company was found with ID ${MISSING}`);
      const bad = expectErrorShape(await t.call(method, paths(a, 'not-a-uuid') + suffix, body), 400);
      expect(bad.validation.errors[0].itemId).toBe('connectionId');
    }
    // still there, untouched
    const got = await t.call('GET', paths(a, conn.id));
    expect(got.json().status).toBe('PendingAuth');
  });

  it('links through a plain GET of the linkUrl, redirecting to the profile redirectUrl', async () => {
    const put = await t.call('PUT', '/profile', { name: 'Syncline Test', redirectUrl: 'https://app.example/done/{companyId}?conn={connectionId}' });
    expect(put.statusCode).toBe(200);
    const cid = await company('Linker');
    const conn = await connection(cid);
    t.clock.advance(60_000);
    const linkedAt = t.clock.now().toISOString();
    const res = await openLink(conn.linkUrl);
    expect(res.statusCode).toBe(302);
    expect(res.headers.location).toBe(`https://app.example/done/${cid}?conn=${conn.id}`);
    const got = (await t.call('GET', `/companies/${cid}/connections/${conn.id}`)).json();
    expect(got.status).toBe('Linked');
    expect(got.created).toBe(conn.created);
    const h = await history(conn.id);
    expect(h.map((r) => [r.from_status, r.to_status, r.changed_at])).toEqual([
      [null, 'PendingAuth', conn.created],
      ['PendingAuth', 'Linked', linkedAt],
    ]);
    // Opening it again keeps it Linked and records nothing new: the page says it is already connected.
    const again = await openLink(conn.linkUrl);
    expect(again.statusCode).toBe(409);
    expect(again.body).toContain('Already connected');
    expect((await history(conn.id)).length).toBe(2);
    // Unknown ids on the link page
    expectErrorShape(await t.app.inject({ method: 'GET', url: `/link/companies/${cid}/connections/${MISSING}/start` }), 404);
    expectErrorShape(await t.app.inject({ method: 'GET', url: `/link/companies/${MISSING}/connections/${conn.id}/start` }), 404);
  });

  it('the company Link page lists enabled integrations; choosing one creates or reuses a PendingAuth connection', async () => {
    const created = (await t.call('POST', '/companies', { name: 'Browser Co' })).json();
    const cid = created.id;
    const pageRes = await t.app.inject({ method: 'GET', url: created.redirect.slice(BASE_URL.length) });
    expect(pageRes.statusCode).toBe(200);
    expect(pageRes.headers['content-type']).toMatch(/^text\/html/);
    expect(pageRes.body).toContain(`/link/companies/${cid}/integrations/mqjo`);
    expect(pageRes.body).not.toContain(`/link/companies/${cid}/integrations/gbol`);
    const choose = () => t.app.inject({ method: 'GET', url: `/link/companies/${cid}/integrations/mqjo` });
    const first = await choose();
    expect(first.statusCode).toBe(302);
    const m = new RegExp(`^/link/companies/${cid}/connections/([0-9a-f-]{36})/start$`).exec(String(first.headers.location));
    expect(m).not.toBeNull();
    const connId = m![1]!;
    expect((await t.call('GET', `/companies/${cid}/connections/${connId}`)).json().status).toBe('PendingAuth');
    // Choosing again reuses the PendingAuth connection.
    expect((await choose()).headers.location).toBe(first.headers.location);
    expect((await t.call('GET', `/companies/${cid}/connections`)).json().totalResults).toBe(1);
    const started = await t.app.inject({ method: 'GET', url: String(first.headers.location) });
    expect(started.statusCode).toBe(302);
    expect((await t.call('GET', `/companies/${cid}/connections/${connId}`)).json().status).toBe('Linked');
    // Once it is Linked, choosing the integration again starts a new connection.
    const next = await choose();
    expect(next.headers.location).not.toBe(first.headers.location);
    expect((await t.call('GET', `/companies/${cid}/connections`)).json().totalResults).toBe(2);
    // Disabled or unknown integrations, unknown companies
    expectErrorShape(await t.app.inject({ method: 'GET', url: `/link/companies/${cid}/integrations/gbol` }), 404);
    expectErrorShape(await t.app.inject({ method: 'GET', url: `/link/companies/${cid}/integrations/zzzz` }), 404);
    expectErrorShape(await t.app.inject({ method: 'GET', url: `/link/companies/${MISSING}` }), 404);
    expectErrorShape(await t.app.inject({ method: 'GET', url: `/link/companies/${MISSING}/integrations/mqjo` }), 404);
    expectErrorShape(await t.app.inject({ method: 'GET', url: '/link/companies/not-a-uuid' }), 400);
  });

  it('the default redirect is the built-in completion page', async () => {
    const t2 = await createTestApp(dialect);
    try {
      const cid = (await t2.call('POST', '/companies', { name: 'Default' })).json().id;
      const conn = (await t2.call('POST', `/companies/${cid}/connections`, { platformKey: 'mqjo' })).json();
      const res = await t2.app.inject({ method: 'GET', url: conn.linkUrl.slice(BASE_URL.length) });
      expect(res.statusCode).toBe(302);
      // The ids are added so the page can show the first pull's progress (src/api/link-progress.test.ts).
      expect(res.headers.location).toBe(`${BASE_URL}/link/complete?companyId=${cid}&connectionId=${conn.id}`);
      const page = await t2.app.inject({ method: 'GET', url: '/link/complete' });
      expect(page.statusCode).toBe(200);
      expect(page.headers['content-type']).toMatch(/^text\/html/);
    } finally {
      await t2.close();
    }
  });

  it('unlinks only a Linked connection; twice or other statuses are 400', async () => {
    const cid = await company('Unlinker');
    const conn = await connection(cid);
    const url = `/companies/${cid}/connections/${conn.id}`;
    // PendingAuth cannot be unlinked
    const pending = expectErrorShape(await t.call('PATCH', url, { status: 'Unlinked' }), 400);
    expect(pending.error).toMatch(/Linked/);
    await openLink(conn.linkUrl);
    for (const status of ['Linked', 'PendingAuth', 'Deauthorized']) {
      const e = expectErrorShape(await t.call('PATCH', url, { status }), 400);
      expect(e.validation.errors[0].itemId).toBe('status');
    }
    for (const body of [{ status: 'Bogus' }, {}, { status: 'Unlinked', other: 1 }, { status: 'unlinked' }]) {
      expectErrorShape(await t.call('PATCH', url, body), 400);
    }
    expect((await t.call('GET', url)).json().status).toBe('Linked');
    t.clock.advance(5_000);
    const res = await t.call('PATCH', url, { status: 'Unlinked' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ id: conn.id, status: 'Unlinked' });
    const twice = expectErrorShape(await t.call('PATCH', url, { status: 'Unlinked' }), 400);
    expect(twice.service).toBe('ClientsApi');
    expect((await t.call('GET', url)).json().status).toBe('Unlinked');
    const h = await history(conn.id);
    expect(h.map((r) => r.to_status)).toEqual(['PendingAuth', 'Linked', 'Unlinked']);
    expect(h[2]!.changed_at).toBe(t.clock.now().toISOString());
    // The browser Link page may not undo the client's unlink (issue 12 item 4); PUT …/authorization can.
    expect((await openLink(conn.linkUrl)).statusCode).toBe(409);
    expect((await t.call('GET', url)).json().status).toBe('Unlinked');
    expect((await t.call('PUT', `${url}/authorization`, {})).json().status).toBe('Linked');
  });

  it('deletes with 200 and an empty body', async () => {
    const cid = await company('Deleter');
    const keep = await connection(cid);
    const conn = await connection(cid);
    await openLink(conn.linkUrl);
    const res = await t.call('DELETE', `/companies/${cid}/connections/${conn.id}`);
    expect(res.statusCode).toBe(200);
    expect(res.body).toBe('');
    expectErrorShape(await t.call('GET', `/companies/${cid}/connections/${conn.id}`), 404);
    const again = expectErrorShape(await t.call('DELETE', `/companies/${cid}/connections/${conn.id}`), 404);
    expect(again.error).toBe(`Data connection ${conn.id} not found`);
    const list = (await t.call('GET', `/companies/${cid}/connections`)).json();
    expect(list.results.map((c: any) => c.id)).toEqual([keep.id]);
    expect(await history(conn.id)).toEqual([]);
  });

  it('PUT authorization: Sandbox links with {}, unknown keys 400, credentials never returned', async () => {
    const cid = await company('Authz');
    const conn = await connection(cid);
    const url = `/companies/${cid}/connections/${conn.id}/authorization`;
    const unknown = expectErrorShape(await t.call('PUT', url, { refreshToken: 'x' }), 400);
    expect(unknown.validation.errors.map((e: any) => e.itemId)).toContain('refreshToken');
    expectErrorShape(await t.call('PUT', url, { a: 1 }), 400);
    expectErrorShape(await t.call('PUT', url, ['x']), 400);
    expectErrorShape(await t.call('PUT', url, '{', { 'content-type': 'application/json' }), 400);
    expect((await t.call('GET', `/companies/${cid}/connections/${conn.id}`)).json().status).toBe('PendingAuth');
    const res = await t.call('PUT', url, {});
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ id: conn.id, status: 'Linked' });
    expect((await history(conn.id)).map((r) => r.to_status)).toEqual(['PendingAuth', 'Linked']);
    // No body at all (the SDK's requestBody left out) means no credentials, as {} does.
    const conn2 = await connection(cid);
    const bare = await t.call('PUT', `/companies/${cid}/connections/${conn2.id}/authorization`, undefined, { 'content-type': 'application/json' });
    expect(bare.statusCode).toBe(200);
    expect(bare.json().status).toBe('Linked');
    // Linked again with {} is fine and changes nothing
    expect((await t.call('PUT', url, {})).json().status).toBe('Linked');
    expect((await history(conn.id)).length).toBe(2);
  });

  it('credentials are sealed at rest and appear in no response', async () => {
    const cid = await company('Sealed');
    const conn = await connection(cid);
    const row = await t.ctx.repos.connections.get(cid, conn.id);
    const secret = 'refresh-token-PLAINTEXT-0123456789';
    await linkConnection(t.ctx, row!, { credentials: { refreshToken: secret, tenantId: 'tenant-PLAINTEXT' } }, 'test');
    const stored = await t.store.db.selectFrom('connections').select('credentials').where('id', '=', conn.id).executeTakeFirstOrThrow();
    expect(stored.credentials).toBeTruthy();
    expect(stored.credentials).not.toContain(secret);
    expect(stored.credentials).not.toContain('tenant-PLAINTEXT');
    expect(t.ctx.secretBox.openJson(stored.credentials!)).toEqual({ refreshToken: secret, tenantId: 'tenant-PLAINTEXT' });
    for (const url of [`/companies/${cid}/connections/${conn.id}`, `/companies/${cid}/connections`, `/companies/${cid}`, '/companies?pageSize=5000']) {
      const res = await t.call('GET', url);
      expect(res.statusCode).toBe(200);
      expect(res.body).not.toContain(secret);
      expect(res.body).not.toContain(stored.credentials!);
      expect(res.body).not.toContain('credentials');
    }
    const unlink = await t.call('PATCH', `/companies/${cid}/connections/${conn.id}`, { status: 'Unlinked' });
    expect(unlink.statusCode).toBe(200);
    expect(unlink.body).not.toContain(secret);
    // Unlinking keeps the tokens so the connection can be re-linked later.
    const after = await t.store.db.selectFrom('connections').select('credentials').where('id', '=', conn.id).executeTakeFirstOrThrow();
    expect(after.credentials).toBe(stored.credentials);
  });

  it('company GET embeds dataConnections ordered by created', async () => {
    const cid = await company('Embedder');
    const made: Record<string, any>[] = [];
    for (let i = 0; i < 3; i++) {
      t.clock.advance(1000);
      made.push(await connection(cid));
    }
    await openLink(made[1]!.linkUrl);
    const c = (await t.call('GET', `/companies/${cid}`)).json();
    expect(c.dataConnections.map((x: any) => x.id)).toEqual(made.map((x) => x.id));
    expect(c.dataConnections[1].status).toBe('Linked');
    expect(c.dataConnections[0]).toEqual((await t.call('GET', `/companies/${cid}/connections/${made[0]!.id}`)).json());
    const listed = (await t.call('GET', '/companies?pageSize=5000')).json().results.find((x: any) => x.id === cid);
    expect(listed.dataConnections.map((x: any) => x.id)).toEqual(made.map((x) => x.id));
  });
});

describe.each(DIALECTS)('connections API with Xero configured [%s]', (dialect) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(dialect, { xero: true });
  });
  afterAll(async () => t.close());

  it('creates a Xero connection and validates authorization keys', async () => {
    const cid = (await t.call('POST', '/companies', { name: 'Xero Co' })).json().id;
    const res = await t.call('POST', `/companies/${cid}/connections`, { platformKey: 'gbol' });
    expect(res.statusCode).toBe(200);
    const conn = res.json();
    expect(conn).toMatchObject({ integrationKey: 'gbol', platformName: 'Xero', status: 'PendingAuth' });
    // QuickBooks is still not configured
    expectErrorShape(await t.call('POST', `/companies/${cid}/connections`, { platformKey: 'qhyg' }), 404);
    const url = `/companies/${cid}/connections/${conn.id}/authorization`;
    for (const [body, missing] of [
      [undefined, ['refreshToken', 'tenantId']],
      [{}, ['refreshToken', 'tenantId']],
      [{ refreshToken: 'r' }, ['tenantId']],
      [{ tenantId: 't' }, ['refreshToken']],
      [{ refreshToken: '', tenantId: 't' }, ['refreshToken']],
    ] as const) {
      const e = expectErrorShape(await t.call('PUT', url, body, { 'content-type': 'application/json' }), 400);
      expect(e.error).toBe('Error processing request - not valid.');
      expect(e.validation.errors.map((x: any) => x.itemId).sort()).toEqual([...missing].sort());
    }
    const extra = expectErrorShape(await t.call('PUT', url, { refreshToken: 'r', tenantId: 't', realmId: 'q' }), 400);
    expect(extra.validation.errors.map((x: any) => x.itemId)).toEqual(['realmId']);
    // Key names are case-sensitive
    expectErrorShape(await t.call('PUT', url, { RefreshToken: 'r', tenantId: 't' }), 400);
    const got = (await t.call('GET', `/companies/${cid}/connections/${conn.id}`)).json();
    expect(got.status).toBe('PendingAuth');
    const stored = await t.store.db.selectFrom('connections').select('credentials').where('id', '=', conn.id).executeTakeFirstOrThrow();
    expect(stored.credentials).toBeNull();
  });
});

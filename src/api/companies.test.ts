import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../test/support/stores.js';
import { BASE_URL, createTestApp, expectErrorShape, type TestApp } from '../../test/support/app.js';

describe.each(DIALECTS)('companies API [%s]', (dialect) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(dialect);
  });
  afterAll(async () => t.close());

  it('creates a company, removing characters outside the name pattern', async () => {
    const res = await t.call('POST', '/companies', { name: 'Company (Codat[1])', description: 'd', tags: { region: 'uk' } });
    expect(res.statusCode).toBe(200);
    const c = res.json();
    expect(c.name).toBe('Company Codat1');
    expect(c.description).toBe('d');
    expect(c.tags).toEqual({ region: 'uk' });
    expect(c.redirect).toBe(`${BASE_URL}/link/companies/${c.id}`);
    expect(c.created).toBe('2026-03-01T09:00:00.000Z');
    expect(c.products).toEqual([]);
    expect(c.createdByUserName).toBeNull();
    expect(c.dataConnections).toEqual([]);
    expect(c).not.toHaveProperty('lastSync');
    const got = await t.call('GET', `/companies/${c.id}`);
    expect(got.json()).toEqual(c);
    // an uppercase rendering of the id names the same company
    expect((await t.call('GET', `/companies/${c.id.toUpperCase()}`)).json()).toEqual(c);
  });

  it('omits description and tags when unset', async () => {
    const c = (await t.call('POST', '/companies', { name: 'Plain' })).json();
    expect(c).not.toHaveProperty('description');
    expect(c).not.toHaveProperty('tags');
  });

  it('rejects bad bodies with 400 ErrorMessage', async () => {
    const cases: [unknown, string][] = [
      [{ name: '((()))' }, 'name'],
      [{ name: '' }, 'name'],
      [{}, 'name'],
      [{ name: 'A', extra: 1 }, 'extra'],
      [{ name: 5 }, 'name'],
      [{ name: 'A', tags: { k: 5 } }, 'tags.k'],
      [{ name: 'A', tags: Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`k${i}`, 'v'])) }, 'tags'],
      [{ name: 'A', tags: { ['x'.repeat(28)]: 'v' } }, `tags.${'x'.repeat(28)}`],
      [{ name: 'A', tags: { k: 'v'.repeat(101) } }, 'tags.k'],
    ];
    for (const [body, itemId] of cases) {
      const res = await t.call('POST', '/companies', body);
      const err = expectErrorShape(res, 400);
      expect(err.error).toBe('Error processing request - not valid.');
      expect(err.validation.errors.map((e: any) => e.itemId)).toContain(itemId);
    }
  });

  it('rejects malformed JSON and non-JSON bodies with 400, and oversized bodies with 413', async () => {
    expectErrorShape(await t.call('POST', '/companies', '{"name":', { 'content-type': 'application/json' }), 400);
    expectErrorShape(await t.call('POST', '/companies', 'name=x', { 'content-type': 'text/plain' }), 400);
    expectErrorShape(await t.call('POST', '/companies', '', { 'content-type': 'application/json' }), 400);
    const big = JSON.stringify({ name: 'A', description: 'x'.repeat(1024 * 1024 + 10) });
    const res = await t.call('POST', '/companies', big, { 'content-type': 'application/json' });
    expect(expectErrorShape(res, 413).error).toBe('Request body too large.');
  });

  it('replaces with PUT (fields left out are cleared) and updates with PATCH', async () => {
    const c = (await t.call('POST', '/companies', { name: 'Orig', description: 'desc', tags: { a: '1', b: '2' } })).json();
    const put = (await t.call('PUT', `/companies/${c.id}`, { name: 'Replaced' })).json();
    expect(put.name).toBe('Replaced');
    expect(put).not.toHaveProperty('description');
    expect(put).not.toHaveProperty('tags');
    await t.call('PUT', `/companies/${c.id}`, { name: 'R', description: 'x', tags: { a: '1' } });
    const patch1 = (await t.call('PATCH', `/companies/${c.id}`, { description: 'new', name: null })).json();
    expect(patch1).toMatchObject({ name: 'R', description: 'new', tags: { a: '1' } });
    const patch2 = (await t.call('PATCH', `/companies/${c.id}`, { tags: {} })).json();
    expect(patch2).not.toHaveProperty('tags');
    expect(patch2.description).toBe('new');
    const patch3 = (await t.call('PATCH', `/companies/${c.id}`, { tags: { z: 'y' } })).json();
    expect(patch3.tags).toEqual({ z: 'y' });
    // The SDK sends no body at all when companyUpdateRequest is left out: nothing changes.
    const bare = await t.call('PATCH', `/companies/${c.id}`, undefined, { 'content-type': 'application/json' });
    expect(bare.statusCode).toBe(200);
    expect(bare.json()).toEqual(patch3);
  });

  it('PUT/PATCH/GET/DELETE failure paths', async () => {
    const missing = '00000000-0000-4000-8000-000000000000';
    expect(expectErrorShape(await t.call('GET', `/companies/${missing}`), 404).error).toBe(`No company was found with ID ${missing}`);
    expectErrorShape(await t.call('PUT', `/companies/${missing}`, { name: 'x' }), 404);
    expectErrorShape(await t.call('PATCH', `/companies/${missing}`, { name: 'x' }), 404);
    expectErrorShape(await t.call('DELETE', `/companies/${missing}`), 404);
    const bad = expectErrorShape(await t.call('GET', '/companies/not-a-uuid'), 400);
    expect(bad.validation.errors[0].itemId).toBe('companyId');
    const c = (await t.call('POST', '/companies', { name: 'X' })).json();
    expectErrorShape(await t.call('PUT', `/companies/${c.id}`, { description: 'no name' }), 400);
    expectErrorShape(await t.call('PATCH', `/companies/${c.id}`, { name: '[]' }), 400);
    expectErrorShape(await t.call('PATCH', `/companies/${c.id}`, { unknown: true }), 400);
  });

  it('deletes a company with its connections', async () => {
    const c = (await t.call('POST', '/companies', { name: 'Doomed' })).json();
    const conn = (await t.call('POST', `/companies/${c.id}/connections`, { platformKey: 'mqjo' })).json();
    const del = await t.call('DELETE', `/companies/${c.id}`);
    expect(del.statusCode).toBe(204);
    expect(del.body).toBe('');
    expectErrorShape(await t.call('GET', `/companies/${c.id}`), 404);
    const left = await t.store.db.selectFrom('connections').select('id').where('id', '=', conn.id).execute();
    expect(left).toEqual([]);
  });

  it('lists with paging, _links and orderBy; filters with query and tags', async () => {
    const names = ['Charlie', 'Alpha', 'Bravo'];
    for (const name of names) {
      t.clock.advance(1000);
      await t.call('POST', '/companies', { name: `List ${name}`, tags: { group: 'list' } });
    }
    const all = (await t.call('GET', '/companies?pageSize=5000')).json();
    const total = all.totalResults;
    expect(all.results.length).toBe(total);
    const p2 = (await t.call('GET', '/companies?page=2&pageSize=2')).json();
    expect(p2.pageNumber).toBe(2);
    expect(p2.pageSize).toBe(2);
    expect(p2._links.self.href).toBe('/companies');
    expect(p2._links.current.href).toBe('/companies?page=2&pageSize=2');
    expect(p2._links.previous.href).toBe('/companies?page=1&pageSize=2');
    if (total > 4) expect(p2._links.next.href).toBe('/companies?page=3&pageSize=2');
    const past = (await t.call('GET', '/companies?page=999')).json();
    expect(past.results).toEqual([]);
    expect(past.totalResults).toBe(total);
    const byName = (await t.call('GET', '/companies?orderBy=-name&pageSize=5000')).json();
    const sorted = [...byName.results.map((c: any) => c.name)].sort().reverse();
    expect(byName.results.map((c: any) => c.name)).toEqual(sorted);
    expect(byName._links.current.href).toBe('/companies?page=1&pageSize=5000&orderBy=-name');
    // default order: created ascending
    const created = all.results.map((c: any) => c.created);
    expect([...created].sort()).toEqual(created);

    for (const q of ['page=0', 'pageSize=0', 'pageSize=5001', 'page=abc', 'pageSize=1.5']) {
      const e = expectErrorShape(await t.call('GET', `/companies?${q}`), 400);
      expect(e.error).toBe('Error processing request - not valid.');
      expect(e.validation.errors[0].itemId).toBe(q.split('=')[0]);
    }
    const ob = expectErrorShape(await t.call('GET', '/companies?orderBy=nope'), 400);
    expect(ob.error).toBe('Error parsing query - Could not resolve property nope on Company');
    const q = expectErrorShape(await t.call('GET', '/companies?query=name%3D'), 400);
    expect(q.error).toBe('Error parsing query - Malformed query.');
    expect(expectErrorShape(await t.call('GET', '/companies?query=nope%3D1'), 400).error).toBe('Error parsing query - Could not resolve property nope on Company');
    // the query language and tags filter before paging; totalResults counts what matched
    const listed = (await t.call('GET', `/companies?query=${encodeURIComponent('name~list')}&orderBy=name`)).json();
    expect(listed.results.map((c: any) => c.name)).toEqual(['List Alpha', 'List Bravo', 'List Charlie']);
    expect(listed.totalResults).toBe(3);
    const tagged = (await t.call('GET', `/companies?tags=${encodeURIComponent('group=list')}&orderby=-name`)).json();
    expect(tagged.results.map((c: any) => c.name)).toEqual(['List Charlie', 'List Bravo', 'List Alpha']);
    expect(tagged._links.current.href).toBe('/companies?page=1&pageSize=100&orderBy=-name&tags=group%3Dlist');
    const none = (await t.call('GET', `/companies?query=${encodeURIComponent('dataConnections.status=Linked&&name~list')}`)).json();
    expect(none.totalResults).toBe(0);
  });
});

/**
 * The Link pages after linking: the completion page shows the pull the link started, per data type, until it ends
 * (running, all done, some types failed), from the same view its script polls as JSON; and every Link page carries the
 * profile's branding (name, logo, icon, the brandColor extension made AA-safe). The flow itself with a real worker and
 * Chromium is in test/browser/dashboard.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../test/support/stores.js';
import { BASE_URL, createTestApp, expectErrorShape, type TestApp } from '../../test/support/app.js';
import { contrast } from '../domain/brand-colour.js';
import { dataTypeLabel } from './link-progress.js';

const MISSING = '00000000-0000-4000-8000-000000000000';

describe.each(DIALECTS)('Link pages: first-pull progress and branding [%s]', (dialect) => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(dialect);
  });
  afterAll(async () => t.close());

  const page = (url: string) => t.app.inject({ method: 'GET', url });
  async function linked(name: string) {
    const cid = (await t.call('POST', '/companies', { name })).json().id as string;
    const conn = (await t.call('POST', `/companies/${cid}/connections`, { platformKey: 'mqjo' })).json();
    const res = await page(conn.linkUrl.slice(BASE_URL.length));
    expect(res.statusCode).toBe(302);
    return { cid, connId: conn.id as string, location: res.headers.location as string };
  }
  const setStatus = (connId: string, status: string, types?: string[]) => {
    let q = t.store.db.updateTable('datasets').set({ status, progress: 100, completed: t.clock.now().toISOString() }).where('connection_id', '=', connId);
    if (types) q = q.where('data_type', 'in', types);
    return q.execute();
  };

  it('after the link, the completion page shows each data type of the first pull until it ends, then its outcome', async () => {
    const { cid, connId, location } = await linked('Progress Ltd');
    expect(location).toBe(`${BASE_URL}/link/complete?companyId=${cid}&connectionId=${connId}`);
    const queued = await t.store.db.selectFrom('datasets').select(['data_type', 'status']).where('connection_id', '=', connId).execute();
    expect(queued.length).toBeGreaterThan(5);

    const running = await page(location.slice(BASE_URL.length));
    expect(running.statusCode).toBe(200);
    expect(running.headers['content-type']).toMatch(/^text\/html/);
    expect(running.headers['cache-control']).toBe('no-store');
    const html = running.body;
    expect(html).toContain('<h1 id="title">Reading your data</h1>');
    for (const d of queued) expect(html).toContain(`data-type="${d.data_type}" data-status="${d.status}"`);
    expect(html).toContain(`aria-labelledby="l-invoices"`);
    expect(html).toMatch(/role="status" aria-live="polite">0 of \d+ data types read\.</);
    // Its one script runs under the page's nonce only, and polls the JSON view
    const nonce = /script-src 'nonce-([^']+)'/.exec(running.headers['content-security-policy'] as string)![1]!;
    expect(html).toContain(`<script nonce="${nonce}">`);
    expect(html).toContain(`/link/companies/${cid}/connections/${connId}/progress`);

    const json = async () => {
      const r = await page(`/link/companies/${cid}/connections/${connId}/progress`);
      expect(r.statusCode).toBe(200);
      return r.json();
    };
    let view = await json();
    expect(view).toMatchObject({ state: 'running', headline: 'Reading your data', tone: 'info' });
    expect(view.types.map((x: any) => x.dataType).sort()).toEqual(queued.map((d) => d.data_type).sort());
    expect(view.types.find((x: any) => x.dataType === 'invoices')).toMatchObject({ label: 'Invoices', status: 'Queued', text: 'Waiting', progress: 0 });

    // Part-way: invoices reading at 40 %, the rest still queued
    await t.store.db.updateTable('datasets').set({ status: 'Fetching', progress: 40 }).where('connection_id', '=', connId).where('data_type', '=', 'invoices').execute();
    view = await json();
    expect(view.types.find((x: any) => x.dataType === 'invoices')).toMatchObject({ status: 'Fetching', text: 'Reading… 40%', tone: 'info' });

    // Everything read: all done, no script any more
    await setStatus(connId, 'Complete');
    view = await json();
    expect(view).toMatchObject({ state: 'complete', headline: 'All done', tone: 'ok' });
    expect(view.summary).toMatch(new RegExp(`\\(${queued.length} data types\\)`));
    const done = await page(location.slice(BASE_URL.length));
    expect(done.body).toContain('<h1 id="title">All done</h1>');
    expect(done.body).not.toContain('<script');

    // Some types failed: a clear failure outcome naming them, without the platform's error text
    await t.store.db.updateTable('datasets').set({ error_message: 'secret internal detail' }).where('connection_id', '=', connId).execute();
    await setStatus(connId, 'FetchError', ['invoices']);
    await setStatus(connId, 'AuthError', ['bills']);
    view = await json();
    expect(view).toMatchObject({ state: 'failed', headline: 'Connected, but some data could not be read', tone: 'bad' });
    expect(view.summary).toMatch(/^2 of \d+ data types could not be read \((invoices, bills|bills, invoices)\)/);
    expect(view.types.find((x: any) => x.dataType === 'bills')).toMatchObject({ text: 'Access was refused', tone: 'bad' });
    expect(JSON.stringify(view)).not.toContain('secret internal detail');
    expect((await page(location.slice(BASE_URL.length))).body).not.toContain('secret internal detail');
  });

  it('unknown, malformed or not-linked connections get an explanatory page or an error, never a 500', async () => {
    const { cid, connId } = await linked('Other Ltd');
    const other = (await t.call('POST', '/companies', { name: 'Not Mine' })).json().id as string;
    // a connection of another company is not found
    const wrong = await page(`/link/complete?companyId=${other}&connectionId=${connId}`);
    expect(wrong.statusCode).toBe(404);
    expect(wrong.body).toContain('This connection was not found');
    expectErrorShape(await page(`/link/companies/${other}/connections/${connId}/progress`), 404);
    expectErrorShape(await page(`/link/companies/${cid}/connections/${MISSING}/progress`), 404);
    expectErrorShape(await page(`/link/companies/${cid}/connections/not-a-uuid/progress`), 400);
    expectErrorShape(await page(`/link/complete?companyId=${cid}&connectionId=nope`), 400);
    // only one id: the plain confirmation
    expect((await page(`/link/complete?companyId=${cid}`)).body).toContain('Your accounting software is connected');
    // not linked yet / unlinked
    const pending = (await t.call('POST', `/companies/${cid}/connections`, { platformKey: 'mqjo' })).json().id;
    const p = await page(`/link/complete?companyId=${cid}&connectionId=${pending}`);
    expect(p.statusCode).toBe(409);
    expect(p.body).toContain('not authorised yet');
    expect((await t.call('PATCH', `/companies/${cid}/connections/${connId}`, { status: 'Unlinked' })).statusCode).toBe(200);
    const u = await page(`/link/complete?companyId=${cid}&connectionId=${connId}`);
    expect(u.statusCode).toBe(409);
    expect(u.body).toContain('The application disconnected');
  });

  it("every Link page carries the profile's name, logo, icon and brand colour (made AA-safe); unsafe URLs are dropped", async () => {
    const before = (await t.call('GET', '/profile')).json();
    try {
      expectErrorShape(await t.call('PUT', '/profile', { ...before, brandColor: 'red' }), 400);
      expectErrorShape(await t.call('PUT', '/profile', { ...before, brandColor: '#13b5e' }), 400);
      const put = await t.call('PUT', '/profile', { ...before, name: 'Lendly <Capital>', brandColor: '#13B5EA', logoUrl: 'https://cdn.example.com/lendly.png', iconUrl: 'javascript:alert(1)' });
      expect(put.statusCode).toBe(200);
      expect(put.json().brandColor).toBe('#13B5EA');
      expect((await t.call('GET', '/profile')).json().brandColor).toBe('#13B5EA');

      const cid = (await t.call('POST', '/companies', { name: 'Branded Co' })).json().id;
      const choose = await page(`/link/companies/${cid}`);
      expect(choose.statusCode).toBe(200);
      const html = choose.body;
      expect(html).toContain('<img src="https://cdn.example.com/lendly.png" alt="Lendly &#60;Capital&#62;">');
      expect(html).toContain('<strong>Lendly &#60;Capital&#62;</strong> asks for read access');
      expect(html).toContain('<title>Connect Branded Co&#39;s accounting software · Lendly &#60;Capital&#62;</title>');
      expect(html).not.toContain('javascript:');
      // each platform with its own mark, served from this origin
      expect(html).toMatch(/<a class="i" href="\/link\/companies\/[^"]+\/integrations\/mqjo"><img src="\/branding\/mqjo\/icon.svg" alt=""/);
      const accent = /--p:(#[0-9a-f]{6})/.exec(html)![1]!;
      expect(accent).not.toBe('#13b5ea'); // white on Xero-like cyan is 2.4:1: darkened
      expect(contrast(accent, '#ffffff')).toBeGreaterThanOrEqual(4.5);
      expect(contrast(accent, '#f6f7f9')).toBeGreaterThanOrEqual(4.5);
      // message pages too
      const msg = await page(`/link/complete`);
      expect(msg.body).toContain(`--p:${accent}`);
      expect(msg.body).toContain('alt="Lendly &#60;Capital&#62;"');
    } finally {
      await t.call('PUT', '/profile', before);
    }
    // Without a profile logo: the name as text, the default accent
    const plain = await page('/link/complete');
    expect(plain.body).toContain('<div class="brand">Syncline Test</div>');
    expect(plain.body).toContain('--p:#1d4ed8');
  });

  it('labels data types in words', () => {
    expect(['invoices', 'chartOfAccounts', 'company', 'billCreditNotes', 'banking-accounts'].map(dataTypeLabel)).toEqual([
      'Invoices',
      'Chart of accounts',
      'Company information',
      'Bill credit notes',
      'Banking accounts',
    ]);
  });
});

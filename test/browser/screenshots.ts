/**
 * `npm run screenshots`: every dashboard page and the Link pages at 1280×800 and 390×844, into docs/screenshots/, from
 * a real server with a linked Sandbox company (the same harness as the browser tests).
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { ensureUiBuilt, launchBrowser, startStack, until } from './harness.js';
import { ROOT } from '../support/cli.js';

const OUT = path.join(ROOT, 'docs/screenshots');
mkdirSync(OUT, { recursive: true });
await ensureUiBuilt();
const stack = await startStack({ invoices: 400 });
const browser = await launchBrowser();
try {
  await stack.call('POST', '/webhooks', { url: stack.receiverUrl, eventTypes: ['read.completed', 'connection.connected'] });
  // The profile's branding shows on the Link pages and in the dashboard (name, brandColor).
  const profile = (await stack.call('GET', '/profile')).body;
  await stack.call('PUT', '/profile', { ...profile, name: 'Acme Lending', brandColor: '#0e7490' });
  const names = ['Acme Trading Ltd', 'Northwind Supplies', 'Bluebell Bakery'];
  const ids: string[] = [];
  const connIds: string[] = [];
  for (const name of names) {
    const c = (await stack.call('POST', '/companies', { name })).body;
    ids.push(c.id);
    const conn = (await stack.call('POST', `/companies/${c.id}/connections`, { platformKey: 'mqjo' })).body;
    connIds.push(conn.id);
    if (name !== 'Bluebell Bakery') await fetch(`${stack.url}/link/companies/${c.id}/connections/${conn.id}/start`, { redirect: 'manual' });
  }
  const id = ids[0]!;
  await until(async () => {
    const s = (await stack.call('GET', `/companies/${id}/dataStatus`)).body;
    return Object.values(s).every((t: any) => t.currentStatus === 'Complete' || t.currentStatus === 'NotSupported') || undefined;
  }, 'the first pull', 120_000);
  const failedTenant = ((await stack.admin('/tenants')) as any);
  const tenantId = (failedTenant.tenants ?? failedTenant)[0].tenantId as string;
  await stack.admin(`/tenants/${tenantId}/faults`, { kind: 'truncate', count: null, path: 'payments' });
  await stack.call('POST', `/companies/${id}/data/queue/payments`);
  await until(async () => /Error$/.test((await stack.call('GET', `/companies/${id}/dataStatus`)).body.payments.currentStatus) || undefined, 'a failed pull', 60_000);
  await stack.admin(`/tenants/${tenantId}/faults`, undefined, 'DELETE');
  const third = ids[2]!;

  const pages: [string, string, string?][] = [
    ['link-choose', `/link/companies/${third}`],
    ['link-progress', `/link/complete?companyId=${id}&connectionId=${connIds[0]}`, 'li[data-type]'],
    ['sign-in', '/app'],
    ['companies', '/app/companies', 'table'],
    ['company', `/app/companies/${id}`, 'td.cell'],
    ['history', `/app/companies/${id}/history`, '.chart svg'],
    ['records', `/app/companies/${id}/records/invoices`, 'table.records tbody tr'],
    ['statement', `/app/companies/${id}/records/profitAndLoss`, 'table.statement tbody tr'],
    ['webhooks', '/app/webhooks', 'tr[data-event]'],
    ['operations', '/app/operations', '.stat'],
  ];
  for (const [w, h, suffix] of [[1280, 800, 'desktop'], [390, 844, 'phone']] as const) {
    const page = await browser.newPage({ viewport: { width: w, height: h } });
    for (const [name, p, wait] of pages) {
      if (name === 'companies') {
        await page.evaluate((k) => (globalThis as any).sessionStorage.setItem('syncline.apiKey', k), stack.apiKey);
      }
      await page.goto(stack.url + p);
      if (wait) await page.locator(wait).first().waitFor({ timeout: 30_000 });
      await page.waitForTimeout(300);
      await page.screenshot({ path: path.join(OUT, `${name}-${suffix}.png`) });
      process.stdout.write(`docs/screenshots/${name}-${suffix}.png\n`);
    }
    await page.close();
  }
} finally {
  await browser.close();
  await stack.close();
}

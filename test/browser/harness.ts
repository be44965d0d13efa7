/**
 * Browser-test harness: a real Syncline server (startServer, the wiring `syncline serve` runs: API, workers, scheduler,
 * webhook sender, on a free port, SQLite), the Sandbox platform on its own
 * loopback port (so tests reach its admin API to inject faults), a webhook receiver, and Debian's Chromium driven by
 * playwright-core. The dashboard bundle is built once if src/ui changed since the last build (Vite, a few seconds).
 */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { chromium, type Browser, type Page } from 'playwright-core';
import { build } from 'vite';
import { randomAlnum } from '../../src/lib/ids.js';
import { startSimulator, type Simulator } from '../../src/sim/server.js';
import { parseConfig } from '../../src/cli/config.js';
import { startServer, type Server } from '../../src/cli/server.js';
import { createLogger } from '../../src/lib/logger.js';
import { basic, ROOT } from '../support/cli.js';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Why browser tests cannot run here, or undefined. In CI a missing Chromium is a failure, never a skip. */
export function chromiumMissing(): string | undefined {
  if (existsSync(CHROMIUM)) return undefined;
  const why = `no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`;
  if (process.env.CI) throw new Error(`CI=true and ${why}: the browser tests must run in CI`);
  return why;
}

function newestMtime(dir: string): number {
  let max = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    max = Math.max(max, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return max;
}

/** Builds dist/ui when it is missing or older than any file under src/ui. */
export async function ensureUiBuilt(): Promise<void> {
  const index = path.join(ROOT, 'dist/ui/index.html');
  if (existsSync(index) && statSync(index).mtimeMs >= newestMtime(path.join(ROOT, 'src/ui'))) return;
  await build({ configFile: path.join(ROOT, 'src/ui/vite.config.ts'), logLevel: 'warn' });
}

export interface Delivery {
  headers: IncomingHttpHeaders;
  body: any;
}

export interface Stack {
  url: string;
  apiKey: string;
  sim: Simulator;
  server: Server;
  deliveries: Delivery[];
  receiverUrl: string;
  /** Authenticated JSON call to the API. */
  call(method: string, p: string, body?: unknown): Promise<{ status: number; body: any }>;
  admin(p: string, body?: unknown, method?: string): Promise<any>;
  close(): Promise<void>;
}

export async function startStack(opts: { invoices?: number } = {}): Promise<Stack> {
  const sim = await startSimulator({ host: '127.0.0.1', port: 0, defaultTenantSize: opts.invoices ?? 60, rateLimit: { perMinute: 100_000, concurrent: 10 } });
  const deliveries: Delivery[] = [];
  const receiver = createServer((req, res) => {
    let data = '';
    req.on('data', (c) => (data += c));
    req.on('end', () => {
      deliveries.push({ headers: req.headers, body: JSON.parse(data || 'null') });
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  const receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'syncline-browser-'));
  const apiKey = randomAlnum(40);
  // In-process rather than a child `syncline serve`: the same startServer, without compiling the sources again in
  // a second process (tens of seconds on a loaded machine).
  const config = parseConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    SYNCLINE_DATA_DIR: dataDir,
    SYNCLINE_API_KEY: apiKey,
    SYNCLINE_SANDBOX_URL: sim.url,
    SYNCLINE_WEBHOOKS_ALLOW_PRIVATE: 'true',
  });
  const server = await startServer(config, { logger: createLogger('silent') }).catch(async (e) => {
    await sim.close();
    receiver.close();
    throw e;
  });
  const url = server.url;
  const call = async (method: string, p: string, body?: unknown) => {
    const res = await fetch(url + p, {
      method,
      headers: { ...basic(apiKey), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
  const admin = async (p: string, body?: unknown, method = body === undefined ? 'GET' : 'POST') => {
    const res = await fetch(`${sim.url}/admin${p}`, { method, headers: body === undefined ? {} : { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    if (res.status >= 300) throw new Error(`admin ${p}: ${res.status} ${await res.text()}`);
    return res.status === 204 ? undefined : res.json();
  };
  return {
    url,
    apiKey,
    sim,
    server,
    deliveries,
    receiverUrl,
    call,
    admin,
    async close() {
      await server.close();
      await sim.close();
      await new Promise<void>((r) => receiver.close(() => r()));
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Chromium with a fresh profile: playwright's launch() creates a new temporary --user-data-dir for every browser and
 * removes it on close (it refuses the flag in `args` for that reason).
 */
export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[]; failureSummary?: string }[];
}

/** axe-core in the page: violations of impact serious or critical (WCAG 2.1 A/AA rules and best practices). */
export async function seriousViolations(page: Page): Promise<AxeViolation[]> {
  // Page functions run in the browser; the test project has no DOM types, hence globalThis.
  // Evaluated over the DevTools protocol rather than added as a <script>: the Link pages' CSP (nonce-only scripts)
  // would block an injected tag, and the pages are checked as they are served.
  if (!(await page.evaluate(() => 'axe' in globalThis))) await page.evaluate(`${AXE_SOURCE}\n;void 0`);
  const result = await page.evaluate(async () => {
    const g = globalThis as any;
    const r = await g.axe.run(g.document, { resultTypes: ['violations'] });
    return r.violations as AxeViolation[];
  });
  return result
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => ({ target: n.target, failureSummary: n.failureSummary })) }));
}

/** Polls `check` until it returns a truthy value or the deadline passes (waits for events; never asserts on time). */
export async function until<T>(check: () => Promise<T | undefined | false | null>, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

/**
 * Layout faults at the current viewport: the page scrolling sideways, an element reaching past the viewport's right
 * edge without a horizontally scrollable ancestor to hold it, or content cut off by an `overflow: hidden` box. Boxes
 * that truncate on purpose (text-overflow: ellipsis, line clamps, the visually-hidden .sr-only) do not count.
 */
export async function layoutFaults(page: Page): Promise<string[]> {
  // Source text rather than a function: tsx would wrap named helpers in __name(), which the page does not have.
  return page.evaluate(LAYOUT_FAULTS);
}

const LAYOUT_FAULTS = `(() => {
  const doc = document;
  const vw = doc.documentElement.clientWidth;
  const out = [];
  if (doc.documentElement.scrollWidth > vw) out.push('the page scrolls sideways (' + doc.documentElement.scrollWidth + ' > ' + vw + ' px)');
  const name = (el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (typeof el.className === 'string' && el.className.trim() ? '.' + el.className.trim().split(/\s+/).join('.') : '');
  const scrollsX = (el) => ['auto', 'scroll'].includes(getComputedStyle(el).overflowX);
  for (const el of doc.body.querySelectorAll('*')) {
    const cs = getComputedStyle(el);
    if (cs.display === 'none' || cs.visibility === 'hidden' || el.closest('.sr-only, .skip, option, select, svg, input, textarea')) continue;
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) continue;
    let held = false;
    for (let a = el.parentElement; a && a !== doc.body; a = a.parentElement) if (scrollsX(a)) held = true;
    if (!held && r.right > vw + 1) out.push(name(el) + ' reaches ' + Math.round(r.right) + ' px, past the ' + vw + ' px viewport');
    const clips = ['hidden', 'clip'].includes(cs.overflowX) && !scrollsX(el);
    const deliberate = cs.textOverflow === 'ellipsis' || (cs.webkitLineClamp && cs.webkitLineClamp !== 'none');
    if (clips && !deliberate && el.scrollWidth > el.clientWidth + 1) out.push(name(el) + ' cuts off ' + (el.scrollWidth - el.clientWidth) + ' px of its content');
  }
  return [...new Set(out)].slice(0, 20);
})()`;

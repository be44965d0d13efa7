/**
 * Issue 12 item 9: list responses hold a bounded number of records, however many requests come at once, and the
 * streamed body is the same JSON as before.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../test/support/stores.js';
import { createTestApp, type TestApp } from '../../test/support/app.js';
import { startEngine, type Engine } from '../../test/support/engine.js';
import { RecordBudget } from './list-stream.js';

describe('RecordBudget', () => {
  it('never lends more than its capacity, serves waiters in order, and lends a page larger than itself alone', async () => {
    const b = new RecordBudget(10);
    const r1 = await b.acquire(6);
    const order: string[] = [];
    const p2 = b.acquire(6).then((r) => (order.push('second'), r));
    const p3 = b.acquire(2).then((r) => (order.push('third'), r)); // fits, but waits behind the second (FIFO)
    await new Promise((r) => setImmediate(r));
    expect(order).toEqual([]);
    expect(b.inUse).toBe(6);
    r1();
    const [r2, r3] = await Promise.all([p2, p3]);
    expect(order).toEqual(['second', 'third']);
    expect(b.inUse).toBe(8);
    r2();
    r3();
    r3(); // releasing twice gives back nothing more
    expect(b.inUse).toBe(0);
    const big = await b.acquire(5000);
    expect(b.inUse).toBe(10);
    big();
    expect(b.peak).toBeLessThanOrEqual(10);
  });
});

describe.each(DIALECTS)('streamed record lists under a budget [%s]', (dialect) => {
  let t: TestApp;
  let engine: Engine;
  let companyId: string;

  beforeAll(async () => {
    t = await createTestApp(dialect);
    engine = startEngine(t);
    engine.connector.seed('invoices', 250);
    companyId = (await t.call('POST', '/companies', { name: 'Streamed' })).json().id;
    const conn = (await t.call('POST', `/companies/${companyId}/connections`, { platformKey: 'mqjo' })).json();
    expect((await t.call('PUT', `/companies/${companyId}/connections/${conn.id}/authorization`)).statusCode).toBe(200);
    await engine.pool.drain();
  });
  afterAll(async () => {
    await engine.stop();
    await t.close();
  });

  it('40 concurrent pageSize=100 reads: every body complete and identical to a lone read, never more than 300 records held', async () => {
    const lone = await t.call('GET', `/companies/${companyId}/data/invoices?pageSize=100&page=2&orderBy=id`);
    expect(lone.statusCode).toBe(200);
    const expected = lone.json();
    expect(expected.results).toHaveLength(100);
    expect(expected).toMatchObject({ pageNumber: 2, pageSize: 100, totalResults: 250 });

    const budget = new RecordBudget(300);
    (t.ctx as { listRecordBudget?: RecordBudget }).listRecordBudget = budget;
    try {
      const responses = await Promise.all(Array.from({ length: 40 }, () => t.call('GET', `/companies/${companyId}/data/invoices?pageSize=100&page=2&orderBy=id`)));
      for (const r of responses) {
        expect(r.statusCode).toBe(200);
        expect(r.headers['content-type']).toBe('application/json; charset=utf-8');
        expect(r.body).toBe(lone.body);
      }
      expect(budget.peak).toBeGreaterThan(0);
      expect(budget.peak).toBeLessThanOrEqual(300);
      // The last reservation is given back when its stream closes, just after the response ends.
      for (let i = 0; i < 1000 && budget.inUse > 0; i++) await new Promise((r) => setTimeout(r, 5));
      expect(budget.inUse).toBe(0);
      // A failing read gives its reservation back.
      const bad = await t.call('GET', `/companies/${companyId}/data/invoices?pageSize=100&query=${encodeURIComponent('nosuchfield=1')}`);
      expect(bad.statusCode).toBe(400);
      expect(budget.inUse).toBe(0);
    } finally {
      (t.ctx as { listRecordBudget?: RecordBudget }).listRecordBudget = undefined;
    }
  });

  it('over a real socket: the same bytes and headers as in-process, in chunks the socket drains; HEAD, and a client that leaves mid-body, give the budget back', async () => {
    const url = `/companies/${companyId}/data/invoices?pageSize=250&orderBy=id`;
    const inProcess = await t.call('GET', url);
    expect(inProcess.statusCode).toBe(200);
    expect(inProcess.json().results).toHaveLength(250); // more than one chunk of 200
    const budget = new RecordBudget(1000);
    (t.ctx as { listRecordBudget?: RecordBudget }).listRecordBudget = budget;
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    const addr = t.app.server.address() as net.AddressInfo;
    const base = `http://127.0.0.1:${addr.port}`;
    const released = async () => {
      for (let i = 0; i < 1000 && budget.inUse > 0; i++) await new Promise((r) => setTimeout(r, 5));
      expect(budget.inUse).toBe(0);
    };
    try {
      const r = await fetch(base + url, { headers: { authorization: t.authHeader } });
      expect(r.status).toBe(200);
      expect(r.headers.get('content-type')).toBe('application/json; charset=utf-8');
      expect(r.headers.get('x-correlation-id')).toMatch(/^[0-9a-f]{32}$/);
      expect(r.headers.get('transfer-encoding')).toBe('chunked');
      expect(await r.text()).toBe(inProcess.body);
      await released();

      const head = await fetch(base + url, { method: 'HEAD', headers: { authorization: t.authHeader } });
      expect(head.status).toBe(200);
      expect(head.headers.get('content-type')).toBe('application/json; charset=utf-8');
      expect(await head.text()).toBe('');
      await released();

      await new Promise<void>((resolve, reject) => {
        const socket = net.connect(addr.port, '127.0.0.1', () => socket.write(`GET ${url} HTTP/1.1\r\nHost: x\r\nAuthorization: ${t.authHeader}\r\n\r\n`));
        socket.once('data', () => {
          socket.destroy();
          resolve();
        });
        socket.once('error', reject);
      });
      await released();
      const bad = await fetch(`${base}/companies/${companyId}/data/invoices?query=${encodeURIComponent('nosuchfield=1')}`, { headers: { authorization: t.authHeader } });
      expect(bad.status).toBe(400);
      expect(((await bad.json()) as { correlationId: string }).correlationId).toBe(bad.headers.get('x-correlation-id'));
      await released();
      // The server still answers.
      const again = await fetch(base + url, { headers: { authorization: t.authHeader } });
      expect(await again.text()).toBe(inProcess.body);
      await released();
    } finally {
      (t.ctx as { listRecordBudget?: RecordBudget }).listRecordBudget = undefined;
    }
  });
});

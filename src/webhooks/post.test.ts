/** What postJson keeps of a receiver's answer for the delivery log: a bounded prefix, as text, whatever arrives. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bodyText, postJson } from './post.js';

describe('response body kept for the delivery log', () => {
  let server: http.Server;
  let answer: (res: http.ServerResponse) => void = (res) => res.end();
  let url: URL;
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => answer(res));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`);
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));
  const post = (keep: number, max = 4096) =>
    postJson(url, '{}', { 'content-type': 'application/json' }, { timeoutMs: 5000, maxResponseBytes: max, keepResponseBytes: keep, allowPrivate: true, signal: new AbortController().signal });

  it('keeps the first bytes; a multi-byte character cut at the limit is dropped, not half-decoded', async () => {
    // 'é' is two bytes: 9 ASCII bytes then é puts its second byte at offset 10, past a 10-byte limit.
    answer = (res) => res.writeHead(422, { 'content-type': 'text/plain; charset=utf-8' }).end('123456789é and more');
    expect(await post(10)).toEqual({ statusCode: 422, error: 'HTTP 422', responseBody: '123456789', responseBodyTruncated: true });
    expect(await post(11)).toMatchObject({ responseBody: '123456789é', responseBodyTruncated: true });
    expect(await post(1024)).toMatchObject({ responseBody: '123456789é and more', responseBodyTruncated: false });
  });

  it('an empty body is an empty string; a body over the read limit ends the request with what was kept', async () => {
    answer = (res) => res.writeHead(204).end();
    expect(await post(1024)).toEqual({ statusCode: 204, responseBody: '', responseBodyTruncated: false });
    answer = (res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.write('<html>' + 'y'.repeat(10_000));
      // Never ends: the sender stops reading past maxResponseBytes rather than wait.
    };
    const r = await post(16, 4096);
    expect(r).toEqual({ statusCode: 200, responseBody: '<html>yyyyyyyyyy', responseBodyTruncated: true });
  });

  it('invalid UTF-8 and NUL become U+FFFD (PostgreSQL text cannot hold NUL)', () => {
    expect(bodyText(Buffer.from([0x61, 0xff, 0x00, 0x62]), false)).toBe('a\uFFFD\uFFFDb');
    expect(bodyText(Buffer.from([0x61, 0xc3]), true)).toBe('a');
    expect(bodyText(Buffer.from([0x61, 0xc3]), false)).toBe('a\uFFFD');
  });
});

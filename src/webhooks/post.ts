/**
 * One delivery attempt over HTTP(S) (webhooks.md §7.1): no redirects followed, a hard timeout, the response body read
 * up to a small limit (its first bytes kept for the delivery log, the rest ignored), and the connection made only to
 * addresses that pass the address rules.
 */
import http from 'node:http';
import https from 'node:https';
import { ADDRESS_REFUSED, AddressRefusedError, guardedLookup, refusedHost } from './address.js';

export interface PostOptions {
  timeoutMs: number;
  /** Bytes of response body read before the connection is dropped. */
  maxResponseBytes: number;
  /** Bytes of response body kept (for the delivery log); at most maxResponseBytes. */
  keepResponseBytes: number;
  allowPrivate: boolean;
  signal: AbortSignal;
  agents?: { http: http.Agent; https: https.Agent };
}

export interface PostResult {
  /** Set when a response arrived. */
  statusCode?: number;
  retryAfter?: string;
  /** The response body's first `keepResponseBytes` bytes as text (set when a response arrived). */
  responseBody?: string;
  /** The body was longer than what was kept. */
  responseBodyTruncated?: boolean;
  /** Set when the attempt failed without a response, or with a non-2xx one. */
  error?: string;
  /** The attempt was abandoned because the sender is stopping: not an attempt at all. */
  aborted?: boolean;
}

class TimeoutError extends Error {}

function describe(err: unknown, timeoutMs: number): string {
  if (err instanceof TimeoutError) return `timeout after ${timeoutMs / 1000} s`;
  if (err instanceof AddressRefusedError) return `${ADDRESS_REFUSED}: ${err.message}`;
  const e = err as NodeJS.ErrnoException;
  switch (e?.code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ECONNRESET':
    case 'EPIPE':
      return 'connection reset';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_NONAME':
      return 'DNS lookup failed';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'host unreachable';
  }
  if (typeof e?.code === 'string' && /CERT|SSL|TLS/.test(e.code)) return `TLS error: ${e.code}`;
  return e?.message || String(err);
}

/**
 * The kept bytes as text: UTF-8 with invalid sequences replaced, a character cut at the end of a truncated prefix
 * dropped, and NUL replaced (PostgreSQL text cannot hold it).
 */
export function bodyText(bytes: Buffer, truncated: boolean): string {
  let text = bytes.toString('utf8');
  if (truncated) text = text.replace(/\uFFFD+$/, '');
  return text.replaceAll('\u0000', '\uFFFD');
}

export function postJson(url: URL, body: string, headers: Record<string, string>, opts: PostOptions): Promise<PostResult> {
  const refused = refusedHost(url.hostname, opts.allowPrivate);
  if (refused) return Promise.resolve({ error: `${ADDRESS_REFUSED}: ${refused}` });
  if (opts.signal.aborted) return Promise.resolve({ aborted: true });
  const https_ = url.protocol === 'https:';
  return new Promise<PostResult>((resolve) => {
    let settled = false;
    let response: PostResult | undefined;
    // The response body as far as it arrived: its first keepResponseBytes bytes, and how many bytes came in all.
    const kept: Buffer[] = [];
    let keptBytes = 0;
    let received = 0;
    const finish = (r: PostResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      opts.signal.removeEventListener('abort', onAbort);
      if (r === response) {
        r.responseBodyTruncated = received > keptBytes;
        r.responseBody = bodyText(Buffer.concat(kept), r.responseBodyTruncated);
      }
      resolve(r);
    };
    const fail = (err: unknown) => {
      if (opts.signal.aborted) return finish({ aborted: true });
      // A status already received stands (a 2xx that arrived in time is a success, whatever the body does next).
      finish(response ?? { error: describe(err, opts.timeoutMs) });
    };
    const req = (https_ ? https : http).request(url, {
      method: 'POST',
      headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
      lookup: guardedLookup(opts.allowPrivate),
      agent: opts.agents ? (https_ ? opts.agents.https : opts.agents.http) : undefined,
    });
    const timer = setTimeout(() => req.destroy(new TimeoutError()), opts.timeoutMs);
    const onAbort = () => req.destroy(new Error('sender stopping'));
    opts.signal.addEventListener('abort', onAbort, { once: true });
    req.on('error', fail);
    req.on('response', (res) => {
      const code = res.statusCode ?? 0;
      const retryAfter = res.headers['retry-after'];
      response = { statusCode: code };
      if (typeof retryAfter === 'string') response.retryAfter = retryAfter;
      if (code < 200 || code > 299) response.error = code >= 300 && code < 400 ? `redirect (${code}) not followed` : `HTTP ${code}`;
      res.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (keptBytes < opts.keepResponseBytes) {
          const part = chunk.subarray(0, opts.keepResponseBytes - keptBytes);
          kept.push(part);
          keptBytes += part.length;
        }
        // The rest of the body is ignored (§7.1); past the limit the connection is not worth keeping.
        if (received > opts.maxResponseBytes) {
          res.destroy();
          finish(response!);
        }
      });
      res.on('end', () => finish(response!));
      res.on('error', fail);
      res.on('close', () => finish(response!));
    });
    req.end(body);
  });
}

/**
 * Record list responses with bounded memory (issue 12 item 9). Fifty concurrent `pageSize=5000` reads took the server
 * from 252 MB to 670 MB: every request held its 5,000 documents, then the whole body as one string, at once. Here:
 *
 * - a per-process budget of records in flight: a request reserves its page size before it reads anything and gives it
 *   back when its last byte has been handed to the socket, so at most `capacity` records (plus one page, when a single
 *   page is larger) are held by list responses at any moment; requests beyond it wait their turn (FIFO);
 * - the body is streamed: the envelope's head, the documents in chunks, the tail — each chunk is written when the socket
 *   has taken the previous one (backpressure), and each document is dropped once written, so no response exists as one
 *   string.
 *
 * Every record list (and later ones, such as history reads) goes through `sendRecordList`.
 */
import type { ServerResponse } from 'node:http';
import type { FastifyReply } from 'fastify';

/** A FIFO counting semaphore over records. */
export class RecordBudget {
  private used = 0;
  /** The most records held at once since start (tests and benchmarks read it). */
  peak = 0;
  private readonly waiting: { n: number; go: () => void }[] = [];

  constructor(readonly capacity: number) {}

  get inUse(): number {
    return this.used;
  }

  /** Reserves `n` records (a request larger than the whole budget waits until it is alone). Returns the release. */
  async acquire(n: number): Promise<() => void> {
    const want = Math.min(n, this.capacity);
    if (this.waiting.length > 0 || this.used + want > this.capacity) {
      await new Promise<void>((go) => this.waiting.push({ n: want, go }));
    } else {
      this.used += want;
    }
    this.peak = Math.max(this.peak, this.used);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.used -= want;
      this.wakeWaiters();
    };
  }

  private wakeWaiters() {
    while (this.waiting.length > 0 && this.used + this.waiting[0]!.n <= this.capacity) {
      const next = this.waiting.shift()!;
      this.used += next.n;
      next.go();
    }
  }
}

/** Records in flight across all list responses of one process: 5 full pages of 5,000. */
export const DEFAULT_RECORD_BUDGET = 25_000;
const CHUNK_ROWS = 200;

/**
 * Reads one page (after reserving its size from the budget) and streams `{"results":[…], …envelope}` to the reply.
 * `head` is the envelope without results, serialised (`{"results":[],"pageNumber":…}`); `render` gives one document's
 * JSON text.
 *
 * The body is written to the response itself (the reply is hijacked once the page is read: a failing read still
 * answers through the error handler), with the headers the reply holds (x-correlation-id): each document is written
 * as its own string, CHUNK_ROWS at a time inside one cork, so a chunk reaches the socket in one write; the next chunk
 * waits until the socket has drained. Documents are never joined into one string: joining a page of 100 invoices
 * (~200 KB) made a new string above V8's large-object size, whose allocation and later collection cost ~1 ms of CPU
 * per page on this machine — the largest part of what the list endpoint spent beyond a route answering the same bytes
 * from memory (issue 17, docs/benchmarks.md "query"). Strings, not Buffers, go to the socket: V8 counts Buffer
 * memory against its old generation's limit (a mark-compact every ~100 pages); the strings' bytes are encoded into one
 * native buffer per write. Same bytes on the wire (UTF-8, chunked).
 */
export async function sendRecordList<Row>(
  reply: FastifyReply,
  budget: RecordBudget,
  pageSize: number,
  read: () => Promise<{ rows: Row[]; total: number }>,
  render: (row: Row) => string,
  head: (total: number) => string,
): Promise<FastifyReply> {
  const release = await budget.acquire(pageSize);
  let page: { rows: (Row | undefined)[]; total: number };
  let tail: string;
  try {
    page = await read();
    tail = head(page.total).slice('{"results":['.length);
  } catch (err) {
    release();
    throw err;
  }
  const res = reply.raw;
  // Given back when the last byte has been handed to the socket, or when the client went away.
  res.once('finish', release);
  res.once('close', release);
  reply.hijack();
  for (const [name, value] of Object.entries(reply.getHeaders())) if (value !== undefined) res.setHeader(name, value);
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.writeHead(200);
  writeDocuments(res, page.rows, render, tail).catch((err: unknown) => {
    // Headers are out: the response can only be cut short (as a failing stream's was).
    reply.log.error({ err }, 'writing a record list failed');
    res.destroy(err as Error);
  });
  return reply;
}

async function writeDocuments<Row>(res: ServerResponse, rows: (Row | undefined)[], render: (row: Row) => string, tail: string): Promise<void> {
  res.cork();
  res.write('{"results":[');
  for (let i = 0; i < rows.length; i += CHUNK_ROWS) {
    if (i > 0) res.cork();
    const end = Math.min(rows.length, i + CHUNK_ROWS);
    for (let j = i; j < end; j++) {
      const doc = render(rows[j] as Row);
      rows[j] = undefined; // written: the row can go
      res.write(j > 0 ? `,${doc}` : doc);
    }
    if (end < rows.length) {
      res.uncork();
      await drained(res);
      if (res.destroyed) return;
    }
  }
  res.write(tail);
  res.uncork();
  res.end();
}

/**
 * Resolves once the response's socket has taken what was written (at once when it has), or the response is gone. The
 * socket's own 'drain' is awaited: the response emits one only on a server's connection (not on an injected request).
 */
function drained(res: ServerResponse): Promise<void> {
  const socket = res.socket;
  if (res.destroyed || !socket || !socket.writableNeedDrain) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      socket.off('drain', done);
      socket.off('close', done);
      res.off('close', done);
      resolve();
    };
    socket.on('drain', done);
    socket.on('close', done);
    res.on('close', done);
  });
}

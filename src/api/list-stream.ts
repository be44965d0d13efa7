/**
 * Record list responses with bounded memory (issue 12 item 9). Fifty concurrent `pageSize=5000` reads took the server
 * from 252 MB to 670 MB: every request held its 5,000 documents, then the whole body as one string, at once. Here:
 *
 * - a per-process budget of records in flight: a request reserves its page size before it reads anything and gives it
 *   back when its last byte has been handed to the socket, so at most `capacity` records (plus one page, when a single
 *   page is larger) are held by list responses at any moment; requests beyond it wait their turn (FIFO);
 * - the body is streamed: the envelope's head, the documents in chunks, the tail — each chunk is built when the socket
 *   takes the previous one (backpressure), and each document is dropped once written, so no response exists as one
 *   string.
 *
 * Every record list (and later ones, such as history reads) goes through `sendRecordList`.
 */
import { Readable } from 'node:stream';
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
  try {
    page = await read();
  } catch (err) {
    release();
    throw err;
  }
  const envelope = head(page.total);
  const tail = envelope.slice('{"results":['.length);
  const rows = page.rows;
  function* chunks(): Generator<string> {
    yield '{"results":[';
    for (let i = 0; i < rows.length; i += CHUNK_ROWS) {
      const end = Math.min(rows.length, i + CHUNK_ROWS);
      const parts: string[] = [];
      for (let j = i; j < end; j++) {
        parts.push(render(rows[j] as Row));
        rows[j] = undefined; // written: the row can go
      }
      yield (i > 0 ? ',' : '') + parts.join(',');
    }
    yield tail;
  }
  // The chunks go to the socket as strings (object mode: a byte-mode stream would turn each into a Buffer first). V8
  // counts ArrayBuffer memory allocated since its last mark-compact against the old generation's limit, so ~200 KB of
  // Buffers per page of 100 made a server start a mark-compact every ~100 requests that freed 1–2 MB each; written as
  // strings, 1 in 500 requests (issue 17, docs/benchmarks.md "query"). Same bytes on the wire (UTF-8).
  const body = Readable.from(chunks(), { objectMode: true, highWaterMark: 1 });
  // Released when the body has been handed to the socket, or when the client went away.
  body.once('close', release);
  return reply.type('application/json; charset=utf-8').send(body);
}

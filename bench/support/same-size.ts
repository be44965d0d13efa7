/**
 * Bench-only routes for the query benchmark's endpoint rows (issue 17), registered on the server's own app instance
 * (startServer's `apiExtensions`) by bench/support/list-server.ts — never by the CLI, so no user of `syncline serve`
 * sees them. They run behind the app's own hooks (authentication first), on its pool:
 *
 * - `PUT /bench/body/:key` (text/plain) keeps a body in memory: the bench puts the bytes a real list request answered;
 * - `GET /bench/body/:key`, the endpoint rows' baseline: one trivial statement (`select 1`) over the server's store,
 *   then the kept bytes, as one string, with the list route's content type. Same process, Fastify app, auth and pool
 *   as the list, and a body of the same size: what the list adds beyond it is its own work (the company, connection
 *   and dataset checks, the store's list, building and streaming the body).
 * - `POST /bench/stages` answers, and forgets, the per-request timings the probe (below) recorded since the last call.
 *
 * The probe times each request in the server from its 'request' event to the response's 'finish' (the last byte handed
 * to the socket), the time the response's headers were written (the handler's work before the body streams), the
 * store calls a list request makes (wrapped on the repositories' prototypes), this process's CPU, and the garbage
 * collections that overlapped the request. It assumes requests arrive one at a time (the bench sends them so).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { PerformanceObserver } from 'node:perf_hooks';
import { sql } from 'kysely';
import type { FastifyInstance } from 'fastify';
import type { AppExtension } from '../../src/api/app.js';
import { NotFoundError, RequestValidationError } from '../../src/domain/errors.js';
import { ApiKeysRepository } from '../../src/store/api-keys.repository.js';
import { CompaniesRepository } from '../../src/store/companies.repository.js';
import { ConnectionsRepository } from '../../src/store/connections.repository.js';
import { RecordsRepository } from '../../src/store/records.repository.js';

/** One request as the server saw it (ms). `store` is time inside each wrapped repository call, by call. */
export interface Stage {
  url: string;
  status: number;
  /** 'request' event to the response's 'finish'. */
  total: number;
  /** 'request' event to the response's headers being written (for a streamed list: its body starts). */
  head: number;
  store: Record<string, number>;
  /** This process's CPU (user + system) during the request. */
  cpu: number;
  /** Garbage collection time overlapping the request, and how many collections. */
  gcMs: number;
  gcs: number;
  bytes: number;
}

/** The wrapped store calls, `Class.method` (what a list request makes besides its list). */
const WRAPPED: [{ prototype: object; name: string }, string][] = [
  [ApiKeysRepository, 'idForHash'],
  [CompaniesRepository, 'existsForRead'],
  [ConnectionsRepository, 'current'],
  [ConnectionsRepository, 'get'],
  [ConnectionsRepository, 'forRead'],
  [RecordsRepository, 'list'],
];

interface Open {
  stage: Stage;
  t0: number;
  cpu0: NodeJS.CpuUsage;
  end?: number;
}

/** Records Stage entries for the requests of one server (see the module comment). */
export class StageProbe {
  private current: Open | undefined;
  private done: Open[] = [];
  private readonly gcs: { start: number; end: number }[] = [];
  private readonly observer: PerformanceObserver;
  private wrapped = false;

  constructor() {
    this.observer = new PerformanceObserver((l) => {
      for (const e of l.getEntries()) this.gcs.push({ start: e.startTime, end: e.startTime + e.duration });
      if (this.gcs.length > 20_000) this.gcs.splice(0, 10_000);
    });
    this.observer.observe({ entryTypes: ['gc'] });
  }

  /** Wraps the repositories' methods once per process (the wrappers add their time to the current request). */
  wrapStore(): void {
    if (this.wrapped) return;
    this.wrapped = true;
    for (const [cls, method] of WRAPPED) {
      const proto = cls.prototype as Record<string, (...a: unknown[]) => unknown>;
      const original = proto[method];
      if (typeof original !== 'function') continue; // not in this build
      const key = `${cls.name}.${method}`;
      const probe = this;
      proto[method] = function (this: unknown, ...args: unknown[]) {
        const open = probe.current;
        const t = performance.now();
        const add = () => {
          if (open) open.stage.store[key] = (open.stage.store[key] ?? 0) + performance.now() - t;
        };
        const r = original.apply(this, args);
        if (r instanceof Promise) return r.finally(add);
        add();
        return r;
      };
    }
  }

  /** Listens to the server's requests (before Fastify's own listener). */
  attach(server: FastifyInstance['server']): void {
    server.prependListener('request', (req: IncomingMessage, res: ServerResponse) => {
      const url = req.url ?? '';
      if (url.startsWith('/bench/stages')) return;
      const open: Open = { stage: { url, status: 0, total: 0, head: 0, store: {}, cpu: 0, gcMs: 0, gcs: 0, bytes: 0 }, t0: performance.now(), cpu0: process.cpuUsage() };
      this.current = open;
      const writeHead = res.writeHead;
      res.writeHead = function (this: ServerResponse, ...a: Parameters<ServerResponse['writeHead']>) {
        open.stage.head = performance.now() - open.t0;
        return writeHead.apply(this, a);
      } as ServerResponse['writeHead'];
      res.once('finish', () => {
        open.end = performance.now();
        open.stage.total = open.end - open.t0;
        const c = process.cpuUsage(open.cpu0);
        open.stage.cpu = (c.user + c.system) / 1000;
        open.stage.status = res.statusCode;
        open.stage.bytes = Number(res.getHeader('content-length') ?? 0) || (req.socket?.bytesWritten ?? 0);
        if (this.current === open) this.current = undefined;
        this.done.push(open);
        if (this.done.length > 50_000) this.done.splice(0, 25_000);
      });
    });
  }

  /** The requests finished since the last call, with the collections that overlapped each. */
  async take(): Promise<Stage[]> {
    // GC entries are delivered from a timer: let them arrive.
    await new Promise((r) => setTimeout(r, 100));
    const out = this.done;
    this.done = [];
    for (const o of out) {
      for (const g of this.gcs) {
        if (g.start < o.end! && g.end > o.t0) {
          o.stage.gcMs += Math.min(g.end, o.end!) - Math.max(g.start, o.t0);
          o.stage.gcs++;
        }
      }
    }
    return out.map((o) => o.stage);
  }
}

const KEY = /^[A-Za-z0-9_-]{1,64}$/;
/** Kept bodies are bounded: the bench keeps one per filter. */
const MAX_BODIES = 64;

/** The bench routes (module comment). `probe` answers POST /bench/stages; without one that route answers 404. */
export function sameSizeRoutes(probe?: StageProbe): AppExtension {
  return async (app, ctx) => {
    const bodies = new Map<string, string>();
    const keyOf = (params: unknown) => {
      const key = (params as { key?: string }).key ?? '';
      if (!KEY.test(key)) throw RequestValidationError.of('key', 'The key must be 1–64 letters, digits, - or _.', 'Pattern');
      return key;
    };
    app.put('/bench/body/:key', { schema: { hide: true } }, async (req, reply) => {
      const key = keyOf(req.params);
      if (typeof req.body !== 'string' || req.body === '') throw RequestValidationError.of('body', 'The body must be non-empty text/plain.', 'Required');
      if (!bodies.has(key) && bodies.size >= MAX_BODIES) throw RequestValidationError.of('key', `At most ${MAX_BODIES} bodies are kept.`, 'Limit');
      bodies.set(key, req.body);
      return reply.code(204).send();
    });
    app.get('/bench/body/:key', { schema: { hide: true } }, async (req, reply) => {
      const key = keyOf(req.params);
      const r = await sql<{ one: number }>`select 1 as one`.execute(ctx.store.db);
      if (Number(r.rows[0]?.one) !== 1) throw new Error('select 1 answered something else');
      const body = bodies.get(key);
      if (body === undefined) throw new NotFoundError(`No body is kept under ${key}`);
      return reply.type('application/json; charset=utf-8').send(body);
    });
    app.post('/bench/stages', { schema: { hide: true } }, async () => {
      if (!probe) throw new NotFoundError('This server records no stages');
      return probe.take();
    });
  };
}

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { vi } from 'vitest';
import { Webhook } from 'standardwebhooks';
import type { Logger } from '../../src/lib/logger.js';
import { webhookRenderContext } from '../../src/api/webhook-render.js';
import { WebhookSender, type SenderOptions } from '../../src/webhooks/sender.js';
import type { TestApp } from './app.js';

export interface Received {
  /** Request path (one receiver can serve several consumers on different paths). */
  path: string;
  headers: Record<string, string>;
  body: string;
  /** The test clock's time when it arrived. */
  at: string;
}

/** What the receiver answers: a status (with optional headers and body), or 'hang' (never answers). */
export type Answer = number | { status: number; headers?: Record<string, string>; body?: string } | 'hang';

/** A webhook endpoint on a loopback port that records every request, raw body included. */
export class Receiver {
  readonly received: Received[] = [];
  answer: (r: Received) => Answer = () => 200;
  private server: http.Server | undefined;
  private hanging: http.ServerResponse[] = [];
  port = 0;

  constructor(private readonly now: () => Date = () => new Date()) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}/hooks`;
  }

  async start(): Promise<this> {
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v;
        const r: Received = { path: req.url ?? '', headers, body: Buffer.concat(chunks).toString('utf8'), at: this.now().toISOString() };
        this.received.push(r);
        const a = this.answer(r);
        if (a === 'hang') {
          this.hanging.push(res);
          return;
        }
        const { status, headers: extra, body } = typeof a === 'number' ? { status: a, headers: {}, body: undefined } : a;
        res.writeHead(status, { 'content-type': 'text/plain', ...extra });
        res.end(body ?? 'ok');
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
    return this;
  }

  /** Down: the port refuses connections until start() listens on it again. */
  async stop(): Promise<void> {
    for (const res of this.hanging.splice(0)) res.destroy();
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  /** Answers every request left hanging, with `status`. */
  release(status = 200): void {
    for (const res of this.hanging.splice(0)) {
      res.writeHead(status);
      res.end();
    }
  }

  /**
   * Requests whose webhook-id this endpoint (path) had not seen before: a receiver de-duplicating as §6.4 asks.
   * The webhook-id is the event's, the same for every consumer, so each path de-duplicates on its own.
   */
  unique(): Received[] {
    const seen = new Set<string>();
    return this.received.filter((r) => {
      const id = `${r.path} ${r.headers['webhook-id']}`;
      if (seen.has(id)) return false;
      seen.add(id);
      return true;
    });
  }

  bodies(): any[] {
    return this.unique().map((r) => JSON.parse(r.body));
  }
}

/**
 * Verifies with the `standardwebhooks` library, as a receiver would. The library checks the timestamp against the
 * real clock (5 minutes' tolerance); the sender stamps with the injected clock, so the check runs at that instant.
 */
export function verify(secret: string, r: Received, at: Date): unknown {
  vi.setSystemTime(at);
  try {
    return new Webhook(secret).verify(r.body, r.headers);
  } finally {
    vi.useRealTimers();
  }
}

/** A sender over the test app's store and clock, rendering like the API, allowed to reach loopback receivers. */
export function createSender(t: TestApp, opts: Partial<SenderOptions> = {}, log: Logger = t.ctx.log): WebhookSender {
  return new WebhookSender(
    { store: t.store, clock: t.clock, log, secretBox: t.ctx.secretBox, render: webhookRenderContext(t.ctx) },
    { allowPrivate: true, pollMs: 20, ...opts },
  );
}

/** Lets the API accept loopback consumer URLs (SYNCLINE_WEBHOOKS_ALLOW_PRIVATE=true). */
export function allowPrivateTargets(t: TestApp, allow = true): void {
  (t.ctx as { webhooksAllowPrivate?: boolean }).webhooksAllowPrivate = allow;
}

export async function subscribe(
  t: TestApp,
  url: string,
  eventTypes: string[],
  extra: { companyTags?: string[]; disabled?: boolean } = {},
): Promise<{ id: string; secret: string }> {
  const res = await t.call('POST', '/webhooks', { url, eventTypes, ...extra });
  if (res.statusCode !== 201) throw new Error(`subscribe failed: ${res.statusCode} ${res.body}`);
  const body = res.json();
  return { id: body.id, secret: body.signingSecret };
}

/** Removes every consumer (and so every pending delivery): a clean slate between tests sharing one database. */
export async function clearConsumers(t: TestApp): Promise<void> {
  await t.store.db.deleteFrom('webhook_consumers').execute();
}

/**
 * Moves the test clock forward to `until`, stopping at every instant a pending delivery falls due and sending what is
 * due there: the retry schedule plays out exactly, in simulated time, without sleeping.
 */
export async function advanceUntil(t: TestApp, sender: WebhookSender, until: Date | string): Promise<void> {
  const end = new Date(until).getTime();
  for (;;) {
    await sender.settle();
    const next = await t.store.db
      .selectFrom('webhook_deliveries as d')
      .innerJoin('webhook_consumers as c', 'c.id', 'd.consumer_id')
      .select((eb) => eb.fn.min('d.next_attempt_at').as('at'))
      .where('d.status', '=', 'pending')
      .where('c.disabled', '=', 0)
      .where('d.next_attempt_at', '>', t.clock.now().toISOString())
      .executeTakeFirst();
    const at = next?.at ? Date.parse(next.at) : Number.POSITIVE_INFINITY;
    if (at > end) {
      t.clock.set(new Date(end));
      await sender.settle();
      return;
    }
    t.clock.set(new Date(at));
  }
}

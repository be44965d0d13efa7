/**
 * The webhook sender daemon: leases due deliveries from the outbox, POSTs them signed (webhooks.md §6), records each
 * attempt and schedules the next one (§7.2), and disables consumers failing for five days (§7.4).
 *
 * Any number of senders may run, in any number of processes: deliveries are leased (FOR UPDATE SKIP LOCKED on
 * PostgreSQL), a sender that dies loses its leases when they expire, and one that stops hands back what it had not
 * finished. One slow or dead endpoint never delays the others: each consumer has its own concurrency limit inside a
 * bounded total, and its deliveries are claimed separately from everyone else's.
 */
import { setMaxListeners } from 'node:events';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import { randomBytes } from 'node:crypto';
import { Wakeup } from '../lib/wakeup.js';
import type { Clock } from '../lib/clock.js';
import type { Logger } from '../lib/logger.js';
import { newId } from '../lib/ids.js';
import { metrics } from '../lib/metrics.js';
import type { SecretBox } from '../lib/secrets.js';
import { DELIVERY_TIMEOUT_MS, DISABLE_AFTER_MS, RESPONSE_BODY_KEEP_BYTES, nextAttemptAt, parseRetryAfter } from '../domain/webhook-events.js';
import type { Store } from '../store/db.js';
import { WEBHOOKS_CHANNEL, onOutboxWritten } from '../store/webhook-outbox.js';
import { WebhooksRepository, type ClaimedDelivery } from '../store/webhooks.repository.js';
import { renderBody, type RenderContext } from './render.js';
import { signatureHeader } from './signing.js';
import { postJson } from './post.js';

export interface SenderOptions {
  /** Idle poll interval (wall time). */
  pollMs: number;
  /** Concurrent requests to one consumer from this process. */
  perConsumer: number;
  /** Concurrent requests from this process in all. */
  maxInFlight: number;
  /** How long a claimed delivery stays leased (injected-clock time); longer than the request timeout. */
  leaseMs: number;
  timeoutMs: number;
  maxResponseBytes: number;
  /** Bytes of each response body kept in the delivery log (webhook_attempts.response_body). */
  keepResponseBytes: number;
  /** SYNCLINE_WEBHOOKS_ALLOW_PRIVATE: private and loopback targets allowed. */
  allowPrivate: boolean;
}

export const DEFAULT_SENDER_OPTIONS: SenderOptions = {
  pollMs: 250,
  perConsumer: 4,
  maxInFlight: 64,
  leaseMs: 60_000,
  timeoutMs: DELIVERY_TIMEOUT_MS,
  maxResponseBytes: 4096,
  keepResponseBytes: RESPONSE_BODY_KEEP_BYTES,
  allowPrivate: false,
};

export interface SenderDeps {
  store: Store;
  clock: Clock;
  log: Logger;
  secretBox: SecretBox;
  render: RenderContext;
  /** PostgreSQL URL to LISTEN on for events committed by other processes; unset → poll only. */
  listenUrl?: string | undefined;
}

interface InFlight {
  consumerId: string;
  done: Promise<void>;
}

export class WebhookSender {
  readonly owner = `${os.hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
  private readonly repo: WebhooksRepository;
  private readonly opts: SenderOptions;
  private readonly inFlight = new Map<string, InFlight>();
  private readonly perConsumer = new Map<string, number>();
  private readonly stopping = new AbortController();
  private readonly wakeup: Wakeup;
  private loop: Promise<void> | undefined;
  private unlisten: (() => void) | undefined;
  private readonly agents = { http: new http.Agent({ keepAlive: true }), https: new https.Agent({ keepAlive: true }) };

  constructor(
    private readonly deps: SenderDeps,
    opts: Partial<SenderOptions> = {},
  ) {
    this.opts = { ...DEFAULT_SENDER_OPTIONS, ...opts };
    this.repo = new WebhooksRepository(deps.store.db, deps.store.dialect);
    this.wakeup = new Wakeup(deps.log, deps.listenUrl, WEBHOOKS_CHANNEL);
    // Every request in flight listens for the stop.
    setMaxListeners(this.opts.maxInFlight + 16, this.stopping.signal);
  }

  get activeCount(): number {
    return this.inFlight.size;
  }

  /** Starts the background loop. A stopped sender is not restarted: make a new one. */
  start(): void {
    if (this.loop || this.stopping.signal.aborted) return;
    this.wakeup.start();
    // SQLite: events written by this process wake the sender at once instead of at its next poll (PostgreSQL: NOTIFY).
    if (this.deps.store.dialect === 'sqlite') this.unlisten = onOutboxWritten(() => this.wakeup.notify());
    const signal = this.stopping.signal;
    this.loop = (async () => {
      while (!signal.aborted) {
        let started = 0;
        try {
          started = await this.tick();
        } catch (err) {
          if (signal.aborted) break;
          this.deps.log.error({ err }, 'claiming webhook deliveries failed');
        }
        // A full batch may have left more due: look again at once. Otherwise wait for a NOTIFY, a finished
        // request freeing a slot, or the poll interval.
        if (started > 0 && this.inFlight.size < this.opts.maxInFlight) continue;
        await this.wakeup.wait(this.opts.pollMs, signal);
      }
    })();
  }

  /** Claims now instead of at the next poll (e.g. after events were emitted in this process). */
  wake(): void {
    this.wakeup.notify();
  }

  /**
   * Stops claiming, abandons requests in flight and hands their deliveries back (no attempt is counted), so another
   * sender, or this one after a restart, sends them again with the same webhook-id.
   */
  async stop(): Promise<void> {
    this.stopping.abort();
    this.unlisten?.();
    this.wakeup.notify();
    await this.loop;
    await Promise.all([...this.inFlight.values()].map((f) => f.done));
    await this.wakeup.stop();
    this.agents.http.destroy();
    this.agents.https.destroy();
  }

  /** Leases what is due and starts sending it; returns how many deliveries it started. */
  async tick(): Promise<number> {
    if (this.stopping.signal.aborted) return 0;
    const now = this.deps.clock.now();
    const claimed = await this.repo.claim({
      owner: this.owner,
      now: now.toISOString(),
      leaseExpires: new Date(now.getTime() + this.opts.leaseMs).toISOString(),
      perConsumer: this.opts.perConsumer,
      max: this.opts.maxInFlight - this.inFlight.size,
      capacity: (consumerId) => this.opts.perConsumer - (this.perConsumer.get(consumerId) ?? 0),
    });
    for (const d of claimed) this.launch(d);
    return claimed.length;
  }

  /** Sends until nothing is due at the clock's current time and nothing is in flight (tests and benchmarks). */
  async settle(): Promise<number> {
    let started = 0;
    for (;;) {
      const n = await this.tick();
      started += n;
      if (n === 0 && this.inFlight.size === 0) return started;
      await Promise.race([...this.inFlight.values()].map((f) => f.done));
    }
  }

  private launch(d: ClaimedDelivery): void {
    this.perConsumer.set(d.consumer_id, (this.perConsumer.get(d.consumer_id) ?? 0) + 1);
    const done = this.send(d)
      .catch((err) => this.deps.log.error({ err, deliveryId: d.id, consumerId: d.consumer_id }, 'webhook delivery crashed'))
      .finally(() => {
        this.inFlight.delete(d.id);
        const n = (this.perConsumer.get(d.consumer_id) ?? 1) - 1;
        if (n > 0) this.perConsumer.set(d.consumer_id, n);
        else this.perConsumer.delete(d.consumer_id);
        // A free slot may let this consumer's next due delivery go now.
        if (!this.stopping.signal.aborted) this.wakeup.notify();
      });
    this.inFlight.set(d.id, { consumerId: d.consumer_id, done });
  }

  private async send(d: ClaimedDelivery): Promise<void> {
    const { clock, log, secretBox } = this.deps;
    const attempt = d.attempts + 1;
    const sentAt = clock.now();
    const timestamp = Math.floor(sentAt.getTime() / 1000);
    let result: Awaited<ReturnType<typeof postJson>>;
    const started = performance.now();
    let host = '';
    try {
      const url = new URL(d.url);
      host = url.host;
      const body = await renderBody(
        { id: d.event_id, event_type: d.event_type, company_id: d.company_id, connection_id: d.connection_id, data: d.data, generated_at: d.generated_at },
        d.consumer_id,
        this.deps.render,
      );
      const secrets = [secretBox.open(d.secret)];
      if (d.previous_secret && d.previous_secret_until && d.previous_secret_until > sentAt.toISOString()) secrets.push(secretBox.open(d.previous_secret));
      const signature = signatureHeader(secrets, d.msg_id, timestamp, body);
      const headers = {
        'content-type': 'application/json',
        'user-agent': 'Syncline-Webhooks/1',
        'webhook-id': d.msg_id,
        'webhook-timestamp': String(timestamp),
        'webhook-signature': signature,
        'svix-id': d.msg_id,
        'svix-timestamp': String(timestamp),
        'svix-signature': signature,
      };
      result = await postJson(url, body, headers, {
        timeoutMs: this.opts.timeoutMs,
        maxResponseBytes: this.opts.maxResponseBytes,
        keepResponseBytes: Math.min(this.opts.keepResponseBytes, this.opts.maxResponseBytes),
        allowPrivate: this.opts.allowPrivate,
        signal: this.stopping.signal,
        agents: this.agents,
      });
    } catch (err) {
      // Rendering or signing failed: count it as a failed attempt so the message cannot loop forever.
      log.error({ err, deliveryId: d.id, eventId: d.event_id }, 'webhook could not be prepared');
      result = { error: 'internal error preparing the message' };
    }
    const durationMs = Math.round(performance.now() - started);
    if (result.aborted) {
      await this.repo.release(this.owner, [d.id]);
      return;
    }
    const finishedAt = clock.now();
    const success = result.statusCode !== undefined && result.error === undefined;
    let retryAfterMs: number | undefined;
    if (!success && (result.statusCode === 429 || result.statusCode === 503)) retryAfterMs = parseRetryAfter(result.retryAfter, finishedAt);
    const next = success ? undefined : nextAttemptAt(finishedAt, attempt, retryAfterMs);
    const { disabled } = await this.repo.recordAttempt(
      this.owner,
      {
        deliveryId: d.id,
        consumerId: d.consumer_id,
        eventId: d.event_id,
        eventType: d.event_type,
        attempt,
        sentAt: sentAt.toISOString(),
        finishedAt: finishedAt.toISOString(),
        statusCode: result.statusCode ?? null,
        durationMs,
        success,
        error: success ? null : (result.error ?? 'failed'),
        responseBody: result.responseBody ?? null,
        responseBodyTruncated: result.responseBodyTruncated ?? false,
        nextAttemptAt: next?.toISOString(),
      },
      newId(),
      DISABLE_AFTER_MS,
    );
    metrics.webhookAttempts.inc({ outcome: success ? 'success' : result.statusCode !== undefined ? 'http_error' : 'error' });
    // Consumer id and host only: the URL may carry credentials, and the secret is never logged (invariant 6).
    const fields = { consumerId: d.consumer_id, host, eventId: d.event_id, eventType: d.event_type, attempt, statusCode: result.statusCode, durationMs };
    if (success) log.debug(fields, 'webhook delivered');
    else if (next) log.info({ ...fields, error: result.error, nextAttemptAt: next.toISOString() }, 'webhook attempt failed; will retry');
    else log.warn({ ...fields, error: result.error }, 'webhook failed after its last attempt');
    if (disabled) log.warn({ consumerId: d.consumer_id, host }, 'webhook consumer disabled: every attempt failed for 5 days');
  }
}

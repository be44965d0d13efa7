/**
 * The sender against a real receiver on a loopback port, with the injected clock moved through the retry schedule:
 * signing, outages, restarts, disabling, Retry-After, redirects, timeouts, isolation between consumers, the delivery
 * log and replay (webhooks.md §6, §7).
 */
import { DELIVERY_TIMEOUT_MS, RESPONSE_BODY_KEEP_BYTES } from '../domain/webhook-events.js';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../test/support/stores.js';
import { createTestApp, type TestApp } from '../../test/support/app.js';
import { waitFor } from '../../test/support/engine.js';
import { Receiver, advanceUntil, allowPrivateTargets, clearConsumers, createSender, subscribe, verify } from '../../test/support/webhooks.js';
import type { WebhookSender } from './sender.js';
import { createLogger } from '../lib/logger.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

describe.each(DIALECTS)('webhook delivery [%s]', (dialect) => {
  let t: TestApp;
  let receiver: Receiver;
  let sender: WebhookSender;
  const others: WebhookSender[] = [];

  beforeAll(async () => {
    t = await createTestApp(dialect);
    allowPrivateTargets(t);
  });
  afterAll(async () => t.close());
  beforeEach(async () => {
    await clearConsumers(t);
    receiver = await new Receiver(() => t.clock.now()).start();
    sender = createSender(t);
  });
  afterEach(async () => {
    await sender.stop();
    for (const s of others.splice(0)) await s.stop();
    await receiver.stop();
  });

  const company = async (name: string, tags?: Record<string, string>) => (await t.call('POST', '/companies', { name, ...(tags ? { tags } : {}) })).json();
  const eventIdOf = (r: { body: string }) => JSON.parse(r.body).id as string;
  const attemptsOf = async (eventId: string) => (await t.call('GET', `/webhooks/events/${eventId}/attempts?pageSize=100`)).json().results as any[];
  const deliveries = (consumerId: string) => t.store.db.selectFrom('webhook_deliveries').selectAll().where('consumer_id', '=', consumerId).execute();

  it('signs with Standard Webhooks headers; standardwebhooks verifies them and rejects a tampered body', async () => {
    const sub = await subscribe(t, receiver.url, ['company.created']);
    await company('Signed');
    await sender.settle();
    expect(receiver.received).toHaveLength(1);
    const r = receiver.received[0]!;
    const ts = Math.floor(t.clock.now().getTime() / 1000);
    expect(r.headers).toMatchObject({
      'content-type': 'application/json',
      'user-agent': 'Syncline-Webhooks/1',
      'webhook-id': expect.stringMatching(/^msg_[A-Za-z0-9]{27}$/),
      'webhook-timestamp': String(ts),
      'webhook-signature': expect.stringMatching(/^v1,[A-Za-z0-9+/]+=*$/),
    });
    expect(r.headers['svix-id']).toBe(r.headers['webhook-id']);
    expect(r.headers['svix-timestamp']).toBe(r.headers['webhook-timestamp']);
    expect(r.headers['svix-signature']).toBe(r.headers['webhook-signature']);
    expect(r.body).toBe(JSON.stringify(JSON.parse(r.body))); // compact JSON: the bytes that were signed
    expect(verify(sub.secret, r, t.clock.now())).toEqual(JSON.parse(r.body));
    expect(() => verify(sub.secret, { ...r, body: r.body.replace('Signed', 'Signee') }, t.clock.now())).toThrow(/signature/i);
    expect(() => verify(sub.secret, { ...r, headers: { ...r.headers, 'webhook-id': 'msg_other' } }, t.clock.now())).toThrow();
    // Older than the receivers' 5-minute tolerance: refused, as the libraries do.
    expect(() => verify(sub.secret, r, new Date(t.clock.now().getTime() + 6 * MINUTE))).toThrow(/too old/);

    // Rotation: for 24 hours both secrets sign; after that only the new one.
    const rotated = (await t.call('POST', `/webhooks/${sub.id}/secret/rotate`)).json().key as string;
    await company('Rotating');
    await sender.settle();
    const during = receiver.received[1]!;
    expect(during.headers['webhook-signature']!.split(' ')).toHaveLength(2);
    expect(verify(rotated, during, t.clock.now())).toBeTruthy();
    expect(verify(sub.secret, during, t.clock.now())).toBeTruthy();
    t.clock.advance(DAY + SECOND);
    await company('Rotated');
    await sender.settle();
    const after = receiver.received[2]!;
    expect(after.headers['webhook-signature']!.split(' ')).toHaveLength(1);
    expect(verify(rotated, after, t.clock.now())).toBeTruthy();
    expect(() => verify(sub.secret, after, t.clock.now())).toThrow();
  });

  it('receiver down for 2 hours: every event arrives afterwards, exactly once after de-duplication by webhook-id', async () => {
    const sub = await subscribe(t, receiver.url, ['company.created', 'company.deleted']);
    const port = receiver.port;
    await receiver.stop();
    const start = t.clock.now().getTime();
    const names: string[] = [];
    // Events keep coming during the outage.
    for (let i = 0; i < 6; i++) {
      const c = await company(`Outage ${i}`);
      names.push(c.name);
      if (i % 2 === 1) await t.call('DELETE', `/companies/${c.id}`);
      await advanceUntil(t, sender, new Date(start + (i + 1) * 20 * MINUTE));
    }
    expect(t.clock.now().getTime() - start).toBe(2 * HOUR);
    expect(receiver.received).toHaveLength(0);
    const first = (
      await t.store.db
        .selectFrom('webhook_events as e')
        .innerJoin('webhook_deliveries as d', 'd.event_id', 'e.id')
        .select('e.id')
        .where('d.consumer_id', '=', sub.id)
        .orderBy('e.seq')
        .executeTakeFirstOrThrow()
    ).id;
    const failed = await attemptsOf(first);
    expect(failed.map((a) => a.attempt)).toEqual([4, 3, 2, 1]); // newest first: at 0, 5 s, 5 min 5 s, 35 min 5 s
    expect(failed.every((a) => !a.success && a.error === 'connection refused' && a.statusCode === undefined && a.responseBody === undefined)).toBe(true);
    expect(failed.map((a) => Date.parse(a.timestamp) - start).reverse()).toEqual([0, 5 * SECOND, 5 * MINUTE + 5 * SECOND, 35 * MINUTE + 5 * SECOND]);

    // Back up on the same port; the first request of each message is processed but answered 500, so it is retried:
    // the receiver sees duplicates and de-duplicates them by webhook-id.
    receiver.port = port;
    await receiver.start();
    const answered = new Set<string>();
    receiver.answer = (r) => {
      const id = r.headers['webhook-id']!;
      if (answered.has(id)) return 200;
      answered.add(id);
      return 500;
    };
    await advanceUntil(t, sender, new Date(start + 14 * HOUR));
    const unique = receiver.unique();
    expect(receiver.received.length).toBeGreaterThan(unique.length);
    const bodies = unique.map((r) => JSON.parse(r.body));
    expect(bodies.filter((b) => b.eventType === 'company.created').map((b) => b.payload.name).sort()).toEqual(names.sort());
    expect(bodies.filter((b) => b.eventType === 'company.deleted')).toHaveLength(3);
    expect(new Set(unique.map((r) => eventIdOf(r))).size).toBe(9);
    for (const r of unique) verify(sub.secret, r, new Date(r.at));
    expect((await deliveries(sub.id)).every((d) => d.status === 'succeeded')).toBe(true);
    const log = await attemptsOf(first);
    expect(log[0]).toMatchObject({ success: true, statusCode: 200, attempt: 6 });
    expect(log[1]).toMatchObject({ success: false, statusCode: 500, error: 'HTTP 500', attempt: 5 });
    // The webhook-id never changed across attempts.
    const ids = receiver.received.filter((r) => eventIdOf(r) === first).map((r) => r.headers['webhook-id']);
    expect(new Set(ids).size).toBe(1);
  });

  it('a sender stopped mid-delivery hands it back; one started later delivers it with the same webhook-id', async () => {
    const sub = await subscribe(t, receiver.url, ['company.created']);
    receiver.answer = () => 'hang';
    await company('Interrupted');
    const first = createSender(t);
    first.start();
    await waitFor(async () => receiver.received.length === 1, 5000, 'the first request');
    await first.stop();
    const [held] = await deliveries(sub.id);
    expect(held).toMatchObject({ status: 'pending', attempts: 0, lease_owner: null });
    expect(await t.store.db.selectFrom('webhook_attempts').selectAll().execute()).toHaveLength(0);

    receiver.answer = () => 200;
    const second = createSender(t);
    others.push(second);
    second.start();
    await waitFor(async () => receiver.received.length === 2, 5000, 'the delivery after restart');
    expect(receiver.received[1]!.headers['webhook-id']).toBe(receiver.received[0]!.headers['webhook-id']);
    expect(receiver.unique()).toHaveLength(1);
    await waitFor(async () => (await deliveries(sub.id))[0]!.status === 'succeeded', 5000, 'succeeded');
    expect((await attemptsOf(eventIdOf(receiver.received[1]!))).map((a) => [a.attempt, a.success])).toEqual([[1, true]]);

    await second.stop();

    // A sender that died holding a lease: its delivery waits for the lease to expire, then goes.
    await company('Orphaned');
    const leaseUntil = new Date(t.clock.now().getTime() + MINUTE).toISOString();
    await t.store.db.updateTable('webhook_deliveries').set({ lease_owner: 'dead-host:1:0', lease_expires: leaseUntil }).where('status', '=', 'pending').execute();
    await sender.settle();
    expect(receiver.received).toHaveLength(2);
    t.clock.advance(MINUTE + SECOND);
    await sender.settle();
    expect(receiver.received).toHaveLength(3);
    expect(JSON.parse(receiver.received[2]!.body).payload.name).toBe('Orphaned');
  });

  it('two senders claim disjoint deliveries: each message is sent once', async () => {
    await subscribe(t, `${receiver.url}/a`, ['company.created']);
    await subscribe(t, `${receiver.url}/b`, ['company.created']);
    for (let i = 0; i < 15; i++) await company(`Parallel ${i}`);
    const second = createSender(t, { perConsumer: 2 });
    others.push(second);
    const third = createSender(t, { perConsumer: 3 });
    others.push(third);
    await Promise.all([sender.settle(), second.settle(), third.settle()]);
    expect(receiver.received).toHaveLength(30);
    expect(receiver.unique()).toHaveLength(30);
  });

  it('an endpoint failing for 5 days is disabled, shows it, and gets nothing more; a healthy one is unaffected', async () => {
    const dead = await subscribe(t, `${receiver.url}/dead`, ['company.created']);
    const healthy = await subscribe(t, `${receiver.url}/ok`, ['company.created']);
    receiver.answer = (r) => (r.path === '/hooks/dead' ? 503 : 200);
    const start = t.clock.now().getTime();
    // An event every 12 hours keeps attempts going past any single message's 28-hour schedule.
    let disabledAt: number | undefined;
    for (let half = 0; half < 12 && disabledAt === undefined; half++) {
      await company(`Day ${half / 2}`);
      await advanceUntil(t, sender, new Date(start + (half + 1) * 12 * HOUR));
      const list = (await t.call('GET', '/webhooks')).json().results as { id: string; disabled: boolean }[];
      if (list.find((c) => c.id === dead.id)!.disabled) disabledAt = t.clock.now().getTime();
      expect(list.find((c) => c.id === healthy.id)!.disabled).toBe(false);
    }
    expect(disabledAt).toBeDefined();
    const row = await t.store.db.selectFrom('webhook_consumers').selectAll().where('id', '=', dead.id).executeTakeFirstOrThrow();
    expect(Date.parse(row.disabled_at!) - Date.parse(row.failing_since!)).toBeGreaterThanOrEqual(5 * DAY);
    expect(Date.parse(row.disabled_at!) - start).toBeLessThan(6 * DAY);
    const lastAttempts = (await t.call('GET', `/webhooks/${dead.id}/attempts?pageSize=1`)).json();
    expect(lastAttempts.results[0]).toMatchObject({ success: false, statusCode: 503, error: 'HTTP 503' });
    expect(Date.parse(lastAttempts.results[0].timestamp) - start).toBeGreaterThanOrEqual(5 * DAY);

    // Disabled: nothing queued for it, nothing attempted.
    const attemptsBefore = lastAttempts.totalResults;
    const pendingBefore = (await deliveries(dead.id)).length;
    await company('After disabling');
    await advanceUntil(t, sender, new Date(t.clock.now().getTime() + 2 * DAY));
    expect((await deliveries(dead.id)).length).toBe(pendingBefore);
    expect((await t.call('GET', `/webhooks/${dead.id}/attempts`)).json().totalResults).toBe(attemptsBefore);
    expect(receiver.unique().filter((r) => r.path === '/hooks/ok').map((r) => JSON.parse(r.body).payload.name)).toContain('After disabling');
  });

  it('honours Retry-After on 429 and 503; does not follow redirects; times out; refuses private targets when not allowed', async () => {
    const sub = await subscribe(t, receiver.url, ['company.created']);
    const httpDate = (ms: number) => new Date(t.clock.now().getTime() + ms).toUTCString();
    const answers: ((r: unknown) => ReturnType<Receiver['answer']>)[] = [
      () => ({ status: 429, headers: { 'retry-after': '600' } }),
      () => ({ status: 503, headers: { 'retry-after': httpDate(2 * HOUR) } }),
      () => ({ status: 302, headers: { location: '/elsewhere' } }),
    ];
    let n = 0;
    receiver.answer = (r) => answers[n++]?.(r) ?? 200;
    await company('Polite');
    const [d] = await deliveries(sub.id);
    await sender.settle();
    const start = t.clock.now().getTime();
    let [row] = await deliveries(sub.id);
    expect(Date.parse(row!.next_attempt_at) - start).toBe(10 * MINUTE); // not 5 s
    t.clock.advance(10 * MINUTE);
    await sender.settle();
    [row] = await deliveries(sub.id);
    expect(Date.parse(row!.next_attempt_at) - t.clock.now().getTime()).toBe(2 * HOUR); // not 5 min
    t.clock.advance(2 * HOUR);
    await sender.settle();
    expect(receiver.received.map((r) => r.path)).toEqual(['/hooks', '/hooks', '/hooks']); // no request to /elsewhere
    const log = await attemptsOf(d!.event_id);
    expect(log[0]).toMatchObject({ attempt: 3, statusCode: 302, success: false, error: 'redirect (302) not followed' });
    expect(log[2]).toMatchObject({ attempt: 1, statusCode: 429, error: 'HTTP 429', durationMs: expect.any(Number) });

    // A receiver that never answers: the attempt fails at the timeout (shortened here from 15 s).
    receiver.answer = () => 'hang';
    const quick = createSender(t, { timeoutMs: 300 });
    others.push(quick);
    t.clock.advance(30 * MINUTE);
    await quick.settle();
    expect((await attemptsOf(d!.event_id))[0]).toMatchObject({ attempt: 4, success: false, error: 'timeout after 0.3 s' });
    expect((await attemptsOf(d!.event_id))[0].statusCode).toBeUndefined();

    // Private and loopback targets are refused at delivery unless allowed (names are checked once resolved).
    const strict = createSender(t, { allowPrivate: false });
    others.push(strict);
    const named = await subscribe(t, `http://localhost:${receiver.port}/named`, ['company.created']);
    await clearConsumersExcept(named.id);
    const before = receiver.received.length;
    await company('Strict');
    await strict.settle();
    expect(receiver.received.length).toBe(before);
    const [refused] = (await t.call('GET', `/webhooks/${named.id}/attempts`)).json().results;
    expect(refused).toMatchObject({ success: false, attempt: 1 });
    expect(refused.error).toMatch(/^address refused: localhost is a loopback address/);
  });

  it('never logs the secret or URL credentials; reads a large response only up to a limit and logs its first 1 KiB; a consumer deleted mid-request is no error', async () => {
    const lines: string[] = [];
    const log = createLogger('trace', { write: (line: string) => void lines.push(line) });
    const logged = createSender(t, {}, log);
    others.push(logged);
    const sub = await subscribe(t, `http://hook-user:hook-pass@127.0.0.1:${receiver.port}/cred`, ['company.created']);
    receiver.answer = () => ({ status: 500, body: 'database is down\u0000 (é)' });
    await company('Logged');
    await logged.settle();
    receiver.answer = () => ({ status: 200, body: 'x'.repeat(2_000_000) });
    t.clock.advance(5 * SECOND);
    await logged.settle();
    expect(receiver.received[0]!.headers.authorization).toBe(`Basic ${Buffer.from('hook-user:hook-pass').toString('base64')}`);
    const [d] = await deliveries(sub.id);
    expect(d).toMatchObject({ status: 'succeeded', attempts: 2 });
    // The delivery log keeps each answer's first RESPONSE_BODY_KEEP_BYTES bytes as text (NUL replaced: PostgreSQL
    // text cannot hold it), and says when there was more.
    const answers = (await t.call('GET', `/webhooks/${sub.id}/attempts`)).json().results as any[];
    expect(answers.map((a) => [a.attempt, a.statusCode, a.responseBody, a.responseBodyTruncated])).toEqual([
      [2, 200, 'x'.repeat(RESPONSE_BODY_KEEP_BYTES), true],
      [1, 500, 'database is down\uFFFD (é)', false],
    ]);

    receiver.answer = () => 'hang';
    await company('Vanishing');
    logged.start();
    await waitFor(async () => receiver.received.length === 3, 5000, 'the hanging request');
    expect((await t.call('DELETE', `/webhooks/${sub.id}`)).statusCode).toBe(204);
    receiver.release(200);
    await waitFor(async () => logged.activeCount === 0, 5000, 'the request to end');
    expect(await t.store.db.selectFrom('webhook_attempts').selectAll().where('consumer_id', '=', sub.id).execute()).toEqual([]);

    const all = lines.join('');
    expect(lines.length).toBeGreaterThanOrEqual(3);
    expect(all).toContain('webhook attempt failed; will retry');
    expect(all).not.toContain(sub.secret.slice('whsec_'.length));
    expect(all).not.toContain('hook-pass');
    expect(lines.filter((l) => JSON.parse(l).level >= 50)).toEqual([]);
  });

  const clearConsumersExcept = (id: string) => t.store.db.deleteFrom('webhook_consumers').where('id', '!=', id).execute();

  it('a slow or dead endpoint does not delay the others', async () => {
    await subscribe(t, `${receiver.url}/slow`, ['company.created']);
    await subscribe(t, `${receiver.url}/fast`, ['company.created']);
    receiver.answer = (r) => (r.path === '/hooks/slow' ? 'hang' : 200);
    for (let i = 0; i < 20; i++) await company(`Burst ${i}`);
    const live = createSender(t, { perConsumer: 4, maxInFlight: 16 });
    others.push(live);
    live.start();
    // A hanging request is given up only after DELIVERY_TIMEOUT_MS (15 s): had the slow endpoint's requests held up the
    // fast one's, the 20 deliveries could not all arrive before this 10 s deadline (no wall-clock assertion needed).
    expect(DELIVERY_TIMEOUT_MS).toBeGreaterThan(10_000);
    await waitFor(async () => receiver.received.filter((r) => r.path === '/hooks/fast').length === 20, 10_000, 'the fast endpoint');
    // The slow endpoint holds only its own share of requests.
    expect(receiver.received.filter((r) => r.path === '/hooks/slow')).toHaveLength(4);
    receiver.answer = () => 200;
    receiver.release(200);
    await waitFor(async () => receiver.unique().filter((r) => r.path === '/hooks/slow').length === 20, 10_000, 'the slow endpoint');
  });

  it('delivery log per consumer and per event; replay one event; recover every failed one since a time; delete cancels', async () => {
    const a = await subscribe(t, `${receiver.url}/a`, ['company.created']);
    const b = await subscribe(t, `${receiver.url}/b`, ['company.created']);
    receiver.answer = (r) => (r.path === '/hooks/a' ? 500 : 200);
    const start = t.clock.now().getTime();
    await company('Logged 1');
    await company('Logged 2');
    // All 8 attempts to /a fail: about 28 hours.
    await advanceUntil(t, sender, new Date(start + 30 * HOUR));
    const failed = await deliveries(a.id);
    expect(failed.every((d) => d.status === 'failed' && d.attempts === 8)).toBe(true);
    const failedAt = failed.map((d) => Date.parse(d.failed_at!) - start);
    expect(failedAt.every((ms) => ms === 5 * SECOND + 5 * MINUTE + 30 * MINUTE + 2 * HOUR + 5 * HOUR + 10 * HOUR + 10 * HOUR)).toBe(true);

    const eventId = failed[0]!.event_id;
    const perConsumer = (await t.call('GET', `/webhooks/${a.id}/attempts?pageSize=5`)).json();
    expect(perConsumer.totalResults).toBe(16);
    expect(perConsumer.results).toHaveLength(5);
    expect(perConsumer._links.next.href).toBe(`/webhooks/${a.id}/attempts?page=2&pageSize=5`);
    expect(perConsumer.results[0]).toEqual({
      id: expect.any(String),
      webhookId: a.id,
      eventId: expect.any(String),
      eventType: 'company.created',
      attempt: 8,
      timestamp: expect.any(String),
      statusCode: 500,
      durationMs: expect.any(Number),
      success: false,
      error: 'HTTP 500',
      responseBody: 'ok',
      responseBodyTruncated: false,
    });
    const oneEvent = (await t.call('GET', `/webhooks/${a.id}/attempts?eventId=${eventId}`)).json().results;
    expect(oneEvent.map((x: { attempt: number }) => x.attempt)).toEqual([8, 7, 6, 5, 4, 3, 2, 1]);
    const acrossConsumers = (await t.call('GET', `/webhooks/events/${eventId}/attempts`)).json().results;
    expect(acrossConsumers).toHaveLength(9);
    expect(acrossConsumers.filter((x: { webhookId: string }) => x.webhookId === b.id)).toEqual([
      expect.objectContaining({ attempt: 1, success: true, statusCode: 200 }),
    ]);
    expect(acrossConsumers[0].timestamp >= acrossConsumers[8].timestamp).toBe(true);

    // Replay one: same webhook-id, a fresh schedule (attempt 1 again).
    receiver.answer = () => 200;
    const before = receiver.received.filter((r) => r.path === '/hooks/a');
    const replay = await t.call('POST', `/webhooks/${a.id}/events/${eventId}/replay`);
    expect(replay.statusCode).toBe(202);
    expect(replay.body).toBe('');
    await sender.settle();
    const replayed = receiver.received.filter((r) => r.path === '/hooks/a').slice(before.length);
    expect(replayed).toHaveLength(1);
    expect(eventIdOf(replayed[0]!)).toBe(eventId);
    expect(replayed[0]!.headers['webhook-id']).toBe(before.find((r) => eventIdOf(r) === eventId)!.headers['webhook-id']);
    expect((await t.call('GET', `/webhooks/${a.id}/attempts?eventId=${eventId}&pageSize=1`)).json().results[0]).toMatchObject({ attempt: 1, success: true });

    // Recover: every delivery that failed at or after `since`; one that failed earlier is left alone.
    const since = new Date(start + failedAt[0]! + 1).toISOString();
    expect((await t.call('POST', `/webhooks/${a.id}/recover`, { since })).statusCode).toBe(202);
    await sender.settle();
    expect(receiver.received.filter((r) => r.path === '/hooks/a')).toHaveLength(before.length + 1);
    const recover = await t.call('POST', `/webhooks/${a.id}/recover`, { since: new Date(start).toISOString() });
    expect(recover.statusCode).toBe(202);
    await sender.settle();
    expect(receiver.unique().filter((r) => r.path === '/hooks/a').length).toBe(2);
    expect((await deliveries(a.id)).every((d) => d.status === 'succeeded')).toBe(true);

    // Deleting a consumer cancels its pending deliveries.
    receiver.answer = () => 500;
    await company('Cancelled');
    await sender.settle();
    expect((await deliveries(b.id)).some((d) => d.status === 'pending')).toBe(true);
    expect((await t.call('DELETE', `/webhooks/${b.id}`)).statusCode).toBe(204);
    expect(await deliveries(b.id)).toEqual([]);
  });
});

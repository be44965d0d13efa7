/**
 * SQLite has no NOTIFY: a sender is woken in-process when this process writes deliveries (issue 17), instead of
 * finding them at its next poll. The poll here is ten minutes, so a delivery arriving at all within the wait proves
 * the wake-up (no timing is asserted). The wake-up a busy loop would miss is kept for its next wait.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from '../../test/support/app.js';
import { waitFor } from '../../test/support/engine.js';
import { Receiver, allowPrivateTargets, createSender, subscribe } from '../../test/support/webhooks.js';
import { Wakeup } from '../lib/wakeup.js';
import { createLogger } from '../lib/logger.js';

const TEN_MINUTES = 10 * 60_000;

describe('webhook sender wake-up [sqlite]', () => {
  let t: TestApp;
  let receiver: Receiver;
  beforeAll(async () => {
    t = await createTestApp('sqlite');
    allowPrivateTargets(t);
    receiver = await new Receiver(() => t.clock.now()).start();
  });
  afterAll(async () => {
    await receiver.stop();
    await t.close();
  });

  it('an event committed in this process is sent without waiting for the poll', async () => {
    await subscribe(t, receiver.url, ['company.created']);
    const sender = createSender(t, { pollMs: TEN_MINUTES });
    sender.start();
    try {
      // Idle: its first look found nothing and it now waits for the ten-minute poll.
      await new Promise((r) => setTimeout(r, 100));
      for (const name of ['Woken', 'Woken again']) {
        expect((await t.call('POST', '/companies', { name })).statusCode).toBe(200);
        await waitFor(async () => receiver.received.some((r) => JSON.parse(r.body).payload.name === name), 20_000, `${name} delivered`);
      }
      expect(receiver.received).toHaveLength(2);
    } finally {
      await sender.stop();
    }
  });

  it('a stopped sender unsubscribes: events written after its stop are not sent and writing them does not fail', async () => {
    const sender = createSender(t, { pollMs: TEN_MINUTES });
    sender.start();
    await sender.stop();
    // Written after the stop: nobody sends it, and writing it does not fail.
    expect((await t.call('POST', '/companies', { name: 'After stop' })).statusCode).toBe(200);
    expect(receiver.received.some((r) => JSON.parse(r.body).payload.name === 'After stop')).toBe(false);
  });
});

describe('Wakeup', () => {
  it('a notify while nobody waits makes the next wait return at once, once', async () => {
    const w = new Wakeup(createLogger('silent'), undefined, 'unused');
    w.notify();
    let first = false;
    void w.wait(TEN_MINUTES).then(() => (first = true));
    await new Promise((r) => setImmediate(r));
    expect(first).toBe(true);
    // Consumed: the next wait really waits (until notified).
    let second = false;
    void w.wait(TEN_MINUTES).then(() => (second = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(second).toBe(false);
    w.notify();
    await new Promise((r) => setImmediate(r));
    expect(second).toBe(true);
  });
});

/**
 * Emission points (sync-behaviour.md §11) and body shapes (webhooks.md §3, §5), end to end: API calls and a worker
 * pool cause events, the sender POSTs them to a real receiver on a loopback port, and the bodies are checked there.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DIALECTS } from '../../test/support/stores.js';
import { createTestApp, type TestApp } from '../../test/support/app.js';
import { startEngine, type Engine } from '../../test/support/engine.js';
import { Receiver, allowPrivateTargets, clearConsumers, createSender, subscribe, verify } from '../../test/support/webhooks.js';
import { AuthRevokedError, FetchFailedError } from '../connectors/connector.js';
import { ACCOUNTING_READ_TYPES } from '../domain/data-types.js';
import { CURRENT_EVENT_TYPES, LEGACY_EVENT_TYPES } from '../domain/webhook-events.js';
import { emitEvents } from '../store/webhook-outbox.js';
import type { WebhookSender } from './sender.js';

const ALL = [...CURRENT_EVENT_TYPES, ...Object.keys(LEGACY_EVENT_TYPES)];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const HOUR = 3_600_000;

describe.each(DIALECTS)('webhook events [%s]', (dialect) => {
  let t: TestApp;
  let receiver: Receiver;
  let sender: WebhookSender;
  let engine: Engine;

  beforeAll(async () => {
    t = await createTestApp(dialect, { xero: true });
    allowPrivateTargets(t);
    receiver = await new Receiver(() => t.clock.now()).start();
    sender = createSender(t);
  });
  afterAll(async () => {
    await sender.stop();
    await receiver.stop();
    await t.close();
  });
  beforeEach(async () => {
    await clearConsumers(t);
    receiver.received.length = 0;
    engine = startEngine(t);
  });
  afterEach(async () => {
    await engine.stop();
    await t.store.db
      .updateTable('datasets')
      .set({ status: 'Cancelled', completed: t.clock.now().toISOString(), lease_owner: null, run_slot: null })
      .where('status', 'in', ['Queued', 'Fetching', 'Processing'])
      .execute();
  });

  // Delivery order is not guaranteed (webhooks.md §4.2); bodies are compared in generation order (the outbox's seq).
  let generation = new Map<string, number>();
  const settle = async () => {
    await sender.settle();
    const rows = await t.store.db.selectFrom('webhook_events').select(['id', 'seq']).execute();
    generation = new Map(rows.map((r) => [r.id, Number(r.seq)]));
  };
  /** Lets the workers finish, then sends everything due. */
  const deliver = async () => {
    await engine.pool.drain();
    await settle();
  };
  const at = (path: string) => receiver.unique().filter((r) => r.path === path);
  const bodies = (path: string) =>
    at(path)
      .map((r) => JSON.parse(r.body))
      .sort((a, b) => generation.get(a.id ?? a.AlertId)! - generation.get(b.id ?? b.AlertId)!);
  const ofType = (path: string, type: string) => bodies(path).filter((b) => b.eventType === type);
  const legacy = (path: string, ruleType: string) => bodies(path).filter((b) => b.RuleType === ruleType);
  const verifyAll = (path: string, secret: string) => {
    for (const r of at(path)) verify(secret, r, new Date(r.at));
  };
  const newCompany = async (body: Record<string, unknown> = { name: 'Toft stores' }) => (await t.call('POST', '/companies', body)).json();
  const newConnection = async (companyId: string, platformKey = 'mqjo') => (await t.call('POST', `/companies/${companyId}/connections`, { platformKey })).json();
  const link = async (companyId: string, connectionId: string) => {
    const res = await t.app.inject({ method: 'GET', url: `/link/companies/${companyId}/connections/${connectionId}/start` });
    expect(res.statusCode).toBe(302);
  };
  const syncOrder = async () => {
    const profile = (await t.call('GET', '/profile/syncSettings')).json();
    return (profile.settings as { dataType: string }[]).map((s) => s.dataType).filter((d) => (ACCOUNTING_READ_TYPES as readonly string[]).includes(d));
  };

  it('company, connection and read events carry the documented current-style bodies', async () => {
    const sub = await subscribe(t, `${receiver.url}/all`, ALL);
    const company = await newCompany({ name: 'Toft stores', description: 'Garden centre', tags: { region: 'uk' } });
    const conn = await newConnection(company.id);
    engine.connector.seed('invoices', 3);
    await link(company.id, conn.id);
    await deliver();
    verifyAll('/hooks/all', sub.secret);
    const now = t.clock.now().toISOString();

    const [created] = ofType('/hooks/all', 'company.created');
    expect(created).toEqual({
      id: expect.stringMatching(UUID),
      eventType: 'company.created',
      generatedDate: now,
      payload: {
        id: company.id,
        name: 'Toft stores',
        description: 'Garden centre',
        redirect: company.redirect,
        created: company.created,
        createdByUserName: null,
        products: [],
        tags: { region: 'uk' },
      },
    });
    const reference = { id: company.id, name: 'Toft stores', description: 'Garden centre', tags: { region: 'uk' } };
    expect(ofType('/hooks/all', 'connection.created')).toEqual([
      { id: expect.stringMatching(UUID), eventType: 'connection.created', generatedDate: now, payload: { referenceCompany: reference, connection: conn } },
    ]);
    const current = (await t.call('GET', `/companies/${company.id}/connections/${conn.id}`)).json();
    const [connected] = ofType('/hooks/all', 'connection.connected');
    expect(connected.payload.referenceCompany).toEqual(reference);
    // The state right after the change: Linked, before any pull ended (so no lastSync yet).
    const { lastSync: _l, ...linkedState } = current;
    expect(connected.payload.connection).toEqual(linkedState);
    expect(connected.payload.connection.status).toBe('Linked');

    const order = await syncOrder();
    const [read] = ofType('/hooks/all', 'read.completed');
    const [initial] = ofType('/hooks/all', 'read.completed.initial');
    expect(read.id).not.toBe(initial.id);
    expect(initial.payload).toEqual(read.payload);
    expect(read.payload).toEqual({
      referenceCompany: reference,
      // no modifiedFromDate: no type had an earlier successful pull (omitted, never null)
      dataTypes: order.map((dataType) => ({ connectionId: conn.id, dataType, recordsModified: dataType === 'invoices', status: 'Complete' })),
    });
    expect(ofType('/hooks/all', 'read.completed')).toHaveLength(1);

    // A refresh-all an hour later: one read, not initial, modifiedFromDate = the earliest previous success.
    const firstCompleted = (await t.call('GET', `/companies/${company.id}/dataStatus`)).json().invoices.lastSuccessfulSync;
    t.clock.advance(HOUR);
    engine.connector.upsert('invoices', 'new-1', { name: 'later', amount: 1 });
    engine.connector.upsert('customers', 'c-1', { name: 'customer' });
    expect((await t.call('POST', `/companies/${company.id}/data/all`)).statusCode).toBe(204);
    await deliver();
    verifyAll('/hooks/all', sub.secret);
    const reads = ofType('/hooks/all', 'read.completed');
    expect(reads).toHaveLength(2);
    expect(reads[1].payload).toEqual({
      referenceCompany: reference,
      modifiedFromDate: firstCompleted,
      dataTypes: order.map((dataType) => ({
        connectionId: conn.id,
        dataType,
        recordsModified: dataType === 'invoices' || dataType === 'customers',
        status: 'Complete',
      })),
    });
    expect(reads[1].generatedDate).toBe(t.clock.now().toISOString());
    expect(ofType('/hooks/all', 'read.completed.initial')).toHaveLength(1);
    expect(legacy('/hooks/all', 'New company synchronized')).toHaveLength(1);
  });

  it('legacy events carry the PascalCase bodies, RuleId = consumer, AlertId = event id', async () => {
    const names = ['Data sync completed', 'dataset data changed', 'Dataset status has changed to an error state', 'Company data connection status changed', 'New company synchronized'];
    const sub = await subscribe(t, `${receiver.url}/legacy`, names);
    const clientId = (await t.call('GET', '/profile/syncSettings')).json().clientId;
    const company = await newCompany({ name: 'Legacy Co' });
    const conn = await newConnection(company.id);
    engine.connector.seed('invoices', 2);
    await link(company.id, conn.id);
    await deliver();
    verifyAll('/hooks/legacy', sub.secret);
    const envelope = { ClientId: clientId, ClientName: 'Syncline Test', CompanyId: company.id, DataConnectionId: conn.id, RuleId: sub.id };

    expect(legacy('/hooks/legacy', 'DataConnectionStatusChanged')).toEqual([
      {
        ...envelope,
        RuleType: 'DataConnectionStatusChanged',
        AlertId: expect.stringMatching(UUID),
        Message: 'Data connection for Sandbox status changed from PendingAuth to Linked',
        Data: { dataConnectionId: conn.id, newStatus: 'Linked', oldStatus: 'PendingAuth', platformKey: 'mqjo' },
      },
    ]);
    const history = (await t.call('GET', `/companies/${company.id}/data/history?pageSize=100`)).json().results as { id: string; dataType: string }[];
    const completed = legacy('/hooks/legacy', 'Data sync completed');
    expect(completed).toHaveLength(ACCOUNTING_READ_TYPES.length);
    const invoices = history.find((h) => h.dataType === 'invoices')!;
    expect(completed.find((b) => b.Data.dataType === 'invoices')).toEqual({
      ...envelope,
      RuleType: 'Data sync completed',
      AlertId: expect.stringMatching(UUID),
      Message: `Data sync of type invoices completed for company ${company.id}`,
      Data: { dataType: 'invoices', datasetId: invoices.id },
    });
    expect(legacy('/hooks/legacy', 'Dataset data changed')).toEqual([
      {
        ...envelope,
        RuleType: 'Dataset data changed',
        AlertId: expect.stringMatching(UUID),
        Message: `Data has changed for dataset type invoices, company ${company.id}`,
        Data: { dataType: 'invoices', datasetId: invoices.id },
      },
    ]);
    expect(legacy('/hooks/legacy', 'New company synchronized')).toEqual([
      {
        ...envelope,
        RuleType: 'New company synchronized',
        AlertId: expect.stringMatching(UUID),
        Message: `Company ${company.id} synced for the first time`,
        Data: { companyName: company.id, sourceType: 'Accounting' },
      },
    ]);
    const alertIds = bodies('/hooks/legacy').map((b) => b.AlertId);
    expect(new Set(alertIds).size).toBe(alertIds.length);

    // An error status.
    engine.connector.behaviour.failAt = { page: 0, error: new FetchFailedError('platform answered 503', 503) };
    const failed = (await t.call('POST', `/companies/${company.id}/data/queue/invoices`)).json();
    await deliver();
    const op = (await t.call('GET', `/companies/${company.id}/data/history/${failed.id}`)).json();
    expect(op.status).toBe('FetchError');
    expect(legacy('/hooks/legacy', 'Data Sync Status Changed To Error')).toEqual([
      {
        ...envelope,
        RuleType: 'Data Sync Status Changed To Error',
        AlertId: expect.stringMatching(UUID),
        Message: `ERROR: syncing invoices triggered a FetchError notification at ${op.completed}.`,
        Data: { dataType: 'invoices', datasetStatus: 'FetchError', datasetId: failed.id },
      },
    ]);
    engine.connector.behaviour.failAt = undefined;

    // Unlink and re-link: two more status changes, the initial read again, but NewCompanySynchronized only once.
    expect((await t.call('PATCH', `/companies/${company.id}/connections/${conn.id}`, { status: 'Unlinked' })).statusCode).toBe(200);
    // The client re-links it (the browser Link page may not undo an unlink).
    expect((await t.call('PUT', `/companies/${company.id}/connections/${conn.id}/authorization`, {})).statusCode).toBe(200);
    await deliver();
    expect(legacy('/hooks/legacy', 'DataConnectionStatusChanged').map((b) => [b.Data.oldStatus, b.Data.newStatus])).toEqual([
      ['PendingAuth', 'Linked'],
      ['Linked', 'Unlinked'],
      ['Unlinked', 'Linked'],
    ]);
    expect(legacy('/hooks/legacy', 'Data sync completed')).toHaveLength(2 * ACCOUNTING_READ_TYPES.length);
    expect(legacy('/hooks/legacy', 'New company synchronized')).toHaveLength(1);
    expect(bodies('/hooks/legacy').every((b) => b.eventType === undefined)).toBe(true);
  });

  it('connection lifecycle: disconnected (unlinked, deauthorized), reconnected, failed, deleted; company.deleted after its connections', async () => {
    const sub = await subscribe(t, `${receiver.url}/life`, ['connection.disconnected', 'connection.reconnected', 'connection.failed', 'connection.deleted', 'company.deleted']);
    const company = await newCompany({ name: 'Lifecycle Co', tags: { tier: 'gold' } });
    const conn = await newConnection(company.id);
    await link(company.id, conn.id);
    await deliver();
    expect(bodies('/hooks/life')).toEqual([]); // connected is not subscribed

    await t.call('PATCH', `/companies/${company.id}/connections/${conn.id}`, { status: 'Unlinked' });
    expect((await t.call('PUT', `/companies/${company.id}/connections/${conn.id}/authorization`, {})).statusCode).toBe(200);
    await deliver();
    expect(ofType('/hooks/life', 'connection.disconnected').map((b) => b.payload.connection.status)).toEqual(['Unlinked']);
    expect(ofType('/hooks/life', 'connection.reconnected').map((b) => b.payload.connection.status)).toEqual(['Linked']);

    // Access lost: Linked → Deauthorized, with the reason in dataConnectionErrors.
    engine.connector.behaviour.failAt = { page: 0, error: new AuthRevokedError('invalid_grant', 400) };
    await t.call('POST', `/companies/${company.id}/data/queue/invoices`);
    await deliver();
    engine.connector.behaviour.failAt = undefined;
    const deauth = ofType('/hooks/life', 'connection.disconnected')[1];
    expect(deauth.payload.connection.status).toBe('Deauthorized');
    expect(deauth.payload.connection.dataConnectionErrors[0]).toMatchObject({ statusCode: '400', errorMessage: 'invalid_grant', status: 'Active' });

    // A failed authorization: status unchanged.
    const xero = await newConnection(company.id, 'gbol');
    expect((await t.call('PUT', `/companies/${company.id}/connections/${xero.id}/authorization`, { tenantId: 't' })).statusCode).toBe(400);
    await settle();
    expect(ofType('/hooks/life', 'connection.failed').map((b) => [b.payload.connection.id, b.payload.connection.status])).toEqual([[xero.id, 'PendingAuth']]);

    // Deleting one connection, then the company (with the other): connection.deleted each, company.deleted last.
    const before = (await t.call('GET', `/companies/${company.id}/connections/${xero.id}`)).json();
    expect((await t.call('DELETE', `/companies/${company.id}/connections/${xero.id}`)).statusCode).toBe(200);
    const lastState = (await t.call('GET', `/companies/${company.id}/connections/${conn.id}`)).json();
    const companyBefore = (await t.call('GET', `/companies/${company.id}`)).json();
    t.clock.advance(1000);
    expect((await t.call('DELETE', `/companies/${company.id}`)).statusCode).toBe(204);
    await settle();
    verifyAll('/hooks/life', sub.secret);
    const deleted = ofType('/hooks/life', 'connection.deleted');
    expect(deleted.map((b) => b.payload.connection)).toEqual([before, lastState]);
    expect(deleted[1].payload.referenceCompany).toEqual({ id: company.id, name: 'Lifecycle Co', tags: { tier: 'gold' } });
    const [gone] = ofType('/hooks/life', 'company.deleted');
    const { dataConnections: _dc, ...details } = companyBefore;
    expect(gone.payload).toEqual(details);
    // Generated in that order, in the delete's transaction.
    const order = await t.store.db
      .selectFrom('webhook_events')
      .select(['event_type', 'generated_at'])
      .where('company_id', '=', company.id)
      .where('event_type', 'in', ['connection.deleted', 'company.deleted'])
      .orderBy('seq')
      .execute();
    expect(order.map((e) => e.event_type)).toEqual(['connection.deleted', 'connection.deleted', 'company.deleted']);
    expect(new Set(order.slice(1).map((e) => e.generated_at)).size).toBe(1);
  });

  it('delivers only what matches each consumer: event types, company tags, disabled, created later', async () => {
    await subscribe(t, `${receiver.url}/any`, ['company.created']);
    await subscribe(t, `${receiver.url}/us`, ['company.created', 'company.deleted'], { companyTags: ['region:us', 'service:t2k'] });
    await subscribe(t, `${receiver.url}/reads`, ['read.completed'], { companyTags: ['region:us'] });
    await subscribe(t, `${receiver.url}/off`, ['company.created'], { disabled: true });
    const us = await newCompany({ name: 'US minerva', tags: { region: 'us', service: 'minerva' } });
    const uk = await newCompany({ name: 'UK', tags: { region: 'uk' } });
    const none = await newCompany({ name: 'Untagged' });
    const upper = await newCompany({ name: 'Case', tags: { region: 'US' } });
    await t.call('DELETE', `/companies/${uk.id}`);
    await settle();
    const late = await subscribe(t, `${receiver.url}/late`, ['company.created', 'company.deleted']);
    await t.call('DELETE', `/companies/${none.id}`);
    await settle();

    const names = (path: string) => bodies(path).map((b) => `${b.eventType}:${b.payload.name}`);
    expect(names('/hooks/any').sort()).toEqual([us, uk, none, upper].map((c) => `company.created:${c.name}`).sort());
    expect(names('/hooks/us')).toEqual(['company.created:US minerva']);
    expect(names('/hooks/reads')).toEqual([]);
    expect(names('/hooks/off')).toEqual([]);
    expect(names('/hooks/late')).toEqual(['company.deleted:Untagged']);
    expect(late.id).toMatch(UUID);
  });

  it('a rolled-back change sends nothing; one that committed is sent even by a sender started afterwards', async () => {
    await subscribe(t, `${receiver.url}/tx`, ALL);
    const company = await newCompany({ name: 'Tx Co' });
    const conn = await newConnection(company.id);
    await link(company.id, conn.id);
    await deliver();
    const eventsBefore = await t.store.db.selectFrom('webhook_events').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    const received = receiver.received.length;

    // The unlink's side effect fails: the status change and its events roll back together.
    await expect(
      t.ctx.repos.connections.transition(conn.id, 'Linked', 'Unlinked', t.clock.now().toISOString(), 'test', {}, async () => {
        throw new Error('side effect failed');
      }),
    ).rejects.toThrow('side effect failed');
    // Any event written in a transaction that rolls back is gone with it.
    await expect(
      t.store.db.transaction().execute(async (trx) => {
        await emitEvents(trx, [{ type: 'company.created', companyId: company.id, connectionId: null, tags: {}, data: {} }], t.clock.now().toISOString());
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    await settle();
    expect((await t.call('GET', `/companies/${company.id}/connections/${conn.id}`)).json().status).toBe('Linked');
    const eventsAfter = await t.store.db.selectFrom('webhook_events').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    expect(Number(eventsAfter.n)).toBe(Number(eventsBefore.n));
    expect(receiver.received.length).toBe(received);

    // Committed but not yet sent when "the process dies": a sender started later sends it.
    await t.call('PATCH', `/companies/${company.id}/connections/${conn.id}`, { status: 'Unlinked' });
    const fresh = createSender(t);
    try {
      await fresh.settle();
    } finally {
      await fresh.stop();
    }
    expect(ofType('/hooks/tx', 'connection.disconnected')).toHaveLength(1);
  });

  it('datasets the sweeper fails (their workers kept dying) emit their events and complete their read', async () => {
    await subscribe(t, `${receiver.url}/swept`, ['DataSyncStatusChangedToError', 'read.completed']);
    const company = await newCompany({ name: 'Swept' });
    const conn = await newConnection(company.id);
    engine.connector.behaviour.hang = true;
    await link(company.id, conn.id);
    await engine.stop(); // hands the running one back: every dataset of the read is Queued
    engine.connector.behaviour.hang = false;
    const expired = new Date(t.clock.now().getTime() - 1000).toISOString();
    await t.store.db
      .updateTable('datasets')
      .set({ status: 'Fetching', lease_owner: 'dead-host:1:0', lease_expires: expired, attempts: 3 })
      .where('connection_id', '=', conn.id)
      .execute();
    await engine.sweeper.runOnce();
    await settle();
    const errors = legacy('/hooks/swept', 'Data Sync Status Changed To Error');
    expect(errors).toHaveLength(ACCOUNTING_READ_TYPES.length);
    expect(errors.every((e) => e.Data.datasetStatus === 'InternalError')).toBe(true);
    const [read] = ofType('/hooks/swept', 'read.completed');
    expect(read.payload.dataTypes).toHaveLength(ACCOUNTING_READ_TYPES.length);
    expect(read.payload.dataTypes.every((d: { status: string }) => d.status === 'InternalError')).toBe(true);
  });

  it('read.completed after refresh-all with a worker pool: one per linked connection; queue-time outcomes count', async () => {
    const sub = await subscribe(t, `${receiver.url}/reads`, ['read.completed', 'read.completed.initial']);
    const company = await newCompany({ name: 'Two links' });
    const a = await newConnection(company.id);
    await link(company.id, a.id);
    const b = await newConnection(company.id);
    await link(company.id, b.id);
    const c = await newConnection(company.id); // never linked: ignored by refresh-all
    await deliver();
    expect(ofType('/hooks/reads', 'read.completed.initial').map((e) => e.payload.dataTypes[0].connectionId).sort()).toEqual([a.id, b.id].sort());

    t.clock.advance(HOUR);
    engine.connector.upsert('bills', 'b-1', { name: 'bill' });
    await t.call('POST', `/companies/${company.id}/data/all`);
    await deliver();
    const reads = ofType('/hooks/reads', 'read.completed').slice(2);
    expect(reads.map((e) => e.payload.dataTypes[0].connectionId).sort()).toEqual([a.id, b.id].sort());
    for (const r of reads) {
      expect(r.payload.dataTypes).toHaveLength(ACCOUNTING_READ_TYPES.length);
      expect(r.payload.dataTypes.every((d: { status: string; connectionId: string }) => d.status === 'Complete' && d.connectionId === r.payload.dataTypes[0].connectionId)).toBe(true);
      expect(r.payload.modifiedFromDate).toBeDefined();
      expect(r.payload.dataTypes.filter((d: { recordsModified: boolean }) => d.recordsModified).map((d: { dataType: string }) => d.dataType)).toEqual(['bills']);
    }

    // Outcomes decided at queue time end the read in the queue's own transaction.
    await t.call('POST', `/companies/${company.id}/data/queue/banking-accounts?connectionId=${a.id}`);
    await t.call('POST', `/companies/${company.id}/data/queue/invoices?connectionId=${c.id}`);
    await settle();
    verifyAll('/hooks/reads', sub.secret);
    const immediate = ofType('/hooks/reads', 'read.completed').slice(4);
    expect(immediate.map((e) => e.payload.dataTypes)).toEqual([
      [{ connectionId: a.id, dataType: 'banking-accounts', recordsModified: false, status: 'NotSupported' }],
      [{ connectionId: c.id, dataType: 'invoices', recordsModified: false, status: 'AuthError' }],
    ]);
    expect(immediate.every((e) => !('modifiedFromDate' in e.payload))).toBe(true);
  });
});

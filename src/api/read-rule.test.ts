/**
 * The 409 rule (sync-behaviour.md §10) is written once (read-rule.ts) and every read of one data type asks it: the
 * data routes (list, single record, aged report), record history (versions, change feed) and files (attachments,
 * invoice PDF). Each situation of the rule is set up in the store directly (a company per situation) and every such
 * route is asked, on the company-level and the per-connection path: they all answer alike.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LightMyRequestResponse } from 'fastify';
import { newId } from '../lib/ids.js';
import { newDatasetRow } from '../store/datasets.repository.js';
import { seedLinkedConnections } from '../../test/support/fixtures.js';
import { DIALECTS } from '../../test/support/stores.js';
import { createTestApp, expectErrorShape, type TestApp } from '../../test/support/app.js';

type Answer = { status: number; error?: string };

const NOT_REQUESTED: Answer = { status: 409, error: 'The data set has not been requested.' };
const SYNCING: Answer = { status: 409, error: 'The data set is still syncing.' };
const NOT_SUPPORTED: Answer = { status: 404, error: 'Datatype invoices not supported by platform(s) Sandbox' };
const NOT_SYNCED: Answer = { status: 409, error: 'The data set has not been synced successfully.' };

/** The datasets of invoices each company's connection holds, oldest first, and what a read of invoices answers. */
const SITUATIONS: { name: string; invoices: string[]; answer: Answer | 'served' }[] = [
  // Another type completed: it does not make invoices readable.
  { name: 'never queued', invoices: [], answer: NOT_REQUESTED },
  { name: 'first pull running after a failure', invoices: ['FetchError', 'Fetching'], answer: SYNCING },
  { name: 'first pull queued', invoices: ['Queued'], answer: SYNCING },
  { name: 'newest NotSupported', invoices: ['AuthError', 'NotSupported'], answer: NOT_SUPPORTED },
  { name: 'every pull failed or was cancelled', invoices: ['AuthError', 'FetchError', 'Cancelled'], answer: NOT_SYNCED },
  { name: 'completed once, then failed, then queued again', invoices: ['Complete', 'FetchError', 'Queued'], answer: 'served' },
  { name: 'completed once, newest NotSupported', invoices: ['Complete', 'NotSupported'], answer: 'served' },
];

/** What each read answers once invoices are served (no invoice is stored: single-record reads find none). */
const NO_INVOICE: Answer = { status: 404, error: 'No data available for invoices for ID inv-1' };

/** The reads of invoices, each with what it answers when the type is served. */
function reads(base: string, companyId: string, perConnection: boolean): { path: string; served: Answer }[] {
  const out = [
    { path: `${base}/data/invoices`, served: { status: 200 } },
    { path: `${base}/data/invoices/inv-1`, served: NO_INVOICE },
    { path: `${base}/data/invoices/inv-1/versions`, served: NO_INVOICE },
    { path: `${base}/data/invoices/changes`, served: { status: 200 } },
    { path: `${base}/data/invoices/inv-1/pdf`, served: NO_INVOICE },
  ];
  if (perConnection) out.push({ path: `${base}/data/invoices/inv-1/attachments`, served: NO_INVOICE });
  else out.push({ path: `/companies/${companyId}/reports/agedDebtor?reportDate=2026-03-01`, served: { status: 200 } });
  return out;
}

describe.each(DIALECTS)('the read-availability rule, on every read route [%s]', (dialect) => {
  let t: TestApp;
  const at = '2026-03-01T09:00:00.000Z';
  const companies = SITUATIONS.map(() => ({ companyId: newId(), connectionId: newId() }));
  const bare = newId();
  /** For `reports/agedDebtor/available`: the datasets of its four source types, and whether it answers true. */
  const AVAILABLE: { types: Record<string, string[]>; available: boolean }[] = [
    { types: { customers: ['Complete'], invoices: ['Complete', 'FetchError'], creditNotes: ['NotSupported'], payments: ['AuthError', 'Complete', 'Queued'] }, available: true },
    { types: { customers: ['Complete'], invoices: ['Complete'], creditNotes: ['Complete'], payments: ['FetchError'] }, available: false },
    { types: { customers: ['Complete'], invoices: ['Fetching'], creditNotes: ['Complete'], payments: ['Complete'] }, available: false },
    { types: { invoices: ['Complete'], creditNotes: ['Complete'], payments: ['Complete'] }, available: false },
  ];
  const availableCompanies = AVAILABLE.map(() => ({ companyId: newId(), connectionId: newId() }));

  beforeAll(async () => {
    t = await createTestApp(dialect);
    for (const [i, s] of SITUATIONS.entries()) {
      const { companyId, connectionId } = companies[i]!;
      await seedLinkedConnections(t.store.db, { companyId, connectionIds: [connectionId], at });
      const row = (data_type: string, status: string) =>
        newDatasetRow({ company_id: companyId, connection_id: connectionId, data_type, status, requested: at, read_id: newId(), trigger: 'refresh', settings: '{}' });
      await t.store.db.insertInto('datasets').values(row('bills', 'Complete')).execute();
      for (const status of s.invoices) await t.store.db.insertInto('datasets').values(row('invoices', status)).execute();
    }
    for (const [i, a] of AVAILABLE.entries()) {
      const { companyId, connectionId } = availableCompanies[i]!;
      await seedLinkedConnections(t.store.db, { companyId, connectionIds: [connectionId], at });
      for (const [data_type, statuses] of Object.entries(a.types)) {
        for (const status of statuses) {
          await t.store.db
            .insertInto('datasets')
            .values(newDatasetRow({ company_id: companyId, connection_id: connectionId, data_type, status, requested: at, read_id: newId(), trigger: 'refresh', settings: '{}' }))
            .execute();
        }
      }
    }
    await t.store.db.insertInto('companies').values({ id: bare, name: 'no connection', description: null, tags: '{}', created_at: at }).execute();
  });
  afterAll(async () => t?.close());

  const expectAnswer = (res: LightMyRequestResponse, want: Answer, what: string) => {
    if (want.error === undefined) {
      expect(res.statusCode, `${what}: ${res.body}`).toBe(want.status);
      return;
    }
    let body: Record<string, unknown>;
    try {
      body = expectErrorShape(res, want.status);
    } catch (e) {
      throw new Error(`${what}: ${(e as Error).message}`);
    }
    expect(body.error, what).toBe(want.error);
  };

  it('answers each situation alike on the data, history and files routes, company-level and per connection', async () => {
    let asked = 0;
    for (const [i, s] of SITUATIONS.entries()) {
      const { companyId, connectionId } = companies[i]!;
      for (const perConnection of [false, true]) {
        const base = perConnection ? `/companies/${companyId}/connections/${connectionId}` : `/companies/${companyId}`;
        for (const r of reads(base, companyId, perConnection)) {
          expectAnswer(await t.call('GET', r.path), s.answer === 'served' ? r.served : s.answer, `${s.name}: GET ${r.path}`);
          asked++;
        }
      }
    }
    expect(asked).toBe(SITUATIONS.length * 12);
  });

  it('answers 404 for an unknown company or connection, and 409 not requested for a company without a connection', async () => {
    const unknown = '00000000-0000-4000-8000-000000000000';
    const { companyId } = companies[0]!;
    for (const r of reads(`/companies/${unknown}`, unknown, false)) {
      expect(expectErrorShape(await t.call('GET', r.path), 404).error, r.path).toBe(`No company was found with ID ${unknown}`);
    }
    for (const r of reads(`/companies/${companyId}/connections/${unknown}`, companyId, true)) {
      expect(expectErrorShape(await t.call('GET', r.path), 404).error, r.path).toBe(`Data connection ${unknown} not found`);
    }
    // Another company's connection is not found either.
    const other = companies[1]!.connectionId;
    for (const r of reads(`/companies/${companyId}/connections/${other}`, companyId, true)) {
      expect(expectErrorShape(await t.call('GET', r.path), 404).error, r.path).toBe(`Data connection ${other} not found`);
    }
    for (const r of reads(`/companies/${bare}`, bare, false)) expectAnswer(await t.call('GET', r.path), NOT_REQUESTED, r.path);
  });

  it('reports/agedDebtor/available: every source type completed once, or its newest pull NotSupported', async () => {
    for (const [i, a] of AVAILABLE.entries()) {
      const res = await t.call('GET', `/companies/${availableCompanies[i]!.companyId}/reports/agedDebtor/available`);
      expect(res.statusCode).toBe(200);
      expect(res.json(), JSON.stringify(a.types)).toBe(a.available);
    }
  });
});

/**
 * The admin bulk edit (`POST /admin/tenants/:t/records/:c/bulk-edit`): the same edit of many records at once, seen on
 * the accounting API as edits are (content and UpdatedDateUTC, an If-Modified-Since listing returns exactly them), and
 * all-or-nothing on bad input (4xx in the simulator's error shape, nothing changed).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../lib/clock.js';
import { startSimulator, type Simulator } from './server.js';

async function admin(sim: Simulator, method: string, path: string, body?: unknown, raw?: string) {
  const res = await fetch(`${sim.url}/admin${path}`, { method, headers: { 'content-type': 'application/json' }, ...(raw !== undefined ? { body: raw } : body !== undefined ? { body: JSON.stringify(body) } : {}) });
  return { status: res.status, body: (await res.json().catch(() => undefined)) as any };
}

describe('simulator admin bulk edit', () => {
  const clock = new ManualClock('2026-03-10T09:00:00Z');
  let sim: Simulator;
  let tenantId: string;
  let access: string;
  let ids: string[];

  /** Every ACCREC invoice on the accounting API, by id (If-Modified-Since when given). */
  const invoices = async (since?: string): Promise<Map<string, any>> => {
    const res = await fetch(`${sim.url}/api.xro/2.0/Invoices?page=1&pageSize=1000&where=${encodeURIComponent('Type=="ACCREC"')}`, {
      headers: { authorization: `Bearer ${access}`, 'xero-tenant-id': tenantId, accept: 'application/json', ...(since ? { 'if-modified-since': since } : {}) },
    });
    expect(res.status).toBe(200);
    return new Map(((await res.json()) as any).Invoices.map((i: any) => [i.InvoiceID, i]));
  };
  const expectNothingChanged = async (before: Map<string, any>) => expect(await invoices()).toEqual(before);

  beforeAll(async () => {
    sim = await startSimulator({ clock, rateLimit: { perMinute: 100_000, concurrent: 10 } });
    const created = await admin(sim, 'POST', '/tenants', { seed: 'bulk-edit-test', size: { invoices: 60, bills: 0, creditNotes: 0 }, grant: true });
    expect(created.status).toBe(201);
    tenantId = created.body.tenantId;
    access = created.body.tokens.access_token;
    ids = (await admin(sim, 'GET', `/tenants/${tenantId}/records/invoices?limit=1000`)).body.ids;
    expect(ids).toHaveLength(60);
  });
  afterAll(() => sim.close());

  it('edits every n-th record of the listing from an offset: new content and modified date, and only those come back as changed', async () => {
    clock.advance(60_000);
    const before = await invoices();
    const since = clock.now().toISOString();
    clock.advance(1000);
    const res = await admin(sim, 'POST', `/tenants/${tenantId}/records/invoices/bulk-edit`, { every: 10, offset: 3, patch: { reference: 'bulk one' } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toEqual({ edited: 6, at: clock.now().toISOString() });
    const picked = ids.filter((_, i) => i % 10 === 3);
    const after = await invoices();
    for (const id of ids) {
      const [b, a] = [before.get(id), after.get(id)];
      if (picked.includes(id)) {
        expect(a.Reference, id).toBe('bulk one');
        expect(a.UpdatedDateUTCString, id).toBe(res.body.at);
        // Only the reference and the modified date moved.
        expect({ ...a, Reference: b.Reference, UpdatedDateUTC: b.UpdatedDateUTC, UpdatedDateUTCString: b.UpdatedDateUTCString }).toEqual(b);
      } else expect(a, id).toEqual(b);
    }
    // What an incremental pull asks for: exactly the edited invoices.
    expect([...(await invoices(since)).keys()].sort()).toEqual([...picked].sort());
    // Every record (every: 1), e.g. a change touching the whole ledger.
    const all = await admin(sim, 'POST', `/tenants/${tenantId}/records/invoices/bulk-edit`, { every: 1, patch: { reference: 'bulk all' } });
    expect(all.body.edited).toBe(60);
    expect([...(await invoices()).values()].every((i) => i.Reference === 'bulk all')).toBe(true);
  });

  it('edits the records named by ids', async () => {
    clock.advance(60_000);
    const since = clock.now().toISOString();
    clock.advance(1000);
    const res = await admin(sim, 'POST', `/tenants/${tenantId}/records/invoices/bulk-edit`, { ids: [ids[0], ids[59]], patch: { reference: 'by id' } });
    expect(res.status).toBe(200);
    expect(res.body.edited).toBe(2);
    const changed = await invoices(since);
    expect([...changed.keys()].sort()).toEqual([ids[0], ids[59]].sort());
    expect([...changed.values()].map((i) => i.Reference)).toEqual(['by id', 'by id']);
  });

  it('refuses bad input with a 4xx in the simulator error shape and changes nothing', async () => {
    const before = await invoices();
    const url = `/tenants/${tenantId}/records/invoices/bulk-edit`;
    const cases: { body?: unknown; raw?: string; status: number; detail: RegExp; path?: string }[] = [
      { body: { patch: { reference: 'x' } }, status: 400, detail: /ids or every is required/ },
      { body: { every: 0, patch: { reference: 'x' } }, status: 400, detail: /every must be an integer ≥ 1/ },
      { body: { every: 1.5 }, status: 400, detail: /every must be an integer/ },
      { body: { every: 2, offset: -1 }, status: 400, detail: /offset must be an integer ≥ 0/ },
      { body: { every: 2, ids: [ids[0]] }, status: 400, detail: /either ids or every/ },
      { body: { ids: [] }, status: 400, detail: /ids must be a non-empty array/ },
      { body: { ids: [ids[0], 7] }, status: 400, detail: /ids must be a non-empty array/ },
      { body: { ids: [ids[0], ids[0]] }, status: 400, detail: /listed twice/ },
      { body: { every: 1, patch: ['reference'] }, status: 400, detail: /patch must be an object/ },
      // The patch is checked against every selected record before any is saved.
      { body: { every: 1, patch: { reference: 'x', nope: 1 } }, status: 400, detail: /invoices records have no field nope/ },
      { body: { every: 1, patch: { reference: 'x', lines: 1 } }, status: 400, detail: /lines is not a scalar field/ },
      { body: { every: 1, patch: { reference: 5 } }, status: 400, detail: /reference must be a string/ },
      { body: { every: 1, patch: { updatedMs: 5 } }, status: 400, detail: /updatedMs cannot be edited/ },
      { body: { ids: [ids[1], '00000000-0000-4000-8000-000000000000'], patch: { reference: 'x' } }, status: 404, detail: /no invoices record/ },
      { raw: '{"every": ', status: 400, detail: /body must be a JSON object/ },
      { body: { every: 1 }, status: 404, detail: /unknown collection/, path: `/tenants/${tenantId}/records/nothings/bulk-edit` },
      { body: { every: 1 }, status: 404, detail: /no tenant/, path: '/tenants/00000000-0000-4000-8000-000000000000/records/invoices/bulk-edit' },
    ];
    for (const c of cases) {
      const res = await admin(sim, 'POST', c.path ?? url, c.body, c.raw);
      expect(res.status, JSON.stringify(c)).toBe(c.status);
      expect(res.body, JSON.stringify(c)).toEqual({ Title: 'Error', Status: c.status, Detail: expect.stringMatching(c.detail) });
    }
    await expectNothingChanged(before);
  });
});

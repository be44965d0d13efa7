/**
 * Issue 15, documents half, end to end on both databases: a company linked to the Sandbox platform (the simulator over
 * a loopback socket) is pulled by the real engine; supplier credit notes and purchase orders are served at Codat's paths
 * and match the simulator's records through the connector's own mappers field by field, paged, filtered and sorted by
 * the query language; a refresh flags deletions at the source; sales orders are NotSupported; attachments and invoice
 * PDFs are read live and streamed; the official @codat/accounting SDK reads each of them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { CodatAccounting } from '@codat/accounting';
import { DIALECTS } from './support/stores.js';
import { createTestApp, expectErrorShape, type TestApp } from './support/app.js';
import { startEngine, type Engine } from './support/engine.js';
import { readPdf } from './support/pdf.js';
import { startSimulator, type Simulator } from '../src/sim/server.js';
import { SandboxConnector } from '../src/connectors/xero/index.js';
import { mapBillCreditNote, mapPurchaseOrder } from '../src/connectors/xero/mappers-documents.js';
import { MORE_READ_TYPES } from '../src/domain/data-types.js';

const MISSING = '00000000-0000-4000-8000-000000000000';
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe.each(DIALECTS)('documents against the Sandbox platform [%s]', (dialect) => {
  let t: TestApp;
  let sim: Simulator;
  let engine: Engine<SandboxConnector>;
  let companyId: string;
  let connectionId: string;
  let tenantId: string;

  const get = (p: string, headers: Record<string, string> = {}) => t.call('GET', `/companies/${companyId}${p}`, undefined, headers);
  const conn = (p: string, headers: Record<string, string> = {}) => get(`/connections/${connectionId}${p}`, headers);
  const admin = async (path: string, body?: unknown) => {
    const res = await fetch(`${sim.url}/admin/tenants/${tenantId}${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    if (res.status >= 300) throw new Error(`admin ${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as any;
  };
  const wire = async (path: string, key: string, headers: Record<string, string> = {}): Promise<any[]> => {
    const out: any[] = [];
    // A fresh token each time: the tests move the shared clock past an access token's 30 minutes.
    const token = sim.grant(tenantId).access_token;
    for (let page = 1; ; page++) {
      const sep = path.includes('?') ? '&' : '?';
      const res = await fetch(`${sim.url}/api.xro/2.0${path}${sep}page=${page}&pageSize=100`, { headers: { authorization: `Bearer ${token}`, 'xero-tenant-id': tenantId, ...headers } });
      const body = (await res.json()) as any;
      out.push(...body[key]);
      if (!body.pagination || body[key].length < 100) return out;
    }
  };
  const refresh = async (dataType: string) => {
    t.clock.advance(60_000);
    const op = (await t.call('POST', `/companies/${companyId}/data/queue/${dataType}`)).json();
    await engine.pool.drain(60_000);
    return (await get(`/data/history/${op.id}`)).json();
  };
  const served = async (segment: string): Promise<any[]> => {
    const res = await get(`/data/${segment}?pageSize=5000`);
    expect(res.statusCode, res.body).toBe(200);
    return res.json().results;
  };

  beforeAll(async () => {
    t = await createTestApp(dialect);
    sim = await startSimulator({ port: 0, clock: t.clock, rateLimit: { perMinute: 100_000, concurrent: 5 } });
    const connector = new SandboxConnector({ baseUrl: sim.url, clock: t.clock, tenantSize: { invoices: 60, bills: 120, customers: 40, suppliers: 10 }, retryBaseMs: 1, sleep: async (ms) => t.clock.advance(ms) });
    engine = startEngine(t, {}, connector);
    companyId = (await t.call('POST', '/companies', { name: 'Documents Trading' })).json().id;
    connectionId = (await t.call('POST', `/companies/${companyId}/connections`, { platformKey: 'mqjo' })).json().id;
    expect((await t.app.inject({ method: 'GET', url: `/link/companies/${companyId}/connections/${connectionId}/start` })).statusCode).toBe(302);
    await engine.pool.drain(60_000);
    tenantId = (await conn('')).json().connectionInfo.tenantId;
  });
  afterAll(async () => {
    await engine.stop();
    await sim.close();
    await t.close();
  });

  it('dataStatus and syncSettings list the types: supplier credit notes and purchase orders Complete, sales orders NotSupported', async () => {
    let status = (await get('/dataStatus')).json();
    // Every type the Sandbox reads was pulled on link; sales orders (which it does not read) were not offered.
    for (const type of MORE_READ_TYPES) expect(status[type], type).toEqual(engine.connector.supports(type) ? expect.objectContaining({ currentStatus: 'Complete' }) : undefined);
    expect((await t.call('POST', `/companies/${companyId}/data/queue/salesOrders`)).json()).toMatchObject({ status: 'NotSupported', isCompleted: true });
    status = (await get('/dataStatus')).json();
    expect(status.billCreditNotes.currentStatus).toBe('Complete');
    expect(status.purchaseOrders.currentStatus).toBe('Complete');
    expect(status.salesOrders.currentStatus).toBe('NotSupported');
    const settings = (await t.call('GET', `/companies/${companyId}/syncSettings`)).json().settings as any[];
    for (const type of ['billCreditNotes', 'purchaseOrders', 'salesOrders']) expect(settings.find((s) => s.dataType === type), type).toMatchObject({ fetchOnFirstLink: true });
    expect(expectErrorShape(await get('/data/salesOrders'), 404).error).toBe('Datatype salesOrders not supported by platform(s) Sandbox');
    const history = (await get('/data/history?query=dataType=salesOrders')).json().results[0];
    expect(history).toMatchObject({ status: 'NotSupported' });
  });

  it('supplier credit notes and purchase orders match the simulator through the mappers, field by field', async () => {
    for (const [segment, path, key, map, idKey] of [
      ['billCreditNotes', `/CreditNotes?where=${encodeURIComponent('Type=="ACCPAYCREDIT"')}`, 'CreditNotes', mapBillCreditNote, 'CreditNoteID'],
      ['purchaseOrders', '/PurchaseOrders', 'PurchaseOrders', mapPurchaseOrder, 'PurchaseOrderID'],
    ] as const) {
      const truth = await wire(path, key);
      const records = await served(segment);
      expect(records.length, segment).toBe(truth.length);
      expect(truth.length, segment).toBeGreaterThan(5);
      const byId = new Map(records.map((r) => [r.id, r]));
      for (const w of truth) {
        const m = map(w);
        const { modifiedDate, metadata, ...doc } = byId.get(w[idKey])!;
        expect(doc, `${segment} ${m.id}`).toEqual(m.data);
        expect(metadata).toEqual({ isDeleted: m.deleted });
        expect(typeof modifiedDate).toBe('string');
        expect((await get(`/data/${segment}/${m.id}`)).json()).toEqual(byId.get(w[idKey]));
      }
    }
  });

  it('lists are paged, filtered and sorted by the query language; bad input is 400, unknown ids 404', async () => {
    const all = await served('purchaseOrders');
    const page2 = (await get('/data/purchaseOrders?pageSize=4&page=2&orderBy=-totalAmount')).json();
    const sorted = [...all].sort((a, b) => b.totalAmount - a.totalAmount || 0);
    expect(page2).toMatchObject({ totalResults: all.length, pageNumber: 2, pageSize: 4 });
    expect(page2.results.map((r: any) => r.totalAmount)).toEqual(sorted.slice(4, 8).map((r) => r.totalAmount));
    const closed = (await get('/data/purchaseOrders?pageSize=5000&query=status=Closed')).json();
    expect(closed.totalResults).toBe(all.filter((r) => r.status === 'Closed').length);
    expect(closed.totalResults).toBeGreaterThan(0);
    const big = (await get(`/data/purchaseOrders?pageSize=5000&query=${encodeURIComponent('totalAmount>500&&supplierRef.id!=nobody')}`)).json();
    expect(big.results.map((r: any) => r.id).sort()).toEqual(all.filter((r) => r.totalAmount > 500).map((r) => r.id).sort());
    const credits = await served('billCreditNotes');
    const paid = (await get('/data/billCreditNotes?query=status=Paid&orderBy=issueDate')).json();
    expect(paid.results.map((r: any) => r.id)).toEqual(credits.filter((r) => r.status === 'Paid').sort((a, b) => a.issueDate.localeCompare(b.issueDate)).map((r) => r.id));
    expect(expectErrorShape(await get('/data/billCreditNotes?query=bogus=1'), 400).error).toBe('Error parsing query - Could not resolve property bogus on BillCreditNote');
    expect(expectErrorShape(await get('/data/purchaseOrders?pageSize=0'), 400).statusCode).toBe(400);
    expect(expectErrorShape(await get('/data/purchaseOrders/nope'), 404).error).toBe('No data available for purchaseOrders for ID nope');
    expect(expectErrorShape(await get('/data/billCreditNotes/nope'), 404).error).toBe('No data available for billCreditNotes for ID nope');
  });

  it('a refresh completes and flags deletions at the source; new records arrive', async () => {
    const bill = await admin('/records/bills', {});
    const credit = await admin('/records/billCreditNotes', { billId: bill.id });
    const po = await admin('/records/purchaseOrders', { status: 'DRAFT' });
    expect(await refresh('billCreditNotes')).toMatchObject({ status: 'Complete' });
    expect(await refresh('purchaseOrders')).toMatchObject({ status: 'Complete' });
    // As the platform holds it (fully used, or partly when the generated credit exceeds the bill), through the mapper.
    const creditAtSource = mapBillCreditNote(await admin(`/records/billCreditNotes/${credit.id}?unitdp=4`));
    expect(creditAtSource.data.paymentAllocations).toHaveLength(1);
    const servedCredit = (await get(`/data/billCreditNotes/${credit.id}`)).json();
    expect(servedCredit).toMatchObject({ ...creditAtSource.data, metadata: { isDeleted: false } });
    expect(['Paid', 'PartiallyPaid']).toContain(servedCredit.status);
    expect((await get(`/data/purchaseOrders/${po.id}`)).json()).toMatchObject({ status: 'Draft', metadata: { isDeleted: false } });
    t.clock.advance(3_600_000);
    await admin(`/records/billCreditNotes/${credit.id}/delete`, {});
    await admin(`/records/purchaseOrders/${po.id}/delete`, {});
    const r1 = await refresh('billCreditNotes');
    const r2 = await refresh('purchaseOrders');
    expect(r1).toMatchObject({ status: 'Complete' });
    expect(r2).toMatchObject({ status: 'Complete' });
    // Flagged deleted; the record keeps its last version before the deletion (sync-behaviour.md §7).
    expect((await get(`/data/billCreditNotes/${credit.id}`)).json()).toMatchObject({ status: servedCredit.status, metadata: { isDeleted: true } });
    expect((await get(`/data/purchaseOrders/${po.id}`)).json()).toMatchObject({ status: 'Draft', metadata: { isDeleted: true } });
    expect(r1.recordsDeleted + r2.recordsDeleted).toBe(2);
    expect((await get('/data/purchaseOrders?query=metadata.isDeleted=true')).json().results.map((r: any) => r.id)).toContain(po.id);
    // The deleted credit note no longer reduces its bill at the source; the bills refresh shows it.
    expect(await refresh('bills')).toMatchObject({ status: 'Complete' });
    expect((await get(`/data/bills/${bill.id}`)).json().paymentAllocations).toEqual([]);
  });

  it('attachments of invoices, bills, customers and suppliers: listed, got and downloaded live', async () => {
    const pick = async (segment: string) => (await served(segment)).find((r) => !r.metadata.isDeleted)!.id as string;
    for (const [segment, endpoint, one] of [
      ['invoices', 'Invoices', 'invoice'],
      ['bills', 'Invoices', 'bill'],
      ['customers', 'Contacts', 'customer'],
      ['suppliers', 'Contacts', 'supplier'],
    ] as const) {
      const id = await pick(segment);
      const added = await admin('/attachments', { endpoint, recordId: id, fileName: `${one} scan.txt`, mimeType: 'text/plain', size: 3000, includeOnline: true });
      const truth = await wire(`/${endpoint}/${id}/Attachments`, 'Attachments');
      const list = await conn(`/data/${segment}/${id}/attachments`);
      expect(list.statusCode, list.body).toBe(200);
      expect(list.json().attachments).toEqual(
        truth.map((a) => ({ id: a.AttachmentID, name: a.FileName, contentType: a.MimeType, fileSize: a.ContentLength, includeWhenSent: a.IncludeOnline })),
      );
      const one_ = await conn(`/data/${segment}/${id}/attachments/${added.AttachmentID}`);
      expect(one_.json()).toEqual({ id: added.AttachmentID, name: `${one} scan.txt`, contentType: 'text/plain', fileSize: 3000, includeWhenSent: true });
      const dl = await conn(`/data/${segment}/${id}/attachments/${added.AttachmentID}/download`, { accept: '*/*' });
      expect(dl.statusCode).toBe(200);
      expect(dl.headers['content-type']).toBe('text/plain');
      expect(dl.headers['content-disposition']).toBe(`attachment; filename="${one} scan.txt"; filename*=UTF-8''${encodeURIComponent(`${one} scan.txt`)}`);
      expect(sha(dl.rawPayload)).toBe(added.sha256);
      // Codat's SDK accepts JSON or octet-stream only: the bytes come as application/octet-stream.
      const sdkLike = await conn(`/data/${segment}/${id}/attachments/${added.AttachmentID}/download`, { accept: 'application/json;q=1, application/octet-stream;q=0' });
      expect(sdkLike.headers['content-type']).toBe('application/octet-stream');
      expect(sha(sdkLike.rawPayload)).toBe(added.sha256);
      // Failure paths: unknown attachment (get, download), unknown record, the record kind's 404 wording.
      expect(expectErrorShape(await conn(`/data/${segment}/${id}/attachments/${MISSING}`), 404).error).toBe(`No attachment ${MISSING} on ${segment} ${id}`);
      expect(expectErrorShape(await conn(`/data/${segment}/${id}/attachments/${MISSING}/download`), 404).error).toMatch(/^Not found at the platform/);
      expect(expectErrorShape(await conn(`/data/${segment}/${MISSING}/attachments`), 404).error).toBe(`No data available for ${segment} for ID ${MISSING}`);
    }
    // Generated attachments carry real bytes: every PNG starts with its signature, every PDF parses.
    let checked = 0;
    // About four records in ten carry generated files: 40 customers have some whatever the seed (0.6^40 ≈ 1e-9).
    for (const c of await served('customers')) {
      if (checked >= 4) break;
      for (const a of (await conn(`/data/customers/${c.id}/attachments`)).json().attachments) {
        if (a.name.endsWith(' scan.txt')) continue; // added by the test above
        const b = (await conn(`/data/customers/${c.id}/attachments/${a.id}/download`)).rawPayload;
        expect(b.length).toBe(a.fileSize);
        if (a.contentType === 'image/png') expect(b.subarray(1, 4).toString('latin1')).toBe('PNG');
        if (a.contentType === 'application/pdf') expect(readPdf(b).pages).toBe(1);
        if (a.contentType === 'text/plain') expect(b.toString('utf8')).toMatch(/^Notes for /);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(0);
    // Scope errors: unknown company, unknown connection, malformed ids.
    expect(expectErrorShape(await t.call('GET', `/companies/${MISSING}/connections/${connectionId}/data/invoices/x/attachments`), 404).error).toBe(`No company was found with ID ${MISSING}`);
    expect(expectErrorShape(await get(`/connections/${MISSING}/data/invoices/x/attachments`), 404).error).toBe(`Data connection ${MISSING} not found`);
    expect(expectErrorShape(await t.call('GET', `/companies/not-a-uuid/connections/${connectionId}/data/invoices/x/attachments`), 400).statusCode).toBe(400);
    // Attachments are per connection in Codat: there is no company-level path.
    expect(expectErrorShape(await get('/data/invoices/x/attachments'), 404).error).toMatch(/is not supported by Syncline/);
  });

  it('attachments of direct costs and direct incomes follow their data type (read per connection)', async () => {
    const status = (await get('/dataStatus')).json();
    for (const segment of ['directCosts', 'directIncomes']) {
      if (status[segment].currentStatus === 'NotSupported') {
        // The Sandbox does not read this type yet: its attachments answer like its records.
        expect(expectErrorShape(await conn(`/data/${segment}/x/attachments`), 404).error).toBe(`Datatype ${segment} not supported by platform(s) Sandbox`);
      } else {
        const rec = (await conn(`/data/${segment}?pageSize=1`)).json().results[0];
        const added = await admin('/attachments', { endpoint: 'BankTransactions', recordId: rec.id, fileName: 'receipt.txt', mimeType: 'text/plain', size: 100 });
        expect((await conn(`/data/${segment}/${rec.id}/attachments`)).json().attachments.map((a: any) => a.id)).toContain(added.AttachmentID);
        expect(sha((await conn(`/data/${segment}/${rec.id}/attachments/${added.AttachmentID}/download`)).rawPayload)).toBe(added.sha256);
      }
    }
  });

  it('invoice PDF: a real PDF with the invoice number and total, at company and connection level', async () => {
    const inv = (await served('invoices')).find((r) => !r.metadata.isDeleted)!;
    for (const res of [await get(`/data/invoices/${inv.id}/pdf`, { accept: 'application/pdf' }), await conn(`/data/invoices/${inv.id}/pdf`, { accept: '*/*' })]) {
      expect(res.statusCode, res.body).toBe(200);
      expect(res.headers['content-type']).toBe('application/pdf');
      const pdf = readPdf(res.rawPayload);
      expect(pdf.text).toContain(`Invoice number: ${inv.invoiceNumber}`);
      expect(pdf.text).toContain(`Total: ${inv.currency} ${inv.totalAmount.toFixed(2)}`);
    }
    expect((await get(`/data/invoices/${inv.id}/pdf`, { accept: 'application/octet-stream' })).headers['content-type']).toBe('application/octet-stream');
    expect(expectErrorShape(await get(`/data/invoices/${MISSING}/pdf`), 404).error).toBe(`No data available for invoices for ID ${MISSING}`);
    expect(expectErrorShape(await t.call('GET', `/companies/${MISSING}/data/invoices/${inv.id}/pdf`), 404).statusCode).toBe(404);
  });

  it('downloads stream: the client reads the first bytes while the platform is still writing the file', async () => {
    const address = await t.app.listen({ port: 0, host: '127.0.0.1' });
    const inv = (await served('invoices'))[0]!.id as string;
    const size = 6 * 1024 * 1024;
    const hold = 512 * 1024;
    const added = await admin('/attachments', { endpoint: 'Invoices', recordId: inv, fileName: 'big.bin', size, holdAfterBytes: hold });
    const res = await fetch(`${address}/companies/${companyId}/connections/${connectionId}/data/invoices/${inv}/attachments/${added.AttachmentID}/download`, {
      headers: { authorization: t.authHeader },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-length')).toBe(String(size));
    const reader = res.body!.getReader();
    const hash = createHash('sha256');
    let got = 0;
    // The simulator has sent `hold` bytes and waits: Syncline must already have passed them on.
    while (got < hold) {
      const { value, done } = await reader.read();
      expect(done).toBe(false);
      hash.update(value!);
      got += value!.length;
    }
    expect(got).toBe(hold);
    await admin(`/attachments/${added.AttachmentID}/release`, {});
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      hash.update(value!);
      got += value!.length;
    }
    expect(got).toBe(size);
    expect(hash.digest('hex')).toBe(added.sha256);
  });

  it('the official @codat/accounting SDK reads each of them', async () => {
    const address = t.app.server.listening ? `http://127.0.0.1:${(t.app.server.address() as any).port}` : await t.app.listen({ port: 0, host: '127.0.0.1' });
    const sdk = new CodatAccounting({ security: { authHeader: t.authHeader }, serverURL: address, retryConfig: { strategy: 'none' } as never });
    const ok = (r: any) => {
      expect(r.statusCode, JSON.stringify(r.rawResponse?.data?.toString?.() ?? r.rawResponse?.data)).toBe(200);
      return r;
    };
    const bcn = ok(await sdk.billCreditNotes.list({ companyId, orderBy: '-totalAmount', pageSize: 3 })).billCreditNotes;
    expect(bcn.results).toHaveLength(3);
    expect(ok(await sdk.billCreditNotes.get({ companyId, billCreditNoteId: bcn.results[0].id })).billCreditNote.supplierRef.id).toBe(bcn.results[0].supplierRef.id);
    const pos = ok(await sdk.purchaseOrders.list({ companyId, query: 'status=Closed' })).purchaseOrders;
    expect(pos.results.length).toBeGreaterThan(0);
    expect(ok(await sdk.purchaseOrders.get({ companyId, purchaseOrderId: pos.results[0].id })).purchaseOrder.shipTo.address.type).toBe('Delivery');
    const inv = (await served('invoices'))[0]!.id as string;
    const added = await admin('/attachments', { endpoint: 'Invoices', recordId: inv, fileName: 'sdk.txt', mimeType: 'text/plain', size: 64 });
    const list = ok(await sdk.invoices.listAttachments({ companyId, connectionId, invoiceId: inv })).attachmentsDataset;
    expect(list.attachments.map((a: any) => a.id)).toContain(added.AttachmentID);
    expect(ok(await sdk.invoices.getAttachment({ companyId, connectionId, invoiceId: inv, attachmentId: added.AttachmentID })).attachment).toMatchObject({ name: 'sdk.txt', fileSize: 64 });
    const dl = ok(await sdk.invoices.downloadAttachment({ companyId, connectionId, invoiceId: inv, attachmentId: added.AttachmentID }));
    expect(sha(Buffer.from(dl.data))).toBe(added.sha256);
    const pdf = ok(await sdk.invoices.downloadPdf({ companyId, invoiceId: inv }));
    expect(readPdf(Buffer.from(pdf.data)).pages).toBeGreaterThan(0);
    for (const [api, idKey, segment] of [
      [sdk.bills, 'billId', 'bills'],
      [sdk.customers, 'customerId', 'customers'],
      [sdk.suppliers, 'supplierId', 'suppliers'],
    ] as const) {
      const id = (await served(segment))[0]!.id;
      expect(Array.isArray(ok(await (api as any).listAttachments({ companyId, connectionId, [idKey]: id })).attachmentsDataset.attachments), segment).toBe(true);
    }
    const missing = await sdk.invoices.getAttachment({ companyId, connectionId, invoiceId: inv, attachmentId: MISSING });
    expect(missing.statusCode).toBe(404);
    expect(missing.errorMessage?.error).toBe(`No attachment ${MISSING} on invoices ${inv}`);
  });
});

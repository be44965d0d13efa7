import type { Clock } from '../lib/clock.js';
import { Collection, type CollectionSnapshot } from './collection.js';
import { amountDue, FOREIGN_RATE, Generator, STREAMS, totals, type TenantSize } from './generate.js';
import { baseLedger, Ledger, postRecord } from './ledger.js';
import { COLLECTIONS, DAY_MS, dayStart, unitAmount, type CollectionName, type Doc, type Pay, type RecordTypes } from './model.js';
import type { RenderContext } from './model.js';
import { decodeIndex, deriveUuid, hashString, Rng } from './rng.js';
import { createBankTransaction, createBankTransfer, JournalLog, type CreateArgs } from './banking.js';
import { allocate, isOnAccountCollection, ON_ACCOUNT_COLLECTION, onAccountRecord, type OnAccountCollection } from './on-account.js';
import type { OnAccount } from './model.js';

/** Where a document's credit allocations point: invoices ↔ credit notes, bills ↔ bill credit notes. */
const OTHER_SIDE = { invoice: 'creditNotes', creditNote: 'invoices', bill: 'billCreditNotes', billCreditNote: 'bills' } as const;
const isDocCollection = (name: CollectionName): name is 'invoices' | 'bills' | 'creditNotes' | 'billCreditNotes' =>
  name === 'invoices' || name === 'bills' || name === 'creditNotes' || name === 'billCreditNotes';

export class SimError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface RateLimit {
  perMinute: number;
  concurrent: number;
  /** Calls per tenant-clock day; unlimited when absent. */
  perDay?: number;
}

export type FaultKind = '5xx' | 'slow' | 'hold' | 'timeout' | 'truncate' | '429';
export interface Fault {
  kind: FaultKind;
  /** How many matching calls it affects; null = until cleared. */
  remaining: number | null;
  /** Only calls whose path contains this string (case-insensitive). */
  path?: string;
  status?: number;
  delayMs?: number;
  retryAfterSeconds?: number;
}

export interface Counters {
  calls: number;
  byEndpoint: Record<string, number>;
  byStatus: Record<string, number>;
  rateLimited: { total: number; minute: number; appminute: number; concurrent: number; day: number; injected: number };
  faultsInjected: number;
  tokensIssued: number;
  refreshes: number;
  refreshFailures: number;
  unauthorized: number;
  maxConcurrent: number;
}

export const newCounters = (): Counters => ({
  calls: 0,
  byEndpoint: {},
  byStatus: {},
  rateLimited: { total: 0, minute: 0, appminute: 0, concurrent: 0, day: 0, injected: 0 },
  faultsInjected: 0,
  tokensIssued: 0,
  refreshes: 0,
  refreshFailures: 0,
  unauthorized: 0,
  maxConcurrent: 0,
});

export interface ChangeLog {
  op: 'create' | 'edit' | 'void' | 'delete' | 'hardDelete' | 'pay';
  collection: CollectionName;
  id: string;
  at: string;
}

/** Applies a shallow patch of scalar fields to a record (a copy), refusing what an edit may not change. */
function applyPatch(name: CollectionName, r: Record<string, unknown>, patch: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(patch)) {
    if (k === 'index' || k === 'updatedMs' || k === 'kind') throw new SimError(400, `${k} cannot be edited`);
    if (!(k in r)) throw new SimError(400, `${name} records have no field ${k}`);
    const cur = r[k];
    if (cur !== null && typeof cur === 'object') throw new SimError(400, `${k} is not a scalar field`);
    if (cur !== undefined && typeof v !== typeof cur) throw new SimError(400, `${k} must be a ${typeof cur}`);
    r[k] = v;
  }
}

type AnyCollections = { [K in CollectionName]: Collection<RecordTypes[K]> };

/** A tenant as the simulator's state file keeps it (JSON). */
export interface TenantSnapshot {
  seed: string;
  size: number | TenantSize;
  name?: string;
  anchorMs: number;
  offsetMs: number;
  limits: RateLimit;
  reportTitles: Record<string, string>;
  activitySeq: number;
  createSeq: number;
  collections: { [K in CollectionName]?: CollectionSnapshot<RecordTypes[K]> };
  /** Journals appended by changes (banking.ts); absent in files written before they existed. */
  journals?: JournalLog['entries'];
}

/** One company in the simulator: generated data, its overlay of changes, its clock, limits, faults and counters. */
export class Tenant implements RenderContext {
  readonly id: string;
  readonly gen: Generator;
  readonly collections: AnyCollections;
  offsetMs = 0;
  limits: RateLimit;
  faults: Fault[] = [];
  /** Calls stopped by a `hold` fault, each waiting for `releaseHeld` (admin `POST …/faults/release`). */
  held: (() => void)[] = [];
  counters = newCounters();
  inflight = 0;
  /** Real-time timestamps (ms) of accepted calls inside the current minute window. */
  window: number[] = [];
  dayKey = '';
  dayCalls = 0;
  /** Report titles set for this tenant over its edition's (Xero dialect: `PUT /admin/tenants/{id}/report-titles`). */
  reportTitles: Record<string, string> = {};
  private activitySeq = 0;
  private createSeq = 0;
  private ledgerBase: Ledger | undefined;
  /** Journals appended by changes after generation (banking.ts). */
  readonly journalLog = new JournalLog();

  constructor(
    readonly seed: string,
    readonly size: number | TenantSize,
    readonly name: string | undefined,
    private readonly clock: Clock,
    limits: RateLimit,
    anchor?: Date,
  ) {
    this.gen = new Generator(seed, size, anchor ?? clock.now());
    this.id = deriveUuid(this.gen.seedHash, hashString('tenant'), 0);
    this.limits = { ...limits };
    const make = <K extends CollectionName>(name: K) =>
      new Collection<RecordTypes[K]>({
        baseCount: () => this.gen.baseCount(name),
        base: (i) => this.gen.base(name, i),
        baseUpdated: (i) => this.gen.baseUpdated(name, i),
        lowerBound: (ms) => this.gen.lowerBound(name, ms),
      });
    this.collections = Object.fromEntries(COLLECTIONS.map((c) => [c, make(c)])) as unknown as AnyCollections;
  }

  /** Lets every call stopped by a `hold` fault go on; answers how many there were. */
  releaseHeld(): number {
    const held = this.held.splice(0);
    for (const r of held) r();
    return held.length;
  }

  /** Everything needed to rebuild this tenant as it is now (the generated base is rebuilt from seed, size and anchor). */
  snapshot(): TenantSnapshot {
    return {
      seed: this.seed,
      size: this.size,
      ...(this.name !== undefined ? { name: this.name } : {}),
      anchorMs: this.gen.anchorMs,
      offsetMs: this.offsetMs,
      limits: { ...this.limits },
      reportTitles: { ...this.reportTitles },
      activitySeq: this.activitySeq,
      createSeq: this.createSeq,
      collections: Object.fromEntries(COLLECTIONS.map((c) => [c, this.collections[c].snapshot()])) as TenantSnapshot['collections'],
      journals: [...this.journalLog.entries],
    };
  }

  static restore(s: TenantSnapshot, clock: Clock): Tenant {
    const t = new Tenant(s.seed, s.size, s.name, clock, s.limits, new Date(s.anchorMs));
    t.offsetMs = s.offsetMs;
    t.reportTitles = { ...s.reportTitles };
    t.activitySeq = s.activitySeq;
    t.createSeq = s.createSeq;
    t.journalLog.entries.push(...(s.journals ?? []));
    for (const c of COLLECTIONS) {
      const snap = s.collections[c];
      if (snap) (t.collections[c] as Collection<RecordTypes[typeof c]>).restore(snap as CollectionSnapshot<RecordTypes[typeof c]>);
    }
    return t;
  }

  get displayName(): string {
    return this.name ?? this.gen.organisation.name;
  }

  now(): Date {
    return new Date(this.clock.now().getTime() + this.offsetMs);
  }
  nowMs(): number {
    return this.now().getTime();
  }

  advance(ms: number): void {
    if (ms < 0) throw new SimError(400, 'the clock only moves forward');
    this.offsetMs += ms;
  }

  // ----- RenderContext ---------------------------------------------------------------------------------------------
  contact(index: number) {
    return this.collections.contacts.get(index);
  }
  item(index: number) {
    return this.collections.items.get(index);
  }
  account(code: string) {
    const base = this.gen.accountByCode.get(code);
    if (base) return this.collections.accounts.get(base.index);
    for (let i = this.gen.accounts.length; i < this.collections.accounts.size; i++) {
      const a = this.collections.accounts.get(i);
      if (a?.code === code) return a;
    }
    return undefined;
  }
  trackingCategory(index: number) {
    return this.collections.trackingCategories.get(index);
  }
  doc(kind: 'invoices' | 'bills' | 'creditNotes' | 'billCreditNotes', index: number) {
    return this.collections[kind].get(index);
  }
  onAccount(name: OnAccountCollection, index: number) {
    return this.collections[name].get(index);
  }

  // ----- lookups ------------------------------------------------------------------------------------------------
  indexOf(name: CollectionName, id: string): number | undefined {
    if (name === 'taxRates') {
      for (let i = 0; i < this.collections.taxRates.size; i++) if (this.collections.taxRates.get(i)?.taxType === id) return i;
      return undefined;
    }
    return decodeIndex(this.gen.seedHash, STREAMS[name], id.toLowerCase());
  }

  require<K extends CollectionName>(name: K, id: string): { index: number; record: RecordTypes[K] } {
    const index = this.indexOf(name, id);
    const record = index === undefined ? undefined : this.collections[name].get(index);
    if (index === undefined || !record) throw new SimError(404, `no ${name} record ${id}`);
    return { index, record: structuredClone(record) as RecordTypes[K] };
  }

  /** Base ledger is computed lazily (a full scan) and cached; overlay changes are applied as deltas per request. */
  ledger(): Ledger {
    this.ledgerBase ??= baseLedger(this.gen);
    const l = this.ledgerBase.clone();
    for (const name of ['invoices', 'bills', 'creditNotes', 'payments', 'billPayments', 'manualJournals', 'bankTransactions', 'bankTransfers', 'billCreditNotes', 'overpayments', 'prepayments'] as const) {
      const col = this.collections[name] as Collection<RecordTypes[typeof name]>;
      const post = (r: unknown, sign: 1 | -1) => postRecord(l, name, r as never, sign);
      for (const [i, r] of col.changes()) {
        if (i < this.gen.baseCount(name)) {
          const base = this.gen.base(name, i);
          if (base) post(base, -1);
        }
        if (r) post(r, 1);
      }
    }
    return l;
  }

  // ----- mutations -------------------------------------------------------------------------------------------------
  private log(out: ChangeLog[] | undefined, op: ChangeLog['op'], collection: CollectionName, index: number): ChangeLog {
    const entry: ChangeLog = { op, collection, id: this.gen.id(collection, index), at: this.now().toISOString() };
    out?.push(entry);
    return entry;
  }

  private save<K extends CollectionName>(name: K, index: number, record: RecordTypes[K]): void {
    record.updatedMs = this.nowMs();
    this.journalLog.change(name, index, this.collections[name].get(index), record, record.updatedMs);
    (this.collections[name] as Collection<RecordTypes[K]>).put(index, record);
  }

  /** Shallow edit of scalar fields (names as in GET /admin/.../records/{collection}/{id}?raw=true). Always bumps UpdatedDateUTC. */
  edit(name: CollectionName, id: string, patch: Record<string, unknown> = {}, out?: ChangeLog[]): ChangeLog {
    const { index, record } = this.require(name, id);
    applyPatch(name, record as unknown as Record<string, unknown>, patch);
    this.save(name, index, record);
    return this.log(out, 'edit', name, index);
  }

  /**
   * The same edit of many records of a collection at once: those named by `ids`, or those at positions `offset`,
   * `offset + every`, … of the admin listing (creation order, hard deletes excluded). Every selected record is checked
   * first and nothing is changed unless all can be (unknown id → 404, a patch a record refuses → 400); then each is
   * saved as `edit` saves one (its UpdatedDateUTC bumped to the tenant's time).
   */
  bulkEdit(name: CollectionName, select: { ids: string[] } | { every: number; offset: number }, patch: Record<string, unknown> = {}): { edited: number; at: string } {
    const col = this.collections[name] as Collection<RecordTypes[CollectionName]>;
    const picked: { index: number; record: Record<string, unknown> }[] = [];
    if ('ids' in select) {
      const seen = new Set<number>();
      for (const id of select.ids) {
        const { index, record } = this.require(name, id);
        if (seen.has(index)) throw new SimError(400, `${name} record ${id} is listed twice`);
        seen.add(index);
        picked.push({ index, record: record as unknown as Record<string, unknown> });
      }
    } else {
      for (let i = 0, position = 0; i < col.size; i++) {
        const r = col.get(i);
        if (!r) continue; // hard-deleted: not in the listing
        if (position >= select.offset && (position - select.offset) % select.every === 0) picked.push({ index: i, record: structuredClone(r) as unknown as Record<string, unknown> });
        position++;
      }
    }
    for (const p of picked) applyPatch(name, p.record, patch);
    for (const p of picked) this.save(name, p.index, p.record as unknown as RecordTypes[CollectionName]);
    return { edited: picked.length, at: this.now().toISOString() };
  }

  private unlinkDoc(d: Doc): void {
    // Remove credit-note allocations on both sides.
    for (const c of d.credits) {
      const otherName = OTHER_SIDE[d.kind];
      const other = structuredClone(this.collections[otherName].get(c.index));
      if (!other) continue;
      other.credits = other.credits.filter((x) => x.index !== d.index);
      if (other.status === 'PAID' && amountDue(other) > 0) {
        other.status = 'AUTHORISED';
        delete other.fullyPaidOnMs;
      }
      this.save(otherName, c.index, other);
    }
    d.credits = [];
    // …and overpayment / prepayment allocations: their credit is available again.
    for (const c of d.onAccount ?? []) {
      const name = ON_ACCOUNT_COLLECTION[c.kind];
      const r = structuredClone(this.collections[name].get(c.index));
      if (!r) continue;
      r.allocations = r.allocations.filter((a) => a.docIndex !== d.index);
      if (r.status === 'PAID') r.status = 'AUTHORISED';
      this.save(name, c.index, r);
    }
    if (d.onAccount) d.onAccount = [];
  }

  /** Removes an overpayment's (prepayment's) allocations from the invoices (bills) they were applied to. */
  private unlinkOnAccount(r: OnAccount): void {
    const docName = r.type === 'RECEIVE' ? 'invoices' : 'bills';
    for (const a of r.allocations) {
      const doc = structuredClone(this.collections[docName].get(a.docIndex));
      if (!doc) continue;
      doc.onAccount = (doc.onAccount ?? []).filter((x) => !(x.kind === r.kind && x.index === r.index));
      if (doc.status === 'PAID' && amountDue(doc) > 0) {
        doc.status = 'AUTHORISED';
        delete doc.fullyPaidOnMs;
      }
      this.save(docName, a.docIndex, doc);
    }
    r.allocations = [];
  }

  void(name: CollectionName, id: string, out?: ChangeLog[]): ChangeLog {
    if (name === 'manualJournals' || name === 'bankTransactions') {
      const { index, record } = this.require(name, id);
      record.status = 'VOIDED';
      this.save(name, index, record);
      return this.log(out, 'void', name, index);
    }
    if (isOnAccountCollection(name)) {
      // Xero voids an overpayment or prepayment (there is no DELETED status); its allocations go first.
      const { index, record } = this.require(name, id);
      this.unlinkOnAccount(record);
      record.status = 'VOIDED';
      this.save(name, index, record);
      return this.log(out, 'void', name, index);
    }
    if (!isDocCollection(name)) throw new SimError(400, `${name} cannot be voided`);
    const { index, record } = this.require(name, id);
    if (record.payments.length > 0) throw new SimError(400, 'a document with payments cannot be voided; delete its payments first');
    this.unlinkDoc(record);
    record.status = 'VOIDED';
    this.save(name, index, record);
    return this.log(out, 'void', name, index);
  }

  /** Soft delete: the record stays, with Status DELETED (Xero's behaviour for documents, payments, accounts…). */
  delete(name: CollectionName, id: string, out?: ChangeLog[]): ChangeLog {
    const { index, record } = this.require(name, id);
    switch (name) {
      case 'invoices':
      case 'bills':
      case 'creditNotes':
      case 'billCreditNotes': {
        const d = record as Doc;
        if (d.payments.length > 0) throw new SimError(400, 'a document with payments cannot be deleted; delete its payments first');
        this.unlinkDoc(d);
        d.status = 'DELETED';
        break;
      }
      case 'payments':
      case 'billPayments': {
        const p = record as Pay;
        if (p.status === 'DELETED') break;
        p.status = 'DELETED';
        this.detachPayment(p);
        break;
      }
      case 'manualJournals':
      case 'bankTransactions':
      case 'bankTransfers':
      case 'accounts':
      case 'taxRates':
      case 'trackingCategories':
      case 'purchaseOrders':
        (record as { status: string }).status = 'DELETED';
        break;
      case 'overpayments':
      case 'prepayments':
        throw new SimError(400, `Xero ${name} have no deleted status: void them`);
      default:
        throw new SimError(400, `${name} have no deleted status; use hard-delete`);
    }
    this.save(name, index, record as never);
    return this.log(out, 'delete', name, index);
  }

  private detachPayment(p: Pay): void {
    const docName = p.kind === 'payment' ? 'invoices' : 'bills';
    const doc = structuredClone(this.collections[docName].get(p.docIndex));
    if (!doc) return;
    doc.payments = doc.payments.filter((x) => x.index !== p.index);
    if (doc.status === 'PAID') {
      doc.status = 'AUTHORISED';
      delete doc.fullyPaidOnMs;
    }
    this.save(docName, p.docIndex, doc);
  }

  /** Hard delete: the record is simply gone from every listing (Xero items, tracking options, some accounts). */
  hardDelete(name: CollectionName, id: string, out?: ChangeLog[]): ChangeLog {
    const { index, record } = this.require(name, id);
    if (name === 'payments' || name === 'billPayments') this.detachPayment(record as Pay);
    if (isDocCollection(name) && (record as Doc).payments.length > 0) {
      throw new SimError(400, 'a document with payments cannot be deleted; delete its payments first');
    }
    if (isDocCollection(name)) this.unlinkDoc(record as Doc);
    if (isOnAccountCollection(name)) this.unlinkOnAccount(record as OnAccount);
    this.journalLog.change(name, index, this.collections[name].get(index), undefined, this.nowMs());
    this.collections[name].hardDelete(index, this.nowMs());
    return this.log(out, 'hardDelete', name, index);
  }

  private createRng(name: CollectionName): Rng {
    return Rng.of(this.gen.seedHash, STREAMS.activity, hashString(name), this.createSeq++);
  }

  private pickLive<K extends CollectionName>(rng: Rng, name: K, from: number, ok: (r: RecordTypes[K]) => boolean): number | undefined {
    const col = this.collections[name] as Collection<RecordTypes[K]>;
    const size = col.size;
    if (size <= from) return undefined;
    for (let t = 0; t < 25; t++) {
      const i = rng.int(from, size - 1);
      const r = col.get(i);
      if (r && ok(r)) return i;
    }
    return undefined;
  }

  /** Creates one record of a collection with generated content; `fields` overrides scalar fields or picks links. */
  create(name: CollectionName, fields: Record<string, unknown> = {}, out?: ChangeLog[]): ChangeLog {
    const rng = this.createRng(name);
    const now = this.nowMs();
    const today = dayStart(now);
    const col = this.collections[name];
    switch (name) {
      case 'invoices':
      case 'bills':
      case 'creditNotes':
      case 'billCreditNotes': {
        const sales = name === 'invoices' || name === 'creditNotes';
        const { customers, suppliers } = this.gen.counts;
        let contactIndex = sales ? rng.int(0, customers - 1) : customers + rng.int(0, suppliers - 1);
        if (typeof fields.contactId === 'string') contactIndex = this.require('contacts', fields.contactId).index;
        const contact = this.contact(contactIndex) ?? this.gen.contact(contactIndex);
        const foreign = contact.currency !== this.gen.organisation.baseCurrency;
        const index = col.allocate();
        let body = this.gen.makeLines(rng, sales, foreign, name === 'creditNotes' || name === 'billCreditNotes' ? 1 : rng.int(1, 3));
        if (fields.unitAmount !== undefined || fields.quantity !== undefined) {
          // The first line at a given unit price (up to 4 decimals, as Xero keeps them) and quantity.
          const first = body.lines[0]!;
          const price = fields.unitAmount ?? unitAmount(first);
          const quantity = fields.quantity ?? first.quantity;
          if (typeof price !== 'number' || !(price > 0) || Math.abs(price * 10_000 - Math.round(price * 10_000)) > 1e-6) throw new SimError(400, 'unitAmount must be a positive number with at most 4 decimals');
          if (typeof quantity !== 'number' || !Number.isInteger(quantity) || quantity < 1) throw new SimError(400, 'quantity must be a positive integer');
          body = totals([this.gen.repriceLine(first, price, quantity), ...body.lines.slice(1)]);
        }
        const prefix = { invoices: 'INV', creditNotes: 'CN', bills: 'SI', billCreditNotes: 'SCN' }[name];
        const d: Doc = {
          kind: ({ invoices: 'invoice', bills: 'bill', creditNotes: 'creditNote', billCreditNotes: 'billCreditNote' } as const)[name],
          index,
          number: `${prefix}-${String(index + 1).padStart(6, '0')}`,
          reference: typeof fields.reference === 'string' ? fields.reference : '',
          contactIndex,
          dateMs: today,
          dueDateMs: today + 30 * DAY_MS,
          status: fields.status === 'DRAFT' || fields.status === 'SUBMITTED' ? fields.status : 'AUTHORISED',
          ...body,
          currency: contact.currency,
          rate: foreign ? FOREIGN_RATE : 1,
          payments: [],
          credits: [],
          sentToContact: false,
          updatedMs: now,
        };
        const allocateTo = name === 'creditNotes' ? fields.invoiceId : name === 'billCreditNotes' ? fields.billId : undefined;
        if (typeof allocateTo === 'string') {
          const target = name === 'creditNotes' ? 'invoices' : 'bills';
          const inv = this.require(target, allocateTo);
          const amount = Math.min(d.totalCents, amountDue(inv.record));
          if (inv.record.status !== 'AUTHORISED' || amount <= 0) throw new SimError(400, 'the invoice has nothing left to credit');
          d.contactIndex = inv.record.contactIndex;
          d.currency = inv.record.currency;
          d.rate = inv.record.rate;
          d.credits.push({ index: inv.index, dateMs: today, amountCents: amount });
          if (amountDue(d) === 0) (d.status = 'PAID'), (d.fullyPaidOnMs = today);
          inv.record.credits.push({ index, dateMs: today, amountCents: amount });
          if (amountDue(inv.record) === 0) (inv.record.status = 'PAID'), (inv.record.fullyPaidOnMs = today);
          this.save(target, inv.index, inv.record);
        }
        this.save(name, index, d as never);
        return this.log(out, 'create', name, index);
      }
      case 'payments':
      case 'billPayments': {
        const docName = name === 'payments' ? 'invoices' : 'bills';
        let docIndex: number | undefined;
        if (typeof fields.invoiceId === 'string') docIndex = this.require(docName, fields.invoiceId).index;
        else docIndex = this.pickLive(rng, docName, 0, (d) => d.status === 'AUTHORISED' && amountDue(d) > 0);
        if (docIndex === undefined) throw new SimError(409, `no open ${docName} to pay`);
        const doc = structuredClone(this.collections[docName].get(docIndex)!);
        const due = amountDue(doc);
        if (doc.status !== 'AUTHORISED' || due <= 0) throw new SimError(400, `${docName} ${this.gen.id(docName, docIndex)} is not open`);
        const amountCents = typeof fields.amount === 'number' ? Math.min(due, Math.round(fields.amount * 100)) : rng.chance(0.8) ? due : Math.max(1, Math.round(due / 2));
        const index = col.allocate();
        const p: Pay = {
          kind: name === 'payments' ? 'payment' : 'billPayment',
          index,
          docIndex,
          dateMs: today,
          amountCents,
          bankCode: name === 'payments' ? '090' : rng.pick(['090', '092']),
          reference: typeof fields.reference === 'string' ? fields.reference : `REF ${rng.int(1000, 9999)}`,
          status: 'AUTHORISED',
          currency: doc.currency,
          rate: doc.rate,
          isReconciled: false,
          updatedMs: now,
        };
        doc.payments.push({ index, dateMs: today, amountCents, reference: p.reference });
        if (amountDue(doc) === 0) (doc.status = 'PAID'), (doc.fullyPaidOnMs = today);
        this.save(docName, docIndex, doc);
        this.save(name, index, p as never);
        return this.log(out, 'create', name, index);
      }
      case 'overpayments':
      case 'prepayments': {
        // `fields`: type (RECEIVE from a customer | SPEND to a supplier), invoiceId (RECEIVE) or billId (SPEND) to
        // allocate it to at once, contactId, amount (default: what the document owes, or a generated sum), reference.
        const type = fields.type === undefined ? 'RECEIVE' : fields.type;
        if (type !== 'RECEIVE' && type !== 'SPEND') throw new SimError(400, 'type must be RECEIVE or SPEND');
        const docName = type === 'RECEIVE' ? 'invoices' : 'bills';
        const docId = type === 'RECEIVE' ? fields.invoiceId : fields.billId;
        const target = typeof docId === 'string' ? this.require(docName, docId) : undefined;
        if (target && (target.record.status !== 'AUTHORISED' || amountDue(target.record) <= 0)) throw new SimError(400, `${docName} ${docId} is not open`);
        const { customers, suppliers } = this.gen.counts;
        let contactIndex = target?.record.contactIndex ?? (type === 'RECEIVE' ? rng.int(0, customers - 1) : customers + rng.int(0, suppliers - 1));
        if (!target && typeof fields.contactId === 'string') contactIndex = this.require('contacts', fields.contactId).index;
        if (fields.amount !== undefined && (typeof fields.amount !== 'number' || !(fields.amount > 0) || Math.abs(fields.amount * 100 - Math.round(fields.amount * 100)) > 1e-6)) {
          throw new SimError(400, 'amount must be a positive number with at most 2 decimals');
        }
        const totalCents = typeof fields.amount === 'number' ? Math.round(fields.amount * 100) : target ? amountDue(target.record) : rng.int(5, 400) * 100;
        const kind = name === 'overpayments' ? 'overpayment' : 'prepayment';
        const contact = this.contact(contactIndex) ?? this.gen.contact(contactIndex);
        const currency = target?.record.currency ?? contact.currency;
        const index = col.allocate();
        const r = onAccountRecord({
          kind,
          index,
          type,
          contactIndex,
          dateMs: today,
          bankCode: typeof fields.bankAccountCode === 'string' && this.account(fields.bankAccountCode)?.type === 'BANK' ? fields.bankAccountCode : '090',
          reference: typeof fields.reference === 'string' ? fields.reference : '',
          status: 'AUTHORISED',
          isReconciled: false,
          totalCents,
          description: `${kind === 'overpayment' ? 'Overpayment' : 'Prepayment'} ${type === 'RECEIVE' ? 'received' : 'paid'}`,
          currency,
          rate: target?.record.rate ?? (currency === this.gen.organisation.baseCurrency ? 1 : FOREIGN_RATE),
          allocations: [],
          updatedMs: now,
        });
        if (target) {
          allocate(r, target.record, today);
          this.save(docName, target.index, target.record);
        }
        this.save(name, index, r as never);
        return this.log(out, 'create', name, index);
      }
      case 'contacts': {
        const index = col.allocate();
        const template = this.gen.contact(rng.int(0, this.gen.baseCount('contacts') - 1));
        const supplier = fields.isSupplier === true;
        const c = {
          ...template,
          index,
          name: typeof fields.name === 'string' ? fields.name : `${this.gen.contactName(index)}`,
          accountNumber: `N${String(index + 1).padStart(6, '0')}`,
          status: 'ACTIVE' as const,
          isCustomer: !supplier,
          isSupplier: supplier,
          currency: this.gen.organisation.baseCurrency,
          updatedMs: now,
        };
        this.save(name, index, c as never);
        return this.log(out, 'create', name, index);
      }
      case 'items': {
        const index = col.allocate();
        const item = { ...this.gen.item(index), updatedMs: now };
        if (typeof fields.name === 'string') item.name = fields.name;
        this.save(name, index, item as never);
        return this.log(out, 'create', name, index);
      }
      case 'manualJournals': {
        const index = col.allocate();
        const j = { ...this.gen.manualJournal(index % Math.max(1, this.gen.counts.manualJournals)), index, dateMs: today, status: fields.status === 'DRAFT' ? ('DRAFT' as const) : ('POSTED' as const), updatedMs: now };
        j.narration = typeof fields.narration === 'string' ? fields.narration : `${j.narration.replace(/ #\d+$/, '')} #${index + 1}`;
        this.save(name, index, j as never);
        return this.log(out, 'create', name, index);
      }
      case 'accounts': {
        const index = col.allocate();
        const code = typeof fields.code === 'string' ? fields.code : String(500 + index);
        const a = { index, code, name: typeof fields.name === 'string' ? fields.name : `Expense account ${code}`, type: 'OVERHEADS' as const, status: 'ACTIVE' as const, description: 'Created in the sandbox', taxType: 'INPUT2', updatedMs: now };
        this.save(name, index, a as never);
        return this.log(out, 'create', name, index);
      }
      case 'bankTransactions':
      case 'bankTransfers': {
        // Validated before the index is taken, so a refused creation leaves no hole.
        const index = col.size;
        const args: CreateArgs = {
          gen: this.gen,
          rng,
          index,
          fields,
          todayMs: today,
          nowMs: now,
          isBank: (code) => this.account(code)?.type === 'BANK',
          contactIndex: (id) => this.require('contacts', id).index,
        };
        let r;
        try {
          r = name === 'bankTransactions' ? createBankTransaction(args) : createBankTransfer(args);
        } catch (err) {
          throw (err as { status?: number }).status === 400 ? new SimError(400, (err as Error).message) : err;
        }
        col.allocate();
        this.save(name, index, r as never);
        return this.log(out, 'create', name, index);
      }
      case 'purchaseOrders': {
        const index = col.allocate();
        const base = this.gen.purchaseOrder(index % Math.max(1, this.gen.counts.purchaseOrders || 1));
        let contactIndex = base.contactIndex;
        if (typeof fields.contactId === 'string') contactIndex = this.require('contacts', fields.contactId).index;
        const status = ['DRAFT', 'SUBMITTED', 'AUTHORISED', 'BILLED'].includes(fields.status as string) ? (fields.status as 'DRAFT') : 'AUTHORISED';
        const po = {
          ...base,
          ...this.gen.makeLines(rng, false, false, rng.int(1, 3)),
          index,
          number: `PO-${String(index + 1).padStart(6, '0')}`,
          reference: typeof fields.reference === 'string' ? fields.reference : '',
          contactIndex,
          dateMs: today,
          deliveryDateMs: today + 7 * DAY_MS,
          status,
          sentToContact: status !== 'DRAFT',
          updatedMs: now,
        };
        this.save(name, index, po as never);
        return this.log(out, 'create', name, index);
      }
      default:
        throw new SimError(400, `creating ${name} is not supported`);
    }
  }

  /**
   * Realistic activity, deterministic from the seed and the batch number: new invoices, bills and payments, edits,
   * voids, soft and hard deletes, and documents created and deleted within the batch. Events are spread evenly over
   * `advanceMs`, and the tenant clock ends `advanceMs` later.
   */
  activity(events: number, advanceMs: number): ChangeLog[] {
    const batch = this.activitySeq++;
    const rng = Rng.of(this.gen.seedHash, STREAMS.activity, 0xac, batch);
    const out: ChangeLog[] = [];
    const start = this.offsetMs;
    for (let k = 0; k < events; k++) {
      this.offsetMs = start + Math.floor(((k + 1) * advanceMs) / (events + 1));
      const roll = rng.next();
      try {
        if (roll < 0.28) this.create('invoices', {}, out);
        else if (roll < 0.46) this.create('payments', {}, out);
        else if (roll < 0.54) {
          const i = this.pickLive(rng, 'invoices', 0, (d) => d.status === 'AUTHORISED');
          if (i !== undefined) this.edit('invoices', this.gen.id('invoices', i), { reference: `Updated ${rng.int(100, 999)}` }, out);
        } else if (roll < 0.58) {
          const i = this.pickLive(rng, 'invoices', this.gen.paidInvoices, (d) => d.status === 'AUTHORISED' && d.payments.length === 0);
          if (i !== undefined) this.void('invoices', this.gen.id('invoices', i), out);
        } else if (roll < 0.63) {
          const created = this.create('invoices', { status: 'DRAFT' }, out);
          this.delete('invoices', created.id, out);
        } else if (roll < 0.72) this.create('bills', {}, out);
        else if (roll < 0.79) this.create('billPayments', {}, out);
        else if (roll < 0.84) {
          const i = this.pickLive(rng, 'contacts', 0, () => true);
          if (i !== undefined) this.edit('contacts', this.gen.id('contacts', i), { email: `accounts${rng.int(1, 99)}@changed.example` }, out);
        } else if (roll < 0.86) {
          const i = this.pickLive(rng, 'contacts', 0, (c) => c.status === 'ACTIVE');
          if (i !== undefined) this.edit('contacts', this.gen.id('contacts', i), { status: 'ARCHIVED' }, out);
        } else if (roll < 0.88) this.create('contacts', { isSupplier: rng.chance(0.3) }, out);
        else if (roll < 0.9) this.create('items', {}, out);
        else if (roll < 0.92) {
          const i = this.pickLive(rng, 'items', 0, () => true);
          if (i !== undefined) this.hardDelete('items', this.gen.id('items', i), out);
        } else if (roll < 0.95) this.create('manualJournals', {}, out);
        else if (roll < 0.97) {
          const i = this.pickLive(rng, 'payments', 0, (p) => p.status === 'AUTHORISED');
          if (i !== undefined) this.delete('payments', this.gen.id('payments', i), out);
        } else this.create('creditNotes', {}, out);
      } catch (err) {
        if (!(err instanceof SimError)) throw err;
        // Nothing suitable to act on (e.g. no open invoice): the event is a no-op.
      }
    }
    this.offsetMs = start + advanceMs;
    return out;
  }

}

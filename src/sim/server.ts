import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { systemClock, type Clock } from '../lib/clock.js';
import { TokenStore, type OfflineTokenSet } from './auth.js';
import type { TenantSize } from './generate.js';
import { renderBankTransaction, renderBankTransfer } from './xero/banking.js';
import { COLLECTIONS, type CollectionName, type Doc, type Pay, type RecordTypes } from './model.js';
import { HttpError, json, parseIntParam, parseJson, readBody } from './http.js';
import type { CreateTenantOptions, SimHost } from './host.js';
import { SimError, Tenant, newCounters, type Fault, type FaultKind, type RateLimit } from './tenant.js';
import { createStateFile } from './state-file.js';
import { createQboDialect, type QboDialect, type QboDialectOptions } from './qbo/dialect.js';
import { API_PREFIX, createXeroApi, PROVIDER } from './xero/api.js';
import { createXeroIdentity } from './xero/identity.js';
import { REPORT_TITLE_KEYS, reportTitles } from './xero/reports.js';
import { renderPurchaseOrder } from './xero/documents.js';
import { attachmentsAdmin } from './attachments.js';
import { renderAccount, renderContact, renderDoc, renderItem, renderManualJournal, renderOnAccount, renderPayment, renderTaxRate, renderTrackingCategory } from './xero/render.js';

export type { CreateTenantOptions } from './host.js';
export { parseIfModifiedSince, parseWhere } from './xero/api.js';

/**
 * The simulator: platform-neutral tenants (generator, ledger, overlay of changes, clocks, limits, faults), the token
 * store and the admin API, with Xero's wire dialect (./xero) and QuickBooks Online's (./qbo) mounted at their paths
 * over the same tenants.
 */

export interface SimulatorOptions {
  host?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  /** Business time (token lifetimes, generated history, UpdatedDateUTC of changes). Each tenant may run ahead of it. */
  clock?: Clock;
  accessTokenSeconds?: number;
  /** Days a refresh token stays valid unused (default 60, as Xero's). */
  refreshTokenIdleDays?: number;
  /** Seconds a rotated-out refresh token remains usable (default 1800, as Xero's). */
  refreshGraceSeconds?: number;
  /** Default limits of new tenants. The minute window runs on real time, because clients really wait. */
  rateLimit?: Partial<RateLimit> & { windowSeconds?: number; appPerMinute?: number };
  /**
   * The clock the minute windows run on (default: real time, not `clock`, which tests jump by days). Tests pass the
   * same clock as the connector's `rateClock` so both sides count one window without wall-clock waits.
   */
  rateClock?: Clock;
  maxPageSize?: number;
  defaultPageSize?: number;
  /** Size of tenants created by the sandbox authorize endpoint when the request names none (default 200 invoices). */
  defaultTenantSize?: number | TenantSize;
  /** When set, /admin calls need `Authorization: Bearer <adminToken>`. */
  adminToken?: string;
  /**
   * Xero OAuth apps (`--oauth-client ID:SECRET`) the authorize and token endpoints accept; no secret → a public client
   * that must use PKCE. The first redirect URI an app uses is fixed for it.
   */
  oauthClients?: { clientId: string; clientSecret?: string }[];
  /** The QuickBooks Online dialect (src/sim/qbo/): OAuth clients, per-realm limits, token lifetimes. */
  qbo?: Omit<QboDialectOptions, 'clock' | 'createTenant'>;
  /**
   * A state file (`syncline sim --data FILE`; the server's embedded Sandbox keeps one in SYNCLINE_DATA_DIR): loaded at
   * start when it exists, rewritten after every change (tenants and their edits, clocks, limits, grants and hashed
   * tokens), so a restart loses no linked tenant. Counters, faults and pending authorization codes are not kept.
   */
  stateFile?: string;
}


export interface Simulator {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
  createTenant(opts: CreateTenantOptions): Tenant;
  tenant(id: string): Tenant | undefined;
  /** Issues a new grant (access + refresh token) for a tenant, as the end of an OAuth authorization would. */
  grant(tenantId: string): OfflineTokenSet;
  tokens: TokenStore;
  /** The QuickBooks Online dialect over the same tenants. */
  qbo: QboDialect;
}

export async function startSimulator(opts: SimulatorOptions = {}): Promise<Simulator> {
  const clock = opts.clock ?? systemClock;
  const tenants = new Map<string, Tenant>();
  const tokens = new TokenStore(
    {
      accessTokenSeconds: opts.accessTokenSeconds ?? 1800,
      refreshTokenIdleDays: opts.refreshTokenIdleDays ?? 60,
      refreshGraceSeconds: opts.refreshGraceSeconds ?? 1800,
    },
    (tid) => tenants.get(tid)?.nowMs() ?? clock.now().getTime(),
    opts.oauthClients ?? [],
  );
  const defaultLimits: RateLimit = {
    perMinute: opts.rateLimit?.perMinute ?? 60,
    concurrent: opts.rateLimit?.concurrent ?? 5,
    // Xero's daily limit per tenant (5,000); `perDay: undefined` in rateLimit lifts it.
    ...('perDay' in (opts.rateLimit ?? {}) ? (opts.rateLimit!.perDay !== undefined ? { perDay: opts.rateLimit!.perDay } : {}) : { perDay: 5000 }),
  };
  const windowMs = (opts.rateLimit?.windowSeconds ?? 60) * 1000;
  const maxPageSize = opts.maxPageSize ?? 1000;
  const defaultPageSize = opts.defaultPageSize ?? 100;
  const hanging = new Set<ServerResponse>();
  const sockets = new Set<Socket>();

  const state = opts.stateFile ? createStateFile(opts.stateFile) : undefined;
  if (state) {
    const saved = state.load();
    if (saved) {
      tokens.restore(saved.tokens);
      for (const snap of saved.tenants) {
        const t = Tenant.restore(snap, clock);
        tenants.set(t.id, t);
      }
    }
  }
  const changed = () => state?.schedule(() => ({ version: 1, tenants: [...tenants.values()].map((t) => t.snapshot()), tokens: tokens.snapshot() }));

  function createTenant(o: CreateTenantOptions): Tenant {
    const t = new Tenant(o.seed, o.size ?? opts.defaultTenantSize ?? 200, o.name, clock, defaultLimits, o.anchor ? new Date(o.anchor) : undefined);
    const existing = tenants.get(t.id);
    if (existing) return existing;
    tenants.set(t.id, t);
    changed();
    return t;
  }

  // `--oauth-client ID:SECRET` registers the client with both dialects (QuickBooks clients always have a secret).
  const qboClients = [...(opts.qbo?.clients ?? []), ...(opts.oauthClients ?? []).flatMap((c) => (c.clientSecret ? [{ id: c.clientId, secret: c.clientSecret }] : []))];
  const qbo = createQboDialect({ ...(opts.qbo ?? {}), clients: qboClients, clock, createTenant, rateNow: () => rateClock.now().getTime() });

  function grant(tenantId: string): OfflineTokenSet {
    const t = tenants.get(tenantId);
    if (!t) throw new SimError(404, `no tenant ${tenantId}`);
    t.counters.tokensIssued++;
    const set = tokens.grant(tenantId);
    changed();
    return set;
  }

  const app = { perMinute: opts.rateLimit?.appPerMinute ?? 10_000, window: [] as number[] };
  const rateClock = opts.rateClock ?? systemClock;
  const simHost: SimHost = { clock, rateNow: () => rateClock.now().getTime(), tenants, tokens, windowMs, app, maxPageSize, defaultPageSize, hanging, createTenant, grant };
  const serveApi = createXeroApi(simHost);
  const identity = createXeroIdentity(simHost);
  const { serveConnect, serveConnections } = identity;

  function tenantInfo(t: Tenant) {
    return {
      tenantId: t.id,
      tenantName: t.displayName,
      seed: t.seed,
      size: t.gen.counts,
      anchor: new Date(t.gen.anchorMs).toISOString(),
      historyStart: new Date(t.gen.startMs).toISOString(),
      now: t.now().toISOString(),
      clockOffsetSeconds: t.offsetMs / 1000,
      records: Object.fromEntries(COLLECTIONS.map((c) => [c, t.collections[c].size])),
      overlay: Object.fromEntries(COLLECTIONS.map((c) => [c, t.collections[c].overlaySize])),
      rateLimit: t.limits,
      faults: t.faults,
    };
  }

  // ----- admin ----------------------------------------------------------------------------------------------------

  function requireTenant(id: string | undefined): Tenant {
    const t = id ? tenants.get(id.toLowerCase()) : undefined;
    if (!t) throw new HttpError(404, `no tenant ${id}`);
    return t;
  }
  function collectionName(s: string | undefined): CollectionName {
    const c = COLLECTIONS.find((x) => x.toLowerCase() === (s ?? '').toLowerCase());
    if (!c) throw new HttpError(404, `unknown collection ${s}; one of ${COLLECTIONS.join(', ')}`);
    return c;
  }
  const num = (v: unknown, name: string, dflt?: number): number => {
    if (v === undefined || v === null) {
      if (dflt === undefined) throw new HttpError(400, `${name} is required`);
      return dflt;
    }
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new HttpError(400, `${name} must be a non-negative number`);
    return v;
  };

  /** A bulk edit's selection: `{ids: [...]}` or `{every, offset?}` (positions in the admin listing). */
  function bulkSelection(body: Record<string, unknown>): { ids: string[] } | { every: number; offset: number } {
    const int = (v: unknown, name: string, min: number): number => {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw new HttpError(400, `${name} must be an integer ≥ ${min}`);
      return v;
    };
    if (body.ids !== undefined) {
      if (body.every !== undefined || body.offset !== undefined) throw new HttpError(400, 'give either ids or every (and offset), not both');
      if (!Array.isArray(body.ids) || body.ids.length === 0 || !body.ids.every((id) => typeof id === 'string' && id !== '')) throw new HttpError(400, 'ids must be a non-empty array of record ids');
      return { ids: body.ids as string[] };
    }
    if (body.every === undefined) throw new HttpError(400, 'ids or every is required');
    return { every: int(body.every, 'every', 1), offset: body.offset === undefined ? 0 : int(body.offset, 'offset', 0) };
  }
  function patchOf(body: Record<string, unknown>): Record<string, unknown> {
    const p = body.patch ?? {};
    if (typeof p !== 'object' || p === null || Array.isArray(p)) throw new HttpError(400, 'patch must be an object of field: value');
    return p as Record<string, unknown>;
  }

  async function serveAdmin(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    if (opts.adminToken && req.headers.authorization !== `Bearer ${opts.adminToken}`) return json(res, 401, { error: 'admin token required' });
    const segs = url.pathname.split('/').filter(Boolean).slice(1); // drop "admin"
    const method = req.method ?? 'GET';
    const body = method === 'GET' || method === 'DELETE' ? {} : parseJson(await readBody(req));
    const send = (status: number, b: unknown) => json(res, status, b);
    if (segs[0] === 'counters' && segs.length === 1 && method === 'GET') {
      return send(200, Object.fromEntries([...tenants.values()].map((t) => [t.id, t.counters])));
    }
    if (segs[0] === 'stats' && method === 'GET') {
      const m = process.memoryUsage();
      return send(200, { tenants: tenants.size, heapUsedBytes: m.heapUsed, rssBytes: m.rss });
    }
    if (segs[0] === 'qbo') return qbo.admin(req, res, url, segs.slice(1), body);
    if (segs[0] === 'identity' && segs[1] === 'faults' && segs.length === 2 && method === 'POST') return send(200, identity.setFaults(body));
    if (segs[0] !== 'tenants') throw new HttpError(404, 'not found');
    if (segs.length === 1) {
      if (method === 'GET') return send(200, [...tenants.values()].map(tenantInfo));
      if (method === 'POST') {
        if (typeof body.seed !== 'string' || !body.seed) throw new HttpError(400, 'seed (string) is required');
        const before = tenants.size;
        const t = createTenant({
          seed: body.seed,
          ...(body.size !== undefined ? { size: body.size as number | TenantSize } : {}),
          ...(typeof body.name === 'string' ? { name: body.name } : {}),
          ...(typeof body.anchor === 'string' ? { anchor: body.anchor } : {}),
        });
        const created = tenants.size > before;
        const tokensOut = body.grant === true ? { tokens: grant(t.id) } : {};
        return send(created ? 201 : 200, { ...tenantInfo(t), created, ...tokensOut });
      }
    }
    const t = requireTenant(segs[1]);
    const action = segs[2];
    if (!action) {
      if (method === 'GET') return send(200, tenantInfo(t));
      if (method === 'DELETE') {
        tokens.dropTenant(t.id);
        tenants.delete(t.id);
        res.writeHead(204).end();
        return;
      }
    }
    if (action === 'attachments') return send(...attachmentsAdmin(t, method, segs.slice(3), body));
    switch (`${method} ${action}`) {
      case 'POST clock': {
        const ms = num(body.advanceSeconds, 'advanceSeconds', 0) * 1000 + num(body.advanceDays, 'advanceDays', 0) * 86_400_000;
        t.advance(ms);
        return send(200, { now: t.now().toISOString(), clockOffsetSeconds: t.offsetMs / 1000 });
      }
      case 'POST activity': {
        const events = Math.floor(num(body.events, 'events', 20));
        const ms = num(body.advanceSeconds, 'advanceSeconds', 0) * 1000 + num(body.advanceDays, 'advanceDays', body.advanceSeconds === undefined ? 1 : 0) * 86_400_000;
        const changes = t.activity(events, ms);
        return send(200, { now: t.now().toISOString(), changes });
      }
      case 'POST grant':
        return send(200, { ...grant(t.id), tenantId: t.id });
      case 'POST revoke':
        return send(200, { revokedGrants: tokens.revokeTenant(t.id) });
      case 'POST expire-access-tokens':
        return send(200, { expired: tokens.expireAccess(t.id) });
      case 'GET counters':
        return send(200, t.counters);
      case 'POST counters':
        if (segs[3] !== 'reset') break;
        t.counters = newCounters();
        return send(200, t.counters);
      case 'PUT rate-limit': {
        const next: RateLimit = {
          perMinute: Math.floor(num(body.perMinute, 'perMinute', t.limits.perMinute)),
          concurrent: Math.floor(num(body.concurrent, 'concurrent', t.limits.concurrent)),
        };
        const perDay = body.perDay === null ? undefined : body.perDay === undefined ? t.limits.perDay : Math.floor(num(body.perDay, 'perDay'));
        if (perDay !== undefined) next.perDay = perDay;
        t.limits = next;
        return send(200, t.limits);
      }
      case 'GET report-titles':
        return send(200, reportTitles(t.gen.organisation.version, t.reportTitles));
      case 'PUT report-titles': {
        // Another wording of the statements (a locale, an edition): keys are REPORT_TITLE_KEYS, values non-empty.
        const next: Record<string, string> = {};
        for (const [k, v] of Object.entries(body)) {
          if (!(REPORT_TITLE_KEYS as readonly string[]).includes(k)) throw new HttpError(400, `unknown report title ${k}; one of ${REPORT_TITLE_KEYS.join(', ')}`);
          if (typeof v !== 'string' || !v.trim()) throw new HttpError(400, `${k} must be a non-empty string`);
          next[k] = v;
        }
        t.reportTitles = next;
        return send(200, reportTitles(t.gen.organisation.version, t.reportTitles));
      }
      case 'GET faults':
        return send(200, t.faults);
      case 'DELETE faults':
        t.faults = [];
        t.releaseHeld();
        return send(200, t.faults);
      case 'POST faults': {
        if (segs[3] !== undefined) {
          if (segs[3] !== 'release') break;
          // Held calls go on; hold faults not yet taken are dropped, so a call arriving after the release is not held.
          const released = t.releaseHeld();
          t.faults = t.faults.filter((f) => f.kind !== 'hold');
          return send(200, { released });
        }
        const kind = body.kind as FaultKind | 'revoke';
        if (kind === 'revoke') return send(200, { revokedGrants: tokens.revokeTenant(t.id) });
        if (!['5xx', 'slow', 'hold', 'timeout', 'truncate', '429'].includes(kind)) throw new HttpError(400, 'kind must be one of 5xx, slow, hold, timeout, truncate, 429, revoke');
        const fault: Fault = { kind, remaining: body.count === null ? null : Math.floor(num(body.count, 'count', 1)) };
        if (typeof body.path === 'string') fault.path = body.path;
        if (body.status !== undefined) fault.status = Math.floor(num(body.status, 'status'));
        if (body.delayMs !== undefined) fault.delayMs = num(body.delayMs, 'delayMs');
        if (body.retryAfterSeconds !== undefined) fault.retryAfterSeconds = Math.floor(num(body.retryAfterSeconds, 'retryAfterSeconds'));
        t.faults.push(fault);
        return send(201, t.faults);
      }
      case 'GET records': {
        const name = collectionName(segs[3]);
        const col = t.collections[name];
        if (segs[4]) {
          const { record } = t.require(name, segs[4]);
          // `unitdp=4` as on Xero's own reads: unit prices with 4 decimals (the connector always asks for them).
          return send(200, url.searchParams.get('raw') === 'true' ? record : renderAny(t, name, record, url.searchParams.get('unitdp') === '4' ? 4 : 2));
        }
        const offset = parseIntParam(url.searchParams.get('offset'), 'offset', 0);
        const limit = Math.min(10_000, parseIntParam(url.searchParams.get('limit'), 'limit', 100));
        const page = col.list({ offset, limit });
        return send(200, { total: page.total, ids: page.items.map((r) => t.gen.id(name, (r as { index: number }).index)) });
      }
      case 'POST records': {
        const name = collectionName(segs[3]);
        const op = segs[5];
        if (!segs[4]) return send(201, t.create(name, (body.fields as Record<string, unknown>) ?? body));
        if (segs[4] === 'bulk-edit' && !op) return send(200, t.bulkEdit(name, bulkSelection(body), patchOf(body)));
        const id = segs[4];
        switch (op) {
          case 'edit':
            return send(200, t.edit(name, id, (body.patch as Record<string, unknown>) ?? {}));
          case 'void':
            return send(200, t.void(name, id));
          case 'delete':
            return send(200, t.delete(name, id));
          case 'hard-delete':
            return send(200, t.hardDelete(name, id));
        }
        break;
      }
    }
    throw new HttpError(404, `no admin route ${method} ${url.pathname}`);
  }

  function renderAny(t: Tenant, name: CollectionName, r: unknown, unitdp: 2 | 4 = 2): unknown {
    switch (name) {
      case 'accounts':
        return renderAccount(t, r as RecordTypes['accounts']);
      case 'taxRates':
        return renderTaxRate(r as RecordTypes['taxRates']);
      case 'trackingCategories':
        return renderTrackingCategory(t, r as RecordTypes['trackingCategories'], true);
      case 'items':
        return renderItem(t, r as RecordTypes['items']);
      case 'contacts':
        return renderContact(t, r as RecordTypes['contacts']);
      case 'invoices':
      case 'bills':
      case 'creditNotes':
        return renderDoc(t, r as Doc, unitdp);
      case 'payments':
      case 'billPayments':
        return renderPayment(t, r as Pay);
      case 'manualJournals':
        return renderManualJournal(t, r as RecordTypes['manualJournals']);
      case 'bankTransactions':
        return renderBankTransaction(t, r as RecordTypes['bankTransactions']);
      case 'bankTransfers':
        return renderBankTransfer(t, r as RecordTypes['bankTransfers']);
      case 'billCreditNotes':
        return renderDoc(t, r as Doc, unitdp);
      case 'purchaseOrders':
        return renderPurchaseOrder(t, r as RecordTypes['purchaseOrders']);
      case 'overpayments':
      case 'prepayments':
        return renderOnAccount(t, r as RecordTypes['overpayments'], unitdp);
    }
  }

  // ----- server -----------------------------------------------------------------------------------------------

  const server = createServer((req, res) => {
    // Whatever is not a read may have changed the state: the state file is rewritten shortly after.
    if (state && req.method !== 'GET' && req.method !== 'HEAD') res.once('finish', changed);
    const url = new URL(req.url ?? '/', 'http://sim.local');
    const p = url.pathname;
    const lower = p.toLowerCase();
    const run = async () => {
      if (lower.startsWith(API_PREFIX)) return serveApi(req, res, url);
      if (qbo.owns(lower)) return qbo.handle(req, res, url);
      if (lower === '/identity/connect/authorize') return identity.serveAuthorize(req, res, url);
      if (lower.startsWith('/connect/')) return serveConnect(req, res, url);
      if (lower === '/connections' || lower.startsWith('/connections/')) return serveConnections(req, res, url);
      if (lower === '/admin' || lower.startsWith('/admin/')) return serveAdmin(req, res, url);
      if (lower === '/' && req.method === 'GET') return json(res, 200, { name: PROVIDER, api: API_PREFIX, tenants: tenants.size, docs: 'docs/simulator.md' });
      throw new HttpError(404, 'not found');
    };
    run().catch((err: unknown) => {
      if (res.headersSent) return void res.destroy();
      if (err instanceof HttpError || err instanceof SimError) return json(res, err.status, { Title: 'Error', Status: err.status, Detail: err.message }, err instanceof HttpError ? err.headers : {});
      json(res, 500, { Title: 'Internal Server Error', Status: 500, Detail: err instanceof Error ? err.message : String(err) });
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    url: `http://${host}:${addr.port}`,
    port: addr.port,
    tokens,
    qbo,
    createTenant,
    tenant: (id) => tenants.get(id.toLowerCase()),
    grant,
    close: async () => {
      await new Promise<void>((resolve) => {
        for (const r of hanging) r.destroy();
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
      await state?.flush();
    },
  };
}

/**
 * The dashboard's only way to the server: openapi-fetch typed by schema.d.ts, which is generated from the server's
 * /openapi.json (npm run ui:api-types; test/ui-api-types.test.ts keeps it current). A path, method, parameter or body
 * the API does not document does not type-check. The API key lives in sessionStorage (this tab, until it closes) and
 * in memory — never in localStorage — and is sent as `Authorization: Basic base64(apiKey)` like any API client.
 */
import createClient, { type Middleware } from 'openapi-fetch';
import type { components, paths } from './schema';
import { READ_TYPES } from '../../domain/read-types';

export type Company = components['schemas']['Company'];
export type Connection = components['schemas']['Connection'];
export type Integration = components['schemas']['Integration'];
export type PullOperation = components['schemas']['PullOperation'];
export type ErrorMessage = components['schemas']['ErrorMessage'];
type Json<P extends keyof paths, M extends 'get' | 'post'> = paths[P][M] extends { responses: { 200: { content: { 'application/json': infer T } } } } ? T : never;
export type DataStatus = Json<'/companies/{companyId}/dataStatus', 'get'>;
export type SyncSettings = Json<'/companies/{companyId}/syncSettings', 'get'>;
export type SyncSetting = SyncSettings['settings'][number];
export type Webhook = Json<'/webhooks', 'get'>['results'][number];
export type WebhookAttempt = Json<'/webhooks/{webhookId}/attempts', 'get'>['results'][number];
export type OperationsSummary = Json<'/operations/summary', 'get'>;
export type Profile = Json<'/profile', 'get'>;
export type Page<T> = { results: T[]; pageNumber: number; pageSize: number; totalResults: number };

/**
 * Every record list the API serves, read from the server's own list (src/domain/read-types.ts: a type added there
 * appears here at the next build): path segment, and whether Codat serves it only under a connection
 * (`/companies/{companyId}/connections/{connectionId}/data/{segment}`). Company info is a single document, not a list.
 */
export const RECORD_TYPES = READ_TYPES.filter((t) => !t.single).map((t) => ({ segment: t.segment, connectionOnly: !!t.connectionOnly }));
export type RecordType = string;
export const isConnectionOnly = (segment: string) => RECORD_TYPES.some((t) => t.segment === segment && t.connectionOnly);
export const STATEMENTS = ['profitAndLoss', 'balanceSheet', 'cashFlowStatement'] as const;
export type Statement = (typeof STATEMENTS)[number];
type StatementPath = `/companies/{companyId}/data/financials/${Statement}`;
// Compile-time proof that every statement path built from the list above is a documented GET operation
// (the record paths built from READ_TYPES are checked against /openapi.json by test/ui-api-types.test.ts).
type Undocumented = Exclude<StatementPath, keyof paths>;
const documented: [Undocumented] extends [never] ? true : Undocumented = true;
void documented;

const KEY = 'syncline.apiKey';
let apiKey: string | null = sessionStorage.getItem(KEY);
const listeners = new Set<() => void>();

export const auth = {
  key: () => apiKey,
  signIn(key: string) {
    apiKey = key;
    sessionStorage.setItem(KEY, key);
    listeners.forEach((l) => l());
  },
  signOut() {
    apiKey = null;
    sessionStorage.removeItem(KEY);
    listeners.forEach((l) => l());
  },
  subscribe(l: () => void) {
    listeners.add(l);
    return () => listeners.delete(l);
  },
};

/** base64 of the key's UTF-8 bytes (btoa alone takes Latin-1 only). */
export function basicHeader(key: string): string {
  const bytes = new TextEncoder().encode(key);
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return `Basic ${btoa(bin)}`;
}

const authMiddleware: Middleware = {
  onRequest({ request }) {
    if (apiKey) request.headers.set('Authorization', basicHeader(apiKey));
    return request;
  },
  onResponse({ response }) {
    // A revoked key: back to the sign-in page rather than a page of errors.
    if (response.status === 401 && apiKey) auth.signOut();
    return response;
  },
};

export const api = createClient<paths>({ baseUrl: window.location.origin });
api.use(authMiddleware);

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: ErrorMessage | undefined,
  ) {
    super(body?.error ?? `HTTP ${status}`);
  }
  /** The API's validation messages, else its error text. */
  get detail(): string {
    const errs = this.body?.validation?.errors ?? [];
    const parts = errs.map((e) => [e.itemId, e.message].filter(Boolean).join(': ')).filter(Boolean);
    return parts.length ? `${this.message} ${parts.join('; ')}` : this.message;
  }
}

/** The data of an openapi-fetch answer, or an ApiError carrying the ErrorMessage. */
export async function ok<T>(p: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  const r = await p;
  if (!r.response.ok) throw new ApiError(r.response.status, r.error as ErrorMessage | undefined);
  return r.data as T;
}

/** The list path of a record type: company-level, or under the given connection for connection-only types. */
function recordsPath(type: RecordType, connectionId: string | undefined): string {
  if (!isConnectionOnly(type)) return `/companies/{companyId}/data/${type}`;
  if (!connectionId) throw new Error(`${type} is read per connection, and the company has no connection`);
  return `/companies/{companyId}/connections/${connectionId}/data/${type}`;
}

export function listRecords(companyId: string, type: RecordType, query: { page: number; pageSize: number; query?: string; orderBy?: string }, connectionId?: string) {
  // One documented path per record type; they share one response shape, so one literal types them all.
  const path = recordsPath(type, connectionId) as '/companies/{companyId}/data/invoices';
  return ok(api.GET(path, { params: { path: { companyId }, query } })) as Promise<Page<Record<string, unknown>>>;
}

export function getRecord(companyId: string, type: RecordType, id: string, connectionId?: string) {
  // Each type names its id parameter differently (invoiceId, billId…); the placeholder's name only matters to the
  // substitution, the URL sent is …/data/{type}/{id}, documented for every type.
  const path = `${recordsPath(type, connectionId)}/{invoiceId}` as '/companies/{companyId}/data/invoices/{invoiceId}';
  return ok(api.GET(path, { params: { path: { companyId, invoiceId: id } } })).then((r) => r as Record<string, unknown>);
}

export function getStatement(companyId: string, kind: Statement, periodLength: number, periodsToCompare: number) {
  const path = `/companies/{companyId}/data/financials/${kind}` as '/companies/{companyId}/data/financials/profitAndLoss';
  return ok(api.GET(path, { params: { path: { companyId }, query: { periodLength, periodsToCompare } } })).then((r) => r as Record<string, any>);
}

import type { Kysely, Transaction } from 'kysely';
import type { Database } from './schema.js';

/** DataConnectionError (platform-api.md §7.3). */
export interface DataConnectionError {
  statusCode: string;
  statusText: string;
  errorMessage: string;
  erroredOnUtc: string;
  status: 'Active' | 'Resolved' | null;
  resolvedOnUtc?: string;
}

const MAX_ERRORS = 10;

/** Prepends an error to a connection's list (newest first, at most 10). */
export async function recordConnectionError(db: Kysely<Database> | Transaction<Database>, connectionId: string, error: DataConnectionError): Promise<void> {
  const row = await db.selectFrom('connections').select('errors').where('id', '=', connectionId).executeTakeFirst();
  if (!row) return;
  const list = row.errors ? (JSON.parse(row.errors) as DataConnectionError[]) : [];
  const next = [error, ...list].slice(0, MAX_ERRORS);
  await db.updateTable('connections').set({ errors: JSON.stringify(next) }).where('id', '=', connectionId).execute();
}

/** Marks every Active error resolved (when the connection is linked again). */
export async function resolveConnectionErrors(db: Kysely<Database> | Transaction<Database>, connectionId: string, at: string): Promise<void> {
  const row = await db.selectFrom('connections').select('errors').where('id', '=', connectionId).executeTakeFirst();
  if (!row?.errors) return;
  const list = (JSON.parse(row.errors) as DataConnectionError[]).map((e) => (e.status === 'Active' ? { ...e, status: 'Resolved' as const, resolvedOnUtc: at } : e));
  await db.updateTable('connections').set({ errors: JSON.stringify(list) }).where('id', '=', connectionId).execute();
}

const STATUS_TEXT: Record<number, string> = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 429: 'Too Many Requests', 500: 'Internal Server Error' };
export const statusText = (code: number): string => STATUS_TEXT[code] ?? 'Error';

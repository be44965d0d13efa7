/**
 * Webhook event types (webhooks.md §2) and the rules that do not need I/O: name normalisation, company-tag filters,
 * the retry schedule and the disabling window.
 */

/** Current-style events: `{id, eventType, generatedDate, payload}` bodies (webhooks.md §3). */
export const CURRENT_EVENT_TYPES = [
  'company.created',
  'company.deleted',
  'connection.created',
  'connection.connected',
  'connection.disconnected',
  'connection.reconnected',
  'connection.failed',
  'connection.deleted',
  'read.completed',
  'read.completed.initial',
  'records.changed',
] as const;
export type CurrentEventType = (typeof CURRENT_EVENT_TYPES)[number];

/** Legacy "rule" events, PascalCase bodies (webhooks.md §5), with their accepted aliases and display names. */
export const LEGACY_EVENT_TYPES = {
  DataSyncCompleted: { ruleType: 'Data sync completed', aliases: ['Data sync completed'] },
  DatasetDataChanged: { ruleType: 'Dataset data changed', aliases: ['Dataset data changed'] },
  DataSyncStatusChangedToError: {
    ruleType: 'Data Sync Status Changed To Error',
    aliases: ['Data Sync Status Changed To Error', 'Dataset status has changed to an error state'],
  },
  DataConnectionStatusChanged: { ruleType: 'DataConnectionStatusChanged', aliases: ['Company data connection status changed'] },
  NewCompanySynchronized: { ruleType: 'New company synchronized', aliases: ['New company synchronized'] },
} as const;
export type LegacyEventType = keyof typeof LEGACY_EVENT_TYPES;

export type EventType = CurrentEventType | LegacyEventType;

export const isLegacyEventType = (t: string): t is LegacyEventType => Object.prototype.hasOwnProperty.call(LEGACY_EVENT_TYPES, t);

/** Lower-cased name or alias → canonical name. */
const CANONICAL = new Map<string, EventType>();
for (const t of CURRENT_EVENT_TYPES) CANONICAL.set(t.toLowerCase(), t);
for (const [name, def] of Object.entries(LEGACY_EVENT_TYPES) as [LegacyEventType, (typeof LEGACY_EVENT_TYPES)[LegacyEventType]][]) {
  CANONICAL.set(name.toLowerCase(), name);
  for (const alias of def.aliases) CANONICAL.set(alias.toLowerCase(), name);
}

/**
 * A subscription name as stored: known names and aliases (matched case-insensitively) become the canonical name;
 * anything else is kept as written and simply receives nothing (webhooks.md §2.2).
 */
export function canonicalEventType(name: string): string {
  return CANONICAL.get(name.toLowerCase()) ?? name;
}

export const MAX_CONSUMERS = 50;
export const MAX_EVENT_TYPE_LENGTH = 128;
export const MAX_COMPANY_TAGS = 10;
export const MAX_COMPANY_TAG_LENGTH = 128;

/** `tagKey:tagValue`, split at the first colon. Undefined when there is no colon or the key is empty. */
export function parseCompanyTag(tag: string): { key: string; value: string } | undefined {
  const i = tag.indexOf(':');
  if (i <= 0) return undefined;
  return { key: tag.slice(0, i), value: tag.slice(i + 1) };
}

/** webhooks.md §1.1: no filter → everything; otherwise at least one exact `key:value` pair in common. */
export function tagsMatch(filter: readonly string[] | null, companyTags: Readonly<Record<string, string>>): boolean {
  if (!filter || filter.length === 0) return true;
  return filter.some((f) => {
    const t = parseCompanyTag(f);
    return t !== undefined && Object.prototype.hasOwnProperty.call(companyTags, t.key) && companyTags[t.key] === t.value;
  });
}

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

/**
 * webhooks.md §7.2: the wait before attempt n (1-based) counted from the failure of attempt n − 1. Attempt 1 is
 * immediate; 8 attempts in all.
 */
export const RETRY_WAITS_MS: readonly number[] = [0, 5 * SECOND, 5 * MINUTE, 30 * MINUTE, 2 * HOUR, 5 * HOUR, 10 * HOUR, 10 * HOUR];
export const MAX_ATTEMPTS = RETRY_WAITS_MS.length;
/** Longest wait a `Retry-After` may impose. */
export const MAX_RETRY_AFTER_MS = 10 * HOUR;
/** A consumer whose attempts have all failed for this long is disabled (§7.4). */
export const DISABLE_AFTER_MS = 5 * 24 * HOUR;
/** After a rotation, deliveries carry a signature with the old secret too for this long (§6.2). */
export const ROTATION_OVERLAP_MS = 24 * HOUR;
/** A 2xx must arrive within this (§1, §7.1). */
export const DELIVERY_TIMEOUT_MS = 15 * SECOND;
/**
 * Bytes of each response body kept in the delivery log (a receiver's error text fits; a page of HTML is cut). Bounded
 * so the log's size stays attempts × 1 KiB at most, and it goes with its event after the retention period.
 */
export const RESPONSE_BODY_KEEP_BYTES = 1024;

/**
 * When the attempt after failed attempt `attempt` (1-based) is due, or undefined when it was the last.
 * `retryAfterMs` (from a 429/503 `Retry-After`) lengthens the wait, never beyond 10 hours, and adds no attempt.
 */
export function nextAttemptAt(failedAt: Date, attempt: number, retryAfterMs?: number): Date | undefined {
  if (attempt >= MAX_ATTEMPTS) return undefined;
  let wait = RETRY_WAITS_MS[attempt]!;
  if (retryAfterMs !== undefined && retryAfterMs > wait) wait = Math.min(retryAfterMs, MAX_RETRY_AFTER_MS);
  return new Date(failedAt.getTime() + wait);
}

/** `Retry-After` as seconds or an HTTP-date, relative to `now`; undefined when absent or unparsable. */
export function parseRetryAfter(value: string | undefined, now: Date): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * SECOND;
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now.getTime());
}

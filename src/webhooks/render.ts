/**
 * Event facts (stored by the outbox) → the JSON body sent to one consumer: the current-style envelope of webhooks.md
 * §3, or the legacy PascalCase body of §5 (whose RuleId is the consumer's id, so it is rendered per consumer).
 * Rendering needs what the store does not know: the public base URL (links), the integration catalogue and the
 * instance's client id and name. Those come through a RenderContext wired where everything is known (src/cli).
 */
import { isLegacyEventType, LEGACY_EVENT_TYPES, type EventType } from '../domain/webhook-events.js';
import type {
  CompanyEventData,
  CompanySnapshot,
  ConnectionEventData,
  ConnectionSnapshot,
  ConnectionStatusData,
  DatasetEventData,
  NewCompanyData,
  ReadEventData,
  RecordsChangedData,
} from '../store/webhook-outbox.js';

export interface RenderContext {
  /** `CompanyDetails`: the Company schema without dataConnections (platform-api.md §7.1). */
  companyDetails(company: CompanySnapshot): Record<string, unknown>;
  /** The Connection schema (platform-api.md §7.3). */
  connection(connection: ConnectionSnapshot): Record<string, unknown>;
  /** Platform name and source type of an integration key. */
  integration(key: string): { name: string; sourceType: string } | undefined;
  /** Instance client id and name (the legacy ClientId / ClientName). */
  client(): Promise<{ id: string; name: string }>;
}

export interface StoredEvent {
  id: string;
  event_type: string;
  company_id: string | null;
  connection_id: string | null;
  data: string;
  generated_at: string;
}

/** CompanyReference (platform-api.md §7.2): `links` only with a UI base URL, which Syncline v1 does not have. */
export function companyReference(c: CompanySnapshot): Record<string, unknown> {
  const out: Record<string, unknown> = { id: c.id, name: c.name };
  if (c.description !== null) out.description = c.description;
  const tags = JSON.parse(c.tags) as Record<string, string>;
  if (Object.keys(tags).length) out.tags = tags;
  return out;
}

/** The body of `event` for `consumerId`, as compact JSON (the exact bytes that are signed). */
export async function renderBody(event: StoredEvent, consumerId: string, ctx: RenderContext): Promise<string> {
  const type = event.event_type as EventType;
  const data = JSON.parse(event.data) as unknown;
  if (isLegacyEventType(type)) return JSON.stringify(await legacyBody(event, type, data, consumerId, ctx));
  return JSON.stringify({ id: event.id, eventType: type, generatedDate: event.generated_at, payload: currentPayload(type, data, ctx) });
}

function currentPayload(type: EventType, data: unknown, ctx: RenderContext): Record<string, unknown> {
  if (type.startsWith('company.')) return ctx.companyDetails((data as CompanyEventData).company);
  if (type.startsWith('connection.')) {
    const d = data as ConnectionEventData;
    return { referenceCompany: companyReference(d.company), connection: ctx.connection(d.connection) };
  }
  if (type === 'records.changed') {
    const { company, ...rest } = data as RecordsChangedData;
    return { referenceCompany: companyReference(company), ...rest };
  }
  const d = data as ReadEventData;
  const out: Record<string, unknown> = { referenceCompany: companyReference(d.company) };
  if (d.modifiedFromDate !== undefined) out.modifiedFromDate = d.modifiedFromDate;
  out.dataTypes = d.dataTypes;
  return out;
}

async function legacyBody(event: StoredEvent, type: keyof typeof LEGACY_EVENT_TYPES, data: unknown, consumerId: string, ctx: RenderContext) {
  const client = await ctx.client();
  const companyId = event.company_id ?? '';
  let message: string;
  let body: Record<string, unknown>;
  switch (type) {
    case 'DataSyncCompleted':
    case 'DatasetDataChanged': {
      const d = data as DatasetEventData;
      message =
        type === 'DataSyncCompleted'
          ? `Data sync of type ${d.dataType} completed for company ${companyId}`
          : `Data has changed for dataset type ${d.dataType}, company ${companyId}`;
      body = { dataType: d.dataType, datasetId: d.datasetId };
      break;
    }
    case 'DataSyncStatusChangedToError': {
      const d = data as DatasetEventData;
      message = `ERROR: syncing ${d.dataType} triggered a ${d.status} notification at ${d.completed}.`;
      body = { dataType: d.dataType, datasetStatus: d.status, datasetId: d.datasetId };
      break;
    }
    case 'DataConnectionStatusChanged': {
      const d = data as ConnectionStatusData;
      const platform = ctx.integration(d.integrationKey)?.name ?? d.integrationKey;
      message = `Data connection for ${platform} status changed from ${d.oldStatus} to ${d.newStatus}`;
      body = { dataConnectionId: event.connection_id, newStatus: d.newStatus, oldStatus: d.oldStatus, platformKey: d.integrationKey };
      break;
    }
    case 'NewCompanySynchronized': {
      const d = data as NewCompanyData;
      message = `Company ${companyId} synced for the first time`;
      // For privacy, companyName carries the company id (webhooks.md §5).
      body = { companyName: companyId, sourceType: ctx.integration(d.integrationKey)?.sourceType ?? 'Accounting' };
      break;
    }
  }
  return {
    ClientId: client.id,
    ClientName: client.name,
    CompanyId: companyId,
    DataConnectionId: event.connection_id,
    RuleId: consumerId,
    RuleType: LEGACY_EVENT_TYPES[type].ruleType,
    AlertId: event.id,
    Message: message,
    Data: body,
  };
}

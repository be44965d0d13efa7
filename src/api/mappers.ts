import type { IntegrationDefinition } from '../connectors/integrations.js';
import { findIntegration } from '../connectors/integrations.js';
import type { CompanyRow } from '../store/companies.repository.js';
import type { ConnectionRow } from '../store/connections.repository.js';
import type { ApiKeyRow } from '../store/api-keys.repository.js';

/** Row → API shape. Optional fields with no value are omitted, never null (platform-api.md §1, §9.2). */
export function connectionToApi(row: ConnectionRow, baseUrl: string): Record<string, unknown> {
  const def = findIntegration(row.integration_key) as IntegrationDefinition;
  const out: Record<string, unknown> = {
    id: row.id,
    integrationId: def.integrationId,
    integrationKey: def.key,
    sourceId: def.sourceId,
    sourceType: def.sourceType,
    platformName: def.name,
    linkUrl: `${baseUrl}/link/companies/${row.company_id}/connections/${row.id}/start`,
    status: row.status,
    created: row.created_at,
  };
  if (row.last_completed) out.lastSync = row.last_completed;
  const errors = row.errors ? (JSON.parse(row.errors) as unknown[]) : [];
  if (errors.length) out.dataConnectionErrors = errors;
  if (row.connection_info) out.connectionInfo = JSON.parse(row.connection_info);
  // Extensions (sync-behaviour.md §5.4): when keep-alive last ran, and when the stored token lapses if left unused.
  if (row.last_keep_alive) out.lastKeepAlive = row.last_keep_alive;
  const lastUse = row.token_used_at ?? (row.status === 'Linked' || row.status === 'Unlinked' ? row.linked_at : null);
  if (lastUse) out.refreshTokenExpiresAt = new Date(Date.parse(lastUse) + def.refreshTokenIdleDays * 86_400_000).toISOString();
  return out;
}

export function companyToApi(row: CompanyRow, connections: ConnectionRow[], baseUrl: string): Record<string, unknown> {
  const tags = JSON.parse(row.tags) as Record<string, string>;
  const out: Record<string, unknown> = { id: row.id, name: row.name };
  if (row.description !== null) out.description = row.description;
  out.redirect = `${baseUrl}/link/companies/${row.id}`;
  let lastSync: string | undefined;
  for (const c of connections) if (c.last_completed && (!lastSync || c.last_completed > lastSync)) lastSync = c.last_completed;
  if (lastSync) out.lastSync = lastSync;
  out.created = row.created_at;
  out.createdByUserName = null;
  out.products = [];
  if (Object.keys(tags).length) out.tags = tags;
  out.dataConnections = connections.map((c) => connectionToApi(c, baseUrl));
  return out;
}

export function apiKeyToApi(row: ApiKeyRow): Record<string, unknown> {
  return { id: row.id, name: row.name, createdDate: row.created_at };
}

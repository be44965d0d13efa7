import type { Kysely } from 'kysely';
import type { Database } from '../../src/store/schema.js';
import type { ConnectionRow } from '../../src/store/connections.repository.js';

/**
 * A company and its Linked connections (integration `mqjo`, the Sandbox), written straight into the store: the fixture
 * of store-level tests that need rows to hang datasets and records on. Returns the connection rows, in `connectionIds`
 * order.
 */
export async function seedLinkedConnections(
  db: Kysely<Database>,
  args: { companyId: string; connectionIds: readonly string[]; at: string; connectionInfo?: string | null },
): Promise<ConnectionRow[]> {
  const { companyId, at } = args;
  await db.insertInto('companies').values({ id: companyId, name: companyId, description: null, tags: '{}', created_at: at }).execute();
  for (const id of args.connectionIds) {
    await db
      .insertInto('connections')
      .values({ id, company_id: companyId, integration_key: 'mqjo', status: 'Linked', credentials: null, connection_info: args.connectionInfo ?? null, errors: null, created_at: at, updated_at: at, last_sync: null })
      .execute();
  }
  const rows = (await db.selectFrom('connections').selectAll().where('id', 'in', [...args.connectionIds]).execute()) as ConnectionRow[];
  return args.connectionIds.map((id) => rows.find((r) => r.id === id)!);
}

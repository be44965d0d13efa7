/**
 * "The store equals the simulator's truth": every record the platform lists now, mapped by the connector, is stored
 * with the same document (compared as canonical JSON), nothing else is stored as live, and nothing is half-written.
 */
import type { DataType } from '../../src/domain/data-types.js';
import type { SourceRecord } from '../../src/connectors/connector.js';
import { SandboxConnector } from '../../src/connectors/xero/index.js';
import { MemoryCredentialsStore } from '../../src/connectors/test-helpers.js';
import { canonicalJson } from '../../src/lib/canonical-json.js';
import { systemClock } from '../../src/lib/clock.js';
import type { Store } from '../../src/store/db.js';
import { secretBox, type Linked } from '../support/sandbox.js';

/** The connector's own full listing of a type, read fresh from the platform. */
export async function platformTruth(simUrl: string, store: Store, link: Linked, dataType: DataType): Promise<Map<string, string>> {
  const conn = await store.db.selectFrom('connections').select(['credentials', 'connection_info']).where('id', '=', link.connectionId).executeTakeFirstOrThrow();
  const connector = new SandboxConnector({ baseUrl: simUrl });
  const gen = connector.pull({
    dataType,
    credentials: new MemoryCredentialsStore(secretBox.openJson(conn.credentials!)),
    connectionInfo: JSON.parse(conn.connection_info!),
    cursor: undefined,
    full: true,
    window: {},
    clock: systemClock,
    signal: AbortSignal.timeout(300_000),
    reportProgress: () => {},
    reportPause: () => {},
  });
  const out = new Map<string, string>();
  for (;;) {
    const step = await gen.next();
    if (step.done) break;
    for (const r of step.value as SourceRecord[]) {
      if (r.deleted) continue;
      // As the store keeps it: the platform's timestamp inside the document.
      const data = r.sourceModifiedDate && !('sourceModifiedDate' in r.data) ? { ...r.data, sourceModifiedDate: r.sourceModifiedDate } : r.data;
      out.set(r.id, canonicalJson(data));
    }
  }
  return out;
}

export async function storedLive(store: Store, connectionId: string, dataType: DataType): Promise<Map<string, string>> {
  const rows = await store.db.selectFrom('records').select(['record_id', 'data']).where('connection_id', '=', connectionId).where('data_type', '=', dataType).where('is_deleted', '=', 0).execute();
  return new Map(rows.map((r) => [r.record_id, canonicalJson(typeof r.data === 'string' ? JSON.parse(r.data) : r.data)]));
}

/** Differences between the store and the platform for one connection and type; empty when equal. */
export async function compareWithTruth(simUrl: string, store: Store, link: Linked, dataType: DataType): Promise<string[]> {
  const [truth, stored] = await Promise.all([platformTruth(simUrl, store, link, dataType), storedLive(store, link.connectionId, dataType)]);
  const problems: string[] = [];
  for (const [id, doc] of truth) {
    const s = stored.get(id);
    if (s === undefined) problems.push(`${dataType} ${id} missing`);
    else if (s !== doc) problems.push(`${dataType} ${id} differs`);
  }
  for (const id of stored.keys()) if (!truth.has(id)) problems.push(`${dataType} ${id} stored but not on the platform`);
  if (problems.length > 5) return [...problems.slice(0, 5), `… ${problems.length - 5} more (${truth.size} on the platform, ${stored.size} stored)`];
  return problems;
}

import type { Kysely } from 'kysely';
import type { Database } from './schema.js';

export interface FirstPull {
  readId: string;
  startedAt: string;
  /** Set once every dataset of the read is terminal. */
  completedAt: string | null;
  datasets: { dataType: string; status: string; statusDescription: string | null; progress: number; syncOrder: number }[];
}

/**
 * The pull a connection's link started (its newest `initial` read: the first link, or the latest re-authorisation),
 * for the Link pages' progress page. Two indexed reads: the read through dataset_reads (connection_id, initial), its
 * datasets through datasets (company_id, requested) from the read's creation on — never the whole pull history.
 */
export class FirstPullRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async get(companyId: string, connectionId: string): Promise<FirstPull | undefined> {
    const read = await this.db
      .selectFrom('dataset_reads')
      .select(['read_id', 'created_at', 'completed_at'])
      .where('connection_id', '=', connectionId)
      .where('company_id', '=', companyId)
      .where('initial', '=', 1)
      .orderBy('created_at', 'desc')
      .limit(1)
      .executeTakeFirst();
    if (!read) return undefined;
    const rows = await this.db
      .selectFrom('datasets')
      .select(['data_type', 'status', 'status_description', 'progress', 'sync_order'])
      .where('company_id', '=', companyId)
      .where('requested', '>=', read.created_at)
      .where('read_id', '=', read.read_id)
      .orderBy('sync_order')
      .orderBy('data_type')
      .execute();
    return {
      readId: read.read_id,
      startedAt: read.created_at,
      completedAt: read.completed_at,
      datasets: rows.map((r) => ({ dataType: r.data_type, status: r.status, statusDescription: r.status_description, progress: r.progress, syncOrder: r.sync_order })),
    };
  }
}

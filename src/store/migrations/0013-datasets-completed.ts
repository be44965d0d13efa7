import { sql, type Kysely, type Migration } from 'kysely';
import type { Dialect } from '../db.js';

/**
 * The dashboard's operations page counts pulls that ended in each of the last 24 hours (GET /operations/summary).
 * Without an index on `completed` that count reads the whole pull history, which grows with every pull ever run;
 * with it, the count reads the last day's rows only. Partial: in-progress rows (completed is null) are not indexed.
 */
export function m0013DatasetsCompleted(_dialect: Dialect): Migration {
  return {
    async up(db: Kysely<any>) {
      await sql`create index datasets_completed on datasets (completed) where completed is not null`.execute(db);
    },
  };
}

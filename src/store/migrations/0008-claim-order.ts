import { sql, type Kysely, type Migration } from 'kysely';
import type { Dialect } from '../db.js';

/**
 * Workers claim the oldest queued dataset in (requested, sync_order, seq) order. The index of 0002 covered
 * (requested, seq) only, so every claim read and sorted the whole queue (0.9 ms at 3,000 queued, growing with the
 * queue; the queue benchmark's top statement). This one is the claim order itself: a claim reads its first rows.
 */
export function m0008ClaimOrder(_dialect: Dialect): Migration {
  return {
    async up(db: Kysely<any>) {
      await sql`create index datasets_claim_order on datasets (requested, sync_order, seq) where status = 'Queued'`.execute(db);
      await sql`drop index datasets_queued`.execute(db);
    },
  };
}

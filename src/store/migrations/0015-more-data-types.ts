import { sql, type Kysely, type Migration } from 'kysely';
import type { Dialect } from '../db.js';

/**
 * Issue 15: more accounting data types.
 * - `datasets.validation`: the findings of a pull's validation (JSON `{errors, warnings}`), written with the dataset's
 *   Complete status and served by `GET /companies/{companyId}/sync/{datasetId}/validation`.
 * - `records_account_id`: bank transactions are listed per bank account (`…/bankAccounts/{accountId}/bankTransactions`);
 *   a tenant has tens of thousands of them, so the account filter is an index lookup. The key is spelled exactly as
 *   `bankTransactionAccountIs` (src/api/routes/data.ts) spells the filter.
 */
export function m0015MoreDataTypes(dialect: Dialect): Migration {
  return {
    async up(db: Kysely<any>) {
      await sql`alter table datasets add column validation text`.execute(db);
      const key = dialect === 'postgres' ? sql.raw(`((data ->> 'accountId'))`) : sql.raw(`json_extract(data, '$.accountId')`);
      await sql`create index records_account_id on records (connection_id, data_type, ${key})`.execute(db);
    },
  };
}

/** Offset paging shared by every list repository. `page` is 1-based. */
export interface PageRequest {
  page: number;
  pageSize: number;
}

export interface Page<T> {
  rows: T[];
  total: number;
}

export const offsetOf = (p: PageRequest): number => (p.page - 1) * p.pageSize;

export type SortDirection = 'asc' | 'desc';
export interface SortSpec<C extends string> {
  column: C;
  direction: SortDirection;
}

import type { Expression, RawBuilder, SqlBool } from 'kysely';

/** A compiled list query (src/query): an optional filter and the ORDER BY terms, tiebreak included. */
export interface ListSql {
  where?: Expression<SqlBool> | undefined;
  orderBy: RawBuilder<unknown>[];
}

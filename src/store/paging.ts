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


import type { Expression, RawBuilder, SelectQueryBuilder, SqlBool } from 'kysely';

/** A compiled list query (src/query): an optional filter and the ORDER BY terms, tiebreak included. */
export interface ListSql {
  where?: Expression<SqlBool> | undefined;
  orderBy: RawBuilder<unknown>[];
  /** The filter is exactly `path = value` on a NOT NULL boolean (src/query CompiledListQuery.flag); only when `of === where`. */
  flag?: { of: Expression<SqlBool>; path: string; value: boolean } | undefined;
  /** The ordering property and direction (src/query CompiledListQuery.order). */
  order?: { path: string; descending: boolean; tiebreak: string } | undefined;
}

/**
 * Runs a compiled list query: the page (filter, ORDER BY terms, LIMIT/OFFSET) and the filtered count, together.
 * `rows` and `count` are the caller's scoped queries (same FROM and scope), without the filter.
 */
export async function pageOf<DB, TB extends keyof DB, R>(
  rows: SelectQueryBuilder<DB, TB, R>,
  count: SelectQueryBuilder<DB, TB, { n: number }>,
  page: PageRequest,
  list: ListSql,
): Promise<Page<R>> {
  if (list.where) {
    rows = rows.where(list.where as never);
    count = count.where(list.where as never);
  }
  for (const o of list.orderBy) rows = rows.orderBy(o);
  const [found, total] = await Promise.all([rows.limit(page.pageSize).offset(offsetOf(page)).execute(), count.executeTakeFirstOrThrow()]);
  return { rows: found, total: Number(total.n) };
}

import { QueryError, type Service } from '../domain/errors.js';
import type { PageRequest, SortSpec } from '../store/paging.js';
import type { PagingQuery } from './schemas.js';

export interface PagedResponse<T> {
  results: T[];
  pageNumber: number;
  pageSize: number;
  totalResults: number;
  _links: { self: { href: string }; current: { href: string }; next?: { href: string }; previous?: { href: string } };
}

export function pageRequest(q: PagingQuery): PageRequest {
  return { page: q.page ?? 1, pageSize: q.pageSize ?? 100 };
}

/** The paging envelope of platform-api.md §4, with relative `_links`. */
export function envelope<T>(
  path: string,
  q: PagingQuery & { tags?: string },
  page: PageRequest,
  total: number,
  results: T[],
): PagedResponse<T> {
  const href = (n: number) => {
    const params = new URLSearchParams({ page: String(n), pageSize: String(page.pageSize) });
    if (q.query !== undefined) params.set('query', q.query);
    if (q.orderBy !== undefined) params.set('orderBy', q.orderBy);
    if (q.tags !== undefined) params.set('tags', q.tags);
    return { href: `${path}?${params.toString()}` };
  };
  const links: PagedResponse<T>['_links'] = { self: { href: path }, current: href(page.page) };
  if (page.page * page.pageSize < total) links.next = href(page.page + 1);
  if (page.page > 1) links.previous = href(page.page - 1);
  return { results, pageNumber: page.page, pageSize: page.pageSize, totalResults: total, _links: links };
}

/**
 * `orderBy`: one property with an optional `-` prefix, resolved against the resource's sortable properties.
 * The repository always adds the `id` tiebreak so pages are stable.
 */
export function parseOrderBy<C extends string>(
  raw: string | undefined,
  columns: Record<string, C>,
  fallback: SortSpec<C>,
  entity: string,
  service: Service,
): SortSpec<C> {
  if (raw === undefined || raw.trim() === '') return fallback;
  const trimmed = raw.trim();
  const desc = trimmed.startsWith('-');
  const prop = desc ? trimmed.slice(1).trim() : trimmed;
  const column = Object.prototype.hasOwnProperty.call(columns, prop) ? columns[prop] : undefined;
  if (!column) throw new QueryError(`Could not resolve property ${prop || trimmed} on ${entity}`, service, 'orderBy');
  return { column, direction: desc ? 'desc' : 'asc' };
}

/**
 * The query language arrives with its own issue (#6). Until then a `query` (or `tags`) parameter is refused with a
 * clear 400 instead of being silently ignored, which would return unfiltered data as if it were filtered.
 */
export function rejectUnsupportedFilters(q: { query?: string; tags?: string }, service: Service): void {
  for (const param of ['query', 'tags'] as const) {
    if (q[param] !== undefined) {
      throw new QueryError(`Filtering with '${param}' is not supported by this Syncline version yet.`, service, param);
    }
  }
}

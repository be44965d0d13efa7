import type { PageRequest } from '../store/paging.js';
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
  q: PagingQuery & { tags?: string; asOf?: string; asOfPull?: string },
  page: PageRequest,
  total: number,
  results: T[],
): PagedResponse<T> {
  const href = (n: number) => {
    const params = new URLSearchParams({ page: String(n), pageSize: String(page.pageSize) });
    if (q.query !== undefined) params.set('query', q.query);
    if (q.orderBy !== undefined) params.set('orderBy', q.orderBy);
    if (q.tags !== undefined) params.set('tags', q.tags);
    if (q.asOf !== undefined) params.set('asOf', q.asOf);
    if (q.asOfPull !== undefined) params.set('asOfPull', q.asOfPull);
    return { href: `${path}?${params.toString()}` };
  };
  const links: PagedResponse<T>['_links'] = { self: { href: path }, current: href(page.page) };
  if (page.page * page.pageSize < total) links.next = href(page.page + 1);
  if (page.page > 1) links.previous = href(page.page - 1);
  return { results, pageNumber: page.page, pageSize: page.pageSize, totalResults: total, _links: links };
}

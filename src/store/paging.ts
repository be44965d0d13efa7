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

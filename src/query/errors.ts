import { QueryError, type Service, type ValidationItem } from '../domain/errors.js';

export type QueryParameter = 'query' | 'orderBy' | 'tags';

export const MALFORMED = 'Malformed query.';
export const couldNotResolve = (path: string, entity: string) => `Could not resolve property ${path} on ${entity}`;

/**
 * A query-language failure (query-language.md §8): `error` is one of the two documented messages, and the single
 * `validation.errors` item names the parameter, `QueryParser`, and `Position N: what was expected or found`.
 *
 * It is a `QueryError`, so the API's error mapper turns it into the 400 body like any other. It only replaces the
 * validation item, because `QueryError` (src/domain) files the short detail there under `Query`.
 */
export class QueryParseError extends QueryError {
  constructor(
    /** `malformed` → `Malformed query.`; `unresolved` → `Could not resolve property …`. */
    readonly kind: 'malformed' | 'unresolved',
    detail: string,
    service: Service,
    readonly parameter: QueryParameter,
    /** 1-based character position in the decoded parameter value. */
    readonly position: number,
    /** What was expected or found, without the position prefix. */
    readonly explanation: string,
  ) {
    super(detail, service, parameter);
    const item: ValidationItem = { itemId: parameter, message: `Position ${position}: ${explanation}`, validatorName: 'QueryParser' };
    (this as { validation?: ValidationItem[] }).validation = [item];
  }
}

export interface ErrorContext {
  service: Service;
  parameter: QueryParameter;
}

export function malformed(ctx: ErrorContext, position: number, explanation: string): QueryParseError {
  return new QueryParseError('malformed', MALFORMED, ctx.service, ctx.parameter, position, explanation);
}

export function unresolved(ctx: ErrorContext & { entity: string }, path: string, position: number, explanation: string): QueryParseError {
  return new QueryParseError('unresolved', couldNotResolve(path, ctx.entity), ctx.service, ctx.parameter, position, explanation);
}

/** Shortens a value echoed in an explanation. */
export function show(value: string): string {
  const v = value.length > 40 ? `${value.slice(0, 37)}...` : value;
  return JSON.stringify(v);
}

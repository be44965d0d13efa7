import type { FastifyError } from 'fastify';
import { storageFailure } from '../store/storage-errors.js';
import { NOT_VALID, SynclineError, type Service, type ValidationItem } from '../domain/errors.js';

/** The ErrorMessage body of platform-api.md §3.1 / §7.14. */
export interface ErrorBody {
  statusCode: number;
  service: Service;
  error: string;
  correlationId: string;
  validation?: { errors: ValidationItem[]; warnings: ValidationItem[] };
  canBeRetried: 'Unknown';
  detailedErrorCode: 0;
}

export const INTERNAL_ERROR_MESSAGE = 'There is a problem with our server. Please try again later.';
export const UNAVAILABLE_MESSAGE = 'The Syncline API is temporarily offline for maintenance. Please try again later.';

export function errorBody(statusCode: number, service: Service, error: string, correlationId: string, validation?: ValidationItem[]): ErrorBody {
  const body: ErrorBody = { statusCode, service, error, correlationId, canBeRetried: 'Unknown', detailedErrorCode: 0 };
  if (validation && validation.length) body.validation = { errors: validation, warnings: [] };
  return body;
}

interface AjvLikeError {
  instancePath?: string;
  keyword?: string;
  message?: string;
  params?: Record<string, unknown>;
}

/** `/settings/2/syncSchedule` → `settings[2].syncSchedule`. */
export function jsonPathOf(instancePath: string, extra?: string): string {
  const parts = instancePath.split('/').filter(Boolean);
  if (extra) parts.push(extra);
  let out = '';
  for (const p of parts) {
    const key = p.replace(/~1/g, '/').replace(/~0/g, '~');
    if (/^\d+$/.test(key)) out += `[${key}]`;
    else out += out ? `.${key}` : key;
  }
  return out;
}

function validationItems(errors: AjvLikeError[], context: string | undefined): ValidationItem[] {
  return errors.map((e) => {
    const params = e.params ?? {};
    const child =
      (params.missingProperty as string | undefined) ??
      (params.additionalProperty as string | undefined) ??
      (params.propertyName as string | undefined);
    let itemId = jsonPathOf(e.instancePath ?? '', child);
    if (!itemId) itemId = context === 'body' ? 'body' : (context ?? 'request');
    let message: string;
    switch (e.keyword) {
      case 'additionalProperties':
        message = `Unknown property '${child}'.`;
        break;
      case 'required':
        message = `'${child}' is required.`;
        break;
      case 'enum':
        message = `Value must be one of: ${((params.allowedValues as unknown[]) ?? []).join(', ')}.`;
        break;
      case 'format':
        message = params.format === 'uuid' ? `'${itemId}' must be a UUID.` : `Value must be a valid ${String(params.format)}.`;
        break;
      default:
        message = e.message ? `Value ${e.message}.` : 'Value is not valid.';
    }
    return { itemId, message, validatorName: e.keyword ?? 'Validation' };
  });
}

/**
 * The one place where a failure becomes an HTTP answer. Client mistakes are 4xx with a precise message; anything
 * unexpected is a 500 with the canonical message (details go to the log, never to the client).
 */
export function mapError(err: unknown, correlationId: string): { status: number; body: ErrorBody; unexpected: boolean } {
  if (err instanceof SynclineError) {
    return { status: err.statusCode, body: errorBody(err.statusCode, err.service, err.message, correlationId, err.validation), unexpected: false };
  }
  const storage = storageFailure(err);
  if (storage) {
    // The database cannot write (full disk, read-only file or server, I/O error): the request was fine and may succeed
    // once the operator has fixed the storage — 503 like an unreachable database, with the cause, never a bare 500.
    return { status: 503, body: errorBody(503, 'PublicApi', `The database cannot store this change: ${storage}. Try again once the server's storage is fixed.`, correlationId), unexpected: false };
  }
  const fe = err as FastifyError & { validation?: AjvLikeError[]; validationContext?: string };
  if (Array.isArray(fe.validation)) {
    return { status: 400, body: errorBody(400, 'PublicApi', NOT_VALID, correlationId, validationItems(fe.validation, fe.validationContext)), unexpected: false };
  }
  switch (fe.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { status: 413, body: errorBody(413, 'PublicApi', 'Request body too large.', correlationId), unexpected: false };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return {
        status: 400,
        body: errorBody(400, 'PublicApi', NOT_VALID, correlationId, [{ itemId: 'body', message: describeBodyError(fe), validatorName: 'Json' }]),
        unexpected: false,
      };
  }
  if (err instanceof SyntaxError || fe.statusCode === 400) {
    return {
      status: 400,
      body: errorBody(400, 'PublicApi', NOT_VALID, correlationId, [{ itemId: 'body', message: `The request body is not valid JSON: ${fe.message}`, validatorName: 'Json' }]),
      unexpected: false,
    };
  }
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    return { status: fe.statusCode, body: errorBody(fe.statusCode, 'PublicApi', fe.message, correlationId), unexpected: false };
  }
  return { status: 500, body: errorBody(500, 'PublicApi', INTERNAL_ERROR_MESSAGE, correlationId), unexpected: true };
}

function describeBodyError(fe: FastifyError): string {
  if (fe.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return 'Request bodies must be JSON, sent with Content-Type: application/json.';
  return `The request body is not valid JSON: ${fe.message}`;
}

/**
 * Named failures. Each carries the HTTP status and `service` of platform-api.md §3; the API maps them to an
 * ErrorMessage body in exactly one place (src/api/errors.ts).
 */
export type Service = 'PublicApi' | 'ClientsApi' | 'PullApi';

export interface ValidationItem {
  itemId: string;
  message: string;
  validatorName: string;
}

export class SynclineError extends Error {
  constructor(
    readonly statusCode: number,
    readonly service: Service,
    message: string,
    readonly validation?: ValidationItem[],
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export const NOT_VALID = 'Error processing request - not valid.';

/** A request that breaks a validation rule (400 `Error processing request - not valid.` with details). */
export class RequestValidationError extends SynclineError {
  constructor(items: ValidationItem[], service: Service = 'PublicApi') {
    super(400, service, NOT_VALID, items);
  }
  static of(itemId: string, message: string, validatorName = 'Validation', service: Service = 'PublicApi') {
    return new RequestValidationError([{ itemId, message, validatorName }], service);
  }
}

/** Query-language failures (400 `Error parsing query - …`). */
export class QueryError extends SynclineError {
  constructor(detail: string, service: Service, itemId = 'query') {
    super(400, service, `Error parsing query - ${detail}`, [{ itemId, message: detail, validatorName: 'Query' }]);
  }
}

/**
 * An operation not allowed in the resource's current state (400), or one that lost a race with a concurrent change of
 * that state (409: nothing was changed, the same request may succeed once the other one has finished).
 */
export class StateError extends SynclineError {
  constructor(message: string, service: Service = 'ClientsApi', status: 400 | 409 = 400) {
    super(status, service, message);
  }
}

export class NotFoundError extends SynclineError {
  constructor(message: string, service: Service = 'PublicApi') {
    super(404, service, message);
  }
}

export class ConflictError extends SynclineError {
  constructor(message: string, service: Service = 'PublicApi') {
    super(409, service, message);
  }
}

export class UnauthorizedError extends SynclineError {
  constructor() {
    super(401, 'PublicApi', 'Unauthorized');
  }
}

export const companyNotFound = (id: string) => new NotFoundError(`No company was found with ID ${id}`, 'ClientsApi');
export const connectionNotFound = (id: string) => new NotFoundError(`Data connection ${id} not found`, 'PublicApi');
export const integrationNotFound = (key: string) => new NotFoundError(`No integration was found with key ${key}`, 'ClientsApi');
export const apiKeyNotFound = (id: string) => new NotFoundError(`No API key was found with ID ${id}`, 'ClientsApi');
export const datasetNotFound = (id: string) => new NotFoundError(`No dataset was found with ID ${id}`, 'PullApi');

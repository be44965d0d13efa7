/**
 * Request and response schemas (platform-api.md §7). Request schemas validate at the edge (unknown body keys are
 * rejected); response schemas document the contract in /openapi.json. Both come from these definitions.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import { CONNECTION_STATUSES, DATASET_STATUSES, FEATURE_STATES, FEATURE_TYPES, SOURCE_TYPES } from '../domain/statuses.js';
import { DATA_TYPES } from '../domain/data-types.js';
import { BRAND_COLOR_PATTERN } from '../domain/brand-colour.js';

const StringEnum = <T extends readonly string[]>(values: T, opts: { description?: string } = {}) =>
  Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...opts });

export const Uuid = Type.String({ format: 'uuid', description: 'Lowercase UUID' });
export const DateTime = Type.String({ description: 'ISO 8601 date-time; Syncline emits UTC with milliseconds' });
export const DataTypeSchema = StringEnum(DATA_TYPES, { description: 'DataType (43 values)' });
export const DatasetStatusSchema = StringEnum(DATASET_STATUSES);
export const ConnectionStatusSchema = StringEnum(CONNECTION_STATUSES);
export const SourceTypeSchema = StringEnum(SOURCE_TYPES);

export const Tags = Type.Record(Type.String(), Type.String(), { description: 'At most 10; key 1–27 chars, value ≤ 100 chars' });

// ---- Errors -------------------------------------------------------------------------------------------------
const ValidationItem = Type.Object({
  itemId: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  message: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  validatorName: Type.Optional(Type.Union([Type.String(), Type.Null()])),
});
export const ErrorMessage = Type.Object(
  {
    statusCode: Type.Integer(),
    service: Type.String(),
    error: Type.String(),
    correlationId: Type.String(),
    validation: Type.Optional(
      Type.Union([
        Type.Object({
          errors: Type.Optional(Type.Union([Type.Array(ValidationItem), Type.Null()])),
          warnings: Type.Optional(Type.Union([Type.Array(ValidationItem), Type.Null()])),
        }),
        Type.Null(),
      ]),
    ),
    canBeRetried: Type.String(),
    detailedErrorCode: Type.Integer(),
  },
  { $id: 'ErrorMessage' },
);

// ---- Paging -------------------------------------------------------------------------------------------------
export const PagingQuery = Type.Object({
  page: Type.Optional(Type.Integer({ minimum: 1, maximum: 2147483647, default: 1 })),
  pageSize: Type.Optional(Type.Integer({ minimum: 1, maximum: 5000, default: 100 })),
  query: Type.Optional(Type.String({ description: 'Query language expression (query-language.md)' })),
  orderBy: Type.Optional(Type.String({ description: 'One property, optional "-" prefix for descending' })),
});
export type PagingQuery = Static<typeof PagingQuery>;

/** Reads as of a moment (record history, issue 16): accepted by every accounting data list and get endpoint. */
export const AsOfQuery = Type.Object({
  asOf: Type.Optional(Type.String({ maxLength: 64, description: 'ISO 8601 instant: the records as they were stored at that moment (400 beyond the history kept)' })),
  asOfPull: Type.Optional(Type.String({ maxLength: 64, description: 'A Complete pull (dataset id): the records as they were stored when it committed' })),
});
export type AsOfQuery = Static<typeof AsOfQuery>;

const HalRef = Type.Object({ href: Type.String() });
const Links = Type.Object({ self: HalRef, current: HalRef, next: Type.Optional(HalRef), previous: Type.Optional(HalRef) });
export const paged = <T extends TSchema>(item: T) =>
  Type.Object({
    results: Type.Array(item),
    pageNumber: Type.Integer(),
    pageSize: Type.Integer(),
    totalResults: Type.Integer(),
    _links: Links,
  });

// ---- Connections --------------------------------------------------------------------------------------------
export const DataConnectionError = Type.Object({
  statusCode: Type.Optional(Type.String()),
  statusText: Type.Optional(Type.String()),
  errorMessage: Type.Optional(Type.String()),
  erroredOnUtc: Type.Optional(DateTime),
  status: Type.Optional(Type.Union([StringEnum(['Active', 'Resolved'] as const), Type.Null()])),
  resolvedOnUtc: Type.Optional(DateTime),
});

export const Connection = Type.Object(
  {
    id: Uuid,
    integrationId: Uuid,
    integrationKey: Type.Optional(Type.String()),
    sourceId: Uuid,
    sourceType: SourceTypeSchema,
    platformName: Type.String(),
    linkUrl: Type.String({ format: 'uri' }),
    status: ConnectionStatusSchema,
    lastSync: Type.Optional(DateTime),
    created: DateTime,
    dataConnectionErrors: Type.Optional(Type.Union([Type.Array(DataConnectionError), Type.Null()])),
    connectionInfo: Type.Optional(Type.Union([Type.Record(Type.String(), Type.String()), Type.Null()])),
    lastKeepAlive: Type.Optional(DateTime),
    refreshTokenExpiresAt: Type.Optional(DateTime),
  },
  { $id: 'Connection' },
);

export const CreateConnectionBody = Type.Object(
  { platformKey: Type.String({ minLength: 1, description: 'Integration key, e.g. mqjo' }) },
  { additionalProperties: false },
);
export const UpdateConnectionStatus = Type.Object({ status: ConnectionStatusSchema }, { additionalProperties: false });
export const AuthorizationBody = Type.Record(Type.String(), Type.String(), { description: 'Platform credentials (string → string)' });

// ---- Companies ----------------------------------------------------------------------------------------------
export const Company = Type.Object(
  {
    id: Uuid,
    name: Type.String(),
    description: Type.Optional(Type.String()),
    redirect: Type.String({ format: 'uri' }),
    lastSync: Type.Optional(DateTime),
    created: Type.Optional(DateTime),
    createdByUserName: Type.Optional(Type.Union([Type.String(), Type.Null()])),
    products: Type.Optional(Type.Array(Type.String())),
    tags: Type.Optional(Tags),
    dataConnections: Type.Optional(Type.Array(Connection)),
  },
  { $id: 'Company' },
);

export const CompanyRequestBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 1000 }),
    description: Type.Optional(Type.String({ maxLength: 10000 })),
    tags: Type.Optional(Tags),
  },
  { additionalProperties: false },
);
export type CompanyRequestBody = Static<typeof CompanyRequestBody>;

export const CompanyUpdateRequest = Type.Object(
  {
    name: Type.Optional(Type.Union([Type.String({ maxLength: 1000 }), Type.Null()])),
    description: Type.Optional(Type.Union([Type.String({ maxLength: 10000 }), Type.Null()])),
    tags: Type.Optional(Type.Union([Tags, Type.Null()])),
  },
  { additionalProperties: false },
);
export type CompanyUpdateRequest = Static<typeof CompanyUpdateRequest>;

// ---- Integrations -------------------------------------------------------------------------------------------
const SupportedFeature = Type.Object({ featureType: StringEnum(FEATURE_TYPES), featureState: StringEnum(FEATURE_STATES) });
export const Integration = Type.Object(
  {
    key: Type.String(),
    logoUrl: Type.String({ format: 'uri' }),
    name: Type.String(),
    enabled: Type.Boolean(),
    sourceId: Type.Optional(Uuid),
    sourceType: Type.Optional(SourceTypeSchema),
    integrationId: Type.Optional(Uuid),
    isOfflineConnector: Type.Optional(Type.Boolean()),
    isBeta: Type.Optional(Type.Boolean()),
    dataProvidedBy: Type.Optional(Type.String()),
    datatypeFeatures: Type.Optional(
      Type.Array(Type.Object({ dataType: Type.Optional(DataTypeSchema), supportedFeatures: Type.Array(SupportedFeature) })),
    ),
  },
  { $id: 'Integration' },
);
const Image = Type.Object({ image: Type.Optional(Type.Object({ src: Type.Optional(Type.String()), alt: Type.Optional(Type.String()) })) });
export const Branding = Type.Object({
  logo: Type.Optional(Type.Object({ full: Type.Optional(Image), square: Type.Optional(Image) })),
  button: Type.Optional(Type.Object({ default: Type.Optional(Image), hover: Type.Optional(Image) })),
  sourceId: Type.Optional(Uuid),
});

// ---- API keys -----------------------------------------------------------------------------------------------
export const ApiKeyDetails = Type.Object({
  id: Uuid,
  name: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  apiKey: Type.Optional(Type.String({ description: 'Only in the create response' })),
  createdDate: Type.Optional(DateTime),
});
export const CreateApiKey = Type.Object(
  { name: Type.Optional(Type.Union([Type.String(), Type.Null()])) },
  { additionalProperties: false },
);

// ---- Profile ------------------------------------------------------------------------------------------------
export const Profile = Type.Object(
  {
    name: Type.String({ minLength: 1 }),
    redirectUrl: Type.String({ minLength: 1 }),
    logoUrl: Type.Optional(Type.String()),
    iconUrl: Type.Optional(Type.String()),
    whiteListUrls: Type.Optional(Type.Array(Type.String())),
    brandColor: Type.Optional(
      Type.String({
        pattern: BRAND_COLOR_PATTERN,
        description:
          'extension: the accent colour (#rrggbb) of the Link pages and the dashboard, darkened where needed so white text on it meets WCAG AA. Not in the Codat SDK: its updateProfile (a full replace) removes it',
      }),
    ),
    apiKey: Type.Optional(Type.String({ description: 'Deprecated; accepted and ignored' })),
    confirmCompanyName: Type.Optional(Type.Boolean({ description: 'Deprecated; accepted and ignored' })),
  },
  { additionalProperties: false },
);
export type Profile = Static<typeof Profile>;

// ---- Pull operations ----------------------------------------------------------------------------------------
export const PullOperation = Type.Object(
  {
    id: Uuid,
    companyId: Uuid,
    connectionId: Uuid,
    dataType: Type.String(),
    status: DatasetStatusSchema,
    statusDescription: Type.Optional(Type.Union([Type.String(), Type.Null()])),
    errorMessage: Type.Optional(Type.Union([Type.String(), Type.Null()])),
    requested: DateTime,
    completed: Type.Optional(DateTime),
    progress: Type.Integer({ minimum: 0, maximum: 100 }),
    isCompleted: Type.Boolean(),
    isErrored: Type.Boolean(),
    recordsAdded: Type.Optional(Type.Integer({ description: 'extension' })),
    recordsUpdated: Type.Optional(Type.Integer({ description: 'extension' })),
    recordsDeleted: Type.Optional(Type.Integer({ description: 'extension' })),
  },
  { $id: 'PullOperation' },
);

// ---- Path parameters ----------------------------------------------------------------------------------------
export const CompanyParams = Type.Object({ companyId: Uuid });
export const ConnectionParams = Type.Object({ companyId: Uuid, connectionId: Uuid });
export const PlatformKeyParams = Type.Object({ platformKey: Type.String() });
export const ApiKeyParams = Type.Object({ apiKeyId: Uuid });

/**
 * `preValidation` hook for operations whose whole body is optional in the SDK (`create-api-key`, `update-company`):
 * called with no argument, the SDK sends `Content-Type: application/json` and no body at all. That means `{}`.
 */
export async function absentBodyIsEmptyObject(req: FastifyRequest): Promise<void> {
  if (req.body === undefined) req.body = {};
}

export const errorResponses = (...codes: number[]) =>
  Object.fromEntries(codes.map((c) => [c, { ...Type.Ref('ErrorMessage'), description: 'ErrorMessage' }]));

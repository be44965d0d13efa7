/** DatasetStatus, 21 values in canonical order (platform-api.md §7.6). Never extend: the SDK validates a closed enum. */
export const DATASET_STATUSES = [
  'Initial',
  'Queued',
  'Fetching',
  'MapQueued',
  'Mapping',
  'Complete',
  'FetchError',
  'MapError',
  'InternalError',
  'ProcessingQueued',
  'Processing',
  'ProcessingError',
  'ValidationQueued',
  'Validating',
  'ValidationError',
  'AuthError',
  'Cancelled',
  'NotSupported',
  'RateLimitError',
  'PermissionsError',
  'PrerequisiteNotMet',
] as const;
export type DatasetStatus = (typeof DATASET_STATUSES)[number];

export const IN_PROGRESS_STATUSES = [
  'Queued',
  'Fetching',
  'MapQueued',
  'Mapping',
  'ProcessingQueued',
  'Processing',
  'ValidationQueued',
  'Validating',
] as const satisfies readonly DatasetStatus[];

export const ERROR_STATUSES = [
  'FetchError',
  'MapError',
  'InternalError',
  'ProcessingError',
  'ValidationError',
  'AuthError',
  'RateLimitError',
  'PermissionsError',
  'PrerequisiteNotMet',
] as const satisfies readonly DatasetStatus[];

export const isInProgress = (s: DatasetStatus): boolean => (IN_PROGRESS_STATUSES as readonly string[]).includes(s);
export const isErrored = (s: DatasetStatus): boolean => (ERROR_STATUSES as readonly string[]).includes(s);
export const isCompleted = (s: DatasetStatus): boolean => s === 'Complete' || s === 'NotSupported';

/** DataConnectionStatus (platform-api.md §7.3). */
export const CONNECTION_STATUSES = ['PendingAuth', 'Linked', 'Unlinked', 'Deauthorized'] as const;
export type ConnectionStatus = (typeof CONNECTION_STATUSES)[number];

export const SOURCE_TYPES = ['Accounting', 'Banking', 'BankFeed', 'Commerce', 'Expense', 'Other', 'Unknown'] as const;
export type SourceType = (typeof SOURCE_TYPES)[number];

export const FEATURE_TYPES = [
  'Get',
  'Post',
  'Categorization',
  'Delete',
  'Put',
  'GetAsPdf',
  'DownloadAttachment',
  'GetAttachment',
  'GetAttachments',
  'UploadAttachment',
] as const;
export const FEATURE_STATES = ['Release', 'Alpha', 'Beta', 'Deprecated', 'NotSupported', 'NotImplemented'] as const;

/**
 * Allowed connection status changes (sync-behaviour.md §9.1). Linking is allowed from every non-linked state;
 * unlinking only from Linked; Deauthorized only from Linked.
 */
export function canTransition(from: ConnectionStatus, to: ConnectionStatus): boolean {
  switch (to) {
    case 'Linked':
      return from !== 'Linked';
    case 'Unlinked':
    case 'Deauthorized':
      return from === 'Linked';
    case 'PendingAuth':
      return false;
  }
}

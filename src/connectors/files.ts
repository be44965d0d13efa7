/**
 * What a connector offers for files kept at the platform (attachments, invoice PDFs), read live for one request
 * (src/domain/platform-files.ts). Bytes come back as the platform's response stream, unread.
 */
import type { Clock } from '../lib/clock.js';
import type { AttachmentInfo, AttachmentType, PlatformFile } from '../domain/platform-files.js';
import { ConnectorError, type CredentialsStore } from './connector.js';

export interface FileRequest {
  credentials: CredentialsStore;
  connectionInfo: Record<string, string>;
  clock: Clock;
  signal: AbortSignal;
}

export interface ConnectorFiles {
  readonly attachmentTypes: readonly AttachmentType[];
  readonly invoicePdf: boolean;
  listAttachments(req: FileRequest, type: AttachmentType, recordId: string): Promise<AttachmentInfo[]>;
  downloadAttachment(req: FileRequest, type: AttachmentType, recordId: string, attachmentId: string): Promise<PlatformFile>;
  getInvoicePdf(req: FileRequest, invoiceId: string): Promise<PlatformFile>;
}

/** The platform has no such record or file (HTTP 404 from the platform). */
export class FileNotFoundError extends ConnectorError {}

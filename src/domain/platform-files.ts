/**
 * Files kept at the accounting platform that Syncline serves live (issue 15): attachments of invoices, bills,
 * customers, suppliers, direct costs and direct incomes, and invoice PDFs. They are not pulled as data: the metadata
 * of a record's attachments and every file's bytes are read from the platform when a client asks, and bytes are
 * streamed through, never held whole (docs/accounting-model.md, "Attachments and invoice PDFs").
 */

/** Data types whose records may carry attachments (Codat's attachment endpoints). */
export const ATTACHMENT_TYPES = ['invoices', 'bills', 'customers', 'suppliers', 'directCosts', 'directIncomes'] as const;
export type AttachmentType = (typeof ATTACHMENT_TYPES)[number];

/** Codat's Attachment. */
export interface AttachmentInfo {
  id: string;
  name?: string;
  contentType?: string;
  fileSize?: number;
  includeWhenSent?: boolean;
  dateCreated?: string;
  modifiedDate?: string;
  sourceModifiedDate?: string;
}

/** A file as the platform answers it: its type, name and length when known, and its bytes as a stream. */
export interface PlatformFile {
  contentType: string;
  fileName?: string;
  contentLength?: number;
  body: ReadableStream<Uint8Array>;
}

/** The live file reads of one connection (credentials bound); failures are SynclineErrors (mapped to HTTP once). */
export interface LiveFiles {
  /** The types whose attachments this platform serves. */
  readonly attachmentTypes: readonly AttachmentType[];
  readonly invoicePdf: boolean;
  listAttachments(type: AttachmentType, recordId: string, signal: AbortSignal): Promise<AttachmentInfo[]>;
  downloadAttachment(type: AttachmentType, recordId: string, attachmentId: string, signal: AbortSignal): Promise<PlatformFile>;
  getInvoicePdf(invoiceId: string, signal: AbortSignal): Promise<PlatformFile>;
}

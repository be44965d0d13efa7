/**
 * Xero's files, read live (src/connectors/files.ts): `GET /{Endpoint}/{Guid}/Attachments` (metadata),
 * `GET /{Endpoint}/{Guid}/Attachments/{AttachmentID}` (raw bytes, the file's content type) and `GET /Invoices/{id}`
 * with `Accept: application/pdf` (the invoice as a PDF). Invoices and bills are both Xero `Invoices`; customers and
 * suppliers are `Contacts`; direct costs and incomes are `BankTransactions` (SPEND and RECEIVE).
 *
 * The response body is handed back unread, so the caller streams it on; only the wait for the response headers is
 * bounded by the request timeout (a large file may take longer to arrive than any single-call timeout).
 */
import type { AttachmentInfo, AttachmentType, PlatformFile } from '../../domain/platform-files.js';
import { AuthRevokedError, FetchFailedError, PermissionDeniedError, RateLimitedError } from '../connector.js';
import { FileNotFoundError, type ConnectorFiles, type FileRequest } from '../files.js';
import type { TokenClient, OAuthTokens } from '../http/index.js';
import { arr, bool, num, obj, str } from './wire.js';

const ENDPOINT: Record<AttachmentType, string> = {
  invoices: 'Invoices',
  bills: 'Invoices',
  customers: 'Contacts',
  suppliers: 'Contacts',
  directCosts: 'BankTransactions',
  directIncomes: 'BankTransactions',
};

export class XeroFiles implements ConnectorFiles {
  readonly attachmentTypes: readonly AttachmentType[] = ['invoices', 'bills', 'customers', 'suppliers', 'directCosts', 'directIncomes'];
  readonly invoicePdf = true;

  constructor(
    private readonly apiUrl: string,
    private readonly tokens: TokenClient,
    private readonly requestTimeoutMs: number,
  ) {}

  async listAttachments(req: FileRequest, type: AttachmentType, recordId: string): Promise<AttachmentInfo[]> {
    const res = await this.call(req, `/${ENDPOINT[type]}/${encodeURIComponent(recordId)}/Attachments`, 'application/json');
    let body: unknown;
    try {
      body = await res.json();
    } catch {
      throw new FetchFailedError(`GET /${ENDPOINT[type]}/…/Attachments: malformed JSON`);
    }
    return arr(obj(body)?.Attachments).flatMap((a) => {
      const id = str(a.AttachmentID);
      if (!id) return [];
      const size = num(a.ContentLength);
      const includeOnline = bool(a.IncludeOnline);
      return [{ id, name: str(a.FileName), contentType: str(a.MimeType), ...(size !== undefined ? { fileSize: size } : {}), ...(includeOnline !== undefined ? { includeWhenSent: includeOnline } : {}) }];
    });
  }

  async downloadAttachment(req: FileRequest, type: AttachmentType, recordId: string, attachmentId: string): Promise<PlatformFile> {
    const res = await this.call(req, `/${ENDPOINT[type]}/${encodeURIComponent(recordId)}/Attachments/${encodeURIComponent(attachmentId)}`, '*/*');
    return fileOf(res, 'application/octet-stream');
  }

  async getInvoicePdf(req: FileRequest, invoiceId: string): Promise<PlatformFile> {
    const res = await this.call(req, `/Invoices/${encodeURIComponent(invoiceId)}`, 'application/pdf');
    const type = res.headers.get('content-type') ?? '';
    if (!/^application\/pdf/i.test(type)) {
      await res.body?.cancel();
      throw new FetchFailedError(`GET /Invoices/${invoiceId} with Accept: application/pdf answered ${type || 'no content type'}`);
    }
    return fileOf(res, 'application/pdf');
  }

  /** One GET with the stored access token; a 401 refreshes it once. Non-200 answers become typed errors. */
  private async call(req: FileRequest, path: string, accept: string): Promise<Response> {
    const tenantId = req.connectionInfo.tenantId ?? ((await req.credentials.read()) as { tenantId?: string }).tenantId;
    if (!tenantId) throw new AuthRevokedError('the connection has no tenant id');
    const ctx = { tenantId, credentials: req.credentials, clock: req.clock, signal: req.signal, reportPause: () => {}, calls: 0, pausedMs: 0 };
    let creds = await this.tokens.current<OAuthTokens>(ctx);
    for (let attempt = 0; ; attempt++) {
      const headersTimeout = new AbortController();
      const timer = setTimeout(() => headersTimeout.abort(new Error(`timed out after ${this.requestTimeoutMs} ms`)), this.requestTimeoutMs);
      let res: Response;
      try {
        res = await fetch(this.apiUrl + path, {
          headers: { authorization: `Bearer ${creds.accessToken}`, accept, 'xero-tenant-id': tenantId },
          signal: AbortSignal.any([req.signal, headersTimeout.signal]),
        });
      } catch (err) {
        if (req.signal.aborted) throw req.signal.reason;
        throw new FetchFailedError(`GET ${path}: ${(err as Error).message}`);
      } finally {
        clearTimeout(timer);
      }
      if (res.status === 200) return res;
      const text = await res.text().catch(() => '');
      if (res.status === 401 && attempt === 0) {
        creds = await this.tokens.refreshStored<OAuthTokens>(ctx, creds.accessToken);
        continue;
      }
      if (res.status === 401) throw new AuthRevokedError(`GET ${path}: still unauthorized after a token refresh`, 401);
      if (res.status === 403) throw new PermissionDeniedError(`GET ${path}: forbidden (${text.slice(0, 200)})`, 403);
      if (res.status === 404) throw new FileNotFoundError(`GET ${path}: not found at the platform`, 404);
      if (res.status === 429) {
        const after = Number.parseInt(res.headers.get('retry-after') ?? '', 10);
        throw new RateLimitedError(`GET ${path}: rate limited`, new Date(req.clock.now().getTime() + (Number.isNaN(after) ? 60 : after) * 1000));
      }
      throw new FetchFailedError(`GET ${path}: HTTP ${res.status} ${text.slice(0, 200)}`, res.status);
    }
  }
}

function fileOf(res: Response, fallbackType: string): PlatformFile {
  if (!res.body) throw new FetchFailedError('the platform answered no body');
  const length = Number.parseInt(res.headers.get('content-length') ?? '', 10);
  const disposition = res.headers.get('content-disposition') ?? '';
  const fileName = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(disposition)?.[1];
  return {
    contentType: res.headers.get('content-type') ?? fallbackType,
    ...(fileName ? { fileName: decodeURIComponent(fileName) } : {}),
    ...(Number.isNaN(length) ? {} : { contentLength: length }),
    body: res.body,
  };
}

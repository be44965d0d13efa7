import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from '@sinclair/typebox';
import { ConflictError, NotFoundError } from '../../domain/errors.js';
import { ATTACHMENT_TYPES, type AttachmentInfo, type AttachmentType, type LiveFiles, type PlatformFile } from '../../domain/platform-files.js';
import { RecordsRepository } from '../../store/records.repository.js';
import type { ConnectionRow } from '../../store/connections.repository.js';
import type { ApiContext } from '../context.js';
import { platformName, readableConnection, type ReadScope } from '../read-rule.js';
import { Uuid, errorResponses } from '../schemas.js';

/**
 * Attachments and invoice PDFs (issue 15), read live from the platform — not pulled as data: a record's attachments
 * change without the record changing at most platforms (Xero's UpdatedDateUTC does not move), files can be large, and
 * Codat serves them on demand too. The record itself must have been pulled (the usual 409/404 rules of the data
 * type), then the platform is asked; a download streams the platform's response through to the client as it arrives,
 * never holding the file (docs/accounting-model.md, "Attachments and invoice PDFs").
 *
 * Paths are Codat's: per connection for attachments (`…/connections/{connectionId}/data/{type}/{id}/attachments…`),
 * company level for the PDF (`…/data/invoices/{invoiceId}/pdf`, also per connection as every company-level read).
 */

const Attachment = Type.Object(
  {
    id: Type.String(),
    name: Type.Optional(Type.String()),
    contentType: Type.Optional(Type.String()),
    fileSize: Type.Optional(Type.Number()),
    includeWhenSent: Type.Optional(Type.Boolean()),
    dateCreated: Type.Optional(Type.String()),
    modifiedDate: Type.Optional(Type.String()),
    sourceModifiedDate: Type.Optional(Type.String()),
  },
  { description: "Codat's Attachment: a file attached to a record at the platform" },
);
const Binary = (description: string) => ({
  description,
  content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } }, '*/*': { schema: { type: 'string', format: 'binary' } } },
});

const SINGULAR: Record<AttachmentType, string> = {
  invoices: 'invoice',
  bills: 'bill',
  customers: 'customer',
  suppliers: 'supplier',
  directCosts: 'directCost',
  directIncomes: 'directIncome',
};

/**
 * Content negotiation for file bytes: the file's own type when the client accepts it (no Accept header, `*\/*`,
 * `type/*` or the type itself with q > 0), else `application/octet-stream` — what Codat answers and what its SDK
 * requires (it sends `Accept: application/octet-stream`, or `application/json;q=1, application/octet-stream;q=0`).
 */
export function negotiateFileType(accept: string | undefined, actual: string): string {
  if (!accept || !accept.trim()) return actual;
  const mime = actual.split(';')[0]!.trim().toLowerCase();
  for (const part of accept.split(',')) {
    const [range, ...params] = part.split(';').map((x) => x.trim().toLowerCase());
    const q = params.map((p) => /^q=([\d.]+)$/.exec(p)?.[1]).find((x) => x !== undefined);
    if (q !== undefined && !(Number(q) > 0)) continue;
    if (range === '*/*' || range === mime || (range?.endsWith('/*') && mime.startsWith(range.slice(0, -1)))) return actual;
  }
  return 'application/octet-stream';
}

/** `attachment; filename="…"; filename*=UTF-8''…` with the name made safe for a header. */
function disposition(kind: 'attachment' | 'inline', name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]|["\\]/g, '_');
  return `${kind}; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}

export async function documentsRoutes(app: FastifyInstance, ctx: ApiContext): Promise<void> {
  const records = new RecordsRepository(ctx.store.db, ctx.store.dialect);

  /** The connection, the record (pulled, by the 409 rule of its data type), and the connection's live file reads. */
  async function resolve(scope: ReadScope, dataType: string, recordId: string): Promise<{ conn: ConnectionRow; files: LiveFiles | undefined; platform: string }> {
    const conn = await readableConnection(ctx, scope, dataType);
    const platform = platformName(ctx, conn);
    if (!(await records.get(conn.id, dataType, recordId))) throw new NotFoundError(`No data available for ${dataType} for ID ${recordId}`);
    return { conn, files: ctx.liveFiles?.(conn), platform };
  }

  /** The platform is asked only over a linked connection (its credentials are current). */
  function requireLinked(conn: ConnectionRow): void {
    if (conn.status !== 'Linked') throw new ConflictError(`Connection ${conn.id} is ${conn.status}: files are read live from the platform, which needs a linked connection.`);
  }

  /** Aborted when the client goes away, so the platform call (and its body stream) stops too. */
  function clientSignal(req: FastifyRequest, reply: FastifyReply): AbortSignal {
    const ac = new AbortController();
    reply.raw.once('close', () => {
      if (!reply.raw.writableFinished) ac.abort(new Error('the client went away'));
    });
    req.raw.once('aborted', () => ac.abort(new Error('the client went away')));
    return ac.signal;
  }

  /** Streams the platform's bytes through: headers first, then each chunk as it arrives (never buffered whole). */
  function sendFile(req: FastifyRequest, reply: FastifyReply, file: PlatformFile, fallbackName: string, kind: 'attachment' | 'inline') {
    reply.header('content-type', negotiateFileType(req.headers.accept, file.contentType));
    reply.header('content-disposition', disposition(kind, file.fileName ?? fallbackName));
    reply.header('x-content-type-options', 'nosniff');
    reply.header('cache-control', 'private, no-store');
    if (file.contentLength !== undefined) reply.header('content-length', String(file.contentLength));
    return reply.send(Readable.fromWeb(file.body as import('node:stream/web').ReadableStream<Uint8Array>, { highWaterMark: 64 * 1024 }));
  }

  const connectionParams = { companyId: Uuid, connectionId: Uuid };

  for (const type of ATTACHMENT_TYPES) {
    const one = SINGULAR[type];
    const idParam = `${one}Id`;
    const base = `/companies/:companyId/connections/:connectionId/data/${type}/:${idParam}/attachments`;
    const params = Type.Object({ ...connectionParams, [idParam]: Type.String({ minLength: 1 }) });
    const paramsWithAttachment = Type.Object({ ...connectionParams, [idParam]: Type.String({ minLength: 1 }), attachmentId: Type.String({ minLength: 1 }) });
    const opName = one.charAt(0).toUpperCase() + one.slice(1);

    const filesFor = async (p: Record<string, string>) => {
      const { conn, files, platform } = await resolve({ companyId: p.companyId!, connectionId: p.connectionId! }, type, p[idParam]!);
      if (!files || !files.attachmentTypes.includes(type)) throw new NotFoundError(`Attachments of ${type} are not supported by platform(s) ${platform}`);
      requireLinked(conn);
      return files;
    };
    const findAttachment = (all: AttachmentInfo[], p: Record<string, string>) => {
      const a = all.find((x) => x.id === p.attachmentId);
      if (!a) throw new NotFoundError(`No attachment ${p.attachmentId} on ${type} ${p[idParam]}`);
      return a;
    };

    app.get<{ Params: Record<string, string> }>(
      base,
      {
        schema: {
          operationId: `list-${one}-attachments`,
          tags: ['Attachments'],
          summary: `List the attachments of one ${one} (read live from the platform)`,
          params,
          response: { 200: Type.Object({ attachments: Type.Array(Attachment) }, { description: 'AttachmentsDataset' }), ...errorResponses(400, 401, 403, 404, 409, 429, 503) },
        },
      },
      async (req, reply) => {
        const files = await filesFor(req.params);
        return { attachments: await files.listAttachments(type, req.params[idParam]!, clientSignal(req, reply)) };
      },
    );
    app.get<{ Params: Record<string, string> }>(
      `${base}/:attachmentId`,
      {
        schema: {
          operationId: `get-${one}-attachment`,
          tags: ['Attachments'],
          summary: `Get one attachment of a ${one} (read live from the platform)`,
          params: paramsWithAttachment,
          response: { 200: Attachment, ...errorResponses(400, 401, 403, 404, 409, 429, 503) },
        },
      },
      async (req, reply) => {
        const files = await filesFor(req.params);
        return findAttachment(await files.listAttachments(type, req.params[idParam]!, clientSignal(req, reply)), req.params);
      },
    );
    app.get<{ Params: Record<string, string> }>(
      `${base}/:attachmentId/download`,
      {
        schema: {
          operationId: `download-${one}-attachment`,
          tags: ['Attachments'],
          summary: `Download one attachment of a ${one}: the platform's bytes, streamed through`,
          description: `The file's own content type when the Accept header allows it, else application/octet-stream (Codat's). Op: ${opName}.`,
          params: paramsWithAttachment,
          response: { 200: Binary('The file'), ...errorResponses(400, 401, 403, 404, 409, 429, 503) },
        },
      },
      async (req, reply) => {
        const files = await filesFor(req.params);
        const file = await files.downloadAttachment(type, req.params[idParam]!, req.params.attachmentId!, clientSignal(req, reply));
        return sendFile(req, reply, file, req.params.attachmentId!, 'attachment');
      },
    );
  }

  for (const [prefix, params, suffix] of [
    ['/companies/:companyId/data', Type.Object({ companyId: Uuid, invoiceId: Type.String({ minLength: 1 }) }), ''],
    ['/companies/:companyId/connections/:connectionId/data', Type.Object({ ...connectionParams, invoiceId: Type.String({ minLength: 1 }) }), '-for-connection'],
  ] as const) {
    app.get<{ Params: ReadScope & { invoiceId: string } }>(
      `${prefix}/invoices/:invoiceId/pdf`,
      {
        schema: {
          operationId: `get-invoice-pdf${suffix}`,
          tags: ['Attachments'],
          summary: 'The invoice as a PDF, rendered by the platform and streamed through',
          params,
          response: { 200: Binary('application/pdf when the Accept header allows it, else application/octet-stream (Codat\'s)'), ...errorResponses(400, 401, 403, 404, 409, 429, 503) },
        },
      },
      async (req, reply) => {
        const { conn, files, platform } = await resolve(req.params, 'invoices', req.params.invoiceId);
        if (!files?.invoicePdf) throw new NotFoundError(`Invoice PDFs are not supported by platform(s) ${platform}`);
        requireLinked(conn);
        const file = await files.getInvoicePdf(req.params.invoiceId, clientSignal(req, reply));
        return sendFile(req, reply, file, `${req.params.invoiceId}.pdf`, 'inline');
      },
    );
  }
}

/**
 * Files attached to a tenant's records (platform-neutral; the Xero dialect serves them under
 * `/{Endpoint}/{Guid}/Attachments`, xero/documents.ts).
 *
 * Generated attachments are a pure function of (tenant seed, owner kind, record id): about four records in ten carry
 * one or two small real files (a PNG image, a PDF, a text note), derived in O(1) per record, so a million-record
 * tenant holds none in memory. The admin API adds more (`POST /admin/tenants/{id}/attachments`), of any size: their
 * bytes are produced chunk by chunk while they are sent, never held whole, and a `holdAfterBytes` attachment stops
 * after that many bytes until it is released — so a test can prove that a client reads the start of a download
 * while the platform is still writing it.
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import type { ServerResponse } from 'node:http';
import { buildPdf, buildPng } from './files.js';
import { HttpError } from './http.js';
import type { Tenant } from './tenant.js';

/** Which record kinds carry attachments: Xero's endpoint names, lower-cased. */
export const ATTACHMENT_OWNERS = ['invoices', 'creditnotes', 'contacts', 'banktransactions', 'purchaseorders', 'manualjournals', 'accounts'] as const;
export type AttachmentOwner = (typeof ATTACHMENT_OWNERS)[number];

export interface SimAttachment {
  id: string;
  fileName: string;
  mimeType: string;
  size: number;
  includeOnline: boolean;
  /** Generated files: their bytes. Admin-added files: undefined (bytes are streamed from `chunk`). */
  bytes?: Buffer;
  holdAfterBytes?: number;
}

const CHUNK = 64 * 1024;

function uuidFrom(...parts: string[]): string {
  const h = createHash('sha256').update(parts.join('\u0000')).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${'89ab'[parseInt(h[16]!, 16) & 3]}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
const hash32 = (...parts: string[]) => createHash('sha256').update(parts.join('\u0000')).digest().readUInt32BE(0);

interface Added extends SimAttachment {
  owner: AttachmentOwner;
  recordId: string;
  release?: () => void;
  released: Promise<void>;
}

/** Attachments added through the admin API, per tenant. */
const added = new WeakMap<Tenant, Added[]>();

/** The generated attachments of one record: 0 (six in ten), 1 or 2 files. */
function generated(t: Tenant, owner: AttachmentOwner, recordId: string, label: string): SimAttachment[] {
  const h = hash32(t.seed, owner, recordId);
  const count = h % 10 < 6 ? 0 : h % 10 < 9 ? 1 : 2;
  const out: SimAttachment[] = [];
  for (let n = 0; n < count; n++) {
    const kind = (h >>> (8 + n * 2)) % 3;
    const id = uuidFrom(t.seed, owner, recordId, String(n));
    let bytes: Buffer;
    let fileName: string;
    let mimeType: string;
    if (kind === 0) {
      bytes = buildPng(hash32(id), 24 + (h % 3) * 8);
      fileName = `scan-${n + 1}.png`;
      mimeType = 'image/png';
    } else if (kind === 1) {
      bytes = buildPdf(`${label} attachment ${n + 1}`, [
        { text: `${label}`, size: 16, bold: true },
        { text: `Supporting document ${n + 1}` },
        { text: `Reference ${id}` },
      ]);
      fileName = `document-${n + 1}.pdf`;
      mimeType = 'application/pdf';
    } else {
      bytes = Buffer.from(`Notes for ${label}\nAttachment ${n + 1} of ${count}\nReference ${id}\n`, 'utf8');
      fileName = `notes-${n + 1}.txt`;
      mimeType = 'text/plain';
    }
    out.push({ id, fileName, mimeType, size: bytes.length, includeOnline: n === 0, bytes });
  }
  return out;
}

/** Every attachment of a record, generated ones first, in a stable order. */
export function attachmentsOf(t: Tenant, owner: AttachmentOwner, recordId: string, label: string): SimAttachment[] {
  const id = recordId.toLowerCase();
  return [...generated(t, owner, id, label), ...(added.get(t) ?? []).filter((a) => a.owner === owner && a.recordId === id)];
}

/** Bytes of an admin-added file: a deterministic text pattern, so its digest can be computed without holding it. */
export function addedChunk(attachmentId: string, offset: number, length: number): Buffer {
  const line = Buffer.from(`${attachmentId} streamed attachment content 0123456789abcdefghijklmnopqrstuvwxyz\n`, 'ascii');
  const out = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) out[i] = line[(offset + i) % line.length]!;
  return out;
}

export function addAttachment(
  t: Tenant,
  owner: AttachmentOwner,
  recordId: string,
  o: { fileName: string; mimeType: string; size: number; holdAfterBytes?: number; includeOnline?: boolean },
): { attachment: SimAttachment; sha256: string } {
  const list = added.get(t) ?? [];
  added.set(t, list);
  const id = uuidFrom(t.seed, 'added', String(list.length), recordId);
  let release: (() => void) | undefined;
  const released = new Promise<void>((r) => (release = r));
  const a: Added = {
    id,
    fileName: o.fileName,
    mimeType: o.mimeType,
    size: o.size,
    includeOnline: o.includeOnline ?? false,
    owner,
    recordId: recordId.toLowerCase(),
    released,
    ...(o.holdAfterBytes !== undefined ? { holdAfterBytes: o.holdAfterBytes } : {}),
  };
  a.release = release;
  list.push(a);
  const digest = createHash('sha256');
  for (let off = 0; off < o.size; off += CHUNK) digest.update(addedChunk(id, off, Math.min(CHUNK, o.size - off)));
  return { attachment: a, sha256: digest.digest('hex') };
}

/** Lets a held attachment's download go on past `holdAfterBytes`. False when there is no such attachment. */
export function releaseAttachment(t: Tenant, attachmentId: string): boolean {
  const a = (added.get(t) ?? []).find((x) => x.id === attachmentId.toLowerCase());
  if (!a) return false;
  a.release?.();
  return true;
}

/**
 * Writes a file to the response with backpressure: generated files at once, added ones chunk by chunk, pausing at
 * `holdAfterBytes` until released (or the client goes away).
 */
export async function writeAttachment(res: ServerResponse, a: SimAttachment, headers: Record<string, string>): Promise<void> {
  res.writeHead(200, { 'content-type': a.mimeType, 'content-length': String(a.size), 'content-disposition': `attachment; filename="${a.fileName}"`, ...headers });
  if (a.bytes) return void res.end(a.bytes);
  const hold = (a as Added).holdAfterBytes;
  const closed = once(res, 'close').then(
    () => undefined,
    () => undefined,
  );
  for (let off = 0; off < a.size; ) {
    if (res.destroyed) return;
    if (hold !== undefined && off === hold) await Promise.race([(a as Added).released, closed]);
    const end = Math.min(a.size, off + CHUNK, hold !== undefined && off < hold ? hold : Infinity);
    if (!res.write(addedChunk(a.id, off, end - off))) await Promise.race([once(res, 'drain').catch(() => undefined), closed]);
    off = end;
  }
  res.end();
}

/**
 * Admin API: `POST /admin/tenants/{id}/attachments` `{ endpoint, recordId, fileName, mimeType?, size, holdAfterBytes?,
 * includeOnline? }` adds a file (answers its AttachmentID and the SHA-256 of its bytes); `POST …/attachments/{id}/release`
 * lets a held download go on. Returns [status, body].
 */
export function attachmentsAdmin(t: Tenant, method: string, rest: string[], body: Record<string, unknown>): [number, unknown] {
  if (method === 'POST' && rest.length === 0) {
    const owner = ATTACHMENT_OWNERS.find((o) => o === String(body.endpoint ?? '').toLowerCase());
    if (!owner) throw new HttpError(400, `endpoint must be one of ${ATTACHMENT_OWNERS.join(', ')}`);
    if (typeof body.recordId !== 'string' || !body.recordId) throw new HttpError(400, 'recordId (string) is required');
    if (typeof body.fileName !== 'string' || !/^[^/\\]{1,200}$/.test(body.fileName)) throw new HttpError(400, 'fileName (string, no slashes) is required');
    const size = body.size;
    if (typeof size !== 'number' || !Number.isInteger(size) || size < 0 || size > 2 ** 32) throw new HttpError(400, 'size must be a whole number of bytes (at most 4 GiB)');
    const hold = body.holdAfterBytes;
    if (hold !== undefined && (typeof hold !== 'number' || !Number.isInteger(hold) || hold < 0 || hold > size)) throw new HttpError(400, 'holdAfterBytes must be between 0 and size');
    const { attachment, sha256 } = addAttachment(t, owner, body.recordId, {
      fileName: body.fileName,
      mimeType: typeof body.mimeType === 'string' ? body.mimeType : 'application/octet-stream',
      size,
      ...(typeof hold === 'number' ? { holdAfterBytes: hold } : {}),
      ...(typeof body.includeOnline === 'boolean' ? { includeOnline: body.includeOnline } : {}),
    });
    return [201, { AttachmentID: attachment.id, FileName: attachment.fileName, MimeType: attachment.mimeType, ContentLength: attachment.size, sha256 }];
  }
  if (method === 'POST' && rest.length === 2 && rest[1] === 'release') {
    if (!releaseAttachment(t, rest[0]!)) throw new HttpError(404, `no added attachment ${rest[0]}`);
    return [200, { released: rest[0] }];
  }
  throw new HttpError(404, `no admin route ${method} attachments/${rest.join('/')}`);
}

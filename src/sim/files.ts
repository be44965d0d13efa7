/**
 * Real file content the simulator serves (attachments, invoice PDFs): small valid PNG images, PDF documents and text
 * files, each a pure function of its inputs. Hand-written on purpose: a PDF of a few text lines needs nothing but the
 * objects, a content stream and a cross-reference table with exact byte offsets; a PNG needs zlib and a CRC.
 */
import { deflateSync } from 'node:zlib';

// ----- PDF ------------------------------------------------------------------------------------------------------

/** A PDF string literal: backslash, parentheses escaped; non-Latin-1 characters replaced (Helvetica, WinAnsi). */
function pdfString(s: string): string {
  const latin = s.replace(/[^\x20-\x7e\xa0-\xff]/g, '?');
  return `(${latin.replace(/[\\()]/g, (c) => `\\${c}`)})`;
}

export interface PdfLine {
  text: string;
  /** Font size (default 10). */
  size?: number;
  bold?: boolean;
  /** Horizontal position in points (default 56). */
  x?: number;
}

/**
 * One A4 page (several when the lines do not fit) with the given text lines, top to bottom, in Helvetica. The result
 * is a complete PDF 1.4 file: header, numbered objects, an xref table whose offsets are the objects' byte positions,
 * and a trailer with startxref.
 */
export function buildPdf(title: string, lines: PdfLine[]): Buffer {
  const perPage = 60;
  const pages: PdfLine[][] = [];
  for (let i = 0; i < Math.max(1, lines.length); i += perPage) pages.push(lines.slice(i, i + perPage));
  // Objects: 1 catalog, 2 pages, 3 font, 4 bold font, 5 info, then per page: page object, content stream.
  const objects: string[] = [];
  const pageIds = pages.map((_, i) => 6 + i * 2);
  objects[1] = '<< /Type /Catalog /Pages 2 0 R >>';
  objects[2] = `<< /Type /Pages /Kids [${pageIds.map((id) => `${id} 0 R`).join(' ')}] /Count ${pages.length} >>`;
  objects[3] = '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>';
  objects[4] = '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>';
  objects[5] = `<< /Title ${pdfString(title)} /Producer (Syncline Sandbox) >>`;
  pages.forEach((page, p) => {
    let y = 800;
    const ops: string[] = [];
    for (const l of page) {
      const size = l.size ?? 10;
      y -= Math.round(size * 1.45);
      ops.push(`BT /${l.bold ? 'F2' : 'F1'} ${size} Tf ${l.x ?? 56} ${y} Td ${pdfString(l.text)} Tj ET`);
    }
    const stream = ops.join('\n');
    objects[pageIds[p]!] = `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 3 0 R /F2 4 0 R >> >> /Contents ${pageIds[p]! + 1} 0 R >>`;
    objects[pageIds[p]! + 1] = `<< /Length ${Buffer.byteLength(stream, 'latin1')} >>\nstream\n${stream}\nendstream`;
  });
  const parts: Buffer[] = [];
  let offset = 0;
  const push = (s: string) => {
    const b = Buffer.from(s, 'latin1');
    parts.push(b);
    offset += b.length;
  };
  // The binary comment line tells tools the file is binary (PDF 1.4 §3.4.1).
  push('%PDF-1.4\n%\xe2\xe3\xcf\xd3\n');
  const offsets: number[] = [];
  for (let id = 1; id < objects.length; id++) {
    offsets[id] = offset;
    push(`${id} 0 obj\n${objects[id]}\nendobj\n`);
  }
  const xref = offset;
  // Each xref entry is exactly 20 bytes: 10-digit offset, space, 5-digit generation, space, n/f, CR LF.
  push(`xref\n0 ${objects.length}\n0000000000 65535 f\r\n${offsets.slice(1).map((o) => `${String(o).padStart(10, '0')} 00000 n\r\n`).join('')}`);
  push(`trailer\n<< /Size ${objects.length} /Root 1 0 R /Info 5 0 R >>\nstartxref\n${xref}\n%%EOF\n`);
  return Buffer.concat(parts);
}

// ----- PNG ------------------------------------------------------------------------------------------------------

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (let i = 0; i < buf.length; i++) c = CRC_TABLE[(c ^ buf[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function pngChunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}

/** A `size`×`size` RGB PNG: diagonal stripes in two colours derived from `seed`. */
export function buildPng(seed: number, size = 32): Buffer {
  const a = [seed & 0xff, (seed >>> 8) & 0xff, (seed >>> 16) & 0xff];
  const b = a.map((x) => 255 - x);
  const raw = Buffer.alloc(size * (1 + size * 3));
  for (let y = 0; y < size; y++) {
    const row = y * (1 + size * 3);
    raw[row] = 0; // filter: None
    for (let x = 0; x < size; x++) {
      const c = Math.floor((x + y) / 4) % 2 === 0 ? a : b;
      raw.set(c, row + 1 + x * 3);
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type: truecolour
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), pngChunk('IHDR', ihdr), pngChunk('IDAT', deflateSync(raw)), pngChunk('IEND', Buffer.alloc(0))]);
}

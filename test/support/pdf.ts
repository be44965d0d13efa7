/**
 * A structural PDF check for tests: the header, the cross-reference table (every in-use entry's offset must be where
 * its `N 0 obj` starts), the trailer's /Size and /Root, startxref pointing at `xref`, and `%%EOF`. Returns the text
 * of every string shown with Tj in the content streams, so tests can look for an invoice number or a total.
 */
export function readPdf(buf: Buffer): { objects: number; pages: number; text: string[] } {
  const s = buf.toString('latin1');
  if (!s.startsWith('%PDF-1.')) throw new Error('no %PDF- header');
  if (!/%%EOF\s*$/.test(s)) throw new Error('no %%EOF at the end');
  const sx = /startxref\s+(\d+)\s+%%EOF\s*$/.exec(s);
  if (!sx) throw new Error('no startxref');
  const xrefAt = Number(sx[1]);
  if (s.slice(xrefAt, xrefAt + 4) !== 'xref') throw new Error(`startxref ${xrefAt} does not point at an xref table`);
  const head = /^xref\s+0\s+(\d+)\s+/.exec(s.slice(xrefAt));
  if (!head) throw new Error('bad xref subsection header');
  const count = Number(head[1]);
  let p = xrefAt + head[0].length;
  for (let id = 0; id < count; id++) {
    const entry = s.slice(p, p + 20);
    const m = /^(\d{10}) (\d{5}) ([nf])(\r\n| \n| \r)$/.exec(entry);
    if (!m) throw new Error(`xref entry ${id} is not 20 bytes of "oooooooooo ggggg n\\r\\n": ${JSON.stringify(entry)}`);
    if (m[3] === 'n') {
      const off = Number(m[1]);
      if (!s.startsWith(`${id} 0 obj`, off)) throw new Error(`xref entry ${id} points at ${off}, where "${s.slice(off, off + 12)}" is`);
    }
    p += 20;
  }
  const trailer = /trailer\s*<<(.*?)>>/s.exec(s.slice(p));
  if (!trailer) throw new Error('no trailer');
  if (!new RegExp(`/Size ${count}\\b`).test(trailer[1]!)) throw new Error(`trailer /Size is not ${count}`);
  const root = /\/Root (\d+) 0 R/.exec(trailer[1]!);
  if (!root || !/\/Type \/Catalog/.test(s.slice(s.indexOf(`${root[1]} 0 obj`)))) throw new Error('no /Root catalog');
  // Stream lengths must be right too.
  for (const m of s.matchAll(/<< \/Length (\d+) >>\nstream\n/g)) {
    const start = m.index! + m[0].length;
    if (s.slice(start + Number(m[1]), start + Number(m[1]) + 10) !== '\nendstream') throw new Error('a stream /Length is wrong');
  }
  const pages = [...s.matchAll(/\/Type \/Page\b(?!s)/g)].length;
  const text = [...s.matchAll(/\(((?:\\.|[^\\)])*)\) Tj/g)].map((m) => m[1]!.replace(/\\(.)/g, '$1'));
  return { objects: count - 1, pages, text };
}

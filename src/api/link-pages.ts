/**
 * HTML of the hosted Link pages (platform-api.md §7.13). Rendering only: the flow (what a page may do, states, tokens)
 * is in routes/link.ts. Every value is escaped here; callers pass plain text.
 */
import type { FastifyReply } from 'fastify';

export const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

// Self-contained (no external font, script or image): the page works offline and leaks nothing to third parties.
// Colours meet WCAG AA contrast; focus is always visible; the layout holds from 320 px phones to desktops.
const STYLE =
  ':root{color-scheme:light;--p:#1d4ed8;--t:#1a1f2b;--m:#4b5563}' +
  '*{box-sizing:border-box}body{margin:0;background:#f6f7f9;color:var(--t);font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}' +
  'main{max-width:34rem;margin:3rem auto;padding:0 1rem}' +
  '.card{background:#fff;border:1px solid #d9dde3;border-radius:12px;box-shadow:0 1px 3px rgba(16,24,40,.08);padding:1.75rem}' +
  'h1{font-size:1.45rem;line-height:1.25;margin:0 0 .75rem}p{margin:.5rem 0}' +
  'a.i{display:flex;align-items:center;gap:.85rem;margin:.6rem 0;padding:.85rem 1rem;border:1px solid #c4c9d2;border-radius:10px;' +
  'color:var(--t);text-decoration:none;font-weight:600;background:#fff}' +
  'a.i:hover{border-color:var(--p);background:#f5f8ff}' +
  'a.i .tile{display:inline-grid;place-items:center;width:2.4rem;height:2.4rem;border-radius:8px;background:#1e3a8a;color:#fff;font-weight:700}' +
  'a.i .go{margin-left:auto;color:var(--p)}' +
  ':focus-visible{outline:3px solid #2563eb;outline-offset:2px}' +
  'label.t{display:flex;gap:.5rem;align-items:center;margin:.5rem 0;padding:.6rem .75rem;border:1px solid #d9dde3;border-radius:8px}' +
  'button{margin-top:1rem;font:inherit;font-weight:600;padding:.6rem 1.4rem;border-radius:8px;border:1px solid var(--p);background:var(--p);color:#fff;cursor:pointer}' +
  'button:hover{background:#1e40af}p.detail{color:var(--m);font-size:.9rem;border-top:1px solid #e6e9ee;padding-top:.75rem;margin-top:1rem}' +
  'footer{margin-top:1rem;text-align:center;color:var(--m);font-size:.85rem}';

function html(title: string, body: string): string {
  return (
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">` +
    `<meta name="referrer" content="no-referrer"><title>${escapeHtml(title)}</title><style>${STYLE}</style></head>` +
    `<body><main><div class="card"><h1>${escapeHtml(title)}</h1>${body}</div>` +
    `<footer>Secure connection to your accounting software</footer></main></body></html>`
  );
}

function send(reply: FastifyReply, status: number, title: string, body: string) {
  return reply
    .code(status)
    .header('cache-control', 'no-store')
    .type('text/html; charset=utf-8')
    .send(html(title, body));
}

/** The company Link page: one link per enabled integration. */
export function integrationsPage(reply: FastifyReply, companyName: string, items: { href: string; name: string }[]) {
  const list = items
    .map(
      (i) =>
        `<a class="i" href="${escapeHtml(i.href)}"><span class="tile" aria-hidden="true">${escapeHtml(i.name.slice(0, 1).toUpperCase())}</span>` +
        `<span>Connect ${escapeHtml(i.name)}</span><span class="go" aria-hidden="true">→</span></a>`,
    )
    .join('');
  const intro = '<p>Choose the accounting software you use. You will be asked to sign in there and allow read access.</p>';
  return send(reply, 200, `Connect ${companyName}'s accounting software`, list ? `${intro}<nav aria-label="Accounting platforms">${list}</nav>` : '<p>No integration is enabled on this instance.</p>');
}

/** A page that explains why nothing happened (or what went wrong) and what to do next. */
export function messagePage(reply: FastifyReply, status: number, title: string, paragraphs: string[], detail?: string) {
  const body = paragraphs.map((p) => `<p>${escapeHtml(p)}</p>`).join('') + (detail ? `<p class="detail">${escapeHtml(detail)}</p>` : '');
  return send(reply, status, title, body);
}

/** Several organisations were authorised: the user picks the one this connection reads. */
export function tenantChooserPage(
  reply: FastifyReply,
  args: { platformName: string; companyName: string; action: string; token: string; tenants: { tenantId: string; tenantName: string }[] },
) {
  const options = args.tenants
    .map(
      (t, i) =>
        `<label class="t"><input type="radio" name="tenantId" value="${escapeHtml(t.tenantId)}"${i === 0 ? ' checked' : ''}> ${escapeHtml(t.tenantName || t.tenantId)}</label>`,
    )
    .join('');
  const body =
    `<p>You gave access to several ${escapeHtml(args.platformName)} organisations. Choose the one that belongs to ` +
    `<strong>${escapeHtml(args.companyName)}</strong>; access to the others will be removed.</p>` +
    `<form method="post" action="${escapeHtml(args.action)}"><input type="hidden" name="token" value="${escapeHtml(args.token)}">` +
    `${options}<button type="submit">Connect</button></form>`;
  return send(reply, 200, `Choose an organisation`, body);
}

export function connectedPage(reply: FastifyReply) {
  return send(reply, 200, 'Connected', '<p>Your accounting software is connected. You can close this window.</p>');
}

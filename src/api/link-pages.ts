/**
 * HTML of the hosted Link pages (platform-api.md §7.13). Rendering only: the flow (what a page may do, states, tokens)
 * is in routes/link.ts. Every value is escaped here; callers pass plain text.
 */
import type { FastifyReply } from 'fastify';

export const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const STYLE =
  'body{font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;line-height:1.45}' +
  'a.i{display:block;margin:.5rem 0}label.t{display:block;margin:.4rem 0}button{margin-top:1rem;padding:.4rem 1rem}' +
  'p.detail{color:#555;font-size:.9rem}';

function html(title: string, body: string): string {
  return (
    `<!doctype html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">` +
    `<meta name="referrer" content="no-referrer"><title>${escapeHtml(title)}</title><style>${STYLE}</style></head>` +
    `<body><h1>${escapeHtml(title)}</h1>${body}</body></html>`
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
  const list = items.map((i) => `<a class="i" href="${escapeHtml(i.href)}">Connect ${escapeHtml(i.name)}</a>`).join('');
  return send(reply, 200, `Connect ${companyName}'s accounting software`, list || '<p>No integration is enabled on this instance.</p>');
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

/**
 * HTML of the hosted Link pages (platform-api.md §7.13). Rendering only: the flow (what a page may do, states, tokens)
 * is in routes/link.ts. Every value is escaped here; callers pass plain text.
 *
 * Branding comes from the profile, as Codat's Link takes it from the client's settings: its `name`, `logoUrl` (shown
 * at the top, the name as text without one), `iconUrl` (the tab icon) and the `brandColor` extension (the accent,
 * made AA-safe by src/domain/brand-colour.ts). Platform marks are Syncline's own generated SVGs under /branding.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { brandPalette } from '../domain/brand-colour.js';
import type { LinkProgress } from './link-progress.js';

export const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The profile fields the pages show. */
export interface LinkBrand {
  name: string;
  logoUrl?: string | undefined;
  iconUrl?: string | undefined;
  brandColor?: string | undefined;
}

const brands = new WeakMap<FastifyRequest, LinkBrand>();
/** Set by the Link routes' preHandler: every page of that request is rendered with this branding. */
export const setLinkBrand = (req: FastifyRequest, brand: LinkBrand) => void brands.set(req, brand);

/** Only http(s) and inline images are shown: a profile URL never becomes a javascript: or other scheme. */
function imageUrl(url: string | undefined): string | undefined {
  if (!url) return undefined;
  if (/^data:image\/(png|jpeg|gif|webp|svg\+xml)[;,]/i.test(url)) return url;
  try {
    const u = new URL(url);
    return u.protocol === 'https:' || u.protocol === 'http:' ? u.href : undefined;
  } catch {
    return undefined;
  }
}

// Self-contained (no external font or script; images only the profile's own logo and icon): the page works offline.
// Colours meet WCAG AA contrast; focus is always visible; the layout holds from 320 px phones to desktops.
function style(brand: LinkBrand | undefined): string {
  const p = brandPalette(brand?.brandColor) ?? { accent: '#1d4ed8', accentHover: '#1e40af', tint: '#f5f8ff' };
  return (
    `:root{color-scheme:light;--p:${p.accent};--ph:${p.accentHover};--pt:${p.tint};--t:#1a1f2b;--m:#4b5563}` +
    '*{box-sizing:border-box}body{margin:0;background:#f6f7f9;color:var(--t);font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}' +
    'main{max-width:34rem;margin:3rem auto;padding:0 1rem}' +
    '.card{background:#fff;border:1px solid #d9dde3;border-top:4px solid var(--p);border-radius:12px;box-shadow:0 1px 3px rgba(16,24,40,.08);padding:1.75rem}' +
    '.brand{display:flex;align-items:center;gap:.6rem;margin:0 0 1.25rem;font-weight:700;color:var(--t)}.brand img{max-height:40px;max-width:12rem}' +
    'h1{font-size:1.45rem;line-height:1.25;margin:0 0 .75rem}p{margin:.5rem 0}' +
    'a{color:var(--p)}a.i{display:flex;align-items:center;gap:.85rem;margin:.6rem 0;padding:.75rem 1rem;border:1px solid #c4c9d2;border-radius:10px;' +
    'color:var(--t);text-decoration:none;font-weight:600;background:#fff}' +
    'a.i:hover{border-color:var(--p);background:var(--pt)}a.i img{width:40px;height:40px;border-radius:8px;flex:none}' +
    'a.i .go{margin-left:auto;color:var(--p)}' +
    ':focus-visible{outline:3px solid var(--p);outline-offset:2px}' +
    'label.t{display:flex;gap:.5rem;align-items:center;margin:.5rem 0;padding:.6rem .75rem;border:1px solid #d9dde3;border-radius:8px}' +
    'button{margin-top:1rem;font:inherit;font-weight:600;padding:.6rem 1.4rem;border-radius:8px;border:1px solid var(--p);background:var(--p);color:#fff;cursor:pointer}' +
    'button:hover{background:var(--ph)}p.detail{color:var(--m);font-size:.9rem;border-top:1px solid #e6e9ee;padding-top:.75rem;margin-top:1rem}' +
    'ul.types{list-style:none;margin:1rem 0 0;padding:0;border-top:1px solid #e6e9ee}' +
    'ul.types li{display:grid;grid-template-columns:1fr auto;gap:.15rem 1rem;align-items:center;padding:.5rem 0;border-bottom:1px solid #e6e9ee}' +
    'ul.types progress{grid-column:1/-1;width:100%;height:.5rem;accent-color:var(--p)}' +
    'ul.types .st{font-size:.9rem;color:var(--m);text-align:right}ul.types li.bad .st{color:#991b1b;font-weight:600}ul.types li.ok .st{color:#166534}' +
    'ul.types li.ok progress,ul.types li.bad progress,ul.types li.muted progress{display:none}' +
    '#summary{font-weight:600}#summary.bad{color:#991b1b}#summary.ok{color:#166534}' +
    'footer{margin-top:1rem;text-align:center;color:var(--m);font-size:.85rem}'
  );
}

function html(title: string, body: string, brand: LinkBrand | undefined, script?: { nonce: string; code: string }): string {
  const logo = imageUrl(brand?.logoUrl);
  const icon = imageUrl(brand?.iconUrl);
  const head = brand ? `<div class="brand">${logo ? `<img src="${escapeHtml(logo)}" alt="${escapeHtml(brand.name)}">` : escapeHtml(brand.name)}</div>` : '';
  return (
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">` +
    `<meta name="referrer" content="no-referrer"><title>${escapeHtml(title)}${brand ? ` · ${escapeHtml(brand.name)}` : ''}</title>` +
    (icon ? `<link rel="icon" href="${escapeHtml(icon)}">` : '') +
    `<style>${style(brand)}</style></head>` +
    `<body><main><div class="card">${head}<h1 id="title">${escapeHtml(title)}</h1>${body}</div>` +
    `<footer>Secure connection to your accounting software</footer></main>` +
    (script ? `<script nonce="${script.nonce}">${script.code}</script>` : '') +
    `</body></html>`
  );
}

function send(reply: FastifyReply, status: number, title: string, body: string, script?: string) {
  // Only this page's own script runs; images from this origin, the profile's logo (http(s), data:) and nothing else.
  const nonce = randomBytes(16).toString('base64');
  return reply
    .code(status)
    .header('cache-control', 'no-store')
    .header('content-security-policy', `default-src 'none'; style-src 'unsafe-inline'; img-src 'self' https: http: data:; script-src 'nonce-${nonce}'; connect-src 'self'; base-uri 'none'; frame-ancestors 'none'`)
    .header('x-content-type-options', 'nosniff')
    .type('text/html; charset=utf-8')
    .send(html(title, body, brands.get(reply.request), script ? { nonce, code: script } : undefined));
}

/** The company Link page: one link per enabled integration, with its mark. */
export function integrationsPage(reply: FastifyReply, companyName: string, items: { href: string; name: string; icon: string }[]) {
  const brand = brands.get(reply.request);
  const list = items
    .map(
      (i) =>
        `<a class="i" href="${escapeHtml(i.href)}"><img src="${escapeHtml(i.icon)}" alt="" width="40" height="40">` +
        `<span>Connect ${escapeHtml(i.name)}</span><span class="go" aria-hidden="true">→</span></a>`,
    )
    .join('');
  const who = brand ? `<strong>${escapeHtml(brand.name)}</strong> asks for read access to ${escapeHtml(companyName)}'s accounting data. ` : '';
  const intro = `<p>${who}Choose the accounting software you use. You will be asked to sign in there and allow read access.</p>`;
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

/**
 * Progress of the pull the link started: one row per data type, updated in place by a small script that polls
 * `pollUrl` (the same view as JSON) until the pull ends; the summary line is a polite live region, so a screen reader
 * hears "12 of 30 read" change and the final outcome. Without script the page is still a correct snapshot.
 */
export function progressPage(reply: FastifyReply, view: LinkProgress, pollUrl: string) {
  const rows = view.types
    .map(
      (t) =>
        `<li class="${t.tone}" data-type="${escapeHtml(t.dataType)}" data-status="${escapeHtml(t.status)}"><span id="l-${escapeHtml(t.dataType)}">${escapeHtml(t.label)}</span>` +
        `<span class="st">${escapeHtml(t.text)}</span>` +
        `<progress max="100" value="${t.progress}" aria-labelledby="l-${escapeHtml(t.dataType)}"></progress></li>`,
    )
    .join('');
  const body =
    `<p id="intro">${escapeHtml(view.intro)}</p>` +
    `<p id="summary" class="${view.tone}" role="status" aria-live="polite">${escapeHtml(view.summary)}</p>` +
    (rows ? `<ul class="types" aria-label="Data being read">${rows}</ul>` : '');
  const script =
    view.state === 'running'
      ? `(function(){var u=${JSON.stringify(pollUrl).replace(/</g, '\\u003c')};function set(d){document.getElementById('title').textContent=d.headline;` +
        `var i=document.title.indexOf(' · ');document.title=d.headline+(i<0?'':document.title.slice(i));document.getElementById('intro').textContent=d.intro;` +
        `var s=document.getElementById('summary');s.textContent=d.summary;s.className=d.tone;` +
        `d.types.forEach(function(t){var li=document.querySelector('li[data-type="'+t.dataType+'"]');if(!li)return;li.className=t.tone;li.setAttribute('data-status',t.status);` +
        `li.querySelector('.st').textContent=t.text;li.querySelector('progress').value=t.progress;});}` +
        `function tick(){fetch(u,{cache:'no-store',headers:{accept:'application/json'}}).then(function(r){if(!r.ok)throw r;return r.json();})` +
        `.then(function(d){set(d);if(d.state==='running')setTimeout(tick,1500);}).catch(function(){setTimeout(tick,5000);});}setTimeout(tick,1000);})();`
      : undefined;
  return send(reply, 200, view.headline, body, script);
}

/**
 * Syncline's own marks for the integrations (served at /branding/{platformKey}/{variant}.svg, used by the Link pages,
 * the dashboard and `GET /integrations/{key}/branding`). Generated here, not copied: a platform's trademarked logo
 * cannot be shipped under this project's licence, and a generated mark works on an offline instance. Each is the
 * platform's initials on its brand colour, darkened where needed so the white letters meet WCAG AA.
 */
import { brandPalette } from '../domain/brand-colour.js';

export const MARK_VARIANTS = ['icon', 'logo', 'button', 'button-hover'] as const;
export type MarkVariant = (typeof MARK_VARIANTS)[number];

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** "QuickBooks Online Sandbox" → "QB", "Xero" → "X", "Sandbox" → "S": capitals of the first word, else its initial. */
export function initials(name: string): string {
  const first = name.split(/\s+/)[0] ?? name;
  const caps = first.replace(/[^A-Z]/g, '');
  return (caps.length >= 2 ? caps.slice(0, 2) : first.charAt(0).toUpperCase()) || '?';
}

const FONT = `font-family="system-ui,-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif" font-weight="700"`;

function tile(x: number, colour: string, letters: string): string {
  const size = letters.length > 1 ? 24 : 30;
  return (
    `<rect x="${x}" y="0" width="64" height="64" rx="14" fill="${colour}"/>` +
    `<circle cx="${x + 50}" cy="14" r="5" fill="#fff" opacity=".35"/>` +
    `<text x="${x + 32}" y="33" dominant-baseline="central" text-anchor="middle" ${FONT} font-size="${size}" fill="#fff">${esc(letters)}</text>`
  );
}

export function platformMark(def: { name: string; colour: string }, variant: MarkVariant): string {
  const palette = brandPalette(def.colour);
  const colour = palette?.accent ?? '#374151';
  const letters = initials(def.name);
  const label = variant.startsWith('button') ? `Connect ${def.name}` : def.name;
  const svg = (w: number, inner: string) =>
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="64" viewBox="0 0 ${w} 64" role="img" aria-label="${esc(label)}"><title>${esc(label)}</title>${inner}</svg>`;
  if (variant === 'icon') return svg(64, tile(0, colour, letters));
  const width = Math.max(200, 88 + Math.ceil(label.length * 11.5));
  if (variant === 'logo') {
    return svg(width, tile(0, colour, letters) + `<text x="78" y="33" dominant-baseline="central" ${FONT} font-size="22" fill="#1a1f2b">${esc(label)}</text>`);
  }
  const fill = variant === 'button-hover' ? (palette?.accentHover ?? '#1f2937') : colour;
  return svg(
    width,
    `<rect width="${width}" height="64" rx="12" fill="${fill}"/>` +
      tile(0, fill, letters) +
      `<text x="74" y="33" dominant-baseline="central" ${FONT} font-size="20" fill="#fff">${esc(label)}</text>`,
  );
}

/**
 * The profile's brand colour (`Profile.brandColor`, a Syncline extension) made safe to use as an accent: buttons with
 * white text, links and focus rings on a white or near-white page. A light or saturated brand colour (Xero-like cyan,
 * yellow) fails WCAG AA contrast as it is, so it is darkened, keeping its hue, until white text on it reaches
 * `MIN_CONTRAST` — which also makes it readable as text on the pages' #f6f7f9 background (92% of white's luminance).
 * Pure: shared by the Link pages (server) and the dashboard (browser bundle).
 */

export const BRAND_COLOR_PATTERN = '^#[0-9A-Fa-f]{6}$';
/** 4.5:1 (AA, normal text) on #f6f7f9 needs about 4.9:1 against white; a little margin above that. */
export const MIN_CONTRAST = 5;

export interface BrandPalette {
  /** The accent: button backgrounds (with white text), links, focus rings. */
  accent: string;
  /** The accent darkened further, for hover. */
  accentHover: string;
  /** A pale tint of the accent for hovered surfaces (dark text stays readable on it). */
  tint: string;
}

type Rgb = [number, number, number];

function parse(hex: string): Rgb | undefined {
  if (!new RegExp(BRAND_COLOR_PATTERN).test(hex)) return undefined;
  const n = Number.parseInt(hex.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

const toHex = (c: Rgb) => `#${c.map((v) => Math.round(Math.min(255, Math.max(0, v))).toString(16).padStart(2, '0')).join('')}`;

/** WCAG 2 relative luminance. */
export function luminance(hex: string): number {
  const c = parse(hex);
  if (!c) throw new Error(`not a #rrggbb colour: ${hex}`);
  const lin = c.map((v) => {
    const s = v / 255;
    return s <= 0.04045 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * lin[0]! + 0.7152 * lin[1]! + 0.0722 * lin[2]!;
}

/** WCAG 2 contrast ratio of two #rrggbb colours (1–21). */
export function contrast(a: string, b: string): number {
  const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p) as [number, number];
  return (x + 0.05) / (y + 0.05);
}

/** Scales every channel towards black until white on it reaches `min` (a pure hue scale keeps the colour's identity). */
function darkenFor(c: Rgb, min: number): Rgb {
  let f = 1;
  let out = c;
  while (contrast(toHex(out), '#ffffff') < min && f > 0) {
    f = Math.max(0, f - 0.02);
    out = [c[0] * f, c[1] * f, c[2] * f];
  }
  return out;
}

/** The palette for a brand colour, or undefined for a missing or malformed one (callers keep their defaults). */
export function brandPalette(hex: string | undefined | null): BrandPalette | undefined {
  const c = hex ? parse(hex) : undefined;
  if (!c) return undefined;
  const accent = darkenFor(c, MIN_CONTRAST);
  const hover = darkenFor(accent, Math.max(MIN_CONTRAST, contrast(toHex(accent), '#ffffff')) + 1.5);
  const tint: Rgb = [255 - (255 - accent[0]) * 0.08, 255 - (255 - accent[1]) * 0.08, 255 - (255 - accent[2]) * 0.08];
  return { accent: toHex(accent), accentHover: toHex(hover), tint: toHex(tint) };
}

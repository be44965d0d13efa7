import { describe, expect, it } from 'vitest';
import { brandPalette, contrast, MIN_CONTRAST } from './brand-colour.js';

describe('brand palette', () => {
  it('keeps a dark enough colour as it is and darkens a light one until white text on it passes AA', () => {
    expect(brandPalette('#1d4ed8')!.accent).toBe('#1d4ed8');
    for (const c of ['#13b5ea', '#ffff00', '#ffffff', '#2ca01c', '#6b4eff', '#ff6600']) {
      const p = brandPalette(c)!;
      expect(contrast(p.accent, '#ffffff')).toBeGreaterThanOrEqual(MIN_CONTRAST);
      // readable as text on the pages' background too, and the hover is darker still
      expect(contrast(p.accent, '#f6f7f9')).toBeGreaterThanOrEqual(4.5);
      expect(contrast(p.accentHover, '#ffffff')).toBeGreaterThan(contrast(p.accent, '#ffffff'));
      // dark text stays readable on the tint
      expect(contrast('#1a1f2b', p.tint)).toBeGreaterThanOrEqual(7);
    }
    // the hue survives: a cyan stays blue-green, not grey
    const cyan = brandPalette('#13B5EA')!.accent;
    const [r, g, b] = [1, 3, 5].map((i) => Number.parseInt(cyan.slice(i, i + 2), 16)) as [number, number, number];
    expect(b).toBeGreaterThan(g);
    expect(g).toBeGreaterThan(r);
  });

  it('ignores a missing or malformed colour', () => {
    for (const c of [undefined, null, '', 'red', '#fff', '#12345g', 'url(x)', '#1234567']) expect(brandPalette(c)).toBeUndefined();
  });
});

import { describe, expect, it } from 'vitest';
import { heapGrowthFlag, HEAP_GROWING_PERCENT } from './heap-growth.js';

describe('heapGrowthFlag', () => {
  it('sets the growth when the operator did not', () => {
    expect(heapGrowthFlag([], undefined)).toBe(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
    expect(heapGrowthFlag(['--import', 'tsx'], '--max-old-space-size=2048')).toBe(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
    // A flag whose name only starts the same is not the operator's choice of growth.
    expect(heapGrowthFlag(['--heap-growing-percentage=10'], '')).toBe(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
  });

  it("leaves the operator's choice alone, on the command line or in NODE_OPTIONS, in either spelling", () => {
    expect(heapGrowthFlag(['--heap-growing-percent=20'], undefined)).toBeUndefined();
    expect(heapGrowthFlag([], '--max-old-space-size=512 --heap_growing_percent=200')).toBeUndefined();
    expect(heapGrowthFlag([], '  --heap-growing-percent=100')).toBeUndefined();
  });
});

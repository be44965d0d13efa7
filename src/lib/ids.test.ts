import { describe, expect, it } from 'vitest';
import { newCorrelationId } from './ids.js';

describe('newCorrelationId', () => {
  it('is 32 lowercase hex characters, distinct across several refills of its pool', () => {
    const ids = Array.from({ length: 2_000 }, () => newCorrelationId());
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{32}$/);
    expect(new Set(ids).size).toBe(ids.length);
  });
});

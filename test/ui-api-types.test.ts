import { describe, expect, it } from 'vitest';
import { currentUiApiTypes, generateUiApiTypes } from './support/ui-api-types.js';

describe('dashboard API types', () => {
  it('src/ui/api/schema.d.ts is what openapi-typescript generates from this server’s /openapi.json (else run npm run ui:api-types)', async () => {
    expect(currentUiApiTypes() === (await generateUiApiTypes()), 'src/ui/api/schema.d.ts is stale: run npm run ui:api-types').toBe(true);
  });
});

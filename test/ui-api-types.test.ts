import { describe, expect, it } from 'vitest';
import { READ_TYPES } from '../src/domain/read-types.js';
import { currentUiApiTypes, generateUiApiTypes } from './support/ui-api-types.js';

describe('dashboard API types', () => {
  it('src/ui/api/schema.d.ts is what openapi-typescript generates from this server’s /openapi.json (else run npm run ui:api-types)', async () => {
    const generated = await generateUiApiTypes();
    expect(currentUiApiTypes() === generated, 'src/ui/api/schema.d.ts is stale: run npm run ui:api-types').toBe(true);
    // The records page builds its list paths from READ_TYPES (src/ui/api/client.ts): each one must be documented.
    for (const t of READ_TYPES.filter((x) => !x.single)) {
      const path = t.connectionOnly ? `/companies/{companyId}/connections/{connectionId}/data/${t.segment}` : `/companies/{companyId}/data/${t.segment}`;
      expect(generated, `${path} is not in /openapi.json`).toContain(`"${path}": {`);
    }
  });
});

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';
import { CodatPlatform } from '@codat/platform';
import * as errors from '@codat/platform/sdk/models/errors/index.js';
import { parseConfig } from '../src/cli/config.js';
import { startServer } from '../src/cli/server.js';
import { ConnectorRegistry } from '../src/connectors/connector.js';
import { createLogger } from '../src/lib/logger.js';
import { ROOT } from './support/cli.js';
import { DIALECTS, createTestDatabase } from './support/stores.js';

/**
 * The README's `settings.deleteApiKey` workaround (issue 12 item 14), taken from the README as written and run with the
 * official SDK against a real server: it resolves when the key is deleted and rejects on a real failure.
 */
function readmeDeleteApiKey(): (codat: CodatPlatform, apiKeyId: string) => Promise<void> {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!).filter((b) => /async function deleteApiKey\(/.test(b));
  expect(blocks, 'the README has one ts snippet defining deleteApiKey').toHaveLength(1);
  const js = ts.transpileModule(blocks[0]!, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 } }).outputText;
  const require = createRequire(path.join(ROOT, 'package.json'));
  const module = { exports: {} };
  return new Function('require', 'module', 'exports', `${js}\nreturn deleteApiKey;`)(require, module, module.exports);
}

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

for (const dialect of DIALECTS) {
  describe(`README: deleting an API key with the SDK [${dialect}]`, () => {
    it('the documented workaround treats the 204 SDKError as success and lets real failures through', async () => {
      const deleteApiKey = readmeDeleteApiKey();
      const dataDir = mkdtempSync(path.join(os.tmpdir(), 'syncline-readme-'));
      dirs.push(dataDir);
      const apiKey = 'readme-sdk-test-api-key';
      const env: Record<string, string> = { PORT: '0', SYNCLINE_DATA_DIR: dataDir, SYNCLINE_API_KEY: apiKey, SYNCLINE_SECRET_KEY: 'readme-sdk-secret-key', LOG_LEVEL: 'silent' };
      const db = dialect === 'postgres' ? await createTestDatabase('postgres') : undefined;
      if (db) env.DATABASE_URL = db.location;
      const server = await startServer(parseConfig(env), {
        logger: createLogger('silent'),
        roles: { api: true, workers: false, scheduler: false },
        connectors: new ConnectorRegistry(),
      });
      try {
        expect(server.store.dialect).toBe(dialect);
        const codat = new CodatPlatform({ authHeader: `Basic ${Buffer.from(apiKey).toString('base64')}`, serverURL: server.url });
        const made = await codat.settings.createApiKey({ name: 'to delete' });
        // The quirk itself: the bare SDK call rejects although the key goes.
        const other = await codat.settings.createApiKey({ name: 'other' });
        const bare = await codat.settings.deleteApiKey({ apiKeyId: other.id! }).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(bare).toBeInstanceOf(errors.SDKError);
        expect((bare as errors.SDKError).statusCode).toBe(204);

        await expect(deleteApiKey(codat, made.id!)).resolves.toBeUndefined();
        expect((await codat.settings.listApiKeys()).results!.map((k) => k!.name)).toEqual(['bootstrap']);
        // Deleting it again is a real failure: the 404 ErrorMessage comes through.
        const again = await deleteApiKey(codat, made.id!).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(again).toBeInstanceOf(errors.ErrorMessage);
        expect((again as errors.ErrorMessage).statusCode).toBe(404);
      } finally {
        await server.close();
        await db?.drop();
      }
    });
  });
}

import { newId, randomAlnum } from '../lib/ids.js';
import { hashApiKey } from '../lib/secrets.js';
import type { Clock } from '../lib/clock.js';
import type { ApiKeysRepository } from '../store/api-keys.repository.js';

/**
 * First key (platform-api.md §2): a configured key is stored (hashed, named `bootstrap`) unless a stored key already has
 * that hash. With none configured and no key stored, one is generated and returned so the caller can print it once.
 */
export async function ensureBootstrapKey(
  apiKeys: ApiKeysRepository,
  configured: string | undefined,
  clock: Clock,
  isPostgres = false,
): Promise<string | undefined> {
  if (configured) {
    const hash = hashApiKey(configured);
    if (!(await apiKeys.findByHash(hash))) {
      try {
        await apiKeys.insert({ id: newId(), name: 'bootstrap', key_hash: hash, created_at: clock.now().toISOString() });
      } catch (err) {
        // Another process stored it at the same moment (unique key_hash): that is the outcome we wanted.
        if (!(await apiKeys.findByHash(hash))) throw err;
      }
    }
    return undefined;
  }
  if ((await apiKeys.count()) > 0) return undefined;
  const key = randomAlnum(40);
  // "Only if no key exists yet", atomically: two processes starting at once on an empty database generate one key.
  const inserted = await apiKeys.insertWithinLimit({ id: newId(), name: 'bootstrap', key_hash: hashApiKey(key), created_at: clock.now().toISOString() }, 1, isPostgres);
  return inserted ? key : undefined;
}

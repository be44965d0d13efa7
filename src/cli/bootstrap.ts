import { newId, randomAlnum } from '../lib/ids.js';
import { hashApiKey } from '../lib/secrets.js';
import type { Clock } from '../lib/clock.js';
import { MAX_API_KEYS, type ApiKeysRepository } from '../store/api-keys.repository.js';

export interface BootstrapOutcome {
  /** A key generated at this start (none configured, none stored): the caller prints it once. */
  generated?: string;
  /** Why the configured SYNCLINE_API_KEY was not stored (revoked before, or the key limit is reached). */
  refused?: string;
}

/**
 * First key (platform-api.md §2): a configured key is stored (hashed, named `bootstrap`) unless a stored key already has
 * that hash. It is never stored again once revoked (its hash is remembered at deletion), and never past the limit of
 * 10 keys: either way the start goes on, with the reason returned for the caller to show. With none configured and no
 * key stored, one is generated and returned so the caller can print it once.
 */
export async function ensureBootstrapKey(
  apiKeys: ApiKeysRepository,
  configured: string | undefined,
  clock: Clock,
  isPostgres = false,
): Promise<BootstrapOutcome> {
  if (configured) {
    const hash = hashApiKey(configured);
    let outcome: Awaited<ReturnType<ApiKeysRepository['insertConfigured']>>;
    try {
      outcome = await apiKeys.insertConfigured({ id: newId(), name: 'bootstrap', key_hash: hash, created_at: clock.now().toISOString() }, MAX_API_KEYS, isPostgres);
    } catch (err) {
      // Another process stored it at the same moment (unique key_hash): that is the outcome we wanted.
      if (!(await apiKeys.findByHash(hash))) throw err;
      outcome = 'exists';
    }
    if (outcome === 'revoked') {
      return {
        refused:
          'SYNCLINE_API_KEY was not stored: that key was revoked (DELETE /apiKeys/{id} or `syncline keys revoke`) and a revoked ' +
          'key stays revoked. Unset SYNCLINE_API_KEY, or set it to a new key.',
      };
    }
    if (outcome === 'full') {
      return {
        refused:
          `SYNCLINE_API_KEY was not stored: the instance already has ${MAX_API_KEYS} API keys, the maximum. Revoke one ` +
          '(`syncline keys revoke <id>` or DELETE /apiKeys/{id}) and restart, or unset SYNCLINE_API_KEY.',
      };
    }
    return {};
  }
  if ((await apiKeys.count()) > 0) return {};
  const key = randomAlnum(40);
  // "Only if no key exists yet", atomically: two processes starting at once on an empty database generate one key.
  const inserted = await apiKeys.insertWithinLimit({ id: newId(), name: 'bootstrap', key_hash: hashApiKey(key), created_at: clock.now().toISOString() }, 1, isPostgres);
  return inserted ? { generated: key } : {};
}

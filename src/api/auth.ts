import type { FastifyRequest } from 'fastify';
import { UnauthorizedError } from '../domain/errors.js';
import { hashApiKey } from '../lib/secrets.js';
import type { ApiKeysRepository } from '../store/api-keys.repository.js';

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** `Authorization: Basic <base64(apiKey)>`; the scheme word is case-insensitive; no user:password pair. */
export async function authenticate(req: FastifyRequest, apiKeys: ApiKeysRepository): Promise<string> {
  const header = req.headers.authorization;
  if (!header) throw new UnauthorizedError();
  const m = /^basic\s+(\S+)\s*$/i.exec(header);
  if (!m || !BASE64.test(m[1]!) || m[1]!.length % 4 !== 0) throw new UnauthorizedError();
  const key = Buffer.from(m[1]!, 'base64').toString('utf8');
  if (!key) throw new UnauthorizedError();
  const id = await apiKeys.idForHash(hashApiKey(key));
  if (!id) throw new UnauthorizedError();
  return id;
}

/** Paths that need no API key: operations endpoints, the browser Link pages and the dashboard's static files. */
export function isPublicPath(url: string | undefined): boolean {
  if (!url) return false;
  return (
    url === '/healthz' ||
    url === '/readyz' ||
    url === '/metrics' ||
    url === '/openapi.json' ||
    url === '/docs' ||
    url.startsWith('/docs/') ||
    url === '/app' ||
    url.startsWith('/app/') ||
    url.startsWith('/link/') ||
    url.startsWith('/branding/')
  );
}

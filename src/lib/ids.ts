import { randomBytes, randomFillSync, randomUUID } from 'node:crypto';

export const newId = (): string => randomUUID();

/**
 * 32 lowercase hex characters, the shape of Codat's correlation ids. One per HTTP request: drawn from a pool filled 256
 * ids at a time (as randomUUID does), since a randomBytes call per request was ~5% of a cached dataStatus's CPU.
 */
export function newCorrelationId(): string {
  if (correlationAt === correlationPool.length) {
    randomFillSync(correlationPool);
    correlationAt = 0;
  }
  const id = correlationPool.toString('hex', correlationAt, correlationAt + 16);
  correlationAt += 16;
  return id;
}
const correlationPool = Buffer.alloc(16 * 256);
let correlationAt = correlationPool.length;

const UUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
export const isUuid = (s: string): boolean => UUID_RE.test(s);

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** Random string over [A-Za-z0-9] without modulo bias. */
export function randomAlnum(length: number): string {
  let out = '';
  while (out.length < length) {
    for (const b of randomBytes(length * 2)) {
      // 248 = 4 * 62: reject bytes above it so every character is equally likely.
      if (b < 248 && out.length < length) out += ALNUM[b % 62];
    }
  }
  return out;
}

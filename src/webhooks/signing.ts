/** Standard Webhooks signing (webhooks.md §6), the scheme the `standardwebhooks` and `svix` libraries verify. */
import { createHmac, randomBytes } from 'node:crypto';

const PREFIX = 'whsec_';

/** `whsec_` + base64 of 32 random bytes (§6.2). */
export function generateSecret(): string {
  return PREFIX + randomBytes(32).toString('base64');
}

/** `v1,<base64 HMAC-SHA256(key, "<msgId>.<timestamp>.<body>")>`, the key being the secret's base64 part decoded. */
export function sign(secret: string, msgId: string, timestampSeconds: number, body: string): string {
  const key = Buffer.from(secret.startsWith(PREFIX) ? secret.slice(PREFIX.length) : secret, 'base64');
  return `v1,${createHmac('sha256', key).update(`${msgId}.${timestampSeconds}.${body}`, 'utf8').digest('base64')}`;
}

/** The `webhook-signature` value: one entry per secret in use (two while a rotation overlaps), space-separated. */
export function signatureHeader(secrets: readonly string[], msgId: string, timestampSeconds: number, body: string): string {
  return secrets.map((s) => sign(s, msgId, timestampSeconds, body)).join(' ');
}

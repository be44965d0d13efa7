import { createCipheriv, createDecipheriv, createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * API keys are 40 random alphanumeric characters (~238 bits), so a fast hash is enough to store them:
 * there is nothing to brute-force. The hash is the lookup key.
 */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

export function safeEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a);
  const bb = Buffer.from(b);
  return ab.length === bb.length && timingSafeEqual(ab, bb);
}

/** AES-256-GCM box for credentials at rest. Format: v1.<iv>.<tag>.<ciphertext>, all base64url. */
export class SecretBox {
  private readonly key: Buffer;
  constructor(secret: string) {
    // Any operator-supplied string becomes a 32-byte key; generated secrets are already 32 random bytes in hex.
    this.key = createHash('sha256').update(secret, 'utf8').digest();
  }
  seal(plaintext: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return ['v1', iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), body.toString('base64url')].join('.');
  }
  open(sealed: string): string {
    const [version, iv, tag, body] = sealed.split('.');
    if (version !== 'v1' || !iv || !tag || body === undefined) throw new Error('unrecognised sealed secret');
    const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
  }
  sealJson(value: unknown): string {
    return this.seal(JSON.stringify(value));
  }
  openJson<T>(sealed: string): T {
    return JSON.parse(this.open(sealed)) as T;
  }
}

import { createHash, randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database, LinkStatesTable } from './schema.js';

export type LinkTokenKind = 'state' | 'choice';
export type LinkStateRow = LinkStatesTable;

/** Why a token could not be consumed; each gets its own page. */
export type ConsumeFailure = 'unknown' | 'replayed' | 'expired' | 'wrong-kind';

const hash = (token: string) => createHash('sha256').update(token, 'utf8').digest('hex');

/**
 * Single-use, expiring Link tokens (migration 0011). The token itself (256 random bits, base64url) goes to the browser;
 * only its hash is stored, so a database read does not yield a usable state. Consuming is one compare-and-set
 * (`consumed_at` from null to now), so of two callbacks racing with the same state exactly one wins, on both dialects.
 */
export class LinkStatesRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /** Issues a token for the connection; `payload` must already be sealed. Expired rows of a day ago are cleared. */
  async issue(args: { kind: LinkTokenKind; connectionId: string; integrationKey: string; payload: string | null; now: Date; ttlMs: number }): Promise<string> {
    const token = randomBytes(32).toString('base64url');
    const now = args.now.toISOString();
    await this.db
      .insertInto('link_states')
      .values({
        token_hash: hash(token),
        kind: args.kind,
        connection_id: args.connectionId,
        integration_key: args.integrationKey,
        payload: args.payload,
        created_at: now,
        expires_at: new Date(args.now.getTime() + args.ttlMs).toISOString(),
        consumed_at: null,
      })
      .execute();
    // Housekeeping on the write path: nothing is kept once it could only ever answer "expired".
    await this.db
      .deleteFrom('link_states')
      .where('expires_at', '<', new Date(args.now.getTime() - 86_400_000).toISOString())
      .execute();
    return token;
  }

  /**
   * Consumes a token at most once. Returns the row, or why it is refused: unknown, already consumed (replayed),
   * expired (consumed anyway, so it cannot be tried again), or issued for another step.
   */
  async consume(token: string, kind: LinkTokenKind, now: Date): Promise<{ ok: true; row: LinkStateRow } | { ok: false; reason: ConsumeFailure; row?: LinkStateRow }> {
    if (!token || token.length > 200) return { ok: false, reason: 'unknown' };
    const h = hash(token);
    const at = now.toISOString();
    const row = await this.db
      .updateTable('link_states')
      .set({ consumed_at: at })
      .where('token_hash', '=', h)
      .where('consumed_at', 'is', null)
      .returningAll()
      .executeTakeFirst();
    if (!row) {
      const seen = await this.db.selectFrom('link_states').selectAll().where('token_hash', '=', h).executeTakeFirst();
      return seen ? { ok: false, reason: 'replayed', row: seen } : { ok: false, reason: 'unknown' };
    }
    if (row.kind !== kind) return { ok: false, reason: 'wrong-kind', row };
    if (row.expires_at <= at) return { ok: false, reason: 'expired', row };
    return { ok: true, row };
  }

  /** Reads a token without consuming it (the tenant chooser page shows the choices before the form is posted). */
  async peek(token: string, kind: LinkTokenKind, now: Date): Promise<{ ok: true; row: LinkStateRow } | { ok: false; reason: ConsumeFailure; row?: LinkStateRow }> {
    if (!token || token.length > 200) return { ok: false, reason: 'unknown' };
    const row = await this.db.selectFrom('link_states').selectAll().where('token_hash', '=', hash(token)).executeTakeFirst();
    if (!row) return { ok: false, reason: 'unknown' };
    if (row.consumed_at !== null) return { ok: false, reason: 'replayed', row };
    if (row.kind !== kind) return { ok: false, reason: 'wrong-kind', row };
    if (row.expires_at <= now.toISOString()) return { ok: false, reason: 'expired', row };
    return { ok: true, row };
  }

  /** Every token of a connection, newest first (tests and diagnostics). */
  forConnection(connectionId: string): Promise<LinkStateRow[]> {
    return this.db.selectFrom('link_states').selectAll().where('connection_id', '=', connectionId).orderBy('created_at', 'desc').execute();
  }
}

import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { SecretBox } from '../lib/secrets.js';
import type { Store } from '../store/db.js';
import {
  firstSealedValue,
  initSecretCheck,
  readSecretCheck,
  resealAll,
  SECRET_CHECK_PLAINTEXT,
  SEALED_COLUMNS,
  type ResealReport,
} from '../store/sealed.js';
import { loadSecretKey, readSecretKeyFile, SECRET_KEY_MIN_LENGTH, secretKeyFile, type Config } from './config.js';

/** The secret key cannot be used with this database: start-up stops with this message. */
export class SecretKeyError extends Error {}

interface CurrentKey {
  key: string;
  /** Where it came from, for messages: `SYNCLINE_SECRET_KEY` or the key file's path. */
  source: string;
  /** The key file, when the key lives in one (SYNCLINE_SECRET_KEY unset). */
  file: string | undefined;
}

const ROTATE_HINT = 'to change keys, use `syncline secret rotate` (README, "Secret key")';

function opens(box: SecretBox, sealed: string, expected?: string): boolean {
  try {
    const plain = box.open(sealed);
    return expected === undefined || plain === expected;
  } catch {
    return false;
  }
}

function mismatch(source: string, what: string): SecretKeyError {
  return new SecretKeyError(
    `the secret key from ${source} cannot open ${what}: it is not the key this database was sealed with. The key file ` +
      'or SYNCLINE_SECRET_KEY was changed or replaced, or this process does not share its key with the other processes ' +
      'on this database. Start with the key the data was sealed with (restore secret.key from a backup, or set ' +
      `SYNCLINE_SECRET_KEY to it); ${ROTATE_HINT}.`,
  );
}

/** True when the database holds anything a secret key sealed: the check value or any sealed column. */
async function holdsSealedData(store: Store): Promise<boolean> {
  return (await readSecretCheck(store.db)) !== undefined || (await firstSealedValue(store.db)) !== undefined;
}

/**
 * The key this process runs with, checked against the database before anything is sealed or opened with it:
 * - SYNCLINE_SECRET_KEY, or the key file (an empty or truncated file stops start-up like a bad variable);
 * - no key file: one is generated only when the database holds nothing sealed — otherwise a new key would silently
 *   replace the one the data needs (every pull then failed and webhook secrets answered 500), so start-up stops;
 * - the key must open the stored key check value; a database without one (created before it existed) must have its
 *   sealed data open with the key, and then gets one. First writer wins, so processes started with different keys on
 *   one database cannot both succeed.
 */
export async function openSecretBox(config: Config, store: Store): Promise<SecretBox> {
  let current: CurrentKey;
  if (config.secretKey) {
    current = { key: config.secretKey, source: 'SYNCLINE_SECRET_KEY', file: undefined };
  } else {
    const file = secretKeyFile(config);
    let key = loadSecretKey(config, false);
    if (key === undefined) {
      if (await holdsSealedData(store)) {
        throw new SecretKeyError(
          `${file} does not exist, but the database already holds data sealed with a secret key (platform credentials, ` +
            'webhook secrets, its key check value). A new key could not open it, so none is generated. Restore secret.key ' +
            'from a backup, or set SYNCLINE_SECRET_KEY to the key this database was sealed with.',
        );
      }
      key = loadSecretKey(config, true)!;
    }
    current = { key, source: file, file };
  }
  const box = new SecretBox(current.key);
  await verifySecretKey(store, box, current.source);
  return box;
}

async function verifySecretKey(store: Store, box: SecretBox, source: string): Promise<void> {
  const stored = await readSecretCheck(store.db);
  if (stored !== undefined) {
    if (!opens(box, stored, SECRET_CHECK_PLAINTEXT)) throw mismatch(source, 'the key check value stored in the database');
    return;
  }
  const sample = await firstSealedValue(store.db);
  if (sample && !opens(box, sample.value)) throw mismatch(source, `the sealed ${sample.table}.${sample.column} stored in the database`);
  const winner = await initSecretCheck(store.db, box.seal(SECRET_CHECK_PLAINTEXT));
  if (!opens(box, winner, SECRET_CHECK_PLAINTEXT)) throw mismatch(source, 'the key check value another process just stored');
}

export interface RotateOptions {
  /** A file holding the new key (one line, at least 16 characters). */
  newKeyFile?: string | undefined;
  /** SYNCLINE_NEW_SECRET_KEY. */
  newKey?: string | undefined;
  /** Generate a random new key. */
  generate?: boolean | undefined;
  now?: Date;
}

export interface RotateResult {
  report: ResealReport;
  /** What to tell the operator, one line each. */
  lines: string[];
}

function validNewKey(key: string, source: string): string {
  const k = key.trim();
  if (k.length < SECRET_KEY_MIN_LENGTH || /\s/.test(k)) {
    throw new SecretKeyError(`the new key from ${source} must be one line of at least ${SECRET_KEY_MIN_LENGTH} characters without spaces`);
  }
  return k;
}

/**
 * `syncline secret rotate`: the current key (SYNCLINE_SECRET_KEY or the key file, which must open what is stored) and a
 * new one (`--new-key-file`, SYNCLINE_NEW_SECRET_KEY or `--generate`) → every sealed value re-sealed and the check value
 * replaced in one transaction. With a key file, the new key is written next to it before the transaction and moved
 * into place after it commits; the old file is kept as `secret.key.old-<time>` for backups taken before the rotation.
 * Every process using the database must be stopped first and started again with the new key.
 */
export async function rotateSecretKey(config: Config, store: Store, opts: RotateOptions): Promise<RotateResult> {
  const sources = [opts.newKeyFile !== undefined, opts.newKey !== undefined, opts.generate === true].filter(Boolean).length;
  if (sources !== 1) {
    throw new SecretKeyError('give the new key in exactly one way: --new-key-file <path>, SYNCLINE_NEW_SECRET_KEY, or --generate');
  }
  let newKey: string;
  if (opts.newKeyFile !== undefined) {
    const k = readSecretKeyFile(opts.newKeyFile);
    if (k === undefined) throw new SecretKeyError(`the new key file ${opts.newKeyFile} does not exist`);
    newKey = k;
  } else if (opts.newKey !== undefined) {
    newKey = validNewKey(opts.newKey, 'SYNCLINE_NEW_SECRET_KEY');
  } else {
    newKey = randomBytes(32).toString('hex');
  }

  const file = config.secretKey ? undefined : secretKeyFile(config);
  const oldKey = loadSecretKey(config, false);
  if (oldKey === undefined) {
    throw new SecretKeyError(`there is no current key to rotate from: SYNCLINE_SECRET_KEY is unset and ${file} does not exist`);
  }
  if (oldKey === newKey) throw new SecretKeyError('the new key is the current key');
  const oldBox = new SecretBox(oldKey);
  const newBox = new SecretBox(newKey);
  // The current key must be the right one before anything is touched (a wrong one would also fail inside the
  // transaction, but this names the problem as start-up does).
  await verifySecretKey(store, oldBox, file ?? 'SYNCLINE_SECRET_KEY');

  const pending = file ? `${file}.new` : undefined;
  if (pending) {
    rmSync(pending, { force: true });
    writeFileSync(pending, newKey + '\n', { mode: 0o600, flag: 'wx' });
  }
  let report: ResealReport;
  try {
    report = await resealAll(store.db, store.dialect, oldBox, newBox);
  } catch (err) {
    if (pending) rmSync(pending, { force: true });
    throw err;
  }
  const total = Object.values(report.counts).reduce((a, b) => a + b, 0);
  const lines = [
    `re-sealed ${total} value(s) with the new key: ${SEALED_COLUMNS.map((c) => `${c.table}.${c.column} ${report.counts[`${c.table}.${c.column}`]}`).join(', ')}`,
  ];
  if (file && pending) {
    const stamp = (opts.now ?? new Date()).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
    const kept = `${file}.old-${stamp}`;
    try {
      renameSync(file, kept);
      renameSync(pending, file);
    } catch (err) {
      throw new SecretKeyError(
        `the database now uses the new key, which is in ${pending}, but moving it into place failed (${(err as Error).message}): ` +
          `move ${pending} to ${file} before starting Syncline`,
      );
    }
    lines.push(
      `${file} now holds the new key; the old one is in ${kept}.`,
      `Start Syncline again. Keep ${kept} only as long as you keep database backups taken before this rotation, then delete it.`,
    );
  } else {
    if (opts.generate) lines.push(`The new key (shown once): SYNCLINE_SECRET_KEY=${newKey}`);
    lines.push(
      'Set SYNCLINE_SECRET_KEY to the new key in the environment of every Syncline process on this database, then start them.',
      'Keep the old key only as long as you keep database backups taken before this rotation.',
    );
  }
  return { report, lines };
}

import { linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import path from 'node:path';

/** Everything Syncline reads from the environment, parsed once at start and frozen. */
export interface Config {
  readonly port: number;
  readonly host: string;
  /** Unset → embedded SQLite under dataDir. */
  readonly databaseUrl: string | undefined;
  readonly dataDir: string;
  /** Bootstrap API key accepted as given. */
  readonly apiKey: string | undefined;
  /** Explicit SYNCLINE_SECRET_KEY; when unset one is generated into the data dir (see loadSecretKey). */
  readonly secretKey: string | undefined;
  readonly logLevel: string;
  /** Externally visible base URL; unset → http://HOST:PORT of the listener. */
  readonly publicBaseUrl: string | undefined;
  readonly instanceName: string;
  readonly redirectUrl: string | undefined;
  /** The operator's Xero app; undefined (no client id) → the Xero integration is listed with enabled:false. */
  readonly xero: XeroConfig | undefined;
  readonly qbo: OAuthClientConfig | undefined;
  /** QuickBooks Online's sandbox app (`ndsk`): Intuit issues separate development keys. */
  readonly qboSandbox: OAuthClientConfig | undefined;
  /** Intuit's endpoints (defaults: Intuit's own); configurable so the simulator can stand in. */
  readonly qboUrls: { readonly authorizeUrl: string; readonly tokenUrl: string; readonly apiUrl: string; readonly sandboxApiUrl: string };
  /** Datasets one worker process runs at once. */
  readonly workerConcurrency: number;
  /** Keep-alive: refresh tokens idle for this many days; undefined = keep-alive off. */
  readonly keepAliveDays: number | undefined;
  /** The Sandbox platform (`syncline sim`) to read from; unset → a simulator runs in-process on a free loopback port. */
  readonly sandboxUrl: string | undefined;
  /** Calls a minute each in-process Sandbox tenant allows (Xero's 60 by default), when SYNCLINE_SANDBOX_URL is unset. */
  readonly sandboxRatePerMinute: number;
  /** SYNCLINE_WEBHOOKS_ALLOW_PRIVATE: webhook consumers may target private and loopback addresses. */
  readonly webhooksAllowPrivate: boolean;
  /** SYNCLINE_WEBHOOK_RETENTION_DAYS: webhook events (with their deliveries and attempts) older than this are pruned once no delivery is pending. */
  readonly webhookRetentionDays: number;
  /** Dataset lease: a worker that stops renewing it for this long loses the dataset to the sweeper. */
  readonly leaseSeconds: number;
  /** A full listing (reconciling hard deletes) every this many pulls of a type… */
  readonly reconcileEveryPulls: number;
  /** …or when the last full listing is older than this many days. */
  readonly reconcileEveryDays: number;
  /** SYNCLINE_HISTORY_RETENTION_DAYS: record history (versions, change feed, asOf) older than this is pruned; undefined = kept forever. */
  readonly historyRetentionDays: number | undefined;
  /** SYNCLINE_METRICS_PORT: serve GET /metrics on this port (every process role) instead of on the API port. */
  readonly metricsPort: number | undefined;
  /** SYNCLINE_METRICS_HOST: the metrics listener's address (default HOST). */
  readonly metricsHost: string;
}

export interface OAuthClientConfig {
  readonly clientId: string;
  readonly clientSecret: string;
}

/**
 * SYNCLINE_XERO_*: the operator's Xero app (docs/xero.md). Without a client secret the Link flow uses PKCE (a Xero
 * "mobile or desktop app"); the URLs default to Xero's own and may point at a `syncline sim` instead.
 */
export interface XeroConfig {
  readonly clientId: string;
  readonly clientSecret: string | undefined;
  readonly scopes: readonly string[];
  readonly authorizeUrl: string;
  readonly tokenUrl: string;
  /** Beside the token URL: `…/connect/revocation`. */
  readonly revocationUrl: string;
  /** `/connections` and `/api.xro/2.0/…` live under it. */
  readonly apiUrl: string;
}

/**
 * What Syncline reads, as Xero's granular scopes (apps created from 2026-03-02 get only these): settings (organisation,
 * accounts, tax rates, tracking categories, items), contacts, invoices and credit notes, payments (with overpayments and
 * prepayments), bank transactions and transfers, manual journals, the balance sheet and profit and loss reports — plus offline_access for a refresh token.
 */
export const DEFAULT_XERO_SCOPES: readonly string[] = [
  'offline_access',
  'accounting.settings.read',
  'accounting.contacts.read',
  'accounting.invoices.read',
  'accounting.payments.read',
  'accounting.banktransactions.read',
  'accounting.manualjournals.read',
  // Attachments of invoices, bills, contacts and bank transactions, read live (docs/accounting-model.md).
  'accounting.attachments.read',
  'accounting.reports.balancesheet.read',
  'accounting.reports.profitandloss.read',
];

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`Invalid configuration: ${variable} ${message}`);
  }
}

const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

type Env = Record<string, string | undefined>;

function str(env: Env, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}

function httpUrl(env: Env, name: string): string | undefined {
  const v = str(env, name);
  if (v === undefined) return undefined;
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    throw new ConfigError(name, `must be an absolute http(s) URL, got "${v}"`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new ConfigError(name, `must be an http(s) URL, got "${v}"`);
  return v.replace(/\/+$/, '');
}

function positiveInt(env: Env, name: string, fallback: number, max: number): number {
  const v = str(env, name);
  if (v === undefined) return fallback;
  if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > max) throw new ConfigError(name, `must be an integer from 1 to ${max}, got "${v}"`);
  return Number(v);
}

function optionalPort(env: Env, name: string): number | undefined {
  const v = str(env, name);
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) > 65535) throw new ConfigError(name, `must be an integer from 0 to 65535, got "${v}"`);
  return Number(v);
}

function hostName(env: Env, name: string): string | undefined {
  const v = str(env, name);
  if (v !== undefined && isIP(v) === 0 && !HOSTNAME.test(v)) throw new ConfigError(name, `must be an IP address or a host name, got "${v}"`);
  return v;
}

function bool(env: Env, name: string, fallback: boolean): boolean {
  const v = str(env, name);
  if (v === undefined) return fallback;
  if (/^true$/i.test(v)) return true;
  if (/^false$/i.test(v)) return false;
  throw new ConfigError(name, `must be true or false, got "${v}"`);
}

function xeroConfig(env: Env): XeroConfig | undefined {
  const clientId = str(env, 'SYNCLINE_XERO_CLIENT_ID');
  const clientSecret = str(env, 'SYNCLINE_XERO_CLIENT_SECRET');
  if (!clientId) {
    if (clientSecret) throw new ConfigError('SYNCLINE_XERO_CLIENT_ID', 'must be set when SYNCLINE_XERO_CLIENT_SECRET is');
    return undefined;
  }
  if (/\s/.test(clientId)) throw new ConfigError('SYNCLINE_XERO_CLIENT_ID', 'must not contain whitespace');
  const scopesRaw = str(env, 'SYNCLINE_XERO_SCOPES');
  const scopes = scopesRaw === undefined ? DEFAULT_XERO_SCOPES : scopesRaw.split(/[\s,]+/).filter(Boolean);
  for (const s of scopes) {
    if (!/^[\x21\x23-\x5B\x5D-\x7E]+$/.test(s)) throw new ConfigError('SYNCLINE_XERO_SCOPES', `has an invalid scope "${s}" (scopes are separated by spaces or commas)`);
  }
  if (!scopes.includes('offline_access')) {
    throw new ConfigError('SYNCLINE_XERO_SCOPES', 'must include offline_access: without it Xero issues no refresh token and a connection would lapse after 30 minutes');
  }
  const tokenUrl = httpUrl(env, 'SYNCLINE_XERO_TOKEN_URL') ?? 'https://identity.xero.com/connect/token';
  return {
    clientId,
    clientSecret,
    scopes: Object.freeze([...new Set(scopes)]),
    authorizeUrl: httpUrl(env, 'SYNCLINE_XERO_AUTHORIZE_URL') ?? 'https://login.xero.com/identity/connect/authorize',
    tokenUrl,
    // Xero serves revocation beside the token endpoint (…/connect/token → …/connect/revocation).
    revocationUrl: tokenUrl.replace(/\/token$/, '') + '/revocation',
    apiUrl: httpUrl(env, 'SYNCLINE_XERO_API_URL') ?? 'https://api.xero.com',
  };
}

function oauthClient(env: Env, prefix: string): OAuthClientConfig | undefined {
  const clientId = str(env, `${prefix}_CLIENT_ID`);
  const clientSecret = str(env, `${prefix}_CLIENT_SECRET`);
  if (!clientId && !clientSecret) return undefined;
  if (!clientId) throw new ConfigError(`${prefix}_CLIENT_ID`, `must be set when ${prefix}_CLIENT_SECRET is`);
  if (!clientSecret) throw new ConfigError(`${prefix}_CLIENT_SECRET`, `must be set when ${prefix}_CLIENT_ID is`);
  return { clientId, clientSecret };
}

export function parseConfig(env: Env = process.env): Config {
  const portRaw = str(env, 'PORT') ?? '8080';
  if (!/^\d+$/.test(portRaw) || Number(portRaw) > 65535) {
    throw new ConfigError('PORT', `must be an integer from 0 to 65535, got "${portRaw}"`);
  }
  const host = str(env, 'HOST') ?? '127.0.0.1';
  if (isIP(host) === 0 && !HOSTNAME.test(host)) {
    throw new ConfigError('HOST', `must be an IP address or a host name, got "${host}"`);
  }
  const databaseUrl = str(env, 'DATABASE_URL');
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new ConfigError('DATABASE_URL', 'must be a postgres:// or postgresql:// URL (leave it unset for the embedded SQLite database)');
  }
  const logLevel = (str(env, 'LOG_LEVEL') ?? 'info').toLowerCase();
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new ConfigError('LOG_LEVEL', `must be one of ${LOG_LEVELS.join(', ')}, got "${logLevel}"`);
  }
  const apiKey = str(env, 'SYNCLINE_API_KEY');
  if (apiKey !== undefined && /\s/.test(apiKey)) throw new ConfigError('SYNCLINE_API_KEY', 'must not contain whitespace');
  const secretKey = str(env, 'SYNCLINE_SECRET_KEY');
  if (secretKey !== undefined && secretKey.length < 16) {
    throw new ConfigError('SYNCLINE_SECRET_KEY', 'must be at least 16 characters long');
  }
  return Object.freeze({
    port: Number(portRaw),
    host,
    databaseUrl,
    dataDir: path.resolve(str(env, 'SYNCLINE_DATA_DIR') ?? './data'),
    apiKey,
    secretKey,
    logLevel,
    publicBaseUrl: httpUrl(env, 'SYNCLINE_PUBLIC_URL'),
    instanceName: str(env, 'SYNCLINE_INSTANCE_NAME') ?? 'Syncline',
    redirectUrl: httpUrl(env, 'SYNCLINE_REDIRECT_URL'),
    xero: xeroConfig(env),
    qbo: oauthClient(env, 'SYNCLINE_QBO'),
    qboSandbox: oauthClient(env, 'SYNCLINE_QBO_SANDBOX'),
    qboUrls: Object.freeze({
      authorizeUrl: httpUrl(env, 'SYNCLINE_QBO_AUTHORIZE_URL') ?? 'https://appcenter.intuit.com/connect/oauth2',
      tokenUrl: httpUrl(env, 'SYNCLINE_QBO_TOKEN_URL') ?? 'https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer',
      apiUrl: httpUrl(env, 'SYNCLINE_QBO_API_URL') ?? 'https://quickbooks.api.intuit.com',
      sandboxApiUrl: httpUrl(env, 'SYNCLINE_QBO_SANDBOX_API_URL') ?? 'https://sandbox-quickbooks.api.intuit.com',
    }),
    workerConcurrency: positiveInt(env, 'SYNCLINE_WORKER_CONCURRENCY', 4, 256),
    keepAliveDays: ['off', '0'].includes((str(env, 'SYNCLINE_KEEP_ALIVE_DAYS') ?? '').toLowerCase())
      ? undefined
      : positiveInt(env, 'SYNCLINE_KEEP_ALIVE_DAYS', 30, 365),
    sandboxUrl: httpUrl(env, 'SYNCLINE_SANDBOX_URL'),
    sandboxRatePerMinute: positiveInt(env, 'SYNCLINE_SANDBOX_RATE_PER_MINUTE', 60, 1_000_000),
    webhooksAllowPrivate: bool(env, 'SYNCLINE_WEBHOOKS_ALLOW_PRIVATE', false),
    webhookRetentionDays: positiveInt(env, 'SYNCLINE_WEBHOOK_RETENTION_DAYS', 30, 3650),
    leaseSeconds: positiveInt(env, 'SYNCLINE_LEASE_SECONDS', 60, 3600),
    reconcileEveryPulls: positiveInt(env, 'SYNCLINE_RECONCILE_EVERY_PULLS', 7, 1000),
    reconcileEveryDays: positiveInt(env, 'SYNCLINE_RECONCILE_EVERY_DAYS', 7, 365),
    historyRetentionDays: ['forever', ''].includes((str(env, 'SYNCLINE_HISTORY_RETENTION_DAYS') ?? '').toLowerCase())
      ? undefined
      : positiveInt(env, 'SYNCLINE_HISTORY_RETENTION_DAYS', 1, 36_500),
    metricsPort: optionalPort(env, 'SYNCLINE_METRICS_PORT'),
    metricsHost: hostName(env, 'SYNCLINE_METRICS_HOST') ?? host,
  });
}

/** The shortest secret key accepted, from SYNCLINE_SECRET_KEY or from the key file alike. */
export const SECRET_KEY_MIN_LENGTH = 16;

/** `<dataDir>/sandbox-state.json`: the embedded Sandbox platform's tenants and grants (src/sim/state-file.ts). */
export function sandboxStateFile(config: Config): string {
  return path.join(config.dataDir, 'sandbox-state.json');
}

/** `<dataDir>/secret.key`: where a generated secret key lives. */
export function secretKeyFile(config: Config): string {
  return path.join(config.dataDir, 'secret.key');
}

/**
 * The key in a key file, validated like SYNCLINE_SECRET_KEY (an empty or truncated file must not become a key anyone
 * can compute); undefined when the file does not exist.
 */
export function readSecretKeyFile(file: string): string | undefined {
  let raw: string;
  try {
    raw = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const key = raw.trim();
  const restore = 'Restore the file from a backup, or set SYNCLINE_SECRET_KEY to the key this instance\'s data was sealed with.';
  if (key === '') throw new ConfigError(file, `is empty: it must hold the secret key (at least ${SECRET_KEY_MIN_LENGTH} characters). ${restore}`);
  if (key.length < SECRET_KEY_MIN_LENGTH) {
    throw new ConfigError(file, `holds ${key.length} characters, but a secret key is at least ${SECRET_KEY_MIN_LENGTH} (is the file truncated?). ${restore}`);
  }
  if (/\s/.test(key)) throw new ConfigError(file, `must hold one key on one line, without spaces. ${restore}`);
  return key;
}

/**
 * The key that encrypts stored credentials: SYNCLINE_SECRET_KEY, else `<dataDir>/secret.key` (validated), else — only
 * when `generate` — a new random key written there (mode 0600) and reused on every later start. The caller decides
 * whether generating is safe (src/cli/secret-key.ts: never when the database already holds sealed data). Several
 * machines sharing a PostgreSQL database must share one SYNCLINE_SECRET_KEY.
 */
export function loadSecretKey(config: Config, generate = true): string | undefined {
  if (config.secretKey) return config.secretKey;
  const file = secretKeyFile(config);
  const existing = readSecretKeyFile(file);
  if (existing !== undefined || !generate) return existing;
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const key = randomBytes(32).toString('hex');
  // Written whole under another name, then linked into place: a process starting at the same moment sees either no
  // file or the complete key, never an empty one. link() fails if the name exists.
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(tmp, key + '\n', { mode: 0o600, flag: 'wx' });
  try {
    linkSync(tmp, file);
  } catch (err) {
    // Another process created it first: use theirs.
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return readSecretKeyFile(file);
    throw err;
  } finally {
    unlinkSync(tmp);
  }
  return key;
}

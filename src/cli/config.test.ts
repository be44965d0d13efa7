import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadSecretKey, parseConfig } from './config.js';

function fails(env: Record<string, string>, variable: string) {
  let err: unknown;
  try {
    parseConfig(env);
  } catch (e) {
    err = e;
  }
  expect(err, `${JSON.stringify(env)} should fail`).toBeInstanceOf(ConfigError);
  expect((err as ConfigError).variable).toBe(variable);
  expect((err as ConfigError).message).toContain(variable);
  return err as ConfigError;
}

describe('parseConfig', () => {
  it('has the documented defaults', () => {
    const c = parseConfig({});
    expect(c).toEqual({
      port: 8080,
      host: '127.0.0.1',
      databaseUrl: undefined,
      dataDir: path.resolve('./data'),
      apiKey: undefined,
      secretKey: undefined,
      logLevel: 'info',
      publicBaseUrl: undefined,
      instanceName: 'Syncline',
      redirectUrl: undefined,
      xero: undefined,
      qbo: undefined,
      qboSandbox: undefined,
      qboUrls: {
        authorizeUrl: 'https://appcenter.intuit.com/connect/oauth2',
        tokenUrl: 'https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer',
        apiUrl: 'https://quickbooks.api.intuit.com',
        sandboxApiUrl: 'https://sandbox-quickbooks.api.intuit.com',
      },
      workerConcurrency: 4,
      keepAliveDays: 30,
      sandboxUrl: undefined,
      sandboxRatePerMinute: 60,
      leaseSeconds: 60,
      reconcileEveryPulls: 7,
      reconcileEveryDays: 7,
      metricsPort: undefined,
      metricsHost: '127.0.0.1',
      webhooksAllowPrivate: false,
      historyRetentionDays: undefined,
      webhookRetentionDays: 30,
    });
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('does not read process.env when given an env object', () => {
    const saved = process.env.PORT;
    process.env.PORT = 'abc';
    try {
      expect(parseConfig({}).port).toBe(8080);
    } finally {
      if (saved === undefined) delete process.env.PORT;
      else process.env.PORT = saved;
    }
  });

  it('reads every variable', () => {
    const c = parseConfig({
      PORT: '0',
      HOST: '0.0.0.0',
      DATABASE_URL: 'postgres://u:p@db:5432/syncline',
      SYNCLINE_DATA_DIR: '/tmp/sync-data',
      SYNCLINE_API_KEY: 'operator-key',
      SYNCLINE_SECRET_KEY: '0123456789abcdef',
      LOG_LEVEL: 'DEBUG',
      SYNCLINE_PUBLIC_URL: 'https://sync.example.com/',
      SYNCLINE_INSTANCE_NAME: 'Acme',
      SYNCLINE_REDIRECT_URL: 'https://app.example.com/linked',
      SYNCLINE_XERO_CLIENT_ID: 'xid',
      SYNCLINE_XERO_CLIENT_SECRET: 'xsecret',
      SYNCLINE_XERO_SCOPES: 'offline_access accounting.settings.read,accounting.invoices.read',
      SYNCLINE_XERO_AUTHORIZE_URL: 'http://127.0.0.1:4010/identity/connect/authorize',
      SYNCLINE_XERO_TOKEN_URL: 'http://127.0.0.1:4010/connect/token/',
      SYNCLINE_XERO_API_URL: 'http://127.0.0.1:4010/',
      SYNCLINE_QBO_CLIENT_ID: 'qid',
      SYNCLINE_QBO_CLIENT_SECRET: 'qsecret',
      SYNCLINE_QBO_SANDBOX_CLIENT_ID: 'qsid',
      SYNCLINE_QBO_SANDBOX_CLIENT_SECRET: 'qssecret',
      SYNCLINE_QBO_AUTHORIZE_URL: 'http://127.0.0.1:4010/connect/oauth2',
      SYNCLINE_QBO_TOKEN_URL: 'http://127.0.0.1:4010/oauth2/v1/tokens/bearer/',
      SYNCLINE_QBO_API_URL: 'http://127.0.0.1:4010',
      SYNCLINE_QBO_SANDBOX_API_URL: 'http://127.0.0.1:4010/sandbox',
      SYNCLINE_WORKER_CONCURRENCY: '8',
      SYNCLINE_KEEP_ALIVE_DAYS: 'off',
      SYNCLINE_SANDBOX_URL: 'http://127.0.0.1:4010/',
      SYNCLINE_SANDBOX_RATE_PER_MINUTE: '600',
      SYNCLINE_WEBHOOKS_ALLOW_PRIVATE: 'TRUE',
      SYNCLINE_LEASE_SECONDS: '20',
      SYNCLINE_METRICS_PORT: '9464',
      SYNCLINE_METRICS_HOST: '10.0.0.5',
      SYNCLINE_RECONCILE_EVERY_PULLS: '1',
      SYNCLINE_RECONCILE_EVERY_DAYS: '30',
      SYNCLINE_HISTORY_RETENTION_DAYS: '400',
      SYNCLINE_WEBHOOK_RETENTION_DAYS: '7',
    });
    expect(c).toEqual({
      port: 0,
      host: '0.0.0.0',
      databaseUrl: 'postgres://u:p@db:5432/syncline',
      dataDir: '/tmp/sync-data',
      apiKey: 'operator-key',
      secretKey: '0123456789abcdef',
      logLevel: 'debug',
      publicBaseUrl: 'https://sync.example.com',
      instanceName: 'Acme',
      redirectUrl: 'https://app.example.com/linked',
      xero: {
        clientId: 'xid',
        clientSecret: 'xsecret',
        scopes: ['offline_access', 'accounting.settings.read', 'accounting.invoices.read'],
        authorizeUrl: 'http://127.0.0.1:4010/identity/connect/authorize',
        tokenUrl: 'http://127.0.0.1:4010/connect/token',
        revocationUrl: 'http://127.0.0.1:4010/connect/revocation',
        apiUrl: 'http://127.0.0.1:4010',
      },
      qbo: { clientId: 'qid', clientSecret: 'qsecret' },
      qboSandbox: { clientId: 'qsid', clientSecret: 'qssecret' },
      qboUrls: {
        authorizeUrl: 'http://127.0.0.1:4010/connect/oauth2',
        tokenUrl: 'http://127.0.0.1:4010/oauth2/v1/tokens/bearer',
        apiUrl: 'http://127.0.0.1:4010',
        sandboxApiUrl: 'http://127.0.0.1:4010/sandbox',
      },
      workerConcurrency: 8,
      keepAliveDays: undefined,
      sandboxUrl: 'http://127.0.0.1:4010',
      sandboxRatePerMinute: 600,
      webhooksAllowPrivate: true,
      webhookRetentionDays: 7,
      leaseSeconds: 20,
      metricsPort: 9464,
      metricsHost: '10.0.0.5',
      reconcileEveryPulls: 1,
      reconcileEveryDays: 30,
      historyRetentionDays: 400,
    });
    expect(parseConfig({ SYNCLINE_HISTORY_RETENTION_DAYS: 'forever' }).historyRetentionDays).toBeUndefined();
    expect(parseConfig({ DATABASE_URL: 'postgresql://localhost/x' }).databaseUrl).toBe('postgresql://localhost/x');
    expect(parseConfig({ PORT: '65535' }).port).toBe(65535);
    for (const host of ['localhost', '::', '::1', '0.0.0.0', 'syncline-1.internal.example.com']) expect(parseConfig({ HOST: host }).host).toBe(host);
  });

  it('Xero: a client id alone enables it with PKCE, Xero\'s URLs and the read scopes + offline_access', () => {
    expect(parseConfig({ SYNCLINE_XERO_CLIENT_ID: 'public-client' }).xero).toEqual({
      clientId: 'public-client',
      clientSecret: undefined,
      scopes: [
        'offline_access',
        'accounting.settings.read',
        'accounting.contacts.read',
        'accounting.invoices.read',
        'accounting.payments.read',
        'accounting.banktransactions.read',
        'accounting.manualjournals.read',
        'accounting.attachments.read',
        'accounting.reports.balancesheet.read',
        'accounting.reports.profitandloss.read',
      ],
      authorizeUrl: 'https://login.xero.com/identity/connect/authorize',
      tokenUrl: 'https://identity.xero.com/connect/token',
      revocationUrl: 'https://identity.xero.com/connect/revocation',
      apiUrl: 'https://api.xero.com',
    });
    expect(parseConfig({}).xero).toBeUndefined();
    expect(parseConfig({ SYNCLINE_XERO_SCOPES: 'offline_access' }).xero).toBeUndefined();
  });

  it('treats empty values as unset', () => {
    const c = parseConfig({ PORT: '', DATABASE_URL: '  ', LOG_LEVEL: '', SYNCLINE_API_KEY: '' });
    expect(c.port).toBe(8080);
    expect(c.databaseUrl).toBeUndefined();
    expect(c.logLevel).toBe('info');
    expect(c.apiKey).toBeUndefined();
  });

  it('stops on each bad value with a message naming the variable', () => {
    for (const port of ['abc', '-1', '65536', '80.5', '1e3', '0x50']) fails({ PORT: port }, 'PORT');
    for (const url of ['mysql://localhost/db', 'localhost:5432', 'sqlite:./data/x.db']) fails({ DATABASE_URL: url }, 'DATABASE_URL');
    for (const host of ['not a host', 'http://localhost', 'host:8080', '-bad.example', '[::1]']) fails({ HOST: host }, 'HOST');
    fails({ LOG_LEVEL: 'verbose' }, 'LOG_LEVEL');
    fails({ SYNCLINE_API_KEY: 'two words' }, 'SYNCLINE_API_KEY');
    fails({ SYNCLINE_SECRET_KEY: 'short' }, 'SYNCLINE_SECRET_KEY');
    for (const url of ['not a url', 'ftp://example.com', '/relative']) {
      fails({ SYNCLINE_PUBLIC_URL: url }, 'SYNCLINE_PUBLIC_URL');
      fails({ SYNCLINE_REDIRECT_URL: url }, 'SYNCLINE_REDIRECT_URL');
    }
    fails({ SYNCLINE_XERO_CLIENT_SECRET: 'x' }, 'SYNCLINE_XERO_CLIENT_ID');
    fails({ SYNCLINE_XERO_CLIENT_ID: 'x y' }, 'SYNCLINE_XERO_CLIENT_ID');
    fails({ SYNCLINE_XERO_CLIENT_ID: 'x', SYNCLINE_XERO_SCOPES: 'accounting.settings.read' }, 'SYNCLINE_XERO_SCOPES');
    fails({ SYNCLINE_XERO_CLIENT_ID: 'x', SYNCLINE_XERO_SCOPES: 'offline_access "quoted"' }, 'SYNCLINE_XERO_SCOPES');
    for (const v of ['SYNCLINE_XERO_AUTHORIZE_URL', 'SYNCLINE_XERO_TOKEN_URL', 'SYNCLINE_XERO_API_URL']) fails({ SYNCLINE_XERO_CLIENT_ID: 'x', [v]: 'xero.com/x' }, v);
    fails({ SYNCLINE_QBO_CLIENT_ID: 'x' }, 'SYNCLINE_QBO_CLIENT_SECRET');
    fails({ SYNCLINE_QBO_CLIENT_SECRET: 'x' }, 'SYNCLINE_QBO_CLIENT_ID');
    fails({ SYNCLINE_QBO_SANDBOX_CLIENT_ID: 'x' }, 'SYNCLINE_QBO_SANDBOX_CLIENT_SECRET');
    fails({ SYNCLINE_QBO_TOKEN_URL: 'ftp://x' }, 'SYNCLINE_QBO_TOKEN_URL');
    for (const n of ['0', '-2', 'four', '1000']) fails({ SYNCLINE_WORKER_CONCURRENCY: n }, 'SYNCLINE_WORKER_CONCURRENCY');
    for (const n of ['-2', 'monthly', '400']) fails({ SYNCLINE_KEEP_ALIVE_DAYS: n }, 'SYNCLINE_KEEP_ALIVE_DAYS');
    for (const n of ['0', '-1', '7.5', 'week', '40000']) fails({ SYNCLINE_HISTORY_RETENTION_DAYS: n }, 'SYNCLINE_HISTORY_RETENTION_DAYS');
    fails({ SYNCLINE_SANDBOX_URL: 'sim:4010' }, 'SYNCLINE_SANDBOX_URL');
    fails({ SYNCLINE_SANDBOX_RATE_PER_MINUTE: '0' }, 'SYNCLINE_SANDBOX_RATE_PER_MINUTE');
    for (const n of ['0', 'soon', '4000']) fails({ SYNCLINE_LEASE_SECONDS: n }, 'SYNCLINE_LEASE_SECONDS');
    fails({ SYNCLINE_RECONCILE_EVERY_PULLS: '0' }, 'SYNCLINE_RECONCILE_EVERY_PULLS');
    fails({ SYNCLINE_RECONCILE_EVERY_DAYS: 'weekly' }, 'SYNCLINE_RECONCILE_EVERY_DAYS');
    for (const n of ['-1', '65536', 'prom']) fails({ SYNCLINE_METRICS_PORT: n }, 'SYNCLINE_METRICS_PORT');
    fails({ SYNCLINE_METRICS_HOST: 'not a host' }, 'SYNCLINE_METRICS_HOST');
    for (const n of ['0', '-5', 'month', '3651', '1.5']) fails({ SYNCLINE_WEBHOOK_RETENTION_DAYS: n }, 'SYNCLINE_WEBHOOK_RETENTION_DAYS');
    expect(parseConfig({ HOST: '0.0.0.0' }).metricsHost).toBe('0.0.0.0');
    for (const v of ['yes', '1', 'on']) fails({ SYNCLINE_WEBHOOKS_ALLOW_PRIVATE: v }, 'SYNCLINE_WEBHOOKS_ALLOW_PRIVATE');
    expect(parseConfig({ SYNCLINE_WEBHOOKS_ALLOW_PRIVATE: 'false' }).webhooksAllowPrivate).toBe(false);
  });

  it('the PORT message shows the bad value', () => {
    expect(fails({ PORT: 'abc' }, 'PORT').message).toMatch(/PORT.*"abc"/);
  });
});

describe('loadSecretKey', () => {
  it('uses SYNCLINE_SECRET_KEY when set, without touching the data dir', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'syncline-cfg-'));
    try {
      const c = parseConfig({ SYNCLINE_DATA_DIR: path.join(dir, 'data'), SYNCLINE_SECRET_KEY: 'a-configured-secret' });
      expect(loadSecretKey(c)).toBe('a-configured-secret');
      expect(() => statSync(path.join(dir, 'data'))).toThrow();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('generates one into the data dir (mode 0600) and reuses it', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'syncline-cfg-'));
    try {
      const c = parseConfig({ SYNCLINE_DATA_DIR: path.join(dir, 'nested', 'data') });
      const first = loadSecretKey(c);
      expect(first).toMatch(/^[0-9a-f]{64}$/);
      const file = path.join(dir, 'nested', 'data', 'secret.key');
      expect(readFileSync(file, 'utf8').trim()).toBe(first);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(loadSecretKey(c)).toBe(first);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

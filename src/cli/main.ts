#!/usr/bin/env node
import { Command } from 'commander';
import { ConfigError, parseConfig, type Config } from './config.js';
import type { Roles } from './server.js';
import { migrateToLatest, openStore } from '../store/db.js';
import { ApiKeysRepository, MAX_API_KEYS } from '../store/api-keys.repository.js';
import { newId, randomAlnum } from '../lib/ids.js';
import { hashApiKey } from '../lib/secrets.js';
import { createLogger } from '../lib/logger.js';
import { limitHeapGrowth } from '../lib/heap-growth.js';

function loadConfig(): Config {
  try {
    return parseConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`syncline: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}

async function withStore<T>(fn: (store: ReturnType<typeof openStore>) => Promise<T>, opts: { migrate: boolean } = { migrate: true }): Promise<T> {
  const config = loadConfig();
  const store = openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, poolSize: 2 });
  try {
    if (opts.migrate) await migrateToLatest(store);
    return await fn(store);
  } finally {
    await store.close();
  }
}

const program = new Command();
program.name('syncline').description('Self-hosted engine that keeps accounting data fresh (Codat-compatible API)');

/** Runs a node until SIGTERM/SIGINT: stop accepting, finish in-flight work, hand datasets back, exit 0. */
async function runNode(roles: Roles, label: string): Promise<void> {
  const config = loadConfig();
  // A process serving the API collects dead list rows before its old generation grows 4× (src/lib/heap-growth.ts); a
  // worker, the pages of its pulls, which are promoted the same way (issue 17, worker peak RSS during a pull).
  if (roles.api || roles.workers) limitHeapGrowth();
  const log = createLogger(config.logLevel);
  // Loaded here, not at the top: `keys`, `migrate` and `sim` need none of the server (Fastify, routes, connectors),
  // which was most of their start-up CPU (issue 17, suite time).
  const { startServer } = await import('./server.js');
  const server = await startServer(config, { logger: log, roles });
  log.info({ url: server.url || undefined, database: server.store.dialect, roles }, roles.api ? 'syncline listening' : `syncline ${label} started`);
  // Also in the log; on stderr in plain words so an operator starting the process by hand sees it.
  if (server.apiKeyRefused) process.stderr.write(`syncline: ${server.apiKeyRefused}\n`);
  if (server.generatedApiKey) {
    // Printed once, on stdout, outside the JSON log stream: only its hash is stored.
    process.stdout.write(
      `\nNo API key existed, so one was generated. It will not be shown again:\n\n  SYNCLINE_API_KEY=${server.generatedApiKey}\n\n` +
        `Use it as: Authorization: Basic $(printf %s "$SYNCLINE_API_KEY" | base64)\n\n`,
    );
  }
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    try {
      await server.close();
      process.exit(0);
    } catch (err) {
      log.error({ err }, 'shutdown failed');
      process.exit(1);
    }
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

program
  .command('serve')
  .description('run the HTTP API, and (unless --no-worker) the workers that pull data, in one process')
  .option('--no-worker', 'run the API only (workers run elsewhere with `syncline worker`)')
  .action(async (opts: { worker: boolean }) => {
    // The embedded default runs everything in one process; --no-worker leaves pulls and schedules to other processes.
    await runNode({ api: true, workers: opts.worker, scheduler: opts.worker }, 'serve');
  });

program
  .command('worker')
  .description('run only the worker pool (pulls datasets) and the lease sweeper')
  .action(async () => {
    await runNode({ api: false, workers: true, scheduler: false }, 'worker');
  });

program
  .command('scheduler')
  .description('run only the scheduler daemons: due pulls, keep-alive and the lease sweeper (any number may run)')
  .action(async () => {
    await runNode({ api: false, workers: false, scheduler: true }, 'scheduler');
  });

program
  .command('migrate')
  .description('apply database migrations and exit')
  .action(async () => {
    await withStore(
      async (store) => {
        const res = await migrateToLatest(store);
        const applied = res.results?.filter((r) => r.status === 'Success').map((r) => r.migrationName) ?? [];
        process.stdout.write(applied.length ? `applied: ${applied.join(', ')}\n` : 'database is up to date\n');
      },
      // Migrating here, not in withStore, so the report says what this run applied.
      { migrate: false },
    );
  });

program
  .command('sim')
  .description('run the Sandbox accounting platform: a Xero-like HTTP server with an admin API (docs/simulator.md)')
  .option('--host <host>', 'address to listen on', '127.0.0.1')
  .option('--port <port>', 'port to listen on (0 = any free port)', '4010')
  .option('--rate-per-minute <n>', 'calls per minute per tenant (default 60)')
  .option('--concurrent <n>', 'concurrent calls per tenant (default 5)')
  .option('--access-token-seconds <n>', 'access token lifetime (default 1800)')
  .option('--refresh-token-idle-days <n>', 'days an unused refresh token stays valid (default 60)')
  .option('--tenant-size <n>', 'invoices in tenants created by linking (default 200)')
  .option('--admin-token <token>', 'require this bearer token on /admin calls')
  .option('--oauth-client <id:secret>', 'a Xero OAuth app the consent page and token endpoint accept (repeatable; ID alone = public client with PKCE)', (v: string, prev: string[] = []) => [...prev, v])
  .option('--data <file>', 'keep tenants, their changes and grants in this state file, so a restart loses nothing (default: memory only)')
  .action(async (opts: Record<string, string | undefined>) => {
    const { runSimCli } = await import('../sim/cli.js');
    await runSimCli(opts);
  });

const secret = program.command('secret').description('the secret key that seals stored credentials and webhook secrets');
secret
  .command('rotate')
  .description(
    're-seal every sealed value with a new key in one transaction (stop every Syncline process on the database first); ' +
      'the current key is SYNCLINE_SECRET_KEY or the key file, the new one comes from --new-key-file, SYNCLINE_NEW_SECRET_KEY or --generate',
  )
  .option('--new-key-file <path>', 'a file holding the new key (one line, at least 16 characters)')
  .option('--generate', 'generate a random new key')
  .action(async (opts: { newKeyFile?: string; generate?: boolean }) => {
    const { rotateSecretKey } = await import('./secret-key.js');
    const config = loadConfig();
    await withStore(async (store) => {
      const result = await rotateSecretKey(config, store, {
        newKeyFile: opts.newKeyFile,
        generate: opts.generate,
        newKey: process.env.SYNCLINE_NEW_SECRET_KEY?.trim() || undefined,
      });
      process.stdout.write(result.lines.join('\n') + '\n');
    });
  });

const keys = program.command('keys').description('manage API keys');
keys
  .command('create')
  .option('-n, --name <name>', 'a name for the key (at most 50 characters)')
  .action(async (opts: { name?: string }) => {
    if (opts.name && opts.name.length > 50) {
      process.stderr.write('syncline: a key name is at most 50 characters\n');
      process.exit(2);
    }
    await withStore(async (store) => {
      const key = randomAlnum(40);
      const row = { id: newId(), name: opts.name ?? null, key_hash: hashApiKey(key), created_at: new Date().toISOString() };
      if (!(await new ApiKeysRepository(store.db).insertWithinLimit(row, MAX_API_KEYS, store.dialect === 'postgres'))) {
        process.stderr.write(`syncline: the instance already has ${MAX_API_KEYS} keys; revoke one first\n`);
        process.exitCode = 1;
        return;
      }
      process.stdout.write(`${row.id}\t${key}\n`);
    });
  });
keys.command('list').action(async () => {
  await withStore(async (store) => {
    for (const k of await new ApiKeysRepository(store.db).list()) process.stdout.write(`${k.id}\t${k.created_at}\t${k.name ?? ''}\n`);
  });
});
keys
  .command('revoke <id>')
  .action(async (id: string) => {
    await withStore(async (store) => {
      if (!(await new ApiKeysRepository(store.db).delete(id))) {
        process.stderr.write(`syncline: no API key with id ${id}\n`);
        process.exitCode = 1;
        return;
      }
      process.stdout.write(`revoked ${id}\n`);
    });
  });

program.parseAsync(process.argv).catch((err) => {
  process.stderr.write(`syncline: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});

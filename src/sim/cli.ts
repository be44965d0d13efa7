import path from 'node:path';
import { startSimulator, type Simulator, type SimulatorOptions } from './server.js';

/** Options of `syncline sim`, as commander hands them over (strings). */
export interface SimCliOptions {
  host?: string;
  port?: string;
  ratePerMinute?: string;
  concurrent?: string;
  accessTokenSeconds?: string;
  refreshTokenIdleDays?: string;
  tenantSize?: string;
  adminToken?: string;
  /** `--oauth-client ID:SECRET`, repeatable (commander collects them); `ID` alone is a public client (PKCE). */
  oauthClient?: string[];
  /** `--data FILE`: the state file. */
  data?: string;
}

function oauthClients(values: string[] | undefined): { clientId: string; clientSecret?: string }[] | undefined {
  if (!values?.length) return undefined;
  return values.map((v) => {
    const i = v.indexOf(':');
    const clientId = i < 0 ? v : v.slice(0, i);
    const clientSecret = i < 0 ? undefined : v.slice(i + 1);
    if (!clientId || /\s/.test(v)) throw new Error(`--oauth-client must be ID:SECRET (or ID for a public client), got "${v}"`);
    return clientSecret ? { clientId, clientSecret } : { clientId };
  });
}

function int(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw new Error(`--${name} must be a non-negative integer`);
  return Number(v);
}

export function simOptionsFromCli(o: SimCliOptions): SimulatorOptions {
  const perMinute = int(o.ratePerMinute, 'rate-per-minute');
  const concurrent = int(o.concurrent, 'concurrent');
  const port = int(o.port, 'port');
  const accessTokenSeconds = int(o.accessTokenSeconds, 'access-token-seconds');
  const refreshTokenIdleDays = int(o.refreshTokenIdleDays, 'refresh-token-idle-days');
  const tenantSize = int(o.tenantSize, 'tenant-size');
  return {
    host: o.host ?? '127.0.0.1',
    port: port ?? 4010,
    ...(accessTokenSeconds !== undefined ? { accessTokenSeconds } : {}),
    ...(refreshTokenIdleDays !== undefined ? { refreshTokenIdleDays } : {}),
    ...(tenantSize !== undefined ? { defaultTenantSize: tenantSize } : {}),
    ...(o.adminToken ? { adminToken: o.adminToken } : {}),
    ...(o.data ? { stateFile: path.resolve(o.data) } : {}),
    ...(oauthClients(o.oauthClient) ? { oauthClients: oauthClients(o.oauthClient)! } : {}),
    rateLimit: { ...(perMinute !== undefined ? { perMinute } : {}), ...(concurrent !== undefined ? { concurrent } : {}) },
  };
}

/** Runs the simulator in the foreground until SIGTERM/SIGINT (`syncline sim`). */
export async function runSimCli(o: SimCliOptions, out: NodeJS.WritableStream = process.stdout): Promise<Simulator> {
  const sim = await startSimulator(simOptionsFromCli(o));
  out.write(
    `Syncline Sandbox listening on ${sim.url}${o.data ? ` (state kept in ${path.resolve(o.data)})` : ''}\n  accounting API: ${sim.url}/api.xro/2.0\n  admin API:      ${sim.url}/admin (docs/simulator.md)\n` +
      `  Xero OAuth:     ${sim.url}/identity/connect/authorize, ${sim.url}/connect/token, ${sim.url}/connections (docs/xero.md)\n`,
  );
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    sim.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  const close = sim.close;
  return {
    ...sim,
    close: () => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      return close();
    },
  };
}

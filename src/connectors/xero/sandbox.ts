/**
 * The Sandbox connector (`mqjo`): the Xero connector pointed at the Syncline simulator (`syncline sim` or the
 * in-process one) — its own base URL, no client authentication, and a tenant created by the simulator when a
 * connection is linked (no browser consent: the simulator's `/connect/sandbox/authorize` stands in for it).
 */
import { FetchFailedError, type Credentials, type CredentialsStore } from '../connector.js';
import { arr, num, obj, str } from './wire.js';
import { XeroConnector, type XeroConnectorOptions, type XeroCredentials } from './xero-connector.js';

export type SandboxCredentials = XeroCredentials;

export interface SandboxConnectorOptions extends Omit<XeroConnectorOptions, 'key' | 'apiUrl' | 'tokenUrl' | 'revocationUrl' | 'clientId' | 'clientSecret' | 'cashFlow'> {
  /** Root URL of the simulator, e.g. http://127.0.0.1:4010. */
  baseUrl: string;
  /** Size of tenants created by authorize() (invoices, or a TenantSize object; default: the simulator's). */
  tenantSize?: number | Record<string, number>;
}

export class SandboxConnector extends XeroConnector {
  private readonly baseUrl: string;
  private readonly tenantSize: number | Record<string, number> | undefined;

  constructor(opts: SandboxConnectorOptions) {
    const base = opts.baseUrl.replace(/\/+$/, '');
    const { baseUrl: _b, tenantSize, ...rest } = opts;
    super({ ...rest, key: 'mqjo', apiUrl: base, tokenUrl: `${base}/connect/token`, revocationUrl: `${base}/connect/revocation`, cashFlow: true });
    this.baseUrl = base;
    this.tenantSize = tenantSize;
  }

  /** Links a new connection: the simulator creates the tenant (seeded by the connection id) and grants tokens. */
  async authorize(args: { connectionId: string; companyName: string; signal: AbortSignal }): Promise<{ credentials: Credentials; connectionInfo: Record<string, string> }> {
    let res: Response;
    try {
      res = await fetch(`${this.baseUrl}/connect/sandbox/authorize`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ seed: args.connectionId, name: args.companyName || undefined, ...(this.tenantSize !== undefined ? { size: this.tenantSize } : {}) }),
        signal: AbortSignal.any([args.signal, AbortSignal.timeout(this.opts.requestTimeoutMs ?? 30_000)]),
      });
    } catch (err) {
      if (args.signal.aborted) throw args.signal.reason;
      throw new FetchFailedError(`sandbox unreachable: ${(err as Error).message}`);
    }
    const body = obj(await res.json().catch(() => undefined));
    if (res.status !== 200 || !body) throw new FetchFailedError(`sandbox authorization failed with HTTP ${res.status}`, res.status);
    const now = this.clock.now().getTime();
    const tenantId = str(body.tenantId);
    const accessToken = str(body.access_token);
    const refreshToken = str(body.refresh_token);
    if (!tenantId || !accessToken || !refreshToken) throw new FetchFailedError('sandbox authorization response is incomplete');
    const credentials: XeroCredentials = {
      accessToken,
      accessTokenExpiresAt: new Date(now + (num(body.expires_in) ?? 1800) * 1000).toISOString(),
      refreshToken,
      refreshTokenExpiresAt: new Date(now + (num(body.refresh_token_expires_in) ?? 60 * 86_400) * 1000).toISOString(),
      tenantId,
    };
    const connectionInfo: Record<string, string> = { tenantId, tenantName: str(body.tenantName) ?? '' };
    // One call for the base currency, which statements and journal lines carry.
    let current: Credentials = credentials;
    const store: CredentialsStore = { read: async () => current, refresh: async (fn) => (current = await fn(current)) };
    const ctx = this.context(tenantId, store, this.clock, args.signal, () => {});
    const org = arr((await this.client.get(ctx, '/Organisation')).Organisations)[0];
    const currency = str(org?.BaseCurrency);
    if (currency) connectionInfo.baseCurrency = currency;
    return { credentials: current, connectionInfo };
  }
}

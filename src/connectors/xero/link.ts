/**
 * The OAuth side of Xero's Link flow (issue 13 item 2; source-platforms.md §1.7, §5.1): the authorize URL, the code
 * exchange through the shared token client (client authentication with the secret, or PKCE for a public client), the
 * organisations of this grant (`GET /connections?authEventId=` with the access token's `authentication_event_id`,
 * ORGANISATION tenants only), what to store for the chosen one, and disconnecting the others.
 */
import { OAuthLinkError, type OAuthGrant, type OAuthLinker, type OAuthTenant } from '../../domain/oauth-link.js';
import { AuthRevokedError, ConnectorError } from '../connector.js';
import type { XeroConnector, XeroCredentials } from './xero-connector.js';

export interface XeroLinkerOptions {
  /** The connector of the same app (token client, API calls). */
  connector: XeroConnector;
  clientId: string;
  /** Xero: https://login.xero.com/identity/connect/authorize */
  authorizeUrl: string;
  scopes: readonly string[];
  /** API host root: `/connections` is under it (Xero: https://api.xero.com). */
  apiUrl: string;
  requestTimeoutMs?: number;
}

/** Claims of a JWT, unverified: the client only reads them (the token is verified by Xero when used). */
export function jwtClaims(token: string): Record<string, unknown> | undefined {
  const part = token.split('.')[1];
  if (!part) return undefined;
  try {
    const v = JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

export class XeroLinker implements OAuthLinker {
  readonly pkce: boolean;
  private readonly apiRoot: string;
  private readonly timeoutMs: number;

  constructor(private readonly o: XeroLinkerOptions) {
    this.pkce = !o.connector.hasClientSecret;
    this.apiRoot = o.apiUrl.replace(/\/+$/, '');
    this.timeoutMs = o.requestTimeoutMs ?? 30_000;
  }

  authorizeUrl(args: { state: string; redirectUri: string; codeChallenge?: string }): string {
    const u = new URL(this.o.authorizeUrl);
    u.searchParams.set('response_type', 'code');
    u.searchParams.set('client_id', this.o.clientId);
    u.searchParams.set('redirect_uri', args.redirectUri);
    u.searchParams.set('scope', this.o.scopes.join(' '));
    u.searchParams.set('state', args.state);
    if (args.codeChallenge) {
      u.searchParams.set('code_challenge', args.codeChallenge);
      u.searchParams.set('code_challenge_method', 'S256');
    }
    return u.toString();
  }

  async exchange(args: { code: string; redirectUri: string; codeVerifier?: string; signal: AbortSignal }): Promise<OAuthGrant> {
    let tokens: Partial<XeroCredentials> & { accessToken: string };
    let scope: string[];
    try {
      const g = await this.o.connector.tokenClient.request(
        { grant_type: 'authorization_code', code: args.code, redirect_uri: args.redirectUri, ...(args.codeVerifier ? { code_verifier: args.codeVerifier } : {}) },
        { clock: this.o.connector.connectorClock, signal: args.signal },
        undefined,
        { requireRefreshToken: false },
      );
      tokens = g.tokens;
      scope = typeof g.body.scope === 'string' ? g.body.scope.split(/\s+/).filter(Boolean) : [...this.o.scopes];
    } catch (err) {
      if (err instanceof AuthRevokedError) throw new OAuthLinkError('invalid_grant', err.message, err.statusCode);
      throw new OAuthLinkError('platform_error', (err as Error).message, err instanceof ConnectorError ? err.statusCode : undefined);
    }
    const authEventId = jwtClaims(tokens.accessToken)?.authentication_event_id;
    const tenants = await this.tenants(tokens.accessToken, typeof authEventId === 'string' ? authEventId : undefined, args.signal);
    const credentials: Record<string, unknown> = { ...tokens, ...(typeof authEventId === 'string' ? { authEventId } : {}) };
    return { credentials, hasRefreshToken: Boolean(tokens.refreshToken), tenants, scopes: scope };
  }

  /** The ORGANISATION tenants of this authorization event. */
  private async tenants(accessToken: string, authEventId: string | undefined, signal: AbortSignal): Promise<OAuthTenant[]> {
    const url = new URL(`${this.apiRoot}/connections`);
    if (authEventId) url.searchParams.set('authEventId', authEventId);
    let res: Response;
    try {
      res = await fetch(url, { headers: { authorization: `Bearer ${accessToken}`, accept: 'application/json' }, signal: AbortSignal.any([signal, AbortSignal.timeout(this.timeoutMs)]) });
    } catch (err) {
      throw new OAuthLinkError('platform_error', `GET /connections: ${(err as Error).message}`);
    }
    const text = await res.text();
    if (res.status !== 200) throw new OAuthLinkError('platform_error', `GET /connections answered HTTP ${res.status}`, res.status);
    let list: unknown;
    try {
      list = JSON.parse(text);
    } catch {
      throw new OAuthLinkError('platform_error', 'GET /connections answered something that is not JSON');
    }
    if (!Array.isArray(list)) throw new OAuthLinkError('platform_error', 'GET /connections did not answer a list');
    return list.flatMap((c: Record<string, unknown>) =>
      c && c.tenantType === 'ORGANISATION' && typeof c.tenantId === 'string' && typeof c.id === 'string'
        ? [{ tenantId: c.tenantId, tenantName: typeof c.tenantName === 'string' ? c.tenantName : '', connectionId: c.id }]
        : [],
    );
  }

  async bind(grant: OAuthGrant, tenant: OAuthTenant, signal: AbortSignal): Promise<{ credentials: Record<string, unknown>; connectionInfo: Record<string, string> }> {
    const credentials = { ...(grant.credentials as Partial<XeroCredentials>), tenantId: tenant.tenantId, xeroConnectionId: tenant.connectionId } as XeroCredentials;
    const connectionInfo: Record<string, string> = { tenantId: tenant.tenantId, tenantName: tenant.tenantName };
    try {
      const org = await this.o.connector.organisation(credentials, signal);
      if (org.baseCurrency) connectionInfo.baseCurrency = org.baseCurrency;
      return { credentials: org.credentials, connectionInfo };
    } catch (err) {
      if (err instanceof AuthRevokedError) throw new OAuthLinkError('invalid_grant', err.message, err.statusCode);
      throw new OAuthLinkError('platform_error', (err as Error).message, err instanceof ConnectorError ? err.statusCode : undefined);
    }
  }

  async disconnect(grant: OAuthGrant, tenant: OAuthTenant, signal: AbortSignal): Promise<void> {
    const token = (grant.credentials as Partial<XeroCredentials>).accessToken;
    if (!token) throw new Error('no access token to disconnect with');
    await this.o.connector.disconnectTenant(token, tenant.connectionId, signal);
  }
}

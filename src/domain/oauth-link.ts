/**
 * What the Link flow needs from an OAuth platform's connector (issue 13 item 2). The API layer drives the browser
 * steps (state, redirects, pages); the connector knows the platform's URLs, client authentication, token shape and
 * tenant list. Pure types: connectors implement them, the API consumes them.
 */

/** One organisation a grant gives access to (Xero: a `/connections` entry of tenantType ORGANISATION). */
export interface OAuthTenant {
  tenantId: string;
  tenantName: string;
  /** The platform's id of this tenant connection (Xero's `/connections/{id}`), to disconnect it. */
  connectionId: string;
}

/** The outcome of an authorization-code exchange, before a tenant is chosen. */
export interface OAuthGrant {
  /** Tokens as the connector stores them, without the tenant (added by `bind`). Secret: sealed at rest. */
  credentials: Record<string, unknown>;
  /** False when the platform issued no refresh token (Xero: `offline_access` was not granted). */
  hasRefreshToken: boolean;
  /** The organisations of this grant only. */
  tenants: OAuthTenant[];
  /** Scopes the platform says it granted. */
  scopes: string[];
}

export interface OAuthLinker {
  /** True when no client secret is configured: the flow uses PKCE (S256) instead. */
  readonly pkce: boolean;
  /** The platform's authorize URL with response_type=code, client_id, redirect_uri, scope, state (and PKCE). */
  authorizeUrl(args: { state: string; redirectUri: string; codeChallenge?: string }): string;
  /** Exchanges the code and reads the tenants of this grant. Throws OAuthLinkError. */
  exchange(args: {
    code: string;
    redirectUri: string;
    codeVerifier?: string;
    /** The callback's query, for what a platform sends beside the code (QuickBooks: `realmId`). */
    callback?: Readonly<Record<string, string | undefined>>;
    signal: AbortSignal;
  }): Promise<OAuthGrant>;
  /** What to store for the chosen tenant: credentials (with the tenant) and the non-secret connection info. */
  bind(grant: OAuthGrant, tenant: OAuthTenant, signal: AbortSignal): Promise<{ credentials: Record<string, unknown>; connectionInfo: Record<string, string> }>;
  /** Disconnects one tenant of the grant (Xero: DELETE /connections/{id}). Throws on failure; callers log it. */
  disconnect(grant: OAuthGrant, tenant: OAuthTenant, signal: AbortSignal): Promise<void>;
}

/** Why an OAuth link attempt failed; each kind has its own page and its own recorded reason. */
export type OAuthLinkFailure =
  | 'access_denied'
  | 'invalid_grant'
  | 'no_refresh_token'
  | 'no_organisation'
  | 'tenant_mismatch'
  | 'platform_error'
  /** The company belongs to the platform's other environment (QuickBooks production vs sandbox: Fault 3100). */
  | 'wrong_environment';

export class OAuthLinkError extends Error {
  constructor(
    readonly kind: OAuthLinkFailure,
    message: string,
    /** The platform's HTTP status, when there was one. */
    readonly statusCode?: number,
  ) {
    super(message);
    this.name = 'OAuthLinkError';
  }
}

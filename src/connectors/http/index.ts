export { ApiClient, type ApiClientSettings, type CallContext } from './client.js';
export { TokenClient, type OAuthTokens, type TokenClientSettings, type TokenContext, type TokenGrant } from './oauth.js';
export { abortableSleep, RatePacer, TenantLimiter, WindowPacer } from './limits.js';

import type { Clock } from '../lib/clock.js';
import { XeroConnector } from '../connectors/xero/index.js';
import { XeroLinker } from '../connectors/xero/link.js';
import type { XeroConfig } from './config.js';

/** The Xero connector (`gbol`) for the operator's app, on the configured URLs (docs/xero.md), with its Link flow. */
export function xeroConnector(cfg: XeroConfig, clock: Clock): XeroConnector {
  const connector = new XeroConnector({
    apiUrl: cfg.apiUrl,
    tokenUrl: cfg.tokenUrl,
    revocationUrl: cfg.revocationUrl,
    clientId: cfg.clientId,
    ...(cfg.clientSecret ? { clientSecret: cfg.clientSecret } : {}),
    clock,
  });
  connector.oauthLinker = xeroLinker(cfg, connector);
  return connector;
}

/** The OAuth side of the Link flow for that connector. */
export function xeroLinker(cfg: XeroConfig, connector: XeroConnector): XeroLinker {
  return new XeroLinker({ connector, clientId: cfg.clientId, authorizeUrl: cfg.authorizeUrl, scopes: cfg.scopes, apiUrl: cfg.apiUrl });
}

export { XERO_API_URL, XERO_TOKEN_URL, XeroConnector, type XeroConnectorOptions, type XeroCredentials } from './xero-connector.js';
export { SandboxConnector, type SandboxConnectorOptions, type SandboxCredentials } from './sandbox.js';

export { SandboxConnector, type SandboxConnectorOptions } from './sandbox-connector.js';
export type { SandboxCredentials } from './client.js';

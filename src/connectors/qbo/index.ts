export { QboConnector, WrongEnvironmentError, QBO_DEFAULTS, QBO_SCOPE, revokeUrlFor, type QboConnectorOptions } from './qbo-connector.js';
export type { QboCredentials } from './client.js';

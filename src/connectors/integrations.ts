import { ACCOUNTING_READ_TYPES, type DataType } from '../domain/data-types.js';
import type { SourceType } from '../domain/statuses.js';
import { SANDBOX_READ_TYPES, XERO_READ_TYPES } from './xero/xero-connector.js';
import { QBO_READ_TYPES } from './qbo/qbo-connector.js';

/** A connector's declared read types in canonical order (the order `datatypeFeatures` lists them). */
const canonical = (declared: readonly DataType[]): readonly DataType[] => ACCOUNTING_READ_TYPES.filter((t) => declared.includes(t));

/**
 * The integrations Syncline knows (platform-api.md §6). Platform keys are Codat's, so stored keys and client code keep
 * working. `integrationId` and `sourceId` are fixed: identical on every installation.
 */
export interface IntegrationDefinition {
  readonly key: string;
  readonly name: string;
  readonly sourceType: SourceType;
  readonly integrationId: string;
  readonly sourceId: string;
  /** Brand colour for the generated logo. */
  readonly colour: string;
  readonly isBeta: boolean;
  /**
   * Data types this platform can read: its connector's declared capabilities (never a second hand-kept list), used
   * when no connector of the key is registered in this process (see IntegrationRegistry).
   */
  readonly dataTypes: readonly DataType[];
  /** Credential keys `PUT …/authorization` requires and accepts. */
  readonly requiredCredentials: readonly string[];
  readonly optionalCredentials: readonly string[];
  /** Refresh-token idle lifetime in days (sync-behaviour.md §5.4): when an unused token lapses. */
  readonly refreshTokenIdleDays: number;
  /** Which operator OAuth client must be configured for it to be enabled; null = always enabled. */
  readonly oauthClient: 'xero' | 'qbo' | 'qboSandbox' | null;
}

export const INTEGRATIONS: readonly IntegrationDefinition[] = [
  {
    key: 'gbol',
    name: 'Xero',
    sourceType: 'Accounting',
    integrationId: '8d4a2c1e-5b7f-4e0a-9c3d-2f1b6a8e7d40',
    sourceId: '3f6e9b2a-1c4d-4a8e-b7f0-5d2c9e1a6b31',
    colour: '#13B5EA',
    isBeta: false,
    // Xero has no cash-flow report (source-platforms.md §1.3, §1.4), no payment methods and no sales orders (its
    // quotes are estimates): queuing one of those ends NotSupported without a platform call.
    dataTypes: canonical(XERO_READ_TYPES),
    requiredCredentials: ['refreshToken', 'tenantId'],
    optionalCredentials: ['accessToken', 'accessTokenExpiresAt'],
    refreshTokenIdleDays: 60,
    oauthClient: 'xero',
  },
  {
    key: 'mqjo',
    name: 'Sandbox',
    sourceType: 'Accounting',
    integrationId: 'c4b0e6f2-8a1d-4f3b-9e57-0d6a2b8c4e19',
    sourceId: '7a1c5e3b-9d2f-4b6a-8e04-1f3d5b7a9c62',
    colour: '#6B4EFF',
    isBeta: false,
    // Xero's dialect plus the cash-flow report: no payment methods, no sales orders.
    dataTypes: canonical(SANDBOX_READ_TYPES),
    requiredCredentials: [],
    optionalCredentials: [],
    refreshTokenIdleDays: 60,
    oauthClient: null,
  },
  {
    key: 'ndsk',
    name: 'QuickBooks Online Sandbox',
    sourceType: 'Accounting',
    integrationId: 'e2f8a4c6-3b1d-4e9f-a5c7-6d0b2e4f8a13',
    sourceId: '5c9e1a7b-4d3f-4a2e-8b6c-0f7d1e3a5b84',
    colour: '#2CA01C',
    isBeta: true,
    dataTypes: canonical(QBO_READ_TYPES),
    requiredCredentials: ['refreshToken', 'realmId'],
    optionalCredentials: ['accessToken', 'accessTokenExpiresAt'],
    refreshTokenIdleDays: 100,
    oauthClient: 'qboSandbox',
  },
  {
    key: 'qhyg',
    name: 'QuickBooks Online',
    sourceType: 'Accounting',
    integrationId: 'a9d3f5b7-2e4c-4d1a-b8f6-3c5e7a9b1d26',
    sourceId: '1e5a9c3d-7b2f-4f8e-a4d6-9b1c3e5f7a08',
    colour: '#2CA01C',
    isBeta: false,
    dataTypes: canonical(QBO_READ_TYPES),
    requiredCredentials: ['refreshToken', 'realmId'],
    optionalCredentials: ['accessToken', 'accessTokenExpiresAt'],
    refreshTokenIdleDays: 100,
    oauthClient: 'qbo',
  },
];

const BY_KEY = new Map(INTEGRATIONS.map((i) => [i.key, i]));
export const findIntegration = (key: string): IntegrationDefinition | undefined => BY_KEY.get(key);

/** The connectors of this process, by integration key (a ConnectorRegistry): what a pull would actually run. */
export interface ConnectorCapabilities {
  get(key: string): { supports(dataType: DataType): boolean } | undefined;
}

/**
 * Which integrations are usable on this instance (OAuth platforms need the operator's client credentials) and which
 * data types each reads. A type is read when the connector registered for the key says so (`Connector.supports`, the
 * check the worker makes before a pull); with no connector of that key in this process, the definition's list, which
 * is the same connector's declared capabilities. So `/integrations`, first-link reads, schedules and queue-time
 * NotSupported all agree with what a pull runs.
 */
export class IntegrationRegistry {
  constructor(
    private readonly configuredClients: { xero: boolean; qbo: boolean; qboSandbox?: boolean },
    private readonly connectors?: ConnectorCapabilities,
  ) {}
  all(): readonly IntegrationDefinition[] {
    return INTEGRATIONS;
  }
  get(key: string): IntegrationDefinition | undefined {
    return findIntegration(key);
  }
  isEnabled(def: IntegrationDefinition): boolean {
    return def.oauthClient === null || this.configuredClients[def.oauthClient] === true;
  }
  supports(def: IntegrationDefinition, dataType: DataType): boolean {
    const connector = this.connectors?.get(def.key);
    return connector ? connector.supports(dataType) : def.dataTypes.includes(dataType);
  }
  /** The data types the integration reads, in canonical order. */
  dataTypes(def: IntegrationDefinition): readonly DataType[] {
    const connector = this.connectors?.get(def.key);
    return connector ? ACCOUNTING_READ_TYPES.filter((t) => connector.supports(t)) : def.dataTypes;
  }
}

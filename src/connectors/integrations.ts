import { ACCOUNTING_READ_TYPES, V1_READ_TYPES, type DataType } from '../domain/data-types.js';
import type { SourceType } from '../domain/statuses.js';

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
  /** Data types this platform can read. */
  readonly dataTypes: readonly DataType[];
  /** Credential keys `PUT …/authorization` requires and accepts. */
  readonly requiredCredentials: readonly string[];
  readonly optionalCredentials: readonly string[];
  /** Refresh-token idle lifetime in days (sync-behaviour.md §5.4): when an unused token lapses. */
  readonly refreshTokenIdleDays: number;
  /** Which operator OAuth client must be configured for it to be enabled; null = always enabled. */
  readonly oauthClient: 'xero' | 'qbo' | 'qboSandbox' | null;
}

/**
 * What QuickBooks Online reads (src/connectors/qbo/): v1's types and, of issue 15's, those QuickBooks has the data for.
 * Journals, sales orders, bank transactions and account transactions have no faithful QuickBooks source
 * (QBO_NOT_SUPPORTED in qbo-connector.ts says why): queuing them ends NotSupported.
 */
const QBO_TYPES: readonly DataType[] = [...V1_READ_TYPES, 'paymentMethods', 'purchaseOrders', 'billCreditNotes', 'transfers', 'directCosts', 'directIncomes'];

export const INTEGRATIONS: readonly IntegrationDefinition[] = [
  {
    key: 'gbol',
    name: 'Xero',
    sourceType: 'Accounting',
    integrationId: '8d4a2c1e-5b7f-4e0a-9c3d-2f1b6a8e7d40',
    sourceId: '3f6e9b2a-1c4d-4a8e-b7f0-5d2c9e1a6b31',
    colour: '#13B5EA',
    isBeta: false,
    // Xero's Accounting API has no cash-flow report (source-platforms.md §1.3, §1.4) and no payment methods (its
    // payments carry none): queuing either ends NotSupported.
    // Xero has no cash-flow report, no payment methods and no sales orders (its quotes are estimates).
    dataTypes: ACCOUNTING_READ_TYPES.filter((t) => t !== 'cashFlowStatement' && t !== 'paymentMethods' && t !== 'salesOrders'),
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
    dataTypes: ACCOUNTING_READ_TYPES,
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
    dataTypes: QBO_TYPES,
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
    dataTypes: QBO_TYPES,
    requiredCredentials: ['refreshToken', 'realmId'],
    optionalCredentials: ['accessToken', 'accessTokenExpiresAt'],
    refreshTokenIdleDays: 100,
    oauthClient: 'qbo',
  },
];

const BY_KEY = new Map(INTEGRATIONS.map((i) => [i.key, i]));
export const findIntegration = (key: string): IntegrationDefinition | undefined => BY_KEY.get(key);

/** Which integrations are usable on this instance: OAuth platforms need the operator's client credentials. */
export class IntegrationRegistry {
  constructor(private readonly configuredClients: { xero: boolean; qbo: boolean; qboSandbox?: boolean }) {}
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
    return def.dataTypes.includes(dataType);
  }
}

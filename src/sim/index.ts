export { startSimulator, type Simulator, type SimulatorOptions, type CreateTenantOptions } from './server.js';
export { runSimCli, simOptionsFromCli, type SimCliOptions } from './cli.js';
export type { Tenant, RateLimit, Fault, FaultKind, Counters, ChangeLog } from './tenant.js';
export type { TenantSize } from './generate.js';

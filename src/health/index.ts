/**
 * Cell and pack health from live data (issue 16): which cell has a higher resistance than its
 * neighbours (a loose bus bar, an ageing cell), which runs ahead at the ends of the charge curve
 * (less capacity), whether the balancer keeps up, and which pack of a parallel bank drifts from
 * the others. Pure and clock-injected; no Node-RED, no bus. See README "jkbms-health".
 */
export { HealthMonitor, MAX_PACKS, parseHealthSnapshot, resolveHealthOptions, type HealthSnapshot } from './monitor';
export { DEFAULT_HEALTH_OPTIONS } from './types';
export type { BankHealthPayload, BankPackHealth, CellHealth, Finding, FindingKind, HealthOptions, PackHealthPayload } from './types';

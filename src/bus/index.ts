/**
 * The bus layer: the engine that sniffs a JK master, polls as master, and injects requests
 * into a master's quiet gaps. It talks to the wire through a Transport (src/transport).
 */
export * from './types';
export { BusEngine, type BusEngineDeps, type BusLog, type BusLogLevel } from './engine';
export { REQUEST_TIMEOUT_MS } from './operations';
export { resolveBusOptions, DEFAULT_ADDRESSES, BUS_OPTION_LIMITS, BUS_SETTING_LIMITS, type NumericBusOption } from './options';
export { WriteError, exceptionMeaning } from './errors';
export {
  checkWriteRequest,
  parseWriteTarget,
  WRITE_SHORTHANDS,
  WriteRequestError,
  type WriteRequest,
  type WriteRequestCode,
  type WriteRequestOptions,
  type WriteTarget,
} from './write-request';

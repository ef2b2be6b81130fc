/**
 * The bus layer: transports (serial adapter, TCP gateway), the clock, and the bus engine that
 * sniffs a JK master, polls as master, and injects requests into a master's quiet gaps.
 */
export * from './types';
export type { Transport } from './transport';
export { realClock, FakeClock, type Clock, type TimerHandle } from './clock';
export { Backoff, type BackoffOptions } from './backoff';
export type { LinkOptions, TransportLog, TransportLogLevel } from './link';
export { SerialTransport, type SerialTransportOptions } from './serial';
export { TcpTransport, type TcpTransportOptions } from './tcp';
export { claimPort, portKey, type PortTarget } from './port-registry';
export { BusEngine, type BusEngineDeps, type BusLog, type BusLogLevel } from './engine';
export { REQUEST_TIMEOUT_MS } from './operations';
export { resolveBusOptions, DEFAULT_ADDRESSES } from './options';
export { WriteError, exceptionMeaning } from './errors';

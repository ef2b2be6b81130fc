/**
 * Transports: byte pipes to the RS485 bus (a serial adapter or a TCP gateway in transparent
 * mode) on one reconnecting state machine, and the registry that lets one bus own a port.
 */
export type { Transport } from './transport';
export { Backoff, type BackoffOptions } from './backoff';
export { ReconnectingTransport, type LinkOptions, type TransportLog, type TransportLogLevel } from './reconnecting';
export { SerialTransport, type SerialTransportOptions } from './serial';
export { TcpTransport, type TcpTransportOptions } from './tcp';
export { claimPort, portKey, type PortTarget } from './port-registry';

/**
 * Transports: byte pipes to the RS485 bus (a serial adapter or a TCP gateway in transparent
 * mode) on one reconnecting state machine, and the registry that lets one bus own a port; the
 * capture format, the bounded recorder of what a transport receives, and the replay of a
 * capture as a (listen-only) transport.
 */
export type { Transport } from './transport';
export { Backoff, type BackoffOptions } from './backoff';
export { ReconnectingTransport, portError, type LinkOptions, type TransportLog, type TransportLogLevel } from './reconnecting';
export { SerialTransport, type SerialTransportOptions } from './serial';
export { TcpTransport, type TcpTransportOptions } from './tcp';
export { claimPort, portKey, PortInUseError, type PortTarget } from './port-registry';
export { CaptureDecoder, CaptureEncoder, CaptureError, encodeCaptureHeader, parseCapture, lineTiming, paceRaw, type CaptureChunk, type CaptureHeader, type ParsedCapture } from './capture';
export { CaptureRecorder, DEFAULT_RECORD_BYTES, type RecorderOptions, type RecorderStatus } from './recorder';
export { ReplayTransport, loadReplay, type ReplayTransportOptions, type ReplayInfo } from './replay';

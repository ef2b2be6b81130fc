/**
 * `require('@jkpb/node-red-jkbms')`: the library under our Node-RED nodes, for function nodes
 * (the function node's Setup tab → module `@jkpb/node-red-jkbms`, see README "Using the
 * library") and for scripts of your own.
 *
 * - Protocol (pure, no I/O): `Framer` cuts a byte stream into frames; `decodeFrame` turns a
 *   300-byte data frame into the same payload the `jkbms` node sends; `encodeTrigger`,
 *   `encodeSettingWrite`, `encodeFrame` / `encodeResponse` build bytes; `SETTINGS`,
 *   `validateSetting`, `ALARMS`, `alarmLabel`, `implausible`, `crc16`, `sum8`.
 * - The bus engine (`BusEngine`) on a transport (`SerialTransport`, `TcpTransport`): sniffs a
 *   JK master or polls the packs itself, as the `jkbms-bus` node does.
 * - The simulator (`BusSimulator`): packs and a JK master on a simulated wire, reachable as a
 *   transport, over TCP or on a pty.
 * - The bank maths (`aggregate`, `BankTracker`) and energy counting (`EnergyIntegrator`).
 * - Cell and pack health (`HealthMonitor`): what the `jkbms-health` node reports, from live data.
 * - The clock the engine and simulator run on (`realClock`, `FakeClock` for tests).
 *
 * Loading this module is cheap: serialport is only loaded when a SerialTransport opens.
 */

export * from './protocol';

export * from './bus';

export type { Transport } from './transport/transport';
export { ReconnectingTransport, type LinkOptions, type TransportLog, type TransportLogLevel } from './transport/reconnecting';
export { SerialTransport, type SerialTransportOptions } from './transport/serial';
export { TcpTransport, type TcpTransportOptions } from './transport/tcp';
export { Backoff, type BackoffOptions } from './transport/backoff';

export * from './sim';

export { aggregate, type AggregateOptions } from './bank/aggregate';
export { BankTracker, type BankTrackerOptions } from './bank/tracker';
export type { BankPayload, BankPackInput, BankPackSummary, BankAlarm, CellRef, TemperatureRef, PackDeltaRef, TemperatureSensor } from './bank/types';
export { EnergyIntegrator, emptyEnergy, J_PER_KWH, type EnergySnapshot } from './energy/integrator';
export {
  HealthMonitor,
  parseHealthSnapshot,
  resolveHealthOptions,
  DEFAULT_HEALTH_OPTIONS,
  type HealthSnapshot,
  type HealthOptions,
  type PackHealthPayload,
  type BankHealthPayload,
  type BankPackHealth,
  type CellHealth,
  type Finding,
  type FindingKind,
} from './health';

export { realClock, FakeClock, type Clock, type TimerHandle } from './common/clock';
export { topicFor, type BmsIdentity, type AvailabilityPayload } from './messages/message';

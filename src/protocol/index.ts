/** The JK-PB RS485-2 protocol: pure functions and types, no I/O. */
export * from './types';
export * from './constants';
export * from './crc';
export * from './alarms';
export { Framer } from './framer';
export type {
  FramerEvent,
  FramerOptions,
  DiscardReason,
  TriggerEvent,
  WriteEvent,
  AckEvent,
  ExceptionEvent,
  DataFrameEvent,
  DiscardEvent,
} from './framer';
export { FrameError, checkFrame, decodeFrame, decodeLive, decodeSettings, decodeInfo } from './decode';
export { implausible } from './plausibility';
export { encodeTrigger, encodeAck, encodeException, encodeWrite, encodeFrame, encodeResponse } from './encode';
export type { EncodeFrameOptions } from './encode';
export {
  SETTINGS,
  SettingError,
  findSetting,
  validateSetting,
  describeRange,
  readSetting,
  encodeSettingWrite,
  rawToValue,
  applyRegisterWrite,
  settingsForRegister,
} from './settings';
export type { SettingDef, SettingErrorCode } from './settings';

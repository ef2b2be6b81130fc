import { alarmNames } from './alarms';
import { FRAME_LEN, HEADER, kindForFrameType } from './constants';
import { sum8 } from './crc';
import {
  INFO_FIELDS,
  LIVE,
  LIVE_FIELDS,
  SETTINGS,
  SETTINGS_FIELDS,
  SWITCH_BITS,
  fieldValue,
  readRaw,
  readString,
} from './fields';
import type {
  BalancingState,
  ChargeStage,
  DecodedFrame,
  InfoPayload,
  LivePayload,
  SettingsPayload,
  Temperatures,
} from './types';

/** A buffer that is not a valid data frame (wrong length, header, checksum or type). */
export class FrameError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FrameError';
  }
}

const hex2 = (n: number) => `0x${n.toString(16).padStart(2, '0')}`;

/** Throws FrameError unless `frame` holds a 300-byte data frame with a good header and sum8. */
export function checkFrame(frame: Uint8Array): void {
  if (frame.length < FRAME_LEN) {
    throw new FrameError(`a data frame has ${FRAME_LEN} bytes, got ${frame.length}`);
  }
  for (let i = 0; i < HEADER.length; i++) {
    if (frame[i] !== HEADER[i]) {
      throw new FrameError('not a JK data frame: it must start with 55 AA EB 90');
    }
  }
  const want = sum8(frame, 0, FRAME_LEN - 1);
  if (frame[FRAME_LEN - 1] !== want) {
    throw new FrameError(`checksum mismatch: byte 299 is ${hex2(frame[FRAME_LEN - 1]!)}, the sum of bytes 0–298 is ${hex2(want)}`);
  }
  if (!kindForFrameType(frame[4]!)) {
    throw new FrameError(`unknown frame type ${hex2(frame[4]!)} (expected 0x01, 0x02 or 0x03)`);
  }
}

/** Decode a data frame by its type byte (offset 4). `address` comes from the ack tail or the caller. */
export function decodeFrame(frame: Uint8Array, address: number | null = null): DecodedFrame {
  checkFrame(frame);
  switch (frame[4]) {
    case 1:
      return settingsFrom(frame, address);
    case 2:
      return liveFrom(frame, address);
    default:
      return infoFrom(frame, address);
  }
}

function expectType(frame: Uint8Array, type: number): void {
  checkFrame(frame);
  if (frame[4] !== type) throw new FrameError(`frame type is ${hex2(frame[4]!)}, expected ${hex2(type)}`);
}

export function decodeLive(frame: Uint8Array, address: number | null = null): LivePayload {
  expectType(frame, 2);
  return liveFrom(frame, address);
}

export function decodeSettings(frame: Uint8Array, address: number | null = null): SettingsPayload {
  expectType(frame, 1);
  return settingsFrom(frame, address);
}

export function decodeInfo(frame: Uint8Array, address: number | null = null): InfoPayload {
  expectType(frame, 3);
  return infoFrom(frame, address);
}

const BALANCING: readonly BalancingState[] = ['off', 'charge', 'discharge'];
const STAGES: readonly ChargeStage[] = ['bulk', 'absorption', 'float'];

function liveFrom(b: Uint8Array, address: number | null): LivePayload {
  const o: Record<string, unknown> = { type: 'live', address };
  for (const f of LIVE_FIELDS) o[f.key] = fieldValue(f, b);

  const mask = o.cellMask as number;
  const cells: number[] = [];
  const resistances: number[] = [];
  for (let i = 0; i < 32; i++) {
    if ((mask >>> i) & 1) {
      cells.push(readRaw(b, LIVE.cells + 2 * i, 'u16') / 1000);
      resistances.push(readRaw(b, LIVE.resistances + 2 * i, 'u16') / 1000);
    }
  }
  o.cells = cells;
  o.cellCount = cells.length;
  o.cellResistances = resistances;
  o.cellMin = cells.length ? Math.min(...cells) : null;
  o.cellMax = cells.length ? Math.max(...cells) : null;
  o.cellMaxIndex = b[LIVE.maxIndex]! + 1;
  o.cellMinIndex = b[LIVE.minIndex]! + 1;

  const current = o.current as number;
  const magnitude = readRaw(b, LIVE.power, 'u32') / 1000;
  o.power = current < 0 ? -magnitude : magnitude;

  const presence = o.temperatureSensorMask as number;
  const temps: Record<string, number | null> = {};
  LIVE.temperatures.forEach(([name, off], bit) => {
    const raw = readRaw(b, off, 'i16');
    temps[name] = (presence >>> bit) & 1 && raw !== LIVE.unpluggedRaw ? raw / 10 : null;
  });
  o.temperatures = temps as unknown as Temperatures;

  o.balancing = BALANCING[b[LIVE.balancing]!] ?? 'off';
  o.alarms = alarmNames(o.alarmMask as number);
  o.emergency = (o.emergencyTime as number) > 0;
  o.chargeStage = STAGES[b[LIVE.chargeStage]!] ?? null;
  o.dry1 = ((b[LIVE.dryContacts]! >>> 1) & 1) === 1;
  o.dry2 = ((b[LIVE.dryContacts]! >>> 2) & 1) === 1;
  return o as unknown as LivePayload;
}

function settingsFrom(b: Uint8Array, address: number | null): SettingsPayload {
  const o: Record<string, unknown> = { type: 'settings', address };
  for (const f of SETTINGS_FIELDS) o[f.key] = fieldValue(f, b);
  const count = Math.min(32, o.cellCount as number);
  const wires: number[] = [];
  for (let i = 0; i < count; i++) wires.push(readRaw(b, SETTINGS.wireResistances + 4 * i, 'u32') / 1000);
  o.wireResistances = wires;
  const word = o.switchMask as number;
  for (const s of SWITCH_BITS) o[s.key] = ((word >>> s.bit) & 1) === 1;
  return o as unknown as SettingsPayload;
}

function infoFrom(b: Uint8Array, address: number | null): InfoPayload {
  const o: Record<string, unknown> = { type: 'info', address };
  for (const f of INFO_FIELDS) o[f.key] = f.t === 'str' ? readString(b, f.off, f.len) : fieldValue(f, b);
  return o as unknown as InfoPayload;
}

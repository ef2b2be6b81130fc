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
  TableReader,
  readBits,
  readRaw,
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

/*
 * Each decoder starts from { type, address }, adds the field table's rows, then the fields
 * computed in code. The return type checks the result: a payload field that neither the table
 * nor the code provides fails to compile.
 */
const LIVE_TABLE = new TableReader(LIVE_FIELDS);
const SETTINGS_TABLE = new TableReader(SETTINGS_FIELDS);
const INFO_TABLE = new TableReader(INFO_FIELDS);

function liveFrom(b: Uint8Array, address: number | null): LivePayload {
  const o = LIVE_TABLE.read(b, { type: 'live' as const, address });

  const mask = o.cellMask;
  const cells: number[] = [];
  const resistances: number[] = [];
  for (let i = 0; i < 32; i++) {
    if ((mask >>> i) & 1) {
      cells.push(readRaw(b, LIVE.cells + 2 * i, 'u16') / 1000);
      resistances.push(readRaw(b, LIVE.resistances + 2 * i, 'u16') / 1000);
    }
  }
  const magnitude = readRaw(b, LIVE.power, 'u32') / 1000;
  const dry = b[LIVE.dryContacts]!;
  return Object.assign(o, {
    cells,
    cellCount: cells.length,
    cellResistances: resistances,
    cellMin: cells.length ? Math.min(...cells) : null,
    cellMax: cells.length ? Math.max(...cells) : null,
    cellMaxIndex: b[LIVE.maxIndex]! + 1,
    cellMinIndex: b[LIVE.minIndex]! + 1,
    power: o.current < 0 ? -magnitude : magnitude,
    temperatures: temperatures(b, o.temperatureSensorMask),
    balancing: BALANCING[b[LIVE.balancing]!] ?? 'off',
    alarms: alarmNames(o.alarmMask),
    emergency: o.emergencyTime > 0,
    chargeStage: STAGES[b[LIVE.chargeStage]!] ?? null,
    dry1: ((dry >>> 1) & 1) === 1,
    dry2: ((dry >>> 2) & 1) === 1,
  });
}

/** A sensor reads null when its presence bit is clear, or when it reports −200 °C (unplugged, fw 19). */
function temperatures(b: Uint8Array, presence: number): Temperatures {
  const read = (s: { readonly off: number; readonly bit: number }): number | null => {
    const raw = readRaw(b, s.off, 'i16');
    return (presence >>> s.bit) & 1 && raw !== LIVE.unpluggedRaw ? raw / 10 : null;
  };
  const t = LIVE.temperatures;
  return { mos: read(t.mos), t1: read(t.t1), t2: read(t.t2), t3: read(t.t3), t4: read(t.t4), t5: read(t.t5) };
}

function settingsFrom(b: Uint8Array, address: number | null): SettingsPayload {
  const o = SETTINGS_TABLE.read(b, { type: 'settings' as const, address });
  const count = Math.min(32, o.cellCount);
  const wires: number[] = [];
  for (let i = 0; i < count; i++) wires.push(readRaw(b, SETTINGS.wireResistances + 4 * i, 'u32') / 1000);
  return readBits(o.switchMask, SWITCH_BITS, Object.assign(o, { wireResistances: wires }));
}

function infoFrom(b: Uint8Array, address: number | null): InfoPayload {
  return INFO_TABLE.read(b, { type: 'info' as const, address });
}

import { alarmMask } from './alarms';
import { FN_WRITE, FRAME_LEN, HEADER, KIND_FRAME_TYPE, KIND_REGISTER } from './constants';
import { sum8, withCrc } from './crc';
import {
  INFO_FIELDS,
  LIVE,
  LIVE_FIELDS,
  SETTINGS,
  SETTINGS_FIELDS,
  SWITCH_BITS,
  readRaw,
  writeFieldValue,
  writeRaw,
  writeString,
  type Field,
} from './fields';
import type { DecodedFrame, FrameKind } from './types';

/** 11-byte read trigger: `AA 10 16 RR 00 01 02 00 00 CRC` (docs/protocol.md §2.3). */
export function encodeTrigger(address: number, kind: FrameKind): Buffer {
  return encodeWrite(address, KIND_REGISTER[kind], 1, 0);
}

/** 8-byte Modbus 0x10 acknowledgement: address, 0x10, register, quantity, CRC. */
export function encodeAck(address: number, register: number, quantity: number): Buffer {
  return withCrc([address & 0xff, FN_WRITE, (register >>> 8) & 0xff, register & 0xff, (quantity >>> 8) & 0xff, quantity & 0xff]);
}

/** 5-byte Modbus exception: address, function | 0x80, code, CRC. */
export function encodeException(address: number, code: number, functionCode = FN_WRITE): Buffer {
  return withCrc([address & 0xff, (functionCode | 0x80) & 0xff, code & 0xff]);
}

/**
 * Modbus 0x10 write of one register (11 bytes, 16-bit value) or two (13 bytes, 32-bit value);
 * the value is big-endian on the wire, `raw` is taken modulo 2^16 / 2^32 (two's complement).
 */
export function encodeWrite(address: number, register: number, quantity: 1 | 2, raw: number): Buffer {
  const head = [address & 0xff, FN_WRITE, (register >>> 8) & 0xff, register & 0xff, 0, quantity, quantity * 2];
  const v = quantity === 2 ? raw >>> 0 : raw & 0xffff;
  const value = quantity === 2 ? [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff] : [(v >>> 8) & 0xff, v & 0xff];
  return withCrc([...head, ...value]);
}

export interface EncodeFrameOptions {
  /** Byte 5 (0x05 from slaves and 0x00 from the master in RS485 captures). Default: the base's, else 5. */
  counter?: number;
  /** Start from these bytes (e.g. a captured frame); fields given in the payload overwrite them. */
  base?: Uint8Array;
}

/** Bytes observed constant in every real frame (docs/protocol.md §3.5); used when no base is given. */
function template(type: 1 | 2 | 3): Buffer {
  const b = Buffer.alloc(FRAME_LEN);
  HEADER.copy(b, 0);
  b[4] = type;
  b[5] = 5;
  if (type === 2) {
    b[216] = 1;
    Buffer.from([0x00, 0x01, 0x01, 0x01, 0x00, 0x06]).copy(b, 238);
    writeRaw(b, 270, 'u32', 86400);
  }
  return b;
}

type Bag = Record<string, unknown>;
const num = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/**
 * Build a 300-byte data frame (with its sum8) from a payload in our contract's names. Fields
 * absent from the payload keep the base frame's bytes, so `encodeFrame(decodeFrame(f), {base: f})`
 * reproduces `f`. For live frames, summary fields the payload leaves out (cell mask, average,
 * delta, min/max index, power, low-resolution voltage, sensor presence) are derived from the
 * cells, voltage, current and temperatures it gives.
 */
export function encodeFrame(payload: Partial<DecodedFrame> & { type: FrameKind }, opts: EncodeFrameOptions = {}): Buffer {
  const type = KIND_FRAME_TYPE[payload.type];
  const b = opts.base ? Buffer.from(opts.base.subarray(0, FRAME_LEN)) : template(type);
  if (b.length < FRAME_LEN) throw new RangeError(`base frame has ${b.length} bytes, need ${FRAME_LEN}`);
  HEADER.copy(b, 0);
  b[4] = type;
  if (opts.counter !== undefined) b[5] = opts.counter & 0xff;
  const p = payload as Bag;
  if (type === 2) encodeLive(b, p);
  else if (type === 1) encodeSettings(b, p);
  else encodeInfo(b, p);
  b[FRAME_LEN - 1] = sum8(b, 0, FRAME_LEN - 1);
  return b;
}

/** A pack's complete answer: the data frame plus the 8-byte acknowledgement tail with `address`. */
export function encodeResponse(payload: Partial<DecodedFrame> & { type: FrameKind }, address: number, opts: EncodeFrameOptions = {}): Buffer {
  return Buffer.concat([encodeFrame(payload, opts), encodeAck(address, KIND_REGISTER[payload.type], 1)]);
}

function writeTable(b: Buffer, fields: readonly Field[], p: Bag): void {
  for (const f of fields) {
    const v = p[f.key];
    if (f.t === 'str') {
      if (typeof v === 'string') writeString(b, f.off, f.len, v);
    } else if (typeof v === 'number' || typeof v === 'boolean') {
      writeFieldValue(f, b, v);
    }
  }
}

const BALANCING = ['off', 'charge', 'discharge'];
const STAGES = ['bulk', 'absorption', 'float'];

function encodeLive(b: Buffer, p: Bag): void {
  const cells = Array.isArray(p.cells) ? (p.cells as unknown[]).filter(num).slice(0, 32) : undefined;
  let mask = num(p.cellMask) ? p.cellMask >>> 0 : undefined;
  if (mask === undefined && cells) mask = cells.length >= 32 ? 0xffffffff : (1 << cells.length) - 1;
  const d: Bag = { ...p };
  if (mask !== undefined) d.cellMask = mask;

  const slots: number[] = [];
  if (mask !== undefined) for (let i = 0; i < 32; i++) if ((mask >>> i) & 1) slots.push(i);
  if (cells) {
    cells.forEach((v, k) => slots[k] !== undefined && writeRaw(b, LIVE.cells + 2 * slots[k]!, 'u16', v * 1000));
    if (cells.length) {
      const min = Math.min(...cells);
      const max = Math.max(...cells);
      if (!num(p.cellAvg)) d.cellAvg = cells.reduce((a, c) => a + c, 0) / cells.length;
      if (!num(p.cellDelta)) d.cellDelta = max - min;
      if (!num(p.cellMaxIndex)) d.cellMaxIndex = (slots[cells.indexOf(max)] ?? 0) + 1;
      if (!num(p.cellMinIndex)) d.cellMinIndex = (slots[cells.indexOf(min)] ?? 0) + 1;
    }
  }
  if (Array.isArray(p.cellResistances)) {
    (p.cellResistances as unknown[]).forEach(
      (v, k) => num(v) && slots[k] !== undefined && writeRaw(b, LIVE.resistances + 2 * slots[k]!, 'u16', v * 1000),
    );
  }
  if (num(d.cellMaxIndex)) b[LIVE.maxIndex] = Math.max(0, d.cellMaxIndex - 1) & 0xff;
  if (num(d.cellMinIndex)) b[LIVE.minIndex] = Math.max(0, d.cellMinIndex - 1) & 0xff;

  if (num(p.power)) writeRaw(b, LIVE.power, 'u32', Math.abs(p.power) * 1000);
  else if (num(p.voltage) && num(p.current)) writeRaw(b, LIVE.power, 'u32', Math.abs(p.voltage * p.current) * 1000);
  if (!num(p.voltageLowRes) && num(p.voltage)) d.voltageLowRes = p.voltage;

  const temps = (p.temperatures ?? undefined) as Record<string, unknown> | undefined;
  if (temps && typeof temps === 'object') {
    let presence = 0xc0; // bits 6–7 unused, observed set
    const given = num(p.temperatureSensorMask) ? p.temperatureSensorMask : null;
    for (const [name, { off, bit }] of Object.entries(LIVE.temperatures)) {
      const v = temps[name];
      if (num(v)) {
        writeRaw(b, off, 'i16', v * 10);
        presence |= 1 << bit;
      } else if (v === null && given !== null && (given >>> bit) & 1) {
        writeRaw(b, off, 'i16', LIVE.unpluggedRaw); // present but unplugged (fw 19)
      }
    }
    if (!num(p.temperatureSensorMask)) d.temperatureSensorMask = presence;
  }
  if (typeof p.balancing === 'string' && BALANCING.includes(p.balancing)) b[LIVE.balancing] = BALANCING.indexOf(p.balancing);
  if (!num(p.alarmMask) && Array.isArray(p.alarms)) d.alarmMask = alarmMask(p.alarms as string[]);
  if (typeof p.chargeStage === 'string' && STAGES.includes(p.chargeStage)) b[LIVE.chargeStage] = STAGES.indexOf(p.chargeStage);
  let dry = b[LIVE.dryContacts]!;
  if (typeof p.dry1 === 'boolean') dry = p.dry1 ? dry | 2 : dry & ~2;
  if (typeof p.dry2 === 'boolean') dry = p.dry2 ? dry | 4 : dry & ~4;
  b[LIVE.dryContacts] = dry;
  writeTable(b, LIVE_FIELDS, d);
}

function encodeSettings(b: Buffer, p: Bag): void {
  const d: Bag = { ...p };
  let word = num(p.switchMask) ? p.switchMask & 0xffff : readRaw(b, 282, 'u16');
  for (const s of SWITCH_BITS) {
    const v = p[s.key];
    if (typeof v === 'boolean') word = v ? word | (1 << s.bit) : word & ~(1 << s.bit);
  }
  d.switchMask = word;
  writeTable(b, SETTINGS_FIELDS, d);
  if (Array.isArray(p.wireResistances)) {
    (p.wireResistances as unknown[])
      .slice(0, 32)
      .forEach((v, i) => num(v) && writeRaw(b, SETTINGS.wireResistances + 4 * i, 'u32', v * 1000));
  }
}

function encodeInfo(b: Buffer, p: Bag): void {
  writeTable(b, INFO_FIELDS, p);
}

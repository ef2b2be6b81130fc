/**
 * The shapes the Framer (framer.ts) recognises at a position of its buffer: the Modbus short
 * frames (write, read trigger, acknowledgement, exception), the acknowledgement tail of a data
 * frame in its two forms, and the start of another message inside a 300-byte frame window.
 *
 * Pure functions over the framer's buffer: the unread bytes are `buf[base]` onwards, `n` of
 * them available, and offsets are relative to `base`. The Framer keeps the stream state
 * (pending frame, echo, discard runs); these only look at bytes.
 */
import { FN_WRITE, FRAME_LEN, HEADER, MAX_ADDRESS, kindForRegister } from './constants';
import { crcMatches } from './crc';
import type { DiscardReason, FramerEvent } from './framer-events';

export const FN_EXCEPTION = FN_WRITE | 0x80;
/** Low bytes of the three read-trigger registers (0x161C, 0x161E, 0x1620). */
export const TRIGGER_LO = new Set([0x1c, 0x1e, 0x20]);

/** What the bytes at the buffer start are, as the Framer acts on it. */
export type Step =
  | { kind: 'wait' }
  | { kind: 'event'; event: FramerEvent; consume: number }
  | { kind: 'pending'; frame: Buffer }
  | { kind: 'skip'; reason: DiscardReason; count: number };

export const WAIT: Step = { kind: 'wait' };

/** A copy of bytes [start, end) (relative to base). */
export function sliceAt(buf: Buffer, base: number, start: number, end: number): Buffer {
  return Buffer.from(buf.subarray(base + start, base + end));
}

/** The available bytes from i on agree with the data-frame header (as far as they go). */
export function headerMatches(buf: Buffer, base: number, i: number, n: number): boolean {
  for (let k = 0; k < HEADER.length && i + k < n; k++) if (buf[base + i + k] !== HEADER[k]) return false;
  return true;
}

/** Offset (1–296) of a data-frame header or a checksum-valid read trigger inside the first 300 bytes, or -1. */
export function innerMessageStart(buf: Buffer, base: number): number {
  // The hot loop of the framer (every frame): constants held locally.
  const [h0, h1, h2, h3] = HEADER;
  const maxAddress = MAX_ADDRESS;
  for (let i = 1; i < FRAME_LEN - 3; i++) {
    const p = base + i;
    const c = buf[p]!;
    if (c === h0 && buf[p + 1] === h1 && buf[p + 2] === h2 && buf[p + 3] === h3) return i;
    if (c <= maxAddress && i + 11 <= FRAME_LEN && buf[p + 1] === FN_WRITE && buf[p + 2] === 0x16 && TRIGGER_LO.has(buf[p + 3]!) && crcMatches(buf, p, p + 9)) {
      return i;
    }
  }
  return -1;
}

/** The bytes from i to n could still become an acknowledgement of a read trigger. */
export function ackPrefix(buf: Buffer, base: number, i: number, n: number): boolean {
  const ok = [(c: number) => c <= MAX_ADDRESS, (c: number) => c === FN_WRITE, (c: number) => c === 0x16, (c: number) => TRIGGER_LO.has(c), (c: number) => c === 0, (c: number) => c === 1];
  for (let k = 0; k < ok.length && i + k < n; k++) if (!ok[k]!(buf[base + i + k]!)) return false;
  return true;
}

/** A checksum-valid acknowledgement (of a read trigger only, with `triggerRegisterOnly`) at offset i; 8 bytes must be available. */
export function isAck(buf: Buffer, base: number, i: number, triggerRegisterOnly: boolean): boolean {
  const at = (k: number) => buf[base + i + k]!;
  return (
    at(0) <= MAX_ADDRESS &&
    at(1) === FN_WRITE &&
    (!triggerRegisterOnly || (at(2) === 0x16 && TRIGGER_LO.has(at(3)))) &&
    at(4) === 0 &&
    crcMatches(buf, base + i, base + i + 6)
  );
}

/** Modbus frames starting at offset i: 13/11-byte writes and triggers, 8-byte ack, 5-byte exception. */
export function shortFrameStep(buf: Buffer, base: number, i: number, n: number, final: boolean): Step {
  const m = n - i;
  if (m < 2) return final ? { kind: 'skip', reason: 'truncated', count: 1 } : WAIT;
  const a = (k: number) => buf[base + i + k]!;
  const slice = (len: number) => sliceAt(buf, base, i, i + len);
  const fn = a(1);
  if (fn === FN_EXCEPTION) {
    if (m < 5) return final ? { kind: 'skip', reason: 'truncated', count: 1 } : WAIT;
    if (!crcMatches(buf, base + i, base + i + 3)) return { kind: 'skip', reason: 'bad-crc', count: 1 };
    return {
      kind: 'event',
      consume: 5,
      event: { type: 'exception', address: a(0), functionCode: fn & 0x7f, code: a(2), bytes: slice(5) },
    };
  }
  if (fn !== FN_WRITE) return { kind: 'skip', reason: 'noise', count: 1 };

  const can13 = (m < 5 || a(4) === 0) && (m < 6 || a(5) === 2) && (m < 7 || a(6) === 4);
  const can11 = (m < 5 || a(4) === 0) && (m < 6 || a(5) === 1) && (m < 7 || a(6) === 2);
  const can8 = (m < 5 || a(4) === 0) && (m < 6 || a(5) === 1 || a(5) === 2);
  const crcAt = (len: number) => m >= len && crcMatches(buf, base + i, base + i + len - 2);
  const register = m >= 4 ? (a(2) << 8) | a(3) : 0;

  if (can13 && crcAt(13)) {
    const value = ((a(7) << 24) | (a(8) << 16) | (a(9) << 8) | a(10)) >>> 0;
    return { kind: 'event', consume: 13, event: { type: 'write', address: a(0), register, quantity: 2, value, bytes: slice(13) } };
  }
  if (can11 && crcAt(11)) {
    const kind = kindForRegister(register);
    const bytes = slice(11);
    const event: FramerEvent = kind
      ? { type: 'trigger', address: a(0), register, kind, bytes }
      : { type: 'write', address: a(0), register, quantity: 1, value: (a(7) << 8) | a(8), bytes };
    return { kind: 'event', consume: 11, event };
  }
  const longerPossible = (can13 && m < 13) || (can11 && m < 11);
  if (can8 && crcAt(8) && (final || !longerPossible)) {
    return {
      kind: 'event',
      consume: 8,
      event: { type: 'ack', address: a(0), register, quantity: (a(4) << 8) | a(5), bytes: slice(8) },
    };
  }
  if ((longerPossible || (can8 && m < 8)) && !final) return WAIT;
  const shaped = can13 || can11 || can8;
  return { kind: 'skip', reason: shaped ? (m >= 8 ? 'bad-crc' : 'truncated') : 'noise', count: 1 };
}

/**
 * Which tail the n bytes after a data frame can still be (or, when long enough, are): the
 * acknowledgement of the trigger whose register low byte is `ownLo` (308-byte form), or a 0x00
 * pad then that acknowledgement (310-byte form). Complete when `ack && n >= 8` / `padded && n >= 9`.
 */
export function tailForms(buf: Buffer, base: number, n: number, ownLo: number): { ack: boolean; padded: boolean } {
  const a = (k: number) => buf[base + k]!;
  const trigReg = (hi: number, lo: number) => hi === 0x16 && lo === ownLo;
  // 308-byte form: the ack starts right after the frame.
  let ack = (n < 1 || a(0) <= MAX_ADDRESS) && (n < 2 || a(1) === FN_WRITE) && (n < 4 || trigReg(a(2), a(3))) && (n < 5 || a(4) === 0) && (n < 6 || a(5) === 1);
  if (ack && n >= 8) ack = crcMatches(buf, base, base + 6);
  // 310-byte form: a 0x00 pad, then the ack, then one trailing 0x00.
  let padded =
    (n < 1 || a(0) === 0) &&
    (n < 2 || a(1) <= MAX_ADDRESS) &&
    (n < 3 || a(2) === FN_WRITE) &&
    (n < 5 || trigReg(a(3), a(4))) &&
    (n < 6 || a(5) === 0) &&
    (n < 7 || a(6) === 1);
  if (padded && n >= 9) padded = crcMatches(buf, base + 1, base + 7);
  return { ack, padded };
}

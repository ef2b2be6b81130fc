import { HEADER } from '../protocol/constants';
import { Framer } from '../protocol/framer';

/**
 * The capture format (".jkcap"): the raw bytes a bus transport received, each chunk with the
 * time it arrived, so a replay reproduces the gaps the bus engine uses for attribution and role
 * decisions. Written by the bus node's recording option and `jkbms monitor --record`; read by
 * the replay connection and `jkbms parse`. All integers little-endian.
 *
 * File header (24 + N bytes):
 *
 *   offset size  field
 *   0      8     magic "JKBMSCAP" (ASCII)
 *   8      2     version = 1
 *   10     2     flags = 0 (reserved)
 *   12     8     start time: float64, Unix epoch ms (wall clock when the recording started)
 *   20     4     N: length of the metadata
 *   24     N     metadata: a UTF-8 JSON object (source, baud, recorder, bus name …; informative)
 *
 * Then one record per received chunk (8 + L bytes):
 *
 *   0      4     uint32: µs since the previous record (the first record: since the start time)
 *   4      2     uint16: L, length of the data
 *   6      1     kind: 0 = bytes received (readers skip records of other kinds)
 *   7      1     reserved = 0
 *   8      L     the bytes, exactly as the transport delivered them
 *
 * A record with L = 0 carries only time (written when more than 71 minutes pass between two
 * chunks); a chunk longer than 65535 bytes is split into records 0 µs apart. A record cut short
 * at the end of the file (power loss, full disk) is ignored. Times are rounded to the µs from
 * one start, so rounding does not accumulate.
 *
 * Files that do not start with the magic are raw byte streams (the format of older
 * `jkbms monitor --record` files): no times, replayed at wire speed.
 */

export const CAPTURE_MAGIC = Buffer.from('JKBMSCAP', 'ascii');
export const CAPTURE_VERSION = 1;
export const CAPTURE_HEADER_LEN = 24;
export const RECORD_HEADER_LEN = 8;
/** Kind byte of a record of received bytes. */
export const RECORD_RX = 0;
const MAX_DELTA_US = 0xffff_ffff;
const MAX_RECORD_DATA = 0xffff;
/** Metadata longer than this is refused by the reader (a damaged header). */
const MAX_META = 64 * 1024;

export interface CaptureHeader {
  version: number;
  /** Unix epoch ms when the recording started. */
  startedAt: number;
  meta: Record<string, unknown>;
}

export interface CaptureChunk {
  /** ms since the start of the recording. */
  t: number;
  data: Buffer;
}

export class CaptureError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CaptureError';
  }
}

export function encodeCaptureHeader(startedAt: number, meta: Record<string, unknown> = {}): Buffer {
  const json = Buffer.from(JSON.stringify(meta), 'utf8');
  const head = Buffer.alloc(CAPTURE_HEADER_LEN);
  CAPTURE_MAGIC.copy(head, 0);
  head.writeUInt16LE(CAPTURE_VERSION, 8);
  head.writeUInt16LE(0, 10);
  head.writeDoubleLE(startedAt, 12);
  head.writeUInt32LE(json.length, 20);
  return Buffer.concat([head, json]);
}

/**
 * Encodes the records of one capture; remembers the time of the last one. `t` is ms since the
 * start of the recording and never goes backwards (an earlier time is taken as the last one).
 */
export class CaptureEncoder {
  private lastUs = 0;

  record(t: number, data: Uint8Array): Buffer {
    const us = Math.max(this.lastUs, Math.round(t * 1000));
    let delta = us - this.lastUs;
    this.lastUs = us;
    const parts: Buffer[] = [];
    while (delta > MAX_DELTA_US) {
      parts.push(recordHeader(MAX_DELTA_US, 0));
      delta -= MAX_DELTA_US;
    }
    let offset = 0;
    do {
      const piece = data.subarray(offset, offset + MAX_RECORD_DATA);
      parts.push(recordHeader(delta, piece.length), Buffer.from(piece.buffer, piece.byteOffset, piece.length));
      delta = 0;
      offset += piece.length;
    } while (offset < data.length);
    return parts.length === 2 ? Buffer.concat(parts, RECORD_HEADER_LEN + data.length) : Buffer.concat(parts);
  }
}

function recordHeader(deltaUs: number, length: number): Buffer {
  const h = Buffer.alloc(RECORD_HEADER_LEN);
  h.writeUInt32LE(deltaUs, 0);
  h.writeUInt16LE(length, 4);
  h.writeUInt8(RECORD_RX, 6);
  return h;
}

/** True when `head` (the first bytes of a file) is, or may still become, the capture magic. */
export function startsLikeCapture(head: Uint8Array): boolean {
  const n = Math.min(head.length, CAPTURE_MAGIC.length);
  return Buffer.from(head.buffer, head.byteOffset, n).equals(CAPTURE_MAGIC.subarray(0, n));
}

/**
 * Streaming reader of one capture file: push() the bytes in any chunking, get the chunks.
 * Says which format it found once it has seen enough: 'capture' or 'raw' (anything without
 * the magic; raw chunks come back as they were pushed, with t = NaN).
 */
export class CaptureDecoder {
  format: 'capture' | 'raw' | null = null;
  header: CaptureHeader | null = null;
  private pending: Buffer = Buffer.alloc(0);
  private us = 0;
  /** Records and bytes read so far. */
  records = 0;
  bytes = 0;

  /** Throws CaptureError for a damaged header (bad version, absurd metadata). */
  push(input: Uint8Array): CaptureChunk[] {
    let buf = this.pending.length ? Buffer.concat([this.pending, input]) : Buffer.from(input.buffer, input.byteOffset, input.length);
    this.pending = Buffer.alloc(0);
    if (this.format === null) {
      if (!startsLikeCapture(buf)) this.format = 'raw';
      else if (buf.length < CAPTURE_HEADER_LEN) {
        this.pending = Buffer.from(buf);
        return [];
      } else {
        const version = buf.readUInt16LE(8);
        if (version !== CAPTURE_VERSION) throw new CaptureError(`capture format version ${version} is not supported (this version reads ${CAPTURE_VERSION})`);
        const metaLen = buf.readUInt32LE(20);
        if (metaLen > MAX_META) throw new CaptureError(`damaged capture header (metadata of ${metaLen} bytes)`);
        if (buf.length < CAPTURE_HEADER_LEN + metaLen) {
          this.pending = Buffer.from(buf);
          return [];
        }
        const startedAt = buf.readDoubleLE(12);
        let meta: Record<string, unknown> = {};
        try {
          const parsed: unknown = JSON.parse(buf.toString('utf8', CAPTURE_HEADER_LEN, CAPTURE_HEADER_LEN + metaLen) || '{}');
          if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) meta = parsed as Record<string, unknown>;
        } catch {
          throw new CaptureError('damaged capture header (metadata is not JSON)');
        }
        if (!Number.isFinite(startedAt)) throw new CaptureError('damaged capture header (no start time)');
        this.format = 'capture';
        this.header = { version, startedAt, meta };
        buf = buf.subarray(CAPTURE_HEADER_LEN + metaLen);
      }
    }
    if (this.format === 'raw') {
      if (!buf.length) return [];
      this.bytes += buf.length;
      return [{ t: NaN, data: buf }];
    }
    const out: CaptureChunk[] = [];
    let pos = 0;
    while (buf.length - pos >= RECORD_HEADER_LEN) {
      const len = buf.readUInt16LE(pos + 4);
      if (buf.length - pos < RECORD_HEADER_LEN + len) break;
      this.us += buf.readUInt32LE(pos);
      const kind = buf[pos + 6];
      const data = buf.subarray(pos + RECORD_HEADER_LEN, pos + RECORD_HEADER_LEN + len);
      pos += RECORD_HEADER_LEN + len;
      this.records += 1;
      if (kind !== RECORD_RX || !len) continue;
      this.bytes += len;
      out.push({ t: this.us / 1000, data });
    }
    if (pos < buf.length) this.pending = Buffer.from(buf.subarray(pos));
    return out;
  }

  /** Bytes of a record cut short at the end of the input (0 when the file ended cleanly). */
  get truncatedBytes(): number {
    return this.format === 'capture' ? this.pending.length : 0;
  }
}

export interface ParsedCapture {
  format: 'capture' | 'raw';
  header: CaptureHeader | null;
  /** Raw files: one chunk with t = NaN. */
  chunks: CaptureChunk[];
  truncatedBytes: number;
}

/**
 * A whole file. Throws CaptureError when it is empty, a damaged capture, or a raw file that holds
 * no JK-PB traffic at all (neither a data frame header 55 AA EB 90 nor a read request), e.g. a
 * text file or a picture chosen by mistake.
 */
export function parseCapture(file: Uint8Array): ParsedCapture {
  if (!file.length) throw new CaptureError('the file is empty');
  const decoder = new CaptureDecoder();
  const chunks = decoder.push(file);
  if (decoder.format !== 'raw') {
    if (!decoder.header) throw new CaptureError('the capture file ends inside its header');
    return { format: 'capture', header: decoder.header, chunks, truncatedBytes: decoder.truncatedBytes };
  }
  const bytes = Buffer.from(file.buffer, file.byteOffset, file.length);
  if (!looksLikeBusTraffic(bytes)) {
    const text = /^[\s0-9a-fA-F:,x-]+$/.test(bytes.toString('latin1', 0, Math.min(bytes.length, 4096)));
    throw new CaptureError(
      text
        ? 'this looks like hex text, not a capture: save the bytes as binary (jkbms parse --hex reads hex text)'
        : 'not a capture: no jkbms capture header and no JK-PB traffic (no data frame, no request) in the file',
    );
  }
  return { format: 'raw', header: null, chunks: [{ t: NaN, data: bytes }], truncatedBytes: 0 };
}

/** A JK-PB data frame header or a read request (`AA 10 16 1C|1E|20 00 01 02 00 00`) somewhere in the bytes. */
export function looksLikeBusTraffic(bytes: Buffer): boolean {
  if (bytes.indexOf(HEADER) !== -1) return true;
  const REQ = Buffer.from([0x10, 0x16]);
  for (let i = bytes.indexOf(REQ); i !== -1 && i + 7 < bytes.length; i = bytes.indexOf(REQ, i + 1)) {
    const r = bytes[i + 2]!;
    if ((r === 0x1c || r === 0x1e || r === 0x20) && bytes.readUInt32BE(i + 3) === 0x00010200 && bytes[i + 7] === 0) return true;
  }
  return false;
}

/**
 * Times for a raw stream: the bytes at wire speed (8N1), cut into pieces of about 1 ms of wire
 * time, back to back. A raw file has no times of its own; this is how fast they could arrive.
 */
export function paceRaw(data: Buffer, baud = 115200): CaptureChunk[] {
  const byteMs = 10_000 / baud;
  const per = Math.max(1, Math.round(1 / byteMs));
  const out: CaptureChunk[] = [];
  for (let i = 0; i < data.length; i += per) {
    const piece = data.subarray(i, i + per);
    out.push({ t: (i + piece.length) * byteMs, data: piece });
  }
  return out;
}

/**
 * The line timing of a recording, for a replay. A chunk of N bytes was N byte times on the
 * wire before it arrived; when it arrived later than that after the previous chunk, the
 * recorder was busy (or a TCP gateway held a packet back), and the line was not silent all that
 * time. So:
 *  - a chunk longer than `minMs` of wire time is spread over its wire time, in pieces of about
 *    1 ms, the last piece at the recorded time;
 *  - a chunk that completes a message begun in the previous chunks (a JK-PB sender never pauses
 *    inside a message) and would otherwise follow a silence of more than `pauseMs` — long
 *    enough for a bus engine to give the message up — is placed right after the previous chunk.
 *    A message that really broke off (a truncated frame: what follows does not complete it)
 *    keeps its silence.
 * Chunks shorter than `minMs` that follow normally keep their recorded times exactly.
 */
export function lineTiming(chunks: readonly CaptureChunk[], baud = 115200, minMs = 2, pauseMs = 20): CaptureChunk[] {
  const byteMs = 10_000 / baud;
  const per = Math.max(1, Math.round(1 / byteMs));
  const framer = new Framer();
  const out: CaptureChunk[] = [];
  let prev = -Infinity;
  for (const c of chunks) {
    const pending = framer.buffered > 0;
    const events = framer.push(c.data);
    const wireMs = c.data.length * byteMs;
    const silence = c.t - wireMs - prev;
    let start: number;
    let end = c.t;
    if (pending && silence > pauseMs && events.length > 0 && events[0]!.type !== 'discard') {
      start = prev;
      end = prev + wireMs;
    } else if (wireMs > minMs && c.t - prev > 0) {
      start = Math.max(prev, c.t - wireMs);
    } else {
      out.push(c);
      prev = c.t;
      continue;
    }
    const n = Math.ceil(c.data.length / per);
    for (let k = 0; k < n; k++) {
      const data = c.data.subarray(k * per, (k + 1) * per);
      out.push({ t: k === n - 1 ? end : start + ((k + 1) * per * (end - start)) / c.data.length, data });
    }
    prev = end;
  }
  return out;
}

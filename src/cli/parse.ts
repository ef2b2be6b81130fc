import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { decodeFrame } from '../protocol/decode';
import { Framer, type FramerEvent } from '../protocol/framer';
import { settingsForRegister } from '../protocol/settings';
import { CaptureDecoder, CaptureError } from '../transport/capture';
import { parseHex, toJson } from './hex';

const EXCEPTIONS: Record<number, string> = {
  1: 'illegal function',
  2: 'illegal register',
  3: 'illegal data value',
  4: 'device failure / CRC error',
};

const reg = (r: number) => `0x${r.toString(16).padStart(4, '0')}`;

export interface ParseSummary {
  bytes: number;
  frames: Record<string, number>;
  framesByAddress: Record<string, number>;
  triggers: number;
  writes: number;
  acks: number;
  exceptions: number;
  discarded: Record<string, number> & { bytes: number };
  /** 'capture' (a .jkcap file with times), 'raw' (bytes only) or 'hex' (hex text). */
  format?: 'capture' | 'raw' | 'hex';
  /** Captures: the recording's start (ISO time), its length in ms, and the bytes of a record cut short at the end. */
  startedAt?: string;
  durationMs?: number;
  truncatedBytes?: number;
}

/** One event as the JSON object `jkbms parse` prints. */
export function eventToJson(e: FramerEvent): Record<string, unknown> {
  switch (e.type) {
    case 'frame':
      return { event: 'frame', kind: e.kind, address: e.address, addressFrom: e.addressFrom, tail: e.tail, payload: decodeFrame(e.frame, e.address) };
    case 'trigger':
      return { event: 'trigger', address: e.address, kind: e.kind, register: reg(e.register) };
    case 'write':
      return {
        event: 'write',
        address: e.address,
        register: reg(e.register),
        quantity: e.quantity,
        value: e.value,
        settings: settingsForRegister(e.register).map((d) => d.name),
      };
    case 'ack':
      return { event: 'ack', address: e.address, register: reg(e.register), quantity: e.quantity };
    case 'exception':
      return { event: 'exception', address: e.address, function: e.functionCode, code: e.code, meaning: EXCEPTIONS[e.code] ?? 'unknown' };
    case 'discard':
      return { event: 'discard', reason: e.reason, length: e.bytes.length, hex: e.bytes.toString('hex') };
  }
}

export class StreamParser {
  private readonly framer = new Framer();
  readonly summary: ParseSummary = {
    bytes: 0,
    frames: { live: 0, settings: 0, info: 0 },
    framesByAddress: {},
    triggers: 0,
    writes: 0,
    acks: 0,
    exceptions: 0,
    discarded: { bytes: 0 },
  };

  push(chunk: Uint8Array): FramerEvent[] {
    this.summary.bytes += chunk.length;
    return this.count(this.framer.push(chunk));
  }

  end(): FramerEvent[] {
    return this.count(this.framer.flush());
  }

  private count(events: FramerEvent[]): FramerEvent[] {
    const s = this.summary;
    for (const e of events) {
      if (e.type === 'frame') {
        s.frames[e.kind] = (s.frames[e.kind] ?? 0) + 1;
        const k = String(e.address);
        s.framesByAddress[k] = (s.framesByAddress[k] ?? 0) + 1;
      } else if (e.type === 'trigger') s.triggers++;
      else if (e.type === 'write') s.writes++;
      else if (e.type === 'ack') s.acks++;
      else if (e.type === 'exception') s.exceptions++;
      else {
        s.discarded.bytes += e.bytes.length;
        s.discarded[e.reason] = (s.discarded[e.reason] ?? 0) + e.bytes.length;
      }
    }
    return events;
  }
}

async function readAll(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of stream) parts.push(Buffer.isBuffer(c) ? c : Buffer.from(c as string));
  return Buffer.concat(parts);
}

/**
 * `jkbms parse [FILE|-] [--hex]`: a capture file (.jkcap, written by `jkbms monitor --record`
 * and the bus node's recording), a raw byte stream (older recordings), or hex text with --hex.
 * One JSON line per event — for captures with `t`, ms since the start of the recording, of the
 * chunk that completed it — then `{"summary": {...}}`.
 */
export async function main(argv: string[]): Promise<number> {
  const hex = argv.includes('--hex');
  const files = argv.filter((a) => !a.startsWith('--') || a === '-');
  const unknown = argv.filter((a) => a.startsWith('--') && a !== '--hex');
  if (files.length > 1 || unknown.length) {
    process.stderr.write('usage: jkbms parse [FILE|-] [--hex]\n');
    return 2;
  }
  const file = files[0] ?? '-';
  const input: Readable = file === '-' ? process.stdin : createReadStream(file);
  const parser = new StreamParser();
  const out = (events: FramerEvent[], t?: number) => {
    for (const e of events) {
      const line = eventToJson(e);
      process.stdout.write(`${toJson(t === undefined || Number.isNaN(t) ? line : { t: Math.round(t * 1000) / 1000, ...line })}\n`);
    }
  };
  const decoder = new CaptureDecoder();
  let lastT = 0;
  try {
    if (hex) {
      parser.summary.format = 'hex';
      out(parser.push(parseHex((await readAll(input)).toString('utf8'))));
    } else {
      for await (const chunk of input) {
        for (const c of decoder.push(chunk as Buffer)) {
          if (!Number.isNaN(c.t)) lastT = c.t;
          out(parser.push(c.data), c.t);
        }
      }
      parser.summary.format = decoder.format ?? 'raw';
      if (decoder.header) {
        parser.summary.startedAt = new Date(decoder.header.startedAt).toISOString();
        parser.summary.durationMs = Math.round(lastT * 1000) / 1000;
        parser.summary.truncatedBytes = decoder.truncatedBytes;
      }
    }
    out(parser.end(), decoder.format === 'capture' ? lastT : undefined);
  } catch (err) {
    const why = err instanceof CaptureError ? `${file}: ${err.message}` : err instanceof Error ? err.message : String(err);
    process.stderr.write(`jkbms parse: ${why}\n`);
    return 1;
  }
  if (decoder.truncatedBytes) process.stderr.write(`jkbms parse: the last record of the capture is cut short (${decoder.truncatedBytes} bytes ignored)\n`);
  process.stdout.write(`${toJson({ summary: parser.summary })}\n`);
  return 0;
}

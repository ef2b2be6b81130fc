import { FRAME_LEN, HEADER, KIND_REGISTER, MAX_ADDRESS, kindForFrameType } from './constants';
import { sum8 } from './crc';
import { WAIT, ackPrefix, headerMatches, innerMessageStart, isAck, shortFrameStep, sliceAt, tailForms, type Step } from './frame-shapes';
import type { DataFrameEvent, DiscardReason, FramerEvent } from './framer-events';

/**
 * Streaming framer for the JK-PB RS485-2 bus (docs/protocol.md §2.1, §2.4, §2.8).
 *
 * Feed it chunks of any size — one byte at a time, or many frames at once as a TCP gateway
 * delivers them — and get typed events in wire order. A message is emitted only when its
 * checksums hold, and the moment its last byte arrives: there is no silence timeout inside
 * the framer. The one case where "last byte" is only known later (a 300-byte data frame whose
 * 8-byte acknowledgement tail is missing) is resolved by the next byte that cannot start the
 * tail, or by `flush()` when the caller sees the line go quiet.
 *
 * Pure and total: no I/O, no timers, never throws, retained bytes are bounded (≤ 309 plus
 * whatever a single push brings). The events do not depend on how the input is chunked.
 *
 * The events are in framer-events.ts; what a run of bytes is (short frames, the tail of a
 * data frame) is decided in frame-shapes.ts. This file keeps the stream: buffer, pending frame,
 * echo and the runs of discarded bytes.
 */

export type * from './framer-events';

export interface FramerOptions {
  /** Upper bound of retained bytes between pushes (default 4096). */
  maxBuffer?: number;
}

const DISCARD_RUN = 4096;

export class Framer {
  private buf: Buffer = Buffer.alloc(1024);
  private r = 0;
  private w = 0;
  private readonly maxBuffer: number;
  /** A checksum-valid data frame waiting to see whether its tail follows. */
  private pending: Buffer | null = null;
  /** After a padded (310-byte) answer, one trailing 0x00 belongs to it. */
  private swallowPad = false;
  private echo: Buffer | null = null;
  private echoPos = 0;
  private discardReason: DiscardReason | null = null;
  private discardBytes: number[] = [];

  constructor(opts: FramerOptions = {}) {
    this.maxBuffer = Math.max(512, opts.maxBuffer ?? 4096);
  }

  /** Bytes held back (an incomplete message). */
  get buffered(): number {
    return this.w - this.r + (this.pending ? FRAME_LEN : 0);
  }

  push(chunk: Uint8Array): FramerEvent[] {
    const out: FramerEvent[] = [];
    try {
      if (chunk && chunk.length) this.append(chunk);
      this.parse(out, false);
      this.bound(out);
    } catch {
      // Unreachable by design; if it ever happens, drop the state rather than throw into an event handler.
      this.reset();
    }
    return out;
  }

  /** The line went quiet: release a frame waiting for its tail and discard incomplete bytes. */
  flush(): FramerEvent[] {
    const out: FramerEvent[] = [];
    try {
      this.parse(out, true);
    } catch {
      this.reset();
    }
    this.flushDiscard(out);
    return out;
  }

  /**
   * We are about to transmit `sent`: if the adapter echoes it back (all of it, or a prefix of
   * it, CH341-style), those bytes are discarded as 'echo' instead of being parsed. The
   * expectation applies only to the very next bytes received.
   */
  expectEcho(sent: Uint8Array): void {
    this.echo = sent.length ? Buffer.from(sent) : null;
    this.echoPos = 0;
  }

  reset(): void {
    this.r = 0;
    this.w = 0;
    this.pending = null;
    this.swallowPad = false;
    this.echo = null;
    this.echoPos = 0;
    this.discardReason = null;
    this.discardBytes = [];
  }

  // ---------------------------------------------------------------------------------------

  private append(chunk: Uint8Array): void {
    const n = this.w - this.r;
    if (this.w + chunk.length > this.buf.length) {
      if (n + chunk.length <= this.buf.length) {
        this.buf.copy(this.buf, 0, this.r, this.w);
      } else {
        const nb = Buffer.allocUnsafe(Math.max(this.buf.length * 2, n + chunk.length));
        this.buf.copy(nb, 0, this.r, this.w);
        this.buf = nb;
      }
      this.r = 0;
      this.w = n;
    }
    this.buf.set(chunk, this.w);
    this.w += chunk.length;
  }

  /** Keep memory bounded: shrink a buffer grown by a huge chunk; never retain more than maxBuffer. */
  private bound(out: FramerEvent[]): void {
    const n = this.w - this.r;
    if (n > this.maxBuffer) {
      const drop = n - this.maxBuffer;
      this.discard(out, 'noise', drop);
    }
    if (this.buf.length > 65536 && this.w - this.r < 4096) {
      const nb = Buffer.alloc(4096);
      this.buf.copy(nb, 0, this.r, this.w);
      this.w -= this.r;
      this.r = 0;
      this.buf = nb;
    }
  }

  private parse(out: FramerEvent[], final: boolean): void {
    for (;;) {
      if (this.pending) {
        if (!this.resolvePending(out, final)) return;
        continue;
      }
      const n = this.w - this.r;
      if (n === 0) return;
      if (this.swallowPad) {
        this.swallowPad = false;
        if (this.buf[this.r] === 0) {
          this.r++;
          continue;
        }
      }
      if (this.echo) {
        if (this.buf[this.r] === this.echo[this.echoPos]) {
          this.discard(out, 'echo', 1);
          if (++this.echoPos >= this.echo.length) this.echo = null;
          continue;
        }
        this.echo = null;
      }
      const step = this.step(final);
      switch (step.kind) {
        case 'wait':
          return;
        case 'skip':
          this.discard(out, step.reason, step.count);
          break;
        case 'pending':
          this.pending = step.frame;
          this.r += FRAME_LEN;
          break;
        case 'event':
          this.flushDiscard(out);
          out.push(step.event);
          this.r += step.consume;
          break;
      }
    }
  }

  private at(i: number): number {
    return this.buf[this.r + i]!;
  }

  private slice(start: number, end: number): Buffer {
    return sliceAt(this.buf, this.r, start, end);
  }

  /** Decide what the bytes at the buffer start are. */
  private step(final: boolean): Step {
    const n = this.w - this.r;
    const b0 = this.at(0);
    if (b0 === HEADER[0]) return this.dataFrameStep(n, final);
    if (b0 <= MAX_ADDRESS) return shortFrameStep(this.buf, this.r, 0, n, final);
    return { kind: 'skip', reason: 'noise', count: 1 };
  }

  private dataFrameStep(n: number, final: boolean): Step {
    if (!headerMatches(this.buf, this.r, 0, n)) return { kind: 'skip', reason: 'noise', count: 1 };
    if (n < FRAME_LEN) {
      if (!final) return WAIT;
      const k = this.nextStart(1, n, n, true);
      return { kind: 'skip', reason: n < HEADER.length ? 'noise' : 'truncated', count: k };
    }
    const type = this.at(4);
    const sumOk = this.at(FRAME_LEN - 1) === sum8(this.buf, this.r, this.r + FRAME_LEN - 1);
    if (sumOk && kindForFrameType(type)) {
      // sum8 alone passes 1 time in 256 by chance: a truncated answer followed by the next poll
      // would then become a false frame. A real frame never contains the start of another
      // message, so one inside the window means truncation (never seen in any real capture).
      const inner = innerMessageStart(this.buf, this.r);
      if (inner < 0) return { kind: 'pending', frame: this.slice(0, FRAME_LEN) };
      return { kind: 'skip', reason: 'truncated', count: inner };
    }
    // Corrupted: a whole frame with its tail goes at once; otherwise resync on the next message start.
    if (n < FRAME_LEN + 8 && !final && ackPrefix(this.buf, this.r, FRAME_LEN, n)) return WAIT;
    if (n >= FRAME_LEN + 8 && isAck(this.buf, this.r, FRAME_LEN, true)) {
      return { kind: 'skip', reason: 'bad-sum8', count: FRAME_LEN + 8 };
    }
    // Resync: the window is 300 bytes whatever the chunking, so the outcome is too.
    const k = this.nextStart(1, FRAME_LEN, n, final);
    if (k < 0) return WAIT;
    return { kind: 'skip', reason: k < FRAME_LEN ? 'truncated' : 'bad-sum8', count: k };
  }

  /**
   * First position in [from, end) where a message starts: a data-frame header or a complete
   * checksum-valid short frame (bytes up to n are available). Returns end when there is none, and -1 when the first candidate
   * is still arriving (a partial header or short frame at the end) — the caller then waits, so
   * the outcome never depends on where the input was chunked. With `final`, nothing is waited for.
   */
  private nextStart(from: number, end: number, n: number, final: boolean): number {
    for (let i = from; i < end; i++) {
      const c = this.at(i);
      if (c === HEADER[0] && headerMatches(this.buf, this.r, i, n)) {
        if (i + HEADER.length <= n) return i;
        if (!final) return -1;
        continue;
      }
      if (c <= MAX_ADDRESS) {
        const s = shortFrameStep(this.buf, this.r, i, n, final);
        if (s.kind === 'event') return i;
        if (s.kind === 'wait') return -1;
      }
    }
    return end;
  }

  /** Emit the pending frame once its tail is known (or known to be missing). Returns false to wait. */
  private resolvePending(out: FramerEvent[], final: boolean): boolean {
    const frame = this.pending!;
    const n = this.w - this.r;
    const a = (k: number) => this.at(k);
    // The tail acknowledges the trigger of this frame's kind (true in every real capture).
    const ownLo = KIND_REGISTER[kindForFrameType(frame[4]!)!] & 0xff;
    const { ack, padded } = tailForms(this.buf, this.r, n, ownLo);

    let tail: DataFrameEvent['tail'] = 'none';
    let consume = 0;
    let address: number | null = null;
    if (ack && n >= 8) {
      tail = 'ack';
      consume = 8;
      address = a(0);
    } else if (padded && n >= 9) {
      tail = 'padded';
      consume = 9;
      address = a(1);
    } else if ((ack || padded) && !final) {
      return false;
    }

    const frameType = frame[4] as 1 | 2 | 3;
    let addressFrom: DataFrameEvent['addressFrom'] = address === null ? 'none' : 'tail';
    if (address === null && frameType === 1 && frame[270]! <= MAX_ADDRESS) {
      address = frame[270]!;
      addressFrom = 'devaddr';
    }
    const bytes = consume ? Buffer.concat([frame, this.slice(0, consume)]) : frame;
    this.flushDiscard(out);
    out.push({ type: 'frame', frameType, kind: kindForFrameType(frameType)!, address, addressFrom, tail, frame, bytes });
    this.r += consume;
    this.pending = null;
    if (tail === 'padded') this.swallowPad = true;
    return true;
  }

  /**
   * Discarded bytes are reported in runs (one event per run of the same reason), emitted before
   * the next message or at flush(), and at the latest every DISCARD_RUN bytes — so the events do
   * not depend on how the input was chunked.
   */
  private discard(out: FramerEvent[], reason: DiscardReason, count: number): void {
    if (this.discardReason !== reason) this.flushDiscard(out);
    this.discardReason = reason;
    for (let k = 0; k < count; k++) {
      this.discardBytes.push(this.buf[this.r + k]!);
      if (this.discardBytes.length >= DISCARD_RUN) {
        this.flushDiscard(out);
        this.discardReason = reason;
      }
    }
    this.r += count;
  }

  private flushDiscard(out: FramerEvent[]): void {
    if (this.discardReason && this.discardBytes.length) {
      out.push({ type: 'discard', reason: this.discardReason, bytes: Buffer.from(this.discardBytes) });
    }
    this.discardReason = null;
    this.discardBytes = [];
  }
}

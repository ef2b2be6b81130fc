import { Framer, type FramerEvent } from '../protocol/framer';
import type { TimerHandle } from '../common/clock';
import type { EngineContext } from './context';

/** A tail-less frame is released after this much line silence (TCP gateways split frames a few ms apart). */
export const FLUSH_AFTER_MS = 25;
/** A trigger identical to our last transmission arriving this soon after it is our own echo. */
export const ECHO_WINDOW_MS = 30;

/** A framer event with the clock times it occupied the wire. */
export interface TimedEvent {
  event: FramerEvent;
  /** First and last byte, estimated from the chunk's arrival and the byte time. */
  start: number;
  end: number;
  /** When the event's last byte was handed to us (the chunk's arrival, or the last byte before a flush). */
  now: number;
}

/**
 * The receive timeline: every byte goes through one protocol Framer, and every framer event
 * gets the times it occupied the wire. It also knows our own last transmission, to recognise
 * its echo, and releases what the framer holds once the line has been quiet (FLUSH_AFTER_MS).
 *
 * Owns: the framer, the stream positions, the time of the last byte heard (`lastRxAt`), our
 * last transmission, and the flush timer.
 */
export class ReceiveTimeline {
  private readonly framer = new Framer();
  /** Stream bookkeeping for the end time of each framer event inside a chunk. */
  private rxTotal = 0;
  private consumed = 0;
  private lastRx = -Infinity;
  private lastTx: { bytes: Buffer; end: number } | null = null;
  private flushTimer: TimerHandle | null = null;
  /** Bumped by every reset and stop: a flush decision pending from before is void. */
  private flushEpoch = 0;

  /** `onFlush`: the events released because the line went quiet. */
  constructor(
    private readonly ctx: EngineContext,
    private readonly onFlush: (events: TimedEvent[]) => void,
  ) {}

  /** Clock time the last byte that was not our own echo arrived. */
  get lastRxAt(): number {
    return this.lastRx;
  }

  /** Bytes held by the framer (an incomplete message). */
  get buffered(): number {
    return this.framer.buffered;
  }

  /**
   * A chunk arrived at `now`. Returns its framer events with their wire times, and whether it
   * carried anything besides our own echo.
   */
  push(chunk: Buffer, now: number): { events: TimedEvent[]; heard: boolean } {
    this.ctx.counters.add('bytesReceived', chunk.length);
    this.rxTotal += chunk.length;
    const raw = this.framer.push(chunk);
    let echoBytes = 0;
    for (const e of raw) if (e.type === 'discard' && e.reason === 'echo') echoBytes += e.bytes.length;
    const heard = chunk.length > echoBytes;
    if (heard) this.lastRx = now;
    let pos = this.consumed;
    const events = raw.map((event): TimedEvent => {
      pos += event.bytes.length;
      const end = Math.min(now, now - (this.rxTotal - pos) * this.ctx.byteMs);
      return { event, start: end - event.bytes.length * this.ctx.byteMs, end, now };
    });
    this.consumed = this.rxTotal - this.framer.buffered;
    return { events, heard };
  }

  /** After handling a chunk: a partial message waits for its rest or for the line to go quiet. */
  armFlush(): void {
    if (this.flushTimer || this.framer.buffered === 0) return;
    const due = this.lastRx + FLUSH_AFTER_MS - this.ctx.clock.now();
    this.flushTimer = this.ctx.after(Math.max(1, due), () => {
      this.flushTimer = null;
      if (this.framer.buffered === 0) return;
      if (this.ctx.clock.now() - this.lastRx < FLUSH_AFTER_MS - 1e-6) {
        this.armFlush();
        return;
      }
      // Quiet as far as we know — but after a busy spell of the event loop, bytes may be waiting
      // unread: let pending input in first, then decide.
      const heard = this.lastRx;
      const epoch = ++this.flushEpoch;
      this.ctx.afterPendingInput(() => {
        if (epoch !== this.flushEpoch || this.framer.buffered === 0) return;
        if (this.lastRx !== heard) this.armFlush();
        else this.flushNow();
      });
    });
  }

  /** The line went quiet: a frame whose tail never came is released, partial bytes dropped. */
  private flushNow(): void {
    const at = this.lastRx;
    const events = this.framer.flush().map((event): TimedEvent => ({ event, start: at - event.bytes.length * this.ctx.byteMs, end: at, now: at }));
    this.consumed = this.rxTotal - this.framer.buffered;
    this.onFlush(events);
  }

  /** We are about to send `bytes` and expect their echo (reads only, see the engine). */
  expectEcho(bytes: Buffer): void {
    this.framer.expectEcho(bytes);
  }

  /** We sent `bytes`; their last byte leaves at `end`. */
  sent(bytes: Buffer, end: number): void {
    this.lastTx = { bytes, end };
  }

  /** A trigger or write identical to our last transmission, heard right after it: our echo. */
  isOwnEcho(bytes: Buffer, now: number): boolean {
    const tx = this.lastTx;
    return !!tx && now - tx.end <= ECHO_WINDOW_MS && bytes.equals(tx.bytes);
  }

  /**
   * A prefix of our own last transmission (CH341-style partial echo) that the framer could not
   * be told about in advance (writes: their acknowledgement starts with the same bytes).
   */
  isEchoPrefix(bytes: Buffer, now: number): boolean {
    const tx = this.lastTx;
    return !!tx && now - tx.end <= ECHO_WINDOW_MS && bytes.length <= tx.bytes.length && tx.bytes.subarray(0, bytes.length).equals(bytes);
  }

  /** The link came up (`now`) or went down (undefined): start a fresh stream. */
  reset(now?: number): void {
    this.stop();
    this.framer.reset();
    this.rxTotal = this.consumed = 0;
    if (now !== undefined) this.lastRx = now;
  }

  /** Stop the flush timer (engine stopped or every job aborted). */
  stop(): void {
    this.ctx.cancel(this.flushTimer);
    this.flushTimer = null;
    this.flushEpoch += 1;
  }
}

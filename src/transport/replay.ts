import { promises as fsp } from 'node:fs';
import type { TimerHandle } from '../common/clock';
import { CaptureError, paceRaw, parseCapture, lineTiming, type CaptureChunk, type CaptureHeader } from './capture';
import { ReconnectingTransport, type LinkOptions } from './reconnecting';

/**
 * A transport that plays a capture file (src/transport/capture.ts) into the bus engine with its
 * recorded timing, on the injected clock: each chunk is delivered when its time, divided by
 * `speed`, has passed since the replay started. Raw files (no times) play at wire speed.
 *
 * It never transmits: write() always returns false, so run the engine in listen mode. A file
 * that cannot be read or is not a capture is reported ('error', once per message) and tried
 * again with the usual reconnect backoff, so a file put in place later is picked up. The end
 * of a replay emits 'end' ({ chunks, bytes, durationMs }); with `loop` it starts over after
 * LOOP_PAUSE_MS. reopen() (the engine's watchdog) does nothing: a file never hangs.
 */

export interface ReplayTransportOptions extends LinkOptions {
  /** Path of the capture file. */
  file: string;
  /** Start over after the end (default false). */
  loop?: boolean;
  /** Playback speed factor, e.g. 1 or 10 (default 1). */
  speed?: number;
  /** Baud rate the engine assumes for byte times, and the pace of raw files (default 115200). */
  baudRate?: number;
}

/** Files larger than this are refused (recordings are bounded to a few MB). */
export const MAX_REPLAY_BYTES = 256 * 1024 * 1024;
/** A chunk due this soon (ms) is delivered at once: timers have 1 ms resolution. */
const EARLY_MS = 0.5;
/** Pause between the end of a looped replay and its next start, ms of capture time. */
export const LOOP_PAUSE_MS = 1000;

export interface ReplayInfo {
  format: 'capture' | 'raw';
  header: CaptureHeader | null;
  chunks: number;
  bytes: number;
  /** Capture time from the start to the last chunk, ms. */
  durationMs: number;
  truncatedBytes: number;
}

export class ReplayTransport extends ReconnectingTransport {
  readonly kind = 'replay';
  readonly description: string;
  readonly file: string;
  readonly loop: boolean;
  readonly speed: number;
  readonly baudRate: number;
  /** What the loaded file holds (null until loaded). */
  info: ReplayInfo | null = null;
  /** Completed passes through the file. */
  passes = 0;
  private chunks: CaptureChunk[] = [];
  private next = 0;
  private startedAt = 0;
  private playTimer: TimerHandle | null = null;
  private playing = false;

  constructor(options: ReplayTransportOptions) {
    super(options);
    if (typeof options.file !== 'string' || options.file.trim() === '') throw new TypeError('replay: a capture file path is required');
    const speed = options.speed ?? 1;
    if (!Number.isFinite(speed) || speed <= 0 || speed > 1000) throw new RangeError(`replay speed must be a number above 0 and at most 1000, got ${String(options.speed)}`);
    const baud = options.baudRate ?? 115200;
    if (!Number.isInteger(baud) || baud < 300 || baud > 4_000_000) throw new RangeError(`replay baud rate must be an integer 300–4000000, got ${String(options.baudRate)}`);
    this.file = options.file.trim();
    this.loop = options.loop === true;
    this.speed = speed;
    this.baudRate = baud;
    this.description = `replay of ${this.file}${speed !== 1 ? ` ×${speed}` : ''}`;
  }

  /** Never: a replayed bus is listen-only. */
  override reopen(): void {
    // A file does not hang; restarting the replay would only repeat it.
  }

  protected async connectLink(): Promise<void> {
    const loaded = await loadReplay(this.file, this.baudRate);
    this.chunks = loaded.chunks;
    this.info = loaded.info;
    this.passes = 0;
    // Start after the link is up (the engine attaches on 'open').
    this.playing = true;
    this.startPass(0);
  }

  protected async releaseLink(): Promise<void> {
    this.playing = false;
    this.clock.clearTimeout(this.playTimer);
    this.playTimer = null;
  }

  protected send(): boolean {
    return false;
  }

  private startPass(delayMs: number): void {
    this.next = 0;
    const first = this.chunks[0]?.t ?? 0;
    // The first chunk comes `delayMs` plus its own offset into the capture (at most 1 s) from now.
    const lead = Math.min(first, 1000);
    this.startedAt = this.clock.now() + delayMs + (lead - first) / this.speed;
    this.schedule();
  }

  private schedule(): void {
    if (!this.playing) return;
    const c = this.chunks[this.next];
    if (!c) {
      this.passes += 1;
      const info = this.info!;
      this.emit('end', { chunks: info.chunks, bytes: info.bytes, durationMs: info.durationMs, passes: this.passes });
      if (this.loop && this.chunks.length) this.startPass(LOOP_PAUSE_MS / this.speed);
      return;
    }
    const due = this.startedAt + c.t / this.speed;
    this.playTimer = this.clock.setTimeout(() => this.play(), Math.max(0, due - this.clock.now()));
  }

  private play(): void {
    this.playTimer = null;
    if (!this.playing) return;
    const now = this.clock.now();
    // Every chunk that is due (a late timer delivers the backlog in order, one chunk each). Timers
    // have 1 ms resolution: a chunk due within EARLY_MS goes now rather than a whole tick late.
    while (this.playing && this.next < this.chunks.length && this.startedAt + this.chunks[this.next]!.t / this.speed <= now + EARLY_MS) {
      this.deliver(this.chunks[this.next++]!.data);
    }
    this.schedule();
  }
}

/** Read and check a capture file for replay; throws an Error that says what is wrong with it. */
export async function loadReplay(file: string, baudRate = 115200): Promise<{ chunks: CaptureChunk[]; info: ReplayInfo }> {
  let data: Buffer;
  try {
    const st = await fsp.stat(file);
    if (st.isDirectory()) throw new Error('it is a folder, not a capture file');
    if (st.size > MAX_REPLAY_BYTES) throw new Error(`it is too large to replay (${Math.round(st.size / 1e6)} MB; at most ${MAX_REPLAY_BYTES / (1024 * 1024)} MiB)`);
    data = await fsp.readFile(file);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why =
      e.code === 'ENOENT' ? 'no such file' : e.code === 'EACCES' || e.code === 'EPERM' ? 'permission denied' : e.code === 'EISDIR' ? 'it is a folder, not a capture file' : e.message;
    throw new Error(`cannot read the capture ${file}: ${why}`, { cause: err });
  }
  let parsed;
  try {
    parsed = parseCapture(data);
  } catch (err) {
    throw new Error(`cannot replay ${file}: ${err instanceof CaptureError ? err.message : String(err)}`, { cause: err });
  }
  const chunks = parsed.format === 'raw' ? paceRaw(parsed.chunks[0]!.data, baudRate) : lineTiming(parsed.chunks, baudRate);
  if (!chunks.length) throw new Error(`cannot replay ${file}: the capture holds no received bytes`);
  const bytes = chunks.reduce((n, c) => n + c.data.length, 0);
  return {
    chunks,
    info: {
      format: parsed.format,
      header: parsed.header,
      chunks: chunks.length,
      bytes,
      durationMs: chunks[chunks.length - 1]!.t,
      truncatedBytes: parsed.truncatedBytes,
    },
  };
}

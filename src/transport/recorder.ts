import { EventEmitter } from 'node:events';
import { promises as fsp } from 'node:fs';
import { dirname, extname } from 'node:path';
import { realClock, type Clock, type TimerHandle } from '../common/clock';
import { CaptureEncoder, encodeCaptureHeader, RECORD_HEADER_LEN } from './capture';

/**
 * Records what a transport receives into a capture file (src/transport/capture.ts), bounded:
 * when the file would grow past `maxBytes` it is rotated (`bus.jkcap` → `bus.1.jkcap` → …, the
 * oldest beyond `keep` deleted) and a fresh file with its own header goes on. A recording that
 * starts over an existing non-empty file rotates it first, so a redeploy keeps the previous one.
 *
 * Never throws and never blocks the bus: chunks are stamped on arrival and written in batches
 * (one write in flight, at most MAX_PENDING bytes waiting; beyond that chunks are dropped and
 * counted). Any file error (a bad path, a full disk) stops the recording with one 'error' event
 * naming the file; the transport and the bus go on.
 *
 *   const rec = new CaptureRecorder({ file, maxBytes: 5e6, meta: { source: t.description } });
 *   rec.on('error', (err) => ...);
 *   const untap = rec.tap(transport);      // every 'data' chunk from now on
 *   await rec.start();                     // resolves true when recording, false when it failed
 *   ... untap(); await rec.stop();         // flushes and closes
 */

export type RecorderState = 'idle' | 'opening' | 'recording' | 'failed' | 'stopped';

export interface RecorderOptions {
  /** Path of the capture file. */
  file: string;
  /** Create missing folders of the path (default true). */
  mkdir?: boolean;
  /** Rotate before the file grows past this many bytes; 0 = no limit. Default 5 MB. */
  maxBytes?: number;
  /** Rotated files kept beside the current one (default 2). */
  keep?: number;
  /** Written into each file's header. */
  meta?: Record<string, unknown>;
  clock?: Clock;
  /** How often waiting chunks are written, ms (default 250). */
  flushMs?: number;
}

export interface RecorderStatus {
  state: RecorderState;
  file: string;
  /** Bytes in the current file. */
  bytes: number;
  /** Bytes written over all files of this recording. */
  totalBytes: number;
  rotations: number;
  /** Chunks dropped because the disk could not keep up. */
  dropped: number;
  error: string | null;
}

export const DEFAULT_RECORD_BYTES = 5_000_000;
/** Chunks waiting for the disk beyond this many bytes are dropped. */
const MAX_PENDING = 4_000_000;

/** `dir/bus.jkcap`, n → `dir/bus.n.jkcap` (`dir/bus` → `dir/bus.n`). */
export function rotatedName(file: string, n: number): string {
  const ext = extname(file);
  return ext ? `${file.slice(0, -ext.length)}.${n}${ext}` : `${file}.${n}`;
}

const FS_ERRORS: Record<string, string> = {
  ENOSPC: 'the disk is full',
  EDQUOT: 'the disk quota is used up',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EROFS: 'the file system is read-only',
  ENOENT: 'the folder does not exist',
  ENOTDIR: 'a part of the path is a file, not a folder',
  EISDIR: 'it is a folder; give a file name',
  EIO: 'input/output error',
};

/** A file error in words, with its code: "the disk is full (ENOSPC)". */
function errorText(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  if (code && FS_ERRORS[code]) return `${FS_ERRORS[code]} (${code})`;
  return err instanceof Error ? err.message : String(err);
}

export class CaptureRecorder extends EventEmitter {
  readonly file: string;
  private readonly maxBytes: number;
  private readonly keep: number;
  private readonly meta: Record<string, unknown>;
  private readonly clock: Clock;
  private readonly flushMs: number;
  private readonly mkdir: boolean;
  private stateValue: RecorderState = 'idle';
  private handle: fsp.FileHandle | null = null;
  private regular = true;
  private encoder = new CaptureEncoder();
  /** Clock time and epoch ms of the recording's origin. */
  private t0 = 0;
  private epoch0 = 0;
  /** Clock time the current file's header stands for. */
  private fileT0 = 0;
  private pending: { t: number; data: Buffer }[] = [];
  private pendingBytes = 0;
  private timer: TimerHandle | null = null;
  private writing: Promise<void> = Promise.resolve();
  private bytes = 0;
  private headerBytes = 0;
  private totalBytes = 0;
  private rotations = 0;
  private dropped = 0;
  private lastError: string | null = null;

  constructor(options: RecorderOptions) {
    super();
    this.on('error', () => undefined);
    if (typeof options.file !== 'string' || options.file.trim() === '') throw new TypeError('a recording needs a file path');
    const maxBytes = options.maxBytes ?? DEFAULT_RECORD_BYTES;
    if (!Number.isFinite(maxBytes) || maxBytes < 0) throw new RangeError(`recording size limit must be ≥ 0 bytes, got ${String(options.maxBytes)}`);
    const keep = options.keep ?? 2;
    if (!Number.isInteger(keep) || keep < 0 || keep > 100) throw new RangeError(`rotated recordings kept must be 0–100, got ${String(options.keep)}`);
    this.file = options.file;
    this.maxBytes = maxBytes;
    this.keep = keep;
    this.meta = options.meta ?? {};
    this.clock = options.clock ?? realClock;
    this.flushMs = options.flushMs ?? 250;
    this.mkdir = options.mkdir !== false;
  }

  get state(): RecorderState {
    return this.stateValue;
  }

  status(): RecorderStatus {
    return {
      state: this.stateValue,
      file: this.file,
      bytes: this.bytes,
      totalBytes: this.totalBytes,
      rotations: this.rotations,
      dropped: this.dropped,
      error: this.lastError,
    };
  }

  /** Record every chunk a transport delivers ('data' events) from now on; returns the function that stops it. */
  tap(transport: Pick<EventEmitter, 'on' | 'off'>): () => void {
    const onData = (chunk: Buffer): void => this.write(chunk);
    transport.on('data', onData);
    return () => transport.off('data', onData);
  }

  /** Open the file (rotating an existing one). Resolves true when recording; false after an 'error'. */
  async start(): Promise<boolean> {
    if (this.stateValue !== 'idle') return this.stateValue === 'recording';
    this.stateValue = 'opening';
    this.t0 = this.clock.now();
    this.epoch0 = Date.now();
    // In the write chain, so a stop() meanwhile closes the file only after it was opened.
    const opened = this.writing.then(async () => {
      try {
        if (this.mkdir) {
          await fsp.mkdir(dirname(this.file), { recursive: true }).catch((err: NodeJS.ErrnoException) => {
            // mkdir -p says EEXIST when a part of the path is a file.
            throw err.code === 'EEXIST' ? Object.assign(new Error(err.message), { code: 'ENOTDIR' }) : err;
          });
        }
        const st = await fsp.stat(this.file).catch((err: NodeJS.ErrnoException) => {
          if (err.code === 'ENOENT') return null;
          throw err;
        });
        if (st?.isDirectory()) throw new Error('it is a folder; give a file name');
        this.regular = !st || st.isFile();
        if (st && this.regular && st.size > 0) await this.rotateFiles();
        await this.openFile(this.clock.now());
        return true;
      } catch (err) {
        this.fail(err);
        return false;
      }
    });
    this.writing = opened.then(() => undefined);
    if (!(await opened) || this.stateValue !== 'opening') return false;
    this.stateValue = 'recording';
    this.schedule();
    return true;
  }

  /** A received chunk, stamped now. Ignored unless opening or recording. */
  write(chunk: Buffer): void {
    if (this.stateValue !== 'recording' && this.stateValue !== 'opening') return;
    if (!chunk.length) return;
    if (this.pendingBytes + chunk.length > MAX_PENDING) {
      this.dropped += 1;
      return;
    }
    this.pending.push({ t: this.clock.now(), data: Buffer.from(chunk) });
    this.pendingBytes += chunk.length;
    this.schedule();
  }

  /** Write what is waiting and close the file. Idempotent; never rejects. */
  async stop(): Promise<void> {
    const was = this.stateValue;
    if (was === 'stopped') return this.writing;
    this.stateValue = 'stopped';
    this.clock.clearTimeout(this.timer);
    this.timer = null;
    if (was === 'recording' || was === 'opening') this.writing = this.writing.then(() => this.drain());
    this.writing = this.writing.then(() => this.closeFile());
    await this.writing;
  }

  private schedule(): void {
    if (this.timer || this.stateValue !== 'recording' || !this.pending.length) return;
    this.timer = this.clock.setTimeout(() => {
      this.timer = null;
      this.writing = this.writing.then(() => this.drain());
    }, this.flushMs);
  }

  /** Write every waiting chunk, rotating at the size limit. */
  private async drain(): Promise<void> {
    try {
      // Only what is waiting now: chunks arriving during the writes go with the next round.
      let left = this.pending.length;
      while (left > 0 && this.handle) {
        const room = this.maxBytes > 0 && this.regular ? this.maxBytes - this.bytes : Infinity;
        const batch: Buffer[] = [];
        let size = 0;
        let taken = 0;
        let full = false;
        for (const c of this.pending.slice(0, left)) {
          const n = RECORD_HEADER_LEN + c.data.length;
          // A fresh file always takes one chunk, however large, so the loop moves on.
          if (size + n > room && (taken > 0 || this.bytes > this.headerBytes)) {
            full = true;
            break;
          }
          batch.push(this.encoder.record(c.t - this.fileT0, c.data));
          size += n;
          taken += 1;
        }
        const done = this.pending.splice(0, taken);
        left -= taken;
        for (const c of done) this.pendingBytes -= c.data.length;
        if (batch.length) await this.append(Buffer.concat(batch));
        // Chunks that came in during the write wait for the next round; a full file rotates first.
        if (full && left > 0) {
          await this.closeFile();
          await this.rotateFiles();
          await this.openFile(this.pending[0]!.t);
        }
      }
    } catch (err) {
      this.fail(err);
    }
    this.schedule();
  }

  private async openFile(fileT0: number): Promise<void> {
    this.fileT0 = fileT0;
    this.encoder = new CaptureEncoder();
    this.handle = await fsp.open(this.file, 'w');
    const header = encodeCaptureHeader(this.epoch0 + (fileT0 - this.t0), this.meta);
    this.bytes = 0;
    this.headerBytes = header.length;
    await this.append(header);
  }

  private async append(buf: Buffer): Promise<void> {
    const h = this.handle;
    if (!h) return;
    let off = 0;
    while (off < buf.length) {
      const { bytesWritten } = await h.write(buf, off, buf.length - off);
      if (bytesWritten <= 0) throw new Error('the disk accepted no bytes');
      off += bytesWritten;
    }
    this.bytes += buf.length;
    this.totalBytes += buf.length;
  }

  private async closeFile(): Promise<void> {
    const h = this.handle;
    this.handle = null;
    if (h) await h.close().catch(() => undefined);
  }

  /** file → file.1 → … → file.<keep>; only regular files are moved. */
  private async rotateFiles(): Promise<void> {
    if (!this.regular) return;
    if (this.keep === 0) {
      await fsp.rm(this.file, { force: true });
    } else {
      for (let n = this.keep; n >= 1; n--) {
        const from = n === 1 ? this.file : rotatedName(this.file, n - 1);
        const st = await fsp.lstat(from).catch(() => null);
        if (st && (st.isFile() || st.isSymbolicLink())) await fsp.rename(from, rotatedName(this.file, n));
      }
    }
    if (this.handle || this.bytes > 0) this.rotations += 1;
    this.bytes = 0;
  }

  private fail(err: unknown): void {
    if (this.stateValue === 'failed' || this.stateValue === 'stopped') return;
    const msg = errorText(err);
    this.lastError = msg;
    this.stateValue = 'failed';
    this.clock.clearTimeout(this.timer);
    this.timer = null;
    this.pending = [];
    this.pendingBytes = 0;
    void this.closeFile();
    try {
      this.emit('error', new Error(`recording to ${this.file} stopped: ${msg}`));
    } catch {
      // a throwing listener must not break the bus
    }
  }
}

import { claimPort, PortInUseError } from '../../src/transport/port-registry';
import { CaptureRecorder, type RecorderStatus } from '../../src/transport/recorder';
import type { Transport } from '../../src/transport/transport';

/**
 * The recording option of one bus node: while it is on and the bus runs, every chunk the
 * transport receives goes into a bounded, rotating capture file (src/transport/recorder.ts).
 * On at deploy when the node's "record" box is ticked; the editor can switch it on and off at
 * run time (admin endpoint POST jkbms/recording) until the next deploy.
 *
 * A file problem (bad path, full disk, another bus recording to the same file) is reported once
 * through `onError` and shown in the status; the bus never stops for it.
 */

export interface RecordSpec {
  /** Absolute path of the capture file. */
  file: string;
  /** Bytes per file before it rotates. */
  maxBytes: number;
  /** Rotated files kept. */
  keep: number;
}

export type RecordingState = RecorderStatus['state'] | 'off';

export interface RecordingReply {
  enabled: boolean;
  state: RecordingState;
  file: string;
  maxBytes: number;
  bytes: number;
  totalBytes: number;
  rotations: number;
  dropped: number;
  error: string | null;
}

export interface BusRecordingOptions {
  spec: RecordSpec;
  enabled: boolean;
  /** Who records (for the file claim and the header), e.g. 'jkbms-bus "bank" (id)'. */
  owner: string;
  meta: Record<string, unknown>;
  onError(err: Error): void;
  /** The state changed (status update). */
  onChange(): void;
}

export class BusRecording {
  private enabledValue: boolean;
  private recorder: CaptureRecorder | null = null;
  private untap: (() => void) | null = null;
  private release: (() => void) | null = null;
  private transport: Transport | null = null;
  private stopping: Promise<void> = Promise.resolve();
  /** The last recorder's status once it is gone (kept for the editor). */
  private last: RecorderStatus | null = null;

  constructor(private readonly opts: BusRecordingOptions) {
    this.enabledValue = opts.enabled;
  }

  get enabled(): boolean {
    return this.enabledValue;
  }

  get state(): RecordingState {
    return this.recorder?.state ?? (this.last?.state === 'failed' ? 'failed' : 'off');
  }

  /** The bus started on `transport`: record it if enabled. */
  attach(transport: Transport): void {
    this.transport = transport;
    if (this.enabledValue) void this.begin();
  }

  /** The bus is stopping: close the file (resolves when it is closed). */
  detach(): Promise<void> {
    this.transport = null;
    return this.end();
  }

  /** Switch recording on or off now (and for later runs of this deployment). */
  async set(on: boolean): Promise<RecordingReply> {
    this.enabledValue = on;
    if (on) {
      if (this.transport && (!this.recorder || this.recorder.state === 'failed' || this.recorder.state === 'stopped')) {
        await this.end();
        // Answer once the file is open (or refused), so the dialog shows how it went.
        await this.begin();
      }
    } else {
      await this.end();
    }
    this.opts.onChange();
    return this.reply();
  }

  reply(): RecordingReply {
    const s = this.recorder?.status() ?? this.last;
    return {
      enabled: this.enabledValue,
      state: this.state,
      file: this.opts.spec.file,
      maxBytes: this.opts.spec.maxBytes,
      bytes: s?.bytes ?? 0,
      totalBytes: s?.totalBytes ?? 0,
      rotations: s?.rotations ?? 0,
      dropped: s?.dropped ?? 0,
      error: s?.error ?? null,
    };
  }

  /** Resolves when the file is open or the recording failed. */
  private begin(): Promise<void> {
    const transport = this.transport;
    if (!transport || this.recorder) return Promise.resolve();
    const { file, maxBytes, keep } = this.opts.spec;
    try {
      this.release = claimPort(`record:${file}`, this.opts.owner);
    } catch (err) {
      const why = err instanceof PortInUseError ? `the file is in use by ${err.owner}` : err instanceof Error ? err.message : String(err);
      this.last = { state: 'failed', file, bytes: 0, totalBytes: 0, rotations: 0, dropped: 0, error: why };
      this.opts.onError(new Error(`cannot record to ${file}: ${why}`));
      this.opts.onChange();
      return Promise.resolve();
    }
    const rec = new CaptureRecorder({ file, maxBytes, keep, meta: { ...this.opts.meta, source: transport.description } });
    this.recorder = rec;
    this.last = null;
    rec.on('error', (err: Error) => {
      this.opts.onError(err);
      this.opts.onChange();
    });
    this.untap = rec.tap(transport);
    const started = rec.start().then((ok) => {
      if (ok) this.opts.onChange();
    });
    this.opts.onChange();
    return started;
  }

  private end(): Promise<void> {
    const rec = this.recorder;
    this.recorder = null;
    this.untap?.();
    this.untap = null;
    if (rec) {
      this.stopping = rec.stop().then(() => {
        this.last = rec.status();
        this.release?.();
        this.release = null;
      });
    } else {
      this.release?.();
      this.release = null;
    }
    return this.stopping;
  }
}

import type { TimerHandle } from '../common/clock';
import type { Transport } from '../transport/transport';
import type { EngineContext } from './context';
import type { ReceiveTimeline } from './timeline';

const HOUSEKEEPING_MS = 1000;
const WATCHDOG_MAX_MS = 300_000;

/** What the watchdog needs from the engine. */
export interface WatchdogHost {
  readonly transport: Transport;
  readonly timeline: Pick<ReceiveTimeline, 'lastRxAt'>;
  /** Packs should be talking now (we polled, or a JK master is polling). */
  expectingBytes(sentSinceRx: number): boolean;
  /** Once a second: packs silent for too long go offline. */
  sweep(now: number): void;
}

/**
 * The link watchdog and the once-a-second housekeeping. Packs should be talking but the port
 * is dead quiet — serialport's zero-byte-read bug, or a half-open TCP gateway: the link is
 * reopened after `watchdogMs` of silence (max(5 s, 10 × responseTimeoutMs)), and the wait
 * doubles (up to 5 min) while reopening does not bring bytes back.
 *
 * Owns: the housekeeping timer, the current watchdog time, our transmissions since the last
 * byte heard and the time of the last reopen.
 */
export class LinkWatchdog {
  private readonly baseMs: number;
  private watchdogMs: number;
  private sentSinceRx = 0;
  private reopenedAt = -Infinity;
  private timer: TimerHandle | null = null;

  constructor(
    private readonly ctx: EngineContext,
    private readonly host: WatchdogHost,
  ) {
    this.baseMs = Math.max(5000, 10 * ctx.options.responseTimeoutMs);
    this.watchdogMs = this.baseMs;
  }

  start(): void {
    this.timer = this.ctx.after(HOUSEKEEPING_MS, () => this.housekeeping());
  }

  stop(): void {
    this.ctx.cancel(this.timer);
    this.timer = null;
  }

  /** Bytes (not our own echo) arrived: the link works. */
  heard(): void {
    this.sentSinceRx = 0;
    this.watchdogMs = this.baseMs;
  }

  /** One of our transmissions went out. */
  transmitted(): void {
    this.sentSinceRx += 1;
  }

  linkUp(): void {
    this.sentSinceRx = 0;
  }

  private housekeeping(): void {
    this.timer = this.ctx.after(HOUSEKEEPING_MS, () => this.housekeeping());
    const now = this.ctx.clock.now();
    this.host.sweep(now);
    if (!this.ctx.link.connected || !this.host.expectingBytes(this.sentSinceRx)) return;
    const quietSince = Math.max(this.host.timeline.lastRxAt, this.reopenedAt);
    if (now - quietSince < this.watchdogMs) return;
    const s = Math.round((now - quietSince) / 1000);
    const { transport } = this.host;
    this.ctx.log('warn', `no bytes from ${transport.description} for ${s} s while packs should be talking: reopening`);
    this.reopenedAt = now;
    this.watchdogMs = Math.min(WATCHDOG_MAX_MS, this.watchdogMs * 2);
    this.ctx.counters.add('watchdogReopens');
    transport.reopen(`no bytes received for ${s} s`);
  }
}

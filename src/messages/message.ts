import type { DecodedFrame, FrameKind, InfoPayload, LivePayload } from '../protocol/types';
import type { Clock } from '../common/clock';
import { SendThrottle } from '../common/throttle';

/**
 * The messages the jkbms and jkbms-request nodes send (a contract shared with jkbms-ha):
 *   msg.topic   "<bus name>/<address>/<type>"   (type: live | settings | info | availability)
 *   msg.payload the decoded object (src/protocol/types.ts), or {type:'availability', address, online}
 *   msg.bms     BmsIdentity (null fields until the pack's info frame has been seen)
 *   msg.frame   { source: 'sniff' | 'poll', ts }   (not on availability messages)
 */

export interface BmsIdentity {
  bus: string;
  busId: string;
  address: number;
  serialNumber: string | null;
  model: string | null;
  hardwareVersion: string | null;
  softwareVersion: string | null;
  name: string | null;
}

export interface FrameMeta {
  source: 'sniff' | 'poll';
  ts: number;
}

export interface AvailabilityPayload {
  type: 'availability';
  address: number;
  online: boolean;
}

export function topicFor(busName: string, address: number, type: FrameKind | 'availability'): string {
  return `${busName}/${address}/${type}`;
}

export function bmsIdentity(bus: { name: string; id: string }, address: number, info: InfoPayload | undefined): BmsIdentity {
  const text = (s: string | undefined): string | null => (s === undefined || s === '' ? null : s);
  return {
    bus: bus.name,
    busId: bus.id,
    address,
    serialNumber: text(info?.serialNumber),
    model: text(info?.vendorId),
    hardwareVersion: text(info?.hardwareVersion),
    softwareVersion: text(info?.softwareVersion),
    name: text(info?.deviceName),
  };
}

/** Status text of a pack node, under 20 characters: "87% 53.2V -12.3A". */
export function liveSummary(live: Pick<LivePayload, 'soc' | 'voltage' | 'current'>): string {
  return `${Math.round(live.soc)}% ${live.voltage.toFixed(1)}V ${live.current.toFixed(1)}A`;
}

/** Fields that tick on their own; a change in them alone is not a change worth a message. */
const COUNTERS: Record<FrameKind, readonly string[]> = {
  live: ['runtime', 'systemUptime', 'rtcTime', 'sleepCountdown', 'chargeStageTime', 'emergencyTime'],
  settings: [],
  info: ['uptime'],
};

/** A comparable fingerprint of a payload, counters left out. */
export function changeKey(payload: DecodedFrame): string {
  const skip = new Set(COUNTERS[payload.type]);
  return JSON.stringify(payload, (key, value: unknown) => (skip.has(key) ? undefined : value));
}

export type Rate = 'all' | 'change' | 'interval';

/**
 * Decides, per kind of frame, whether a frame is sent now, later or never:
 *  - all:      every frame
 *  - change:   only when it differs from the last one sent of that kind (counters ignored)
 *  - interval: at most one per interval (SendThrottle, per kind); the latest frame of the
 *              interval wins and is sent when the interval is over
 */
export class RateGate<T> {
  /** Change key of the last frame sent, per kind. */
  private readonly lastKey = new Map<FrameKind, string>();
  /** interval: one throttle per kind, and the frame waiting for its end. */
  private readonly throttles = new Map<FrameKind, SendThrottle>();
  private readonly waiting = new Map<FrameKind, T>();

  constructor(
    private readonly rate: Rate,
    private readonly intervalMs: number,
    private readonly clock: Clock,
    private readonly emit: (item: T) => void,
  ) {}

  offer(kind: FrameKind, payload: DecodedFrame, item: T): void {
    if (this.rate === 'all') return this.send(kind, payload, item);
    if (this.rate === 'change') {
      if (this.lastKey.get(kind) === changeKey(payload)) return;
      return this.send(kind, payload, item);
    }
    if (this.throttle(kind).request()) return this.send(kind, payload, item);
    this.waiting.set(kind, item);
  }

  /**
   * Something was sent outside the gate (an answer to an explicit request): note it. A frame
   * waiting for the end of its interval is dropped: the answer sent now is at least as new.
   */
  noteSent(kind: FrameKind, payload: DecodedFrame): void {
    this.lastKey.set(kind, changeKey(payload));
    if (this.rate !== 'interval') return;
    this.waiting.delete(kind);
    this.throttle(kind).markSent();
  }

  /** Drop pending frames and their timers. */
  dispose(): void {
    for (const t of this.throttles.values()) t.cancel();
    this.waiting.clear();
  }

  private throttle(kind: FrameKind): SendThrottle {
    let t = this.throttles.get(kind);
    if (!t) {
      t = new SendThrottle(this.clock, this.intervalMs, () => {
        const item = this.waiting.get(kind);
        this.waiting.delete(kind);
        if (item !== undefined) this.emit(item);
      });
      this.throttles.set(kind, t);
    }
    return t;
  }

  private send(kind: FrameKind, payload: DecodedFrame, item: T): void {
    this.lastKey.set(kind, changeKey(payload));
    this.emit(item);
  }
}

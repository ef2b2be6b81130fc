import type { DecodedFrame, FrameKind, InfoPayload, LivePayload, SettingsPayload } from '../protocol/types';
import type { PackState } from './types';

interface PackRecord {
  state: PackState;
  /** Clock time of the last frame (any kind). */
  lastAt: number;
  /** Clock time of the last frame of each kind. */
  kindAt: Record<FrameKind, number>;
  /** Clock time of our last attempt to read each kind (to space out retries). */
  triedAt: Record<FrameKind, number>;
  /** A new serial number seen in one info frame, waiting for a second one to confirm it. */
  serialCandidate?: string;
}

const NEVER = -Infinity;

/**
 * What the engine knows about every pack it has seen: the public PackState plus the clock
 * times it needs for offline detection and for deciding what to read next. Pure state; the
 * engine emits the events.
 */
export class PackTable {
  private readonly records = new Map<number, PackRecord>();

  /** `epoch(t)` turns a clock time into epoch ms for PackState.lastSeen. */
  constructor(private readonly epoch: (clockMs: number) => number) {}

  has(address: number): boolean {
    return this.records.has(address);
  }

  /** A copy of the pack's state (payload objects are shared, never mutated by us). */
  get(address: number): PackState | undefined {
    const r = this.records.get(address);
    return r ? { ...r.state } : undefined;
  }

  /** The latest settings we hold for a pack (for read-modify-write), or undefined. */
  settings(address: number): SettingsPayload | undefined {
    return this.records.get(address)?.state.settings;
  }

  isOnline(address: number): boolean {
    return this.records.get(address)?.state.online ?? false;
  }

  /** Copies of every pack's state, by address. */
  all(): PackState[] {
    return [...this.records.keys()].sort((a, b) => a - b).map((a) => ({ ...this.records.get(a)!.state }));
  }

  addresses(): number[] {
    return [...this.records.keys()].sort((a, b) => a - b);
  }

  onlineAddresses(): number[] {
    return this.addresses().filter((a) => this.records.get(a)!.state.online);
  }

  get onlineCount(): number {
    let n = 0;
    for (const r of this.records.values()) if (r.state.online) n++;
    return n;
  }

  /** Record a decoded frame from `address`. Returns true when the pack just came online. */
  frame(address: number, payload: DecodedFrame, at: number): boolean {
    const r = this.ensure(address);
    const s = r.state;
    if (payload.type === 'live') {
      s.live = payload as LivePayload;
    } else if (payload.type === 'settings') {
      s.settings = payload as SettingsPayload;
    } else {
      s.info = payload as InfoPayload;
    }
    r.kindAt[payload.type] = at;
    r.lastAt = at;
    s.frames += 1;
    s.lastSeen = Math.round(this.epoch(at));
    if (s.online) return false;
    s.online = true;
    return true;
  }

  /**
   * An info frame from `address` carries `serial`. The first info of a pack, and one with the
   * serial number already known, are accepted. A different serial number is held back ('hold')
   * until the next info frame carries it too: a corrupted frame that passed every check must not
   * turn into a new device (Home Assistant and the pack-following nodes key on the serial). Any
   * other serial in between starts over.
   */
  serialVerdict(address: number, serial: string): 'accept' | 'hold' {
    const r = this.records.get(address);
    if (!r) return 'accept';
    const known = r.state.info?.serialNumber;
    if (known === undefined || known === serial || r.serialCandidate === serial) {
      r.serialCandidate = undefined;
      return 'accept';
    }
    r.serialCandidate = serial;
    return 'hold';
  }

  /** A changed serial number of `address` waits for its confirmation. */
  serialPending(address: number): boolean {
    return this.records.get(address)?.serialCandidate !== undefined;
  }

  /** A timeout, exception or rejected frame attributed to a known pack. */
  error(address: number): void {
    const r = this.records.get(address);
    if (r) r.state.errors += 1;
  }

  latency(address: number, ms: number): void {
    const r = this.records.get(address);
    if (r) r.state.latencyMs = Math.round(ms * 10) / 10;
  }

  /** We are about to read `kind` from `address`. */
  tried(address: number, kind: FrameKind, at: number): void {
    const r = this.records.get(address);
    if (r) r.triedAt[kind] = at;
  }

  /** Clock time of the last frame of `kind` (−Infinity when never). */
  kindAt(address: number, kind: FrameKind): number {
    return this.records.get(address)?.kindAt[kind] ?? NEVER;
  }

  triedAt(address: number, kind: FrameKind): number {
    return this.records.get(address)?.triedAt[kind] ?? NEVER;
  }

  /** Mark a pack offline. Returns true when it was online. */
  setOffline(address: number): boolean {
    const r = this.records.get(address);
    if (!r || !r.state.online) return false;
    r.state.online = false;
    return true;
  }

  /** Packs silent for `afterMs` go offline; returns their addresses. */
  sweep(now: number, afterMs: number): number[] {
    const out: number[] = [];
    for (const [address, r] of this.records) {
      if (r.state.online && now - r.lastAt >= afterMs) {
        r.state.online = false;
        out.push(address);
      }
    }
    return out.sort((a, b) => a - b);
  }

  private ensure(address: number): PackRecord {
    let r = this.records.get(address);
    if (!r) {
      r = {
        state: { address, isMaster: address === 0, online: false, lastSeen: null, frames: 0, errors: 0, latencyMs: null },
        lastAt: NEVER,
        kindAt: { live: NEVER, settings: NEVER, info: NEVER },
        triedAt: { live: NEVER, settings: NEVER, info: NEVER },
      };
      this.records.set(address, r);
    }
    return r;
  }
}

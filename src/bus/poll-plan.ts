import type { FrameKind } from '../protocol/types';

/**
 * What to poll next while we are the bus master.
 *
 * A master session starts with a scan: when no pack is known yet, every configured address
 * gets one live-data probe, one after another (packs already known from sniffing are polled at
 * once instead, and the other addresses probed in cycles). Then the plan runs in cycles: each
 * cycle visits every present pack once, round robin (the engine picks what to read from it:
 * device info, settings or live data, whichever is due), and places at most ONE probe of an
 * absent address in front — so dead addresses never delay the present packs by more than one
 * probe per cycle (the pain of peers where "BMS #1 missing stalls all others").
 *
 * An absent address is re-probed with its own backoff (5 s, doubling to 5 min). A present pack
 * whose live polls go unanswered `retries` times in a row becomes absent again.
 */
export interface PollJob {
  address: number;
  kind: FrameKind;
  /** A probe of an address not (or no longer) known to be present. */
  probe: boolean;
}

export interface PollPlanOptions {
  /** Consecutive unanswered live polls before a present pack counts as absent (default 3). */
  retries?: number;
  /** First re-probe delay of an absent address, ms (default 5000). */
  backoffInitialMs?: number;
  /** Largest re-probe delay, ms (default 300000). */
  backoffMaxMs?: number;
}

interface AddressState {
  present: boolean;
  /** Probed at least once in this session. */
  probed: boolean;
  nextProbeAt: number;
  backoffMs: number;
  failures: number;
}

export class PollPlan {
  private readonly retries: number;
  private readonly backoffInitialMs: number;
  private readonly backoffMaxMs: number;
  private readonly states = new Map<number, AddressState>();
  private cycle: { address: number; probe: boolean }[] = [];
  /** Round-robin position among absent addresses for the next probe. */
  private probeCursor = 0;

  constructor(
    readonly addresses: readonly number[],
    options: PollPlanOptions = {},
  ) {
    this.retries = options.retries ?? 3;
    this.backoffInitialMs = options.backoffInitialMs ?? 5000;
    this.backoffMaxMs = options.backoffMaxMs ?? 300_000;
    for (const a of addresses) this.states.set(a, this.fresh(false));
  }

  /**
   * A new master session: `present` are the packs already known to be online. With none
   * known, every address is scanned first, one after another; otherwise the known packs are
   * polled at once and the other addresses are probed one per cycle.
   */
  begin(present: Iterable<number>): void {
    const known = new Set(present);
    const scan = !this.addresses.some((a) => known.has(a));
    for (const a of this.addresses) {
      const s = this.fresh(known.has(a));
      if (!scan) s.probed = true;
      this.states.set(a, s);
    }
    this.cycle = [];
  }

  isPresent(address: number): boolean {
    return this.states.get(address)?.present ?? false;
  }

  presentAddresses(): number[] {
    return this.addresses.filter((a) => this.states.get(a)!.present);
  }

  /**
   * The next poll, or the time at which an absent address becomes due when nothing is to be
   * done before (only when no pack is present).
   */
  next(now: number, kindFor: (address: number) => FrameKind): PollJob | { waitUntil: number } {
    for (const a of this.addresses) {
      const s = this.states.get(a)!;
      if (!s.present && !s.probed) {
        s.probed = true;
        return { address: a, kind: 'live', probe: true };
      }
    }
    for (let round = 0; round < 2; round++) {
      while (this.cycle.length) {
        const e = this.cycle.shift()!;
        const s = this.states.get(e.address)!;
        if (e.probe && !s.present) return { address: e.address, kind: 'live', probe: true };
        if (!e.probe && s.present) return { address: e.address, kind: kindFor(e.address), probe: false };
      }
      this.cycle = this.buildCycle(now);
    }
    let wait = Infinity;
    for (const s of this.states.values()) if (!s.present) wait = Math.min(wait, s.nextProbeAt);
    return { waitUntil: wait };
  }

  /** The address answered (a probe, a poll, or a frame seen otherwise). */
  answered(address: number): void {
    const s = this.states.get(address);
    if (!s) return;
    s.present = true;
    s.probed = true;
    s.failures = 0;
    s.backoffMs = this.backoffInitialMs;
  }

  /**
   * A read of `address` went unanswered. `counts`: it was a live poll/probe (an unanswered
   * settings or info read does not make a pack absent). Returns true when the pack just
   * became absent.
   */
  failed(address: number, now: number, counts: boolean): boolean {
    const s = this.states.get(address);
    if (!s) return false;
    if (!s.present) {
      this.scheduleProbe(s, now);
      return false;
    }
    if (!counts) return false;
    s.failures += 1;
    if (s.failures < this.retries) return false;
    s.present = false;
    s.failures = 0;
    s.backoffMs = this.backoffInitialMs;
    this.scheduleProbe(s, now);
    return true;
  }

  /** The pack was declared offline elsewhere (silent for offlineAfterS). */
  markAbsent(address: number, now: number): void {
    const s = this.states.get(address);
    if (!s || !s.present) return;
    s.present = false;
    s.failures = 0;
    s.backoffMs = this.backoffInitialMs;
    this.scheduleProbe(s, now);
  }

  private scheduleProbe(s: AddressState, now: number): void {
    s.nextProbeAt = now + s.backoffMs;
    s.backoffMs = Math.min(this.backoffMaxMs, s.backoffMs * 2);
  }

  private buildCycle(now: number): { address: number; probe: boolean }[] {
    const out: { address: number; probe: boolean }[] = [];
    const n = this.addresses.length;
    for (let i = 0; i < n; i++) {
      const a = this.addresses[(this.probeCursor + i) % n]!;
      const s = this.states.get(a)!;
      if (!s.present && s.nextProbeAt <= now) {
        out.push({ address: a, probe: true });
        this.probeCursor = (this.probeCursor + i + 1) % n;
        break;
      }
    }
    for (const a of this.addresses) if (this.states.get(a)!.present) out.push({ address: a, probe: false });
    return out;
  }

  private fresh(present: boolean): AddressState {
    return { present, probed: present, nextProbeAt: 0, backoffMs: this.backoffInitialMs, failures: 0 };
  }
}

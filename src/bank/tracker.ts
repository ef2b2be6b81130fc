import type { PackState } from '../bus';
import { EnergyIntegrator, emptyEnergy, type EnergySnapshot } from '../energy/integrator';
import type { DecodedFrame } from '../protocol/types';
import { aggregate, conditionOf, isCounted } from './aggregate';
import type { BankPackInput, BankPayload } from './types';
import { isPackAddress } from '../common/address';

/**
 * The bank's state, fed with what a bus reports (frames, online/offline changes), pure:
 * every call takes the time (epoch ms) from the caller, nothing here sets a timer. The
 * jkbms-bank node feeds it from the bus engine's events and schedules `tick()` at
 * `nextDeadline()`, when the next counted or pending pack goes stale.
 *
 * Energy: the bank power (Σ of the counted packs) is sampled into an EnergyIntegrator
 * (src/energy) whenever it may have changed — a live frame, a pack going offline or stale.
 * Intervals longer than the stale time add nothing, so a stopped bus or a long restart never
 * invents energy; while some packs are stale, their energy is not counted.
 */

export interface BankTrackerOptions {
  /** Count the JK master's own frames (address 0) as a pack of the bank. */
  includeMaster: boolean;
  /** Packs expected; 0 = every pack seen. */
  expected: number;
  /** A live frame this old no longer counts, ms (> 0). */
  staleAfterMs: number;
}

export class BankTracker {
  private readonly packs = new Map<number, BankPackInput>();
  private energy: EnergyIntegrator;
  /** Every pack's condition at the last evaluation, to see transitions in tick(). */
  private counted = '';

  /** @param stored energy counters to continue (restored from node context). */
  constructor(
    readonly options: BankTrackerOptions,
    stored: EnergySnapshot | null = null,
  ) {
    if (!(options.staleAfterMs > 0)) throw new RangeError(`staleAfterMs must be above 0, got ${options.staleAfterMs}`);
    this.energy = new EnergyIntegrator(options.staleAfterMs, stored ?? emptyEnergy());
  }

  /** Is this address part of the bank? */
  accepts(address: number | null): address is number {
    return isPackAddress(address) && (address !== 0 || this.options.includeMaster);
  }

  /**
   * Take over what the bus already knows (a bank node deployed onto a running bus). The age
   * of a known live frame is taken from the pack's last frame of any kind.
   */
  seed(states: readonly PackState[], now: number): void {
    for (const s of states) {
      if (!this.accepts(s.address) || this.packs.has(s.address)) continue;
      this.packs.set(s.address, {
        address: s.address,
        online: s.online,
        liveAt: s.live ? s.lastSeen : null,
        firstSeen: now,
        live: s.live ?? null,
        settings: s.settings ?? null,
        serialNumber: s.info?.serialNumber || null,
      });
    }
    this.evaluate(now);
  }

  /**
   * A decoded frame from the bus. Returns true when it is worth a message: a live frame of a
   * bank pack, or a settings / info frame that changes a pack's condition (a pack first heard of).
   */
  frame(address: number | null, payload: DecodedFrame, now: number): boolean {
    if (!this.accepts(address)) return false;
    const p = this.ensure(address, now);
    p.online = true;
    if (payload.type === 'live') {
      p.live = payload;
      p.liveAt = now;
    } else if (payload.type === 'settings') {
      p.settings = payload;
    } else if (payload.serialNumber) {
      p.serialNumber = payload.serialNumber;
    }
    const changed = this.evaluate(now);
    return payload.type === 'live' || changed;
  }

  /** The bus reports a pack online or offline. Returns true when that changes anything. */
  setOnline(address: number, online: boolean, now: number): boolean {
    if (!this.accepts(address)) return false;
    const known = this.packs.has(address);
    const p = this.ensure(address, now);
    if (known && p.online === online) return false;
    p.online = online;
    this.evaluate(now);
    return true;
  }

  /** Time passed: returns true when a pack went stale (or anything else changed) since the last evaluation. */
  tick(now: number): boolean {
    return this.evaluate(now);
  }

  /** Epoch ms when the next counted or pending pack goes stale, or null when there is none. */
  nextDeadline(now: number): number | null {
    let next: number | null = null;
    for (const p of this.packs.values()) {
      const condition = conditionOf(p, now, this.options.staleAfterMs);
      if (condition === 'stale') continue;
      const at = (condition === 'counted' ? p.liveAt! : p.firstSeen) + this.options.staleAfterMs;
      if (next === null || at < next) next = at;
    }
    return next;
  }

  /** The summary at `now` (no side effect). */
  summary(now: number): BankPayload {
    return aggregate([...this.packs.values()], {
      now,
      staleAfterMs: this.options.staleAfterMs,
      expected: this.options.expected,
      energy: { chargedKwh: this.energy.chargedKWh, dischargedKwh: this.energy.dischargedKWh },
    });
  }

  /** The energy counters, for storage. */
  energySnapshot(): EnergySnapshot {
    return this.energy.snapshot();
  }

  /** Start the energy counters over from zero. */
  resetEnergy(): void {
    this.energy = new EnergyIntegrator(this.options.staleAfterMs);
  }

  private ensure(address: number, now: number): BankPackInput {
    let p = this.packs.get(address);
    if (!p) {
      p = { address, online: true, liveAt: null, firstSeen: now, live: null, settings: null, serialNumber: null };
      this.packs.set(address, p);
    }
    return p;
  }

  /** Sample the bank power; returns true when a pack's condition (counted, pending, stale) changed. */
  private evaluate(now: number): boolean {
    const all = [...this.packs.values()];
    const counted = all.filter((p) => isCounted(p, now, this.options.staleAfterMs));
    const key = all.map((p) => `${p.address}:${conditionOf(p, now, this.options.staleAfterMs)}`).join(',');
    const changed = key !== this.counted;
    this.counted = key;
    if (counted.length > 0 && Number.isFinite(now)) {
      const power = counted.reduce((acc, p) => acc + p.live.power, 0);
      if (Number.isFinite(power)) this.energy.add(now, power);
    }
    return changed;
  }
}

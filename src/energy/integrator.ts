/**
 * Energy counters from power samples: charged and discharged energy, integrated with the
 * trapezoid rule between consecutive samples. Pure (no I/O, no timers): the caller passes
 * the sample time, so a Node-RED node, the bank node and the tests share one implementation.
 *
 * Rules
 * - Positive power charges, negative power discharges (the payload contract's sign).
 * - When the sign changes between two samples, the interval is split at the interpolated
 *   zero crossing, so each counter gets exactly its part of the trapezoid.
 * - An interval longer than `maxGapMs` (a restart, an offline pack, a stalled bus) or not
 *   positive (duplicate sample, clock stepped back) adds nothing: no invented energy.
 *
 * Counters are kept in joules (W·s) so that whole-second steps of whole-watt power sum
 * exactly (1000 W for 3600 × 1 s = 3 600 000 J = 1 kWh).
 */

export interface EnergySnapshot {
  /** Energy charged so far, J (W·s). */
  chargedJ: number;
  /** Energy discharged so far, J (W·s), positive. */
  dischargedJ: number;
  /** Time of the last sample, ms since the epoch (wall clock), or null before the first one. */
  lastAt: number | null;
  /** Power of the last sample, W, or null before the first one. */
  lastPower: number | null;
}

export const J_PER_KWH = 3_600_000;

/** A zeroed snapshot. */
export function emptyEnergy(): EnergySnapshot {
  return { chargedJ: 0, dischargedJ: 0, lastAt: null, lastPower: null };
}

const finiteNonNegative = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x) && x >= 0;
const finiteOrNull = (x: unknown): x is number | null => x === null || (typeof x === 'number' && Number.isFinite(x));

/**
 * Validate a snapshot read back from storage (node context). Anything that is not a
 * well-formed snapshot yields null, so a corrupted or foreign value never poisons a counter.
 */
export function parseEnergy(value: unknown): EnergySnapshot | null {
  if (!value || typeof value !== 'object') return null;
  const v = value as Record<string, unknown>;
  if (!finiteNonNegative(v.chargedJ) || !finiteNonNegative(v.dischargedJ)) return null;
  if (!finiteOrNull(v.lastAt) || !finiteOrNull(v.lastPower)) return null;
  if ((v.lastAt === null) !== (v.lastPower === null)) return null;
  return { chargedJ: v.chargedJ, dischargedJ: v.dischargedJ, lastAt: v.lastAt, lastPower: v.lastPower };
}

export class EnergyIntegrator {
  private s: EnergySnapshot;

  /**
   * @param maxGapMs longest interval between two samples that is still integrated, ms.
   * @param from a snapshot to continue from (e.g. restored from storage).
   */
  constructor(
    readonly maxGapMs: number,
    from: EnergySnapshot = emptyEnergy(),
  ) {
    if (!(maxGapMs > 0) || !Number.isFinite(maxGapMs)) throw new RangeError(`maxGapMs must be a positive number, got ${maxGapMs}`);
    this.s = { ...from };
  }

  /**
   * Add a power sample taken at `atMs` (ms since the epoch). Returns the energy added by
   * this sample, J (charged − discharged); 0 for the first sample or an ignored interval.
   */
  add(atMs: number, powerW: number): number {
    if (!Number.isFinite(atMs) || !Number.isFinite(powerW)) {
      throw new RangeError(`energy sample must be finite numbers, got t=${atMs} p=${powerW}`);
    }
    const { lastAt, lastPower } = this.s;
    this.s.lastAt = atMs;
    this.s.lastPower = powerW;
    if (lastAt === null || lastPower === null) return 0;
    const dtS = (atMs - lastAt) / 1000;
    if (dtS <= 0 || atMs - lastAt > this.maxGapMs) return 0;

    let charged = 0;
    let discharged = 0;
    if (lastPower >= 0 && powerW >= 0) {
      charged = ((lastPower + powerW) / 2) * dtS;
    } else if (lastPower <= 0 && powerW <= 0) {
      discharged = (-(lastPower + powerW) / 2) * dtS;
    } else {
      // Sign change: the straight line between the samples crosses zero at fraction f.
      const f = lastPower / (lastPower - powerW);
      const a = (lastPower / 2) * dtS * f; // area before the crossing (sign of lastPower)
      const b = (powerW / 2) * dtS * (1 - f); // area after the crossing (sign of powerW)
      if (lastPower > 0) {
        charged = a;
        discharged = -b;
      } else {
        discharged = -a;
        charged = b;
      }
    }
    this.s.chargedJ += charged;
    this.s.dischargedJ += discharged;
    return charged - discharged;
  }

  /** Add another counter's totals (e.g. the energy counted before a pack's serial was known). */
  absorb(other: EnergySnapshot): void {
    this.s.chargedJ += other.chargedJ;
    this.s.dischargedJ += other.dischargedJ;
    if (other.lastAt !== null && (this.s.lastAt === null || other.lastAt > this.s.lastAt)) {
      this.s.lastAt = other.lastAt;
      this.s.lastPower = other.lastPower;
    }
  }

  get chargedKWh(): number {
    return this.s.chargedJ / J_PER_KWH;
  }

  get dischargedKWh(): number {
    return this.s.dischargedJ / J_PER_KWH;
  }

  /** A copy of the state, for storage. */
  snapshot(): EnergySnapshot {
    return { ...this.s };
  }
}

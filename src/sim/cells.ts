import type { Rng } from './rng';

/**
 * The cells of one simulated pack, one by one: each has its own capacity, internal resistance
 * (the cell with its bus bars) and charge, so a pack behaves like a real string of cells —
 * nearly equal in the flat middle of the LiFePO4 curve, apart at its ends, and a cell with a
 * higher resistance off its neighbours in proportion to the current.
 *
 * Every cell carries the pack current (series string). Its voltage is the open-circuit voltage
 * at its own state of charge, plus I·R, plus the reading noise of a BMS, rounded to 1 mV like a
 * frame. The spread is drawn once from the pack's seeded stream; planted faults (src/sim/plant.ts)
 * come on top of it.
 */

/** How much healthy cells differ (standard deviations). */
export interface CellSpread {
  /** Capacity, % of the pack's (default 0.5: matched grade-A cells). */
  capacityPct: number;
  /** Internal resistance with bus bars, mΩ (default 0.03). */
  resistanceMohm: number;
  /** State of charge at the start, % (default 0.3: a top-balanced pack). */
  socPct: number;
  /** Noise of one cell-voltage reading, V (default 0.0005). */
  noiseV: number;
}

export const DEFAULT_SPREAD: CellSpread = { capacityPct: 0.5, resistanceMohm: 0.03, socPct: 0.3, noiseV: 0.0005 };

/** What is wrong with one cell, on top of the spread. */
export interface CellFault {
  /** 1-based cell number. */
  cell: number;
  /** Extra resistance, mΩ (an ageing cell or a loose bus bar; may be negative). */
  resistanceMohm?: number;
  /** Capacity change, % (−8 = 8 % less than the pack's). */
  capacityPct?: number;
  /** Charge offset at the start, % of its capacity (+3 = 3 % fuller than its neighbours). */
  socPct?: number;
}

/** Internal resistance of a healthy cell with its bus bars, Ω. */
export const CELL_IR = 0.0003;
/** The smallest resistance a cell can have, Ω. */
const MIN_IR = 0.00005;

/**
 * LiFePO4 open-circuit voltage per cell vs SOC (%), piecewise linear, with the knees: steep
 * above 98 % and below 5 %, and on past the ends (an overcharged cell climbs towards the
 * over-voltage protection, an empty one falls towards the under-voltage one).
 */
const OCV: readonly [number, number][] = [
  [-4, 2.0],
  [-2, 2.5],
  [0, 2.8],
  [5, 3.1],
  [10, 3.2],
  [20, 3.25],
  [30, 3.28],
  [40, 3.29],
  [50, 3.3],
  [60, 3.31],
  [70, 3.32],
  [80, 3.33],
  [90, 3.34],
  [95, 3.36],
  [98, 3.4],
  [100, 3.45],
  [101, 3.55],
  [102, 3.68],
  [104, 4.0],
];

/** Open-circuit voltage of one cell at `soc` %, V. */
export function ocv(soc: number): number {
  const first = OCV[0]!;
  const last = OCV[OCV.length - 1]!;
  if (!(soc > first[0])) return first[1];
  if (soc >= last[0]) return last[1];
  let lo = 0;
  let hi = OCV.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (OCV[mid]![0] <= soc) lo = mid;
    else hi = mid;
  }
  const [s0, v0] = OCV[lo]!;
  const [s1, v1] = OCV[hi]!;
  return v0 + ((v1 - v0) * (soc - s0)) / (s1 - s0);
}

/** Cell SOC stays within these bounds (% of its capacity): the curve ends there. */
const SOC_MIN = -4;
const SOC_MAX = 104;

export class CellSet {
  /** Capacity of each cell relative to the pack's full charge (1 = equal). */
  private capFactor: number[] = [];
  /** Ω. */
  private res: number[] = [];
  /** Start offset of each cell's SOC, fraction. */
  private socOffset: number[] = [];
  /** Charge in each cell, Ah. */
  private charge: number[] = [];
  private fullAh: number;
  /** The second normal of the last Box–Muller pair (reading noise draws many). */
  private spare: number | null = null;

  constructor(
    private readonly rng: Rng,
    count: number,
    fullAh: number,
    socPct: number,
    private readonly spread: CellSpread = DEFAULT_SPREAD,
    private readonly faults: readonly CellFault[] = [],
  ) {
    this.fullAh = fullAh;
    this.resize(count, socPct);
  }

  get count(): number {
    return this.charge.length;
  }

  /** Add or drop cells (a new cell count written to the settings); new cells start at `socPct`. */
  resize(count: number, socPct: number): void {
    while (this.charge.length < count) {
      const k = this.charge.length;
      const fault = this.faults.find((f) => f.cell === k + 1);
      const cap = Math.max(0.2, (1 + (this.rng.normal() * this.spread.capacityPct) / 100) * (1 + (fault?.capacityPct ?? 0) / 100));
      const r = Math.max(MIN_IR, CELL_IR + (this.rng.normal() * this.spread.resistanceMohm) / 1000) + (fault?.resistanceMohm ?? 0) / 1000;
      const offset = (this.rng.normal() * this.spread.socPct + (fault?.socPct ?? 0)) / 100;
      this.capFactor.push(cap);
      this.res.push(Math.max(MIN_IR, r));
      this.socOffset.push(offset);
      this.charge.push(this.fullAh * cap * clampSoc(socPct / 100 + offset));
    }
    this.capFactor.length = count;
    this.res.length = count;
    this.socOffset.length = count;
    this.charge.length = count;
  }

  /** Put every cell at `socPct` (plus its own start offset), as after a full balance at that SOC. */
  setSoc(socPct: number): void {
    for (let k = 0; k < this.charge.length; k++) this.charge[k] = this.capacityAh(k) * clampSoc(socPct / 100 + this.socOffset[k]!);
  }

  /** The pack's full charge changed (capacity setting, SOH): the cells keep their SOC. */
  rescale(fullAh: number): void {
    if (!(fullAh > 0) || !(this.fullAh > 0)) return;
    const f = fullAh / this.fullAh;
    for (let k = 0; k < this.charge.length; k++) this.charge[k]! *= f;
    this.fullAh = fullAh;
  }

  capacityAh(k: number): number {
    return this.fullAh * this.capFactor[k]!;
  }

  /** Ω. */
  resistance(k: number): number {
    return this.res[k]!;
  }

  /** State of charge of cell k, %. */
  soc(k: number): number {
    const cap = this.capacityAh(k);
    return cap > 0 ? (this.charge[k]! / cap) * 100 : 0;
  }

  /** `amps` (+ = charging) through every cell for `dtS` seconds. */
  flow(amps: number, dtS: number): void {
    const ah = (amps * dtS) / 3600;
    for (let k = 0; k < this.charge.length; k++) this.charge[k] = this.clampCharge(k, this.charge[k]! + ah);
  }

  /** The balancer moves `ah` from cell `from` to cell `to` (0-based). */
  transfer(from: number, to: number, ah: number): void {
    if (from === to || from < 0 || to < 0 || from >= this.charge.length || to >= this.charge.length) return;
    this.charge[from] = this.clampCharge(from, this.charge[from]! - ah);
    this.charge[to] = this.clampCharge(to, this.charge[to]! + ah);
  }

  /** Σ open-circuit voltages, V (the pack's EMF). */
  emf(): number {
    let v = 0;
    for (let k = 0; k < this.charge.length; k++) v += ocv(this.soc(k));
    return v;
  }

  /** How fast the EMF rises with charge, V/Ah (Σ of each cell's OCV slope over its capacity). */
  emfSlope(): number {
    let v = 0;
    for (let k = 0; k < this.charge.length; k++) {
      const s = this.soc(k);
      const cap = this.capacityAh(k);
      if (cap > 0) v += ((ocv(s + 0.25) - ocv(s - 0.25)) / 0.5) * (100 / cap);
    }
    return v;
  }

  /** Σ cell resistances, Ω. */
  totalResistance(): number {
    return this.res.reduce((a, b) => a + b, 0);
  }

  /** Highest and lowest open-circuit cell voltage, V. */
  ocvRange(): { min: number; max: number } {
    let min = Infinity;
    let max = -Infinity;
    for (let k = 0; k < this.charge.length; k++) {
      const v = ocv(this.soc(k));
      if (v < min) min = v;
      if (v > max) max = v;
    }
    return { min, max };
  }

  /** Cell voltages under `amps` as a BMS reads them (with noise), rounded to 1 mV. */
  voltages(amps: number): number[] {
    const out = new Array<number>(this.charge.length);
    for (let k = 0; k < this.charge.length; k++) {
      const v = ocv(this.soc(k)) + amps * this.res[k]! + this.noise() * this.spread.noiseV;
      out[k] = Math.round(v * 1000) / 1000 || 0;
    }
    return out;
  }

  /** Standard normal, both values of each Box–Muller pair used. */
  private noise(): number {
    if (this.spare !== null) {
      const v = this.spare;
      this.spare = null;
      return v;
    }
    const r = Math.sqrt(-2 * Math.log(1 - this.rng.next()));
    const a = 2 * Math.PI * this.rng.next();
    this.spare = r * Math.sin(a);
    return r * Math.cos(a);
  }

  private clampCharge(k: number, ah: number): number {
    const cap = this.capacityAh(k);
    return Math.min((cap * SOC_MAX) / 100, Math.max((cap * SOC_MIN) / 100, ah));
  }
}

function clampSoc(fraction: number): number {
  return Math.min(SOC_MAX / 100, Math.max(SOC_MIN / 100, fraction));
}

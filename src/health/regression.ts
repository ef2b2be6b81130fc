/**
 * Each cell's resistance relative to its pack, from live frames: a cell whose resistance (with
 * its bus bars) is higher by ΔR reads higher by I·ΔR while charging and lower while discharging,
 * so its deviation from the pack's mean cell voltage, regressed on the pack current, has the
 * slope ΔR (minus the pack's mean share).
 *
 * Within-window regression: the frames are grouped in windows of a few minutes, and each window
 * is centred on its own means before it is added, so what the cells differ by for other reasons
 * (charge state, balancing, sensor offsets) — which drifts over hours — drops out, and only the
 * current's changes within a window count. Windows fade with a half-life, so the state is a
 * handful of sums per cell whatever the run time (bounded), and a repaired bus bar shows after
 * a few weeks.
 *
 * The standard error comes from the scatter of the cells around their fitted lines, and is
 * never taken below what the readings' 1 mV steps alone leave (a cell whose reading does not
 * move at all has not shown that it follows the current, only that its steps are too coarse to
 * tell).
 */

export interface WindowSums {
  start: number;
  last: number;
  n: number;
  sx: number;
  sxx: number;
  sy: number[];
  sxy: number[];
  syy: number[];
}

export interface RegressionSnapshot {
  cells: number;
  /** Time of the last window added (fading reference), epoch ms. */
  at: number | null;
  /** Frames (faded) and informative windows (faded). */
  n: number;
  windows: number;
  /** Every window added, informative or not (faded): each is centred on its own means, which costs a degree of freedom. Absent in a state stored before it was kept (then `windows`). */
  groups: number;
  sxx: number;
  sxy: number[];
  syy: number[];
  open: WindowSums | null;
}

export interface CellSlope {
  /** Ω (relative to the pack's mean cell), null without current changes yet. */
  slope: number | null;
  /** Standard error, Ω (null without residual degrees of freedom). */
  stdErr: number | null;
  /** Residual degrees of freedom behind `stdErr`: frames less one per window, less the slope (faded). */
  df: number;
}

/**
 * A window whose current spreads less than this (A, standard deviation) adds almost nothing: it
 * does not count as informative. At 0.5 A, a cell 1 mΩ off its neighbours moves by one 1 mV
 * step of its reading between one standard deviation of the current below the mean and one above.
 */
export const INFORMATIVE_A = 0.5;
/** Cell voltages are read in steps of this, V (1 mV in a JK frame; a finer one only makes the floor below cautious). */
export const RESOLUTION_V = 0.001;
/** The least scatter a reading can have around its line, V²: the variance of rounding to RESOLUTION_V. */
const ROUNDING_VAR = (RESOLUTION_V * RESOLUTION_V) / 12;

export function emptyRegression(cells: number): RegressionSnapshot {
  return { cells, at: null, n: 0, windows: 0, groups: 0, sxx: 0, sxy: new Array<number>(cells).fill(0), syy: new Array<number>(cells).fill(0), open: null };
}

export class CellRegression {
  constructor(
    private readonly s: RegressionSnapshot,
    private readonly windowMs: number,
    private readonly windowFrames: number,
    private readonly maxGapMs: number,
    private readonly halfLifeMs: number,
  ) {}

  get cells(): number {
    return this.s.cells;
  }

  /** Frames and informative windows behind the estimate (faded), the open window included. */
  get samples(): number {
    return this.s.n + (this.s.open?.n ?? 0);
  }

  /** Informative windows (faded), closed ones only. */
  get windows(): number {
    return this.s.windows;
  }

  /** Informative windows (faded), the open one included when it is informative already. */
  get informative(): number {
    const w = this.s.open;
    return this.s.windows + (w && w.n >= 3 && Math.sqrt(Math.max(0, w.sxx - (w.sx * w.sx) / w.n) / w.n) >= INFORMATIVE_A ? 1 : 0);
  }

  /**
   * One live frame: `amps` and every cell's deviation from the mean cell, V. `usable` false
   * (outside the flat part of the curve, a cell count that does not fit) closes the window.
   */
  add(now: number, amps: number, deviations: readonly number[], usable: boolean): void {
    const w = this.s.open;
    if (w && (now - w.last > this.maxGapMs || now < w.last || now - w.start >= this.windowMs || w.n >= this.windowFrames || !usable)) this.close();
    if (!usable || deviations.length !== this.s.cells) return;
    let o = this.s.open;
    if (!o) {
      const zeros = () => new Array<number>(this.s.cells).fill(0);
      o = this.s.open = { start: now, last: now, n: 0, sx: 0, sxx: 0, sy: zeros(), sxy: zeros(), syy: zeros() };
    }
    o.last = now;
    o.n += 1;
    o.sx += amps;
    o.sxx += amps * amps;
    for (let k = 0; k < deviations.length; k++) {
      const y = deviations[k]!;
      o.sy[k]! += y;
      o.sxy[k]! += amps * y;
      o.syy[k]! += y * y;
    }
  }

  /** Add the open window to the totals (it needs 3 frames and some change of current). */
  close(): void {
    const w = this.s.open;
    this.s.open = null;
    if (!w || w.n < 3) return;
    const cxx = w.sxx - (w.sx * w.sx) / w.n;
    if (!(cxx > 1e-9)) return;
    const s = this.s;
    if (s.at !== null && w.last > s.at) {
      const f = Math.pow(0.5, (w.last - s.at) / this.halfLifeMs);
      s.n *= f;
      s.windows *= f;
      s.groups *= f;
      s.sxx *= f;
      for (let k = 0; k < s.cells; k++) {
        s.sxy[k]! *= f;
        s.syy[k]! *= f;
      }
    }
    s.at = Math.max(s.at ?? w.last, w.last);
    s.n += w.n;
    s.groups += 1;
    if (Math.sqrt(cxx / w.n) >= INFORMATIVE_A) s.windows += 1;
    s.sxx += cxx;
    for (let k = 0; k < s.cells; k++) {
      s.sxy[k]! += w.sxy[k]! - (w.sx * w.sy[k]!) / w.n;
      s.syy[k]! += w.syy[k]! - (w.sy[k]! * w.sy[k]!) / w.n;
    }
  }

  /** Each cell's slope (Ω) and its standard error, the open window included. */
  slopes(): CellSlope[] {
    const s = this.s;
    const w = s.open && s.open.n >= 3 ? s.open : null;
    const wxx = w ? w.sxx - (w.sx * w.sx) / w.n : 0;
    const sxx = s.sxx + (wxx > 1e-9 ? wxx : 0);
    const n = s.n + (w && wxx > 1e-9 ? w.n : 0);
    const groups = Math.max(1, s.groups + (w && wxx > 1e-9 ? 1 : 0));
    const df = Math.max(0, n - groups - 1);
    const out: CellSlope[] = [];
    for (let k = 0; k < s.cells; k++) {
      if (!(sxx > 1e-9)) {
        out.push({ slope: null, stdErr: null, df: 0 });
        continue;
      }
      let sxy = s.sxy[k]!;
      let syy = s.syy[k]!;
      if (w && wxx > 1e-9) {
        sxy += w.sxy[k]! - (w.sx * w.sy[k]!) / w.n;
        syy += w.syy[k]! - (w.sy[k]! * w.sy[k]!) / w.n;
      }
      const b = sxy / sxx;
      const rss = Math.max(0, syy - b * sxy);
      out.push({ slope: b, stdErr: df > 0 ? Math.sqrt(Math.max(rss / df, ROUNDING_VAR) / sxx) : null, df });
    }
    return out;
  }

  snapshot(): RegressionSnapshot {
    const s = this.s;
    const o = s.open;
    return {
      ...s,
      sxy: s.sxy.slice(),
      syy: s.syy.slice(),
      open: o ? { ...o, sy: o.sy.slice(), sxy: o.sxy.slice(), syy: o.syy.slice() } : null,
    };
  }
}

const finite = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);
const finiteArray = (x: unknown, n: number): x is number[] => Array.isArray(x) && x.length === n && x.every(finite);

/** A stored regression state, or null when it is not one (a corrupted or foreign value). */
export function parseRegression(v: unknown): RegressionSnapshot | null {
  if (!v || typeof v !== 'object') return null;
  const r = v as Record<string, unknown>;
  const cells = r.cells;
  if (!Number.isInteger(cells) || (cells as number) < 1 || (cells as number) > 32) return null;
  const n = cells as number;
  if (!(r.at === null || finite(r.at)) || !finite(r.n) || !finite(r.windows) || !finite(r.sxx)) return null;
  if (!(r.groups === undefined || finite(r.groups))) return null;
  if (!finiteArray(r.sxy, n) || !finiteArray(r.syy, n)) return null;
  let open: WindowSums | null = null;
  if (r.open !== null) {
    const o = r.open as Record<string, unknown> | undefined;
    if (!o || typeof o !== 'object') return null;
    if (![o.start, o.last, o.n, o.sx, o.sxx].every(finite) || !finiteArray(o.sy, n) || !finiteArray(o.sxy, n) || !finiteArray(o.syy, n)) return null;
    open = { start: o.start as number, last: o.last as number, n: o.n as number, sx: o.sx as number, sxx: o.sxx as number, sy: o.sy.slice(), sxy: o.sxy.slice(), syy: o.syy.slice() };
  }
  const groups = (r.groups as number | undefined) ?? (r.windows as number);
  return { cells: n, at: r.at as number | null, n: r.n as number, windows: r.windows as number, groups, sxx: r.sxx as number, sxy: r.sxy.slice(), syy: r.syy.slice(), open };
}

/** erf(x), Abramowitz–Stegun 7.1.26 (|error| < 1.5e-7). */
export function erf(x: number): number {
  const sign = x < 0 ? -1 : 1;
  const a = Math.abs(x);
  const t = 1 / (1 + 0.3275911 * a);
  const y = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-a * a);
  return sign * y;
}

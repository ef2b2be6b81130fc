/**
 * The ends of the charge curve, per pack: a cell with less capacity than its neighbours runs
 * ahead of them at both ends — first up the knee at the top of a charge, first down at the
 * bottom of a discharge — while in the flat middle it hides. A balancer that cannot keep up
 * shows as a cell delta at the top that grows from charge to charge.
 *
 * A "top" is a stretch of frames at or above the top SOC while not discharging; its moment is
 * the frame with the highest cell. A "bottom" is the same below the bottom SOC while not
 * charging, at the frame with the lowest cell. At that moment every cell's divergence from the
 * pack's median cell is kept (mV, with each cell's own I·ΔR taken out when its resistance is
 * known), with which cell led, how far the other cells scatter, and the cell delta. The last
 * `kept` tops and bottoms are kept: the state is bounded whatever the run time.
 */

export interface EndEvent {
  /** Epoch ms of the moment (the highest / lowest cell). */
  at: number;
  /** 0-based cell that was highest (top) or lowest (bottom). */
  leader: number;
  /** Every cell's divergence from the median cell, mV (0.1 mV). */
  devs: number[];
  /** Robust standard deviation of the other cells' divergences, mV. */
  spreadMv: number;
  /** Highest minus lowest cell, I·ΔR taken out, mV. */
  deltaMv: number;
}

interface Episode {
  last: number;
  frames: number;
  /** Highest (top) or lowest (bottom) cell so far, V. */
  extreme: number;
  event: EndEvent;
}

export interface EndsSnapshot {
  cells: number;
  top: EndEvent[];
  bottom: EndEvent[];
  openTop: Episode | null;
  openBottom: Episode | null;
}

export interface EndLimits {
  topSoc: number;
  bottomSoc: number;
  restA: number;
  kept: number;
}

/** An end closes when the SOC has moved this far back into the middle, %. */
const HYSTERESIS = 5;
/** ... or when no frame came for this long, ms. */
const STALE_MS = 12 * 3600_000;
/** Frames an end needs to count. */
const MIN_FRAMES = 2;

export function emptyEnds(cells: number): EndsSnapshot {
  return { cells, top: [], bottom: [], openTop: null, openBottom: null };
}

export function median(values: readonly number[]): number {
  if (!values.length) return 0;
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** 1.4826 × median absolute deviation: the standard deviation of normal scatter, robust to outliers. */
export function robustSpread(values: readonly number[]): number {
  const m = median(values);
  return 1.4826 * median(values.map((v) => Math.abs(v - m)));
}

export class EndTracker {
  constructor(
    private readonly s: EndsSnapshot,
    private readonly limits: EndLimits,
  ) {}

  get tops(): readonly EndEvent[] {
    return this.s.top;
  }

  get bottoms(): readonly EndEvent[] {
    return this.s.bottom;
  }

  /**
   * One live frame. `resistance`: each cell's resistance above the pack's typical cell, Ω
   * (0 where unknown), to take its I·ΔR out of the divergences (asked only at a new extreme).
   */
  add(now: number, soc: number, amps: number, cells: readonly number[], resistance: () => readonly number[]): void {
    if (cells.length !== this.s.cells) return;
    const l = this.limits;
    for (const kind of ['top', 'bottom'] as const) {
      const key = kind === 'top' ? 'openTop' : 'openBottom';
      const open = this.s[key];
      if (open && (now - open.last > STALE_MS || now < open.last)) this.commit(kind);
      const at = kind === 'top' ? soc >= l.topSoc && amps > -l.restA : soc <= l.bottomSoc && amps < l.restA;
      const back = kind === 'top' ? soc < l.topSoc - HYSTERESIS : soc > l.bottomSoc + HYSTERESIS;
      if (back) {
        this.commit(kind);
        continue;
      }
      if (!at) continue;
      const extreme = kind === 'top' ? Math.max(...cells) : Math.min(...cells);
      const ep = this.s[key];
      if (ep) {
        ep.last = now;
        ep.frames += 1;
        if (kind === 'top' ? extreme <= ep.extreme : extreme >= ep.extreme) continue;
      }
      const event = this.moment(kind, now, amps, cells, resistance());
      if (ep) {
        ep.extreme = extreme;
        ep.event = event;
      } else this.s[key] = { last: now, frames: 1, extreme, event };
    }
  }

  /** The open end is over: keep it (when it had enough frames) among the last `kept`. */
  private commit(kind: 'top' | 'bottom'): void {
    const key = kind === 'top' ? 'openTop' : 'openBottom';
    const ep = this.s[key];
    this.s[key] = null;
    if (!ep || ep.frames < MIN_FRAMES) return;
    const list = this.s[kind];
    list.push(ep.event);
    if (list.length > this.limits.kept) list.splice(0, list.length - this.limits.kept);
  }

  private moment(kind: 'top' | 'bottom', now: number, amps: number, cells: readonly number[], resistance: readonly number[]): EndEvent {
    const corrected = cells.map((v, k) => v - amps * (resistance[k] ?? 0));
    const mid = median(corrected);
    const devs = corrected.map((v) => Math.round((v - mid) * 10_000) / 10 || 0);
    let leader = 0;
    for (let k = 1; k < devs.length; k++) if (kind === 'top' ? devs[k]! > devs[leader]! : devs[k]! < devs[leader]!) leader = k;
    const others = devs.filter((_, k) => k !== leader);
    return {
      at: now,
      leader,
      devs,
      spreadMv: Math.round(robustSpread(others) * 10) / 10,
      deltaMv: Math.round(Math.max(...devs) - Math.min(...devs)),
    };
  }

  snapshot(): EndsSnapshot {
    const copyEvent = (e: EndEvent): EndEvent => ({ ...e, devs: e.devs.slice() });
    const copyEp = (e: Episode | null): Episode | null => (e ? { ...e, event: copyEvent(e.event) } : null);
    return {
      cells: this.s.cells,
      top: this.s.top.map(copyEvent),
      bottom: this.s.bottom.map(copyEvent),
      openTop: copyEp(this.s.openTop),
      openBottom: copyEp(this.s.openBottom),
    };
  }
}

const finite = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);

function parseEvent(v: unknown, cells: number): EndEvent | null {
  if (!v || typeof v !== 'object') return null;
  const e = v as Record<string, unknown>;
  if (!finite(e.at) || !Number.isInteger(e.leader) || (e.leader as number) < 0 || (e.leader as number) >= cells) return null;
  if (!Array.isArray(e.devs) || e.devs.length !== cells || !e.devs.every(finite) || !finite(e.spreadMv) || !finite(e.deltaMv)) return null;
  return { at: e.at, leader: e.leader as number, devs: e.devs.slice(), spreadMv: e.spreadMv, deltaMv: e.deltaMv };
}

function parseEpisode(v: unknown, cells: number): Episode | null | undefined {
  if (v === null) return null;
  if (!v || typeof v !== 'object') return undefined;
  const e = v as Record<string, unknown>;
  const event = parseEvent(e.event, cells);
  if (!event || !finite(e.last) || !finite(e.frames) || !finite(e.extreme)) return undefined;
  return { last: e.last, frames: e.frames, extreme: e.extreme, event };
}

/** A stored ends state, or null when it is not one. `kept` trims the lists. */
export function parseEnds(v: unknown, kept: number): EndsSnapshot | null {
  if (!v || typeof v !== 'object') return null;
  const r = v as Record<string, unknown>;
  const cells = r.cells as number;
  if (!Number.isInteger(cells) || cells < 1 || cells > 32 || !Array.isArray(r.top) || !Array.isArray(r.bottom)) return null;
  const top = r.top.map((e) => parseEvent(e, cells));
  const bottom = r.bottom.map((e) => parseEvent(e, cells));
  const openTop = parseEpisode(r.openTop, cells);
  const openBottom = parseEpisode(r.openBottom, cells);
  if (top.includes(null) || bottom.includes(null) || openTop === undefined || openBottom === undefined) return null;
  return { cells, top: (top as EndEvent[]).slice(-kept), bottom: (bottom as EndEvent[]).slice(-kept), openTop, openBottom };
}

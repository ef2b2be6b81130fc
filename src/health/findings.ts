import type { EndEvent } from './ends';
import type { CellHealth, Finding, HealthOptions } from './types';

/**
 * Findings in plain words, from a pack's figures (pure). A finding names a cell only when the
 * evidence is strong: a resistance estimate well clear of its own uncertainty, or a cell that
 * stands far out of its neighbours' scatter at the same end of the curve on nearly every one of
 * the last charges or discharges.
 */

/** Ends looked at for "first on N of the last M". */
export const RECENT_ENDS = 5;
/** A leading cell must stand this many robust standard deviations out of the others. */
const STAND_OUT = 4;
/** A resistance finding needs this confidence and this many standard errors. */
export const MIN_CONFIDENCE = 0.9;
const MIN_SIGMAS = 5;

export interface PackFacts {
  address: number;
  serialNumber: string | null;
  cells: CellHealth[];
  tops: readonly EndEvent[];
  bottoms: readonly EndEvent[];
  endOfChargeDeltaMv: number | null;
  trend: Trend | null;
}

export interface Trend {
  /** mV/day. */
  slope: number;
  /** Its standard error, mV/day. */
  stdErr: number;
}

const signed = (v: number, digits = 1): string => `${v >= 0 ? '+' : '−'}${Math.abs(v).toFixed(digits)}`;

/** On how many of the last RECENT_ENDS ends `cell` led and stood out (sign +1: above, −1: below). */
export function ledOn(events: readonly EndEvent[], cell: number, sign: 1 | -1, minMv: number): { led: number; of: number } {
  const recent = events.slice(-RECENT_ENDS);
  const led = recent.filter((e) => {
    const v = sign * e.devs[cell]!;
    return e.leader === cell && v >= minMv && v >= STAND_OUT * Math.max(e.spreadMv, 1);
  }).length;
  return { led, of: recent.length };
}

const consistent = (x: { led: number; of: number }): boolean => x.of >= 3 && x.led >= Math.max(3, x.of - 1);

export function packFindings(p: PackFacts, o: HealthOptions): Finding[] {
  const out: Finding[] = [];
  const base = { address: p.address, serialNumber: p.serialNumber };
  const name = (cell: number) => `pack ${p.address} cell ${cell}`;
  const highR = new Set<number>();
  for (const c of p.cells) {
    const r = c.resistanceMohm;
    if (r === null || c.stdErrMohm === null) continue;
    if (r >= o.minResistanceMohm && c.confidence >= MIN_CONFIDENCE && r >= MIN_SIGMAS * c.stdErrMohm) {
      highR.add(c.cell);
      out.push({ ...base, kind: 'resistance', cell: c.cell, value: round(r, 2), unit: 'mΩ', text: `${name(c.cell)}: ${signed(r)} mΩ above its neighbours — check its bus bar` });
    }
  }
  for (const c of p.cells) {
    const k = c.cell - 1;
    const top = ledOn(p.tops, k, 1, o.minEndMv);
    const bottom = ledOn(p.bottoms, k, -1, o.minEndMv);
    const leadsTop = consistent(top);
    const leadsBottom = consistent(bottom);
    if (!leadsTop && !leadsBottom) continue;
    const eoc = c.endOfChargeMv;
    const eod = c.endOfDischargeMv;
    // Above its neighbours at both ends (or below at both): out of balance, not a smaller cell.
    if (leadsTop && !leadsBottom && eod !== null && p.bottoms.length >= 2 && eod >= o.minEndMv) {
      out.push({ ...base, kind: 'balance', cell: c.cell, value: round(eoc ?? 0, 1), unit: 'mV',
        text: `${name(c.cell)} is above its neighbours at both ends of the charge — out of balance (fuller), not low capacity; the balancer should bring it in line` });
      continue;
    }
    if (leadsBottom && !leadsTop && eoc !== null && p.tops.length >= 2 && eoc <= -o.minEndMv) {
      out.push({ ...base, kind: 'balance', cell: c.cell, value: round(eod ?? 0, 1), unit: 'mV',
        text: `${name(c.cell)} is below its neighbours at both ends of the charge — out of balance (emptier), not low capacity; the balancer should bring it in line` });
      continue;
    }
    const parts: string[] = [];
    if (leadsTop) parts.push(`reaches the charge knee first on ${top.led} of the last ${top.of} charges`);
    if (leadsBottom) parts.push(`${leadsTop ? 'falls first' : 'falls first at the end of discharge'} on ${bottom.led} of the last ${bottom.of} discharges`);
    const why = highR.has(c.cell)
      ? ' — its high resistance makes the balancer drain it while charging; fix the resistance first'
      : ' — lowest capacity';
    out.push({ ...base, kind: 'capacity', cell: c.cell, value: round((leadsBottom ? eod : eoc) ?? 0, 1), unit: 'mV', text: `${name(c.cell)} ${parts.join(' and ')}${why}` });
  }
  const trend = p.trend;
  const days = p.tops.length ? (p.tops.at(-1)!.at - p.tops[0]!.at) / 86_400_000 : 0;
  if (
    trend !== null &&
    trend.slope >= o.minTrendMvPerDay &&
    trend.slope >= MIN_SIGMAS * trend.stdErr &&
    p.tops.length >= 5 &&
    days >= 4 &&
    (p.endOfChargeDeltaMv ?? 0) >= o.minEndMv
  ) {
    out.push({ ...base, kind: 'balancer', cell: null, value: round(trend.slope, 1), unit: 'mV/day',
      text: `pack ${p.address}: the cell delta at the top of charge grows by ${trend.slope.toFixed(1)} mV/day (now ${p.endOfChargeDeltaMv} mV over the last ${p.tops.length} charges) — the balancer cannot keep up` });
  }
  return out;
}

/** Least-squares slope of the end-of-charge delta over time, mV/day, and its standard error (null with fewer than 3 charges or less than a day). */
export function deltaTrend(tops: readonly EndEvent[]): Trend | null {
  if (tops.length < 3) return null;
  const t0 = tops[0]!.at;
  const xs = tops.map((e) => (e.at - t0) / 86_400_000);
  if (xs.at(-1)! < 1) return null;
  const ys = tops.map((e) => e.deltaMv);
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
  const my = ys.reduce((a, b) => a + b, 0) / ys.length;
  let sxx = 0;
  let sxy = 0;
  xs.forEach((x, i) => {
    sxx += (x - mx) ** 2;
    sxy += (x - mx) * (ys[i]! - my);
  });
  if (!(sxx > 0)) return null;
  const slope = sxy / sxx;
  const rss = ys.reduce((a, y, i) => a + (y - my - slope * (xs[i]! - mx)) ** 2, 0);
  return { slope, stdErr: xs.length > 2 ? Math.sqrt(rss / (xs.length - 2) / sxx) : Infinity };
}

export function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f || 0;
}

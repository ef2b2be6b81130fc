import type { LivePayload } from '../protocol/types';
import { EndTracker, emptyEnds, median, parseEnds, type EndsSnapshot } from './ends';
import { deltaTrend, MIN_CONFIDENCE, packFindings, round } from './findings';
import { CellRegression, emptyRegression, erf, parseRegression, type RegressionSnapshot } from './regression';
import type { CellHealth, HealthOptions, PackHealthPayload } from './types';
import { isPackAddress } from '../common/address';

/**
 * The health statistics of one pack (one serial number, or one address while the serial is not
 * known): the resistance regression (src/health/regression.ts) and the ends of the charge curve
 * (src/health/ends.ts), fed with its live frames, reported as a PackHealthPayload. Pure: the
 * caller passes the time; the state is a plain object of bounded size (snapshot()).
 */

export interface PackHealthSnapshot {
  address: number;
  serialNumber: string | null;
  cells: number;
  since: number | null;
  lastAt: number | null;
  frames: number;
  soc: number | null;
  soh: number | null;
  regression: RegressionSnapshot;
  ends: EndsSnapshot;
}

/** Windows after which the confidence is no longer held back. */
const FULL_CONFIDENCE_WINDOWS = 20;
/** Confidence is the chance that the true value lies within this of the estimate, mΩ. */
const CONFIDENCE_MOHM = 0.5;
/**
 * A cell's resistance is only published once the data supports it (otherwise `null`):
 * - the current has changed: a window (the open one included) in which it spread by
 *   INFORMATIVE_A (0.5 A standard deviation) or more, within about the last half-life
 *   (informative windows, faded, at least MIN_INFORMATIVE) — a current that only jitters tells
 *   nothing, and a jitter of the current sensor alone would pull every estimate towards 0;
 * - the scatter behind the standard error rests on MIN_DF degrees of freedom (frames less one
 *   per window, less the slope): the standard error is then known to about ±16 % (1/√(2·df)),
 *   and Student's t is close to the normal curve the confidence assumes (2.09 against 1.96 at
 *   95 %);
 * - the standard error is small enough for the estimate to become a finding: the chance that
 *   the true value lies within ±CONFIDENCE_MOHM is at least the MIN_CONFIDENCE a finding needs
 *   (0.9), i.e. a standard error of at most MAX_STDERR_MOHM (0.304 mΩ). So every estimate that
 *   could become a finding is shown, and a healthy cell shows within about ±1 mΩ (3 standard
 *   errors) — not the ±5 mΩ of a few frames of a current that hardly moved.
 * The standard error itself is reported once MIN_DF degrees of freedom are behind it, so a
 * user sees it narrow towards the bound.
 */
export const MIN_DF = 20;
const MIN_INFORMATIVE = 0.5;
/** The chance that the true value lies within ±CONFIDENCE_MOHM of an estimate with this standard error (mΩ). */
const precision = (seMohm: number): number => (seMohm === 0 ? 1 : erf(CONFIDENCE_MOHM / (Math.SQRT2 * seMohm)));
/** The largest standard error at which an estimate is published, mΩ (0.304): where precision() falls to MIN_CONFIDENCE. */
export const MAX_STDERR_MOHM = ((): number => {
  let lo = 0;
  let hi = 10;
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2;
    if (precision(mid) >= MIN_CONFIDENCE) lo = mid;
    else hi = mid;
  }
  return lo;
})();

/** One cell's estimate as reported: ΔR against the pack's typical cell (null where not published) and its standard error (null before MIN_DF), Ω. */
interface Estimate {
  deltaOhm: number | null;
  stdErrOhm: number | null;
  confidence: number;
}

export class PackHealth {
  private readonly s: PackHealthSnapshot;
  private readonly regression: CellRegression;
  private readonly ends: EndTracker;

  constructor(
    snapshot: PackHealthSnapshot,
    private readonly o: HealthOptions,
  ) {
    this.s = snapshot;
    this.regression = new CellRegression(snapshot.regression, o.windowS * 1000, o.windowFrames, o.maxGapS * 1000, o.halfLifeDays * 86_400_000);
    this.ends = new EndTracker(snapshot.ends, { topSoc: o.topSoc, bottomSoc: o.bottomSoc, restA: o.restA, kept: o.endsKept });
  }

  static fresh(address: number, serialNumber: string | null, cells: number, o: HealthOptions): PackHealth {
    return new PackHealth(
      { address, serialNumber, cells, since: null, lastAt: null, frames: 0, soc: null, soh: null, regression: emptyRegression(cells), ends: emptyEnds(cells) },
      o,
    );
  }

  get address(): number {
    return this.s.address;
  }

  set address(a: number) {
    this.s.address = a;
  }

  get serialNumber(): string | null {
    return this.s.serialNumber;
  }

  set serialNumber(serial: string | null) {
    this.s.serialNumber = serial;
  }

  get cellCount(): number {
    return this.s.cells;
  }

  get lastAt(): number | null {
    return this.s.lastAt;
  }

  get soc(): number | null {
    return this.s.soc;
  }

  get soh(): number | null {
    return this.s.soh;
  }

  /** A live frame of this pack (its cell count must be this pack's). */
  add(now: number, live: Pick<LivePayload, 'cells' | 'current' | 'soc' | 'soh'>): void {
    const s = this.s;
    const cells = live.cells;
    s.frames += 1;
    s.since ??= now;
    s.lastAt = now;
    s.soc = live.soc;
    s.soh = live.soh;
    const mean = cells.reduce((a, b) => a + b, 0) / cells.length;
    const usable = live.soc >= this.o.flatSocMin && live.soc <= this.o.flatSocMax;
    this.regression.add(
      now,
      live.current,
      cells.map((v) => v - mean),
      usable,
    );
    this.ends.add(now, live.soc, live.current, cells, () => this.resistanceOhm());
  }

  /** Each cell's resistance above the pack's typical cell, Ω (0 where not published). */
  private resistanceOhm(): number[] {
    return this.estimates().map((e) => e.deltaOhm ?? 0);
  }

  /**
   * Each cell's estimate as published (see MIN_DF for the rule): relative to the median cell's slope, with
   * its standard error once MIN_DF degrees of freedom are behind it, and its confidence (the
   * chance of ±CONFIDENCE_MOHM, held back over the first FULL_CONFIDENCE_WINDOWS informative
   * windows); `deltaOhm` null and confidence 0 until the rule allows it.
   */
  private estimates(): Estimate[] {
    const slopes = this.regression.slopes();
    const known = slopes.every((x) => x.slope !== null);
    const typical = known ? median(slopes.map((x) => x.slope!)) : 0;
    const informative = this.regression.informative;
    const ramp = Math.min(1, informative / FULL_CONFIDENCE_WINDOWS);
    return slopes.map((x) => {
      const se = known && x.stdErr !== null && x.df >= MIN_DF ? x.stdErr : null;
      const shown = se !== null && informative >= MIN_INFORMATIVE && se * 1000 <= MAX_STDERR_MOHM;
      return { deltaOhm: shown ? x.slope! - typical : null, stdErrOhm: se, confidence: shown ? precision(se * 1000) * ramp : 0 };
    });
  }

  report(now: number): PackHealthPayload {
    const s = this.s;
    const estimates = this.estimates();
    const tops = this.ends.tops;
    const bottoms = this.ends.bottoms;
    const mean = (events: readonly { devs: number[] }[], k: number): number | null =>
      events.length ? round(events.reduce((a, e) => a + e.devs[k]!, 0) / events.length, 1) : null;
    const cells: CellHealth[] = estimates.map((e, k) => {
      return {
        cell: k + 1,
        resistanceMohm: e.deltaOhm === null ? null : round(e.deltaOhm * 1000, 3),
        stdErrMohm: e.stdErrOhm === null ? null : round(e.stdErrOhm * 1000, 4),
        confidence: round(e.confidence, 3),
        endOfChargeMv: mean(tops, k),
        endOfDischargeMv: mean(bottoms, k),
        kneeFirst: tops.filter((e) => e.leader === k).length,
        fallFirst: bottoms.filter((e) => e.leader === k).length,
      };
    });
    const trend = deltaTrend(tops);
    const lastDelta = tops.length ? tops.at(-1)!.deltaMv : null;
    return {
      type: 'health',
      address: s.address,
      serialNumber: s.serialNumber,
      cellCount: s.cells,
      since: s.since,
      frames: s.frames,
      resistanceSamples: Math.round(this.regression.samples),
      resistanceWindows: round(this.regression.windows, 1),
      cells,
      charges: tops.length,
      discharges: bottoms.length,
      endOfChargeDeltaMv: lastDelta,
      endOfChargeTrendMvPerDay: trend === null ? null : round(trend.slope, 2),
      findings: packFindings(
        { address: s.address, serialNumber: s.serialNumber, cells, tops, bottoms, endOfChargeDeltaMv: lastDelta, trend },
        this.o,
      ),
      ts: now,
    };
  }

  snapshot(): PackHealthSnapshot {
    return { ...this.s, regression: this.regression.snapshot(), ends: this.ends.snapshot() };
  }
}

const finiteOrNull = (x: unknown): x is number | null => x === null || (typeof x === 'number' && Number.isFinite(x));

/** A stored pack state, or null when it is not one. */
export function parsePackHealth(v: unknown, o: HealthOptions): PackHealthSnapshot | null {
  if (!v || typeof v !== 'object') return null;
  const r = v as Record<string, unknown>;
  if (!isPackAddress(r.address)) return null;
  if (!(r.serialNumber === null || (typeof r.serialNumber === 'string' && r.serialNumber !== ''))) return null;
  if (![r.since, r.lastAt, r.soc, r.soh].every(finiteOrNull) || !Number.isInteger(r.frames) || (r.frames as number) < 0) return null;
  const regression = parseRegression(r.regression);
  const ends = parseEnds(r.ends, o.endsKept);
  if (!regression || !ends || regression.cells !== r.cells || ends.cells !== r.cells) return null;
  return {
    address: r.address as number,
    serialNumber: r.serialNumber as string | null,
    cells: r.cells as number,
    since: r.since as number | null,
    lastAt: r.lastAt as number | null,
    frames: r.frames as number,
    soc: r.soc as number | null,
    soh: r.soh as number | null,
    regression,
    ends,
  };
}

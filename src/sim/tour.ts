/**
 * The tour: a compressed charge / discharge cycle (20 minutes by default) that walks a
 * simulated pack through every state a dashboard or Home Assistant may show, so the demo shows
 * them and the tests cover them (SimPackOptions.tour):
 *
 *   0 – 8 s        a charger surge above the max charge current: charge over-current trips
 *                  (alarm `chargeOcp`, charging MOS off) and releases after its recovery time
 *   … – 45 %       charging: `bulk`; `absorption` from 97 % SOC, the current tapering off;
 *                  balancing `charge` once the high cell passes the balancing start voltage
 *   45 – 55 %      rest at full: `float`
 *   55 – 100 %     discharging down to 20 %: balancing `discharge` while the high cell stays
 *                  above the start voltage; then rest
 *
 * The SOC moves faster than the current would move it (a time warp, so a 280 Ah pack cycles in
 * minutes); cells, temperatures and protections follow the pack model as usual. One cell sits
 * `HIGH_CELL_V` above the others, as a slightly high cell does, so the balancer has work.
 */
import type { SettingsPayload } from '../protocol/types';

export interface TourOptions {
  /** Length of one cycle, s (default 1200). */
  periodS?: number;
}

export const DEFAULT_TOUR_PERIOD_S = 1200;

/** Offset of cell 1 above the others, V. */
export const HIGH_CELL_V = 0.008;

/** Balancing start voltage of a touring pack (its settings default), V: balancing in the upper SOC range. */
export const TOUR_BALANCE_START_V = 3.35;

/** Fractions of the cycle: charging until CHARGE_END, resting until REST_END, then discharging. */
const CHARGE_END = 0.45;
const REST_END = 0.55;
/** SOC span of one cycle, %: between 20 % and full. */
const SPAN = 80;
const EMPTY_SOC = 20;
const SURGE_S = 8;

export class Tour {
  readonly periodS: number;

  constructor(options: TourOptions) {
    this.periodS = options.periodS ?? DEFAULT_TOUR_PERIOD_S;
  }

  /** Charging current of the tour, A: below the charge over-current limit. */
  chargeA(s: SettingsPayload): number {
    return Math.max(1, Math.min(0.8 * s.maxChargeCurrent, 0.2 * s.nominalCapacityAh));
  }

  /** The current the charger / load asks for at `tS` seconds since the start, A (+ = charging). */
  current(tS: number, soc: number, s: SettingsPayload): number {
    const t = tS % this.periodS;
    const charge = this.chargeA(s);
    if (t < SURGE_S) return 1.5 * s.maxChargeCurrent;
    if (t < CHARGE_END * this.periodS) return charge;
    if (t < REST_END * this.periodS) return 0;
    return soc > EMPTY_SOC ? -1.5 * charge : 0;
  }

  /**
   * How much faster than real the SOC moves: the charging current fills SPAN % in 30 % of the
   * cycle (the taper near full takes a little longer).
   */
  warp(s: SettingsPayload): number {
    const ahPerS = (SPAN / 100) * s.nominalCapacityAh / (0.3 * this.periodS);
    return (ahPerS * 3600) / this.chargeA(s);
  }
}

/** Check a `tour` option; returns its normalised form or throws a RangeError naming the problem. */
export function checkTour(where: string, tour: unknown): TourOptions | null {
  if (tour === undefined || tour === false) return null;
  if (tour === true) return {};
  if (typeof tour !== 'object' || tour === null) throw new RangeError(`${where}: tour must be true or { periodS }, got ${JSON.stringify(tour)}`);
  const p = (tour as TourOptions).periodS;
  if (p !== undefined && !(typeof p === 'number' && Number.isFinite(p) && p >= 120)) {
    throw new RangeError(`${where}: tour.periodS must be a number of seconds ≥ 120, got ${JSON.stringify(p)}`);
  }
  return { ...(p === undefined ? {} : { periodS: p }) };
}

import type { Rng } from './rng';

/**
 * A household day for a simulated battery bank: solar charge from sunrise to sunset (a sunny,
 * partly cloudy or overcast day, drawn each day, with passing clouds), a small constant load,
 * more load in the evening, and appliances switching on and off at random (kettle, washing
 * machine, pump) — steps in the current, as on a real bank. The inverter stops discharging
 * at `minSoc` (it reads the BMS SOC) and charges at most what the packs allow (the sum of
 * their charge-current limits); the charge voltage limit is applied by the bank (src/sim/bank.ts).
 *
 * Currents are given in C (a fraction of the bank's full-charge capacity per hour), so one
 * profile fits a 100 Ah pack and a bank of eight 280 Ah packs alike. Times are simulated
 * seconds (the simulator's `speed` runs them faster than the clock for a demo). Every draw
 * comes from the bank's seeded stream.
 */

export interface DailyProfileOptions {
  /** Hour of the day when the simulator starts (default 6). */
  startHour: number;
  /** Sunrise and sunset, h (default 7 and 19). */
  sunrise: number;
  sunset: number;
  /** Solar current at noon on a clear day, C (default 0.25). */
  solarC: number;
  /** Constant household load, C (default 0.025). */
  baseLoadC: number;
  /** Extra load from 18 to 23 h, C (default 0.06). */
  eveningLoadC: number;
  /** Appliances switched on per hour, on average (default 1.5). */
  appliancesPerHour: number;
  /** Largest appliance, C (default 0.12). */
  applianceC: number;
  /** Share of days that are not clear, 0–1 (default 0.3). */
  clouds: number;
  /** The inverter stops discharging at this bank SOC, % (default 10; again at +5 %). */
  minSoc: number;
}

export const DEFAULT_DAILY_PROFILE: DailyProfileOptions = {
  startHour: 6,
  sunrise: 7,
  sunset: 19,
  solarC: 0.25,
  baseLoadC: 0.025,
  eveningLoadC: 0.06,
  appliancesPerHour: 1.5,
  applianceC: 0.12,
  clouds: 0.3,
  minSoc: 10,
};

const LIMITS: Record<keyof DailyProfileOptions, [number, number]> = {
  startHour: [0, 24],
  sunrise: [0, 24],
  sunset: [0, 24],
  solarC: [0, 2],
  baseLoadC: [0, 2],
  eveningLoadC: [0, 2],
  appliancesPerHour: [0, 60],
  applianceC: [0, 2],
  clouds: [0, 1],
  minSoc: [0, 100],
};

/** Merge over the defaults; throws a RangeError naming a bad value. */
export function resolveDailyProfile(input: Partial<DailyProfileOptions> = {}): DailyProfileOptions {
  if (!input || typeof input !== 'object') throw new RangeError(`profile must be an object of daily-profile options, got ${JSON.stringify(input)}`);
  const out = { ...DEFAULT_DAILY_PROFILE };
  for (const [k, v] of Object.entries(input)) {
    if (v === undefined) continue;
    if (!Object.hasOwn(LIMITS, k)) throw new RangeError(`unknown daily-profile option "${k}"; known: ${Object.keys(LIMITS).join(', ')}`);
    const [min, max] = LIMITS[k as keyof DailyProfileOptions];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) throw new RangeError(`profile.${k} must be a number ${min}–${max}, got ${JSON.stringify(v)}`);
    out[k as keyof DailyProfileOptions] = v;
  }
  if (!(out.sunrise < out.sunset)) throw new RangeError(`profile.sunrise (${out.sunrise}) must come before profile.sunset (${out.sunset})`);
  return out;
}

interface Appliance {
  amps: number;
  untilS: number;
}

/** Appliances running at once, at most (a bounded list). */
const MAX_APPLIANCES = 6;

export class DailyProfile {
  private day = -1;
  private weather = 1;
  /** Passing clouds: a mean-reverting shade, 0 = clear. */
  private shade = 0;
  private appliances: Appliance[] = [];
  private cutOff = false;

  constructor(
    readonly options: DailyProfileOptions,
    private readonly rng: Rng,
  ) {}

  /** Hour of the day (0–24) at `tS` seconds after the start. */
  hourAt(tS: number): number {
    const h = this.options.startHour + tS / 3600;
    return ((h % 24) + 24) % 24;
  }

  /**
   * What the inverter asks of the bank at `tS` simulated seconds (the step's start), for a step of `dtS` seconds,
   * A (+ = charging). `capacityAh`: the bank's full charge; `soc`: the bank's SOC (%);
   * `maxChargeA` / `maxDischargeA`: what the packs allow together.
   */
  current(tS: number, dtS: number, bank: { capacityAh: number; soc: number; maxChargeA: number; maxDischargeA: number }): number {
    const o = this.options;
    const day = Math.floor((o.startHour * 3600 + tS) / 86_400);
    if (Math.floor(day) !== this.day) {
      this.day = Math.floor(day);
      const r = this.rng.next();
      this.weather = r < o.clouds * 0.4 ? 0.25 : r < o.clouds ? 0.6 : 1;
    }
    const hour = this.hourAt(tS);
    const c = bank.capacityAh;

    // Passing clouds: deeper and faster on a partly cloudy day; time constant 3 min of a real day.
    const tau = 180;
    const depth = this.weather === 1 ? 0.05 : this.weather === 0.6 ? 0.45 : 0.2;
    const a = Math.min(1, dtS / tau);
    this.shade += -this.shade * a + depth * Math.sqrt(2 * a) * this.rng.normal();
    const sun = hour > o.sunrise && hour < o.sunset ? Math.sin((Math.PI * (hour - o.sunrise)) / (o.sunset - o.sunrise)) : 0;
    const solar = o.solarC * c * this.weather * sun * Math.min(1, Math.max(0.1, 1 - Math.abs(this.shade)));

    // Loads: constant, evening, appliances (more of them in the morning and the evening).
    const busy = (hour >= 6 && hour < 9) || (hour >= 17 && hour < 22) ? 2 : hour >= 23 || hour < 6 ? 0.3 : 1;
    const tHours = dtS / 3600;
    const nowS = tS;
    this.appliances = this.appliances.filter((x) => x.untilS > nowS);
    if (this.appliances.length < MAX_APPLIANCES && this.rng.chance(Math.min(1, o.appliancesPerHour * busy * tHours))) {
      this.appliances.push({ amps: this.rng.range(0.15, 1) * o.applianceC * c, untilS: nowS + this.rng.range(60, 1500) });
    }
    const load =
      o.baseLoadC * c + (hour >= 18 && hour < 23 ? o.eveningLoadC * c : 0) + this.appliances.reduce((s, x) => s + x.amps, 0);

    let i = solar - load + 0.003 * c * this.rng.normal();
    // The inverter: within the packs' limits, and no discharge below minSoc (resumes 5 % above).
    if (bank.soc <= o.minSoc) this.cutOff = true;
    else if (bank.soc >= o.minSoc + 5) this.cutOff = false;
    if (i < 0 && this.cutOff) i = 0;
    i = Math.min(i, 0.9 * bank.maxChargeA);
    i = Math.max(i, -0.9 * bank.maxDischargeA);
    return i;
  }
}

import { DEFAULT_SPREAD, type CellFault, type CellSpread } from './cells';
import { MAX_CELLS, MIN_CELLS, MODELS, type PackModelName } from './defaults';
import { checkTour, type TourOptions } from './tour';

/** The options of one simulated pack (src/sim/model.ts), and their checks. */

export interface CurrentProfile {
  /** Mean current, A (+ = charging). */
  offsetA: number;
  /** Sine amplitude, A. */
  amplitudeA: number;
  /** Sine period, s. */
  periodS: number;
  /** Standard deviation of the per-step noise, A. */
  noiseA: number;
}

export interface SimPackOptions {
  model?: PackModelName;
  /** Cells in series (4–16; default 16). */
  cellCount?: number;
  /** Design capacity, Ah (default 280). */
  capacityAh?: number;
  /** Initial state of charge, % (default: drawn between 40 and 80). */
  soc?: number;
  /** Current profile (defaults: 0 A ± 30 A over one hour, 0.3 A noise). */
  profile?: Partial<CurrentProfile>;
  /** Ambient temperature, °C (default: drawn between 20 and 28). */
  ambientC?: number;
  /**
   * Follow the tour instead of the profile (src/sim/tour.ts): a compressed cycle through every
   * state a pack reports (charge stages, balancing both ways, an over-current alarm). `true`
   * or `{ periodS }` (default 1200 s).
   */
  tour?: boolean | TourOptions;
  /** How much the cells differ (src/sim/cells.ts; default DEFAULT_SPREAD). */
  cellSpread?: Partial<CellSpread>;
  /** Faults of single cells (src/sim/plant.ts turns "cell 2.7: +3 mΩ" into these). */
  cellFaults?: CellFault[];
  /** Capacity of the whole pack off by this much, % (an aged pack: its SOH falls with it). */
  capacityPct?: number;
  /** Length of one physics step, s of the clock (default 1). */
  stepS?: number;
  /** Simulated seconds per second of the clock (default 1; 144 = a day in ten minutes). */
  speed?: number;
}

/** Check a pack's options (src/sim/model.ts SimPackOptions); throws a RangeError naming the pack and the option. */
export function checkOptions(
  address: number,
  o: SimPackOptions,
): { model: PackModelName; cellCount: number; capacity: number; stepMs: number; speed: number; spread: CellSpread; tour: TourOptions | null } {
  const where = `pack ${address}`;
  const model = o.model ?? 'JK-PB2A16S20P';
  if (!Object.hasOwn(MODELS, model)) throw new RangeError(`${where}: unknown model "${model}"; known: ${Object.keys(MODELS).join(', ')}`);
  const cellCount = o.cellCount ?? 16;
  if (!Number.isInteger(cellCount) || cellCount < MIN_CELLS || cellCount > MAX_CELLS) {
    throw new RangeError(`${where}: cellCount must be an integer ${MIN_CELLS}–${MAX_CELLS}, got ${JSON.stringify(o.cellCount)}`);
  }
  const capacity = o.capacityAh ?? 280;
  if (!Number.isFinite(capacity) || capacity < 2 || capacity > 20_000) {
    throw new RangeError(`${where}: capacityAh must be 2–20000, got ${JSON.stringify(o.capacityAh)}`);
  }
  if (o.soc !== undefined && !(Number.isFinite(o.soc) && o.soc >= 0 && o.soc <= 100)) {
    throw new RangeError(`${where}: soc must be 0–100 %, got ${JSON.stringify(o.soc)}`);
  }
  if (o.ambientC !== undefined && !(Number.isFinite(o.ambientC) && o.ambientC >= -40 && o.ambientC <= 80)) {
    throw new RangeError(`${where}: ambientC must be −40–80 °C, got ${JSON.stringify(o.ambientC)}`);
  }
  for (const [k, v] of Object.entries(o.profile ?? {})) {
    if (typeof v !== 'number' || !Number.isFinite(v) || (k === 'periodS' && v <= 0)) {
      throw new RangeError(`${where}: profile.${k} must be a finite number${k === 'periodS' ? ' > 0' : ''}, got ${JSON.stringify(v)}`);
    }
  }
  const stepS = o.stepS ?? 1;
  if (typeof stepS !== 'number' || !Number.isFinite(stepS) || stepS < 0.1 || stepS > 600) {
    throw new RangeError(`${where}: stepS must be 0.1–600 s, got ${JSON.stringify(o.stepS)}`);
  }
  const speed = o.speed ?? 1;
  if (typeof speed !== 'number' || !Number.isFinite(speed) || speed < 1 || stepS * speed > 600) {
    throw new RangeError(`${where}: speed must be at least 1, with stepS × speed at most 600 simulated seconds per step, got speed ${JSON.stringify(o.speed)}`);
  }
  if (o.capacityPct !== undefined && !(typeof o.capacityPct === 'number' && o.capacityPct >= -90 && o.capacityPct <= 50)) {
    throw new RangeError(`${where}: capacityPct must be −90–50 %, got ${JSON.stringify(o.capacityPct)}`);
  }
  const spread = { ...DEFAULT_SPREAD };
  for (const [k, v] of Object.entries(o.cellSpread ?? {})) {
    if (!Object.hasOwn(DEFAULT_SPREAD, k)) throw new RangeError(`${where}: unknown cellSpread.${k}; known: ${Object.keys(DEFAULT_SPREAD).join(', ')}`);
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > 50) throw new RangeError(`${where}: cellSpread.${k} must be 0–50, got ${JSON.stringify(v)}`);
    spread[k as keyof CellSpread] = v;
  }
  for (const f of o.cellFaults ?? []) {
    if (!Number.isInteger(f.cell) || f.cell < 1 || f.cell > cellCount) {
      throw new RangeError(`${where}: a planted fault names cell ${JSON.stringify(f.cell)}, but the pack has cells 1–${cellCount}`);
    }
  }
  return { model, cellCount, capacity, stepMs: Math.round(stepS * 1000), speed, spread, tour: checkTour(where, o.tour) };
}

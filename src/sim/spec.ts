import { parseFaults, type SimFaults } from './faults';
import { formatPlantedFaults, parsePlantedFaults, type PlantedFault } from './plant';
import type { BusSimulatorOptions } from './index';

/**
 * How a simulated bus is described in words — the `jkbms sim` command line and the bus node's
 * "simulator" connection share these parsers, so both accept (and refuse) the same things with
 * the same messages. Errors are RangeErrors; callers prefix the field ("--packs: ", …).
 *
 * The bus node's editor runs this very module (and faults.ts, plant.ts) in the browser, served by
 * the admin endpoint `jkbms/sim-spec.js` (nodes/lib/admin.ts): keep it free of runtime imports
 * beyond those two, and of Node-only APIs.
 */

/** Seeds the simulator accepts (a 32-bit signed integer). */
export const SEED_RANGE = [-(2 ** 31), 2 ** 31 - 1] as const;

/**
 * "1-4,7" → [1, 2, 3, 4, 7]: slave addresses 1–15, single or ranges, each at most once.
 * `masterHint` says how to add the JK master (address 0) where it is refused.
 */
export function parsePackList(text: string, masterHint = 'turn on the JK master option'): number[] {
  const out: number[] = [];
  for (const part of String(text).split(',').map((s) => s.trim())) {
    if (!part) continue;
    const m = /^(\d+)(?:\s*-\s*(\d+))?$/.exec(part);
    if (!m) throw new RangeError(`"${part}" is not an address or a range like 1-4`);
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    if (from < 1 || to > 15 || from > to) throw new RangeError(`"${part}" must lie within 1–15 (0 is the JK master: ${masterHint})`);
    for (let a = from; a <= to; a++) {
      if (out.includes(a)) throw new RangeError(`address ${a} is listed twice`);
      out.push(a);
    }
  }
  if (!out.length) throw new RangeError('give at least one pack address, e.g. 1-4');
  return out;
}

/** A seed as typed: an integer in SEED_RANGE (blank = 1). */
export function parseSeed(text: string | number | undefined | null): number {
  if (text === undefined || text === null || String(text).trim() === '') return 1;
  const s = String(text).trim();
  const n = Number(s);
  if (!/^-?\d+$/.test(s) || n < SEED_RANGE[0] || n > SEED_RANGE[1]) throw new RangeError(`expected an integer ${SEED_RANGE[0]}–${SEED_RANGE[1]}, got "${s}"`);
  return n;
}

/** A fault mix as typed, e.g. "noise=0.05,truncate=0.01" (blank = none); see src/sim/faults.ts. */
export function parseFaultList(text: string | undefined | null): SimFaults {
  const s = (text ?? '').trim();
  return s ? parseFaults(s) : {};
}

/**
 * What the simulated packs do (the bus node's "Scenario"):
 *   steady — each pack on its own slow current profile (0 A ± 30 A over an hour), real time;
 *   day    — the packs in parallel on one bus bar (one bus voltage, the current split between
 *            them) through a household day: solar charge, evening load, appliances; the day
 *            may run faster than real time (`dayMinutes`);
 *   tour   — every pack walks a compressed 20-minute cycle through every state a pack reports
 *            (charge stages bulk / absorption / float, balancing both ways, an alarm).
 */
export type SimScenario = 'steady' | 'day' | 'tour';
export const SIM_SCENARIOS: readonly SimScenario[] = ['steady', 'day', 'tour'];

/** How long a simulated household day lasts, minutes: from 2.4 (speed 600, the simulator's limit) to 1440 (real time). */
export const DAY_MINUTES_RANGE = [2.4, 1440] as const;
/** The default length of a simulated day in the bus node: ten minutes (`jkbms sim --day 600`). */
export const DEFAULT_DAY_MINUTES = 10;

/** A scenario as stored (blank = steady, as every flow saved before scenarios existed). */
export function parseScenario(value: unknown): SimScenario {
  if (value === undefined || value === null || value === '') return 'steady';
  if (typeof value === 'string' && (SIM_SCENARIOS as readonly string[]).includes(value)) return value as SimScenario;
  throw new RangeError(`expected ${SIM_SCENARIOS.join(', ')}, got ${JSON.stringify(value)}`);
}

/** Minutes a simulated day lasts, as typed (blank = DEFAULT_DAY_MINUTES). */
export function parseDayMinutes(value: unknown): number {
  if (value === undefined || value === null || String(value).trim() === '') return DEFAULT_DAY_MINUTES;
  const s = String(value).trim();
  const n = Number(s);
  const [min, max] = DAY_MINUTES_RANGE;
  if (!/^\d+(?:\.\d+)?$/.test(s) || !(n >= min && n <= max)) throw new RangeError(`expected minutes from ${min} to ${max} (1440 = real time), got "${s}"`);
  return n;
}

export interface SimulatedBusSpec {
  packs: number[];
  master: boolean;
  seed: number;
  faults: SimFaults;
  /** Default 'steady' (what a flow saved before scenarios had). */
  scenario?: SimScenario;
  /** Scenario 'day': minutes a simulated day lasts. */
  dayMinutes?: number;
  /** Planted cell and pack faults (none: absent). */
  plant?: PlantedFault[];
}

/** The settings of a simulated bus as typed in a dialog, as they are stored in a flow. */
export interface SimulatedBusInput {
  packs?: string;
  master?: unknown;
  seed?: string | number;
  faults?: string;
  scenario?: unknown;
  dayMinutes?: unknown;
  plant?: string;
}

/** The settings of a simulated bus as typed in a dialog; throws a RangeError naming the field. */
export function parseSimulatedBus(input: SimulatedBusInput): SimulatedBusSpec {
  const field = <T>(name: string, fn: () => T): T => {
    try {
      return fn();
    } catch (err) {
      throw new RangeError(`simulator ${name}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  };
  const text = (input.packs ?? '').trim() || '1-4';
  const packs = field('pack addresses', () => parsePackList(text));
  const master = input.master === true || input.master === 'true';
  const scenario = field('scenario', () => parseScenario(input.scenario));
  const plant = field('planted faults', () => parsePlantedFaultsFor(input.plant ?? '', packs, master));
  return {
    packs,
    master,
    seed: field('seed', () => parseSeed(input.seed)),
    faults: field('faults', () => parseFaultList(input.faults)),
    ...(scenario !== 'steady' ? { scenario } : {}),
    ...(scenario === 'day' ? { dayMinutes: field('day length', () => parseDayMinutes(input.dayMinutes)) } : {}),
    ...(plant.length ? { plant } : {}),
  };
}

/** The planted-fault parser and its inverse (for the editor, which loads only this module's exports). */
export { parsePlantedFaults, formatPlantedFaults };

/**
 * Planted faults as typed (src/sim/plant.ts), each for a pack that is simulated: one of `packs`,
 * or 0 (the JK master's own pack) when `master` is on.
 */
export function parsePlantedFaultsFor(text: string, packs: readonly number[], master: boolean): PlantedFault[] {
  const faults = parsePlantedFaults(text);
  for (const f of faults) {
    if (f.pack === 0 && !master) throw new RangeError(`"${formatPlantedFaults([f])}": pack 0 is the JK master's own pack; turn on the JK master option`);
    if (f.pack !== 0 && !packs.includes(f.pack)) throw new RangeError(`"${formatPlantedFaults([f])}": no pack ${f.pack} is simulated (pack addresses ${formatPackList(packs)})`);
  }
  return faults;
}

/** The simulator's options for a parsed spec (on the real clock unless the caller adds another). */
export function simulatorOptions(spec: SimulatedBusSpec): BusSimulatorOptions {
  const scenario = spec.scenario ?? 'steady';
  return {
    packs: spec.packs,
    master: spec.master,
    seed: spec.seed,
    faults: spec.faults,
    ...(scenario === 'day' ? { bank: true, speed: Math.min(600, 1440 / (spec.dayMinutes ?? DEFAULT_DAY_MINUTES)) } : {}),
    ...(scenario === 'tour' ? { packDefaults: { tour: true } } : {}),
    ...(spec.plant?.length ? { cellFaults: spec.plant } : {}),
  };
}

/** "household day (a day lasts 10 min), planted cell 2.7: +3 mΩ" — what is simulated beyond the packs ('' for a plain steady bus). */
export function describeScenario(spec: Pick<SimulatedBusSpec, 'scenario' | 'dayMinutes' | 'plant'>): string {
  const parts: string[] = [];
  if (spec.scenario === 'day') parts.push(`household day (a day lasts ${formatMinutes(spec.dayMinutes ?? DEFAULT_DAY_MINUTES)})`);
  if (spec.scenario === 'tour') parts.push('tour of every state');
  if (spec.plant?.length) parts.push(`planted ${formatPlantedFaults(spec.plant)}`);
  return parts.join(', ');
}

/** 10 → "10 min", 1440 → "24 h", 2.4 → "2.4 min". */
export function formatMinutes(minutes: number): string {
  return minutes >= 60 && minutes % 60 === 0 ? `${minutes / 60} h` : `${Math.round(minutes * 100) / 100} min`;
}

/** "1-4,7" from [1, 2, 3, 4, 7]. */
export function formatPackList(packs: readonly number[]): string {
  const sorted = [...packs].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; i++) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    parts.push(j > i ? `${sorted[i]}-${sorted[j]}` : String(sorted[i]));
    i = j;
  }
  return parts.join(',');
}

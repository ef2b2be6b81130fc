/**
 * The simulator's options (src/sim/index.ts, `BusSimulator`): their type, the check of the pack
 * list, and the options each simulated pack gets from them.
 */
import type { Clock } from '../common/clock';
import type { SimBankOptions } from './bank';
import type { CellSpread } from './cells';
import type { SimTimingInput } from './context';
import type { SimFaults } from './faults';
import type { SimPackOptions } from './pack-options';
import { cellFaultsOf, packCapacityPct, type PlantedFault } from './plant';

export interface BusSimulatorOptions {
  /** Slave addresses, 1–15, each at most once. */
  packs: number[];
  /** Run a JK master at address 0 (default false). */
  master?: boolean;
  /** Default 115200. */
  baud?: number;
  /** Default 1. */
  seed?: number;
  /** Default realClock. */
  clock?: Clock;
  faults?: SimFaults;
  timing?: SimTimingInput;
  /** Options for every pack (the master's own included). */
  packDefaults?: SimPackOptions;
  /** Options per address, over packDefaults. */
  packOptions?: Record<number, SimPackOptions>;
  /** Planted faults: "cell 2.7: +3 mΩ; cell 1.12: -8 % capacity; pack 3: -10 % capacity" or objects (src/sim/plant.ts). */
  cellFaults?: string | PlantedFault[];
  /** How much healthy cells differ, for every pack (src/sim/cells.ts). */
  cellSpread?: Partial<CellSpread>;
  /**
   * The packs (the master's own included) in parallel on one bus bar, sharing its voltage,
   * driven by a household day (default) or a fixed bank current (src/sim/bank.ts). Default off:
   * every pack follows its own current profile.
   */
  bank?: boolean | SimBankOptions;
  /** Physics step of every pack, s of the clock (default 1). */
  stepS?: number;
  /**
   * Simulated seconds per second of the clock (default 1): the packs' physics, their current
   * profiles and the bank's day run this much faster (144 = a day in ten minutes, for a demo).
   * The wire, the JK master and the answers keep real time.
   */
  speed?: number;
}

/**
 * The options of the pack at each address: the bank's (when `bankSoc` is not null, the SOC its
 * packs start at), then `packDefaults`, the address's own, the cell spread, the planted faults
 * and the physics step and speed.
 */
export function packOptionsOf(options: BusSimulatorOptions, cellFaults: readonly PlantedFault[], bankSoc: number | null): (address: number) => SimPackOptions {
  return (address: number): SimPackOptions => ({
    // In a bank the bank drives the current: the pack's own profile only runs its first step.
    ...(bankSoc !== null ? { profile: { amplitudeA: 0, noiseA: 0 }, soc: bankSoc } : {}),
    ...options.packDefaults,
    ...options.packOptions?.[address],
    ...(options.cellSpread ? { cellSpread: { ...options.cellSpread, ...options.packOptions?.[address]?.cellSpread } } : {}),
    ...(cellFaults.length ? { cellFaults: cellFaultsOf(cellFaults, address), capacityPct: packCapacityPct(cellFaults, address) } : {}),
    ...(options.stepS !== undefined ? { stepS: options.stepS } : {}),
    ...(options.speed !== undefined ? { speed: options.speed } : {}),
  });
}

/** The slave addresses, checked (1–15, each once), in ascending order. */
export function validatePacks(packs: unknown): number[] {
  if (!Array.isArray(packs)) throw new RangeError('packs must be an array of addresses 1–15');
  const seen = new Set<number>();
  for (const a of packs) {
    if (!Number.isInteger(a) || a < 1 || a > 15) {
      throw new RangeError(`pack address must be an integer 1–15 (0 is the JK master: use master: true), got ${JSON.stringify(a)}`);
    }
    if (seen.has(a)) throw new RangeError(`pack address ${a} is listed twice: every pack needs its own address`);
    seen.add(a);
  }
  return [...seen].sort((a, b) => a - b);
}


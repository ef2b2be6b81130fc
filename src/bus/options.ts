import { DEFAULT_BUS_OPTIONS, type BusMode, type BusOptions } from './types';
import { isSlaveAddress } from '../common/address';

/** Slave addresses a master scans by default (0 is the JK master's own DIP setting). */
export const DEFAULT_ADDRESSES: readonly number[] = Array.from({ length: 15 }, (_, i) => i + 1);

const MODES: readonly BusMode[] = ['auto', 'master', 'listen'];

export type NumericBusOption = 'minGapMs' | 'responseTimeoutMs' | 'masterSilenceMs' | 'settingsIntervalS' | 'infoIntervalS' | 'offlineAfterS';

/** [smallest, largest] allowed value of each numeric bus option: what the engine accepts (library callers, tests). */
export const BUS_OPTION_LIMITS: Readonly<Record<NumericBusOption, readonly [number, number]>> = {
  minGapMs: [0, 10_000],
  responseTimeoutMs: [20, 10_000],
  masterSilenceMs: [250, 600_000],
  settingsIntervalS: [1, 86_400],
  infoIntervalS: [10, 7 * 86_400],
  offlineAfterS: [1, 86_400],
};

/**
 * What the jkbms-bus node lets a user set: within BUS_OPTION_LIMITS, narrowed to what makes
 * sense on a real bus (a 20 ms gap at least; device info at most once a minute). The node
 * checks them (nodes/lib/config.ts) and exports them to its edit dialog as a node setting,
 * so the dialog validates exactly these.
 */
export const BUS_SETTING_LIMITS: Readonly<Record<NumericBusOption, readonly [number, number]>> = {
  minGapMs: [20, 5000],
  responseTimeoutMs: [50, 10_000],
  masterSilenceMs: [500, 60_000],
  settingsIntervalS: [5, 86_400],
  infoIntervalS: [60, 7 * 86_400],
  offlineAfterS: [5, 3600],
};

/**
 * Merge user options over DEFAULT_BUS_OPTIONS and check them. Throws a RangeError naming the
 * bad option, its value and what is allowed; the result always has `addresses` (sorted).
 */
export function resolveBusOptions(input: Partial<BusOptions> = {}): BusOptions & { addresses: number[] } {
  if (input === null || typeof input !== 'object') throw new RangeError('bus options must be an object');
  const defined = Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined)) as Partial<BusOptions>;
  const o: BusOptions = { ...DEFAULT_BUS_OPTIONS, ...defined };
  if (!MODES.includes(o.mode)) {
    throw new RangeError(`bus option mode must be one of ${MODES.join(', ')}; got ${JSON.stringify(o.mode)}`);
  }
  for (const [key, [min, max]] of Object.entries(BUS_OPTION_LIMITS) as [NumericBusOption, readonly [number, number]][]) {
    const v = o[key];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) {
      throw new RangeError(`bus option ${key} must be a number from ${min} to ${max}; got ${JSON.stringify(v)}`);
    }
  }
  if (typeof o.allowWrites !== 'boolean') {
    throw new RangeError(`bus option allowWrites must be true or false; got ${JSON.stringify(o.allowWrites)}`);
  }
  const addresses = o.addresses === undefined ? [...DEFAULT_ADDRESSES] : checkAddresses(o.addresses);
  return { ...o, addresses };
}

function checkAddresses(list: unknown): number[] {
  if (!Array.isArray(list) || list.length === 0) {
    throw new RangeError(`bus option addresses must be a non-empty list of pack addresses 1–15; got ${JSON.stringify(list)}`);
  }
  const seen = new Set<number>();
  for (const a of list) {
    if (a === 0) {
      throw new RangeError('bus option addresses: 0 is the JK master (DIP 0000), which polls the bus itself and never answers; use 1–15');
    }
    if (!isSlaveAddress(a)) {
      throw new RangeError(`bus option addresses: every address must be an integer 1–15; got ${JSON.stringify(a)}`);
    }
    seen.add(a);
  }
  return [...seen].sort((a, b) => a - b);
}

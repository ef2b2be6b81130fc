import type { LivePayload } from '../protocol/types';
import { alarmLabel } from '../protocol/alarms';
import type {
  BankAlarm,
  BankPackInput,
  BankPackSummary,
  BankPayload,
  CellRef,
  PackDeltaRef,
  TemperatureRef,
  TemperatureSensor,
} from './types';

/**
 * The whole-bank maths, pure: packs in, one summary out (see src/bank/types.ts for the
 * meaning of every field).
 *
 * - A pack is counted when the bus has it online and its last live frame is younger than
 *   `staleAfterMs`. A pack just heard of (e.g. its device info came first) is pending until
 *   its first live frame, for at most `staleAfterMs`. Every other pack is stale: listed in
 *   `stale`. Only counted packs enter the figures.
 * - SOC is weighted by capacity: Σ soc·capacity / Σ capacity, where a pack's capacity is its
 *   full-charge capacity, else the design capacity of its settings; a pack reporting neither
 *   weighs as much as the average counted pack with a known capacity (all unknown: plain mean).
 * - Sums are rounded to the frames' resolution (0.001) so float noise never shows; SOC to 0.01 %.
 */

export interface AggregateOptions {
  /** Epoch ms. */
  now: number;
  /** A live frame this old (or older) no longer counts, ms. */
  staleAfterMs: number;
  /** Number of packs expected; 0 = every pack in `packs`. */
  expected: number;
  energy: { chargedKwh: number; dischargedKwh: number };
}

const SENSORS: readonly TemperatureSensor[] = ['mos', 't1', 't2', 't3', 't4', 't5'];

/** Round to `digits` decimals, never −0. */
export function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f || 0;
}

/** The pack counts in the sums at `now`. */
export function isCounted(p: BankPackInput, now: number, staleAfterMs: number): p is BankPackInput & { live: LivePayload; liveAt: number } {
  return p.online && p.live !== null && p.liveAt !== null && now - p.liveAt < staleAfterMs;
}

export type PackCondition = 'counted' | 'pending' | 'stale';

export function conditionOf(p: BankPackInput, now: number, staleAfterMs: number): PackCondition {
  if (isCounted(p, now, staleAfterMs)) return 'counted';
  if (p.online && p.liveAt === null && now - p.firstSeen < staleAfterMs) return 'pending';
  return 'stale';
}

/** A pack's capacity for the SOC weighting and Σ capacity, Ah, or null when unknown. */
export function capacityOf(p: BankPackInput): number | null {
  const full = p.live?.fullChargeAh;
  if (typeof full === 'number' && Number.isFinite(full) && full > 0) return full;
  const nominal = p.settings?.nominalCapacityAh;
  if (typeof nominal === 'number' && Number.isFinite(nominal) && nominal > 0) return nominal;
  return null;
}

export function aggregate(packs: readonly BankPackInput[], opts: AggregateOptions): BankPayload {
  const sorted = [...packs].sort((a, b) => a.address - b.address);
  const counted = sorted.filter((p) => isCounted(p, opts.now, opts.staleAfterMs));
  const stale = sorted.filter((p) => conditionOf(p, opts.now, opts.staleAfterMs) === 'stale').map((p) => p.address);
  const staleSet = new Set(stale);
  const n = counted.length;
  const lives = counted.map((p) => p.live);
  const sum = (f: (l: LivePayload) => number): number => lives.reduce((acc, l) => acc + f(l), 0);

  const capacities = counted.map(capacityOf);
  const known = capacities.filter((c): c is number => c !== null);
  const fallback = known.length > 0 ? known.reduce((a, b) => a + b, 0) / known.length : 1;
  const weights = capacities.map((c) => c ?? fallback);
  const totalWeight = weights.reduce((a, b) => a + b, 0);
  const weightedSoc = lives.reduce((acc, l, i) => acc + l.soc * weights[i]!, 0);

  const cells = cellExtremes(counted);
  const temps = temperatureExtremes(counted);
  const alarms: BankAlarm[] = counted.flatMap((p) => p.live.alarms.map((alarm) => ({ address: p.address, alarm, label: alarmLabel(alarm) })));
  const settings = counted.map((p) => p.settings);
  const allSettings = n > 0 && settings.every((s) => s !== null);

  return {
    type: 'bank',
    packsOnline: n,
    packsExpected: opts.expected > 0 ? opts.expected : sorted.length,
    stale,
    packs: sorted.map((p) => packSummary(p, staleSet.has(p.address))),
    current: n > 0 ? round(sum((l) => l.current), 3) : null,
    power: n > 0 ? round(sum((l) => l.power), 3) : null,
    voltage: n > 0 ? round(sum((l) => l.voltage) / n, 3) : null,
    soc: n > 0 ? round(weightedSoc / totalWeight, 2) : null,
    remainingAh: n > 0 ? round(sum((l) => l.remainingAh), 3) : null,
    fullChargeAh: n > 0 ? round(known.reduce((a, b) => a + b, 0), 3) : null,
    cellMin: cells.min,
    cellMax: cells.max,
    cellDelta: cells.min && cells.max ? round(cells.max.voltage - cells.min.voltage, 3) : null,
    maxPackDelta: cells.maxPackDelta,
    temperatureMin: temps.min,
    temperatureMax: temps.max,
    alarm: alarms.length > 0,
    alarms,
    chargingEnabled: allSettings ? settings.every((s) => s!.chargingEnabled) : null,
    dischargingEnabled: allSettings ? settings.every((s) => s!.dischargingEnabled) : null,
    chargingMos: n > 0 && lives.every((l) => l.chargingMos),
    dischargingMos: n > 0 && lives.every((l) => l.dischargingMos),
    energyChargedKwh: round(opts.energy.chargedKwh, 6),
    energyDischargedKwh: round(opts.energy.dischargedKwh, 6),
    ts: opts.now,
  };
}

function packSummary(p: BankPackInput, stale: boolean): BankPackSummary {
  const l = p.live;
  return {
    address: p.address,
    serialNumber: p.serialNumber,
    online: p.online,
    stale,
    soc: l ? l.soc : null,
    voltage: l ? l.voltage : null,
    current: l ? l.current : null,
    power: l ? l.power : null,
    remainingAh: l ? l.remainingAh : null,
    fullChargeAh: l ? l.fullChargeAh : null,
  };
}

/** Lowest / highest cell of the bank (first one on ties: lowest address, lowest cell) and the widest pack. */
function cellExtremes(counted: readonly { address: number; live: LivePayload }[]): {
  min: CellRef | null;
  max: CellRef | null;
  maxPackDelta: PackDeltaRef | null;
} {
  let min: CellRef | null = null;
  let max: CellRef | null = null;
  let widest: PackDeltaRef | null = null;
  for (const { address, live } of counted) {
    let lo = Infinity;
    let hi = -Infinity;
    live.cells.forEach((voltage, i) => {
      if (!Number.isFinite(voltage)) return;
      lo = Math.min(lo, voltage);
      hi = Math.max(hi, voltage);
      if (!min || voltage < min.voltage) min = { voltage, address, cell: i + 1 };
      if (!max || voltage > max.voltage) max = { voltage, address, cell: i + 1 };
    });
    if (hi < lo) continue;
    const delta = round(hi - lo, 3);
    if (!widest || delta > widest.delta) widest = { delta, address };
  }
  return { min, max, maxPackDelta: widest };
}

/** Lowest / highest temperature of the bank; absent sensors (null) are ignored. */
function temperatureExtremes(counted: readonly { address: number; live: LivePayload }[]): {
  min: TemperatureRef | null;
  max: TemperatureRef | null;
} {
  let min: TemperatureRef | null = null;
  let max: TemperatureRef | null = null;
  for (const { address, live } of counted) {
    for (const sensor of SENSORS) {
      const value = live.temperatures[sensor];
      if (typeof value !== 'number' || !Number.isFinite(value)) continue;
      if (!min || value < min.value) min = { value, address, sensor };
      if (!max || value > max.value) max = { value, address, sensor };
    }
  }
  return { min, max };
}

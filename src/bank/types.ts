import type { LivePayload, SettingsPayload, Temperatures } from '../protocol/types';

/**
 * The whole-bank summary (`msg.payload` of the jkbms-bank node). These names are a contract
 * like src/protocol/types.ts: flows, the README ("Message payloads") and the Home Assistant
 * side rely on them. SI units (V, A, W, Ah, °C, %, kWh), epoch ms for times.
 *
 * "Counted" packs are the bank's packs that are online and whose last live frame is younger
 * than the stale time; every sum, mean, min/max and flag below is over the counted packs only.
 * Measured values are null while no pack is counted.
 */

export type TemperatureSensor = keyof Temperatures;

/**
 * `msg.bms` of a jkbms-bank message: the bus and the bank's own id (the node's *Bank id*
 * setting, default derived from the bus name). Home Assistant names the bank device after
 * `bankId`, never after a node id, so copying or re-importing a flow keeps the device.
 */
export interface BankIdentity {
  bus: string;
  busId: string;
  bankId: string;
}

/** The lowest or highest cell of the bank. */
export interface CellRef {
  /** V. */
  voltage: number;
  address: number;
  /** 1-based cell number within its pack. */
  cell: number;
}

/** The lowest or highest temperature of the bank. */
export interface TemperatureRef {
  /** °C. */
  value: number;
  address: number;
  sensor: TemperatureSensor;
}

export interface PackDeltaRef {
  /** Highest − lowest cell of that pack, V. */
  delta: number;
  address: number;
}

export interface BankAlarm {
  address: number;
  /** Alarm name as in the pack's live `alarms` list. */
  alarm: string;
  /** English text of the alarm, e.g. "Cell under-voltage". */
  label: string;
}

/** One pack's line in the summary (last known values, also for stale packs). */
export interface BankPackSummary {
  address: number;
  /** From the pack's device info; null until seen. */
  serialNumber: string | null;
  /** The bus considers the pack online. */
  online: boolean;
  /** Left out of the figures: offline, or its last live frame is too old (or none came within the stale time). */
  stale: boolean;
  /** %, V, A, W, Ah, Ah of its last live frame; null before the first one. */
  soc: number | null;
  voltage: number | null;
  current: number | null;
  power: number | null;
  remainingAh: number | null;
  fullChargeAh: number | null;
}

export interface BankPayload {
  type: 'bank';
  /** Number of counted packs. */
  packsOnline: number;
  /** The configured number of packs, or (configured 0) the number of packs seen. */
  packsExpected: number;
  /** Addresses of the bank's packs left out of the figures (offline or no recent live data), ascending. */
  stale: number[];
  /** Every pack seen, ascending address. */
  packs: BankPackSummary[];
  /** Σ current, A (+ = charging). */
  current: number | null;
  /** Σ power, W (+ = charging). */
  power: number | null;
  /** Mean pack voltage, V. */
  voltage: number | null;
  /** Capacity-weighted state of charge, %: Σ soc·capacity / Σ capacity. */
  soc: number | null;
  /** Σ remaining capacity, Ah. */
  remainingAh: number | null;
  /** Σ capacity (full-charge capacity, else the design capacity from the settings), Ah. */
  fullChargeAh: number | null;
  cellMin: CellRef | null;
  cellMax: CellRef | null;
  /** cellMax − cellMin across the bank, V. */
  cellDelta: number | null;
  /** The pack with the largest cell spread. */
  maxPackDelta: PackDeltaRef | null;
  temperatureMin: TemperatureRef | null;
  temperatureMax: TemperatureRef | null;
  /** True when any counted pack reports an alarm. */
  alarm: boolean;
  /** Every active alarm of every counted pack, by address then alarm bit order. */
  alarms: BankAlarm[];
  /** Enabled in the settings of every counted pack; null while a counted pack's settings are unknown (or none is counted). */
  chargingEnabled: boolean | null;
  dischargingEnabled: boolean | null;
  /** Charge / discharge MOS on in every counted pack (false when none is counted). */
  chargingMos: boolean;
  dischargingMos: boolean;
  /** Energy into / out of the bank, kWh, integrated from the bank power. */
  energyChargedKwh: number;
  energyDischargedKwh: number;
  /** When the summary was made, epoch ms. */
  ts: number;
}

/** What the aggregation needs to know about one pack. */
export interface BankPackInput {
  address: number;
  /** The bus considers the pack online. */
  online: boolean;
  /** Epoch ms when its last live frame arrived, or null when none was seen. */
  liveAt: number | null;
  /** Epoch ms when the bank first heard of the pack: without live data it is pending, not stale, for the stale time. */
  firstSeen: number;
  live: LivePayload | null;
  settings: SettingsPayload | null;
  serialNumber: string | null;
}

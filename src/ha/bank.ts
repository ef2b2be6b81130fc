/**
 * The bank device kind: the summary of a `jkbms-bank` node (src/bank/types.ts) as one HA
 * device per bus. Its view, entity table, JSON state and device block, like src/ha/pack.ts
 * (README "Home Assistant", "The bank device", has the entity list).
 *
 * Where the pack, cell or sensor of a figure matters (lowest / highest cell and temperature,
 * the widest pack, the alarms, the stale packs), it is an attribute of the entity, published
 * in the state under `attributes.<key>` and read with `json_attributes_template`.
 * The energy counters are the bank node's own (kept across restarts there): never integrated here.
 * With a jkbms-health node's bank reports, the bank also gets its Health problem sensor and the
 * packs' SOC / SOH offsets (src/ha/health.ts).
 */
import type { BankAlarm, BankPayload, CellRef, TemperatureRef } from '../bank/types';
import type { EntityDef, EntityTable } from './entities';
import { MANUFACTURER } from './constants';
import { type BankHealthView, bankHealthDiagnostics, bankHealthProblem, bankHealthState, findingsKey } from './health';
import type { DeviceInfo } from './types';

/** The fields of the bank payload the HA device uses (checked by src/ha/input.ts). */
export type BankSummary = Pick<
  BankPayload,
  | 'packsOnline'
  | 'packsExpected'
  | 'stale'
  | 'current'
  | 'power'
  | 'voltage'
  | 'soc'
  | 'remainingAh'
  | 'fullChargeAh'
  | 'cellMin'
  | 'cellMax'
  | 'cellDelta'
  | 'maxPackDelta'
  | 'temperatureMin'
  | 'temperatureMax'
  | 'alarm'
  | 'alarms'
  | 'chargingEnabled'
  | 'dischargingEnabled'
  | 'chargingMos'
  | 'dischargingMos'
  | 'energyChargedKwh'
  | 'energyDischargedKwh'
>;

export interface BankView {
  /** The bus's name (jkbms-bus), as in the bank message's topic. */
  busName: string;
  summary: BankSummary;
  /** The last report of a jkbms-health node about this bus's bank; absent or null: none yet, no health entities. */
  health?: BankHealthView | null;
}

export const BANK_MODEL = 'JK-PB bank';

type Def = Omit<EntityDef, 'component'>;
const sensor = (d: Def): EntityDef => ({ component: 'sensor', ...d });
const binary = (d: Def): EntityDef => ({ ...d, component: 'binary_sensor' });
const attrs = (key: string) => ({ attributes: ['attributes', key] }) as const;

const V = { deviceClass: 'voltage', unit: 'V' } as const;
const M = { stateClass: 'measurement' } as const;
const T = { deviceClass: 'temperature', unit: '°C', stateClass: 'measurement', precision: 1 } as const;
const KWH = { deviceClass: 'energy', unit: 'kWh', stateClass: 'total_increasing', precision: 3 } as const;

export const BANK_ENTITIES: EntityTable<BankView> = [
  {
    group: 'core',
    entities: () => [
      sensor({ key: 'packs_online', name: 'Packs online', path: ['packs_online'], ...M, precision: 0, icon: 'mdi:counter' }),
      sensor({ key: 'packs_expected', name: 'Packs expected', path: ['packs_expected'], ...M, precision: 0, diagnostic: true, icon: 'mdi:counter' }),
      sensor({ key: 'stale_packs', name: 'Stale packs', path: ['stale_packs'], ...M, precision: 0, diagnostic: true, icon: 'mdi:battery-alert', ...attrs('stale_packs') }),
      sensor({ key: 'voltage', name: 'Voltage', path: ['voltage'], ...V, ...M, precision: 2 }),
      sensor({ key: 'current', name: 'Current', path: ['current'], deviceClass: 'current', unit: 'A', ...M, precision: 2 }),
      sensor({ key: 'power', name: 'Power', path: ['power'], deviceClass: 'power', unit: 'W', ...M, precision: 0 }),
      sensor({ key: 'soc', name: 'State of charge', path: ['soc'], deviceClass: 'battery', unit: '%', ...M, precision: 1 }),
      sensor({ key: 'remaining_capacity', name: 'Remaining capacity', path: ['remaining_capacity'], unit: 'Ah', ...M, precision: 1, icon: 'mdi:battery-50' }),
      sensor({ key: 'full_capacity', name: 'Full charge capacity', path: ['full_capacity'], unit: 'Ah', ...M, precision: 1, icon: 'mdi:battery' }),
      sensor({ key: 'cell_min', name: 'Min cell voltage', path: ['cell_min'], ...V, ...M, precision: 3, ...attrs('cell_min') }),
      sensor({ key: 'cell_max', name: 'Max cell voltage', path: ['cell_max'], ...V, ...M, precision: 3, ...attrs('cell_max') }),
      sensor({ key: 'cell_delta', name: 'Cell voltage delta', path: ['cell_delta'], ...V, ...M, precision: 3, diagnostic: true }),
      sensor({ key: 'temperature_min', name: 'Min temperature', path: ['temperature_min'], ...T, ...attrs('temperature_min') }),
      sensor({ key: 'temperature_max', name: 'Max temperature', path: ['temperature_max'], ...T, ...attrs('temperature_max') }),
      binary({ key: 'alarm', name: 'Alarm', path: ['alarm'], deviceClass: 'problem', ...attrs('alarm') }),
      binary({ key: 'charging_enabled', name: 'Charging enabled (all packs)', path: ['charging_enabled'], nullable: true, icon: 'mdi:battery-arrow-up' }),
      binary({ key: 'discharging_enabled', name: 'Discharging enabled (all packs)', path: ['discharging_enabled'], nullable: true, icon: 'mdi:battery-arrow-down' }),
      binary({ key: 'charging_mos', name: 'Charging MOS (all packs)', path: ['charging_mos'], icon: 'mdi:electric-switch' }),
      binary({ key: 'discharging_mos', name: 'Discharging MOS (all packs)', path: ['discharging_mos'], icon: 'mdi:electric-switch' }),
    ],
  },
  {
    group: 'energy',
    entities: () => [
      sensor({ key: 'energy_charged', name: 'Energy charged', path: ['energy_charged'], ...KWH }),
      sensor({ key: 'energy_discharged', name: 'Energy discharged', path: ['energy_discharged'], ...KWH }),
    ],
  },
  {
    group: 'details',
    entities: () => [
      sensor({ key: 'max_pack_delta', name: 'Largest pack cell delta', path: ['max_pack_delta'], ...V, ...M, precision: 3, diagnostic: true, ...attrs('max_pack_delta') }),
    ],
  },
  // Health: only once a jkbms-health node has reported the bank.
  { group: 'core', entities: (v) => (v.health ? bankHealthProblem() : []) },
  { group: 'details', entities: (v) => (v.health ? bankHealthDiagnostics(v.health) : []) },
];

const cellAt = (c: CellRef | null) => ({ pack: c?.address ?? null, cell: c?.cell ?? null });
const sensorAt = (t: TemperatureRef | null) => ({ pack: t?.address ?? null, sensor: t?.sensor ?? null });
const alarmOf = (a: BankAlarm) => ({ pack: a.address, alarm: a.alarm, label: a.label });

/** The JSON state published on the bank's state topic. Every attribute is an object, also while unknown. */
export function bankState(v: BankView): Record<string, unknown> {
  const s = v.summary;
  const health = v.health ? bankHealthState(v.health) : null;
  return {
    packs_online: s.packsOnline,
    packs_expected: s.packsExpected,
    stale_packs: s.stale.length,
    voltage: s.voltage,
    current: s.current,
    power: s.power,
    soc: s.soc,
    remaining_capacity: s.remainingAh,
    full_capacity: s.fullChargeAh,
    cell_min: s.cellMin?.voltage ?? null,
    cell_max: s.cellMax?.voltage ?? null,
    cell_delta: s.cellDelta,
    max_pack_delta: s.maxPackDelta?.delta ?? null,
    temperature_min: s.temperatureMin?.value ?? null,
    temperature_max: s.temperatureMax?.value ?? null,
    alarm: s.alarm,
    charging_enabled: s.chargingEnabled,
    discharging_enabled: s.dischargingEnabled,
    charging_mos: s.chargingMos,
    discharging_mos: s.dischargingMos,
    energy_charged: s.energyChargedKwh,
    energy_discharged: s.energyDischargedKwh,
    ...health?.state,
    attributes: {
      stale_packs: { packs: [...s.stale] },
      cell_min: cellAt(s.cellMin),
      cell_max: cellAt(s.cellMax),
      max_pack_delta: { pack: s.maxPackDelta?.address ?? null },
      temperature_min: sensorAt(s.temperatureMin),
      temperature_max: sensorAt(s.temperatureMax),
      alarm: { alarms: s.alarms.map(alarmOf) },
      ...health?.attributes,
    },
  };
}

/** What must reach HA at once (see packUrgentKey): alarms, the MOS and enabled flags, the counted packs, which health findings there are. */
export function bankUrgentKey(s: BankSummary, health: BankHealthView | null = null): string {
  return JSON.stringify([s.alarm, s.alarms.map((a) => [a.address, a.alarm]), s.chargingMos, s.dischargingMos, s.chargingEnabled, s.dischargingEnabled, s.packsOnline, s.stale, findingsKey(health)]);
}

export function bankDevice(deviceId: string, v: BankView): DeviceInfo {
  return { identifiers: [deviceId], name: `JK-PB Bank ${v.busName}`, manufacturer: MANUFACTURER, model: BANK_MODEL };
}

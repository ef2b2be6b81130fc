/**
 * The pack device kind: its entity table, its JSON state and its HA device block (the view and
 * the shared field lists are in src/ha/pack-fields.ts). Units and classes follow HA's rules
 * (README "Home Assistant" has the entity list): `energy` only with total/total_increasing,
 * `battery` only with `%`, no device class for Ah, every numeric sensor with a state class
 * except the device-info protocol codes.
 *
 * Enabled by default (the lean set): voltage, current, power, SOC, SOH, remaining and full
 * capacity, cycles, min / max / delta / average cell, each cell, the temperatures, the MOS and
 * balancing states, the Alarm problem sensor (active alarms as its attribute), the energy
 * counters, the main switches and, once a jkbms-health node has reported the pack, its Cell
 * health problem sensor (src/ha/health.ts). Everything else is `enabled_by_default: false`.
 */
import { alarmLabel } from '../protocol/alarms';
import { MANUFACTURER, presentTemperatures, snake } from './constants';
import { controlEntities, controlState } from './controls';
import { type EntityDef, type EntityTable, two } from './entities';
import { findingsKey, packHealthDiagnostics, packHealthProblem, packHealthState } from './health';
import { DEVICE_FIELDS, deviceState, HA_ALARMS, nonEmpty, type PackView, settingSensors } from './pack-fields';
import type { DeviceInfo } from './types';

export type { PackView } from './pack-fields';
export { HA_ALARMS, isoManufacturingDate } from './pack-fields';

type Def = Omit<EntityDef, 'component'>;
const sensor = (d: Def): EntityDef => ({ component: 'sensor', ...d });
const binary = (d: Def): EntityDef => ({ ...d, component: 'binary_sensor' });

const V = { deviceClass: 'voltage', unit: 'V' } as const;
const A = { deviceClass: 'current', unit: 'A' } as const;
const M = { stateClass: 'measurement' } as const;
/** Diagnostic and disabled by default. */
const D = { diagnostic: true, disabled: true } as const;

const settingUnit = (unit: string): Partial<EntityDef> =>
  unit === 'V' ? { ...V, precision: 3 } : unit === 'A' ? { ...A, precision: 1 } : unit === 'Ah' ? { unit: 'Ah', precision: 0 } : { precision: 0, icon: 'mdi:counter' };

export const PACK_ENTITIES: EntityTable<PackView> = [
  {
    group: 'core',
    entities: () => [
      sensor({ key: 'voltage', name: 'Voltage', path: ['voltage'], ...V, ...M, precision: 2 }),
      sensor({ key: 'current', name: 'Current', path: ['current'], ...A, ...M, precision: 2 }),
      sensor({ key: 'power', name: 'Power', path: ['power'], deviceClass: 'power', unit: 'W', ...M, precision: 0 }),
      sensor({ key: 'soc', name: 'State of charge', path: ['soc'], deviceClass: 'battery', unit: '%', ...M, precision: 0 }),
      sensor({ key: 'soh', name: 'State of health', path: ['soh'], unit: '%', ...M, precision: 0, icon: 'mdi:battery-heart-variant' }),
      sensor({ key: 'remaining_capacity', name: 'Remaining capacity', path: ['remaining_capacity'], unit: 'Ah', ...M, precision: 1, icon: 'mdi:battery-50' }),
      sensor({ key: 'full_capacity', name: 'Full charge capacity', path: ['full_capacity'], unit: 'Ah', ...M, precision: 1, icon: 'mdi:battery' }),
      sensor({ key: 'stored_energy', name: 'Stored energy', path: ['stored_energy'], deviceClass: 'energy_storage', unit: 'kWh', ...M, precision: 2, disabled: true }),
      sensor({ key: 'cycles', name: 'Cycles', path: ['cycles'], stateClass: 'total_increasing', precision: 0, icon: 'mdi:battery-sync' }),
      sensor({ key: 'cell_min', name: 'Min cell voltage', path: ['cell_min'], ...V, ...M, precision: 3 }),
      sensor({ key: 'cell_max', name: 'Max cell voltage', path: ['cell_max'], ...V, ...M, precision: 3 }),
      sensor({ key: 'cell_delta', name: 'Cell voltage delta', path: ['cell_delta'], ...V, ...M, precision: 3 }),
      sensor({ key: 'cell_avg', name: 'Average cell voltage', path: ['cell_avg'], ...V, ...M, precision: 3 }),
      sensor({ key: 'balancing_current', name: 'Balancing current', path: ['balancing_current'], ...A, ...M, precision: 3, ...D }),
      sensor({ key: 'balancing', name: 'Balancing', path: ['balancing'], deviceClass: 'enum', options: ['off', 'charge', 'discharge'], icon: 'mdi:scale-balance' }),
      binary({ key: 'charging_mos', name: 'Charging MOS', path: ['charging_mos'], icon: 'mdi:electric-switch' }),
      binary({ key: 'discharging_mos', name: 'Discharging MOS', path: ['discharging_mos'], icon: 'mdi:electric-switch' }),
      binary({ key: 'precharging', name: 'Precharging', path: ['precharging'], ...D }),
      binary({ key: 'heating', name: 'Heater', path: ['heating'], deviceClass: 'running', icon: 'mdi:radiator', disabled: true }),
      binary({ key: 'alarm', name: 'Alarm', path: ['alarm'], deviceClass: 'problem', attributes: ['attributes', 'alarm'] }),
    ],
  },
  {
    group: 'cells',
    entities: (v) => v.live.cells.map((_, i) => sensor({ key: `cell_${two(i + 1)}`, name: `Cell ${i + 1} voltage`, path: ['cells', i], ...V, ...M, precision: 3 })),
  },
  {
    group: 'resistances',
    entities: (v) =>
      v.live.cellResistances.map((_, i) =>
        sensor({ key: `cell_${two(i + 1)}_resistance`, name: `Cell ${i + 1} resistance`, path: ['cell_resistances', i], unit: 'mΩ', ...M, precision: 1, icon: 'mdi:omega', ...D }),
      ),
  },
  {
    group: 'temperatures',
    entities: (v) =>
      presentTemperatures(v.live.temperatures).map((k) =>
        sensor({
          key: k === 'mos' ? 'temperature_mos' : `temperature_${k.slice(1)}`,
          name: k === 'mos' ? 'MOS temperature' : `Temperature ${k.slice(1)}`,
          path: ['temps', k],
          deviceClass: 'temperature',
          unit: '°C',
          ...M,
          precision: 1,
        }),
      ),
  },
  {
    group: 'energy',
    entities: () => [
      sensor({ key: 'energy_charged', name: 'Energy charged', path: ['energy_charged'], deviceClass: 'energy', unit: 'kWh', stateClass: 'total_increasing', precision: 3 }),
      sensor({ key: 'energy_discharged', name: 'Energy discharged', path: ['energy_discharged'], deviceClass: 'energy', unit: 'kWh', stateClass: 'total_increasing', precision: 3 }),
    ],
  },
  {
    group: 'details',
    entities: (v) => [
      sensor({ key: 'cell_min_index', name: 'Lowest cell', path: ['cell_min_index'], ...M, precision: 0, icon: 'mdi:battery-arrow-down', ...D }),
      sensor({ key: 'cell_max_index', name: 'Highest cell', path: ['cell_max_index'], ...M, precision: 0, icon: 'mdi:battery-arrow-up', ...D }),
      sensor({ key: 'cycle_capacity', name: 'Cycled capacity', path: ['cycle_capacity'], unit: 'Ah', stateClass: 'total_increasing', precision: 0, icon: 'mdi:battery-sync', ...D }),
      sensor({ key: 'heating_current', name: 'Heater current', path: ['heating_current'], ...A, ...M, precision: 2, ...D }),
      sensor({ key: 'charge_stage', name: 'Charge stage', path: ['charge_stage'], deviceClass: 'enum', options: ['bulk', 'absorption', 'float'], icon: 'mdi:battery-charging', ...D }),
      binary({ key: 'charger_plugged', name: 'Charger plugged', path: ['charger_plugged'], deviceClass: 'plug', ...D }),
      binary({ key: 'emergency', name: 'Emergency mode', path: ['emergency'], icon: 'mdi:alert-octagon', ...D }),
      ...HA_ALARMS.map((a) => binary({ key: `alarm_${snake(a.name)}`, name: `Alarm: ${a.label}`, path: ['alarms', a.name], deviceClass: 'problem', ...D })),
      ...settingSensors(v).map((s) =>
        s.kind === 'switch'
          ? binary({ key: `setting_${s.key}`, name: s.name, path: ['settings', s.key], ...D })
          : sensor({ key: `setting_${s.key}`, name: s.name, path: ['settings', s.key], ...settingUnit(s.unit), ...M, ...D }),
      ),
    ],
  },
  {
    group: 'device',
    entities: (v) => {
      const d = deviceState(v);
      return DEVICE_FIELDS.filter((f) => d[f.key] !== undefined).map((f) => sensor({ key: f.key, name: f.name, path: ['device', f.key], ...D, ...f.extra }));
    },
  },
  {
    // Controls follow the node's options and the bus's "allow writes", not an entity group.
    group: 'core',
    entities: (v) => (v.controls && v.settings ? controlEntities(v.controls.protection) : []),
  },
  // Health: only once a jkbms-health node has reported this pack.
  { group: 'core', entities: (v) => (v.health ? packHealthProblem() : []) },
  { group: 'details', entities: (v) => (v.health ? packHealthDiagnostics(v.health) : []) },
];

const round = (x: number, decimals: number): number => {
  const f = 10 ** decimals;
  return Math.round(x * f) / f;
};

/** The JSON state published on the pack's state topic. */
export function packState(v: PackView): Record<string, unknown> {
  const l = v.live;
  const temps: Record<string, number> = {};
  for (const k of presentTemperatures(l.temperatures)) temps[k] = l.temperatures[k] as number;
  const alarms: Record<string, boolean> = {};
  const active: { alarm: string; label: string }[] = [];
  for (const a of HA_ALARMS) {
    const on = ((l.alarmMask >>> a.bit) & 1) === 1;
    alarms[a.name] = on;
    if (on) active.push({ alarm: a.name, label: alarmLabel(a.name) });
  }
  const state: Record<string, unknown> = {
    voltage: l.voltage,
    current: l.current,
    power: l.power,
    soc: l.soc,
    soh: l.soh,
    remaining_capacity: l.remainingAh,
    full_capacity: l.fullChargeAh,
    stored_energy: round((l.remainingAh * l.voltage) / 1000, 3),
    cycles: l.cycles,
    cycle_capacity: l.cycleAh,
    cell_min: l.cellMin,
    cell_max: l.cellMax,
    cell_delta: l.cellDelta,
    cell_avg: l.cellAvg,
    cell_min_index: l.cellMinIndex,
    cell_max_index: l.cellMaxIndex,
    cells: l.cells,
    cell_resistances: l.cellResistances.map((r) => round(r * 1000, 3)),
    temps,
    balancing_current: l.balancingCurrent,
    balancing: l.balancing,
    charging_mos: l.chargingMos,
    discharging_mos: l.dischargingMos,
    precharging: l.precharging,
    heating: l.heating,
    heating_current: l.heatingCurrent,
    charger_plugged: l.chargerPlugged,
    emergency: l.emergency,
    charge_stage: l.chargeStage,
    alarm: l.alarmMask !== 0,
    alarms,
  };
  if (v.energy) {
    state.energy_charged = round(v.energy.chargedKWh, 6);
    state.energy_discharged = round(v.energy.dischargedKWh, 6);
  }
  const shown = settingSensors(v);
  if (v.settings && shown.length) {
    const s: Record<string, unknown> = {};
    for (const x of shown) s[x.key] = v.settings[x.field];
    state.settings = s;
  }
  const device: Record<string, unknown> = {};
  for (const [k, val] of Object.entries(deviceState(v))) if (val !== undefined) device[k] = val;
  state.device = device;
  if (v.controls && v.settings) state.controls = controlState(v.settings, v.controls.protection);
  const attributes: Record<string, unknown> = { alarm: { alarms: active } };
  if (v.health) {
    const h = packHealthState(v.health);
    Object.assign(state, h.state);
    Object.assign(attributes, h.attributes);
  }
  state.attributes = attributes;
  return state;
}

/**
 * What must reach HA at once rather than with the next rate-limited state: the alarm word, the
 * MOS states, the switches of the settings and which health findings there are. A change of
 * this key publishes the state now.
 */
export function packUrgentKey(v: Pick<PackView, 'live' | 'settings' | 'health'>): string {
  const s = v.settings;
  return JSON.stringify([
    v.live.alarmMask,
    v.live.chargingMos,
    v.live.dischargingMos,
    s ? [s.chargingEnabled, s.dischargingEnabled, s.balancingEnabled, s.heatingEnabled, s.switchMask] : null,
    findingsKey(v.health),
  ]);
}

/**
 * HA device name: "JK-PB <deviceName>" when the pack has a name of its own (not blank, not
 * its model or serial, which would give every pack the same name), else "JK-PB Battery <address>".
 */
export function packDeviceName(v: Pick<PackView, 'address' | 'identity' | 'info'>): string {
  const own = nonEmpty(v.identity.name) ?? nonEmpty(v.info?.deviceName);
  const generic = [v.identity.model, v.identity.serialNumber, v.info?.vendorId, v.info?.serialNumber].map(nonEmpty);
  return own !== undefined && !generic.includes(own) ? `JK-PB ${own}` : `JK-PB Battery ${v.address}`;
}

export function packDevice(deviceId: string, v: PackView): DeviceInfo {
  const d = deviceState(v);
  const dev: DeviceInfo = { identifiers: [deviceId], name: packDeviceName(v), manufacturer: MANUFACTURER };
  if (typeof d.model === 'string') dev.model = d.model;
  if (typeof d.firmware === 'string') dev.sw_version = d.firmware;
  if (typeof d.hardware === 'string') dev.hw_version = d.hardware;
  if (typeof d.serial === 'string') dev.serial_number = d.serial;
  return dev;
}

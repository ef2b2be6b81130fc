/**
 * The pack device kind: its view (what we know about one pack), its entity table, its JSON
 * state and its HA device block. Units and classes follow HA's rules (README "Home
 * Assistant" has the entity list): `energy` only with total/total_increasing, `battery` only
 * with `%`, no device class for Ah, diagnostics under `entity_category: diagnostic`.
 */
import { type AlarmDef, ALARMS } from '../protocol/alarms';
import type { InfoPayload, LivePayload, SettingsPayload, Temperatures } from '../protocol/types';
import { controlEntities, controlState } from './controls';
import { type EntityDef, type EntityTable, two } from './entities';
import type { DeviceInfo } from './types';

/** What the `jkbms` node tells us about a pack in `msg.bms`. */
export interface PackIdentity {
  serialNumber: string | null;
  /** vendorId, e.g. "JK_PB2A16S20P". */
  model: string | null;
  hardwareVersion: string | null;
  softwareVersion: string | null;
  /** deviceName as set in the JK app. */
  name: string | null;
}

export interface PackView {
  address: number;
  identity: PackIdentity;
  live: LivePayload;
  settings: SettingsPayload | null;
  info: InfoPayload | null;
  /** Energy counters, kWh; null when the energy group is off. */
  energy: { chargedKWh: number; dischargedKWh: number } | null;
  /** Switches and numbers to announce (needs `settings`); absent or null: none. */
  controls?: { protection: boolean } | null;
}

export const MANUFACTURER = 'Jikong';

export type TemperatureKey = keyof Temperatures;
export const TEMPERATURE_KEYS: readonly TemperatureKey[] = ['mos', 't1', 't2', 't3', 't4', 't5'];

/** Temperature sensors the pack reports as present (non-null), in MOS, T1…T5 order. */
export function presentTemperatures(t: Temperatures): TemperatureKey[] {
  return TEMPERATURE_KEYS.filter((k) => t[k] !== null);
}

/**
 * The alarm bits announced as entities: the named ones of the protocol's alarm table (bits
 * 29–31 are unassigned). Entity key `alarm_<snake name>`, state `alarms.<name>`.
 */
export const HA_ALARMS: readonly AlarmDef[] = ALARMS.filter((a) => a.bit <= 28);

const snake = (camel: string): string => camel.replace(/[A-Z]/g, (c) => '_' + c.toLowerCase()).replace(/(\D)(\d)/g, '$1_$2');

type Def = Omit<EntityDef, 'component'> & { component?: EntityDef['component'] };
const sensor = (d: Def): EntityDef => ({ component: 'sensor', ...d });
const binary = (d: Omit<Def, 'component'>): EntityDef => ({ ...d, component: 'binary_sensor' });

const V = { deviceClass: 'voltage', unit: 'V' } as const;
const A = { deviceClass: 'current', unit: 'A' } as const;
const M = { stateClass: 'measurement' } as const;

/** Settings exposed as diagnostics (state key → payload field). */
const SETTING_SENSORS: readonly { key: string; field: keyof SettingsPayload; name: string; kind: 'V' | 'A' | 'Ah' | 'n' }[] = [
  { key: 'cell_ovp', field: 'cellOvp', name: 'Cell over-voltage protection', kind: 'V' },
  { key: 'cell_uvp', field: 'cellUvp', name: 'Cell under-voltage protection', kind: 'V' },
  { key: 'cell_rcv', field: 'cellRequestChargeVoltage', name: 'Cell charge voltage (RCV)', kind: 'V' },
  { key: 'cell_rfv', field: 'cellRequestFloatVoltage', name: 'Cell float voltage (RFV)', kind: 'V' },
  { key: 'balance_start_voltage', field: 'balanceStartVoltage', name: 'Balancing start voltage', kind: 'V' },
  { key: 'balance_trigger_voltage', field: 'balanceTriggerVoltage', name: 'Balancing trigger delta', kind: 'V' },
  { key: 'max_charge_current', field: 'maxChargeCurrent', name: 'Max charge current', kind: 'A' },
  { key: 'max_discharge_current', field: 'maxDischargeCurrent', name: 'Max discharge current', kind: 'A' },
  { key: 'max_balance_current', field: 'maxBalanceCurrent', name: 'Max balancing current', kind: 'A' },
  { key: 'nominal_capacity', field: 'nominalCapacityAh', name: 'Design capacity', kind: 'Ah' },
  { key: 'cell_count', field: 'cellCount', name: 'Configured cell count', kind: 'n' },
];

const SETTING_SWITCHES: readonly { key: string; field: keyof SettingsPayload; name: string }[] = [
  { key: 'charging_enabled', field: 'chargingEnabled', name: 'Charging enabled' },
  { key: 'discharging_enabled', field: 'dischargingEnabled', name: 'Discharging enabled' },
  { key: 'balancing_enabled', field: 'balancingEnabled', name: 'Balancing enabled' },
  { key: 'heating_enabled', field: 'heatingEnabled', name: 'Heating enabled' },
];

const settingUnit = (kind: 'V' | 'A' | 'Ah' | 'n'): Partial<EntityDef> =>
  kind === 'V' ? { ...V, precision: 3 } : kind === 'A' ? { ...A, precision: 1 } : kind === 'Ah' ? { unit: 'Ah', precision: 0 } : {};

/** Device-info diagnostics; each appears once its value is known. */
const DEVICE_FIELDS: readonly { key: string; name: string; extra?: Partial<EntityDef> }[] = [
  { key: 'model', name: 'Model' },
  { key: 'firmware', name: 'Firmware' },
  { key: 'hardware', name: 'Hardware version' },
  { key: 'serial', name: 'Serial number' },
  { key: 'bms_name', name: 'BMS name' },
  { key: 'manufacturing_date', name: 'Manufacturing date', extra: { deviceClass: 'date' } },
  { key: 'power_on_count', name: 'Power-on count', extra: { stateClass: 'total_increasing', icon: 'mdi:power' } },
  { key: 'uart1_protocol', name: 'UART1 protocol' },
  { key: 'uart2_protocol', name: 'UART2 protocol' },
  { key: 'can_protocol', name: 'CAN protocol' },
];

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
      sensor({ key: 'stored_energy', name: 'Stored energy', path: ['stored_energy'], deviceClass: 'energy_storage', unit: 'kWh', ...M, precision: 2 }),
      sensor({ key: 'cycles', name: 'Cycles', path: ['cycles'], stateClass: 'total_increasing', precision: 0, icon: 'mdi:battery-sync' }),
      sensor({ key: 'cell_min', name: 'Min cell voltage', path: ['cell_min'], ...V, ...M, precision: 3 }),
      sensor({ key: 'cell_max', name: 'Max cell voltage', path: ['cell_max'], ...V, ...M, precision: 3 }),
      sensor({ key: 'cell_delta', name: 'Cell voltage delta', path: ['cell_delta'], ...V, ...M, precision: 3, diagnostic: true }),
      sensor({ key: 'balancing_current', name: 'Balancing current', path: ['balancing_current'], ...A, ...M, precision: 3, diagnostic: true }),
      sensor({ key: 'balancing', name: 'Balancing', path: ['balancing'], deviceClass: 'enum', options: ['off', 'charge', 'discharge'], icon: 'mdi:scale-balance' }),
      binary({ key: 'charging_mos', name: 'Charging MOS', path: ['charging_mos'], icon: 'mdi:electric-switch' }),
      binary({ key: 'discharging_mos', name: 'Discharging MOS', path: ['discharging_mos'], icon: 'mdi:electric-switch' }),
      binary({ key: 'precharging', name: 'Precharging', path: ['precharging'], diagnostic: true }),
      binary({ key: 'heating', name: 'Heating', path: ['heating'], deviceClass: 'running', icon: 'mdi:radiator' }),
      binary({ key: 'alarm', name: 'Alarm', path: ['alarm'], deviceClass: 'problem' }),
    ],
  },
  {
    group: 'cells',
    entities: (v) =>
      v.live.cells.map((_, i) =>
        sensor({ key: `cell_${two(i + 1)}`, name: `Cell ${i + 1} voltage`, path: ['cells', i], ...V, ...M, precision: 3 }),
      ),
  },
  {
    group: 'resistances',
    entities: (v) =>
      v.live.cellResistances.map((_, i) =>
        sensor({
          key: `cell_${two(i + 1)}_resistance`,
          name: `Cell ${i + 1} resistance`,
          path: ['cell_resistances', i],
          unit: 'mΩ',
          ...M,
          precision: 1,
          diagnostic: true,
          icon: 'mdi:omega',
        }),
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
      sensor({ key: 'cell_avg', name: 'Average cell voltage', path: ['cell_avg'], ...V, ...M, precision: 3, diagnostic: true }),
      sensor({ key: 'cell_min_index', name: 'Lowest cell', path: ['cell_min_index'], diagnostic: true, icon: 'mdi:battery-arrow-down' }),
      sensor({ key: 'cell_max_index', name: 'Highest cell', path: ['cell_max_index'], diagnostic: true, icon: 'mdi:battery-arrow-up' }),
      sensor({ key: 'cycle_capacity', name: 'Cycled capacity', path: ['cycle_capacity'], unit: 'Ah', stateClass: 'total_increasing', precision: 0, diagnostic: true, icon: 'mdi:battery-sync' }),
      sensor({ key: 'heating_current', name: 'Heating current', path: ['heating_current'], ...A, ...M, precision: 2, diagnostic: true }),
      sensor({ key: 'charge_stage', name: 'Charge stage', path: ['charge_stage'], deviceClass: 'enum', options: ['bulk', 'absorption', 'float'], diagnostic: true, icon: 'mdi:battery-charging' }),
      binary({ key: 'charger_plugged', name: 'Charger plugged', path: ['charger_plugged'], deviceClass: 'plug', diagnostic: true }),
      binary({ key: 'emergency', name: 'Emergency mode', path: ['emergency'], diagnostic: true, icon: 'mdi:alert-octagon' }),
      ...HA_ALARMS.map((a) =>
        binary({ key: `alarm_${snake(a.name)}`, name: `Alarm: ${a.label}`, path: ['alarms', a.name], deviceClass: 'problem', diagnostic: true }),
      ),
      ...(v.settings === null
        ? []
        : [
            ...SETTING_SWITCHES.map((s) => binary({ key: `setting_${s.key}`, name: s.name, path: ['settings', s.key], diagnostic: true })),
            ...SETTING_SENSORS.map((s) =>
              sensor({ key: `setting_${s.key}`, name: s.name, path: ['settings', s.key], ...settingUnit(s.kind), diagnostic: true, icon: s.kind === 'n' ? 'mdi:counter' : undefined }),
            ),
          ]),
    ],
  },
  {
    group: 'device',
    entities: (v) => {
      const d = deviceState(v);
      return DEVICE_FIELDS.filter((f) => d[f.key] !== undefined).map((f) =>
        sensor({ key: f.key, name: f.name, path: ['device', f.key], diagnostic: true, ...f.extra }),
      );
    },
  },
  {
    // Controls follow the node's options and the bus's "allow writes", not an entity group.
    group: 'core',
    entities: (v) => (v.controls && v.settings ? controlEntities(v.controls.protection) : []),
  },
];

/** "YYMMDD" → "20YY-MM-DD" (HA `date` sensors want ISO dates); null when not a date. */
export function isoManufacturingDate(raw: string): string | null {
  const m = /^(\d\d)(\d\d)(\d\d)$/.exec(raw.trim());
  if (!m) return null;
  const [y, mo, d] = [2000 + Number(m[1]), Number(m[2]), Number(m[3])];
  const date = new Date(Date.UTC(y, mo - 1, d));
  if (date.getUTCMonth() !== mo - 1 || date.getUTCDate() !== d) return null;
  return `${y}-${m[2]}-${m[3]}`;
}

const nonEmpty = (s: string | null | undefined): string | undefined => (typeof s === 'string' && s.trim() !== '' ? s.trim() : undefined);

/** Device-info values known for a pack (undefined = unknown, not announced). Never passcodes. */
function deviceState(v: PackView): Record<string, string | number | null | undefined> {
  const { identity: id, info } = v;
  return {
    model: nonEmpty(id.model) ?? nonEmpty(info?.vendorId),
    firmware: nonEmpty(id.softwareVersion) ?? nonEmpty(info?.softwareVersion),
    hardware: nonEmpty(id.hardwareVersion) ?? nonEmpty(info?.hardwareVersion),
    serial: nonEmpty(id.serialNumber) ?? nonEmpty(info?.serialNumber),
    bms_name: nonEmpty(id.name) ?? nonEmpty(info?.deviceName),
    manufacturing_date: info ? isoManufacturingDate(info.manufacturingDate) : undefined,
    power_on_count: info?.powerOnCount,
    uart1_protocol: info?.uart1Protocol,
    uart2_protocol: info?.uart2Protocol,
    can_protocol: info?.canProtocol,
  };
}

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
  for (const a of HA_ALARMS) alarms[a.name] = ((l.alarmMask >>> a.bit) & 1) === 1;
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
  if (v.settings) {
    const s: Record<string, unknown> = {};
    for (const x of SETTING_SWITCHES) s[x.key] = v.settings[x.field];
    for (const x of SETTING_SENSORS) s[x.key] = v.settings[x.field];
    state.settings = s;
  }
  const device: Record<string, unknown> = {};
  for (const [k, val] of Object.entries(deviceState(v))) if (val !== undefined) device[k] = val;
  state.device = device;
  if (v.controls && v.settings) state.controls = controlState(v.settings, v.controls.protection);
  return state;
}

/**
 * HA device name: "JK-PB <deviceName>" when the pack has a name of its own (not blank, not
 * its model or serial, which would give every pack the same name), else "JK-PB Battery <address>".
 */
export function packDeviceName(v: PackView): string {
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

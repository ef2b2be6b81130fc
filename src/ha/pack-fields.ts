/**
 * What the pack device kind knows about one pack (its view) and the field lists its entity
 * table (src/ha/pack.ts) and its JSON state share: the alarm bits, the settings shown as
 * sensors, the device-info fields.
 */
import type { BmsIdentity } from '../messages/message';
import { type AlarmDef, ALARMS } from '../protocol/alarms';
import { findSetting } from '../protocol/settings';
import type { InfoPayload, LivePayload, SettingsPayload } from '../protocol/types';
import { controlSettings } from './controls';
import type { EntityDef } from './entities';
import type { PackHealthView } from './health';

/** The device-info fields the HA side uses (never the passcodes): what is remembered of a pack's info frame. */
export const INFO_FIELDS = ['vendorId', 'hardwareVersion', 'softwareVersion', 'deviceName', 'manufacturingDate', 'serialNumber', 'powerOnCount', 'uart1Protocol', 'uart2Protocol', 'canProtocol'] as const;
export type PackInfo = Pick<InfoPayload, (typeof INFO_FIELDS)[number]>;

export function packInfo(p: PackInfo): PackInfo {
  return Object.fromEntries(INFO_FIELDS.map((k) => [k, p[k]])) as unknown as PackInfo;
}

export interface PackView {
  address: number;
  /** What the jkbms node says about the pack (msg.bms), with the serial number the bridge settled on. */
  identity: BmsIdentity;
  live: LivePayload;
  settings: SettingsPayload | null;
  info: PackInfo | null;
  /** Energy counters, kWh; null when the energy group is off. */
  energy: { chargedKWh: number; dischargedKWh: number } | null;
  /** Switches and numbers to announce (needs `settings`); absent or null: none. */
  controls?: { protection: boolean } | null;
  /** The last report of a jkbms-health node about this pack; absent or null: none yet, no health entities. */
  health?: PackHealthView | null;
}

/**
 * The alarm bits announced as entities: the named ones of the protocol's alarm table (bits
 * 29–31 are unassigned). Entity key `alarm_<snake name>`, state `alarms.<name>`.
 */
export const HA_ALARMS: readonly AlarmDef[] = ALARMS.filter((a) => a.bit <= 28);

/**
 * Settings shown as (diagnostic, disabled by default) sensors when they are not controls of the
 * pack: state key → settings field. Named with the register table's label, like the control.
 */
const SETTING_FIELDS: readonly { key: string; field: keyof SettingsPayload & string }[] = [
  { key: 'charging_enabled', field: 'chargingEnabled' },
  { key: 'discharging_enabled', field: 'dischargingEnabled' },
  { key: 'balancing_enabled', field: 'balancingEnabled' },
  { key: 'heating_enabled', field: 'heatingEnabled' },
  { key: 'cell_ovp', field: 'cellOvp' },
  { key: 'cell_uvp', field: 'cellUvp' },
  { key: 'cell_rcv', field: 'cellRequestChargeVoltage' },
  { key: 'cell_rfv', field: 'cellRequestFloatVoltage' },
  { key: 'balance_start_voltage', field: 'balanceStartVoltage' },
  { key: 'balance_trigger_voltage', field: 'balanceTriggerVoltage' },
  { key: 'max_charge_current', field: 'maxChargeCurrent' },
  { key: 'max_discharge_current', field: 'maxDischargeCurrent' },
  { key: 'max_balance_current', field: 'maxBalanceCurrent' },
  { key: 'nominal_capacity', field: 'nominalCapacityAh' },
  { key: 'cell_count', field: 'cellCount' },
];

export interface SettingSensor {
  key: string;
  field: keyof SettingsPayload & string;
  name: string;
  /** '' for switches, else the register table's unit (V, A, Ah, cells). */
  unit: string;
  kind: 'number' | 'switch';
}

export const SETTING_SENSORS: readonly SettingSensor[] = SETTING_FIELDS.map(({ key, field }) => {
  const def = findSetting(field);
  if (!def) throw new Error(`settings table: no setting ${field}`);
  return { key, field, name: def.label, unit: def.unit, kind: def.kind === 'number' ? 'number' : 'switch' };
});

/** The settings sensors of a pack: none before its settings are known, and none for a setting that is one of its controls. */
export function settingSensors(v: Pick<PackView, 'settings' | 'controls'>): SettingSensor[] {
  if (!v.settings) return [];
  const controls = v.controls ? new Set(controlSettings(v.controls.protection).map((d) => d.name)) : new Set<string>();
  return SETTING_SENSORS.filter((s) => !controls.has(s.field));
}

/** Device-info diagnostics; each appears once its value is known. Protocol numbers are codes: no state class. */
export const DEVICE_FIELDS: readonly { key: string; name: string; extra?: Partial<EntityDef> }[] = [
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

/** "YYMMDD" → "20YY-MM-DD" (HA `date` sensors want ISO dates); null when not a date. */
export function isoManufacturingDate(raw: string): string | null {
  const m = /^(\d\d)(\d\d)(\d\d)$/.exec(raw.trim());
  if (!m) return null;
  const [y, mo, d] = [2000 + Number(m[1]), Number(m[2]), Number(m[3])];
  const date = new Date(Date.UTC(y, mo - 1, d));
  if (date.getUTCMonth() !== mo - 1 || date.getUTCDate() !== d) return null;
  return `${y}-${m[2]}-${m[3]}`;
}

export const nonEmpty = (s: string | null | undefined): string | undefined => (typeof s === 'string' && s.trim() !== '' ? s.trim() : undefined);

/** Device-info values known for a pack (undefined = unknown, not announced). Never passcodes. */
export function deviceState(v: Pick<PackView, 'identity' | 'info'>): Record<string, string | number | null | undefined> {
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

/**
 * Home Assistant controls: switch and number entities for the writable settings of a pack,
 * their state, and what closes the loop (HA command → write request for a `jkbms-write` node →
 * its confirmed result, or its error through a Catch node; src/ha/control-input.ts parses those).
 *
 * Which settings: every entry of the register table (src/protocol/settings.ts) except the
 * protection ones unless asked for, and except those HA cannot represent (a number step below
 * HA's smallest step 0.001: the short-circuit delay in µs). On/off registers and switch-word
 * bits become switches; the rest numbers with the table's min / max / step / unit. Each is
 * named with the table's label, the one name of that setting everywhere (HA, README, node help).
 *
 * Enabled in HA by default: the switches of PRIMARY_SWITCHES. Every other switch and every
 * number is announced with `enabled_by_default: false` (the user switches it on in HA).
 */
import { findSetting, readSetting, SETTINGS, type SettingDef } from '../protocol/settings';
import type { SettingsPayload } from '../protocol/types';
import { snake } from './constants';
import type { EntityDef } from './entities';

/** HA's smallest number step. */
const HA_MIN_STEP = 0.001;

/** Switches enabled in HA by default: the pack's main on/off switches. */
export const PRIMARY_SWITCHES: readonly string[] = ['chargingEnabled', 'dischargingEnabled', 'balancingEnabled', 'heatingEnabled'];

/** The settings announced as controls, in register-table order. */
export function controlSettings(protection: boolean): SettingDef[] {
  return SETTINGS.filter((d) => (protection || !d.protection) && (d.kind !== 'number' || d.step >= HA_MIN_STEP));
}

/** Entity key of a control: `set_<snake name>` (e.g. `set_charging_enabled`, `set_cell_ovp`). */
export function controlKey(setting: string): string {
  return `set_${snake(setting)}`;
}

const NUMBER_CLASSES: Record<string, string> = { V: 'voltage', A: 'current', '°C': 'temperature', s: 'duration' };

const SWITCH_ICONS: Record<string, string> = {
  chargingEnabled: 'mdi:battery-arrow-up',
  dischargingEnabled: 'mdi:battery-arrow-down',
  balancingEnabled: 'mdi:scale-balance',
  heatingEnabled: 'mdi:radiator',
};

/** The switch and number entities (state path `controls.<setting>`). */
export function controlEntities(protection: boolean): EntityDef[] {
  return controlSettings(protection).map((d): EntityDef => {
    const base = { key: controlKey(d.name), name: d.label, path: ['controls', d.name], config: true };
    if (d.kind !== 'number') {
      const icon = SWITCH_ICONS[d.name];
      return { ...base, component: 'switch', command: { setting: d.name }, ...(icon ? { icon } : {}), ...(PRIMARY_SWITCHES.includes(d.name) ? {} : { disabled: true }) };
    }
    const deviceClass = NUMBER_CLASSES[d.unit];
    return {
      ...base,
      component: 'number',
      ...(deviceClass ? { deviceClass } : {}),
      ...(d.unit ? { unit: d.unit } : {}),
      command: { setting: d.name, min: d.min, max: d.max, step: d.step },
      disabled: true,
    };
  });
}

/** `controls` of the pack's JSON state: setting name → current value. */
export function controlState(settings: SettingsPayload, protection: boolean): Record<string, number | boolean | null> {
  const out: Record<string, number | boolean | null> = {};
  for (const d of controlSettings(protection)) out[d.name] = readSetting(settings, d.name) ?? null;
  return out;
}

/**
 * The settings after a confirmed value: the field itself, and for a bit of the switch word the
 * raw word too (so the next announcement and state agree with the pack).
 */
export function applyConfirmed(settings: SettingsPayload, setting: string, value: number | boolean): SettingsPayload {
  const def = findSetting(setting);
  if (!def || typeof value !== (def.kind === 'number' ? 'number' : 'boolean')) return settings;
  const next = { ...settings, [setting]: value } as SettingsPayload;
  if (def.kind === 'bit' && typeof next.switchMask === 'number') {
    const bit = 1 << def.bit!;
    next.switchMask = value ? next.switchMask | bit : next.switchMask & ~bit;
  }
  return next;
}

/**
 * An HA command payload as a value for `jkbms-write`: ON/OFF (any case), true/false and 1/0
 * for switches, a number for numbers. Anything else is passed on as text, so jkbms-write
 * refuses it with the setting's range in its error.
 */
export function commandValue(def: SettingDef, text: string): number | boolean | string {
  const t = text.trim();
  if (def.kind !== 'number') {
    const l = t.toLowerCase();
    if (l === 'on' || l === 'true' || l === '1') return true;
    if (l === 'off' || l === 'false' || l === '0') return false;
    return t;
  }
  const n = Number(t);
  return t !== '' && Number.isFinite(n) ? n : t;
}

/**
 * Home Assistant controls: switch and number entities for the writable settings of a pack,
 * their state, and the messages that close the loop (HA command → write request for a
 * `jkbms-write` node → its confirmed result, or its error through a Catch node).
 *
 * Which settings: every entry of the register table (src/protocol/settings.ts) except the
 * protection ones unless asked for, and except those HA cannot represent (a number step below
 * HA's smallest step 0.001: the short-circuit delay in µs). On/off registers and switch-word
 * bits become switches; the rest numbers with the table's min / max / step / unit.
 */
import { findSetting, readSetting, SETTINGS, type SettingDef } from '../protocol/settings';
import type { SettingsPayload } from '../protocol/types';
import type { EntityDef } from './entities';
import { type BmsRef, checkBms } from './input';

/** HA's smallest number step. */
const HA_MIN_STEP = 0.001;

/** The settings announced as controls, in register-table order. */
export function controlSettings(protection: boolean): SettingDef[] {
  return SETTINGS.filter((d) => (protection || !d.protection) && (d.kind !== 'number' || d.step >= HA_MIN_STEP));
}

const snake = (camel: string): string => camel.replace(/[A-Z]/g, (c) => '_' + c.toLowerCase()).replace(/(\D)(\d)/g, '$1_$2');

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
      return { ...base, component: 'switch', command: { setting: d.name }, ...(icon ? { icon } : {}) };
    }
    const deviceClass = NUMBER_CLASSES[d.unit];
    return {
      ...base,
      component: 'number',
      ...(deviceClass ? { deviceClass } : {}),
      ...(d.unit ? { unit: d.unit } : {}),
      command: { setting: d.name, min: d.min, max: d.max, step: d.step },
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

/** What a `jkbms-write` node reports (its output payload). */
export interface WrittenResult {
  ok: boolean;
  setting: string;
  after: number | boolean | null;
}

/** Control messages jkbms-ha accepts besides the jkbms data (src/ha/input.ts). */
export type ControlInput =
  /**
   * An HA command from an `mqtt in` node on `<base>/+/+/set/+`. `retained`: delivered from the
   * broker's store (msg.retain), not sent now; refused, or every restart would write it again.
   */
  | { kind: 'command'; topic: string; text: string; retained: boolean }
  /** A jkbms-write result (its output wired back). */
  | { kind: 'written'; bms: BmsRef; result: WrittenResult }
  /** A refused or failed write request, from a Catch node (msg.error). */
  | { kind: 'write-failed'; bms: BmsRef; setting: string }
  /** Anything else a Catch node delivers: not ours to act on (and never an error, to avoid loops). */
  | { kind: 'ignored' };

type Obj = Record<string, unknown>;
const isObj = (x: unknown): x is Obj => typeof x === 'object' && x !== null && !Array.isArray(x) && !Buffer.isBuffer(x);
const COMMAND_TOPIC = /\/set\/[^/]+$/;

const scalarText = (p: unknown): string | null =>
  typeof p === 'string' ? p : Buffer.isBuffer(p) ? p.toString('utf8') : typeof p === 'number' || typeof p === 'boolean' ? String(p) : null;

/**
 * Classify a control message, or null when it is none (then it is jkbms data, a birth or a
 * remove command: parseInput). Throws HaInputError for a malformed result or `msg.bms`.
 */
export function parseControl(msg: { topic?: unknown; payload?: unknown; bms?: unknown; error?: unknown; retain?: unknown }): ControlInput | null {
  const p = msg.payload;
  const isResult = isObj(p) && typeof p.ok === 'boolean' && typeof p.setting === 'string' && 'requested' in p;
  if (msg.error !== undefined && msg.error !== null) {
    // From a Catch node: never throw (an error here would be caught again).
    let bms: BmsRef;
    try {
      bms = checkBms(msg.bms);
    } catch {
      return { kind: 'ignored' };
    }
    if (isResult) return { kind: 'written', bms, result: result(p) };
    if (isObj(p) && typeof p.setting === 'string') return { kind: 'write-failed', bms, setting: p.setting };
    return { kind: 'ignored' };
  }
  if (isResult) return { kind: 'written', bms: checkBms(msg.bms), result: result(p) };
  if (msg.bms === undefined && typeof msg.topic === 'string' && COMMAND_TOPIC.test(msg.topic)) {
    const text = scalarText(p);
    if (text !== null) return { kind: 'command', topic: msg.topic, text, retained: msg.retain === true };
  }
  return null;
}

function result(p: Obj): WrittenResult {
  const after = p.after;
  return { ok: p.ok as boolean, setting: p.setting as string, after: typeof after === 'number' || typeof after === 'boolean' ? after : null };
}

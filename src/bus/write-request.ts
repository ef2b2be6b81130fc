import { SettingError, validateSetting, type SettingDef } from '../protocol/settings';
import { parseAddress } from '../common/address';

/**
 * The checks of a settings-write request, as a flow sends it in `msg.payload` — before anything
 * is queued. Shared by every way into a write (the jkbms-write node; Home Assistant controls).
 *
 * Accepted shapes: `{setting, value}`, `{address, setting, value}`, or one setting as key
 * (`{maxChargeCurrent: 50}`, `{address: 2, charging: false}`, with the shorthands below).
 */

/** Shorthand keys (`{charging: false}`) and the settings they stand for. */
export const WRITE_SHORTHANDS: Readonly<Record<string, string>> = Object.freeze({
  charging: 'chargingEnabled',
  discharging: 'dischargingEnabled',
  balancing: 'balancingEnabled',
  balancer: 'balancingEnabled',
  heating: 'heatingEnabled',
  floatMode: 'chargingFloatMode',
});

export type WriteTarget = number | 'all';

/** Why a request was refused: BAD_MESSAGE (its shape), INVALID_SETTING, OUT_OF_RANGE, PROTECTED. */
export type WriteRequestCode = 'BAD_MESSAGE' | 'INVALID_SETTING' | 'OUT_OF_RANGE' | 'PROTECTED';

export class WriteRequestError extends Error {
  constructor(
    readonly code: WriteRequestCode,
    message: string,
  ) {
    super(message);
    this.name = 'WriteRequestError';
  }
}

/** A checked request: where, which setting (its definition) and the value as it will be written. */
export interface WriteRequest {
  target: WriteTarget;
  def: SettingDef;
  value: number | boolean;
}

export interface WriteRequestOptions {
  /** The target when the request names no address. */
  defaultTarget: WriteTarget;
  /** Protection settings may be written (an explicit opt-in besides the bus's "allow writes"). */
  allowProtection: boolean;
  /** Ends the PROTECTED message: how to opt in (default: a generic sentence). */
  protectionHint?: string;
}

/** "all", or a pack address 0–15 given as a number or a numeric string; null otherwise. */
export function parseWriteTarget(raw: unknown): WriteTarget | null {
  if (raw === 'all') return 'all';
  return parseAddress(raw);
}

/** A value as a message shows it: JSON, but NaN and ±Infinity by name (JSON would say null). */
export function shownValue(v: unknown): string {
  if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
  if (typeof v === 'function') return 'a function';
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

const USAGE = 'msg.payload must be an object: {setting, value}, {address, setting, value} or a shorthand such as {charging: false}';

const isPlainObject = (x: unknown): x is Record<string, unknown> =>
  typeof x === 'object' && x !== null && !Array.isArray(x) && !Buffer.isBuffer(x);

/** The setting a name or shorthand stands for (own keys only: `constructor` is not a shorthand). */
function settingName(name: string): string {
  return Object.hasOwn(WRITE_SHORTHANDS, name) ? WRITE_SHORTHANDS[name]! : name;
}

/**
 * Check a write request: its shape, the target address, the setting name (or shorthand), the
 * value against the register table (range, step) and the protection opt-in. Returns the
 * request ready for `engine.write()`; throws a WriteRequestError whose message says what is
 * wrong and what is allowed (messages name the fields as `msg.payload.…`).
 */
export function checkWriteRequest(payload: unknown, o: WriteRequestOptions): WriteRequest {
  if (!isPlainObject(payload)) throw new WriteRequestError('BAD_MESSAGE', USAGE);
  let target = o.defaultTarget;
  if (payload.address !== undefined) {
    const t = parseWriteTarget(payload.address);
    if (t === null) throw new WriteRequestError('BAD_MESSAGE', `msg.payload.address must be "all" or a whole number 0-15, got ${shownValue(payload.address)}`);
    target = t;
  }
  let name: string;
  let raw: unknown;
  if (payload.setting !== undefined) {
    const extra = Object.keys(payload).filter((k) => k !== 'address' && k !== 'setting' && k !== 'value');
    if (extra.length) {
      throw new WriteRequestError('BAD_MESSAGE', `unexpected ${extra.map((k) => `msg.payload.${k}`).join(', ')} next to msg.payload.setting (one setting per message)`);
    }
    if (typeof payload.setting !== 'string' || payload.setting.trim() === '') {
      throw new WriteRequestError('BAD_MESSAGE', `msg.payload.setting must be a setting name, got ${shownValue(payload.setting)}`);
    }
    if (!('value' in payload) || payload.value === undefined || payload.value === null) {
      throw new WriteRequestError('BAD_MESSAGE', `msg.payload.value is missing (the new value of ${payload.setting})`);
    }
    name = payload.setting.trim();
    raw = payload.value;
  } else {
    const keys = Object.keys(payload).filter((k) => k !== 'address');
    if (keys.length !== 1) {
      throw new WriteRequestError(
        'BAD_MESSAGE',
        keys.length === 0 ? `no setting in msg.payload; ${USAGE}` : `exactly one setting per message, got ${keys.length} (${keys.join(', ')})`,
      );
    }
    name = keys[0]!;
    raw = payload[name];
  }
  let checked: { def: SettingDef; value: number | boolean };
  try {
    checked = validateSetting(settingName(name), raw);
  } catch (err) {
    if (!(err instanceof SettingError)) throw err;
    if (err.code === 'OUT_OF_RANGE') throw new WriteRequestError('OUT_OF_RANGE', err.message);
    throw new WriteRequestError('INVALID_SETTING', `${err.message} (shorthands: ${Object.keys(WRITE_SHORTHANDS).join(', ')})`);
  }
  const { def, value } = checked;
  if (def.protection && !o.allowProtection) {
    throw new WriteRequestError(
      'PROTECTED',
      `${def.name} (${def.label}) is a protection setting: a wrong value can disable a protection of the pack. ` +
        (o.protectionHint ?? 'Writing it needs the explicit protection opt-in (allowProtection)'),
    );
  }
  return { target, def, value };
}

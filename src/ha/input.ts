/**
 * What the `jkbms-ha` node accepts besides control messages (src/ha/control-input.ts), checked
 * field by field (src/ha/check.ts): jkbms messages, jkbms-bank summaries, jkbms-health reports
 * (src/ha/health-input.ts), HA's birth message and the remove command.
 */
import { bankIdFrom } from '../bank/config';
import type { BankIdentity } from '../bank/types';
import type { BmsIdentity } from '../messages/message';
import type { BalancingState, ChargeStage, InfoPayload, LivePayload, SettingsPayload } from '../protocol/types';
import type { BankSummary } from './bank';
import { address, bool, boolOrNull, checkBms, checkInfo, checkSettings, HaInputError, isAddress, isCount, isNum, isObj, num, numArray, numOrNull, type Obj, str, strOrNull } from './check';
import { TEMPERATURE_KEYS, type TemperatureKey } from './constants';
import type { BankHealthView, PackHealthView } from './health';
import { checkBankHealth, checkPackHealth, healthBankBus } from './health-input';

export { HaInputError } from './check';

/** `all`: every pack and bank; `bank`: the bank devices; `address` / `serialNumber`: packs. */
export type RemoveTarget = { all: true } | { all?: false; address?: number; serialNumber?: string; bank?: true };

export type HaInput =
  | { kind: 'birth'; online: boolean }
  | { kind: 'remove'; target: RemoveTarget }
  /** `at`: the frame's wall-clock time (msg.frame.ts, epoch ms) when the message carries it. */
  | { kind: 'live'; bms: BmsIdentity; payload: LivePayload; at: number | null }
  | { kind: 'settings'; bms: BmsIdentity; payload: SettingsPayload }
  | { kind: 'info'; bms: BmsIdentity; payload: InfoPayload }
  | { kind: 'availability'; bms: BmsIdentity; online: boolean }
  /** A jkbms-bank summary. */
  | { kind: 'bank'; bank: BankIdentity; summary: BankSummary }
  /** A jkbms-health report of one pack (output 1); `serialNumber`: the pack it is about, when known. */
  | { kind: 'health'; bms: BmsIdentity; serialNumber: string | null; health: PackHealthView }
  /** A jkbms-health report of the bank of a bus (output 2). */
  | { kind: 'health-bank'; bus: { bus: string; busId: string }; health: BankHealthView };

export interface InputOptions {
  /**
   * The config node id of the deployed jkbms-bus with this name, or null when there is none or
   * several (a bank or bank health message without msg.bms names its bus only in its topic).
   */
  busIdOf?: (busName: string) => string | null;
}

const BALANCING: readonly BalancingState[] = ['off', 'charge', 'discharge'];
const STAGES: readonly (ChargeStage | null)[] = ['bulk', 'absorption', 'float', null];

function checkLive(p: Obj): LivePayload {
  const at = 'msg.payload';
  for (const k of ['voltage', 'current', 'power', 'soc', 'soh', 'remainingAh', 'fullChargeAh', 'cycles', 'cycleAh', 'cellAvg', 'cellDelta', 'cellMinIndex', 'cellMaxIndex', 'balancingCurrent', 'heatingCurrent']) {
    num(p, k, at);
  }
  numOrNull(p, 'cellMin', at);
  numOrNull(p, 'cellMax', at);
  const cells = numArray(p, 'cells', at);
  if (cells.length > 32) throw new HaInputError('bad-field', `${at}.cells`);
  if (p.cellCount !== cells.length) throw new HaInputError('bad-field', `${at}.cellCount`);
  numArray(p, 'cellResistances', at, cells.length);
  if (!Number.isInteger(p.alarmMask) || (p.alarmMask as number) < 0 || (p.alarmMask as number) > 0xffffffff) {
    throw new HaInputError('bad-field', `${at}.alarmMask`);
  }
  const t = p.temperatures;
  if (!isObj(t)) throw new HaInputError('bad-field', `${at}.temperatures`);
  for (const k of TEMPERATURE_KEYS) numOrNull(t, k, `${at}.temperatures`);
  if (!BALANCING.includes(p.balancing as BalancingState)) throw new HaInputError('bad-field', `${at}.balancing`);
  if (!STAGES.includes(p.chargeStage as ChargeStage | null)) throw new HaInputError('bad-field', `${at}.chargeStage`);
  for (const k of ['chargingMos', 'dischargingMos', 'precharging', 'heating', 'chargerPlugged', 'emergency']) bool(p, k, at);
  return p as unknown as LivePayload;
}

function nullOr<T>(o: Obj, k: string, at: string, check: (v: Obj, at: string) => T): T | null {
  const v = o[k];
  if (v === null) return null;
  if (!isObj(v)) throw new HaInputError('bad-field', `${at}.${k}`);
  return check(v, `${at}.${k}`);
}

/** The fields of a jkbms-bank summary that the bank device uses (src/bank/types.ts), checked and copied. */
function checkBank(p: Obj): BankSummary {
  const at = 'msg.payload';
  for (const k of ['packsOnline', 'packsExpected']) if (!isCount(p[k])) throw new HaInputError('bad-field', `${at}.${k}`);
  if (!Array.isArray(p.stale)) throw new HaInputError('bad-field', `${at}.stale`);
  p.stale.forEach((a, i) => {
    if (!isAddress(a)) throw new HaInputError('bad-field', `${at}.stale[${i}]`);
  });
  for (const k of ['current', 'power', 'voltage', 'soc', 'remainingAh', 'fullChargeAh', 'cellDelta']) numOrNull(p, k, at);
  for (const k of ['alarm', 'chargingMos', 'dischargingMos']) bool(p, k, at);
  for (const k of ['chargingEnabled', 'dischargingEnabled']) boolOrNull(p, k, at);
  for (const k of ['energyChargedKwh', 'energyDischargedKwh']) {
    if (!isNum(p[k]) || (p[k] as number) < 0) throw new HaInputError('bad-field', `${at}.${k}`);
  }
  const cell = (c: Obj, cat: string) => {
    num(c, 'voltage', cat);
    if (!Number.isInteger(c.cell) || (c.cell as number) < 1) throw new HaInputError('bad-field', `${cat}.cell`);
    return { voltage: c.voltage as number, address: address(c, cat), cell: c.cell as number };
  };
  const temperature = (t: Obj, tat: string) => {
    num(t, 'value', tat);
    if (!TEMPERATURE_KEYS.includes(t.sensor as TemperatureKey)) throw new HaInputError('bad-field', `${tat}.sensor`);
    return { value: t.value as number, address: address(t, tat), sensor: t.sensor as TemperatureKey };
  };
  const alarms = p.alarms;
  if (!Array.isArray(alarms)) throw new HaInputError('bad-field', `${at}.alarms`);
  return {
    packsOnline: p.packsOnline as number,
    packsExpected: p.packsExpected as number,
    stale: [...(p.stale as number[])],
    current: p.current as number | null,
    power: p.power as number | null,
    voltage: p.voltage as number | null,
    soc: p.soc as number | null,
    remainingAh: p.remainingAh as number | null,
    fullChargeAh: p.fullChargeAh as number | null,
    cellMin: nullOr(p, 'cellMin', at, cell),
    cellMax: nullOr(p, 'cellMax', at, cell),
    cellDelta: p.cellDelta as number | null,
    maxPackDelta: nullOr(p, 'maxPackDelta', at, (d, dat) => {
      num(d, 'delta', dat);
      return { delta: d.delta as number, address: address(d, dat) };
    }),
    temperatureMin: nullOr(p, 'temperatureMin', at, temperature),
    temperatureMax: nullOr(p, 'temperatureMax', at, temperature),
    alarm: p.alarm as boolean,
    alarms: alarms.map((a: unknown, i) => {
      const aat = `${at}.alarms[${i}]`;
      if (!isObj(a)) throw new HaInputError('bad-field', aat);
      str(a, 'alarm', aat);
      str(a, 'label', aat);
      return { address: address(a, aat), alarm: a.alarm as string, label: a.label as string };
    }),
    chargingEnabled: p.chargingEnabled as boolean | null,
    dischargingEnabled: p.dischargingEnabled as boolean | null,
    chargingMos: p.chargingMos as boolean,
    dischargingMos: p.dischargingMos as boolean,
    energyChargedKwh: p.energyChargedKwh as number,
    energyDischargedKwh: p.energyDischargedKwh as number,
  };
}

/**
 * A bank message: its identity from `msg.bms` ({bus, busId, bankId}, set by jkbms-bank), else
 * from `msg.topic` ("<bus name>/bank") with the bus id looked up among the deployed buses. A
 * message without a bank id (an older jkbms-bank, a hand-made one) gets the id derived from the
 * bus name, as jkbms-bank does for an empty setting.
 */
function parseBank(topic: unknown, bms: unknown, p: Obj, opts: InputOptions): HaInput {
  const summary = checkBank(p);
  if (isObj(bms) && typeof bms.bus === 'string' && typeof bms.busId === 'string' && bms.busId !== '') {
    if (bms.bankId !== undefined && (typeof bms.bankId !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(bms.bankId))) {
      throw new HaInputError('bad-field', 'msg.bms.bankId');
    }
    const bankId = typeof bms.bankId === 'string' ? bms.bankId : bankIdFrom(bms.bus);
    return { kind: 'bank', bank: { bus: bms.bus, busId: bms.busId, bankId }, summary };
  }
  if (typeof topic !== 'string' || !topic.endsWith('/bank') || topic.length === '/bank'.length) throw new HaInputError('bad-field', 'msg.topic');
  const bus = topic.slice(0, -'/bank'.length);
  const busId = opts.busIdOf?.(bus) ?? null;
  if (busId === null) throw new HaInputError('unknown-bus', bus);
  return { kind: 'bank', bank: { bus, busId, bankId: bankIdFrom(bus) }, summary };
}

function checkRemove(p: Obj): RemoveTarget {
  if (p.address === 'all') return { all: true };
  const t: RemoveTarget = {};
  if (p.bank !== undefined) {
    if (p.bank !== true) throw new HaInputError('bad-command', 'msg.payload.bank');
    t.bank = true;
  }
  if (p.address !== undefined) {
    if (!isAddress(p.address)) throw new HaInputError('bad-command', 'msg.payload.address');
    t.address = p.address;
  }
  if (p.serialNumber !== undefined) {
    if (typeof p.serialNumber !== 'string' || p.serialNumber.trim() === '') throw new HaInputError('bad-command', 'msg.payload.serialNumber');
    t.serialNumber = p.serialNumber.trim();
  }
  if (t.address === undefined && t.serialNumber === undefined && t.bank === undefined) throw new HaInputError('bad-command', 'msg.payload');
  return t;
}

/** Classify and check an input message. Throws `HaInputError`. */
export function parseInput(msg: { topic?: unknown; payload?: unknown; bms?: unknown; frame?: unknown }, opts: InputOptions = {}): HaInput {
  const p = msg.payload;
  // HA's birth / last-will message, from an `mqtt in` node on `homeassistant/status`.
  if (typeof msg.topic === 'string' && msg.topic.endsWith('/status') && (typeof p === 'string' || Buffer.isBuffer(p))) {
    const text = p.toString().trim();
    if (text === 'online' || text === 'offline') return { kind: 'birth', online: text === 'online' };
  }
  if (isObj(p) && p.command !== undefined) {
    if (p.command !== 'remove') throw new HaInputError('bad-command', 'msg.payload.command');
    return { kind: 'remove', target: checkRemove(p) };
  }
  if (isObj(p) && p.type === 'bank') return parseBank(msg.topic, msg.bms, p, opts);
  if (isObj(p) && p.type === 'health-bank') {
    const health = checkBankHealth(p);
    return { kind: 'health-bank', bus: healthBankBus(msg.topic, msg.bms, opts.busIdOf), health };
  }
  if (!isObj(p) || msg.bms === undefined) throw new HaInputError('unknown-input');
  if (!['live', 'settings', 'info', 'availability', 'health'].includes(p.type as string)) throw new HaInputError('unsupported-type', 'msg.payload.type');
  const bms = checkBms(msg.bms);
  // The payload's own address (null = unknown) must not contradict msg.bms.
  if (p.address !== undefined && p.address !== null && p.address !== bms.address) throw new HaInputError('bad-field', 'msg.payload.address');
  switch (p.type) {
    case 'health': {
      // Nor its serial number (a report about another pack than the one at this address now).
      const serialNumber = strOrNull(p, 'serialNumber', 'msg.payload');
      if (serialNumber !== null && bms.serialNumber !== null && serialNumber !== bms.serialNumber) throw new HaInputError('bad-field', 'msg.payload.serialNumber');
      return { kind: 'health', bms, serialNumber, health: checkPackHealth(p) };
    }
    case 'live':
      return { kind: 'live', bms, payload: checkLive(p), at: isObj(msg.frame) && isNum(msg.frame.ts) ? msg.frame.ts : null };
    case 'settings':
      return { kind: 'settings', bms, payload: checkSettings(p) };
    case 'info':
      return { kind: 'info', bms, payload: checkInfo(p) };
    default:
      if (typeof p.online !== 'boolean') throw new HaInputError('bad-field', 'msg.payload.online');
      return { kind: 'availability', bms, online: p.online };
  }
}

/**
 * What the `jkbms-ha` node accepts, checked field by field. A malformed message yields an
 * `HaInputError` naming the first bad field (the node turns it into `done(err)`), so a
 * corrupted or hand-made message can never create a phantom device or a broken entity.
 */
import type { BalancingState, ChargeStage, InfoPayload, LivePayload, SettingsPayload } from '../protocol/types';
import type { BankSummary } from './bank';
import { type PackIdentity, TEMPERATURE_KEYS } from './pack';

export class HaInputError extends Error {
  /**
   * @param code i18n key suffix under `jkbms-ha.errors.` (`unknown-input`, `bad-field`, `bad-command`, `unsupported-type`, `unknown-bus`).
   * @param field the offending property path (e.g. `msg.payload.cells[3]`), when there is one; for `unknown-bus` the bus name.
   */
  constructor(
    readonly code: 'unknown-input' | 'bad-field' | 'bad-command' | 'unsupported-type' | 'unknown-bus',
    readonly field?: string,
  ) {
    super(field ? `${code}: ${field}` : code);
    this.name = 'HaInputError';
  }
}

export interface BmsRef {
  bus: string;
  busId: string;
  address: number;
  identity: PackIdentity;
}

/** The bus of a jkbms-bank summary. */
export interface BankRef {
  bus: string;
  busId: string;
}

/** `all`: every pack and bank; `bank`: the bank devices (of every bus); `address` / `serialNumber`: packs. */
export type RemoveTarget = { all: true } | { all?: false; address?: number; serialNumber?: string; bank?: true };

export type HaInput =
  | { kind: 'birth'; online: boolean }
  | { kind: 'remove'; target: RemoveTarget }
  /** `at`: the frame's wall-clock time (msg.frame.ts, epoch ms) when the message carries it. */
  | { kind: 'live'; bms: BmsRef; payload: LivePayload; at: number | null }
  | { kind: 'settings'; bms: BmsRef; payload: SettingsPayload }
  | { kind: 'info'; bms: BmsRef; payload: InfoPayload }
  | { kind: 'availability'; bms: BmsRef; online: boolean }
  /** A jkbms-bank summary (`msg.topic` "<bus name>/bank"). */
  | { kind: 'bank'; bank: BankRef; summary: BankSummary };

export interface InputOptions {
  /**
   * The config node id of the deployed jkbms-bus with this name, or null when there is none or
   * several (a bank message names its bus only in its topic).
   */
  busIdOf?: (busName: string) => string | null;
}

type Obj = Record<string, unknown>;
const isObj = (x: unknown): x is Obj => typeof x === 'object' && x !== null && !Array.isArray(x) && !Buffer.isBuffer(x);
const isNum = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);
const isAddress = (x: unknown): x is number => Number.isInteger(x) && (x as number) >= 0 && (x as number) <= 15;

function num(o: Obj, k: string, at: string): void {
  if (!isNum(o[k])) throw new HaInputError('bad-field', `${at}.${k}`);
}
function numOrNull(o: Obj, k: string, at: string): void {
  if (o[k] !== null && !isNum(o[k])) throw new HaInputError('bad-field', `${at}.${k}`);
}
function bool(o: Obj, k: string, at: string): void {
  if (typeof o[k] !== 'boolean') throw new HaInputError('bad-field', `${at}.${k}`);
}
function str(o: Obj, k: string, at: string): void {
  if (typeof o[k] !== 'string') throw new HaInputError('bad-field', `${at}.${k}`);
}
function strOrNull(o: Obj, k: string, at: string): string | null {
  const v = o[k];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string') throw new HaInputError('bad-field', `${at}.${k}`);
  return v;
}
function numArray(o: Obj, k: string, at: string, length?: number): number[] {
  const a = o[k];
  if (!Array.isArray(a) || (length !== undefined && a.length !== length)) throw new HaInputError('bad-field', `${at}.${k}`);
  a.forEach((x, i) => {
    if (!isNum(x)) throw new HaInputError('bad-field', `${at}.${k}[${i}]`);
  });
  return a as number[];
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
  for (const k of ['mos', 't1', 't2', 't3', 't4', 't5']) numOrNull(t, k, `${at}.temperatures`);
  if (!BALANCING.includes(p.balancing as BalancingState)) throw new HaInputError('bad-field', `${at}.balancing`);
  if (!STAGES.includes(p.chargeStage as ChargeStage | null)) throw new HaInputError('bad-field', `${at}.chargeStage`);
  for (const k of ['chargingMos', 'dischargingMos', 'precharging', 'heating', 'chargerPlugged', 'emergency']) bool(p, k, at);
  return p as unknown as LivePayload;
}

function checkSettings(p: Obj): SettingsPayload {
  const at = 'msg.payload';
  for (const k of ['cellOvp', 'cellUvp', 'cellRequestChargeVoltage', 'cellRequestFloatVoltage', 'balanceStartVoltage', 'balanceTriggerVoltage', 'maxChargeCurrent', 'maxDischargeCurrent', 'maxBalanceCurrent', 'nominalCapacityAh', 'cellCount']) {
    num(p, k, at);
  }
  for (const k of ['chargingEnabled', 'dischargingEnabled', 'balancingEnabled', 'heatingEnabled']) bool(p, k, at);
  return p as unknown as SettingsPayload;
}

function checkInfo(p: Obj): InfoPayload {
  const at = 'msg.payload';
  for (const k of ['vendorId', 'hardwareVersion', 'softwareVersion', 'deviceName', 'manufacturingDate', 'serialNumber']) str(p, k, at);
  for (const k of ['powerOnCount', 'uart1Protocol', 'uart2Protocol', 'canProtocol']) num(p, k, at);
  return p as unknown as InfoPayload;
}

export function checkBms(bms: unknown): BmsRef {
  if (!isObj(bms)) throw new HaInputError('bad-field', 'msg.bms');
  if (typeof bms.busId !== 'string' || bms.busId === '') throw new HaInputError('bad-field', 'msg.bms.busId');
  if (typeof bms.bus !== 'string') throw new HaInputError('bad-field', 'msg.bms.bus');
  if (!isAddress(bms.address)) throw new HaInputError('bad-field', 'msg.bms.address');
  return {
    bus: bms.bus,
    busId: bms.busId,
    address: bms.address,
    identity: {
      serialNumber: strOrNull(bms, 'serialNumber', 'msg.bms'),
      model: strOrNull(bms, 'model', 'msg.bms'),
      hardwareVersion: strOrNull(bms, 'hardwareVersion', 'msg.bms'),
      softwareVersion: strOrNull(bms, 'softwareVersion', 'msg.bms'),
      name: strOrNull(bms, 'name', 'msg.bms'),
    },
  };
}

const isCount = (x: unknown): x is number => Number.isInteger(x) && (x as number) >= 0;

function nullOr<T>(o: Obj, k: string, at: string, check: (v: Obj, at: string) => T): T | null {
  const v = o[k];
  if (v === null) return null;
  if (!isObj(v)) throw new HaInputError('bad-field', `${at}.${k}`);
  return check(v, `${at}.${k}`);
}

function address(o: Obj, at: string): number {
  if (!isAddress(o.address)) throw new HaInputError('bad-field', `${at}.address`);
  return o.address;
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
  for (const k of ['chargingEnabled', 'dischargingEnabled']) {
    if (p[k] !== null && typeof p[k] !== 'boolean') throw new HaInputError('bad-field', `${at}.${k}`);
  }
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
    if (!TEMPERATURE_KEYS.includes(t.sensor as (typeof TEMPERATURE_KEYS)[number])) throw new HaInputError('bad-field', `${tat}.sensor`);
    return { value: t.value as number, address: address(t, tat), sensor: t.sensor as (typeof TEMPERATURE_KEYS)[number] };
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
 * A bank message: its bus from `msg.bms` ({bus, busId}, set by jkbms-bank), else from `msg.topic`
 * ("<bus name>/bank") with the id looked up among the deployed buses.
 */
function parseBank(topic: unknown, bms: unknown, p: Obj, opts: InputOptions): HaInput {
  const summary = checkBank(p);
  if (isObj(bms) && typeof bms.bus === 'string' && typeof bms.busId === 'string' && bms.busId !== '') {
    return { kind: 'bank', bank: { bus: bms.bus, busId: bms.busId }, summary };
  }
  if (typeof topic !== 'string' || !topic.endsWith('/bank') || topic.length === '/bank'.length) throw new HaInputError('bad-field', 'msg.topic');
  const bus = topic.slice(0, -'/bank'.length);
  const busId = opts.busIdOf?.(bus) ?? null;
  if (busId === null) throw new HaInputError('unknown-bus', bus);
  return { kind: 'bank', bank: { bus, busId }, summary };
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
  if (!isObj(p) || msg.bms === undefined) throw new HaInputError('unknown-input');
  if (!['live', 'settings', 'info', 'availability'].includes(p.type as string)) throw new HaInputError('unsupported-type', 'msg.payload.type');
  const bms = checkBms(msg.bms);
  // The payload's own address (null = unknown) must not contradict msg.bms.
  if (p.address !== undefined && p.address !== null && p.address !== bms.address) throw new HaInputError('bad-field', 'msg.payload.address');
  switch (p.type) {
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

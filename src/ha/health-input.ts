/**
 * Checks of what a `jkbms-health` node sends (src/health/types.ts), field by field like every
 * other input (src/ha/check.ts): a malformed message names its first bad field and changes
 * nothing. Only the fields the entities use are checked and copied (src/ha/health.ts); the same
 * checks read the copies the bridge remembers (src/ha/health-memory.ts).
 */
import type { FindingKind } from '../health/types';
import { address, HaInputError, isObj, num, numOrNull, type Obj, str } from './check';
import type { BankHealthView, CellHealthView, HealthFinding, PackHealthView } from './health';

const KINDS: readonly FindingKind[] = ['resistance', 'capacity', 'balance', 'balancer', 'soc', 'soh'];
const UNITS: readonly HealthFinding['unit'][] = ['mΩ', 'mV', 'mV/day', '%'];
/** More findings than this in one message is not a health report. */
const MAX_FINDINGS = 512;

const bad = (at: string): HaInputError => new HaInputError('bad-field', at);
const isCell = (x: unknown): x is number => Number.isInteger(x) && (x as number) >= 1 && (x as number) <= 32;

function array(o: Obj, k: string, at: string, max: number): unknown[] {
  const a = o[k];
  if (!Array.isArray(a) || a.length > max) throw bad(`${at}.${k}`);
  return a;
}

function checkFindings(p: Obj, at: string): HealthFinding[] {
  return array(p, 'findings', at, MAX_FINDINGS).map((f, i) => {
    const fat = `${at}.findings[${i}]`;
    if (!isObj(f)) throw bad(fat);
    if (!KINDS.includes(f.kind as FindingKind)) throw bad(`${fat}.kind`);
    const addr = address(f, fat);
    if (f.cell !== null && !isCell(f.cell)) throw bad(`${fat}.cell`);
    num(f, 'value', fat);
    if (!UNITS.includes(f.unit as HealthFinding['unit'])) throw bad(`${fat}.unit`);
    str(f, 'text', fat);
    return { kind: f.kind as FindingKind, address: addr, cell: f.cell as number | null, value: f.value as number, unit: f.unit as HealthFinding['unit'], text: f.text as string };
  });
}

/** A pack's health (`{type: "health"}` payload, or a remembered copy), checked and copied. */
export function checkPackHealth(p: Obj, at = 'msg.payload'): PackHealthView {
  const cells: CellHealthView[] = array(p, 'cells', at, 32).map((c, i) => {
    const cat = `${at}.cells[${i}]`;
    if (!isObj(c)) throw bad(cat);
    if (c.cell !== i + 1) throw bad(`${cat}.cell`);
    numOrNull(c, 'resistanceMohm', cat);
    numOrNull(c, 'stdErrMohm', cat);
    num(c, 'confidence', cat);
    if ((c.confidence as number) < 0 || (c.confidence as number) > 1) throw bad(`${cat}.confidence`);
    return { cell: i + 1, resistanceMohm: c.resistanceMohm as number | null, stdErrMohm: c.stdErrMohm as number | null, confidence: c.confidence as number };
  });
  numOrNull(p, 'endOfChargeDeltaMv', at);
  numOrNull(p, 'endOfChargeTrendMvPerDay', at);
  return {
    cells,
    endOfChargeDeltaMv: p.endOfChargeDeltaMv as number | null,
    endOfChargeTrendMvPerDay: p.endOfChargeTrendMvPerDay as number | null,
    findings: checkFindings(p, at),
  };
}

/** The bank's health (`{type: "health-bank"}` payload, or a remembered copy), checked and copied. */
export function checkBankHealth(p: Obj, at = 'msg.payload'): BankHealthView {
  const seen = new Set<number>();
  const packs = array(p, 'packs', at, 16).map((x, i) => {
    const pat = `${at}.packs[${i}]`;
    if (!isObj(x)) throw bad(pat);
    const a = address(x, pat);
    if (seen.has(a)) throw bad(`${pat}.address`);
    seen.add(a);
    numOrNull(x, 'socOffset', pat);
    numOrNull(x, 'sohOffset', pat);
    return { address: a, socOffset: x.socOffset as number | null, sohOffset: x.sohOffset as number | null };
  });
  return { packs, findings: checkFindings(p, at) };
}

/**
 * The bus of a bank health message: `msg.bms` ({bus, busId}, set by jkbms-health), else its
 * topic `<bus name>/health` with the bus id of the one deployed bus of that name.
 */
export function healthBankBus(topic: unknown, bms: unknown, busIdOf: ((name: string) => string | null) | undefined): { bus: string; busId: string } {
  if (isObj(bms) && typeof bms.bus === 'string' && typeof bms.busId === 'string' && bms.busId !== '') return { bus: bms.bus, busId: bms.busId };
  if (typeof topic !== 'string' || !topic.endsWith('/health') || topic.length === '/health'.length) throw bad('msg.topic');
  const bus = topic.slice(0, -'/health'.length);
  const busId = busIdOf?.(bus) ?? null;
  if (busId === null) throw new HaInputError('unknown-bus', bus);
  return { bus, busId };
}

import { parseFaults, type SimFaults } from './faults';

/**
 * How a simulated bus is described in words — the `jkbms sim` command line and the bus node's
 * "simulator" connection share these parsers, so both accept (and refuse) the same things with
 * the same messages. Errors are RangeErrors; callers prefix the field ("--packs: ", …).
 */

/** Seeds the simulator accepts (a 32-bit signed integer). */
export const SEED_RANGE = [-(2 ** 31), 2 ** 31 - 1] as const;

/**
 * "1-4,7" → [1, 2, 3, 4, 7]: slave addresses 1–15, single or ranges, each at most once.
 * `masterHint` says how to add the JK master (address 0) where it is refused.
 */
export function parsePackList(text: string, masterHint = 'turn on the JK master option'): number[] {
  const out: number[] = [];
  for (const part of String(text).split(',').map((s) => s.trim())) {
    if (!part) continue;
    const m = /^(\d+)(?:\s*-\s*(\d+))?$/.exec(part);
    if (!m) throw new RangeError(`"${part}" is not an address or a range like 1-4`);
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    if (from < 1 || to > 15 || from > to) throw new RangeError(`"${part}" must lie within 1–15 (0 is the JK master: ${masterHint})`);
    for (let a = from; a <= to; a++) {
      if (out.includes(a)) throw new RangeError(`address ${a} is listed twice`);
      out.push(a);
    }
  }
  if (!out.length) throw new RangeError('give at least one pack address, e.g. 1-4');
  return out;
}

/** A seed as typed: an integer in SEED_RANGE (blank = 1). */
export function parseSeed(text: string | number | undefined | null): number {
  if (text === undefined || text === null || String(text).trim() === '') return 1;
  const s = String(text).trim();
  const n = Number(s);
  if (!/^-?\d+$/.test(s) || n < SEED_RANGE[0] || n > SEED_RANGE[1]) throw new RangeError(`expected an integer ${SEED_RANGE[0]}–${SEED_RANGE[1]}, got "${s}"`);
  return n;
}

/** A fault mix as typed, e.g. "noise=0.05,truncate=0.01" (blank = none); see src/sim/faults.ts. */
export function parseFaultList(text: string | undefined | null): SimFaults {
  const s = (text ?? '').trim();
  return s ? parseFaults(s) : {};
}

export interface SimulatedBusSpec {
  packs: number[];
  master: boolean;
  seed: number;
  faults: SimFaults;
}

/** The settings of a simulated bus as typed in a dialog; throws a RangeError naming the field. */
export function parseSimulatedBus(input: { packs?: string; master?: unknown; seed?: string | number; faults?: string }): SimulatedBusSpec {
  const field = <T>(name: string, fn: () => T): T => {
    try {
      return fn();
    } catch (err) {
      throw new RangeError(`simulator ${name}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  };
  const text = (input.packs ?? '').trim() || '1-4';
  return {
    packs: field('pack addresses', () => parsePackList(text)),
    master: input.master === true || input.master === 'true',
    seed: field('seed', () => parseSeed(input.seed)),
    faults: field('faults', () => parseFaultList(input.faults)),
  };
}

/** "1-4,7" from [1, 2, 3, 4, 7]. */
export function formatPackList(packs: readonly number[]): string {
  const sorted = [...packs].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; i++) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    parts.push(j > i ? `${sorted[i]}-${sorted[j]}` : String(sorted[i]));
    i = j;
  }
  return parts.join(',');
}

import type { CellFault } from './cells';

/**
 * Planted cell and pack faults, in words: the one parser the CLI (`jkbms sim --plant`), the
 * Simulator options (`cellFaults: "…"`) and the bus node's simulator connection share.
 *
 *   cell 2.7: +3 mΩ           pack 2, cell 7: 3 mΩ more resistance (a loose bus bar, an ageing cell)
 *   cell 1.12: -8 % capacity  pack 1, cell 12: 8 % less capacity than its neighbours
 *   cell 3.1: +4 % soc        pack 3, cell 1: starts 4 % fuller (out of balance)
 *   pack 3: -10 % capacity    every cell of pack 3 (the pack has aged: lower SOH)
 *
 * Entries are separated by `;`, `,` or new lines. "cell" may be left out (`2.7: +3 mΩ`); the
 * units may be written `mohm` / `milliohm`, `cap`; the colon is optional; − (U+2212) is a minus.
 * Errors are RangeErrors naming the entry.
 */

export interface PlantedFault {
  /** Pack address 0–15 (0 = the JK master's own pack). */
  pack: number;
  /** 1-based cell, or null for the whole pack. */
  cell: number | null;
  resistanceMohm?: number;
  capacityPct?: number;
  socPct?: number;
}

type Quantity = 'resistanceMohm' | 'capacityPct' | 'socPct';

const RANGES: Record<Quantity, [number, number, string]> = {
  resistanceMohm: [-0.25, 100, 'mΩ'],
  capacityPct: [-90, 50, '% capacity'],
  socPct: [-50, 50, '% soc'],
};

const ENTRY =
  /^(?:(cell|pack)\s*)?(\d+)(?:\.(\d+))?\s*:?\s*([+\-\u2212]?\s*\d+(?:\.\d+)?)\s*(m\s*(?:\u2126|\u03a9|ohms?)|milliohms?|%\s*(?:capacity|cap|soc))$/i;

/** Parse planted faults from text (blank = none). */
export function parsePlantedFaults(text: string): PlantedFault[] {
  const out: PlantedFault[] = [];
  for (const raw of String(text).split(/[;,\n]/)) {
    const part = raw.trim();
    if (!part) continue;
    const m = ENTRY.exec(part);
    if (!m) {
      throw new RangeError(
        `planted fault "${part}" not understood; write e.g. "cell 2.7: +3 mΩ", "cell 1.12: -8 % capacity", "cell 3.1: +4 % soc" or "pack 3: -10 % capacity"`,
      );
    }
    const [, word, packText, cellText, valueText, unitText] = m;
    const isPack = word?.toLowerCase() === 'pack';
    if (isPack && cellText !== undefined) throw new RangeError(`planted fault "${part}": write "cell ${packText}.${cellText}" for one cell, "pack ${packText}" for the whole pack`);
    if (!isPack && cellText === undefined) throw new RangeError(`planted fault "${part}": a cell is "<pack>.<cell>", e.g. "cell 2.7"`);
    const value = Number(valueText!.replace(/\s+/g, '').replace('\u2212', '-'));
    const unit = unitText!.toLowerCase().replace(/\s+/g, '');
    const quantity: Quantity = unit.startsWith('%') ? (unit.endsWith('soc') ? 'socPct' : 'capacityPct') : 'resistanceMohm';
    if (isPack && quantity !== 'capacityPct') throw new RangeError(`planted fault "${part}": a whole pack takes only "% capacity"`);
    const fault: PlantedFault = { pack: Number(packText), cell: isPack ? null : Number(cellText), [quantity]: value };
    add(out, fault, part);
  }
  for (const f of out) checkFault(f);
  return out;
}

/** Planted faults given as text or as objects, checked; throws a RangeError naming the entry. */
export function resolvePlantedFaults(input: string | readonly PlantedFault[] | undefined | null): PlantedFault[] {
  if (input === undefined || input === null) return [];
  if (typeof input === 'string') return parsePlantedFaults(input);
  if (!Array.isArray(input)) throw new RangeError(`cellFaults must be text like "cell 2.7: +3 mΩ" or an array of faults, got ${JSON.stringify(input)}`);
  const out: PlantedFault[] = [];
  for (const f of input) {
    if (!f || typeof f !== 'object') throw new RangeError(`a planted fault must be an object like {pack: 2, cell: 7, resistanceMohm: 3}, got ${JSON.stringify(f)}`);
    const copy: PlantedFault = { pack: f.pack, cell: f.cell ?? null };
    for (const q of Object.keys(RANGES) as Quantity[]) if (f[q] !== undefined) copy[q] = f[q];
    add(out, copy, formatPlantedFault(copy));
  }
  for (const f of out) checkFault(f);
  return out;
}

/** "cell 2.7: +3 mΩ; pack 3: −10 % capacity" (the inverse of parsePlantedFaults). */
export function formatPlantedFaults(faults: readonly PlantedFault[]): string {
  return faults.map(formatPlantedFault).join('; ');
}

function formatPlantedFault(f: PlantedFault): string {
  const target = f.cell === null ? `pack ${f.pack}` : `cell ${f.pack}.${f.cell}`;
  const parts = (Object.keys(RANGES) as Quantity[])
    .filter((q) => f[q] !== undefined)
    .map((q) => `${f[q]! >= 0 ? '+' : ''}${f[q]} ${RANGES[q][2]}`);
  return `${target}: ${parts.join(' ')}`;
}

/** The faults of the cells of one pack (pack-wide capacity faults folded into every cell). */
export function cellFaultsOf(faults: readonly PlantedFault[], pack: number): CellFault[] {
  const out: CellFault[] = [];
  for (const f of faults) {
    if (f.pack !== pack || f.cell === null) continue;
    const c: CellFault = { cell: f.cell };
    if (f.resistanceMohm !== undefined) c.resistanceMohm = f.resistanceMohm;
    if (f.capacityPct !== undefined) c.capacityPct = f.capacityPct;
    if (f.socPct !== undefined) c.socPct = f.socPct;
    out.push(c);
  }
  return out;
}

/** Capacity change of a whole pack, % (0 when none is planted). */
export function packCapacityPct(faults: readonly PlantedFault[], pack: number): number {
  return faults.find((f) => f.pack === pack && f.cell === null)?.capacityPct ?? 0;
}

function add(out: PlantedFault[], fault: PlantedFault, where: string): void {
  const same = out.find((f) => f.pack === fault.pack && f.cell === fault.cell);
  if (!same) {
    out.push(fault);
    return;
  }
  for (const q of Object.keys(RANGES) as Quantity[]) {
    if (fault[q] === undefined) continue;
    if (same[q] !== undefined) throw new RangeError(`planted fault "${where}": ${fault.cell === null ? `pack ${fault.pack}` : `cell ${fault.pack}.${fault.cell}`} has ${RANGES[q][2]} twice`);
    same[q] = fault[q];
  }
}

function checkFault(f: PlantedFault): void {
  const where = f.cell === null ? `pack ${f.pack}` : `cell ${f.pack}.${f.cell}`;
  if (!Number.isInteger(f.pack) || f.pack < 0 || f.pack > 15) throw new RangeError(`planted fault ${where}: the pack address must be 0–15`);
  if (f.cell !== null && (!Number.isInteger(f.cell) || f.cell < 1 || f.cell > 16)) throw new RangeError(`planted fault ${where}: the cell must be 1–16`);
  let any = false;
  for (const q of Object.keys(RANGES) as Quantity[]) {
    const v = f[q];
    if (v === undefined) continue;
    any = true;
    const [min, max, unit] = RANGES[q];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min || v > max) throw new RangeError(`planted fault ${where}: ${JSON.stringify(v)} ${unit} is outside ${min}…${max}`);
  }
  if (!any) throw new RangeError(`planted fault ${where}: give a resistance (mΩ), a capacity (%) or a charge offset (% soc)`);
  if (f.cell === null && (f.resistanceMohm !== undefined || f.socPct !== undefined)) throw new RangeError(`planted fault ${where}: a whole pack takes only "% capacity"`);
}

/**
 * Health in Home Assistant (issue 16): what a `jkbms-health` node reports (src/health), as
 * entities of the pack's device and of the bank's device — never a device of its own. The
 * views here are the parts of its payloads the entities use (same field names, so one check,
 * src/ha/health-input.ts, serves the input and the stored copy); the entity rows, the state
 * fragments and the urgent keys are merged into the pack and bank kinds (src/ha/pack.ts,
 * src/ha/bank.ts). README "Home Assistant" lists the entities.
 *
 * Per pack: one enabled problem sensor, "Cell health", on while the pack has findings, their
 * texts (and {kind, cell, value, unit}) as attributes; disabled diagnostics: each cell's
 * resistance deviation (mΩ, its confidence and standard error as attributes) and the
 * end-of-charge delta and its trend. Per bank: one enabled problem sensor, "Health", over every
 * finding, and disabled diagnostics: each pack's SOC and SOH offset from the others.
 */
import type { BankPackHealth, CellHealth, Finding } from '../health/types';
import { type EntityDef, two } from './entities';

export type HealthFinding = Pick<Finding, 'kind' | 'address' | 'cell' | 'value' | 'unit' | 'text'>;
export type CellHealthView = Pick<CellHealth, 'cell' | 'resistanceMohm' | 'stdErrMohm' | 'confidence'>;

/** The part of a `{type: "health"}` payload the pack's entities use. */
export interface PackHealthView {
  cells: CellHealthView[];
  endOfChargeDeltaMv: number | null;
  endOfChargeTrendMvPerDay: number | null;
  findings: HealthFinding[];
}

/** The part of a `{type: "health-bank"}` payload the bank's entities use. */
export interface BankHealthView {
  packs: Pick<BankPackHealth, 'address' | 'socOffset' | 'sohOffset'>[];
  findings: HealthFinding[];
}

type Def = Omit<EntityDef, 'component'>;
const sensor = (d: Def): EntityDef => ({ component: 'sensor', ...d });
const binary = (d: Def): EntityDef => ({ ...d, component: 'binary_sensor' });
/** Diagnostic and disabled by default. */
const D = { diagnostic: true, disabled: true } as const;
const M = { stateClass: 'measurement' } as const;

const round = (x: number | null, decimals: number): number | null => {
  if (x === null) return null;
  const f = 10 ** decimals;
  return Math.round(x * f) / f || 0;
};

/** The pack's problem sensor (enabled). */
export function packHealthProblem(): EntityDef[] {
  return [binary({ key: 'cell_health', name: 'Cell health', path: ['cell_health'], deviceClass: 'problem', icon: 'mdi:heart-pulse', attributes: ['attributes', 'cell_health'] })];
}

/** The pack's health diagnostics (disabled by default): per cell, then the end-of-charge figures. */
export function packHealthDiagnostics(h: PackHealthView): EntityDef[] {
  return [
    ...h.cells.map((_, i) =>
      sensor({
        key: `cell_${two(i + 1)}_resistance_deviation`,
        name: `Cell ${i + 1} resistance deviation`,
        path: ['resistance_deviations', i],
        unit: 'mΩ',
        ...M,
        precision: 2,
        icon: 'mdi:omega',
        attributes: ['attributes', 'resistance_deviations', i],
        ...D,
      }),
    ),
    sensor({ key: 'end_of_charge_delta', name: 'End-of-charge cell delta', path: ['end_of_charge_delta'], deviceClass: 'voltage', unit: 'mV', ...M, precision: 0, ...D }),
    sensor({ key: 'end_of_charge_delta_trend', name: 'End-of-charge delta trend', path: ['end_of_charge_delta_trend'], unit: 'mV/day', ...M, precision: 1, icon: 'mdi:chart-line', ...D }),
  ];
}

/** The pack's state fragment (top-level keys) and its attributes (under `attributes`). */
export function packHealthState(h: PackHealthView): { state: Record<string, unknown>; attributes: Record<string, unknown> } {
  return {
    state: {
      cell_health: h.findings.length > 0,
      resistance_deviations: h.cells.map((c) => round(c.resistanceMohm, 2)),
      end_of_charge_delta: round(h.endOfChargeDeltaMv, 1),
      end_of_charge_delta_trend: round(h.endOfChargeTrendMvPerDay, 2),
    },
    attributes: {
      cell_health: { findings: h.findings.map((f) => f.text), details: h.findings.map((f) => ({ kind: f.kind, cell: f.cell, value: f.value, unit: f.unit })) },
      // Rounded: every change of an enabled entity's attributes is a row in HA's recorder.
      resistance_deviations: h.cells.map((c) => ({ confidence: round(c.confidence, 2), std_err: round(c.stdErrMohm, 3) })),
    },
  };
}

const packKey = (address: number) => `pack_${two(address)}`;

/** The bank's problem sensor (enabled). */
export function bankHealthProblem(): EntityDef[] {
  return [binary({ key: 'health', name: 'Health', path: ['health'], deviceClass: 'problem', icon: 'mdi:heart-pulse', attributes: ['attributes', 'health'] })];
}

/** The bank's health diagnostics (disabled by default): each pack's SOC and SOH offset from the others. */
export function bankHealthDiagnostics(h: BankHealthView): EntityDef[] {
  const P = { unit: '%', ...M, precision: 1, ...D } as const;
  return h.packs.flatMap((p) => [
    sensor({ key: `${packKey(p.address)}_soc_offset`, name: `Pack ${p.address} SOC offset`, path: ['pack_offsets', packKey(p.address), 'soc'], icon: 'mdi:battery-sync', ...P }),
    sensor({ key: `${packKey(p.address)}_soh_offset`, name: `Pack ${p.address} SOH offset`, path: ['pack_offsets', packKey(p.address), 'soh'], icon: 'mdi:battery-heart-variant', ...P }),
  ]);
}

/** The bank's state fragment and its attributes. */
export function bankHealthState(h: BankHealthView): { state: Record<string, unknown>; attributes: Record<string, unknown> } {
  return {
    state: {
      health: h.findings.length > 0,
      pack_offsets: Object.fromEntries(h.packs.map((p) => [packKey(p.address), { soc: p.socOffset, soh: p.sohOffset }])),
    },
    attributes: {
      health: { findings: h.findings.map((f) => f.text), details: h.findings.map((f) => ({ pack: f.address, kind: f.kind, cell: f.cell, value: f.value, unit: f.unit })) },
    },
  };
}

/** Which findings there are (not their figures): a change is published at once, like an alarm. */
export function findingsKey(h: { findings: readonly HealthFinding[] } | null | undefined): unknown {
  return h ? h.findings.map((f) => [f.kind, f.address, f.cell]) : null;
}

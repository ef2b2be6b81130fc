/**
 * The health analysis contract (src/health): its options, what it reports per pack and for the
 * bank, and its findings. Inputs are only the live payload contract (src/protocol/types.ts
 * LivePayload: cells, current, soc, soh) and a pack's identity (its serial number from
 * src/messages BmsIdentity), so any BMS that fills that contract can be analysed.
 */

export interface HealthOptions {
  /** Regression window, s (default 600): the cells' offsets may drift between windows, not within. */
  windowS: number;
  /** ... and at most this many frames (default 120: two minutes of frames once a second). */
  windowFrames: number;
  /** A longer gap between two live frames closes the window, s (default 120). */
  maxGapS: number;
  /** Half-life of the resistance statistics, days (default 14): old data fades, so a repair shows. */
  halfLifeDays: number;
  /** SOC band of the flat part of the curve, where resistance is estimated, % (default 15–92). */
  flatSocMin: number;
  flatSocMax: number;
  /** A frame at or above this SOC while not discharging is the top of a charge, % (default 95). */
  topSoc: number;
  /** A frame at or below this SOC while not charging is the bottom of a discharge, % (default 20). */
  bottomSoc: number;
  /** Below this current (A) a pack counts as resting (default 1). */
  restA: number;
  /** A cell this far above its neighbours is a finding, mΩ (default 1). */
  minResistanceMohm: number;
  /** A cell this far off its neighbours at an end of the curve stands out, mV (default 50: about a 2–3 % smaller cell at the bottom knee). */
  minEndMv: number;
  /** Ends (charges, discharges) kept per pack (default 10). */
  endsKept: number;
  /** End-of-charge delta growing at least this fast is a finding, mV/day (default 2). */
  minTrendMvPerDay: number;
  /** A pack whose SOC is this far off the others' (averaged over `socDriftHours`) is a finding, % (default 10). */
  socDriftPct: number;
  /** Averaging time of the SOC drift, h (default 6). */
  socDriftHours: number;
  /** A pack whose SOH is this far below the others' is a finding, % (default 5). */
  sohDriftPct: number;
}

export const DEFAULT_HEALTH_OPTIONS: HealthOptions = {
  windowS: 600,
  windowFrames: 120,
  maxGapS: 120,
  halfLifeDays: 14,
  flatSocMin: 15,
  flatSocMax: 92,
  topSoc: 95,
  bottomSoc: 20,
  restA: 1,
  minResistanceMohm: 1,
  minEndMv: 50,
  endsKept: 10,
  minTrendMvPerDay: 2,
  socDriftPct: 10,
  socDriftHours: 6,
  sohDriftPct: 5,
};

export type FindingKind = 'resistance' | 'capacity' | 'balance' | 'balancer' | 'soc' | 'soh';

export interface Finding {
  kind: FindingKind;
  address: number;
  serialNumber: string | null;
  /** 1-based cell, or null for the whole pack. */
  cell: number | null;
  /** The figure behind it, in `unit`. */
  value: number;
  unit: 'mΩ' | 'mV' | 'mV/day' | '%';
  /** In plain words, e.g. "pack 2 cell 7: +3.1 mΩ above its neighbours — check its bus bar". */
  text: string;
}

export interface CellHealth {
  /** 1-based. */
  cell: number;
  /**
   * Resistance above (+) or below (−) the pack's typical cell, mΩ; null ("not enough current
   * change yet") until the data supports it: a window in which the current spread by 0.5 A or
   * more, 20 degrees of freedom, and a standard error of at most 0.304 mΩ (src/health/pack.ts).
   */
  resistanceMohm: number | null;
  /** Standard error of that estimate, mΩ; null before 20 degrees of freedom. Shown before the estimate, so it can be seen narrowing to 0.304 mΩ. */
  stdErrMohm: number | null;
  /** How sure the estimate is, 0–1: the chance that the true value lies within ±0.5 mΩ of it, times a ramp over the first 20 windows with changing current; 0 while `resistanceMohm` is null. */
  confidence: number;
  /** Mean divergence from the pack's median cell at the top of the last charges, mV (I·R removed); null before the first. */
  endOfChargeMv: number | null;
  /** The same at the bottom of the last discharges, mV. */
  endOfDischargeMv: number | null;
  /** On how many of the kept charges this cell was the highest at the top. */
  kneeFirst: number;
  /** On how many of the kept discharges this cell was the lowest at the bottom. */
  fallFirst: number;
}

/** payload of a pack's health message. */
export interface PackHealthPayload {
  type: 'health';
  address: number;
  serialNumber: string | null;
  cellCount: number;
  /** Epoch ms of the first frame analysed, or null. */
  since: number | null;
  /** Live frames analysed. */
  frames: number;
  /** Frames that went into the resistance estimate (decayed by the half-life), and their windows. */
  resistanceSamples: number;
  resistanceWindows: number;
  cells: CellHealth[];
  /** Charges that reached the top / discharges that reached the bottom, kept. */
  charges: number;
  discharges: number;
  /** Highest minus lowest cell at the top of the last charge, mV (null before the first). */
  endOfChargeDeltaMv: number | null;
  /** How fast that delta grows over the kept charges, mV/day (null with fewer than 3 charges over a day). */
  endOfChargeTrendMvPerDay: number | null;
  findings: Finding[];
  ts: number;
}

export interface BankPackHealth {
  address: number;
  serialNumber: string | null;
  soc: number | null;
  soh: number | null;
  /** This pack's SOC minus the others', averaged over `socDriftHours`, % (null alone or before the first overlap). */
  socOffset: number | null;
  /** This pack's SOH minus the others' median, % (null alone). */
  sohOffset: number | null;
}

/** payload of the bank's health message. */
export interface BankHealthPayload {
  type: 'health-bank';
  packs: BankPackHealth[];
  /** Every finding of every pack and of the bank, the bank's own last. */
  findings: Finding[];
  /** Any finding at all. */
  problem: boolean;
  ts: number;
}

/**
 * The jkbms-bank node's settings: ranges (the editor checks the same) and parsing of the
 * values the editor stores (numbers or numeric strings).
 */

export const BANK_LIMITS = {
  /** Packs expected (0 = every pack seen). */
  expected: [0, 16],
  /** At most one message per this many seconds (0 = every live frame). */
  rate: [0, 86_400],
  /** A live frame this old no longer counts, s (0 = the bus's "pack offline after"). */
  staleAfter: [0, 86_400],
} as const;

export type BankSetting = keyof typeof BANK_LIMITS;

/** A number within BANK_LIMITS[key] (blank = 0), whole when `integer`, else null. */
export function parseBankSetting(raw: unknown, key: BankSetting, integer = false): number | null {
  const v = raw === '' || raw === undefined || raw === null ? 0 : typeof raw === 'string' ? Number(raw.trim()) : raw;
  const [lo, hi] = BANK_LIMITS[key];
  if (typeof v !== 'number' || !Number.isFinite(v) || v < lo || v > hi) return null;
  return integer && !Number.isInteger(v) ? null : v;
}

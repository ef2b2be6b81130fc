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

/** Longest bank id (it becomes part of HA unique ids and entity ids). */
export const BANK_ID_MAX = 64;

/** A bank id as the user may set it: letters, digits, `_` and `-` (HA's rule for discovery ids). */
export function isBankId(id: unknown): id is string {
  return typeof id === 'string' && id.length >= 1 && id.length <= BANK_ID_MAX && /^[A-Za-z0-9_-]+$/.test(id);
}

/**
 * The default bank id, from the bus name: lowercase, every run of other characters one `_`
 * ("House battery" → `house_battery`), `bank` when nothing is left. The editor stores it when
 * the node is first saved, so renaming the bus later keeps the bank's Home Assistant device.
 */
export function bankIdFrom(busName: string): string {
  const id = busName
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .slice(0, BANK_ID_MAX);
  return id === '' ? 'bank' : id;
}

/**
 * The one pack-address check of the package. A JK-PB pack's address is set with its four DIP
 * switches: 0–15, where 0 is the JK master (it polls the bus and never answers a request) and
 * 1–15 are the slaves a master polls.
 */

/** Highest bus address (DIP switches 1111). */
export const MAX_ADDRESS = 15;

/** A pack address 0–15 (a whole number; 0 is the JK master). */
export function isPackAddress(x: unknown): x is number {
  return typeof x === 'number' && Number.isInteger(x) && x >= 0 && x <= MAX_ADDRESS;
}

/** A slave address 1–15: one a master may poll. */
export function isSlaveAddress(x: unknown): x is number {
  return isPackAddress(x) && x !== 0;
}

/** A pack address 0–15 given as a number or a numeric string (" 3 "), else null. */
export function parseAddress(raw: unknown): number | null {
  const n = typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : raw;
  return isPackAddress(n) ? n : null;
}

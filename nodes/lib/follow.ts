import type { PackDirectory } from './pack-directory';

/**
 * Which address a `jkbms` node listens to.
 *
 * - No serial number known: the configured address.
 * - A serial number to follow (configured, or learned from the pack's first info frame):
 *   the address where that pack was last seen; until it has been seen anywhere, the
 *   configured address, unless that address is known to hold a different pack (then
 *   nothing: `null`).
 */
export function targetAddress(configured: number, serial: string | null, directory: PackDirectory): number | null {
  if (!serial) return configured;
  const at = directory.addressOf(serial);
  if (at !== undefined) return at;
  const there = directory.infoAt(configured);
  if (there && there.serialNumber && there.serialNumber !== serial) return null;
  return configured;
}

/**
 * A learned (not configured) serial number is given up for the pack now at the configured
 * address only when the learned pack cannot be on the bus: every online pack's serial number
 * is known and none is ours (the pack was replaced). While some online pack is still
 * unidentified, ours may be that one (two packs swapped DIP addresses), so we wait.
 */
export function shouldRelearn(
  configured: number,
  learned: string,
  onlineAddresses: readonly number[],
  directory: PackDirectory,
): boolean {
  if (directory.addressOf(learned) !== undefined) return false;
  const there = directory.infoAt(configured);
  if (!there || !there.serialNumber || there.serialNumber === learned) return false;
  return onlineAddresses.every((a) => a === 0 || directory.infoAt(a)?.serialNumber);
}

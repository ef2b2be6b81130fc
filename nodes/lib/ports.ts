import { readdir, realpath } from 'node:fs/promises';

/**
 * Serial ports for the bus node's port picker (admin endpoint `GET jkbms/ports`).
 *
 * `SerialPort.list()` needs udevadm on Linux and rejects without it (most containers,
 * the Home Assistant add-on); it also returns nothing for some adapters. Either way we fall
 * back to reading /dev ourselves. A port that has a stable /dev/serial/by-id/ name is listed
 * under that name (it survives replugging, ttyUSB0 does not), first.
 */

export interface PortEntry {
  /** What to put in the bus node's Port field. */
  path: string;
  /** The kernel device it points to, e.g. /dev/ttyUSB0 (same as path when not a by-id link). */
  device: string;
  /** True for /dev/serial/by-id/ paths. */
  byId: boolean;
  manufacturer?: string;
  serialNumber?: string;
  /** Where the entry came from: serialport's list() or our /dev scan. */
  source: 'list' | 'scan';
}

/** What serialport's list() reports (the fields we use). */
export interface ListedPort {
  path: string;
  manufacturer?: string | undefined;
  serialNumber?: string | undefined;
  pnpId?: string | undefined;
}

/** Everything listPorts() touches, injectable for tests. */
export interface PortListingDeps {
  list(): Promise<ListedPort[]>;
  readdir(dir: string): Promise<string[]>;
  realpath(path: string): Promise<string>;
}

const BY_ID = '/dev/serial/by-id';
/** Device names worth offering from a /dev scan (USB adapters, CDC-ACM, Pi UARTs, on-board UARTs). */
const TTY_PATTERN = /^tty(USB|ACM|AMA|S)\d+$/;

export const defaultPortDeps: PortListingDeps = {
  async list() {
    const { SerialPort } = require('serialport') as typeof import('serialport');
    return SerialPort.list();
  },
  readdir: (dir) => readdir(dir),
  realpath: (p) => realpath(p),
};

/** Never rejects: an unreadable /dev is an empty list. */
export async function listPorts(deps: PortListingDeps = defaultPortDeps): Promise<PortEntry[]> {
  const byId = await scanById(deps);
  const listed: ListedPort[] = await Promise.resolve()
    .then(() => deps.list())
    .catch(() => []);
  const entries: PortEntry[] = [];
  const seen = new Set<string>();
  const add = (e: PortEntry): void => {
    if (seen.has(e.device)) return;
    seen.add(e.device);
    entries.push(e);
  };
  for (const p of listed) {
    if (!p || typeof p.path !== 'string' || p.path === '') continue;
    const link = byId.get(p.path);
    add({
      path: link ?? p.path,
      device: p.path,
      byId: link !== undefined,
      ...(p.manufacturer ? { manufacturer: p.manufacturer } : {}),
      ...(p.serialNumber ? { serialNumber: p.serialNumber } : {}),
      source: 'list',
    });
  }
  if (entries.length === 0) {
    for (const [device, link] of byId) add({ path: link, device, byId: true, source: 'scan' });
    const names: string[] = await deps.readdir('/dev').catch(() => []);
    for (const n of names.filter((x) => TTY_PATTERN.test(x)).sort(naturalCompare)) {
      const device = `/dev/${n}`;
      add({ path: device, device, byId: false, source: 'scan' });
    }
  }
  return entries.sort((a, b) => Number(b.byId) - Number(a.byId) || naturalCompare(a.path, b.path));
}

/** device (/dev/ttyUSB0) → its by-id link. */
async function scanById(deps: PortListingDeps): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const names: string[] | null = await deps.readdir(BY_ID).catch(() => null);
  if (!names) return out;
  for (const n of names.sort()) {
    const link = `${BY_ID}/${n}`;
    try {
      const device = await deps.realpath(link);
      if (!out.has(device)) out.set(device, link);
    } catch {
      // dangling link (adapter just unplugged)
    }
  }
  return out;
}

function naturalCompare(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}

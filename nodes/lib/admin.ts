import type { NodeAPI } from 'node-red';
import type { Request, Response } from 'express';
import { busById } from './bus-registry';
import { defaultPortDeps, listPorts, type PortListingDeps } from './ports';

/**
 * Editor endpoints (relative to httpAdminRoot; the editor calls them with relative URLs so
 * the Home Assistant add-on's ingress prefix works):
 *   GET jkbms/ports          → PortEntry[]   (src/nodes/lib/ports.ts)
 *   GET jkbms/packs?bus=<id> → PacksReply    (packs seen on a deployed bus)
 * Both need the `jkbms-bus.read` permission.
 */

export interface PackSummary {
  address: number;
  name: string | null;
  serial: string | null;
  model: string | null;
  firmware: string | null;
  online: boolean;
  /** Epoch ms of the last frame, or null. */
  lastSeen: number | null;
  /** True for address 0, the JK master's own frames. */
  isMaster: boolean;
}

export interface PacksReply {
  bus: string;
  deployed: boolean;
  running: boolean;
  connected: boolean;
  role: string;
  masterPresent: boolean;
  packs: PackSummary[];
}

/** Where the ports endpoint gets its data from (tests inject a fake /dev and list()). */
export const portListing: { deps: PortListingDeps } = { deps: defaultPortDeps };

const registered = new WeakSet<object>();

export function registerAdminEndpoints(RED: NodeAPI): void {
  const app = RED.httpAdmin as unknown as object;
  if (!app || registered.has(app)) return;
  registered.add(app);
  const read = RED.auth.needsPermission('jkbms-bus.read');

  RED.httpAdmin.get('/jkbms/ports', read, (_req: Request, res: Response) => {
    listPorts(portListing.deps).then(
      (ports) => res.json(ports),
      (err: unknown) => res.status(500).json({ error: err instanceof Error ? err.message : String(err) }),
    );
  });

  RED.httpAdmin.get('/jkbms/packs', read, (req: Request, res: Response) => {
    const id = typeof req.query.bus === 'string' ? req.query.bus : '';
    res.json(packsReply(id));
  });
}

export function packsReply(id: string): PacksReply {
  const bus = id ? busById(id) : undefined;
  if (!bus) return { bus: id, deployed: false, running: false, connected: false, role: 'stopped', masterPresent: false, packs: [] };
  let status;
  try {
    status = bus.engine.status();
  } catch {
    status = null;
  }
  const packs: PackSummary[] = (status?.packs ?? [])
    .map((p) => {
      const info = bus.directory.infoAt(p.address) ?? p.info;
      return {
        address: p.address,
        name: info?.deviceName || null,
        serial: info?.serialNumber || null,
        model: info?.vendorId || null,
        firmware: info?.softwareVersion || null,
        online: p.online,
        lastSeen: p.lastSeen,
        isMaster: p.isMaster,
      };
    })
    .sort((a, b) => a.address - b.address);
  return {
    bus: id,
    deployed: true,
    running: bus.isRunning,
    connected: status?.connected ?? false,
    role: status?.role ?? 'stopped',
    masterPresent: status?.masterPresent ?? false,
    packs,
  };
}

import type { NodeAPI } from 'node-red';
import type { Request, Response } from 'express';
import type { BusStats } from '../../src/bus/types';
import { SimulatedBus } from '../../src/sim/connection';
import { formatPlantedFaults } from '../../src/sim/plant';
import { formatPackList } from '../../src/sim/spec';
import { ReplayTransport } from '../../src/transport/replay';
import { busById, type BusController } from './bus-registry';
import type { RecordingReply } from './bus-recording';
import { defaultPortDeps, listPorts, type PortListingDeps } from './ports';
import { simSpecScript } from './sim-spec-script';

/**
 * Editor endpoints (relative to httpAdminRoot; the editor calls them with relative URLs so
 * the Home Assistant add-on's ingress prefix works):
 *   GET  jkbms/ports          → PortEntry[]   (nodes/lib/ports.ts)            jkbms-bus.read
 *   GET  jkbms/packs?bus=<id> → PacksReply    (packs seen on a deployed bus,  jkbms-bus.read
 *                                              and its health counters)
 *   POST jkbms/recording      {bus, action: 'start'|'stop'} → RecordingReply  jkbms-bus.write
 *   GET  jkbms/sim-spec.js    the simulator's settings parsers for the dialog  jkbms-bus.read
 *                             (nodes/lib/sim-spec-script.ts)
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
  /** 'serial' | 'tcp' | 'sim' | 'replay' ('' when not deployed). */
  connection: string;
  /** True for the simulator connection: these packs are not real. */
  simulated: boolean;
  /** The simulator's own view (simulator connection only). */
  sim?: {
    packs: string;
    master: boolean;
    seed: number;
    collisions: number;
    framesSent: number;
    requestsReceived: number;
    faults: Record<string, number>;
    /** 'steady' | 'day' | 'tour'. */
    scenario: string;
    /** Scenario 'day': minutes a simulated day lasts, and the hour of the simulated day now (0–24). */
    dayMinutes: number | null;
    hour: number | null;
    /** The planted faults, "cell 2.7: +3 mΩ; …" ('' for none). */
    plant: string;
  };
  /** The replayed file (replay connection only). */
  replay?: { file: string; loop: boolean; speed: number; format: string | null; durationMs: number | null; passes: number };
  /** The recording option (absent for a replay). */
  recording?: RecordingReply;
  /** The bus's health counters (engine.stats()), null when not deployed or not available. */
  stats: BusStats | null;
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

  // The dialog checks the simulator's settings with the runtime's own parsers (loaded by jkbms-bus.html).
  let script: string | null = null;
  RED.httpAdmin.get('/jkbms/sim-spec.js', read, (_req: Request, res: Response) => {
    script ??= simSpecScript();
    res.set('Cache-Control', 'no-cache').type('application/javascript').send(script);
  });

  RED.httpAdmin.get('/jkbms/packs', read, (req: Request, res: Response) => {
    const id = typeof req.query.bus === 'string' ? req.query.bus : '';
    res.json(packsReply(id));
  });

  // Start or stop the recording of a deployed bus from its dialog (until the next deploy).
  const write = RED.auth.needsPermission('jkbms-bus.write');
  RED.httpAdmin.post('/jkbms/recording', write, (req: Request, res: Response) => {
    const body = (req.body ?? {}) as { bus?: unknown; action?: unknown };
    const id = typeof body.bus === 'string' ? body.bus : '';
    const action = body.action;
    const bus = id ? busById(id) : undefined;
    if (action !== 'start' && action !== 'stop') {
      res.status(400).json({ error: 'action must be "start" or "stop"' });
      return;
    }
    if (!bus) {
      res.status(404).json({ error: 'this bus is not deployed; deploy it first' });
      return;
    }
    if (!bus.recording) {
      res.status(409).json({ error: 'a replayed bus records nothing' });
      return;
    }
    bus.recording.set(action === 'start').then(
      (reply) => res.json(reply),
      (err: unknown) => res.status(500).json({ error: err instanceof Error ? err.message : String(err) }),
    );
  });
}

function connectionDetails(bus: BusController): Pick<PacksReply, 'sim' | 'replay' | 'recording'> {
  const out: Pick<PacksReply, 'sim' | 'replay' | 'recording'> = {};
  const t = bus.currentTransport;
  if (t instanceof SimulatedBus) {
    const sim = t.simulator;
    const stats = sim.stats();
    out.sim = {
      packs: formatPackList(sim.addresses.filter((a) => a !== 0)),
      master: sim.addresses.includes(0),
      seed: sim.seed,
      collisions: stats.collisions,
      framesSent: stats.framesSent,
      requestsReceived: stats.requestsReceived,
      faults: stats.faults,
      scenario: t.spec?.scenario ?? 'steady',
      dayMinutes: t.spec?.dayMinutes ?? null,
      hour: sim.bank?.hour ?? null,
      plant: formatPlantedFaults(sim.cellFaults),
    };
  }
  if (t instanceof ReplayTransport) {
    out.replay = { file: t.file, loop: t.loop, speed: t.speed, format: t.info?.format ?? null, durationMs: t.info?.durationMs ?? null, passes: t.passes };
  }
  if (bus.recording) out.recording = bus.recording.reply();
  return out;
}

export function packsReply(id: string): PacksReply {
  const bus = id ? busById(id) : undefined;
  if (!bus) return { bus: id, deployed: false, running: false, connected: false, role: 'stopped', masterPresent: false, packs: [], connection: '', simulated: false, stats: null };
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
    connection: bus.connection,
    simulated: bus.connection === 'sim',
    stats: status?.stats ?? null,
    ...connectionDetails(bus),
  };
}

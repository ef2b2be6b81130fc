import type { Clock } from '../../src/common/clock';
import { BusEngine } from '../../src/bus/engine';
import type { BusEngineApi, BusOptions } from '../../src/bus/types';
import { SimulatedBus } from '../../src/sim/connection';
import type { SimulatedBusSpec } from '../../src/sim/spec';
import { ReplayTransport } from '../../src/transport/replay';
import { SerialTransport } from '../../src/transport/serial';
import { TcpTransport } from '../../src/transport/tcp';
import type { Transport } from '../../src/transport/transport';

/** What a bus node connects to, and how its transport and engine are built (tests replace the builders). */

export type TransportSpec =
  | { kind: 'serial'; path: string; baudRate: number }
  | { kind: 'tcp'; host: string; port: number }
  /** The simulator of src/sim inside this Node-RED, on the real clock. */
  | ({ kind: 'sim' } & SimulatedBusSpec)
  /** A capture file played with its recorded timing; never transmits. */
  | { kind: 'replay'; file: string; loop: boolean; speed: number };

export interface EngineDeps {
  clock?: Clock;
  log?: (level: 'debug' | 'info' | 'warn' | 'error', msg: string) => void;
}

export interface BusFactories {
  createTransport(spec: TransportSpec, log: EngineDeps['log']): Transport;
  createEngine(transport: Transport, options: Partial<BusOptions>, deps: EngineDeps): BusEngineApi;
}

/** How the bus builds its transport and engine. Tests replace these (mock binding, simulator). */
export const busFactories: BusFactories = {
  createTransport(spec, log) {
    switch (spec.kind) {
      case 'serial':
        return new SerialTransport({ path: spec.path, baudRate: spec.baudRate, ...(log ? { log } : {}) });
      case 'tcp':
        return new TcpTransport({ host: spec.host, port: spec.port, ...(log ? { log } : {}) });
      case 'sim':
        return new SimulatedBus({ spec });
      case 'replay':
        return new ReplayTransport({ file: spec.file, loop: spec.loop, speed: spec.speed, ...(log ? { log } : {}) });
    }
  },
  createEngine(transport, options, deps) {
    return new BusEngine(transport, options, deps);
  },
};


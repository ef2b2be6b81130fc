import { EventEmitter } from 'node:events';
import type { Transport } from '../transport/transport';
import { BusSimulator, type BusSimulatorOptions } from './index';
import type { SimHostEndpoint } from './endpoint';
import { describeScenario, formatPackList, simulatorOptions, type SimulatedBusSpec } from './spec';

/**
 * A whole simulated bus as one Transport (kind 'sim'): the simulator and the host endpoint that
 * the bus engine talks through. open() starts the simulator (on the real clock unless another
 * is given) and connects; close() disconnects and stops the simulator, which releases all its
 * timers. This is the bus node's "simulator" connection; `simulator` gives tests and the admin
 * endpoint its statistics. Built from the bus node's settings (a SimulatedBusSpec, src/sim/spec.ts)
 * or from simulator options directly.
 */
export class SimulatedBus extends EventEmitter implements Transport {
  readonly kind = 'sim';
  readonly description: string;
  readonly simulator: BusSimulator;
  readonly baudRate: number;
  private readonly endpoint: SimHostEndpoint;
  private closing: Promise<void> | null = null;

  /** The spec it was built from (null when built from simulator options). */
  readonly spec: SimulatedBusSpec | null;

  constructor(input: BusSimulatorOptions | { spec: SimulatedBusSpec; clock?: BusSimulatorOptions['clock'] }) {
    super();
    this.on('error', () => undefined);
    this.spec = 'spec' in input ? input.spec : null;
    const options: BusSimulatorOptions = 'spec' in input ? { ...simulatorOptions(input.spec), ...(input.clock ? { clock: input.clock } : {}) } : input;
    this.simulator = new BusSimulator(options);
    this.baudRate = this.simulator.baud;
    this.endpoint = this.simulator.createHostEndpoint();
    const scenario = this.spec ? describeScenario(this.spec) : '';
    this.description = `simulated bus (packs ${formatPackList(options.packs)}${options.master ? ', JK master' : ''}, seed ${this.simulator.seed}${scenario ? `, ${scenario}` : ''})`;
    for (const ev of ['data', 'open', 'close', 'reconnect', 'error'] as const) {
      this.endpoint.on(ev, (...args: unknown[]) => {
        try {
          this.emit(ev, ...args);
        } catch {
          // a throwing listener must not break the simulator's timers
        }
      });
    }
    this.simulator.on('error', (err: Error) => this.emit('error', new Error(`simulator: ${err.message}`)));
  }

  open(): void {
    if (this.closing) return;
    this.simulator.start();
    this.endpoint.open();
  }

  close(): Promise<void> {
    if (!this.closing) {
      this.closing = (async () => {
        await this.endpoint.close();
        await this.simulator.stop();
      })();
    }
    return this.closing;
  }

  write(data: Buffer): boolean {
    return this.endpoint.write(data);
  }

  isOpen(): boolean {
    return this.endpoint.isOpen();
  }

  markHealthy(): void {
    this.endpoint.markHealthy();
  }

  reopen(reason: string): void {
    this.endpoint.reopen(reason);
  }
}

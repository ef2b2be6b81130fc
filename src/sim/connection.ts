import { EventEmitter } from 'node:events';
import type { Transport } from '../transport/transport';
import { BusSimulator, type BusSimulatorOptions } from './index';
import type { SimHostEndpoint } from './endpoint';
import { formatPackList } from './spec';

/**
 * A whole simulated bus as one Transport (kind 'sim'): the simulator and the host endpoint that
 * the bus engine talks through. open() starts the simulator (on the real clock unless another
 * is given) and connects; close() disconnects and stops the simulator, which releases all its
 * timers. This is the bus node's "simulator" connection; `simulator` gives tests and the admin
 * endpoint its statistics.
 */
export class SimulatedBus extends EventEmitter implements Transport {
  readonly kind = 'sim';
  readonly description: string;
  readonly simulator: BusSimulator;
  readonly baudRate: number;
  private readonly endpoint: SimHostEndpoint;
  private closing: Promise<void> | null = null;

  constructor(options: BusSimulatorOptions) {
    super();
    this.on('error', () => undefined);
    this.simulator = new BusSimulator(options);
    this.baudRate = this.simulator.baud;
    this.endpoint = this.simulator.createHostEndpoint();
    this.description = `simulated bus (packs ${formatPackList(options.packs)}${options.master ? ', JK master' : ''}, seed ${this.simulator.seed})`;
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

import { ReconnectingTransport } from '../transport/reconnecting';
import type { Transport } from '../transport/transport';
import type { SimContext } from './context';
import type { Rng } from './rng';
import type { WireNode } from './wire';

export interface HostEndpointOptions {
  /**
   * The adapter echoes the host's own transmissions back: the first N bytes of each, or
   * 'all' (auto-direction transceiver with the receiver left on). Default 0. The 'echo' fault
   * adds CH341-style echoes of 3–11 bytes on top.
   */
  echo?: number | 'all';
}

/** A host-side transport that can also be unplugged and plugged back in. */
export interface SimHostEndpoint extends Transport {
  /** Pull the adapter out: the link goes down and reconnect attempts fail until replug(). */
  unplug(): void;
  /** Put it back: the next reconnect attempt succeeds. */
  replug(): void;
  readonly plugged: boolean;
}

/**
 * The in-process "USB adapter" for tests and the engine: a Transport (kind 'sim') whose
 * writes go onto the simulated wire as a transmission from the host and which receives
 * everything on the wire (the host sees all traffic — that is how sniffing works), in chunks
 * as bytes complete. It reconnects like the real transports (shared ReconnectingTransport,
 * backoff on the simulator's clock, seeded jitter): open() comes up asynchronously, unplug()
 * takes the link down, and reconnect attempts fail until replug().
 */
export class SimEndpoint extends ReconnectingTransport implements SimHostEndpoint, WireNode {
  readonly kind = 'sim';
  readonly description: string;
  readonly name: string;
  private isPlugged = true;
  private readonly echo: number | 'all';

  constructor(
    private readonly ctx: SimContext,
    index: number,
    options: HostEndpointOptions,
    rng: Rng,
    baud: number,
  ) {
    super({ clock: ctx.clock, backoff: { random: () => rng.next() } });
    const echo = options.echo ?? 0;
    if (echo !== 'all' && !(Number.isInteger(echo) && echo >= 0)) {
      throw new RangeError(`endpoint echo must be a whole number of bytes ≥ 0 or 'all', got ${JSON.stringify(echo)}`);
    }
    this.echo = echo;
    this.name = `host ${index}`;
    this.description = `sim://host${index} @ ${baud}`;
  }

  get plugged(): boolean {
    return this.isPlugged;
  }

  unplug(): void {
    this.isPlugged = false;
    this.ctx.wire.detach(this);
    this.linkLost(new Error('simulated adapter unplugged'));
  }

  replug(): void {
    this.isPlugged = true;
  }

  receive(chunk: Buffer): void {
    this.deliver(chunk);
  }

  protected connectLink(): Promise<void> {
    if (!this.isPlugged) return Promise.reject(new Error('simulated adapter unplugged'));
    this.ctx.wire.attach(this);
    return Promise.resolve();
  }

  protected releaseLink(): Promise<void> {
    this.ctx.wire.detach(this);
    return Promise.resolve();
  }

  protected send(data: Buffer): boolean {
    let echo = this.echo === 'all' ? data.length : this.echo;
    if (this.ctx.faults.roll('echo')) echo = Math.max(echo, this.ctx.faults.echoLength());
    this.ctx.transmit(this, data, { echo });
    return true;
  }
}

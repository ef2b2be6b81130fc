import { EventEmitter } from 'node:events';
import type { Transport } from '../../src/transport/transport';

/**
 * A Transport that forwards everything to `inner` — the base of the test links that tamper
 * with what the engine receives (fragmenting, muting, corrupting). Subclasses override
 * `received(chunk)` (default: pass it on) and any method they want to observe.
 */
export abstract class WrappedTransport extends EventEmitter implements Transport {
  abstract readonly kind: string;
  abstract readonly description: string;

  constructor(protected readonly inner: Transport) {
    super();
    inner.on('open', () => this.emit('open'));
    inner.on('close', (e?: Error) => this.emit('close', e));
    inner.on('data', (chunk: Buffer) => this.received(chunk));
  }

  /** Bytes from the inner link; the default delivers them unchanged. */
  protected received(chunk: Buffer): void {
    this.emit('data', chunk);
  }

  open(): void {
    this.inner.open();
  }
  close(): Promise<void> {
    return this.inner.close();
  }
  write(data: Buffer): boolean {
    return this.inner.write(data);
  }
  isOpen(): boolean {
    return this.inner.isOpen();
  }
  markHealthy(): void {
    this.inner.markHealthy();
  }
  reopen(reason: string): void {
    this.inner.reopen(reason);
  }
}

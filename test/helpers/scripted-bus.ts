import { EventEmitter } from 'node:events';
import type { FakeClock } from '../../src/common/clock';
import { kindForRegister } from '../../src/protocol/constants';
import type { FrameKind } from '../../src/protocol/types';
import type { Transport } from '../../src/transport/transport';

/**
 * A bus behind a scripted adapter on the fake clock, for engine unit tests: it opens on the next
 * tick, records what the engine sends (with the time), answers a trigger with
 * `answerTo(address, kind)` 10 ms later in one chunk, and `inject()` puts bytes from someone else
 * on the bus.
 */
export class ScriptedBus extends EventEmitter implements Transport {
  readonly kind = 'scripted';
  readonly description = 'scripted bus';
  readonly sent: { at: number; bytes: Buffer }[] = [];
  private up = false;

  constructor(
    protected readonly clock: FakeClock,
    private readonly answer: (address: number, kind: FrameKind) => Buffer | null = () => null,
  ) {
    super();
  }
  open(): void {
    this.clock.setTimeout(() => {
      this.up = true;
      this.emit('open');
    }, 0);
  }
  close(): Promise<void> {
    this.up = false;
    return Promise.resolve();
  }
  write(data: Buffer): boolean {
    if (!this.up) return false;
    this.sent.push({ at: this.clock.now(), bytes: Buffer.from(data) });
    const kind = kindForRegister(data.readUInt16BE(2));
    const reply = kind ? this.answerTo(data[0]!, kind) : null;
    if (reply) this.clock.setTimeout(() => this.inject(reply), 10);
    return true;
  }
  isOpen(): boolean {
    return this.up;
  }
  /** Bytes from someone else on the bus. */
  inject(bytes: Buffer): void {
    this.emit('data', bytes);
  }
  markHealthy(): void {}
  reopen(): void {}
  /** The answer to a trigger for `kind` of `address`, or null for silence. */
  protected answerTo(address: number, kind: FrameKind): Buffer | null {
    return this.answer(address, kind);
  }
}

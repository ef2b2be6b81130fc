import { encodeTrigger } from '../protocol/encode';
import type { InfoPayload } from '../protocol/types';
import type { EngineContext } from './context';
import type { Job } from './jobs';
import type { PackTable } from './packs';

/** Device-info reads that confirm a changed serial number: at most this many per pack … */
export const CONFIRM_ATTEMPTS = 3;
/** … within this time. */
export const CONFIRM_WINDOW_MS = 60_000;

/** What the confirmation needs from the engine. */
export interface ConfirmHost {
  readonly packs: PackTable;
  /** Queue a job (front: before the others). */
  enqueue(job: Job, front: boolean): void;
  /** Is a job of this purpose for this pack already queued? */
  hasQueued(purpose: Job['purpose'], address: number): boolean;
}

/**
 * Serial-number confirmation: a device-info frame of a known pack with a different serial
 * number is held back until a second info frame confirms it (PackTable.serialVerdict) — a
 * corrupted frame that passed every check must not turn into a new device. We ask for that
 * second frame at the next moment we may talk, at most CONFIRM_ATTEMPTS per pack within
 * CONFIRM_WINDOW_MS, so a pack whose serial never settles cannot crowd out the polling (its
 * regular info reads go on deciding). Not in listen mode: there the next info frame someone
 * else causes decides.
 *
 * Owns: the times of the recent confirmation reads, per pack.
 */
export class SerialConfirmation {
  private readonly confirmations = new Map<number, number[]>();

  constructor(
    private readonly ctx: EngineContext,
    private readonly host: ConfirmHost,
  ) {}

  /** An info frame of `address` arrived: true when it may be emitted (false: held back). */
  accept(address: number, info: InfoPayload): boolean {
    const { packs } = this.host;
    const known = packs.get(address)?.info?.serialNumber;
    const wasPending = packs.serialPending(address);
    if (packs.serialVerdict(address, info.serialNumber) === 'accept') {
      if (known !== undefined && known !== info.serialNumber) {
        this.ctx.log('info', `pack ${address}: serial number changed from ${known} to ${info.serialNumber} (confirmed by a second info frame)`);
      } else if (wasPending) {
        this.ctx.log('info', `pack ${address}: serial number ${info.serialNumber} confirmed again; the different one was not`);
      }
      return true;
    }
    this.ctx.log('info', `pack ${address}: info frame with a new serial number ${info.serialNumber} (known: ${known}) held back until another info frame confirms it`);
    this.request(address);
    return false;
  }

  /** Queue a device-info read of `address`, retried when unanswered (within the limits). */
  private request(address: number): void {
    const { packs } = this.host;
    if (this.ctx.options.mode === 'listen' || !packs.serialPending(address)) return;
    if (this.host.hasQueued('confirm', address)) return;
    const now = this.ctx.clock.now();
    const recent = (this.confirmations.get(address) ?? []).filter((t) => now - t < CONFIRM_WINDOW_MS);
    this.confirmations.set(address, recent);
    if (recent.length >= CONFIRM_ATTEMPTS) return;
    recent.push(now);
    this.host.enqueue(
      {
        address,
        expect: { type: 'frame', kind: 'info' },
        purpose: 'confirm',
        build: () => encodeTrigger(address, 'info'),
        wanted: () => packs.serialPending(address),
        done: (o) => {
          if (o.type === 'timeout' || o.type === 'exception') this.request(address);
        },
      },
      true,
    );
  }
}

import type { Transport } from '../transport/transport';
import type { PackTable } from './packs';
import { BusError, type BusOptions } from './types';
import { isPackAddress } from '../common/address';

/** Default overall deadline of request() and of each step of write(). */
export const REQUEST_TIMEOUT_MS = 10_000;

/** What the checks before a request or write look at. */
export interface TalkState {
  readonly started: boolean;
  readonly connected: boolean;
  readonly options: BusOptions;
  readonly transport: Pick<Transport, 'description'>;
}

/** We may transmit at all: running, not in listen mode, linked. Throws a BusError. */
export function checkCanTalk(s: TalkState): void {
  if (!s.started) throw new BusError('STOPPED', 'the bus engine is not running');
  if (s.options.mode === 'listen') throw new BusError('LISTEN_ONLY', 'the bus is in listen mode: it never transmits');
  if (!s.connected) throw new BusError('NOT_CONNECTED', `not connected to ${s.transport.description}`);
}

/** `target` is a pack address 0–15 that has been seen on this bus. Throws UNKNOWN_PACK. */
export function checkKnown(packs: PackTable, target: unknown): asserts target is number {
  if (!isPackAddress(target)) {
    throw new BusError('UNKNOWN_PACK', `pack address must be an integer 0–15 or 'all', got ${JSON.stringify(target)}`);
  }
  const address = target;
  if (!packs.has(address)) {
    const seen = packs.addresses();
    throw new BusError('UNKNOWN_PACK', `pack ${address} has never been seen on this bus (seen: ${seen.length ? seen.join(', ') : 'none yet'})`, address);
  }
}

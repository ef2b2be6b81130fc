import type { FrameKind } from '../../src/protocol/types';
import { BusError } from '../../src/bus/types';

/**
 * One place that turns whatever went wrong on the bus into a message a user can act on.
 * Input handlers pass the result to done(err) (it reaches Catch nodes as msg.error).
 */

export interface RequestContext {
  /** The bus node's name as shown in the editor. */
  bus: string;
  address: number | 'all';
  kind: FrameKind;
}

export function requestError(err: unknown, ctx: RequestContext): Error {
  const what = `${ctx.kind} request to ${ctx.address === 'all' ? 'all packs' : `pack ${ctx.address}`} on bus "${ctx.bus}"`;
  if (err instanceof BusError) {
    const hint: Partial<Record<BusError['code'], string>> = {
      TIMEOUT: `${ctx.address === 'all' ? 'no pack' : 'the pack'} did not answer in time; check the pack's DIP address and wiring, or raise the timeout`,
      LISTEN_ONLY: 'the bus is in listen mode and never transmits; set its Mode to "auto" or "master" to send requests',
      NOT_CONNECTED: 'the bus is not connected; check the adapter or gateway (see the bus status)',
      STOPPED: 'the bus is stopped (being redeployed or closed)',
      UNKNOWN_PACK: 'no pack has been seen at that address on this bus',
      PACK_OFFLINE: 'that pack is offline (no frame from it recently)',
      BUSY: 'the bus is busy with other requests; try again later',
    };
    const extra = hint[err.code];
    const e = new Error(`${what} failed: ${err.message}${extra ? ` (${extra})` : ''}`);
    (e as Error & { code?: string }).code = err.code;
    return e;
  }
  const message = err instanceof Error ? err.message : String(err);
  return new Error(`${what} failed: ${message}`);
}

export function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

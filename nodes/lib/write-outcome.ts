import { BusError, type WriteResult } from '../../src/bus/types';
import type { WriteRequest } from '../../src/bus/write-request';
import { plainMessage } from './bus-reporting';

/**
 * How `jkbms-write` words its outcomes: the error codes it gives `done(err)` (the bus
 * engine's, plus the checks the node makes), the hint added to each engine refusal or
 * failure, and one pack's result as sent on the output.
 */

/** Error codes of jkbms-write: the bus engine's, plus the checks made in the node. */
export type WriteCode = BusError['code'] | 'BAD_MESSAGE' | 'PROTECTED' | 'WRONG_BUS' | 'WRONG_PACK' | 'FAILED';

export type CodedError = Error & { code: WriteCode };

export function coded(code: WriteCode, message: string): CodedError {
  const e = new Error(message) as CodedError;
  e.code = code;
  return e;
}

export const NOTHING_SENT = 'nothing was sent';

/** A value as a status or message shows it: booleans as on/off. */
export const shown = (v: unknown): string => (typeof v === 'boolean' ? (v ? 'on' : 'off') : String(v));

/** Hints for the engine's refusals and failures. */
export const HINTS: Partial<Record<WriteCode, string>> = {
  UNKNOWN_PACK: `check the pack address; ${NOTHING_SENT}`,
  PACK_OFFLINE: `no frame from it recently; ${NOTHING_SENT}`,
  NOT_CONNECTED: `the bus is not connected, check the adapter or gateway; ${NOTHING_SENT}`,
  STOPPED: 'the bus stopped (redeploy or shutdown) before the write was confirmed; check the setting',
  TIMEOUT: 'the write may or may not have been applied: check the setting (jkbms-request, settings)',
  BUSY: 'the bus is busy; try again later',
  WRITES_DISABLED: NOTHING_SENT,
  LISTEN_ONLY: NOTHING_SENT,
  INVALID_SETTING: NOTHING_SENT,
  OUT_OF_RANGE: NOTHING_SENT,
};

/** The outcome of one pack's write, as sent on the output. */
export type PackResult = Omit<WriteResult, 'error'> & { error?: { code: WriteCode; message: string } };

/** The failure of one pack's write, with this node's wording and hint. */
export function failure(err: unknown, bus: string, address: number, p: WriteRequest): { code: WriteCode; message: string } {
  const what = `jkbms-write: ${p.def.name} = ${shown(p.value)} on pack ${address} of bus "${bus}"`;
  if (err instanceof BusError) {
    const hint = err.message.endsWith(NOTHING_SENT) ? undefined : HINTS[err.code];
    return { code: err.code, message: `${what} failed: ${err.message}${hint ? `; ${hint}` : ''}` };
  }
  return { code: 'FAILED', message: `${what} failed: ${plainMessage(err)}` };
}

/** The engine's result for one pack, a failure with this node's wording and hint. */
export function fromEngine(r: WriteResult, bus: string, p: WriteRequest): PackResult {
  const { error, ...rest } = r;
  if (!error) return rest;
  return { ...rest, ok: false, error: failure(new BusError(error.code as BusError['code'], error.message, r.address), bus, r.address, p) };
}

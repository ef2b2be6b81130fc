import { SettingError } from '../protocol/settings';
import { BusError, type BusErrorCode, type WriteResult } from './types';

/** A write that reached the pack but did not end as requested; `result` says what is known. */
export class WriteError extends BusError {
  constructor(
    code: BusErrorCode,
    message: string,
    address: number,
    readonly result: WriteResult,
  ) {
    super(code, message, address);
    this.name = 'WriteError';
  }
}

/** Modbus exception codes as the JK register map defines them (docs/protocol.md §2.1). */
const EXCEPTIONS: Record<number, string> = {
  1: 'illegal function',
  2: 'illegal data address (not a writable register)',
  3: 'illegal data value (the pack refused the value)',
  4: 'CRC error (the pack received a corrupted request)',
};

export function exceptionMeaning(code: number): string {
  return EXCEPTIONS[code] ?? 'unknown exception code';
}

/** Map the protocol layer's validation errors onto bus error codes. */
export function settingToBusError(err: unknown, address?: number): BusError {
  if (err instanceof BusError) return err;
  if (err instanceof SettingError) {
    const code: BusErrorCode = err.code === 'OUT_OF_RANGE' ? 'OUT_OF_RANGE' : err.code === 'INVALID_ADDRESS' ? 'UNKNOWN_PACK' : 'INVALID_SETTING';
    return new BusError(code, err.message, address);
  }
  return new BusError('INVALID_SETTING', err instanceof Error ? err.message : String(err), address);
}

import type { FrameKind } from './types';

/** Start of every data frame (docs/protocol.md §2.4). */
export const HEADER = Buffer.from([0x55, 0xaa, 0xeb, 0x90]);
/** Data frame length including the sum8 at byte 299. */
export const FRAME_LEN = 300;
/** Modbus 0x10 acknowledgement (and the tail appended to every data frame on RS485). */
export const ACK_LEN = 8;
/** A data frame with its acknowledgement tail. */
export const RESPONSE_LEN = FRAME_LEN + ACK_LEN;
/** Modbus function "write multiple registers", used for read triggers and writes. */
export const FN_WRITE = 0x10;
/** Highest valid bus address (DIP switches 0–15; 0 = the JK master); the check itself is src/common/address.ts. */
export { MAX_ADDRESS, isPackAddress as isAddress } from '../common/address';

/** Trigger register that makes a pack send each kind of frame (docs/protocol.md §2.3). */
export const KIND_REGISTER: Readonly<Record<FrameKind, number>> = { info: 0x161c, settings: 0x161e, live: 0x1620 };
/** Frame type byte (offset 4) of each kind. */
export const KIND_FRAME_TYPE: Readonly<Record<FrameKind, 1 | 2 | 3>> = { settings: 1, live: 2, info: 3 };

export function kindForRegister(register: number): FrameKind | undefined {
  if (register === 0x161c) return 'info';
  if (register === 0x161e) return 'settings';
  if (register === 0x1620) return 'live';
  return undefined;
}

export function kindForFrameType(frameType: number): FrameKind | undefined {
  if (frameType === 1) return 'settings';
  if (frameType === 2) return 'live';
  if (frameType === 3) return 'info';
  return undefined;
}

/** Wire time of one byte, ms (8N1 = 10 bits per byte): 0.0868 ms at 115200 baud. */
export function byteTimeMs(baud = 115200): number {
  return 10_000 / baud;
}


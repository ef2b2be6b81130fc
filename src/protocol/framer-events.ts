/**
 * The events of the streaming Framer (framer.ts): what it cuts the byte stream into. Types
 * only; framer.ts re-exports them, and src/protocol/index.ts exports them from there.
 */
import type { FrameKind } from './types';

export type DiscardReason = 'noise' | 'bad-sum8' | 'bad-crc' | 'truncated' | 'echo';

export interface TriggerEvent {
  type: 'trigger';
  address: number;
  register: number;
  kind: FrameKind;
  bytes: Buffer;
}
export interface WriteEvent {
  type: 'write';
  address: number;
  register: number;
  quantity: 1 | 2;
  /** Unsigned raw value (big-endian on the wire). */
  value: number;
  bytes: Buffer;
}
export interface AckEvent {
  type: 'ack';
  address: number;
  register: number;
  quantity: number;
  bytes: Buffer;
}
export interface ExceptionEvent {
  type: 'exception';
  address: number;
  functionCode: number;
  code: number;
  bytes: Buffer;
}
export interface DataFrameEvent {
  type: 'frame';
  frameType: 1 | 2 | 3;
  kind: FrameKind;
  /** Responder address, or null when neither the tail nor the frame tells it. */
  address: number | null;
  addressFrom: 'tail' | 'devaddr' | 'none';
  /** 'ack' = 308-byte form, 'padded' = 0x00 + ack (310-byte form), 'none' = tail missing. */
  tail: 'ack' | 'padded' | 'none';
  /** The 300 frame bytes. */
  frame: Buffer;
  /** Every byte consumed for this message (frame, pad, tail). */
  bytes: Buffer;
}
export interface DiscardEvent {
  type: 'discard';
  reason: DiscardReason;
  bytes: Buffer;
}

export type FramerEvent = TriggerEvent | WriteEvent | AckEvent | ExceptionEvent | DataFrameEvent | DiscardEvent;

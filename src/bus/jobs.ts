import type { FrameKind } from '../protocol/types';
import type { BusError, FrameEvent } from './types';

/** What an exchange waits for: a data frame of a kind, or the acknowledgement of a write. */
export type Expect = { type: 'frame'; kind: FrameKind } | { type: 'ack'; register: number };

export type Outcome =
  | { type: 'frame'; event: FrameEvent }
  | { type: 'ack' }
  | { type: 'exception'; code: number }
  | { type: 'timeout' }
  | { type: 'failed'; error: BusError };

/** One transmission the engine may send when it is allowed to talk, and what to do with the answer. */
export interface Job {
  address: number;
  expect: Expect;
  /** 'confirm': a device-info read that confirms (or refutes) a changed serial number. */
  purpose: 'poll' | 'probe' | 'info' | 'confirm' | 'request' | 'write';
  /** Bytes to send, built at send time (a switch-word write uses the settings known then). May throw. */
  build(): Buffer;
  /** Still worth sending (a request already satisfied by a sniffed frame is dropped unsent). */
  wanted(): boolean;
  done(outcome: Outcome): void;
}

import { decodeFrame } from '../protocol/decode';
import type { DataFrameEvent } from '../protocol/framer';
import { implausible } from '../protocol/plausibility';
import type { DecodedFrame, FrameKind } from '../protocol/types';
import { errorText, type BusLog } from './context';
import { RejectionStreaks } from './rejections';

/** A frame without tail address belongs to the last trigger of its kind seen within this time. */
export const ATTRIBUTION_WINDOW_MS = 1000;

export type FrameReading = { address: number | null; payload: DecodedFrame } | { rejected: 'bad-frame' | 'implausible' };

/**
 * Turns a framed data frame into a decoded payload we can trust as far as the protocol
 * allows: it finds the sender of a frame without tail address (the last trigger of its kind,
 * ours or the master's), decodes it and applies the plausibility checks.
 *
 * Owns: the last trigger seen on the wire, and the streaks of implausible frames per pack.
 */
export class FrameReader {
  private lastTrigger: { address: number; kind: FrameKind; at: number } | null = null;
  private readonly rejections: RejectionStreaks;

  constructor(private readonly log: BusLog) {
    this.rejections = new RejectionStreaks((msg) => log('warn', msg));
  }

  /** A trigger for `kind` of `address` (ours or someone else's) ended at `at`. */
  trigger(address: number, kind: FrameKind, at: number): void {
    this.lastTrigger = { address, kind, at };
  }

  read(e: DataFrameEvent, now: number): FrameReading {
    let address = e.address;
    if (address === null) {
      const t = this.lastTrigger;
      if (t && t.kind === e.kind && now - t.at <= ATTRIBUTION_WINDOW_MS) address = t.address;
    }
    let payload: DecodedFrame;
    try {
      payload = decodeFrame(e.frame, address);
    } catch (err) {
      this.log('debug', `frame rejected: ${errorText(err)}`);
      return { rejected: 'bad-frame' };
    }
    const problem = implausible(payload, e.addressFrom === 'tail' ? e.address : null, e.frame);
    this.rejections.count(address, e.kind, problem);
    if (problem) {
      this.log('debug', `${e.kind} frame${address === null ? '' : ` of pack ${address}`} rejected as implausible: ${problem}`);
      return { rejected: 'implausible' };
    }
    return { address, payload };
  }
}

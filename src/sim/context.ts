import type { Clock } from '../common/clock';
import type { FaultInjector } from './faults';
import type { TransmitOptions, Wire, WireNode } from './wire';

/** How the JK master (address 0) paces its cycle (docs/protocol.md §6.2, logic-analyser measurements). */
export interface MasterTiming {
  /**
   * Minimum cycle period, ms (default 4400). A cycle is: own live frame, own settings frame,
   * then addresses 1–15; the next cycle starts this long after the previous one started, or
   * right after address 15 when the sequence took longer (many present slaves). With 3
   * slaves the sequence itself takes ≈ 4.4 s, as measured. (Assumption: whether the real
   * master stretches or compresses its cycle for other slave counts is not documented.)
   */
  cycleMs: number;
  /** Silence after the last byte of an answer before the master's next trigger, ms (default 180). */
  gapAfterAnswerMs: number;
  /** How long the master waits for an answer after the last byte of its trigger, ms (default 220). */
  probeTimeoutMs: number;
  /**
   * Start-to-start spacing of the master's own frames, ms (default 220): own live frame, 220 ms,
   * own settings frame, 220 ms, then address 1 — the ≈ 440 ms self-broadcast inside the
   * ≈ 660 ms gap between the probe of address 15 and the trigger of address 1. (Assumption:
   * the exact position of the self-broadcast within that gap is not documented.)
   */
  selfSpacingMs: number;
  /**
   * What the master does about bytes it did not ask for (assumption, undocumented):
   * 'ignore' (default) keeps its schedule and may talk over a foreign transmission;
   * 'defer' waits until the line has been quiet for `deferGuardMs` before each transmission.
   * In both modes it only takes an answer from the address and kind it is waiting for.
   */
  foreignTraffic: 'ignore' | 'defer';
  deferGuardMs: number;
}

export interface SimTiming {
  /** Last byte of a request → first byte of the pack's answer, ms (default 8; with the defaults
   *  trigger → end of acknowledgement is ≈ 38 ms, as measured on real packs). */
  turnaroundMs: number;
  /** Uniform ± jitter added to each turnaround, ms (default 0.5). */
  turnaroundJitterMs: number;
  /** Silence between a slave's frame byte 299 and its 8-byte ack tail, ms (default 2; the
   *  JK master's own frames have none). */
  tailGapMs: number;
  /** Receive batching: bytes are handed to endpoints in chunks spanning ≤ this much wire time, ms (default 1). */
  chunkMs: number;
  /** Line silence after which the packs and the master drop partial input, ms (default 5). */
  idleMs: number;
  master: MasterTiming;
}

export const DEFAULT_MASTER_TIMING: MasterTiming = {
  cycleMs: 4400,
  gapAfterAnswerMs: 180,
  probeTimeoutMs: 220,
  selfSpacingMs: 220,
  foreignTraffic: 'ignore',
  deferGuardMs: 5,
};

export const DEFAULT_TIMING: SimTiming = {
  turnaroundMs: 8,
  turnaroundJitterMs: 0.5,
  tailGapMs: 2,
  chunkMs: 1,
  idleMs: 5,
  master: DEFAULT_MASTER_TIMING,
};

export type SimTimingInput = Partial<Omit<SimTiming, 'master'>> & { master?: Partial<MasterTiming> };

/** Merge user timing over the defaults; throws a RangeError naming a bad value. */
export function resolveTiming(input: SimTimingInput = {}): SimTiming {
  const { master, ...rest } = input;
  const t: SimTiming = { ...DEFAULT_TIMING, ...rest, master: { ...DEFAULT_MASTER_TIMING, ...master } };
  const check = (name: string, v: unknown, min = 0) => {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min) throw new RangeError(`timing.${name} must be a number ≥ ${min} ms, got ${JSON.stringify(v)}`);
  };
  for (const k of ['turnaroundMs', 'turnaroundJitterMs', 'tailGapMs', 'chunkMs', 'idleMs'] as const) check(k, t[k]);
  for (const k of ['cycleMs', 'gapAfterAnswerMs', 'probeTimeoutMs', 'selfSpacingMs', 'deferGuardMs'] as const) check(`master.${k}`, t.master[k]);
  if (t.turnaroundJitterMs > t.turnaroundMs) throw new RangeError('timing.turnaroundJitterMs must not exceed timing.turnaroundMs');
  if (t.master.foreignTraffic !== 'ignore' && t.master.foreignTraffic !== 'defer') {
    throw new RangeError(`timing.master.foreignTraffic must be 'ignore' or 'defer', got ${JSON.stringify(t.master.foreignTraffic)}`);
  }
  return t;
}

/** What the packs, the master and the endpoints share inside one simulator. */
export interface SimContext {
  readonly clock: Clock;
  readonly wire: Wire;
  readonly timing: SimTiming;
  readonly faults: FaultInjector;
  /** Put bytes on the wire (the bit-flip fault applies here). */
  transmit(sender: WireNode, bytes: Uint8Array, opts?: TransmitOptions): void;
  /** A bug surfaced inside a timer or I/O callback: recorded and emitted, never thrown. */
  error(err: unknown): void;
}

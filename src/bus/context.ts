import type { Clock, TimerHandle } from '../common/clock';
import type { BusCounters } from './stats';
import type { BusOptions } from './types';

export type BusLogLevel = 'debug' | 'info' | 'warn' | 'error';
export type BusLog = (level: BusLogLevel, msg: string) => void;

/**
 * What the engine's parts share (src/bus/engine.ts builds it once): the clock, the options,
 * the log, the health counters and never-throwing timers and events. The parts hold their own
 * state; they reach each other only through the engine's wiring.
 */
export interface EngineContext {
  readonly clock: Clock;
  /** The engine's lifecycle: started, and the transport link up (written only by the engine). */
  readonly link: LinkState;
  readonly options: BusOptions;
  /** Wire time of one byte, ms. */
  readonly byteMs: number;
  readonly counters: BusCounters;
  log: BusLog;
  /** setTimeout on the engine's clock; the callback never throws (errors go to fail()). */
  after(ms: number, fn: () => void): TimerHandle;
  cancel(timer: TimerHandle | null | undefined): void;
  /**
   * Run `fn` once the input that is waiting now has been delivered (after a busy spell of the
   * event loop Node.js runs expired timers before it reads what arrived meanwhile). Never throws.
   */
  afterPendingInput(fn: () => void): void;
  /** emit() that a throwing listener cannot turn into a crash. */
  fire(event: string, payload: unknown): void;
  /** An unexpected error: logged and emitted as 'error'. */
  fail(err: unknown, where?: string): void;
}

export interface LinkState {
  readonly started: boolean;
  readonly connected: boolean;
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

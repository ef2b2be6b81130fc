/**
 * A bare EngineContext on a FakeClock, for unit tests of the engine's parts (arbiter,
 * injector, loop watch …) without an engine, a transport or the simulator.
 */
import { FakeClock } from '../../src/common/clock';
import type { EngineContext } from '../../src/bus/context';
import { resolveBusOptions } from '../../src/bus/options';
import { BusCounters } from '../../src/bus/stats';
import type { BusOptions } from '../../src/bus/types';

export interface PartContext {
  clock: FakeClock;
  ctx: EngineContext;
  /** Writable lifecycle (ctx.link). */
  link: { started: boolean; connected: boolean };
  logs: string[];
  events: { event: string; payload: unknown }[];
  errors: unknown[];
}

export function partContext(options: Partial<BusOptions> = {}, start = 1000): PartContext {
  const clock = new FakeClock(start);
  const link = { started: true, connected: true };
  const logs: string[] = [];
  const events: { event: string; payload: unknown }[] = [];
  const errors: unknown[] = [];
  const guard = (fn: () => void) => {
    try {
      fn();
    } catch (err) {
      errors.push(err);
    }
  };
  const after = (ms: number, fn: () => void) => clock.setTimeout(() => guard(fn), ms);
  const ctx: EngineContext = {
    clock,
    link,
    options: resolveBusOptions(options),
    byteMs: 10_000 / 115200,
    counters: new BusCounters(),
    log: (level, msg) => logs.push(`${clock.now()} ${level} ${msg}`),
    after,
    cancel: (t) => clock.clearTimeout(t),
    afterPendingInput: (fn) => after(0, fn),
    fire: (event, payload) => events.push({ event, payload }),
    fail: (err) => errors.push(err),
  };
  return { clock, ctx, link, logs, events, errors };
}

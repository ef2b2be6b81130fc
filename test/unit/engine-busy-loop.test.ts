import assert from 'node:assert/strict';
import { FakeClock } from '../../src/common/clock';
import { BusEngine } from '../../src/bus/engine';
import { injectionVerdict } from '../../src/bus/gap-learner';
import { LoopWatch, MAX_LAG_ALLOWANCE_MS } from '../../src/bus/loop-watch';
import { kindForRegister } from '../../src/protocol/constants';
import { encodeTrigger } from '../../src/protocol/encode';
import type { FrameKind } from '../../src/protocol/types';
import { infoFrame, liveFrame } from '../helpers/fixtures';
import { partContext } from '../helpers/engine-context';
import { microtasks } from '../helpers/engine-harness';
import { ScriptedBus } from '../helpers/scripted-bus';

/**
 * The decisions that keep gap injection safe when Node-RED's event loop is busy, on the fake
 * clock: FakeClock.block(ms) is a stall (time passes, no timer runs; they run late afterwards),
 * and the engine's afterPendingInput hook lets a test hand over bytes that were "waiting in the
 * receive buffer" exactly when the engine is about to decide.
 */

/** A link driven by the test: it plays the JK master's traffic; pack 1 answers our device-info trigger 10 ms later. */
class ScriptedLink extends ScriptedBus {
  /** Pack 1 answers our device-info trigger by itself (false: the test hands the answer over). */
  autoAnswer = true;

  protected override answerTo(address: number, kind: FrameKind): Buffer | null {
    return this.autoAnswer && kind === 'info' ? infoFrame(address) : null;
  }
  /** Our device-info triggers. */
  get infoTriggers(): { at: number; bytes: Buffer }[] {
    return this.sent.filter((s) => kindForRegister(s.bytes.readUInt16BE(2)) === 'info');
  }
}

const TRIGGER_MS = (11 * 10_000) / 115200;
const FRAME_MS = (308 * 10_000) / 115200;

interface Rig {
  clock: FakeClock;
  link: ScriptedLink;
  engine: BusEngine;
  /** The master's traffic up to the end of pack 1's live answer (a gap of 180 ms follows it). */
  pollPack1(): void;
  /** The master's probes of absent addresses 5, 6, 7, 220 ms apart, then quiet until `cycleMs` after the cycle began. */
  probes(): void;
  held: (() => void)[];
}

/**
 * The engine in auto mode behind a scripted JK master. One learning cycle: the master polls
 * pack 1 (trigger, 8 ms, its answer, 180 ms of quiet) and probes the absent addresses 5, 6 and
 * 7 (220 ms of quiet each). Pack 1 is then online and its device info is due: the engine wants
 * to inject a request into the next gap it knows.
 */
async function rig(opts: { holdPendingInput?: boolean } = {}): Promise<Rig> {
  const clock = new FakeClock(0);
  const link = new ScriptedLink(clock);
  const held: (() => void)[] = [];
  const engine = new BusEngine(link, { mode: 'auto', masterSilenceMs: 5000 }, { clock, ...(opts.holdPendingInput ? { afterPendingInput: (fn) => held.push(fn) } : {}) });
  engine.start();
  clock.advance(1);
  await microtasks();
  const r: Rig = {
    clock,
    link,
    engine,
    held,
    pollPack1() {
      link.inject(encodeTrigger(1, 'live'));
      clock.advance(8);
      clock.advance(FRAME_MS);
      link.inject(liveFrame(1));
    },
    probes() {
      for (const a of [5, 6, 7]) {
        clock.advance(a === 5 ? 180 : 220);
        link.inject(encodeTrigger(a, 'live'));
      }
      clock.advance(1200);
    },
  };
  r.pollPack1();
  r.probes();
  assert.equal(engine.status().role, 'sniffing');
  assert.ok(engine.pack(1)?.online);
  assert.deepEqual(link.sent, [], 'nothing sent before a gap is known');
  return r;
}

describe('bus engine: injection while the event loop is busy (fake clock)', () => {
  it('on time: the device info goes into the known gap after pack 1’s answer, minGap after it', async () => {
    const r = await rig();
    r.pollPack1();
    const answerEnd = r.clock.now();
    r.clock.advance(150);
    assert.equal(r.link.infoTriggers.length, 1);
    assert.ok(Math.abs(r.link.infoTriggers[0]!.at - (answerEnd + 100)) < 1, `sent ${r.link.infoTriggers[0]!.at - answerEnd} ms after the answer`);
    assert.equal(r.engine.status().stats.injectionsDeferred, 0);
    await r.engine.stop();
  });

  it('the send timer fires late (a 120 ms stall): nothing is sent into what is left of the gap; the next gap is used', async () => {
    const r = await rig();
    r.pollPack1();
    r.clock.advance(50);
    r.clock.block(120); // the send time (+100) passes while the loop is blocked
    r.clock.advance(0);
    r.clock.advance(29);
    assert.equal(r.link.infoTriggers.length, 0, 'not sent late into the gap');
    assert.equal(r.engine.status().stats.injectionsDeferred, 1);
    // The master goes on (its probe of 5 is due 180 ms after the answer): the gap after it is used.
    r.link.inject(encodeTrigger(5, 'live'));
    const probeEnd = r.clock.now();
    r.clock.advance(150);
    assert.equal(r.link.infoTriggers.length, 1);
    assert.ok(Math.abs(r.link.infoTriggers[0]!.at - (probeEnd + 100)) < 1);
    await r.engine.stop();
  });

  it('bytes waiting when the engine decides (the master’s next trigger, unread after a stall): not sent', async () => {
    const r = await rig({ holdPendingInput: true });
    r.pollPack1();
    r.clock.advance(100);
    assert.equal(r.held.length, 1, 'the engine asks to see pending input before it sends');
    // The master's next trigger had arrived meanwhile and is handed over now.
    r.link.inject(encodeTrigger(5, 'live'));
    for (const fn of r.held.splice(0)) fn();
    assert.equal(r.link.infoTriggers.length, 0);
    assert.equal(r.engine.status().stats.injectionsDeferred, 1);
    await r.engine.stop();
  });

  it('part of a message waiting when the engine decides: not sent', async () => {
    const r = await rig({ holdPendingInput: true });
    r.pollPack1();
    r.clock.advance(100);
    assert.equal(r.held.length, 1);
    r.link.inject(encodeTrigger(5, 'live').subarray(0, 5));
    for (const fn of r.held.splice(0)) fn();
    assert.equal(r.link.infoTriggers.length, 0);
    assert.equal(r.engine.status().stats.injectionsDeferred, 1);
    await r.engine.stop();
  });

  it('a message handed over right after a stall opens no gap (its arrival time may be late); the next one does', async () => {
    const r = await rig();
    r.link.inject(encodeTrigger(1, 'live'));
    r.clock.advance(8 + FRAME_MS);
    r.clock.block(60);
    // Pack 1's answer was waiting during the stall: handed over before the late timers run.
    r.link.inject(liveFrame(1));
    r.clock.advance(170);
    assert.equal(r.link.infoTriggers.length, 0, 'no injection after a message of uncertain time');
    r.link.inject(encodeTrigger(5, 'live'));
    const probeEnd = r.clock.now();
    r.clock.advance(150);
    assert.equal(r.link.infoTriggers.length, 1);
    assert.ok(Math.abs(r.link.infoTriggers[0]!.at - (probeEnd + 100)) < 1);
    await r.engine.stop();
  });

  it('the exchange timeout waits for input that is pending: an answer handed over late is an answer, not a timeout', async () => {
    for (const answered of [true, false]) {
      const r = await rig({ holdPendingInput: true });
      r.link.autoAnswer = false;
      r.pollPack1();
      r.clock.advance(100);
      for (const fn of r.held.splice(0)) fn();
      assert.equal(r.link.infoTriggers.length, 1);
      // A stall: the exchange times out meanwhile; the answer is waiting unread.
      r.clock.block(200);
      r.clock.advance(0);
      assert.equal(r.held.length, 1, 'the timeout asks to see pending input first');
      if (answered) r.link.inject(infoFrame(1));
      for (const fn of r.held.splice(0)) fn();
      assert.equal(r.engine.status().stats.timeouts, answered ? 0 : 1);
      assert.equal(r.engine.pack(1)!.info !== undefined, answered);
      await r.engine.stop();
    }
  });

  it('stats: a master talking over our exchange is a collision (once per exchange); a loop that is often late shows in loopLagMs', async () => {
    const r = await rig();
    r.link.autoAnswer = false;
    r.pollPack1();
    r.clock.advance(100);
    assert.equal(r.link.infoTriggers.length, 1);
    assert.equal(r.engine.stats().queued, 0, 'taken for the gap');
    // The master does not wait: its probe, then another pack's answer, during our exchange.
    r.link.inject(encodeTrigger(5, 'live'));
    r.link.inject(liveFrame(2));
    assert.equal(r.engine.stats().collisions, 1);
    r.clock.advance(500);
    const s = r.engine.stats();
    assert.equal(s.collisions, 1);
    assert.equal(s.timeouts, 1);
    assert.equal(s.requestsInjected, 1);
    assert.equal(s.loopLagMs, 0);
    // Every timer 15 ms late, again and again: the allowance shows it.
    for (let i = 0; i < 40; i++) {
      r.clock.block(15);
      r.clock.advance(5);
    }
    assert.ok(r.engine.stats().loopLagMs >= 10, `loopLagMs ${r.engine.stats().loopLagMs}`);
    await r.engine.stop();
  });

  it('stats: garbage instead of our answer while a master polls is a collision; an answer that is merely late is not', async () => {
    for (const what of ['garbled', 'late'] as const) {
      const r = await rig();
      r.link.autoAnswer = false;
      r.pollPack1();
      r.clock.advance(100);
      assert.equal(r.link.infoTriggers.length, 1);
      const answer = infoFrame(1);
      if (what === 'garbled') {
        r.clock.advance(10);
        answer[150] = answer[150]! ^ 0xff;
        r.link.inject(answer);
        r.clock.advance(200);
      } else {
        // The answer comes slowly: its first half before the timeout, the rest (a few ms apart,
        // no flush in between) just after it.
        r.clock.advance(40);
        r.link.inject(answer.subarray(0, 150));
        for (let i = 0; i < 20 && r.engine.stats().timeouts === 0; i++) r.clock.advance(1);
        assert.equal(r.engine.stats().timeouts, 1, 'timed out while the answer was arriving');
        r.link.inject(answer.subarray(150));
        r.clock.advance(200);
      }
      const s = r.engine.stats();
      assert.equal(s.timeouts, 1, what);
      assert.equal(s.collisions, what === 'garbled' ? 1 : 0, what);
      assert.equal(r.engine.pack(1)!.info !== undefined, what === 'late', 'the late answer still counts');
      await r.engine.stop();
    }
  });

  it('injectionVerdict: bytes heard, a busy loop, or too little left of the window → not now', () => {
    const plan = { windowEnd: 1170, exchangeMs: 45 };
    const base = { now: 1100, plan, heardAt: 1000, lastRxAt: 1000, buffered: 0, fresh: true };
    assert.equal(injectionVerdict(base), 'send');
    assert.equal(injectionVerdict({ ...base, lastRxAt: 1090 }), 'bytes-arrived');
    assert.equal(injectionVerdict({ ...base, buffered: 3 }), 'bytes-arrived');
    assert.equal(injectionVerdict({ ...base, fresh: false }), 'loop-busy');
    assert.equal(injectionVerdict({ ...base, now: 1125 }), 'send', 'late, but the exchange still ends by the window end');
    assert.equal(injectionVerdict({ ...base, now: 1126 }), 'window-closed');
  });

  it('LoopWatch: fresh while ticks come on time; a late tick is a stall; the lag allowance is the capped 90th percentile', () => {
    const pc = partContext();
    const stalls: number[] = [];
    const w = new LoopWatch(pc.ctx, (late) => stalls.push(late));
    assert.equal(w.fresh(), false, 'not watching');
    w.watch(true);
    assert.equal(w.fresh(), false, 'no tick yet');
    pc.clock.advance(10);
    assert.equal(w.fresh(), true);
    pc.clock.advance(15);
    assert.equal(w.fresh(), true);
    pc.clock.block(50);
    assert.equal(w.fresh(), false, 'blocked: input handed over now may be stale');
    pc.clock.advance(0);
    assert.equal(stalls.length, 1);
    assert.ok(stalls[0]! > 40);
    assert.equal(w.fresh(), false, 'right after a stall');
    pc.clock.advance(10);
    assert.equal(w.fresh(), true, 'the next tick on time');
    w.watch(false);
    assert.equal(w.fresh(), false);
    for (let i = 0; i < 64; i++) w.record(i < 57 ? 1 : 200);
    assert.equal(w.lagMs(), MAX_LAG_ALLOWANCE_MS, 'often very late: capped');
    for (let i = 0; i < 64; i++) w.record(i < 60 ? 0.5 : 12);
    assert.equal(w.lagMs(), 0.5);
    assert.equal(TRIGGER_MS < 1, true);
  });
});

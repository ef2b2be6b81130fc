import assert from 'node:assert/strict';
import { FakeClock } from '../../src/common/clock';
import { Framer, decodeLive, decodeSettings, encodeTrigger, type DataFrameEvent } from '../../src/protocol';
import { BusSimulator, type BusSimulatorOptions, type TransmitEvent } from '../../src/sim';

/** One line per transmission: who, what, when. */
interface Step {
  who: string;
  what: string;
  start: number;
  end: number;
}

function describeTx(e: TransmitEvent): Step {
  const b = e.bytes;
  let what: string;
  if (b.length === 11 && b[1] === 0x10) what = `trigger ${b[0]} ${b.readUInt16BE(2).toString(16)}`;
  else if (b.length === 308) what = `frame ${b[4]} tail ${b[300]}`;
  else if (b.length === 300) what = `frame ${b[4]}`;
  else if (b.length === 8) what = `tail ${b[0]}`;
  else what = `${b.length} bytes`;
  return { who: e.sender, what, start: e.start, end: e.end };
}

async function run(minutes: number, options: Partial<BusSimulatorOptions> = {}) {
  const clock = new FakeClock();
  const sim = new BusSimulator({ packs: [1, 2, 3], master: true, seed: 11, clock, ...options });
  const steps: Step[] = [];
  sim.on('transmit', (e: TransmitEvent) => steps.push(describeTx(e)));
  const host = sim.createHostEndpoint();
  const framer = new Framer();
  const frames: DataFrameEvent[] = [];
  host.on('data', (c: Buffer) => frames.push(...framer.push(c).filter((e): e is DataFrameEvent => e.type === 'frame')));
  host.open();
  await new Promise((r) => setImmediate(r));
  sim.start();
  clock.advance(minutes * 60_000);
  return { clock, sim, steps, frames, host };
}

const near = (x: number, y: number, tol = 1e-6) => assert.ok(Math.abs(x - y) <= tol, `${x} is not ${y}`);

describe('sim JK master', () => {
  it('runs the measured 4.4 s cycle over 3 slaves for a minute, without a single collision', async () => {
    const { sim, steps, frames, clock } = await run(1);

    // Cycle starts = the master's own live frame (tail address 0).
    const starts = steps.filter((s) => s.who === 'master' && s.what === 'frame 2 tail 0').map((s) => s.start);
    assert.equal(starts.length, 14); // 0, 4.4, … 57.2 s
    starts.forEach((t, i) => near(t, i * 4400));

    // The first cycle, in order.
    const firstCycle = steps.filter((s) => s.start < 4400).map((s) => `${s.who}: ${s.what}`);
    const slave = (a: number) => [
      `master: trigger ${a} 1620`,
      `pack ${a}: frame 2`,
      `pack ${a}: tail ${a}`,
      `master: trigger ${a} 161e`,
      `pack ${a}: frame 1`,
      `pack ${a}: tail ${a}`,
    ];
    const absent = Array.from({ length: 12 }, (_, i) => `master: trigger ${i + 4} 1620`);
    assert.deepEqual(firstCycle, ['master: frame 2 tail 0', 'master: frame 1 tail 0', ...slave(1), ...slave(2), ...slave(3), ...absent]);

    // Every cycle has the same shape.
    const shape = (from: number) => steps.filter((s) => s.start >= from && s.start < from + 4400).map((s) => `${s.who}: ${s.what}`);
    for (let k = 1; k < 13; k++) assert.deepEqual(shape(k * 4400), firstCycle, `cycle ${k}`);

    // Gaps: self frames 220 ms apart; 180 ms after each answer; 220 ms after each unanswered probe.
    const c0 = steps.filter((s) => s.start < 4400);
    near(c0[1]!.start - c0[0]!.start, 220);
    near(c0[2]!.start - c0[1]!.start, 220);
    for (let i = 2; i < c0.length - 1; i++) {
      const s = c0[i]!;
      const next = c0[i + 1]!;
      if (s.what.startsWith('tail')) near(next.start - s.end, 180);
      if (s.who === 'master' && /^trigger ([4-9]|1[0-4]) /.test(s.what)) near(next.start - s.end, 220);
    }
    // A trigger → end of acknowledgement ≈ 38 ms; per present slave ≈ 260 ms for both exchanges.
    const t1 = c0.find((s) => s.what === 'trigger 1 1620')!;
    const ack1 = c0.find((s) => s.what === 'tail 1')!;
    near(ack1.end - t1.start, 37.7, 0.6);
    const settingsAck1 = c0.filter((s) => s.what === 'tail 1')[1]!;
    near(settingsAck1.end - t1.start, 255.4, 1.2);
    // Probe of address 15 → trigger of address 1 of the next cycle: the ≈ 660 ms gap holding the self-broadcast.
    const probe15 = c0.find((s) => s.what === 'trigger 15 1620')!;
    const next1 = steps.find((s) => s.start > 4400 && s.what === 'trigger 1 1620')!;
    near(next1.start - probe15.start, 660, 10);

    // The master's own frames carry address 0 in their tail and decode.
    const own = frames.filter((f) => f.address === 0);
    assert.equal(own.length, 28);
    assert.ok(own.every((f) => f.tail === 'ack' && f.frame[5] === 0x00));
    assert.equal(decodeLive(own[0]!.frame, 0).address, 0);
    assert.equal(decodeSettings(own[1]!.frame, 0).deviceAddress, 0);
    assert.equal(frames.filter((f) => f.address === 1).length, 28);

    // Never a device-info trigger, never a collision, nothing went wrong.
    assert.equal(steps.filter((s) => s.what.endsWith('161c')).length, 0);
    const stats = sim.stats();
    assert.equal(stats.collisions, 0);
    // 13 full cycles of 18 triggers; the 14th (from 57.2 s) reached the probe of address 8 by 60 s.
    assert.deepEqual(stats.master, { cycles: 14, requestsSent: 13 * 18 + 6 + 5, present: [1, 2, 3] });
    assert.deepEqual(sim.errors, []);
    assert.deepEqual(clock.errors, []);
  });

  it('learns which slaves are present: a silent slave gets only the live probe until it answers again', async () => {
    const { sim, steps, clock } = await run(0.1);
    assert.deepEqual(sim.stats().master!.present, [1, 2, 3]);
    sim.pack(2).setSilent(true);
    clock.advance(4400 * 2);
    assert.deepEqual(sim.stats().master!.present, [1, 3]);
    const from = steps.length;
    clock.advance(4400);
    const cycle = steps.slice(from).map((s) => s.what);
    assert.ok(cycle.includes('trigger 2 1620'));
    assert.ok(!cycle.includes('trigger 2 161e'));
    sim.pack(2).setSilent(false);
    clock.advance(4400 * 2);
    assert.deepEqual(sim.stats().master!.present, [1, 2, 3]);
  });

  it('a silent master sends nothing, so the bus goes quiet', async () => {
    const { sim, steps, clock } = await run(0.1);
    sim.pack(0).setSilent(true);
    clock.advance(4400);
    const from = steps.length;
    clock.advance(20_000);
    assert.equal(steps.length, from);
  });

  it("talks over foreign traffic by default; with foreignTraffic 'defer' it waits for the line to be quiet", async () => {
    const timing = { turnaroundJitterMs: 0 };
    // Find when the master sends its probe of address 5 (deterministic).
    const dry = await run(0.1, { timing });
    const probe5 = dry.steps.find((s) => s.what === 'trigger 5 1620')!;

    const inject = async (foreignTraffic: 'ignore' | 'defer') => {
      const clock = new FakeClock();
      const sim = new BusSimulator({ packs: [1, 2, 3], master: true, seed: 11, clock, timing: { ...timing, master: { foreignTraffic } } });
      const steps: Step[] = [];
      sim.on('transmit', (e: TransmitEvent) => steps.push(describeTx(e)));
      const host = sim.createHostEndpoint();
      host.open();
      await new Promise((r) => setImmediate(r));
      sim.start();
      // Our poll of pack 1 starts 20 ms before the master's probe: its answer runs into the probe.
      clock.runUntil(probe5.start - 20);
      assert.equal(host.write(encodeTrigger(1, 'live')), true);
      clock.advance(1000);
      return { sim, probe: steps.find((s) => s.what === 'trigger 5 1620')! };
    };

    const ignore = await inject('ignore');
    near(ignore.probe.start, probe5.start);
    assert.equal(ignore.sim.stats().collisions, 1);

    const defer = await inject('defer');
    assert.equal(defer.sim.stats().collisions, 0);
    // Pack 1's answer ends 20 − 0.955 + 8 + 26.042 + 2 + 0.694 ms after our trigger started; + 5 ms guard.
    near(defer.probe.start, probe5.start - 20 + 0.955 + 8 + 26.042 + 2 + 0.694 + 5, 0.01);
  });
});

import assert from 'node:assert/strict';
import { FakeClock } from '../../src/common/clock';
import { BusSimulator, type BusSimulatorOptions } from '../../src/sim';

/** Link resistance of each pack to the bus bar (the bank's default). */
const LINK = 0.002;

function bank(options: Partial<BusSimulatorOptions> = {}) {
  const clock = new FakeClock();
  const sim = new BusSimulator({ packs: [1, 2, 3], seed: 9, clock, bank: { profile: 'idle' }, ...options });
  return { clock, sim, lives: () => sim.addresses.map((a) => sim.pack(a).live()) };
}

describe('sim: packs in parallel on one bus bar', () => {
  it('share one bus voltage: each pack plus its link drop is at the bus voltage, and the currents add up', () => {
    const { clock, sim, lives } = bank({ packOptions: { 1: { soc: 30 }, 2: { soc: 50 }, 3: { soc: 70 } } });
    // The factory 25 A charge limit would trip the emptiest pack's over-current protection.
    for (const a of [1, 2, 3]) sim.pack(a).updateSettings({ maxChargeCurrent: 150 });
    sim.bank!.setCurrent(120);
    clock.advance(5000);
    const packs = lives();
    const last = sim.bank!.last;
    for (const l of packs) {
      // The pack voltage is the sum of its cells (each read to 1 mV, with noise): ±16 mV.
      assert.ok(Math.abs(l.voltage + l.current * LINK - last.voltage!) < 0.016, `pack ${l.address}: ${l.voltage} V + ${l.current} A × ${LINK} Ω vs bus ${last.voltage} V`);
    }
    assert.ok(Math.abs(packs.reduce((a, l) => a + l.current, 0) - 120) < 0.01, 'the packs carry the bank current');
    // The emptiest pack takes the most charge.
    assert.ok(packs[0]!.current > packs[1]!.current && packs[1]!.current > packs[2]!.current, packs.map((l) => l.current).join(' '));
    // Without the bank, packs at other SOCs would show other voltages; here they are within their link drops.
    const volts = packs.map((l) => l.voltage + l.current * LINK);
    assert.ok(Math.max(...volts) - Math.min(...volts) < 0.03, volts.join(' '));
  });

  it('at rest the fuller pack charges the emptier one; a pack whose charging is off takes no charge', () => {
    const { clock, sim, lives } = bank({ packs: [1, 2], packOptions: { 1: { soc: 20 }, 2: { soc: 90 } } });
    clock.advance(2000);
    const [a, b] = lives();
    assert.ok(a!.current > 1 && Math.abs(a!.current + b!.current) < 0.01, `at rest: ${a!.current} A / ${b!.current} A`);
    sim.pack(1).updateSettings({ chargingEnabled: false });
    sim.bank!.setCurrent(60);
    clock.advance(2000);
    const [c, d] = lives();
    assert.equal(c!.current, 0);
    assert.ok(Math.abs(d!.current - 60) < 0.01, `pack 2 takes it all: ${d!.current} A`);
  });

  it('a pack with a fixed current keeps it; the others share the rest', () => {
    const { clock, sim, lives } = bank({ packs: [1, 2] });
    sim.pack(1).setCurrent(-10);
    sim.bank!.setCurrent(30);
    clock.advance(2000);
    const [a, b] = lives();
    assert.equal(a!.current, -10);
    assert.ok(Math.abs(b!.current - 40) < 0.01, `${b!.current}`);
  });

  it('refuses packs of different cell counts in parallel, and bad bank options', () => {
    const clock = new FakeClock();
    assert.throws(() => new BusSimulator({ packs: [1, 2], clock, bank: true, packOptions: { 2: { cellCount: 15 } } }), /packs in parallel need the same number of cells; got pack 1: 16, pack 2: 15/);
    assert.throws(() => new BusSimulator({ packs: [1], clock, bank: { linkOhm: 0 } }), /bank\.linkOhm must be 0\.0001–1 Ω, got 0/);
    assert.throws(() => new BusSimulator({ packs: [1], clock, bank: { profile: 'sunny' as 'daily' } }), /bank\.profile must be 'daily', 'idle' or daily-profile options/);
    assert.throws(() => new BusSimulator({ packs: [1], clock, bank: { profile: { clouds: 2 } } }), /profile\.clouds must be a number 0–1, got 2/);
    assert.throws(() => new BusSimulator({ packs: [1], clock, bank: { profile: { rain: 1 } as never } }), /unknown daily-profile option "rain"/);
  });
});

describe('sim: a household day', () => {
  it('three days reach both ends of the charge curve: solar charge by day, load in the evening, the charge voltage held at the top', function () {
    this.timeout(20_000);
    const clock = new FakeClock();
    const sim = new BusSimulator({ packs: [1, 2], seed: 2, clock, bank: true, stepS: 10 });
    assert.equal(sim.pack(1).settings().maxChargeCurrent, 110, 'the inverter may charge at 0.4 C');
    const byHour = new Map<number, number[]>();
    let maxSoc = 0;
    let minSoc = 100;
    let maxBus = 0;
    for (let t = 0; t < 3 * 86_400; t += 10) {
      clock.advance(10_000);
      const lives = [1, 2].map((a) => sim.pack(a).live());
      const hour = Math.floor(sim.bank!.hour!);
      const list = byHour.get(hour) ?? [];
      list.push(sim.bank!.last.current);
      byHour.set(hour, list);
      for (const l of lives) {
        maxSoc = Math.max(maxSoc, l.soc);
        minSoc = Math.min(minSoc, l.soc);
      }
      maxBus = Math.max(maxBus, sim.bank!.last.voltage!);
    }
    const mean = (h: number) => byHour.get(h)!.reduce((a, b) => a + b, 0) / byHour.get(h)!.length;
    assert.ok(maxSoc >= 99, `full at the top: ${maxSoc} %`);
    assert.ok(minSoc <= 20, `down near the bottom: ${minSoc} %`);
    assert.ok(mean(11) > 5, `charging before noon: ${mean(11)} A`);
    assert.ok(mean(20) < -5, `discharging in the evening: ${mean(20)} A`);
    assert.ok(mean(3) < 0 && mean(3) > -30, `a small load at night: ${mean(3)} A`);
    assert.ok(maxBus <= 16 * 3.45 + 0.001, `the charge voltage is held: ${maxBus} V`);
    assert.deepEqual(sim.errors, []);
  });

  it('a coarse step charges into the top like a fine one: the split stays stable where the curve is steep', () => {
    const charge = (stepS: number) => {
      const clock = new FakeClock();
      const sim = new BusSimulator({ packs: [1, 2], seed: 3, clock, bank: { profile: 'idle' }, stepS, packOptions: { 1: { soc: 92 }, 2: { soc: 92 } } });
      for (const a of [1, 2]) sim.pack(a).updateSettings({ maxChargeCurrent: 150 });
      sim.bank!.setCurrent(100);
      const at: Record<number, { current: number; cellMax: number }[]> = {};
      let lowest = Infinity;
      for (let t = stepS; t <= 4 * 3600; t += stepS) {
        clock.advance(stepS * 1000);
        const lives = [1, 2].map((a) => sim.pack(a).live());
        if (t > 1800) lowest = Math.min(lowest, ...lives.map((l) => l.current));
        if (t % 3600 === 0) at[t] = lives.map((l) => ({ current: l.current, cellMax: l.cellMax! }));
      }
      return { at, lowest };
    };
    const fine = charge(5);
    const coarse = charge(120);
    assert.ok(coarse.lowest > -0.5 && fine.lowest > -0.5, `no pack swings into discharge at the top: ${fine.lowest} / ${coarse.lowest} A`);
    for (const t of [3600, 7200, 10_800, 14_400]) {
      fine.at[t]!.forEach((f, k) => {
        const c = coarse.at[t]![k]!;
        assert.ok(Math.abs(f.current - c.current) < 0.5 && Math.abs(f.cellMax - c.cellMax) <= 0.005, `${t} s, pack ${k + 1}: ${JSON.stringify(f)} vs ${JSON.stringify(c)}`);
      });
    }
  });

  it('speed 144 runs a household day in ten minutes of the clock', () => {
    const clock = new FakeClock();
    const sim = new BusSimulator({ packs: [1, 2], seed: 2, clock, bank: true, speed: 144 });
    const hours = new Set<number>();
    let [lo, hi] = [100, 0];
    for (let t = 0; t < 600; t++) {
      clock.advance(1000);
      const l = sim.pack(1).live();
      hours.add(Math.floor(sim.bank!.hour!));
      [lo, hi] = [Math.min(lo, l.soc), Math.max(hi, l.soc)];
    }
    assert.equal(hours.size, 24, 'every hour of the day');
    assert.ok(hi - lo >= 40, `the SOC swings as in a day: ${lo}–${hi} %`);
    assert.throws(() => new BusSimulator({ packs: [1], clock, speed: 1000 }), /pack 1: speed must be at least 1, with stepS × speed at most 600 simulated seconds per step, got speed 1000/);
  });

  it('is the same for a seed, whoever looks and how often', () => {
    const run = (every: number) => {
      const clock = new FakeClock();
      const sim = new BusSimulator({ packs: [1, 2], seed: 5, clock, bank: true, stepS: 5, cellFaults: 'cell 1.3: +2 mΩ' });
      for (let t = 0; t < 7200_000; t += every) {
        clock.advance(every);
        if (t % (every * 3) === 0) sim.pack(1).live();
      }
      return [sim.pack(1).live(), sim.pack(2).live()];
    };
    assert.deepEqual(run(5000), run(60_000));
  });
});

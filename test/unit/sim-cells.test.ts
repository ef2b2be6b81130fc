import assert from 'node:assert/strict';
import { FakeClock } from '../../src/common/clock';
import { BusSimulator, formatPlantedFaults, parsePlantedFaults, resolvePlantedFaults, type BusSimulatorOptions } from '../../src/sim';
import { ocv } from '../../src/sim/cells';

/** Each cell's deviation from the pack's median cell, mV. */
function deviations(cells: number[]): number[] {
  const s = [...cells].sort((a, b) => a - b);
  const mid = (s[7]! + s[8]!) / 2;
  return cells.map((v) => Math.round((v - mid) * 1000));
}

function sim(options: Partial<BusSimulatorOptions> = {}) {
  const clock = new FakeClock();
  return { clock, sim: new BusSimulator({ packs: [1], seed: 4, clock, ...options }) };
}

describe('sim: planted faults (one parser for the CLI, the Simulator options and the bus node)', () => {
  it('reads cells and packs, resistance, capacity and charge offsets, in several spellings', () => {
    assert.deepEqual(parsePlantedFaults('cell 2.7: +3 mΩ, cell 1.12: -8 % capacity'), [
      { pack: 2, cell: 7, resistanceMohm: 3 },
      { pack: 1, cell: 12, capacityPct: -8 },
    ]);
    assert.deepEqual(parsePlantedFaults('2.7:+3.5mohm; 3.1: −4 % soc\npack 3: -10 % cap; cell 2.7 -5%capacity; 1.1: 2 milliohm; 1.2: 1 mΩ'), [
      { pack: 2, cell: 7, resistanceMohm: 3.5, capacityPct: -5 },
      { pack: 3, cell: 1, socPct: -4 },
      { pack: 3, cell: null, capacityPct: -10 },
      { pack: 1, cell: 1, resistanceMohm: 2 },
      { pack: 1, cell: 2, resistanceMohm: 1 },
    ]);
    assert.deepEqual(parsePlantedFaults('  '), []);
    assert.equal(formatPlantedFaults(parsePlantedFaults('cell 2.7: +3 mΩ; pack 3: -10 % capacity')), 'cell 2.7: +3 mΩ; pack 3: -10 % capacity');
    assert.deepEqual(resolvePlantedFaults([{ pack: 2, cell: 7, resistanceMohm: 3 }]), [{ pack: 2, cell: 7, resistanceMohm: 3 }]);
  });

  const bad: [string, RegExp][] = [
    ['cell 2: +3 mΩ', /planted fault "cell 2: \+3 mΩ": a cell is "<pack>\.<cell>", e\.g\. "cell 2\.7"/],
    ['pack 2.3: -5 % capacity', /write "cell 2\.3" for one cell, "pack 2" for the whole pack/],
    ['cell 2.17: +1 mΩ', /planted fault cell 2\.17: the cell must be 1–16/],
    ['cell 16.1: +1 mΩ', /the pack address must be 0–15/],
    ['cell 2.7: +3 V', /planted fault "cell 2\.7: \+3 V" not understood; write e\.g\. "cell 2\.7: \+3 mΩ"/],
    ['cell 2.7: +300 mΩ', /planted fault cell 2\.7: 300 mΩ is outside -0\.25…100/],
    ['cell 2.7: -95 % capacity', /-95 % capacity is outside -90…50/],
    ['cell 2.7: +1 mΩ; 2.7: +2 mohm', /cell 2\.7 has mΩ twice/],
    ['pack 2: +1 mΩ', /a whole pack takes only "% capacity"/],
  ];
  for (const [text, message] of bad) {
    it(`refuses ${JSON.stringify(text)} with a clear message`, () => assert.throws(() => parsePlantedFaults(text), message));
  }

  it('the simulator refuses a fault for a pack or a cell it does not simulate', () => {
    const clock = new FakeClock();
    assert.throws(() => new BusSimulator({ packs: [1, 2], clock, cellFaults: 'cell 3.1: +1 mΩ' }), /planted fault for pack 3, but the simulated packs are 1, 2/);
    assert.throws(() => new BusSimulator({ packs: [1], clock, packDefaults: { cellCount: 8 }, cellFaults: 'cell 1.9: +1 mΩ' }), /pack 1: a planted fault names cell 9, but the pack has cells 1–8/);
    assert.throws(() => new BusSimulator({ packs: [1], clock, cellFaults: 42 as unknown as string }), /cellFaults must be text like "cell 2\.7: \+3 mΩ" or an array/);
    assert.throws(() => new BusSimulator({ packs: [1], clock, stepS: 0 }), /pack 1: stepS must be 0\.1–600 s, got 0/);
    assert.throws(() => new BusSimulator({ packs: [1], clock, cellSpread: { noise: 1 } as never }), /pack 1: unknown cellSpread\.noise; known: capacityPct, resistanceMohm, socPct, noiseV/);
  });
});

describe('sim: every cell its own (capacity, resistance, charge)', () => {
  it('healthy cells sit within a few mV of each other in the flat middle, at rest and under load', () => {
    const { clock, sim: s } = sim();
    const pack = s.pack(1);
    pack.setSoc(50);
    for (const amps of [0, -80, 60]) {
      pack.setCurrent(amps);
      clock.advance(2000);
      const live = pack.live();
      // Resistance spread 0.03 mΩ × 80 A and 0.5 mV of reading noise.
      assert.ok(live.cellDelta <= 0.012, `${amps} A: delta ${live.cellDelta} V`);
      assert.ok(Math.abs(live.cellAvg - (ocv(50) + amps * 0.0003)) < 0.003, `${amps} A: average ${live.cellAvg} V`);
    }
  });

  it('a cell with +3 mΩ reads I·3 mΩ off its neighbours: higher while charging, lower while discharging', () => {
    const { clock, sim: s } = sim({ cellFaults: 'cell 1.3: +3 mΩ' });
    const pack = s.pack(1);
    pack.setSoc(50);
    for (const amps of [-50, 20, 0]) {
      pack.setCurrent(amps);
      clock.advance(1000);
      const dev = deviations(pack.live().cells);
      assert.ok(Math.abs(dev[2]! - amps * 3) <= 4, `${amps} A: cell 3 at ${dev[2]} mV, expected ≈ ${amps * 3}`);
    }
  });

  it('a cell with 8 % less capacity hides in the middle and falls first at the bottom', () => {
    const { clock, sim: s } = sim({ cellFaults: 'cell 1.5: -8 % capacity' });
    const pack = s.pack(1);
    pack.setSoc(50);
    pack.setCurrent(0);
    clock.advance(1000);
    assert.ok(Math.abs(deviations(pack.live().cells)[4]!) <= 3, 'equal in the middle');
    pack.setCurrent(-100);
    // 50 % → about 10 %: 112 Ah at 100 A.
    clock.advance(4000_000);
    const live = pack.live();
    const dev = deviations(live.cells);
    assert.ok(live.soc <= 12 && live.soc >= 8, `SOC ${live.soc}`);
    assert.equal(live.cellMinIndex, 5);
    assert.ok(dev[4]! < -50, `cell 5 at ${dev[4]} mV`);
    assert.ok(dev.filter((_, k) => k !== 4).every((d) => Math.abs(d) < 20), `the others ${dev}`);
  });

  it('a pack fault lowers the whole pack: its SOH and full-charge capacity fall with it', () => {
    const clock = new FakeClock();
    const a = new BusSimulator({ packs: [1, 2], seed: 4, clock }).pack(2).live();
    const b = new BusSimulator({ packs: [1, 2], seed: 4, clock, cellFaults: 'pack 2: -10 % capacity' }).pack(2).live();
    assert.equal(b.soh, Math.round(a.soh * 0.9));
    assert.ok(b.fullChargeAh < a.fullChargeAh * 0.92);
  });
});

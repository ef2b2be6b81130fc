import assert from 'node:assert/strict';
import { FakeClock } from '../../src/common/clock';
import { HealthMonitor, MAX_PACKS, parseHealthSnapshot, type Finding } from '../../src/health';
import type { LivePayload } from '../../src/protocol/types';
import { BusSimulator } from '../../src/sim';

/**
 * The health analysis on the simulator's physics, driven directly at the fake clock with a coarse
 * step (no wire: a live frame of every pack per step, as a bus would deliver them), fed only
 * the live payload contract's cells, current, SOC and SOH. The figures of issue 16: after a
 * week of the household day it names the planted high-resistance cell (ΔR within ±1 mΩ) and the
 * planted low-capacity cell and no other; a healthy bank gets no finding in a month; the state
 * stays bounded over a year.
 */

const DAY_S = 86_400;
const PLANTED = 'cell 2.7: +3 mΩ; cell 1.12: -8 % capacity';

/** Only what the live payload contract promises, nothing JK-specific. */
function contract(l: LivePayload): LivePayload {
  return { type: 'live', address: l.address, cells: l.cells, current: l.current, soc: l.soc, soh: l.soh } as LivePayload;
}

interface Run {
  sim: BusSimulator;
  monitor: HealthMonitor;
  clock: FakeClock;
  ms: number;
}

/** `days` of the household day for a bank of packs 1 and 2, a frame of each pack every `stepS`; `hourly` after every simulated hour. */
function run(o: { seed: number; days: number; stepS: number; faults?: string; hourly?: (r: Run, hour: number) => void; monitor?: HealthMonitor }): Run {
  const started = Date.now();
  const clock = new FakeClock(Date.UTC(2025, 5, 1));
  const sim = new BusSimulator({ packs: [1, 2], seed: o.seed, clock, bank: true, stepS: o.stepS, ...(o.faults ? { cellFaults: o.faults } : {}) });
  const monitor = o.monitor ?? new HealthMonitor();
  const r: Run = { sim, monitor, clock, ms: 0 };
  const serial = ['', sim.pack(1).serialNumber, sim.pack(2).serialNumber];
  const steps = (o.days * DAY_S) / o.stepS;
  const perHour = 3600 / o.stepS;
  for (let i = 1; i <= steps; i++) {
    clock.advance(o.stepS * 1000);
    for (const a of [1, 2]) monitor.frame(a, contract(sim.pack(a).live()), clock.now(), serial[a]!);
    if (o.hourly && i % perHour === 0) o.hourly(r, i / perHour);
  }
  r.ms = Date.now() - started;
  return r;
}

const cellsNamed = (findings: Finding[]) => findings.filter((f) => f.cell !== null).map((f) => `${f.address}.${f.cell}`);

describe('health on the simulator (fake clock, coarse step)', function () {
  this.timeout(120_000);

  for (const seed of [1, 2]) {
    it(`seed ${seed}: after a week of the household day it names the +3 mΩ cell (±1 mΩ) and the −8 % cell, and no other`, () => {
      const r = run({ seed, days: 7, stepS: 10, faults: PLANTED });
      const now = r.clock.now();
      const packs = r.monitor.packReports(now);
      const bank = r.monitor.bankReport(now, packs);
      const byKind = Object.fromEntries(bank.findings.map((f) => [`${f.kind} ${f.address}.${f.cell}`, f]));
      const resistance = byKind['resistance 2.7'];
      assert.ok(resistance, `the +3 mΩ cell is named: ${bank.findings.map((f) => f.text).join(' | ')}`);
      assert.ok(Math.abs(resistance.value - 3) <= 1, `ΔR ${resistance.value} mΩ`);
      assert.match(resistance.text, /^pack 2 cell 7: \+[234]\.\d mΩ above its neighbours — check its bus bar$/);
      const capacity = byKind['capacity 1.12'];
      assert.ok(capacity, `the −8 % cell is named: ${bank.findings.map((f) => f.text).join(' | ')}`);
      assert.match(capacity.text, /^pack 1 cell 12 (reaches the charge knee first on \d of the last \d charges|falls first at the end of discharge on \d of the last \d discharges).* — lowest capacity$/);
      assert.deepEqual(cellsNamed(bank.findings).sort(), ['1.12', '2.7'], 'no healthy cell named');
      assert.deepEqual(bank.findings.filter((f) => f.cell === null), [], 'no pack-level finding');
      // The per-cell figures behind them.
      const seven = packs[1]!.cells[6]!;
      assert.ok(seven.confidence > 0.99 && seven.stdErrMohm! < 0.05, JSON.stringify(seven));
      for (const p of packs) {
        for (const c of p.cells) if (!(p.address === 2 && c.cell === 7)) assert.ok(Math.abs(c.resistanceMohm!) < 0.3, `pack ${p.address} cell ${c.cell}: ${c.resistanceMohm} mΩ`);
        assert.ok(p.charges >= 3 && p.discharges >= 3, `pack ${p.address}: ${p.charges} charges, ${p.discharges} discharges`);
      }
      assert.ok(packs[0]!.cells[11]!.endOfDischargeMv! < -100, `cell 1.12 at the bottom: ${packs[0]!.cells[11]!.endOfDischargeMv} mV`);
      assert.deepEqual(r.sim.errors, []);
      console.log(`      (a simulated week, 2 packs, a frame every 10 s: ${r.ms} ms; ΔR of cell 2.7 ${resistance.value} mΩ)`);
    });
  }

  it('a seeded healthy bank gets no finding in a simulated month (checked every hour)', () => {
    for (const seed of [3, 5]) {
      const seen = new Set<string>();
      const r = run({
        seed,
        days: 30,
        stepS: 20,
        hourly: (x, hour) => {
          for (const f of x.monitor.bankReport(x.clock.now()).findings) seen.add(`seed ${seed} hour ${hour}: ${f.text}`);
        },
      });
      assert.deepEqual([...seen], []);
      const packs = r.monitor.packReports(r.clock.now());
      for (const p of packs) assert.ok(p.charges >= 5 && p.discharges >= 5, `seed ${seed} pack ${p.address}: both ends reached (${p.charges}, ${p.discharges})`);
      console.log(`      (seed ${seed}: a simulated month, a frame every 20 s: ${r.ms} ms)`);
    }
  });

  it('its state stays bounded over a simulated year, and survives a round trip through JSON', () => {
    const sizes: number[] = [];
    const r = run({
      seed: 1,
      days: 365,
      stepS: 120,
      faults: PLANTED,
      hourly: (x, hour) => {
        if (hour % (24 * 30) === 0) sizes.push(JSON.stringify(x.monitor.snapshot()).length);
      },
    });
    const snap = r.monitor.snapshot();
    const json = JSON.stringify(snap);
    // Every list is capped (the last 10 charges and discharges, one open window and end each, a
    // few sums per cell): the state varies with what is open at the moment, it does not grow.
    assert.equal(sizes.length, 12);
    assert.ok(Math.max(...sizes) < 1.5 * sizes[0]!, `state sizes by month: ${sizes.join(', ')} bytes`);
    assert.ok(Math.max(...sizes.slice(6)) < 1.2 * Math.max(...sizes.slice(0, 6)), `no growth from the first half year to the second: ${sizes.join(', ')}`);
    assert.ok(json.length < 20_000, `${json.length} bytes for two packs`);
    assert.equal(snap.packs.length, 2);
    for (const p of snap.packs) {
      assert.deepEqual([p.ends.top.length, p.ends.bottom.length], [10, 10]);
      assert.ok([p.ends.openTop, p.ends.openBottom].every((e) => e === null || e.event.devs.length === 16));
      assert.deepEqual([p.regression.sxy.length, p.regression.syy.length, p.regression.open?.sy.length ?? 16], [16, 16, 16]);
    }
    assert.ok(r.monitor.size <= MAX_PACKS);
    // The findings hold over the year; a restored monitor reports exactly the same.
    const now = r.clock.now();
    const back = new HealthMonitor({}, parseHealthSnapshot(JSON.parse(json)));
    assert.deepEqual(back.bankReport(now), r.monitor.bankReport(now));
    assert.deepEqual(cellsNamed(r.monitor.bankReport(now).findings).sort(), ['1.12', '2.7']);
    console.log(`      (a simulated year, a frame every 2 min: ${r.ms} ms; state ${sizes.map((s) => `${(s / 1000).toFixed(1)}k`).join(' ')})`);
  });

  it('needs nothing beyond the live payload contract: the full JK payload gives the same report as cells, current, SOC and SOH alone', () => {
    const clock = new FakeClock(0);
    const sim = new BusSimulator({ packs: [1, 2], seed: 4, clock, bank: true, stepS: 10, cellFaults: PLANTED });
    const full = new HealthMonitor();
    const bare = new HealthMonitor();
    for (let t = 0; t < 2 * DAY_S; t += 10) {
      clock.advance(10_000);
      for (const a of [1, 2]) {
        const l = sim.pack(a).live();
        full.frame(a, l, clock.now(), 'S' + a);
        bare.frame(a, contract(l), clock.now(), 'S' + a);
      }
    }
    assert.deepEqual(bare.snapshot(), full.snapshot());
    assert.ok(full.packReports(clock.now())[1]!.cells[6]!.resistanceMohm! > 2);
  });
});

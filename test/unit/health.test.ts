import assert from 'node:assert/strict';
import { HealthMonitor, MAX_PACKS, parseHealthSnapshot, resolveHealthOptions } from '../../src/health';
import { EndTracker, emptyEnds } from '../../src/health/ends';
import { MAX_STDERR_MOHM, MIN_DF } from '../../src/health/pack';
import { erf, RESOLUTION_V } from '../../src/health/regression';
import type { LivePayload } from '../../src/protocol/types';
import { Rng } from '../../src/sim/rng';

/** A live payload with just the contract fields the analysis reads. */
function live(cells: number[], current: number, soc = 50, soh = 100): LivePayload {
  return { type: 'live', address: 1, cells, current, soc, soh } as LivePayload;
}

/**
 * 16 cells in the flat middle: cell `bad` (0-based) has `extraMohm` more resistance; every cell
 * has a slowly drifting offset (charge state, balancing) and 0.5 mV of reading noise, read to 1 mV.
 */
function synthetic(rng: Rng, opts: { bad?: number; extraMohm?: number; cells?: number } = {}) {
  const n = opts.cells ?? 16;
  const offsets = Array.from({ length: n }, () => rng.normal() * 0.003);
  let i = 0;
  return (t: number): { cells: number[]; current: number } => {
    // Load steps every few minutes, plus noise.
    if (rng.chance(0.05)) i = rng.range(-80, 60);
    const amps = i + rng.normal();
    for (let k = 0; k < n; k++) offsets[k] = offsets[k]! * 0.9995 + rng.normal() * 0.0001 + 0.000002 * Math.sin(t / 3_600_000 + k);
    const cells = offsets.map((o, k) => {
      const v = 3.3 + o + amps * (0.0003 + (k === opts.bad ? (opts.extraMohm ?? 0) / 1000 : 0)) + rng.normal() * 0.0005;
      return Math.round(v * 1000) / 1000;
    });
    return { cells, current: Math.round(amps * 1000) / 1000 };
  };
}

describe('health: resistance of each cell relative to its pack', () => {
  it('finds a +2 mΩ cell within ±0.1 mΩ in a day of load steps, despite the cells drifting apart; the others near 0', () => {
    const m = new HealthMonitor();
    const gen = synthetic(new Rng(1), { bad: 4, extraMohm: 2 });
    for (let t = 0; t < 86_400_000; t += 5000) {
      const s = gen(t);
      m.frame(1, live(s.cells, s.current), t, 'SN1');
    }
    const [p] = m.packReports(86_400_000);
    const five = p!.cells[4]!;
    assert.ok(Math.abs(five.resistanceMohm! - 2) < 0.1, JSON.stringify(five));
    assert.ok(five.confidence > 0.99);
    for (const c of p!.cells) if (c.cell !== 5) assert.ok(Math.abs(c.resistanceMohm!) < 0.1, JSON.stringify(c));
    assert.deepEqual(
      p!.findings.map((f) => f.text),
      ['pack 1 cell 5: +2.0 mΩ above its neighbours — check its bus bar'],
    );
    assert.ok(p!.resistanceWindows > 100 && p!.resistanceSamples > 10_000, `${p!.resistanceWindows} windows, ${p!.resistanceSamples} samples`);
  });

  it('without a change of current there is no estimate and no confidence; the estimate firms up with windows', () => {
    const m = new HealthMonitor();
    const rng = new Rng(2);
    for (let t = 0; t < 3600_000; t += 5000) m.frame(1, live(Array.from({ length: 16 }, () => 3.3 + rng.int(0, 2) / 1000), -20), t);
    let [p] = m.packReports(3600_000);
    assert.deepEqual(
      p!.cells.map((c) => [c.resistanceMohm, c.confidence]),
      p!.cells.map(() => [null, 0]),
    );
    assert.deepEqual(p!.findings, []);
    // A few windows of load steps: an estimate, but not yet full confidence.
    const gen = synthetic(rng, { bad: 0, extraMohm: 3 });
    for (let t = 3600_000; t < 3 * 3600_000; t += 5000) {
      const s = gen(t);
      m.frame(1, live(s.cells, s.current), t);
    }
    [p] = m.packReports(3 * 3600_000);
    assert.ok(p!.cells[0]!.resistanceMohm! > 2.5, `${p!.cells[0]!.resistanceMohm}`);
    assert.ok(p!.cells[0]!.confidence > 0 && p!.cells[0]!.confidence < 1, `confidence ${p!.cells[0]!.confidence} after ${p!.resistanceWindows} windows`);
  });

  it('frames outside the flat part of the curve (SOC above 92 % or below 15 %) do not enter the estimate', () => {
    const m = new HealthMonitor();
    const gen = synthetic(new Rng(3), { bad: 2, extraMohm: 2 });
    for (let t = 0; t < 6 * 3600_000; t += 5000) {
      const s = gen(t);
      m.frame(1, live(s.cells, s.current, t % 7200_000 < 3600_000 ? 97 : 10), t);
    }
    const [p] = m.packReports(6 * 3600_000);
    assert.equal(p!.resistanceSamples, 0);
    assert.equal(p!.cells[2]!.resistanceMohm, null);
  });
});

describe('health: a resistance figure appears only when the data supports it', () => {
  /** 16 cells of 0.3 mΩ, cell 5 +3 mΩ; 0.5 mV reading noise (cell 9: `noisy9` V), read to 1 mV; the current from `amps`. */
  const pack = (rng: Rng, amps: () => number, noisy9 = 0.0005) => (): LivePayload => {
    const i = amps();
    const cells = Array.from({ length: 16 }, (_, k) => {
      const v = 3.3 + (k % 3) * 0.001 + i * (0.0003 + (k === 4 ? 0.003 : 0)) + rng.normal() * (k === 8 ? noisy9 : 0.0005);
      return Math.round(v * 1000) / 1000;
    });
    return live(cells, Math.round(i * 1000) / 1000);
  };

  it('noise on a flat current (−20 A ± 0.2 A): no figure and no confidence, however long — the standard error is known, the current never changed', () => {
    const m = new HealthMonitor();
    const rng = new Rng(11);
    const next = pack(rng, () => -20 + 0.2 * rng.normal());
    for (let f = 1; f <= 3600; f++) {
      m.frame(1, next(), f * 2000, 'A');
      if (![3, 10, 30, 300, 3600].includes(f)) continue;
      const [p] = m.packReports(f * 2000);
      assert.deepEqual(p!.cells.map((c) => [c.resistanceMohm, c.confidence]), p!.cells.map(() => [null, 0]), `after ${f} frames`);
      assert.deepEqual(p!.findings, []);
      if (f >= 30) assert.ok(p!.cells.every((c) => c.stdErrMohm !== null && c.stdErrMohm > 0), `after ${f} frames the scatter is known: ${p!.cells.map((c) => c.stdErrMohm)}`);
    }
  });

  it('a real current swing (load steps −40 / +20 A): after at least MIN_DF degrees of freedom, the +3 mΩ cell, and every healthy cell within 4 standard errors of 0', () => {
    const m = new HealthMonitor();
    const rng = new Rng(12);
    let f = 0;
    const next = pack(rng, () => (Math.floor(f / 10) % 2 ? 20 : -40) + rng.normal());
    let first: number | null = null;
    for (f = 1; f <= 600; f++) {
      m.frame(1, next(), f * 1000, 'A');
      const [p] = m.packReports(f * 1000);
      const shown = p!.cells.filter((c) => c.resistanceMohm !== null);
      if (f < MIN_DF + 2) assert.deepEqual(shown, [], `frame ${f}: fewer than ${MIN_DF} degrees of freedom`);
      if (shown.length && first === null) first = f;
      for (const c of shown) {
        assert.ok(c.stdErrMohm! <= MAX_STDERR_MOHM && c.confidence > 0, `frame ${f}: ${JSON.stringify(c)}`);
        const truth = c.cell === 5 ? 3 : 0;
        assert.ok(Math.abs(c.resistanceMohm! - truth) <= 4 * c.stdErrMohm! + 0.001, `frame ${f} cell ${c.cell}: ${c.resistanceMohm} ± ${c.stdErrMohm} mΩ`);
      }
    }
    assert.equal(first, MIN_DF + 2, 'the figure appears as soon as the degrees of freedom are there (a window costs one, the slope one)');
    const [p] = m.packReports(600_000);
    assert.ok(p!.cells.every((c) => c.resistanceMohm !== null));
    assert.ok(Math.abs(p!.cells[4]!.resistanceMohm! - 3) < 0.05, JSON.stringify(p!.cells[4]));
  });

  it('each cell on its own: a cell with a noisy reading (5 mV) waits for a standard error of at most 0.304 mΩ while its neighbours show', () => {
    assert.ok(Math.abs(MAX_STDERR_MOHM - 0.304) < 0.001, `${MAX_STDERR_MOHM}`);
    assert.ok(Math.abs(erf(0.5 / (Math.SQRT2 * MAX_STDERR_MOHM)) - 0.9) < 1e-6, 'the precision at which the confidence can reach the 0.9 a finding needs');
    const m = new HealthMonitor();
    const rng = new Rng(13);
    const next = pack(rng, () => 10 + rng.normal(), 0.005);
    for (let f = 1; f <= 100; f++) m.frame(1, next(), f * 1000, 'A');
    let [p] = m.packReports(100_000);
    const nine = p!.cells[8]!;
    assert.equal(nine.resistanceMohm, null, JSON.stringify(nine));
    assert.equal(nine.confidence, 0);
    assert.ok(nine.stdErrMohm! > MAX_STDERR_MOHM, `its standard error is shown, above the bound: ${nine.stdErrMohm}`);
    assert.ok(p!.cells.filter((c) => c.cell !== 9).every((c) => c.resistanceMohm !== null), 'the others show');
    for (let f = 101; f <= 1000; f++) m.frame(1, next(), f * 1000, 'A');
    [p] = m.packReports(1_000_000);
    assert.ok(p!.cells[8]!.resistanceMohm !== null && p!.cells[8]!.stdErrMohm! <= MAX_STDERR_MOHM, JSON.stringify(p!.cells[8]));
  });

  it('a reading that never moves is no proof: the standard error never falls below what the 1 mV steps leave', () => {
    const m = new HealthMonitor();
    // Every cell reads the same, whatever the current (10 ± 1 A): the scatter is 0.
    for (let f = 1; f <= 40; f++) m.frame(1, live(Array.from({ length: 16 }, () => 3.3), f % 2 ? 11 : 9), f * 1000, 'A');
    const [p] = m.packReports(40_000);
    // 40 frames of ±1 A in one window: Σ(I − Ī)² = 40 A²; rounding to 1 mV leaves 1/√12 mV per reading.
    const floor = ((RESOLUTION_V / Math.sqrt(12)) / Math.sqrt(40)) * 1000;
    for (const c of p!.cells) {
      assert.equal(c.resistanceMohm, 0);
      assert.ok(Math.abs(c.stdErrMohm! - floor) < 1e-4, `${c.stdErrMohm} mΩ, floor ${floor}`);
      assert.ok(c.confidence < 1);
    }
  });
});

describe('health: the ends of the charge curve', () => {
  /** A top (SOC 98 %, resting) where cell `lead` (0-based) is `mv` above the others, at `at`. */
  const top = (e: EndTracker, at: number, lead: number, mv: number) => {
    const cells = (extra: number) => Array.from({ length: 16 }, (_, k) => 3.45 + (k % 3) * 0.001 + (k === lead ? extra / 1000 : 0));
    e.add(at, 98, 0.5, cells(mv / 2), () => []);
    e.add(at + 60_000, 98, 0.2, cells(mv), () => []);
    e.add(at + 7200_000, 60, -20, cells(0), () => []);
  };

  it('keeps each top: the leading cell, every divergence, the delta; only the last `kept`', () => {
    const e = new EndTracker(emptyEnds(16), { topSoc: 95, bottomSoc: 20, restA: 1, kept: 3 });
    for (let d = 0; d < 5; d++) top(e, d * 86_400_000, 11, 80 + d);
    assert.equal(e.tops.length, 3);
    const last = e.tops.at(-1)!;
    assert.equal(last.leader, 11);
    // 3.452 + 0.084 V against a median cell of 3.451 V.
    assert.equal(last.devs[11], 85);
    assert.equal(last.at, 4 * 86_400_000 + 60_000, 'the moment of the highest cell');
    assert.equal(last.deltaMv, 86);
    assert.equal(e.bottoms.length, 0);
  });

  it('names the low-capacity cell with "first on N of the last M", and an out-of-balance cell as such', () => {
    const m = new HealthMonitor();
    const cells = (lead: number, mv: number, base: number) => Array.from({ length: 16 }, (_, k) => base + (k % 4) * 0.0005 + (k === lead ? mv / 1000 : 0));
    const day = 86_400_000;
    for (let d = 0; d < 5; d++) {
      const t = d * day;
      // Top: cell 12 runs 90 mV ahead; bottom: it falls 150 mV behind (less capacity).
      m.frame(1, live(cells(11, 90, 3.45), 2, 99), t, 'A');
      m.frame(1, live(cells(11, 90, 3.45), 0.3, 100), t + 60_000, 'A');
      m.frame(1, live(cells(11, 0, 3.3), -20, 60), t + 6 * 3600_000, 'A');
      m.frame(1, live(cells(11, -150, 3.1), -5, 12), t + 12 * 3600_000, 'A');
      m.frame(1, live(cells(11, -150, 3.1), 0, 11), t + 12 * 3600_000 + 60_000, 'A');
      m.frame(1, live(cells(11, 0, 3.3), 20, 60), t + 18 * 3600_000, 'A');
      // Pack 2: cell 3 above its neighbours at both ends (fuller): out of balance.
      m.frame(2, live(cells(2, 90, 3.45), 2, 99), t, 'B');
      m.frame(2, live(cells(2, 90, 3.45), 0.3, 100), t + 60_000, 'B');
      m.frame(2, live(cells(2, 60, 3.1), -5, 12), t + 12 * 3600_000, 'B');
      m.frame(2, live(cells(2, 60, 3.1), 0, 11), t + 12 * 3600_000 + 60_000, 'B');
      m.frame(2, live(cells(2, 0, 3.3), 20, 60), t + 18 * 3600_000, 'B');
    }
    const reports = m.packReports(5 * day);
    assert.deepEqual(
      reports.flatMap((p) => p.findings.map((f) => [f.kind, f.text])),
      [
        ['capacity', 'pack 1 cell 12 reaches the charge knee first on 5 of the last 5 charges and falls first on 5 of the last 5 discharges — lowest capacity'],
        ['balance', 'pack 2 cell 3 is above its neighbours at both ends of the charge — out of balance (fuller), not low capacity; the balancer should bring it in line'],
      ],
    );
    const c12 = reports[0]!.cells[11]!;
    assert.deepEqual([c12.kneeFirst, c12.fallFirst, c12.endOfChargeMv, c12.endOfDischargeMv], [5, 5, 90.7, -149]);
    assert.equal(reports[0]!.charges, 5);
    assert.equal(reports[0]!.endOfChargeDeltaMv, 92);
  });

  it('a growing delta at the top over days: "the balancer cannot keep up"', () => {
    const m = new HealthMonitor();
    const day = 86_400_000;
    for (let d = 0; d < 7; d++) {
      const cells = Array.from({ length: 16 }, (_, k) => 3.44 + (k === 5 ? (40 + 6 * d) / 1000 : (k % 3) / 1000));
      m.frame(1, live(cells, 1, 98), d * day);
      m.frame(1, live(cells, 0.5, 99), d * day + 60_000);
      m.frame(1, live(cells.map(() => 3.3), -10, 60), d * day + 6 * 3600_000);
    }
    const [p] = m.packReports(7 * day);
    assert.equal(p!.endOfChargeTrendMvPerDay, 6);
    // Cell 6 stands out at the top too, from the day it is 50 mV ahead.
    assert.deepEqual(
      p!.findings.map((f) => f.text),
      [
        'pack 1 cell 6 reaches the charge knee first on 5 of the last 5 charges — lowest capacity',
        'pack 1: the cell delta at the top of charge grows by 6.0 mV/day (now 76 mV over the last 7 charges) — the balancer cannot keep up',
      ],
    );
  });
});

describe('health: packs, identity, the bank, and stored state', () => {
  const flat = (soc: number, amps = -10) => live(Array.from({ length: 16 }, (_, k) => 3.3 + (k % 2) / 1000), amps, soc);

  it('a pack whose SOC stays 15 % below the others for hours, and one whose SOH is low, are findings of the bank', () => {
    const m = new HealthMonitor();
    for (let t = 0; t <= 8 * 3600_000; t += 10_000) {
      m.frame(1, { ...flat(60), soh: 98 }, t, 'A');
      m.frame(2, { ...flat(61), soh: 97 }, t + 1000, 'B');
      m.frame(3, { ...flat(45), soh: 88 }, t + 2000, 'C');
    }
    const b = m.bankReport(8 * 3600_000 + 3000);
    // Pack 2 started out 1 % above pack 1 alone: its average moves to 8.5 % with a 6 h time constant.
    assert.deepEqual(b.packs.map((p) => [p.address, p.socOffset, p.sohOffset]), [
      [1, 7, 5.5],
      [2, 6.5, 4],
      [3, -15.5, -9.5],
    ]);
    assert.deepEqual(b.findings.map((f) => f.text), [
      'pack 3: SOC 16 % below the other packs (6 h average) — parallel packs should stay together: check its cables, fuse and connections, or charge the bank to full to recalibrate',
      'pack 3: SOH 88 %, 10 % below the other packs — it ages faster than they do',
    ]);
    assert.equal(b.problem, true);
  });

  it('follows a pack by serial number: statistics carry over when the serial becomes known and when the pack moves; a new pack starts afresh', () => {
    const m = new HealthMonitor();
    for (let t = 0; t < 10; t++) m.frame(3, flat(50), t * 1000, null);
    m.frame(3, flat(50), 10_000, 'S3');
    assert.equal(m.packReports(11_000)[0]!.frames, 11, 'the frames seen before the serial number was known count');
    assert.equal(m.packReports(11_000)[0]!.serialNumber, 'S3');
    // Moved to address 5: same statistics there, none at 3.
    m.frame(5, flat(50), 12_000, 'S3');
    assert.deepEqual(m.packReports(12_000).map((p) => [p.address, p.serialNumber, p.frames]), [[5, 'S3', 12]]);
    // Another pack at address 5.
    m.frame(5, flat(50), 13_000, 'S9');
    assert.deepEqual(m.packReports(13_000).map((p) => [p.address, p.serialNumber, p.frames]), [[5, 'S9', 1]]);
    assert.equal(m.size, 2, 'S3 is remembered in case it comes back');
    // A frame without the serial for address 5 goes to the pack known there.
    m.frame(5, flat(50), 14_000, null);
    assert.equal(m.packReports(14_000)[0]!.frames, 2);
    // Another cell count: another pack.
    m.frame(5, live([3.3, 3.3, 3.3, 3.3], -1, 50), 15_000, 'S9');
    assert.equal(m.packReports(15_000)[0]!.cellCount, 4);
  });

  it('remembers at most MAX_PACKS packs; frames without usable cells or figures change nothing', () => {
    const m = new HealthMonitor();
    for (let i = 0; i < MAX_PACKS + 10; i++) m.frame(i % 16, flat(50), i * 1000, `S${i}`);
    assert.equal(m.size, MAX_PACKS);
    const before = JSON.stringify(m.snapshot());
    const bad = [
      live([], -1),
      live([3.3, Number.NaN, 3.3], -1),
      { ...flat(50), current: Number.NaN },
      { ...flat(50), soc: undefined as unknown as number },
      { type: 'settings' } as unknown as LivePayload,
      null as unknown as LivePayload,
    ];
    for (const b of bad) assert.equal(m.frame(1, b, 1e9, 'X'), false);
    assert.equal(m.frame(16, flat(50), 1e9, 'X'), false);
    assert.equal(JSON.stringify(m.snapshot()), before);
  });

  it('reset(address) forgets one pack, reset() all', () => {
    const m = new HealthMonitor();
    m.frame(1, flat(50), 0, 'A');
    m.frame(2, flat(50), 0, 'B');
    assert.equal(m.reset(7), false);
    assert.equal(m.reset(1), true);
    assert.deepEqual(m.packReports(1).map((p) => p.address), [2]);
    assert.equal(m.reset(), true);
    assert.deepEqual(m.packReports(1), []);
    assert.equal(m.reset(), false);
  });

  it('stored state: a round trip keeps everything; garbage, other versions and broken packs are dropped, never thrown', () => {
    const m = new HealthMonitor();
    const gen = synthetic(new Rng(5), { bad: 1, extraMohm: 1.5 });
    for (let t = 0; t < 4 * 3600_000; t += 5000) {
      const s = gen(t);
      m.frame(1, live(s.cells, s.current, 50), t, 'A');
      m.frame(2, live(s.cells, s.current, 51), t, 'B');
    }
    const json = JSON.parse(JSON.stringify(m.snapshot()));
    const back = new HealthMonitor({}, parseHealthSnapshot(json));
    assert.deepEqual(back.bankReport(5 * 3600_000), m.bankReport(5 * 3600_000));
    for (const junk of [null, 42, 'x', {}, { version: 2, packs: [], addresses: [], drift: [] }, { version: 1, packs: {}, addresses: [], drift: [] }]) {
      assert.equal(parseHealthSnapshot(junk), null, JSON.stringify(junk));
    }
    const broken = JSON.parse(JSON.stringify(json));
    broken.packs[0].regression.sxy[3] = 'oops';
    broken.packs[1].ends.top = [{ at: 1 }];
    const kept = parseHealthSnapshot(broken)!;
    assert.deepEqual(kept.packs, []);
    assert.deepEqual(kept.addresses, []);
    // A state stored before the regression counted every window it centred: read, each informative window counted as one.
    const older = JSON.parse(JSON.stringify(json));
    for (const p of older.packs) delete p.regression.groups;
    const olderBack = parseHealthSnapshot(older)!;
    assert.deepEqual(olderBack.packs.map((p) => p.regression.groups), json.packs.map((p: { regression: { windows: number } }) => p.regression.windows));
    assert.equal(new HealthMonitor({}, olderBack).packReports(5 * 3600_000).length, 2);
    const half = JSON.parse(JSON.stringify(json));
    half.packs[1].frames = -1;
    assert.deepEqual(parseHealthSnapshot(half)!.packs.map((p) => p.serialNumber), ['A']);
  });

  it('refuses bad options with a clear message', () => {
    assert.throws(() => resolveHealthOptions({ windowS: 0 }), /windowS, maxGapS, halfLifeDays and socDriftHours must be above 0/);
    assert.throws(() => resolveHealthOptions({ windowFrames: 2 }), /windowFrames at least 3/);
    assert.throws(() => resolveHealthOptions({ minEndMv: -1 }), /health option minEndMv must be a number ≥ 0, got -1/);
    assert.throws(() => resolveHealthOptions({ nope: 1 } as never), /unknown health option "nope"/);
    assert.throws(() => resolveHealthOptions({ endsKept: 1.5 }), /endsKept must be a whole number 1–100/);
    assert.equal(resolveHealthOptions({}).minResistanceMohm, 1);
  });
});

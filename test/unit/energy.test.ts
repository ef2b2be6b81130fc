import assert from 'node:assert/strict';
import { EnergyIntegrator, emptyEnergy, parseEnergy } from '../../src/energy/integrator';

const H = 3_600_000; // ms per hour
const MAX_GAP = 60_000;

/** Feed `power(t)` every `stepMs` from t0 to t1 inclusive. */
function feed(e: EnergyIntegrator, t0: number, t1: number, stepMs: number, power: (t: number) => number): void {
  for (let t = t0; t <= t1; t += stepMs) e.add(t, power(t));
}

describe('energy integrator', () => {
  it('1000 W for 1 h in 1 s steps is exactly 1.000 kWh charged, nothing discharged', () => {
    const e = new EnergyIntegrator(MAX_GAP);
    feed(e, 0, H, 1000, () => 1000);
    assert.equal(e.chargedKWh, 1);
    assert.equal(e.dischargedKWh, 0);
    assert.equal(e.snapshot().chargedJ, 3_600_000);
  });

  it('negative power goes to discharged: −500 W for 30 min = 0.25 kWh', () => {
    const e = new EnergyIntegrator(MAX_GAP);
    feed(e, 0, H / 2, 1000, () => -500);
    assert.equal(e.dischargedKWh, 0.25);
    assert.equal(e.chargedKWh, 0);
  });

  it('uses the trapezoid rule: a 0 → 2000 W ramp over 10 s is 10 000 J', () => {
    const e = new EnergyIntegrator(MAX_GAP);
    e.add(0, 0);
    assert.equal(e.add(10_000, 2000), 10_000);
    assert.equal(e.snapshot().chargedJ, 10_000);
  });

  it('splits an interval at the zero crossing when the sign changes', () => {
    const e = new EnergyIntegrator(MAX_GAP);
    e.add(0, 300);
    e.add(10_000, -100); // crosses zero at 7.5 s: +300·7.5/2 = 1125 J, −100·2.5/2 = 125 J
    assert.deepEqual(e.snapshot(), { chargedJ: 1125, dischargedJ: 125, lastAt: 10_000, lastPower: -100 });
    e.add(20_000, 100); // crosses at 5 s: 250 J each way
    assert.equal(e.snapshot().chargedJ, 1375);
    assert.equal(e.snapshot().dischargedJ, 375);
  });

  it('ignores gaps longer than the maximum (restart, offline pack) but integrates a gap of exactly the maximum', () => {
    const e = new EnergyIntegrator(MAX_GAP);
    e.add(0, 1000);
    e.add(1000, 1000); // +1000 J
    assert.equal(e.add(1000 + MAX_GAP + 1, 1000), 0); // gap 60.001 s: nothing
    e.add(2001 + MAX_GAP, 1000); // +1000 J
    assert.equal(e.add(2001 + 2 * MAX_GAP, 1000), 60_000); // exactly 60 s: integrated
    assert.equal(e.snapshot().chargedJ, 62_000);
  });

  it('adds nothing for duplicate or backwards timestamps', () => {
    const e = new EnergyIntegrator(MAX_GAP);
    e.add(5000, 1000);
    assert.equal(e.add(5000, 1000), 0);
    assert.equal(e.add(4000, 1000), 0);
    assert.equal(e.add(5000, 1000), 1000); // continues from the last sample (t=4000)
  });

  it('continues from a stored snapshot (JSON round trip, as node context stores it)', () => {
    const a = new EnergyIntegrator(MAX_GAP);
    feed(a, 0, 10_000, 1000, () => 360); // 3600 J = 1 Wh
    const stored = JSON.parse(JSON.stringify(a.snapshot())) as unknown;
    const restored = parseEnergy(stored);
    assert.deepEqual(restored, { chargedJ: 3600, dischargedJ: 0, lastAt: 10_000, lastPower: 360 });
    const b = new EnergyIntegrator(MAX_GAP, restored!);
    b.add(20_000, 360); // 10 s after the stored sample: within the gap, integrated
    assert.equal(b.snapshot().chargedJ, 7200);
    const c = new EnergyIntegrator(MAX_GAP, restored!);
    c.add(10_000 + MAX_GAP + 5000, 360); // a restart that took longer than the gap
    assert.equal(c.snapshot().chargedJ, 3600);
  });

  it('rejects malformed stored values instead of trusting them', () => {
    const bad: unknown[] = [
      null,
      'x',
      42,
      {},
      { chargedJ: -1, dischargedJ: 0, lastAt: null, lastPower: null },
      { chargedJ: 1, dischargedJ: Number.NaN, lastAt: null, lastPower: null },
      { chargedJ: 1, dischargedJ: 0, lastAt: 5, lastPower: null },
      { chargedJ: '1', dischargedJ: 0, lastAt: null, lastPower: null },
    ];
    for (const v of bad) assert.equal(parseEnergy(v), null, JSON.stringify(v));
    assert.deepEqual(parseEnergy(emptyEnergy()), emptyEnergy());
  });

  it('absorb adds the totals of another counter and keeps the later sample', () => {
    const e = new EnergyIntegrator(MAX_GAP, { chargedJ: 100, dischargedJ: 50, lastAt: 1000, lastPower: 10 });
    e.absorb({ chargedJ: 7, dischargedJ: 3, lastAt: 5000, lastPower: -20 });
    assert.deepEqual(e.snapshot(), { chargedJ: 107, dischargedJ: 53, lastAt: 5000, lastPower: -20 });
    e.absorb({ chargedJ: 1, dischargedJ: 1, lastAt: 10, lastPower: 99 });
    assert.deepEqual(e.snapshot(), { chargedJ: 108, dischargedJ: 54, lastAt: 5000, lastPower: -20 });
  });

  it('rejects a non-positive gap and non-finite samples', () => {
    assert.throws(() => new EnergyIntegrator(0), RangeError);
    const e = new EnergyIntegrator(MAX_GAP);
    assert.throws(() => e.add(Number.NaN, 1), RangeError);
    assert.throws(() => e.add(0, Number.POSITIVE_INFINITY), RangeError);
    assert.deepEqual(e.snapshot(), emptyEnergy());
  });
});

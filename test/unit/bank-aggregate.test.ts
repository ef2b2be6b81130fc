import assert from 'node:assert/strict';
import { aggregate, capacityOf } from '../../src/bank/aggregate';
import type { BankPackInput } from '../../src/bank/types';
import { cells, NOW, pack, STALE_MS } from './bank-fixtures';

const ENERGY = { chargedKwh: 1.5, dischargedKwh: 0.25 };
const run = (packs: BankPackInput[], expected = 0) => aggregate(packs, { now: NOW, staleAfterMs: STALE_MS, expected, energy: ENERGY });

describe('bank aggregation', () => {
  it('weights SOC by capacity: 280 Ah at 90 % + 100 Ah at 10 % is 68.95 %, not the 50 % mean nor the 10 % min', () => {
    const b = run([
      pack(1, { live: { soc: 90, fullChargeAh: 280, remainingAh: 252, current: 10.5, power: 560.7, voltage: 53.4 } }),
      pack(2, { live: { soc: 10, fullChargeAh: 100, remainingAh: 10, current: -3.2, power: -160.1, voltage: 52.1 } }),
    ]);
    assert.equal(b.soc, 68.95);
    assert.equal(b.current, 7.3);
    assert.equal(b.power, 400.6);
    assert.equal(b.voltage, 52.75);
    assert.equal(b.remainingAh, 262);
    assert.equal(b.fullChargeAh, 380);
    assert.equal(b.packsOnline, 2);
    assert.equal(b.packsExpected, 2);
    assert.deepEqual(b.stale, []);
  });

  it('falls back to the design capacity of the settings when the full-charge capacity is 0', () => {
    const a = pack(1, { live: { soc: 80, fullChargeAh: 0 }, settings: { nominalCapacityAh: 300 } });
    const b = pack(2, { live: { soc: 20, fullChargeAh: 100 } });
    assert.equal(capacityOf(a), 300);
    const s = run([a, b]);
    assert.equal(s.soc, 65); // (80·300 + 20·100) / 400
    assert.equal(s.fullChargeAh, 400);
  });

  it('weighs a pack of unknown capacity as an average pack, and uses the plain mean when none is known', () => {
    const unknown = pack(3, { live: { soc: 50, fullChargeAh: 0 }, settings: null });
    assert.equal(capacityOf(unknown), null);
    const s = run([pack(1, { live: { soc: 90, fullChargeAh: 280 } }), pack(2, { live: { soc: 10, fullChargeAh: 120 } }), unknown]);
    assert.equal(s.soc, 60.67); // (90·280 + 10·120 + 50·200) / 600 = 36 400 / 600
    assert.equal(s.fullChargeAh, 400); // only known capacities are summed
    const none = run([pack(1, { live: { soc: 90, fullChargeAh: 0 }, settings: null }), pack(2, { live: { soc: 30, fullChargeAh: 0 }, settings: null })]);
    assert.equal(none.soc, 60);
  });

  it('excludes and flags an offline pack and a stale pack, keeping their last values in packs[]', () => {
    const b = run([
      pack(1, { live: { current: -10, power: -530, soc: 50, voltage: 53 } }),
      pack(2, { live: { current: -20, power: -1060, soc: 40, voltage: 52 }, online: false }),
      pack(3, { live: { current: -30, power: -1590, soc: 30, voltage: 51 }, age: STALE_MS }),
      pack(4, { live: { current: -40, power: -2120, soc: 20, voltage: 50 }, age: STALE_MS - 1 }),
    ]);
    assert.deepEqual(b.stale, [2, 3]);
    assert.equal(b.packsOnline, 2);
    assert.equal(b.packsExpected, 4);
    assert.equal(b.current, -50);
    assert.equal(b.power, -2650);
    assert.equal(b.voltage, 51.5);
    assert.equal(b.soc, 35);
    assert.deepEqual(
      b.packs.map((p) => [p.address, p.online, p.stale, p.current]),
      [
        [1, true, false, -10],
        [2, false, true, -20],
        [3, true, true, -30],
        [4, true, false, -40],
      ],
    );
    assert.deepEqual(b.packs[1], {
      address: 2,
      serialNumber: 'SN2',
      online: false,
      stale: true,
      soc: 40,
      voltage: 52,
      current: -20,
      power: -1060,
      remainingAh: 131.6,
      fullChargeAh: 280,
    });
  });

  it('a pack without live data is pending (not counted, not stale) for the stale time, then stale with null values', () => {
    const pending = run([pack(1), pack(5, { live: null, serialNumber: null, known: STALE_MS - 1 })]);
    assert.deepEqual(pending.stale, []);
    assert.equal(pending.packsOnline, 1);
    assert.equal(pending.packsExpected, 2);
    assert.equal(pending.packs[1]!.stale, false);
    assert.equal(pending.packs[1]!.soc, null);
    const b = run([pack(1), pack(5, { live: null, serialNumber: null, known: STALE_MS })]);
    assert.deepEqual(b.stale, [5]);
    assert.deepEqual(b.packs[1], {
      address: 5,
      serialNumber: null,
      online: true,
      stale: true,
      soc: null,
      voltage: null,
      current: null,
      power: null,
      remainingAh: null,
      fullChargeAh: null,
    });
  });

  it('reports packsExpected as configured, so a missing pack shows as 3/4', () => {
    const b = run([pack(1), pack(2), pack(3)], 4);
    assert.equal(b.packsOnline, 3);
    assert.equal(b.packsExpected, 4);
  });

  it('lists the alarms of two packs at once, by address; a stale pack’s alarms are left out', () => {
    const b = run([
      pack(1, { live: { alarms: ['cellOvp'] } }),
      pack(2, { live: { alarms: [] } }),
      pack(3, { live: { alarms: ['mosOtp', 'chargeOcp'] } }),
      pack(4, { live: { alarms: ['cellUvp'] }, online: false }),
    ]);
    assert.equal(b.alarm, true);
    assert.deepEqual(b.alarms, [
      { address: 1, alarm: 'cellOvp', label: 'Cell over-voltage' },
      { address: 3, alarm: 'mosOtp', label: 'MOS over-temperature' },
      { address: 3, alarm: 'chargeOcp', label: 'Charge over-current' },
    ]);
    const quiet = run([pack(1), pack(2)]);
    assert.equal(quiet.alarm, false);
    assert.deepEqual(quiet.alarms, []);
  });

  it('finds the lowest and highest cell with their pack and 1-based cell, the bank delta and the widest pack', () => {
    const b = run([
      pack(1, { live: { cells: cells(3.3, { 5: 3.29, 12: 3.35 }) } }),
      pack(2, { live: { cells: cells(3.3, { 3: 3.28, 16: 3.31 }) } }),
      pack(3, { live: { cells: cells(3.2, { 1: 3.1 }) }, online: false }),
    ]);
    assert.deepEqual(b.cellMin, { voltage: 3.28, address: 2, cell: 3 });
    assert.deepEqual(b.cellMax, { voltage: 3.35, address: 1, cell: 12 });
    assert.equal(b.cellDelta, 0.07);
    assert.deepEqual(b.maxPackDelta, { delta: 0.06, address: 1 });
  });

  it('finds the lowest and highest temperature with pack and sensor, ignoring absent sensors', () => {
    const none = { mos: null, t1: null, t2: null, t3: null, t4: null, t5: null };
    const b = run([
      pack(1, { live: { temperatures: { ...none, mos: 35.2, t1: 20 } } }),
      pack(2, { live: { temperatures: { ...none, mos: 30, t1: -1.5, t5: 41 } } }),
      pack(3, { live: { temperatures: { ...none, t2: 25 } } }),
    ]);
    assert.deepEqual(b.temperatureMin, { value: -1.5, address: 2, sensor: 't1' });
    assert.deepEqual(b.temperatureMax, { value: 41, address: 2, sensor: 't5' });
    const warm = run([pack(1, { live: { temperatures: { ...none, t3: 22.5, t4: 24 } } })]);
    assert.deepEqual(warm.temperatureMin, { value: 22.5, address: 1, sensor: 't3' }); // absent sensors are not 0 °C
    const bare = run([pack(1, { live: { temperatures: none } })]);
    assert.equal(bare.temperatureMin, null);
    assert.equal(bare.temperatureMax, null);
  });

  it('charging/discharging enabled only when enabled in every counted pack; null while a settings frame is missing', () => {
    assert.equal(run([pack(1), pack(2)]).chargingEnabled, true);
    const off = run([pack(1), pack(2, { settings: { chargingEnabled: false } })]);
    assert.equal(off.chargingEnabled, false);
    assert.equal(off.dischargingEnabled, true);
    const unknown = run([pack(1, { settings: { dischargingEnabled: false } }), pack(2, { settings: null })]);
    assert.equal(unknown.chargingEnabled, null);
    assert.equal(unknown.dischargingEnabled, null);
    // A stale pack's settings do not count either way.
    assert.equal(run([pack(1), pack(2, { settings: { chargingEnabled: false }, online: false })]).chargingEnabled, true);
  });

  it('MOS flags are true only when every counted pack has that MOS on', () => {
    const b = run([pack(1), pack(2, { live: { chargingMos: false } })]);
    assert.equal(b.chargingMos, false);
    assert.equal(b.dischargingMos, true);
  });

  it('with no counted pack: null measurements, flags off, every pack listed as stale', () => {
    const b = run([pack(1, { online: false }), pack(2, { age: 60_000 })]);
    assert.equal(b.packsOnline, 0);
    assert.deepEqual(b.stale, [1, 2]);
    for (const k of ['current', 'power', 'voltage', 'soc', 'remainingAh', 'fullChargeAh', 'cellMin', 'cellMax', 'cellDelta', 'maxPackDelta', 'temperatureMin', 'temperatureMax', 'chargingEnabled', 'dischargingEnabled'] as const) {
      assert.equal(b[k], null, k);
    }
    assert.equal(b.chargingMos, false);
    assert.equal(b.dischargingMos, false);
    assert.equal(b.alarm, false);
  });

  it('rounds away float noise and carries energy and time', () => {
    const b = run([pack(1, { live: { current: 0.1, power: 5.3 } }), pack(2, { live: { current: 0.2, power: 10.6 } })]);
    assert.equal(b.current, 0.3); // not 0.30000000000000004
    assert.equal(b.power, 15.9);
    assert.equal(b.energyChargedKwh, 1.5);
    assert.equal(b.energyDischargedKwh, 0.25);
    assert.equal(b.ts, NOW);
    assert.equal(b.type, 'bank');
  });
});

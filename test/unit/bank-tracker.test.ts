import assert from 'node:assert/strict';
import { BankTracker, type BankTrackerOptions } from '../../src/bank/tracker';
import type { PackState } from '../../src/bus/types';
import { info, settings } from '../helpers/fixtures';
import { liveOf, NOW, STALE_MS } from './bank-fixtures';

const OPTS: BankTrackerOptions = { includeMaster: false, expected: 0, staleAfterMs: STALE_MS };

/** A live frame with this current and power (sign of the current). */
const at = (address: number, power: number) => liveOf(address, { current: power / 50, power, voltage: 50 });

describe('bank tracker', () => {
  it('ignores the JK master (address 0) unless it is part of the bank, and frames without address', () => {
    const t = new BankTracker(OPTS);
    assert.equal(t.frame(0, at(0, 100), NOW), false);
    assert.equal(t.frame(null, at(1, 100), NOW), false);
    assert.equal(t.frame(1, at(1, 100), NOW), true);
    assert.deepEqual(t.summary(NOW).packs.map((p) => p.address), [1]);
    const m = new BankTracker({ ...OPTS, includeMaster: true });
    assert.equal(m.frame(0, at(0, 100), NOW), true);
    m.frame(1, at(1, 200), NOW);
    assert.equal(m.summary(NOW).power, 300);
    assert.equal(m.summary(NOW).packsOnline, 2);
  });

  it('a live frame is an update; settings and info frames are kept for the next one (unless they introduce a pack)', () => {
    const t = new BankTracker(OPTS);
    assert.equal(t.frame(1, settings(1, { chargingEnabled: false }), NOW), true, 'a new pack, waiting for live data');
    assert.equal(t.frame(1, info(1, { serialNumber: '4062840158' }), NOW), false);
    assert.equal(t.frame(1, at(1, 100), NOW + 10), true);
    assert.equal(t.frame(1, settings(1, { chargingEnabled: false }), NOW + 20), false);
    const s = t.summary(NOW + 10);
    assert.equal(s.chargingEnabled, false);
    assert.equal(s.packs[0]!.serialNumber, '4062840158');
  });

  it('an offline pack is excluded at once; back online with a fresh frame, it counts again', () => {
    const t = new BankTracker(OPTS);
    t.frame(1, at(1, 100), NOW);
    t.frame(2, at(2, 200), NOW);
    assert.equal(t.setOnline(2, false, NOW + 1000), true);
    assert.equal(t.setOnline(2, false, NOW + 1001), false);
    let s = t.summary(NOW + 1001);
    assert.deepEqual(s.stale, [2]);
    assert.equal(s.power, 100);
    t.frame(2, at(2, 250), NOW + 2000);
    s = t.summary(NOW + 2000);
    assert.deepEqual(s.stale, []);
    assert.equal(s.power, 350);
  });

  it('tick() reports a pack going stale at its deadline, once', () => {
    const t = new BankTracker(OPTS);
    t.frame(1, at(1, 100), NOW);
    t.frame(2, at(2, 200), NOW + 5000);
    assert.equal(t.nextDeadline(NOW + 5000), NOW + STALE_MS);
    assert.equal(t.tick(NOW + STALE_MS - 1), false);
    assert.equal(t.tick(NOW + STALE_MS), true);
    assert.equal(t.tick(NOW + STALE_MS + 1), false);
    assert.deepEqual(t.summary(NOW + STALE_MS).stale, [1]);
    assert.equal(t.nextDeadline(NOW + STALE_MS), NOW + 5000 + STALE_MS);
    t.tick(NOW + 5000 + STALE_MS);
    assert.equal(t.nextDeadline(NOW + 5000 + STALE_MS), null);
  });

  it('a pack heard of without live data goes stale at first sight + stale time unless a live frame comes', () => {
    const t = new BankTracker(OPTS);
    t.frame(1, at(1, 100), NOW);
    assert.equal(t.frame(2, info(2), NOW + 1000), true);
    assert.deepEqual(t.summary(NOW + 1000).stale, []);
    assert.equal(t.nextDeadline(NOW + 1000), NOW + STALE_MS, 'pack 1 first');
    t.frame(1, at(1, 100), NOW + 20_000);
    assert.equal(t.nextDeadline(NOW + 20_000), NOW + 1000 + STALE_MS, 'then pending pack 2');
    assert.equal(t.tick(NOW + 1000 + STALE_MS), true);
    assert.deepEqual(t.summary(NOW + 1000 + STALE_MS).stale, [2]);
  });

  it('seeds from the bus status (a bank node deployed onto a running bus)', () => {
    const state = (address: number, over: Partial<PackState>): PackState => ({
      address,
      isMaster: address === 0,
      online: true,
      lastSeen: NOW - 2000,
      frames: 10,
      errors: 0,
      latencyMs: null,
      ...over,
    });
    const t = new BankTracker(OPTS);
    t.seed(
      [
        state(0, { live: at(0, 1) }),
        state(1, { live: at(1, 100), settings: settings(1), info: info(1, { serialNumber: 'A1' }) }),
        state(2, { live: at(2, 200), online: false }),
        state(3, { info: info(3, { serialNumber: 'C3' }) }),
      ],
      NOW,
    );
    const s = t.summary(NOW);
    assert.deepEqual(
      s.packs.map((p) => [p.address, p.serialNumber, p.online, p.stale]),
      [
        [1, 'A1', true, false],
        [2, null, false, true],
        [3, 'C3', true, false],
      ],
    );
    assert.deepEqual(t.summary(NOW + STALE_MS - 1).stale, [1, 2], 'pack 3 (no live data) is pending for the stale time');
    assert.deepEqual(t.summary(NOW + STALE_MS).stale, [1, 2, 3]);
    assert.equal(s.power, 100);
    assert.equal(s.chargingEnabled, true);
    assert.equal(t.nextDeadline(NOW), NOW - 2000 + STALE_MS);
  });

  it('integrates the bank power into kWh: 2 packs × 500 W for 1 h in 1 s steps = 1 kWh charged', () => {
    const t = new BankTracker({ ...OPTS, staleAfterMs: 60_000 });
    const [one, two] = [at(1, 500), at(2, 500)];
    for (let s = 0; s <= 3600; s++) {
      t.frame(1, one, NOW + s * 1000);
      t.frame(2, two, NOW + s * 1000);
    }
    const b = t.summary(NOW + 3_600_000);
    assert.equal(b.energyChargedKwh, 1);
    assert.equal(b.energyDischargedKwh, 0);
  });

  it('discharging goes to the discharged counter; a gap longer than the stale time adds nothing', () => {
    const t = new BankTracker(OPTS);
    t.frame(1, at(1, -1800), NOW);
    t.frame(1, at(1, -1800), NOW + 10_000); // 18 000 J = 0.005 kWh
    t.frame(1, at(1, -1800), NOW + 10_000 + STALE_MS + 1); // bus stalled: not integrated
    assert.equal(t.summary(NOW + 50_000).energyDischargedKwh, 0.005);
    assert.equal(t.summary(NOW + 50_000).energyChargedKwh, 0);
  });

  it('restores stored energy counters and continues them; resetEnergy() starts from zero', () => {
    const first = new BankTracker(OPTS);
    first.frame(1, at(1, 3600), NOW);
    first.frame(1, at(1, 3600), NOW + 10_000); // 36 000 J = 0.01 kWh
    const stored = first.energySnapshot();
    assert.deepEqual(stored, { chargedJ: 36_000, dischargedJ: 0, lastAt: NOW + 10_000, lastPower: 3600 });

    const again = new BankTracker(OPTS, stored);
    assert.equal(again.summary(NOW + 12_000).energyChargedKwh, 0.01);
    again.frame(1, at(1, 3600), NOW + 20_000); // a redeploy of 10 s < stale time: continued
    assert.equal(again.summary(NOW + 20_000).energyChargedKwh, 0.02);

    again.resetEnergy();
    assert.equal(again.summary(NOW + 20_000).energyChargedKwh, 0);
    again.frame(1, at(1, 3600), NOW + 30_000);
    assert.equal(again.summary(NOW + 30_000).energyChargedKwh, 0); // first sample after a reset
  });

  it('refuses a stale time that is not positive', () => {
    assert.throws(() => new BankTracker({ ...OPTS, staleAfterMs: 0 }), /staleAfterMs must be above 0, got 0/);
  });
});

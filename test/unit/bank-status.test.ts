import assert from 'node:assert/strict';
import { aggregate } from '../../src/bank/aggregate';
import { bankStatus } from '../../src/bank/status';
import type { BankPackInput } from '../../src/bank/types';
import { NOW, pack, STALE_MS } from './bank-fixtures';

const summary = (packs: BankPackInput[], expected = 0) =>
  aggregate(packs, { now: NOW, staleAfterMs: STALE_MS, expected, energy: { chargedKwh: 0, dischargedKwh: 0 } });

const four = (over: (a: number) => Parameters<typeof pack>[1] = () => ({})) =>
  [1, 2, 3, 4].map((a) => pack(a, { live: { soc: 87, fullChargeAh: 280, current: -6.15 }, ...over(a) }));

describe('bank status', () => {
  it('green dot "4/4 87% -24.6A" when every pack counts', () => {
    assert.deepEqual(bankStatus(summary(four())), { fill: 'green', shape: 'dot', text: '4/4 87% -24.6A' });
  });

  it('red ring "3/4 stale 2" when a pack is stale or offline', () => {
    const s = bankStatus(summary(four((a) => (a === 2 ? { online: false } : {}))));
    assert.deepEqual(s, { fill: 'red', shape: 'ring', key: 'stale', params: { online: 3, expected: 4, list: '2' } });
  });

  it('counts instead of listing when the list of stale packs is long', () => {
    const packs = [1, 2, 10, 11, 12, 13].map((a) => pack(a, { online: a < 3 }));
    assert.deepEqual(bankStatus(summary(packs)), { fill: 'red', shape: 'ring', key: 'stale-many', params: { online: 2, expected: 6, count: 4 } });
  });

  it('red ring "3/4 missing 1" when fewer packs than expected were seen', () => {
    const s = bankStatus(summary(four().slice(0, 3), 4));
    assert.deepEqual(s, { fill: 'red', shape: 'ring', key: 'missing', params: { online: 3, expected: 4, count: 1 } });
  });

  it('yellow ring while no pack has been seen, or a pack seen has not sent live data yet', () => {
    assert.deepEqual(bankStatus(summary([], 4)), { fill: 'yellow', shape: 'ring', key: 'waiting' });
    const starting = [pack(1), pack(2, { live: null, known: 1000 })];
    assert.deepEqual(bankStatus(summary(starting)), { fill: 'yellow', shape: 'ring', key: 'waiting' });
  });

  it('never shows "-0.0A" and fits 20 characters with 16 packs at high current', () => {
    const idle = [1, 2].map((a) => pack(a, { live: { soc: 50, current: a === 1 ? 0.02 : -0.04 } }));
    assert.equal(bankStatus(summary(idle)).text, '2/2 50% 0.0A');
    const big = Array.from({ length: 16 }, (_, i) => pack(i, { live: { soc: 100, current: -199.9 } }));
    const text = bankStatus(summary(big)).text!;
    assert.equal(text, '16/16 100% -3198.4A');
    assert.ok(text.length < 20);
  });
});

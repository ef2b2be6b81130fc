import assert from 'node:assert/strict';
import { BANK_LIMITS, bankIdFrom, isBankId, parseBankSetting } from '../../src/bank/config';

describe('bank node settings', () => {
  it('accepts numbers and numeric strings within the range; blank is 0', () => {
    assert.equal(parseBankSetting(4, 'expected', true), 4);
    assert.equal(parseBankSetting(' 16 ', 'expected', true), 16);
    assert.equal(parseBankSetting('', 'rate'), 0);
    assert.equal(parseBankSetting(undefined, 'staleAfter'), 0);
    assert.equal(parseBankSetting('2.5', 'rate'), 2.5);
    assert.equal(parseBankSetting(86_400, 'staleAfter'), 86_400);
  });

  it('refuses values outside the range, fractions where a whole number is needed, and non-numbers', () => {
    assert.deepEqual(BANK_LIMITS.expected, [0, 16]);
    for (const [raw, key, integer] of [
      [17, 'expected', true],
      [-1, 'expected', true],
      [2.5, 'expected', true],
      ['x', 'rate', false],
      [-0.5, 'rate', false],
      [86_401, 'staleAfter', false],
      [Number.NaN, 'rate', false],
      [Number.POSITIVE_INFINITY, 'staleAfter', false],
      [true, 'rate', false],
      [{}, 'rate', false],
    ] as const) {
      assert.equal(parseBankSetting(raw, key, integer), null, `${String(raw)} as ${key}`);
    }
  });

  it('bank id: derived from the bus name (lowercase, one _ per run of other characters), user ids of HA id characters only', () => {
    assert.equal(bankIdFrom('bus1'), 'bus1');
    assert.equal(bankIdFrom('House Battery'), 'house_battery');
    assert.equal(bankIdFrom('  Garage / Rack-2 '), 'garage_rack-2');
    assert.equal(bankIdFrom('Gîte été'), 'gite_ete');
    assert.equal(bankIdFrom('***'), 'bank');
    assert.equal(bankIdFrom('x'.repeat(100)).length, 64);
    for (const id of ['bus1', 'House_Battery', 'a-b', 'x'.repeat(64)]) assert.ok(isBankId(id), id);
    for (const id of ['', 'a b', 'a/b', 'é', 'x'.repeat(65), 42, null]) assert.ok(!isBankId(id), String(id));
    for (const name of ['bus1', 'House Battery', 'Gîte été', '***']) assert.ok(isBankId(bankIdFrom(name)), name);
  });
});

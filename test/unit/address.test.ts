import assert from 'node:assert/strict';
import { isPackAddress, isSlaveAddress, MAX_ADDRESS, parseAddress } from '../../src/common/address';
import { isAddress as protocolIsAddress } from '../../src/protocol/constants';
import { isAddress as haIsAddress } from '../../src/ha/check';
import { parseWriteTarget } from '../../src/bus/write-request';
import { parseAddress as nodeParseAddress } from '../../nodes/lib/config';

describe('the one pack-address check (src/common/address.ts)', () => {
  const notNumbers: unknown[] = [-1, 16, 1.5, NaN, Infinity, -Infinity, '3', null, undefined, true, [], {}, 3n];

  it('isPackAddress: whole numbers 0–15 only', () => {
    assert.equal(MAX_ADDRESS, 15);
    for (let a = 0; a <= 15; a++) assert.equal(isPackAddress(a), true, String(a));
    for (const x of notNumbers) assert.equal(isPackAddress(x), false, String(x));
  });

  it('isSlaveAddress: 1–15 (0 is the JK master, which never answers)', () => {
    assert.equal(isSlaveAddress(0), false);
    assert.equal(isSlaveAddress(1), true);
    assert.equal(isSlaveAddress(15), true);
    for (const x of notNumbers) assert.equal(isSlaveAddress(x), false, String(x));
  });

  it('parseAddress: numbers and numeric strings, else null', () => {
    assert.equal(parseAddress(0), 0);
    assert.equal(parseAddress(' 7 '), 7);
    assert.equal(parseAddress('15'), 15);
    for (const x of ['', ' ', '16', '-1', '1.5', 'x', ...notNumbers.filter((v) => v !== '3')]) {
      assert.equal(parseAddress(x), null, JSON.stringify(String(x)));
    }
  });

  it('is the check every layer uses (protocol, HA input, write requests, node config)', () => {
    assert.equal(protocolIsAddress, isPackAddress);
    assert.equal(haIsAddress, isPackAddress);
    assert.equal(nodeParseAddress, parseAddress);
    assert.equal(parseWriteTarget('all'), 'all');
    assert.equal(parseWriteTarget('4'), 4);
    assert.equal(parseWriteTarget(16), null);
  });
});

import assert from 'node:assert/strict';
import { checkWriteRequest, parseWriteTarget, shownValue, WriteRequestError, WRITE_SHORTHANDS, type WriteRequestOptions } from '../../src/bus/write-request';

const opts: WriteRequestOptions = { defaultTarget: 1, allowProtection: false };

function refused(payload: unknown, code: string, re: RegExp, o = opts): void {
  assert.throws(
    () => checkWriteRequest(payload, o),
    (e: unknown) => e instanceof WriteRequestError && e.code === code && re.test(e.message),
    `${JSON.stringify(payload)} → ${code} ${re}`,
  );
}

describe('write requests: the checks before anything is queued (src/bus/write-request.ts)', () => {
  it('accepts {setting, value}, {address, setting, value}, a setting as key and the shorthands', () => {
    assert.deepEqual(
      [
        checkWriteRequest({ setting: 'maxBalanceCurrent', value: 1.5 }, opts),
        checkWriteRequest({ address: 'all', setting: 'balancing', value: 'off' }, opts),
        checkWriteRequest({ address: '3', cellRequestChargeVoltage: '3.42' }, opts),
        checkWriteRequest({ floatMode: 0 }, { ...opts, defaultTarget: 'all' }),
        checkWriteRequest({ setting: ' heating ', value: true }, opts),
      ].map((r) => [r.target, r.def.name, r.value]),
      [
        [1, 'maxBalanceCurrent', 1.5],
        ['all', 'balancingEnabled', false],
        [3, 'cellRequestChargeVoltage', 3.42],
        ['all', 'chargingFloatMode', false],
        [1, 'heatingEnabled', true],
      ],
    );
    assert.deepEqual(Object.keys(WRITE_SHORTHANDS), ['charging', 'discharging', 'balancing', 'balancer', 'heating', 'floatMode']);
  });

  it('refuses each bad request with what is wrong and what is allowed', () => {
    refused('charging off', 'BAD_MESSAGE', /^msg\.payload must be an object: \{setting, value\}, \{address, setting, value\} or a shorthand such as \{charging: false\}$/);
    refused([1], 'BAD_MESSAGE', /must be an object/);
    refused(null, 'BAD_MESSAGE', /must be an object/);
    refused({ address: 2 }, 'BAD_MESSAGE', /^no setting in msg\.payload; msg\.payload must be an object/);
    refused({ charging: false, discharging: false }, 'BAD_MESSAGE', /^exactly one setting per message, got 2 \(charging, discharging\)$/);
    refused({ setting: 'cellOvp' }, 'BAD_MESSAGE', /^msg\.payload\.value is missing \(the new value of cellOvp\)$/);
    refused({ setting: 'cellOvp', value: null }, 'BAD_MESSAGE', /value is missing/);
    refused({ setting: 3, value: 1 }, 'BAD_MESSAGE', /^msg\.payload\.setting must be a setting name, got 3$/);
    refused({ setting: 'maxBalanceCurrent', value: 1, charging: true }, 'BAD_MESSAGE', /^unexpected msg\.payload\.charging next to msg\.payload\.setting \(one setting per message\)$/);
    refused({ address: 16, charging: true }, 'BAD_MESSAGE', /^msg\.payload\.address must be "all" or a whole number 0-15, got 16$/);
    refused({ address: Number.NaN, charging: true }, 'BAD_MESSAGE', /got NaN$/);
    refused({ deviceAddress: 3 }, 'INVALID_SETTING', /^unknown setting "deviceAddress"; writable settings: .* \(shorthands: charging, discharging, balancing, balancer, heating, floatMode\)$/);
    refused({ maxBalanceCurrent: 20 }, 'OUT_OF_RANGE', /^maxBalanceCurrent = 20 is out of range: valid 0\.3–15 A in steps of 0\.001$/);
    refused({ heating: 2 }, 'OUT_OF_RANGE', /^heatingEnabled must be true\/false \(or 1\/0\), got 2$/);
    refused({ cellOvp: 3.6 }, 'PROTECTED', /^cellOvp \(Cell over-voltage protection\) is a protection setting: a wrong value can disable a protection of the pack\. Writing it needs the explicit protection opt-in \(allowProtection\)$/);
    refused({ cellOvp: 3.6 }, 'PROTECTED', /pack\. Tick the box$/, { ...opts, protectionHint: 'Tick the box' });
    assert.equal(checkWriteRequest({ cellOvp: 3.6 }, { ...opts, allowProtection: true }).value, 3.6);
  });

  it('names from the object prototype are not settings or shorthands', () => {
    for (const name of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
      refused({ setting: name, value: 1 }, 'INVALID_SETTING', new RegExp(`^unknown setting "${name}"`));
    }
    refused(JSON.parse('{"constructor": 1}'), 'INVALID_SETTING', /^unknown setting "constructor"/);
  });

  it('targets: "all" or 0–15 as a number or numeric string; values shown by name when JSON cannot', () => {
    assert.deepEqual(['all', 0, 15, '7', ' 2 '].map(parseWriteTarget), ['all', 0, 15, 7, 2]);
    assert.deepEqual(['ALL', -1, 16, 1.5, '', 'x', null, undefined, Number.NaN].map(parseWriteTarget), Array(9).fill(null));
    assert.deepEqual([Number.NaN, Infinity, -Infinity, 'a', 2, null].map(shownValue), ['NaN', 'Infinity', '-Infinity', '"a"', '2', 'null']);
  });
});

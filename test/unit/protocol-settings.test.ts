import assert from 'node:assert/strict';
import { Framer } from '../../src/protocol/framer';
import {
  SETTINGS,
  SettingError,
  applyRegisterWrite,
  encodeSettingWrite,
  findSetting,
  readSetting,
  settingsForRegister,
  validateSetting,
} from '../../src/protocol/settings';
import { decodeSettings } from '../../src/protocol/decode';
import { encodeFrame } from '../../src/protocol/encode';
import { settings } from '../helpers/fixtures';

/** A value inside the range, on the step grid, different from the fixture's current value. */
function sample(name: string, current: number | boolean): number | boolean {
  const d = findSetting(name)!;
  if (d.kind !== 'number') return !current;
  const mid = d.min + Math.round((d.max - d.min) / 2 / d.step / 3) * d.step;
  const v = Number(mid.toFixed(6));
  return v === current ? Number((v + d.step).toFixed(6)) : v;
}

describe('protocol: writable settings', () => {
  it('covers the numbers, switches and switch-word bits of docs/protocol.md §4.1–4.2, each with a range and step', () => {
    assert.ok(SETTINGS.length >= 50);
    for (const d of SETTINGS) {
      assert.ok(d.min <= d.max && d.step > 0, d.name);
      assert.ok(d.label.length > 3, d.name);
      if (d.kind === 'bit') assert.equal(d.register, 0x1114);
      else assert.equal(d.quantity, 2, d.name);
    }
    assert.equal(new Set(SETTINGS.map((d) => d.name)).size, SETTINGS.length, 'unique names');
  });

  it('every writable setting: encode → framer → apply on the pack → read back gives the value', () => {
    const before = settings(2);
    for (const d of SETTINGS) {
      const current = readSetting(before, d.name)!;
      assert.notEqual(current, undefined, `${d.name} missing from the decoded settings`);
      const value = sample(d.name, current);
      const w = encodeSettingWrite(2, d.name, value, before);
      const ev = new Framer().push(w.bytes);
      assert.equal(ev.length, 1, d.name);
      const e = ev[0]!;
      assert.equal(e.type, 'write', d.name);
      if (e.type !== 'write') continue;
      assert.equal(e.address, 2);
      assert.equal(e.register, d.register, d.name);
      assert.equal(e.quantity, d.quantity, d.name);
      const after = applyRegisterWrite(before, e.register, e.quantity, e.value);
      assert.ok(after, d.name);
      // The pack's next settings frame shows it.
      const reread = decodeSettings(encodeFrame(after!), 2);
      assert.deepEqual(readSetting(reread, d.name), value, d.name);
      // Nothing else changed.
      for (const other of SETTINGS) {
        if (other.name === d.name) continue;
        assert.deepEqual(readSetting(reread, other.name), readSetting(before, other.name), `${d.name} changed ${other.name}`);
      }
    }
  });

  it('refuses unknown names and out-of-range values with an error naming the valid range', () => {
    assert.throws(
      () => encodeSettingWrite(1, 'cellOvpp', 3.6),
      (e: unknown) => e instanceof SettingError && e.code === 'INVALID_SETTING' && /unknown setting "cellOvpp"/.test(e.message) && /cellOvp,/.test(e.message),
    );
    assert.throws(
      () => encodeSettingWrite(1, 'cellOvp', 5),
      (e: unknown) => e instanceof SettingError && e.code === 'OUT_OF_RANGE' && e.message === 'cellOvp = 5 is out of range: valid 1.2–4.35 V in steps of 0.001',
    );
    assert.throws(() => encodeSettingWrite(1, 'chargeUtp', -50), /valid -45–20 °C in steps of 0.1/);
    assert.throws(() => encodeSettingWrite(1, 'cellOvp', 3.6504), /not a multiple of its step/);
    assert.throws(() => encodeSettingWrite(1, 'cellOvp', 'abc'), /must be a number/);
    assert.throws(() => encodeSettingWrite(1, 'cellOvp', Number.NaN), /must be a number, .*; got NaN$/);
    assert.throws(() => encodeSettingWrite(1, 'cellOvp', Number.NEGATIVE_INFINITY), /; got -Infinity$/);
    assert.throws(() => encodeSettingWrite(1, 'chargingEnabled', Number.NaN), /, got NaN$/);
    assert.throws(() => encodeSettingWrite(1, 'chargingEnabled', 2), /must be true\/false/);
    assert.throws(() => encodeSettingWrite(16, 'chargingEnabled', true), (e: unknown) => e instanceof SettingError && e.code === 'INVALID_ADDRESS');
  });

  it('accepts friendly values: numeric strings, 0/1, "on"/"off"', () => {
    assert.deepEqual(validateSetting('cellOvp', '3.65').value, 3.65);
    assert.equal(validateSetting('chargingEnabled', 0).value, false);
    assert.equal(validateSetting('chargingEnabled', 'on').value, true);
    assert.equal(validateSetting('heatingEnabled', '1').value, true);
  });

  it('signed temperatures are written in two\'s complement and read back negative', () => {
    const w = encodeSettingWrite(3, 'chargeUtp', -5);
    assert.equal(w.bytes.toString('hex'), '0310105c000204ffffffcef0fe');
    const after = applyRegisterWrite(settings(3), w.register, w.quantity, w.raw >>> 0)!;
    assert.equal(after.chargeUtp, -5);
  });

  it('a switch-word bit is read-modify-write of the last known settings and never touches the other bits (docs/protocol.md §7, Q8)', () => {
    // Bits 4 (display) and 9 (float) set, plus bits 10–15 (known from one source only, docs/protocol.md §4.2) set on this pack.
    const current = settings(2, { switchMask: 0xfc10 | 0x0200 });
    const w = encodeSettingWrite(2, 'heatingEnabled', true, current);
    assert.equal(w.register, 0x1114);
    assert.equal(w.quantity, 1);
    assert.equal(w.raw, 0xfe11);
    assert.equal(w.bytes.length, 11);
    const off = encodeSettingWrite(2, 'chargingFloatMode', false, current);
    assert.equal(off.raw, 0xfc10);
    assert.throws(() => encodeSettingWrite(2, 'heatingEnabled', true), (e: unknown) => e instanceof SettingError && e.code === 'NEEDS_CURRENT');
  });

  it('a pack refuses writes to registers that are not settings', () => {
    const s = settings(1);
    assert.equal(applyRegisterWrite(s, 0x1108, 2, 5), null, 'DevAddr is not writable');
    assert.equal(applyRegisterWrite(s, 0x1504, 1, 0x0a50), null, 'RCV/RFV time word is not writable');
    assert.equal(applyRegisterWrite(s, 0x1070, 1, 1), null, 'wrong quantity');
    assert.equal(applyRegisterWrite(s, 0x1600, 2, 1), null, 'command block');
  });

  it('maps registers back to settings', () => {
    assert.deepEqual(settingsForRegister(0x110c).map((d) => d.name), ['prechargeTime']);
    assert.equal(settingsForRegister(0x1114).length, 16);
    assert.deepEqual(settingsForRegister(0x100c).map((d) => d.name), ['cellOvp']);
  });
});

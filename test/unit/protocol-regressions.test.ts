/**
 * One regression test per decode/write bug found in earlier implementations (docs/protocol.md
 * §7). Each test fails on the buggy behaviour it names.
 */
import assert from 'node:assert/strict';
import { decodeInfo, decodeLive, decodeSettings } from '../../src/protocol/decode';
import { encodeFrame, encodeTrigger } from '../../src/protocol/encode';
import { Framer } from '../../src/protocol/framer';
import { encodeSettingWrite, findSetting } from '../../src/protocol/settings';
import { LIVE_VALUES, SETTINGS_VALUES, INFO_VALUES } from '../helpers/fixtures';

const hex = (b: Buffer) => b.toString('hex');

describe('protocol: regressions of earlier implementations (docs/protocol.md §7)', () => {
  it('Q2: precharge time writes register 0x110C with raw seconds — never 0x100C (cell OVP) ×1000', () => {
    const w = encodeSettingWrite(1, 'prechargeTime', 5);
    assert.equal(hex(w.bytes), '0110110c00020400000005f3a9'); // E12
    assert.notEqual(hex(w.bytes), '0110100c00020400001388336c'); // X1: would set OVP = 5.000 V
    assert.equal(w.register, 0x110c);
    assert.equal(w.raw, 5);
  });

  it('Q3: SCP delay is read and written in the same unit (1500 µs ↔ 0.0015 s ↔ raw 1500)', () => {
    const s = decodeSettings(encodeFrame({ ...SETTINGS_VALUES, scpDelay: 0.0015 }));
    assert.equal(s.scpDelay, 0.0015);
    const w = encodeSettingWrite(1, 'scpDelay', s.scpDelay);
    assert.equal(hex(w.bytes), '01101080000204000005dc34c6'); // E10, not X2 (1 500 000)
  });

  it('Q4: alarms come from the alarm word at 166–169, not from the wire resistances at 134–136', () => {
    // A 32-cell pack with resistances on cells 28–29 (bytes 134–137) and no alarm.
    const f = encodeFrame({ ...LIVE_VALUES, alarmMask: 0, cells: Array(32).fill(3.3), cellResistances: Array(32).fill(0.257) });
    assert.equal(f.readUInt16LE(134), 257);
    assert.deepEqual(decodeLive(f).alarms, []);
    const g = encodeFrame({ ...LIVE_VALUES, alarmMask: (1 << 4) | (1 << 11) | (1 << 22) });
    assert.deepEqual(decodeLive(g).alarms, ['cellOvp', 'cellUvp', 'temperatureSensor']);
  });

  it('Q5: SOH is the u8 at 190, whatever follows it (precharge, user alarm)', () => {
    const f = encodeFrame({ ...LIVE_VALUES, soh: 98, precharging: true, userAlarm: 0x0102 });
    assert.equal(f.readUInt32LE(190) === 98, false, 'the u32 reading would be wrong');
    const p = decodeLive(f);
    assert.equal(p.soh, 98);
    assert.equal(p.precharging, true);
  });

  it('Q6: UART1/UART2 protocol numbers are read at 184 and 218 (not 178 / 212)', () => {
    const f = encodeFrame({ ...INFO_VALUES, uart1Protocol: 14, uart2Protocol: 21 });
    f[178] = 99;
    f[212] = 98;
    const i = decodeInfo(fix(f));
    assert.equal(i.uart1Protocol, 14);
    assert.equal(i.uart2Protocol, 21);
  });

  it('Q7: RCV/RFV hold times are decoded per byte (0.1 h) and the unverified 0x1504 word is not writable', () => {
    const i = decodeInfo(encodeFrame({ ...INFO_VALUES, rcvTime: 3600, rfvTime: 28800 }));
    assert.equal(i.rcvTime, 3600);
    assert.equal(i.rfvTime, 28800);
    assert.equal(findSetting('rcvTime'), undefined);
    assert.equal(findSetting('rfvTime'), undefined);
  });

  it('Q9: an 8-byte ack is consumed whole, so the request right after it is seen', () => {
    const ack = Buffer.from('011010700002' + '44d3', 'hex');
    const ev = new Framer().push(Buffer.concat([ack, encodeTrigger(1, 'live')]));
    assert.deepEqual(ev.map((e) => e.type), ['ack', 'trigger']);
  });

  it('Q16: capacity is written to 0x107C and read back from settings offset 130 (not live 178)', () => {
    const w = encodeSettingWrite(1, 'nominalCapacityAh', 280);
    assert.equal(w.register, 0x107c);
    assert.equal(w.raw, 280000);
    const s = decodeSettings(encodeFrame({ ...SETTINGS_VALUES, nominalCapacityAh: 280 }));
    assert.equal(s.nominalCapacityAh, 280);
    const live = decodeLive(encodeFrame({ ...LIVE_VALUES, fullChargeAh: 271.5 }));
    assert.equal(live.fullChargeAh, 271.5, 'full-charge capacity is a different quantity');
  });

  it('D-1: request CRCs are computed per address (not hard-coded for address 1)', () => {
    assert.equal(hex(encodeTrigger(1, 'live').subarray(9)), 'd6f1');
    assert.equal(hex(encodeTrigger(7, 'live').subarray(9)), 'fd51');
  });

  it('D-1: charge over-temperature recovery is read at 86 (not 96), temperatures are signed', () => {
    const f = encodeFrame({ ...SETTINGS_VALUES, chargeOtpRecovery: 55, dischargeOtpRecovery: 65, chargeUtp: -20 });
    const s = decodeSettings(f);
    assert.equal(s.chargeOtpRecovery, 55);
    assert.equal(s.chargeUtp, -20);
    const l = decodeLive(encodeFrame({ ...LIVE_VALUES, temperatures: { mos: -5.5, t1: -12.3, t2: 0, t3: null, t4: null, t5: null } }));
    assert.equal(l.temperatures.mos, -5.5);
    assert.equal(l.temperatures.t1, -12.3);
  });
});

/** Recompute the sum8 after editing bytes. */
function fix(f: Buffer): Buffer {
  let s = 0;
  for (let i = 0; i < 299; i++) s += f[i]!;
  f[299] = s & 0xff;
  return f;
}

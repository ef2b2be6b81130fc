import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc16, sum8, withCrc } from '../../src/protocol/crc';
import { FrameError, decodeFrame, decodeInfo, decodeLive, decodeSettings } from '../../src/protocol/decode';
import { encodeAck, encodeException, encodeFrame, encodeResponse, encodeTrigger, encodeWrite } from '../../src/protocol/encode';
import { KIND_REGISTER, byteTimeMs, kindForFrameType, kindForRegister } from '../../src/protocol/constants';
import type { FrameKind, LivePayload } from '../../src/protocol/types';
import { INFO_VALUES, LIVE_VALUES, REFERENCE_LIVE_HEX, SETTINGS_VALUES } from '../helpers/fixtures';

const hex = (s: string) => Buffer.from(s.replace(/\s/g, ''), 'hex');

/**
 * docs/protocol.md §2.3: the request and ack CRC bytes of every address, per register (live
 * 0x1620, settings 0x161E, info 0x161C), read from its table: the document is the list, the
 * encoder must agree with every entry.
 */
const CRC_TABLE: [number, string[]][] = (() => {
  const doc = readFileSync(join(__dirname, '..', '..', 'docs', 'protocol.md'), 'utf8');
  const section = doc.slice(doc.indexOf('### 2.3 '), doc.indexOf('### 2.4 '));
  return [...section.matchAll(/^\| (\d+) \|(.*)\|$/gm)].map((m) => [Number(m[1]), [...m[2]!.matchAll(/`([0-9A-F]{2}) ([0-9A-F]{2})`/g)].map((c) => `${c[1]}${c[2]}`.toLowerCase())]);
})();

describe('protocol: checksums and constants', () => {
  it('CRC-16/MODBUS check value of "123456789" is 0x4B37, sent low byte first', () => {
    assert.equal(crc16(Buffer.from('123456789')), 0x4b37);
    assert.deepEqual([...withCrc(Buffer.from('123456789')).subarray(9)], [0x37, 0x4b]);
  });

  it('sum8 is the byte sum modulo 256', () => {
    assert.equal(sum8(Buffer.from([0xff, 0x02, 0x10])), 0x11);
    assert.equal(sum8(Buffer.from([1, 2, 3, 4]), 1, 3), 5);
  });

  it('builds the request and ack of every address and register exactly as docs/protocol.md §2.3 gives them', () => {
    const kinds: FrameKind[] = ['live', 'settings', 'info'];
    assert.deepEqual(
      CRC_TABLE.map(([a, crcs]) => [a, crcs.length]),
      Array.from({ length: 16 }, (_, a) => [a, 6]),
      'docs/protocol.md §2.3: a row per address 0-15, six CRCs each',
    );
    for (const [addr, crcs] of CRC_TABLE) {
      kinds.forEach((kind, i) => {
        assert.equal(encodeTrigger(addr, kind).subarray(9).toString('hex'), crcs[2 * i], `request ${addr} ${kind}`);
        assert.equal(encodeAck(addr, KIND_REGISTER[kind], 1).subarray(6).toString('hex'), crcs[2 * i + 1], `ack ${addr} ${kind}`);
      });
    }
  });

  it('maps registers and frame types to kinds, and byte time at 115200 baud', () => {
    assert.equal(kindForRegister(0x161c), 'info');
    assert.equal(kindForRegister(0x161e), 'settings');
    assert.equal(kindForRegister(0x1620), 'live');
    assert.equal(kindForRegister(0x1070), undefined);
    assert.deepEqual([1, 2, 3, 4].map(kindForFrameType), ['settings', 'live', 'info', undefined]);
    assert.ok(Math.abs(byteTimeMs(115200) - 0.0868) < 1e-4);
  });
});

describe('protocol: worked examples of docs/protocol.md §2.6', () => {
  const cases: [string, Buffer, string][] = [
    ['E1', encodeTrigger(1, 'live'), '01 10 16 20 00 01 02 00 00 D6 F1'],
    ['E2', encodeTrigger(2, 'settings'), '02 10 16 1E 00 01 02 00 00 C6 DF'],
    ['E3', encodeTrigger(3, 'info'), '03 10 16 1C 00 01 02 00 00 CA AD'],
    ['E4', encodeWrite(2, 0x1004, 2, 2800), '02 10 10 04 00 02 04 00 00 0A F0 36 3C'],
    ['E4 ack', encodeAck(2, 0x1004, 2), '02 10 10 04 00 02 04 FA'],
    ['E5', encodeWrite(1, 0x1070, 2, 0), '01 10 10 70 00 02 04 00 00 00 00 39 4B'],
    ['E6', encodeWrite(1, 0x1070, 2, 1), '01 10 10 70 00 02 04 00 00 00 01 F8 8B'],
    ['E6 ack', encodeAck(1, 0x1070, 2), '01 10 10 70 00 02 44 D3'],
    ['E7', encodeWrite(2, 0x1078, 2, 1), '02 10 10 78 00 02 04 00 00 00 01 F6 69'],
    ['E8', encodeWrite(3, 0x105c, 2, -50), '03 10 10 5C 00 02 04 FF FF FF CE F0 FE'],
    ['E9', encodeWrite(1, 0x102c, 2, 100000), '01 10 10 2C 00 02 04 00 01 86 A0 0F FA'],
    ['E10', encodeWrite(1, 0x1080, 2, 1500), '01 10 10 80 00 02 04 00 00 05 DC 34 C6'],
    ['E11', encodeWrite(2, 0x1114, 1, 0x0210), '02 10 11 14 00 01 02 02 10 B0 19'],
    ['E11 ack', encodeAck(2, 0x1114, 1), '02 10 11 14 00 01 44 C2'],
    ['E12', encodeWrite(1, 0x110c, 2, 5), '01 10 11 0C 00 02 04 00 00 00 05 F3 A9'],
    ['E14', encodeException(2, 3), '02 90 03 FC 01'],
  ];
  for (const [name, got, want] of cases) {
    it(`${name}: ${want}`, () => assert.equal(got.toString('hex'), hex(want).toString('hex')));
  }
});

describe('protocol: data frames', () => {
  it('encodes the synthetic live frame of docs/protocol.md §3.6 byte for byte, sum8 0xF7', () => {
    const base = Buffer.alloc(300);
    base[5] = 5;
    base[216] = 1;
    const bytes = encodeResponse(LIVE_VALUES, 2, { base });
    assert.equal(bytes.toString('hex'), REFERENCE_LIVE_HEX);
    assert.equal(bytes[299], 0xf7);
  });

  it('decodes the synthetic live frame (docs/protocol.md §3.6) to exact SI values', () => {
    const p = decodeLive(hex(REFERENCE_LIVE_HEX), 2);
    assert.equal(p.type, 'live');
    assert.equal(p.address, 2);
    assert.deepEqual(p.cells, LIVE_VALUES.cells);
    assert.equal(p.cellCount, 16);
    assert.equal(p.cellMask, 0xffff);
    assert.equal(p.cellMin, 3.298);
    assert.equal(p.cellMax, 3.305);
    assert.equal(p.cellAvg, 3.301);
    assert.equal(p.cellDelta, 0.007);
    assert.equal(p.cellMaxIndex, 2); // byte 78 = 1, 0-based
    assert.equal(p.cellMinIndex, 7); // byte 79 = 6
    assert.deepEqual(p.cellResistances, LIVE_VALUES.cellResistances);
    assert.deepEqual(p.temperatures, { mos: 25.3, t1: 21.5, t2: -3.5, t3: 25.3, t4: 21.2, t5: 20.8 });
    assert.equal(p.voltage, 52.822);
    assert.equal(p.current, -12.345);
    assert.equal(p.power, -652.087, 'power carries the sign of the current');
    assert.deepEqual(p.alarms, ['cellUvp', 'dischargeMos']);
    assert.equal(p.alarmMask, 0x00020800);
    assert.equal(p.balancingCurrent, 0.15);
    assert.equal(p.balancing, 'discharge');
    assert.equal(p.soc, 47);
    assert.equal(p.remainingAh, 131.6);
    assert.equal(p.fullChargeAh, 280);
    assert.equal(p.cycles, 57);
    assert.equal(p.cycleAh, 15234.567);
    assert.equal(p.soh, 98);
    assert.equal(p.runtime, 12345678);
    assert.equal(p.chargingMos, true);
    assert.equal(p.dischargingMos, true);
    assert.equal(p.voltageLowRes, 52.82);
    assert.equal(p.systemUptime, 605432.1);
    assert.equal(p.sleepCountdown, 86400);
    assert.equal(p.heating, false);
    assert.equal(p.emergency, false);
  });

  it('reports absent temperature sensors as null and present cells only', () => {
    const f = encodeFrame({ ...LIVE_VALUES, temperatureSensorMask: 0b000111, cells: [3.3, 3.31, 3.32, 3.33], cellMask: undefined, cellResistances: [0.05, 0.06, 0.07, 0.08] } as Partial<LivePayload> & { type: 'live' });
    const p = decodeLive(f);
    assert.deepEqual(p.temperatures, { mos: 25.3, t1: 21.5, t2: -3.5, t3: null, t4: null, t5: null });
    assert.deepEqual(p.cells, [3.3, 3.31, 3.32, 3.33]);
    assert.equal(p.cellMask, 0b1111);
    assert.deepEqual(p.cellResistances, [0.05, 0.06, 0.07, 0.08]);
    assert.equal(p.address, null);
  });

  it('a present sensor reading −200.0 °C (fw 19: unplugged) is null, and survives re-encoding', () => {
    const f = encodeFrame({ ...LIVE_VALUES, temperatureSensorMask: 0x3f });
    f.writeInt16LE(-2000, 256); // t4
    f.writeInt16LE(-2000, 258); // t5
    const p = decodeLive(fixSum(f));
    assert.deepEqual(p.temperatures, { mos: 25.3, t1: 21.5, t2: -3.5, t3: 25.3, t4: null, t5: null });
    const again = encodeFrame(p);
    assert.equal(again.readInt16LE(256), -2000);
    assert.deepEqual(decodeLive(again).temperatures, p.temperatures);
  });

  it('charging: positive current and power', () => {
    const p = decodeLive(encodeFrame({ type: 'live', voltage: 53.2, current: 31.881 }));
    assert.equal(p.current, 31.881);
    assert.equal(p.power, 1696.069);
  });

  it('settings and device info round-trip through the encoder', () => {
    const s = decodeSettings(encodeFrame(SETTINGS_VALUES), 1);
    for (const [k, v] of Object.entries(SETTINGS_VALUES)) assert.deepEqual((s as unknown as Record<string, unknown>)[k], v, k);
    assert.equal(s.displayAlwaysOn, true);
    assert.equal(s.chargingFloatMode, true);
    assert.equal(s.heatingEnabled, false);
    assert.equal(s.wireResistances.length, 16);
    const i = decodeInfo(encodeFrame(INFO_VALUES), 3);
    for (const [k, v] of Object.entries(INFO_VALUES)) assert.deepEqual((i as unknown as Record<string, unknown>)[k], v, k);
    assert.equal(i.address, 3);
  });

  it('refuses what is not a valid data frame, with a clear reason', () => {
    const good = encodeFrame(LIVE_VALUES);
    assert.throws(() => decodeFrame(good.subarray(0, 299)), (e: Error) => e instanceof FrameError && /300 bytes, got 299/.test(e.message));
    const badHeader = Buffer.from(good);
    badHeader[1] = 0xa0;
    assert.throws(() => decodeFrame(badHeader), /must start with 55 AA EB 90/);
    const badSum = Buffer.from(good);
    badSum[100] ^= 1;
    assert.throws(() => decodeFrame(badSum), /checksum mismatch/);
    const badType = Buffer.from(good);
    badType[4] = 7;
    badType[299] = sum8(badType, 0, 299);
    assert.throws(() => decodeFrame(badType), /unknown frame type 0x07/);
    assert.throws(() => decodeSettings(good), /frame type is 0x02, expected 0x01/);
  });
});

function fixSum(f: Buffer): Buffer {
  f[299] = sum8(f, 0, 299);
  return f;
}

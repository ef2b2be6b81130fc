/**
 * The plausibility checks behind sum8: no real frame rejected (captured vectors, hours of
 * simulated traffic), every check rejects a frame that violates it, and the share of
 * sum8-passing corruptions they catch, measured.
 */
import assert from 'node:assert/strict';
import { FakeClock } from '../../src/common/clock';
import { sum8 } from '../../src/protocol/crc';
import { decodeFrame } from '../../src/protocol/decode';
import { encodeFrame, encodeResponse } from '../../src/protocol/encode';
import { Framer } from '../../src/protocol/framer';
import { implausible } from '../../src/protocol/plausibility';
import type { DecodedFrame, LivePayload } from '../../src/protocol/types';
import { BusSimulator } from '../../src/sim';
import { info, live, settings } from '../helpers/fixtures';
import { rng } from '../helpers/framing';
import { loadExpected, noteVectorsMissing, vectorsAvailable } from '../helpers/vectors';

/** The decoded frame and tail address exactly as the engine sees them: encoded with its tail, through the framer. */
function throughFramer(payload: DecodedFrame, address: number): { payload: DecodedFrame; tail: number | null; frame: Buffer } {
  const events = new Framer().push(encodeResponse(payload, address));
  const f = events.find((e) => e.type === 'frame');
  assert.ok(f && f.type === 'frame');
  return { payload: decodeFrame(f.frame, f.address), tail: f.addressFrom === 'tail' ? f.address : null, frame: f.frame };
}

/** `n` distinct payload bytes (6–298) replaced by other values, sum8 fixed up so the frame still passes it. */
function corrupt(frame: Buffer, n: number, random: () => number): Buffer {
  const out = Buffer.from(frame);
  const done = new Set<number>();
  while (done.size < n) {
    const i = 6 + Math.floor(random() * 293);
    if (done.has(i)) continue;
    done.add(i);
    let v: number;
    do v = Math.floor(random() * 256);
    while (v === out[i]);
    out[i] = v;
  }
  out[299] = sum8(out, 0, 299);
  return out;
}

/**
 * Detection rate: every base frame corrupted `rounds` times with 1, 2, 3 and 4 bytes; the share
 * that still decodes (always: sum8 holds, the type byte is untouched) and that implausible() rejects.
 */
function detectionRate(frames: Buffer[], rounds: number, seed: number): { byBytes: number[]; overall: number } {
  const random = rng(seed);
  const byBytes: number[] = [];
  let all = 0;
  let caught = 0;
  for (let n = 1; n <= 4; n++) {
    let hit = 0;
    let total = 0;
    for (let r = 0; r < rounds; r++) {
      for (const base of frames) {
        const bad = corrupt(base, n, random);
        total++;
        if (implausible(decodeFrame(bad), null, bad) !== null) hit++;
      }
    }
    byBytes.push(hit / total);
    all += total;
    caught += hit;
  }
  return { byBytes, overall: caught / all };
}

const pct = (x: number) => `${(100 * x).toFixed(1)} %`;

interface Traffic {
  /** 400 live frames spread over the run (detection-rate base). */
  frames: Buffer[];
  judged: { payload: DecodedFrame; tail: number | null; frame: Buffer }[];
  /** How often each alarm / state occurred. */
  seen: Record<string, number>;
}

let traffic: Traffic | undefined;

/** Six hours of four simulated packs in every state the model has; every 3 s a live frame of each (computed once). */
function simulatedTraffic(): Traffic {
  traffic ??= simulate();
  return traffic;
}

function simulate(): Traffic {
  const clock = new FakeClock();
  const sim = new BusSimulator({
    packs: [1, 2, 3, 4],
    seed: 7,
    clock,
    packOptions: {
      // Charging into a full pack: charge over-current now and then, OVP, balancing, float.
      1: { soc: 90, profile: { offsetA: 18, amplitudeA: 10, periodS: 1800 } },
      // Discharging hard into an empty pack: UVP.
      2: { soc: 20, profile: { offsetA: -90, amplitudeA: 40, periodS: 2400 }, capacityAh: 100 },
      3: { cellCount: 4, ambientC: -15 },
      4: { cellCount: 8, ambientC: 45, model: 'JK-PB1A16S10P', profile: { offsetA: 0, amplitudeA: 150, periodS: 600, noiseA: 5 } },
    },
  });
  // Protection thresholds the model reaches on its own (still within what a real pack accepts).
  sim.pack(1).updateSettings({ cellOvp: 3.452, cellOvpRecovery: 3.44 });
  sim.pack(2).updateSettings({ cellUvp: 2.85, cellUvpRecovery: 2.95 });
  const seen: Record<string, number> = {};
  const count = (k: string) => (seen[k] = (seen[k] ?? 0) + 1);
  const frames: Buffer[] = [];
  const judged: { payload: DecodedFrame; tail: number | null; frame: Buffer }[] = [];
  for (let t = 0; t < 6 * 3600_000; t += 3000) {
    clock.advance(3000);
    if (t % 1800_000 === 0) {
      const odd = t % 3600_000 !== 0;
      sim.pack(3).setAlarm('wireResistance', odd);
      sim.pack(3).setAlarm('dischargeMos', !odd);
      sim.pack(4).setCurrent(odd ? -180 : null);
    }
    for (const a of [1, 2, 3, 4]) {
      const p = sim.pack(a).live();
      for (const alarm of p.alarms) count(alarm);
      if (p.balancing !== 'off') count('balancing');
      if (p.current > 0) count('charging');
      if (p.current < 0) count('discharging');
      const j = throughFramer(p, a);
      judged.push(j);
      if (frames.length < 400 && t % 54_000 === 0) frames.push(j.frame);
    }
  }
  for (const a of [1, 2, 3, 4]) {
    judged.push(throughFramer(sim.pack(a).settings(), a), throughFramer(sim.pack(a).info(), a));
    const next = sim.replacePack(a, { cellCount: 4 + 3 * a });
    next.updateSettings({ cellUvp: 2.9, cellUvpRecovery: 3.0, cellOvp: 3.65, powerOffVoltage: 2.8, balanceStartVoltage: 3.3 });
    judged.push(throughFramer(next.settings(), a), throughFramer(next.info(), a), throughFramer(next.live(), a));
  }
  return { frames, judged, seen };
}

describe('protocol: plausibility of decoded frames', () => {
  describe('no false rejection', function () {
    this.timeout(60_000);

    if (!vectorsAvailable()) noteVectorsMissing();
    else {
      it('accepts every captured frame (fw 11–19, RS485 and BLE), DevAddr checked against the ack tail', () => {
        const expected = loadExpected();
        let withTail = 0;
        const rejected: string[] = [];
        for (const e of expected) {
          const bytes = Buffer.from(e.hex, 'hex');
          const frame = bytes.subarray(0, 300);
          const tail = e.kind === 'rs485-response' && e.decoded.ack_crc_ok === true && typeof e.decoded.ack_address === 'number' ? e.decoded.ack_address : null;
          if (tail !== null && e.frame_type === 1) withTail++;
          const why = implausible(decodeFrame(frame), tail, frame);
          if (why) rejected.push(`${e.id}: ${why}`);
        }
        assert.deepEqual(rejected, []);
        assert.ok(expected.length >= 198, `${expected.length} frames`);
        assert.ok(withTail >= 5, `${withTail} settings frames with their tail`);
      });
    }

    it('accepts every frame of 6 h of simulated traffic: alarms, charge and discharge, balancing, 4–16 cells, replaced packs', () => {
      const { judged, seen } = simulatedTraffic();
      const rejected = judged.map((j) => implausible(j.payload, j.tail, j.frame)).filter((why) => why !== null);
      assert.deepEqual(rejected, []);
      assert.equal(judged.length, 4 * 7200 + 4 * 5);
      for (const k of ['charging', 'discharging', 'balancing', 'chargeOcp', 'cellOvp', 'cellUvp', 'wireResistance', 'dischargeMos']) {
        assert.ok((seen[k] ?? 0) > 0, `${k} never happened: ${JSON.stringify(seen)}`);
      }
    });
  });

  describe('each check rejects a frame that violates it', () => {
    const L = live(1);
    // Cell 7 at 3.2 V and cell 2 at 3.4 V: the extremes 200 mV apart.
    const W = live(1, {
      cells: L.cells.map((c, i) => (i === 6 ? 3.2 : i === 1 ? 3.4 : c)),
      cellDelta: 0.2,
      voltage: 52.819,
      voltageLowRes: 52.82,
      power: -652.051,
    });
    const S = settings(3);
    const I = info(3);
    const cases: [string, DecodedFrame, number | null, RegExp][] = [
      ['state of charge', { ...L, soc: 101 }, null, /^state of charge 101 % is above 100 %$/],
      ['state of health', { ...L, soh: 180 }, null, /^state of health 180 % is above 100 %$/],
      ['temperature too low', { ...L, temperatures: { ...L.temperatures, t2: -61 } }, null, /^temperature t2 -61 °C is outside -60…150 °C$/],
      ['temperature too high', { ...L, temperatures: { ...L.temperatures, mos: 151.2 } }, null, /^temperature mos 151.2 °C is outside/],
      ['voltage vs its low-resolution copy', { ...L, voltageLowRes: 52.7 }, null, /^pack voltage 52.822 V disagrees with its low-resolution copy 52.7 V$/],
      ['power vs V·I', { ...L, power: -800 }, null, /^power -800 W disagrees with voltage × current 652.088 W$/],
      ['power vs V·I at rest', { ...L, current: 0, power: 10.5 }, null, /^power 10.5 W disagrees with voltage × current 0 W$/],
      ['voltage vs Σ cells', { ...L, voltage: 52.5, voltageLowRes: 52.5, power: -648.113 }, null, /^pack voltage 52.5 V disagrees with the sum of its cells 52.822 V$/],
      ['average cell', { ...L, cellAvg: 3.317 }, null, /^average cell 3317 mV disagrees with the cells' mean 3301 mV$/],
      ['cell delta', { ...L, cellDelta: 0.058 }, null, /^cell delta 58 mV disagrees with max − min 7 mV$/],
      ['lowest cell elsewhere', { ...W, cellMinIndex: 2 }, null, /^lowest cell 2 is at 3400 mV, not 3200 mV$/],
      ['highest cell elsewhere', { ...W, cellMaxIndex: 7 }, null, /^highest cell 7 is at 3200 mV, not 3400 mV$/],
      ['index beyond the cells', { ...L, cellMaxIndex: 17 }, null, /^highest cell number 17 is not a present cell$/],
      ['index 0', { ...L, cellMinIndex: 0 }, null, /^lowest cell number 0 is not a present cell$/],
      ['DevAddr vs the tail', S, 4, /^DevAddr 3 is not the responder's address 4$/],
      ['no cells', { ...S, cellCount: 0 }, 3, /^cell count 0 is outside 1…32$/],
      ['too many cells', { ...S, cellCount: 33 }, 3, /^cell count 33 is outside 1…32$/],
      ['UVP below 0.5 V', { ...S, cellUvp: 0.4 }, null, /^cellUvp 0.4 V is outside 0.5…5 V$/],
      ['OVP above 5 V', { ...S, cellOvp: 69.146 }, null, /^cellOvp 69.146 V is outside 0.5…5 V$/],
      ['balance start 0', { ...S, balanceStartVoltage: 0 }, null, /^balanceStartVoltage 0 V is outside/],
      ['an optional cell voltage above 5 V', { ...S, cellRequestChargeVoltage: 259.45 }, null, /^cellRequestChargeVoltage 259.45 V is above 5 V$/],
      ['UVP not below OVP', { ...S, cellUvp: 3.61, cellUvpRecovery: 3.62 }, null, /^cell UVP 3.61 V is not below cell OVP 3.61 V$/],
      ['empty vendor id', { ...I, vendorId: '' }, null, /^vendor id "" is empty or not printable$/],
      ['empty serial number', { ...I, serialNumber: '' }, null, /^serial number "" is empty or has characters other than letters, digits, '-' and '_'$/],
      ['serial number with a space', { ...I, serialNumber: '4062 40158' }, null, /^serial number "4062 40158" is empty/],
      ['serial number with punctuation', { ...I, serialNumber: '406284{158' }, null, /^serial number "406284\{158" is empty/],
    ];
    for (const [name, payload, tail, reason] of cases) {
      it(`${name}`, () => {
        const why = implausible(payload, tail);
        assert.ok(why !== null, 'accepted');
        assert.match(why, reason);
      });
    }

    it('the unmodified frames of these cases are plausible (so each case fails for its own reason)', () => {
      assert.equal(implausible(L, null), null);
      assert.equal(implausible(S, 3), null);
      assert.equal(implausible(I, null), null);
      assert.equal(implausible(W, null), null);
      assert.equal(W.cellMinIndex, 7);
      assert.equal(W.cellMaxIndex, 2);
    });

    it('a non-printable byte in the raw serial number (dropped by the decoder) is caught when the frame is given', () => {
      const frame = encodeFrame(I);
      frame[89] = 0x07;
      frame[299] = sum8(frame, 0, 299);
      const decoded = decodeFrame(frame);
      assert.equal((decoded as typeof I).serialNumber, '406840158');
      assert.equal(implausible(decoded, null), null, 'the decoded text alone looks fine');
      assert.equal(implausible(decoded, null, frame), 'serialNumber holds the non-printable byte 0x07');
      const vendor = encodeFrame(I);
      vendor[7] = 0xc3;
      vendor[299] = sum8(vendor, 0, 299);
      assert.equal(implausible(decodeFrame(vendor), null, vendor), 'vendorId holds the non-printable byte 0xc3');
    });

    it('what real firmware does is accepted: −200 °C for an unplugged sensor (fw 19), no low-resolution voltage, no cells, no tail', () => {
      // The decoder reports fw 19's −200 °C (unplugged) as null (see protocol-codec tests).
      assert.equal(implausible({ ...L, temperatures: { ...L.temperatures, t4: null, t5: null } }, null), null);
      assert.equal(implausible({ ...L, voltageLowRes: 0 }, null), null);
      const empty: LivePayload = { ...L, cells: [], cellCount: 0, cellMask: 0, cellMin: null, cellMax: null, cellAvg: 0, cellDelta: 0, cellMinIndex: 1, cellMaxIndex: 1, voltage: 0, voltageLowRes: 0, current: 0, power: 0 };
      assert.equal(implausible(empty, null), null);
      assert.equal(implausible({ ...S, deviceAddress: 9 }, null), null, 'DevAddr is only compared with a tail address');
      assert.equal(implausible({ ...S, cellSoc100Voltage: 0, cellSoc0Voltage: 0, cellRequestChargeVoltage: 0, cellRequestFloatVoltage: 0 }, 3), null);
      assert.equal(implausible({ ...I, serialNumber: '50514654A000996' }, null), null);
      assert.equal(implausible({ ...I, serialNumber: 'SN-01_b' }, null), null);
    });

    it('tolerances are not knife-edge: a frame just inside each of them passes', () => {
      // Σ cells 52.822 V; at 53 V the tolerance is 0.1 V + 0.25 % = 0.2325 V.
      assert.equal(implausible({ ...L, voltage: 53, voltageLowRes: 53, power: -654.285 }, null), null);
      assert.equal(implausible({ ...L, voltageLowRes: 52.74 }, null), null);
      assert.equal(implausible({ ...L, cellAvg: 3.315 }, null), null);
      assert.equal(implausible({ ...L, cellDelta: 0.056 }, null), null);
      assert.equal(implausible({ ...L, power: -740 }, null), null);
      assert.equal(implausible({ ...L, current: 0, power: 9.9 }, null), null);
    });
  });

  describe('detection rate: 1–4 random payload bytes changed and sum8 fixed up', function () {
    this.timeout(60_000);

    // Measured (fixed seeds, so exactly these every run): captured frames 18.3 / 32.0 / 42.7 /
    // 53.1 % for 1 / 2 / 3 / 4 bytes, overall 36.5 %; simulated frames 15.4 / 27.9 / 39.4 /
    // 49.3 %, overall 33.0 %. About 50 of the 293 payload bytes carry redundancy: a changed byte
    // of a cell voltage, the cell mask, average/delta, the extreme indices, a temperature or the
    // upper bytes of voltage, current and power is caught 57–100 % of the time; the rest of the
    // frame (cell resistances, alarm words, counters, timers) has nothing to check it against.
    // The engine's serial-number confirmation covers what slips through in device info.
    if (vectorsAvailable()) {
      it('on the captured live frames: overall ≥ 35 %, ≥ 17 % for a single byte', () => {
        const frames = loadExpected()
          .filter((e) => e.frame_type === 2)
          .map((e) => Buffer.from(e.hex, 'hex').subarray(0, 300))
          .filter((f) => (decodeFrame(f) as LivePayload).cells.length > 0);
        assert.equal(frames.length, 147);
        const { byBytes, overall } = detectionRate(frames, 40, 1);
        const msg = `by bytes ${byBytes.map(pct).join(' / ')}, overall ${pct(overall)}`;
        assert.ok(overall >= 0.35 && byBytes[0]! >= 0.17, msg);
        assert.ok(byBytes.every((x, i) => i === 0 || x > byBytes[i - 1]!), `more bytes, more caught: ${msg}`);
      });
    }

    it('on simulated live frames: overall ≥ 31.5 %, ≥ 14 % for a single byte', () => {
      const { frames } = simulatedTraffic();
      assert.equal(frames.length, 400);
      const { byBytes, overall } = detectionRate(frames, 15, 2);
      const msg = `by bytes ${byBytes.map(pct).join(' / ')}, overall ${pct(overall)}`;
      assert.ok(overall >= 0.315 && byBytes[0]! >= 0.14, msg);
      assert.ok(byBytes.every((x, i) => i === 0 || x > byBytes[i - 1]!), `more bytes, more caught: ${msg}`);
    });
  });
});

import assert from 'node:assert/strict';
import { FakeClock } from '../../src/common/clock';
import {
  Framer,
  decodeInfo,
  decodeLive,
  decodeSettings,
  encodeAck,
  encodeException,
  encodeSettingWrite,
  encodeTrigger,
  encodeWrite,
  type DataFrameEvent,
  type FrameKind,
  type FramerEvent,
} from '../../src/protocol';
import { BusSimulator, type BusSimulatorOptions, type TransmitEvent } from '../../src/sim';

const BYTE = 10_000 / 115200;

/** A FakeClock simulator with an open host endpoint whose traffic is framed and logged. */
async function bench(options: Partial<BusSimulatorOptions> = {}) {
  const clock = new FakeClock();
  const sim = new BusSimulator({ packs: [1], seed: 3, clock, timing: { turnaroundJitterMs: 0 }, ...options });
  const tx: TransmitEvent[] = [];
  sim.on('transmit', (e: TransmitEvent) => tx.push(e));
  const host = sim.createHostEndpoint();
  const framer = new Framer();
  const events: (FramerEvent & { at: number })[] = [];
  host.on('data', (chunk: Buffer) => {
    for (const e of framer.push(chunk)) events.push({ ...e, at: clock.now() });
  });
  host.open();
  await new Promise((r) => setImmediate(r));
  assert.equal(host.isOpen(), true);
  sim.start();
  const send = (bytes: Buffer) => assert.equal(host.write(bytes), true);
  /** Send, wait `ms`, return the events seen meanwhile. */
  const ask = (bytes: Buffer, ms = 100) => {
    const from = events.length;
    send(bytes);
    clock.advance(ms);
    return events.slice(from);
  };
  const frames = (evs: FramerEvent[]) => evs.filter((e): e is DataFrameEvent & { at: number } => e.type === 'frame');
  return { clock, sim, host, tx, events, send, ask, frames };
}

describe('sim pack', () => {
  it('answers a live trigger with a 308-byte response that decodes to its state, address in the tail', async () => {
    const b = await bench();
    const evs = b.ask(encodeTrigger(1, 'live'));
    const [f] = b.frames(evs);
    assert.ok(f);
    assert.equal(f.bytes.length, 308);
    assert.equal(f.tail, 'ack');
    assert.equal(f.address, 1);
    assert.deepEqual(f.bytes.subarray(300), Buffer.from('01101620000104 4b'.replace(/ /g, ''), 'hex'));
    assert.equal(f.frame[5], 0x05, 'slave counter byte');
    assert.deepEqual(decodeLive(f.frame, 1), b.sim.pack(1).live());
    const live = b.sim.pack(1).live();
    assert.equal(live.cellCount, 16);
    assert.equal(live.cells.length, 16);
    assert.ok(live.cells.every((v) => v > 3.0 && v < 3.45));
    assert.equal(live.voltage, Math.round(live.cells.reduce((a, v) => a + v * 1000, 0)) / 1000);
    assert.equal(b.sim.stats().packs['1']!.requestsReceived, 1);
    assert.equal(b.sim.stats().packs['1']!.framesSent, 1);
    assert.deepEqual(b.sim.errors, []);
    assert.deepEqual(b.clock.errors, []);
  });

  it('answers after the turnaround, with a gap before the ack tail (trigger → end of ack ≈ 38 ms)', async () => {
    const b = await bench();
    b.ask(encodeTrigger(1, 'live'));
    const [trig, frame, tail] = b.tx;
    assert.equal(trig!.sender, 'host 1');
    assert.equal(frame!.sender, 'pack 1');
    assert.equal(frame!.bytes.length, 300);
    assert.equal(tail!.bytes.length, 8);
    assert.ok(Math.abs(trig!.end - 11 * BYTE) < 1e-9);
    assert.ok(Math.abs(frame!.start - (trig!.end + 8)) < 1e-9, 'turnaround 8 ms');
    assert.ok(Math.abs(tail!.start - (frame!.end + 2)) < 1e-9, 'tail gap 2 ms');
    const total = tail!.end - trig!.start;
    assert.ok(Math.abs(total - (0.955 + 8 + 26.042 + 2 + 0.694)) < 0.01, `trigger → end of ack ${total}`);
    // The host gets the frame the moment its last byte is on the wire.
    const frameEvent = b.events.find((e) => e.type === 'frame')!;
    assert.ok(Math.abs(frameEvent.at - tail!.end) < 1e-9);
  });

  it('answers settings and device-info triggers; serial numbers are unique per pack and fixed by the seed', async () => {
    const b = await bench({ packs: [1, 2] });
    const [s] = b.frames(b.ask(encodeTrigger(2, 'settings')));
    assert.deepEqual(s!.bytes.subarray(300), encodeAck(2, 0x161e, 1));
    const settings = decodeSettings(s!.frame, 2);
    assert.deepEqual(settings, b.sim.pack(2).settings());
    assert.equal(settings.cellOvp, 3.61);
    assert.equal(settings.nominalCapacityAh, 280);
    assert.equal(settings.deviceAddress, 2);
    assert.equal(settings.switchMask, 0x0210);

    const [i1] = b.frames(b.ask(encodeTrigger(1, 'info')));
    const [i2] = b.frames(b.ask(encodeTrigger(2, 'info')));
    const info1 = decodeInfo(i1!.frame, 1);
    const info2 = decodeInfo(i2!.frame, 2);
    assert.deepEqual(info1, b.sim.pack(1).info());
    assert.equal(info1.vendorId, 'JK_PB2A16S20P');
    assert.match(info1.serialNumber, /^\d{9}01$/);
    assert.match(info2.serialNumber, /^\d{9}02$/);
    assert.notEqual(info1.serialNumber, info2.serialNumber);
    assert.equal(b.sim.pack(1).serialNumber, info1.serialNumber);

    const again = new BusSimulator({ packs: [1, 2], seed: 3, clock: new FakeClock() });
    assert.equal(again.pack(1).serialNumber, info1.serialNumber);
    const other = new BusSimulator({ packs: [1, 2], seed: 4, clock: new FakeClock() });
    assert.notEqual(other.pack(1).serialNumber, info1.serialNumber);
  });

  it('ignores triggers for other addresses and other packs\' answers', async () => {
    const b = await bench({ packs: [1, 2] });
    assert.deepEqual(b.frames(b.ask(encodeTrigger(5, 'live'), 500)), []);
    const frames = b.frames(b.ask(encodeTrigger(1, 'live')));
    assert.deepEqual(
      frames.map((f) => f.address),
      [1],
    );
    const stats = b.sim.stats();
    assert.equal(stats.packs['1']!.requestsReceived, 1);
    assert.equal(stats.packs['2']!.requestsReceived, 0);
    assert.equal(stats.packs['2']!.framesSent, 0);
    assert.equal(stats.collisions, 0);
  });

  it('applies a write, acks it, and shows it in the next settings frame', async () => {
    const b = await bench();
    const w = encodeSettingWrite(1, 'cellOvp', 3.5);
    const evs = b.ask(w.bytes);
    const acks = evs.filter((e) => e.type === 'ack');
    assert.equal(acks.length, 1);
    assert.deepEqual(acks[0]!.bytes, encodeAck(1, 0x100c, 2));
    const [s] = b.frames(b.ask(encodeTrigger(1, 'settings')));
    assert.equal(decodeSettings(s!.frame, 1).cellOvp, 3.5);
    assert.equal(b.sim.stats().writesApplied, 1);

    // A bit of the switch word (read-modify-write): heating on keeps the other bits.
    const heat = encodeSettingWrite(1, 'heatingEnabled', true, decodeSettings(s!.frame, 1));
    assert.deepEqual(b.ask(heat.bytes).filter((e) => e.type === 'ack')[0]!.bytes, encodeAck(1, 0x1114, 1));
    const after = b.sim.pack(1).settings();
    assert.equal(after.switchMask, 0x0211);
    assert.equal(after.heatingEnabled, true);
    assert.equal(after.displayAlwaysOn, true);
  });

  it('answers exception 02 for a register that is not writable and 03 for a refused value', async () => {
    const b = await bench();
    const before = b.sim.pack(1).settings();
    const exc = (bytes: Buffer) => b.ask(bytes).filter((e) => e.type === 'exception');

    const devAddr = exc(encodeWrite(1, 0x1108, 2, 5));
    assert.deepEqual(devAddr[0]!.bytes, encodeException(1, 0x02));
    assert.deepEqual(devAddr[0]!.bytes, Buffer.from([0x01, 0x90, 0x02, ...devAddr[0]!.bytes.subarray(3)]));

    // 250 A is within the app's range but above this 200 A board's rating.
    const tooMuch = exc(encodeSettingWrite(1, 'maxChargeCurrent', 250).bytes);
    assert.deepEqual(tooMuch[0]!.bytes, encodeException(1, 0x03));
    // A recovery above its protection value.
    assert.deepEqual(exc(encodeSettingWrite(1, 'cellOvpRecovery', 3.7).bytes)[0]!.bytes, encodeException(1, 0x03));
    // 20 cells on a 16S board; a switch register with value 2.
    assert.deepEqual(exc(encodeSettingWrite(1, 'cellCount', 20).bytes)[0]!.bytes, encodeException(1, 0x03));
    assert.deepEqual(exc(encodeWrite(1, 0x1070, 2, 2))[0]!.bytes, encodeException(1, 0x03));

    assert.deepEqual(b.sim.pack(1).settings(), before);
    const stats = b.sim.stats().packs['1']!;
    assert.equal(stats.exceptions, 5);
    assert.equal(stats.writesApplied, 0);
  });

  it('takes a new cell count and capacity into its live data at once', async () => {
    const b = await bench();
    b.ask(encodeSettingWrite(1, 'cellCount', 8).bytes);
    b.ask(encodeSettingWrite(1, 'nominalCapacityAh', 100).bytes);
    const [f] = b.frames(b.ask(encodeTrigger(1, 'live')));
    const live = decodeLive(f!.frame, 1);
    assert.equal(live.cellCount, 8);
    assert.equal(live.cellMask, 0xff);
    assert.equal(live.fullChargeAh, (100 * live.soh) / 100);
    assert.equal(b.sim.pack(1).settings().wireResistances.length, 8);
  });

  it('goes silent and comes back; raises and clears alarms; follows a fixed current', async () => {
    const b = await bench();
    const pack = b.sim.pack(1);
    pack.setSilent(true);
    assert.equal(pack.silent, true);
    assert.deepEqual(b.frames(b.ask(encodeTrigger(1, 'live'), 500)), []);
    pack.setSilent(false);
    assert.equal(b.frames(b.ask(encodeTrigger(1, 'live'))).length, 1);

    pack.setAlarm('cellOvp');
    pack.setAlarm(17);
    let live = decodeLive(b.frames(b.ask(encodeTrigger(1, 'live')))[0]!.frame, 1);
    assert.deepEqual(live.alarms, ['cellOvp', 'dischargeMos']);
    assert.equal(live.alarmMask, 0x20010);
    pack.setAlarm('cellOvp', false);
    assert.deepEqual(pack.live().alarms, ['dischargeMos']);
    pack.clearAlarms();
    assert.deepEqual(pack.live().alarms, []);
    assert.throws(() => pack.setAlarm('nope'), /unknown alarm "nope"/);
    assert.throws(() => pack.setAlarm(32), /0–31/);

    assert.throws(() => pack.setCurrent(Number.NaN), /current must be a finite number of A, got NaN/);
    assert.throws(() => pack.setSoc(101), /SOC must be 0–100 %, got 101/);
    pack.setSoc(50);
    pack.setCurrent(-50);
    b.clock.advance(1000);
    const r0 = pack.live().remainingAh;
    b.clock.advance(600_000);
    live = decodeLive(b.frames(b.ask(encodeTrigger(1, 'live')))[0]!.frame, 1);
    assert.equal(live.current, -50);
    assert.ok(live.power < 0);
    assert.equal(live.dischargingMos, true);
    // 600 s at 50 A = 8.333 Ah.
    assert.ok(Math.abs(r0 - live.remainingAh - (50 * 600) / 3600) < 0.002, `${r0} → ${live.remainingAh}`);
    assert.equal(live.soc, Math.round((live.remainingAh / live.fullChargeAh) * 100));
  });

  it('trips charge over-current protection after its delay and releases it after the recovery time', async () => {
    const b = await bench();
    const pack = b.sim.pack(1);
    pack.setSoc(50);
    pack.setCurrent(40); // above the 25 A max charge current, for longer than the 3 s delay
    b.clock.advance(4000);
    let live = pack.live();
    assert.deepEqual(live.alarms, ['chargeOcp']);
    assert.equal(live.chargingMos, false);
    assert.equal(live.current, 0);
    assert.ok(live.chargeOcpReleaseTime > 55 && live.chargeOcpReleaseTime <= 60);
    pack.setCurrent(10);
    b.clock.advance(61_000);
    live = pack.live();
    assert.deepEqual(live.alarms, []);
    assert.equal(live.current, 10);
  });

  it('evolves deterministically for a seed, whoever looks and how often', async () => {
    const kinds: FrameKind[] = ['live', 'settings'];
    let initial: number[] = [];
    const run = async (pollEveryMs: number) => {
      const b = await bench({ packs: [1, 2] });
      initial = b.sim.pack(1).live().cells;
      for (let t = 0; t < 120_000; t += pollEveryMs) {
        b.send(encodeTrigger(1, kinds[(t / pollEveryMs) % 2]!));
        b.clock.advance(pollEveryMs);
      }
      assert.equal(b.clock.now(), 120_000);
      return [b.sim.pack(1).live(), b.sim.pack(2).live()];
    };
    const a = await run(500);
    const c = await run(6000);
    assert.deepEqual(a, c);
    assert.notDeepEqual(a[0]!.cells, initial, 'the cells moved in two minutes');
    assert.equal(a[0]!.systemUptime, 120);
  });

  it('changes settings directly (like the JK app), visible in the next settings frame', async () => {
    const b = await bench();
    b.sim.pack(1).updateSettings({ maxChargeCurrent: 50, balancingEnabled: false });
    const [s] = b.frames(b.ask(encodeTrigger(1, 'settings')));
    const settings = decodeSettings(s!.frame, 1);
    assert.equal(settings.maxChargeCurrent, 50);
    assert.equal(settings.balancingEnabled, false);
    assert.equal(b.sim.stats().writesApplied, 0);
  });
});

describe('sim pack: firmware quirks and replacement', () => {
  it('setIgnoreWrites: the pack acknowledges writes without applying them, refuses bad ones as before, and applies them again when switched back', async () => {
    const b = await bench();
    const pack = b.sim.pack(1);
    assert.equal(pack.ignoresWrites, false);
    pack.setIgnoreWrites(true);
    assert.equal(pack.ignoresWrites, true);
    const acks = b.ask(encodeSettingWrite(1, 'cellOvp', 3.5).bytes).filter((e) => e.type === 'ack');
    assert.deepEqual(acks[0]!.bytes, encodeAck(1, 0x100c, 2));
    assert.equal(decodeSettings(b.frames(b.ask(encodeTrigger(1, 'settings')))[0]!.frame, 1).cellOvp, 3.61);
    assert.equal(pack.settings().cellOvp, 3.61);
    assert.deepEqual(b.ask(encodeSettingWrite(1, 'maxChargeCurrent', 250).bytes).filter((e) => e.type === 'exception')[0]!.bytes, encodeException(1, 0x03));
    assert.deepEqual(b.sim.stats().packs['1'], { framesSent: 1, requestsReceived: 3, writesApplied: 0, exceptions: 1 });

    pack.setIgnoreWrites(false);
    b.ask(encodeSettingWrite(1, 'cellOvp', 3.5).bytes);
    assert.equal(pack.settings().cellOvp, 3.5);
    assert.equal(b.sim.stats().writesApplied, 1);
    assert.throws(() => pack.setIgnoreWrites(1 as unknown as boolean), /setIgnoreWrites takes true or false, got 1/);
  });

  it('setSerialNumber: the next device info carries the new serial number; bad serials are refused', async () => {
    const b = await bench();
    const pack = b.sim.pack(1);
    const original = pack.serialNumber;
    pack.setSerialNumber('SWAP-01_x');
    assert.equal(pack.serialNumber, 'SWAP-01_x');
    assert.equal(decodeInfo(b.frames(b.ask(encodeTrigger(1, 'info')))[0]!.frame, 1).serialNumber, 'SWAP-01_x');
    pack.setSerialNumber(original);
    assert.equal(decodeInfo(b.frames(b.ask(encodeTrigger(1, 'info')))[0]!.frame, 1).serialNumber, original);
    for (const bad of ['', 'a b', '12345678901234567', 'x%']) {
      assert.throws(() => pack.setSerialNumber(bad), /a serial number is 1–16 letters, digits, '-' or '_', got/, bad);
    }
  });

  it('replacePack: another board answers at the same address with its own serial number; the old one falls silent', async () => {
    const b = await bench({ packs: [1, 2] });
    const old = b.sim.pack(2);
    old.setCurrent(-40);
    const replacement = b.sim.replacePack(2);
    assert.notEqual(replacement, old);
    assert.equal(b.sim.pack(2), replacement);
    assert.equal(replacement.address, 2);
    assert.match(replacement.serialNumber, /^\d{9}02$/);
    assert.notEqual(replacement.serialNumber, old.serialNumber);
    const [f] = b.frames(b.ask(encodeTrigger(2, 'info')));
    assert.equal(decodeInfo(f!.frame, 2).serialNumber, replacement.serialNumber);
    assert.equal(b.tx.filter((t) => t.sender === 'pack 2').length, 2, 'one answer (frame + tail), from one pack');
    assert.equal(old.counters.requestsReceived, 0, 'the old pack is off the wire');
    // Same options as before unless others are given; a second replacement differs again.
    assert.equal(replacement.live().cellCount, 16);
    const third = b.sim.replacePack(2, { cellCount: 8 });
    assert.equal(third.live().cellCount, 8);
    assert.notEqual(third.serialNumber, replacement.serialNumber);
    // Reproducible for a seed.
    const again = new BusSimulator({ packs: [1, 2], seed: 3, clock: new FakeClock() });
    assert.equal(again.replacePack(2).serialNumber, replacement.serialNumber);
    assert.throws(() => b.sim.replacePack(5), /no simulated pack at address 5; simulated: 1, 2/);
    const withMaster = new BusSimulator({ packs: [1], master: true, clock: new FakeClock() });
    assert.throws(() => withMaster.replacePack(0), /the JK master's own pack \(address 0\) cannot be replaced/);
    assert.deepEqual(b.sim.errors, []);
  });
});

describe('sim tour', () => {
  it('walks every pack through every state HA may see within one cycle: charge stages, balancing both ways, an alarm raised and cleared, MOS off and on', () => {
    for (const seed of [1, 5, 9]) {
      const clock = new FakeClock();
      const sim = new BusSimulator({ packs: [1, 2, 3], seed, clock, packDefaults: { tour: true }, packOptions: { 2: { capacityAh: 100, cellCount: 8 }, 3: { tour: { periodS: 600 } } } });
      for (const a of [1, 2, 3]) {
        const seen = { balancing: new Set<string>(), stage: new Set<string>(), alarm: new Set<string>(), chargingMos: new Set<boolean>() };
        const t0 = clock.now();
        for (let t = 0; t < 1200; t++) {
          clock.advance(1000);
          const l = sim.pack(a).live();
          seen.balancing.add(l.balancing);
          seen.stage.add(String(l.chargeStage));
          seen.alarm.add(l.alarms.join('+') || 'none');
          seen.chargingMos.add(l.chargingMos);
        }
        const where = `seed ${seed}, pack ${a} from ${t0}`;
        assert.deepEqual([...seen.balancing].sort(), ['charge', 'discharge', 'off'], where);
        assert.deepEqual([...seen.stage].sort(), ['absorption', 'bulk', 'float'], where);
        assert.deepEqual([...seen.alarm].sort(), ['chargeOcp', 'none'], where);
        assert.deepEqual([...seen.chargingMos].sort(), [false, true], where);
      }
      void sim.stop();
    }
  });

  it('leaves the default run alone: no tour, the profile as before', () => {
    const clock = new FakeClock();
    const sim = new BusSimulator({ packs: [1], seed: 1, clock });
    assert.equal(sim.pack(1).settings().balanceStartVoltage, 3.45);
    const tour = new BusSimulator({ packs: [1], seed: 1, clock, packDefaults: { tour: true } });
    assert.equal(tour.pack(1).settings().balanceStartVoltage, 3.35);
  });
});

describe('sim options', () => {
  const clock = new FakeClock();
  const bad: [Partial<BusSimulatorOptions>, RegExp][] = [
    [{ packs: [0] }, /pack address must be an integer 1–15 \(0 is the JK master: use master: true\), got 0/],
    [{ packs: [16] }, /got 16/],
    [{ packs: [2, 2] }, /pack address 2 is listed twice/],
    [{ packs: 'x' as unknown as number[] }, /packs must be an array/],
    [{ packs: [1], baud: 0 }, /baud must be an integer 300–4000000, got 0/],
    [{ packs: [1], seed: 1.5 }, /seed must be an integer, got 1.5/],
    [{ packs: [1], timing: { turnaroundMs: -1 } }, /timing.turnaroundMs must be a number ≥ 0 ms, got -1/],
    [{ packs: [1], timing: { turnaroundMs: 1, turnaroundJitterMs: 2 } }, /turnaroundJitterMs must not exceed/],
    [{ packs: [1], timing: { master: { foreignTraffic: 'shout' as 'ignore' } } }, /foreignTraffic must be 'ignore' or 'defer'/],
    [{ packs: [1], faults: { truncate: 3 } }, /fault truncate is a probability: 0–1, got 3/],
    [{ packs: [1], packOptions: { 1: { cellCount: 24 } } }, /pack 1: cellCount must be an integer 4–16, got 24/],
    [{ packs: [1], packDefaults: { capacityAh: 0 } }, /pack 1: capacityAh must be 2–20000, got 0/],
    [{ packs: [1], packDefaults: { soc: 101 } }, /pack 1: soc must be 0–100 %, got 101/],
    [{ packs: [1], packDefaults: { model: 'JK-X' as 'JK-PB2A16S20P' } }, /pack 1: unknown model "JK-X"/],
    [{ packs: [1], packDefaults: { ambientC: 99 } }, /pack 1: ambientC must be −40–80 °C, got 99/],
    [{ packs: [1], packDefaults: { profile: { periodS: 0 } } }, /pack 1: profile.periodS must be a finite number > 0, got 0/],
    [{ packs: [1], packDefaults: { tour: { periodS: 60 } } }, /pack 1: tour.periodS must be a number of seconds ≥ 120, got 60/],
    [{ packs: [1], packDefaults: { tour: 'yes' as unknown as boolean } }, /pack 1: tour must be true or \{ periodS \}, got "yes"/],
  ];
  for (const [opts, message] of bad) {
    it(`rejects ${JSON.stringify(opts)}`, () => {
      assert.throws(() => new BusSimulator({ packs: [], clock, ...opts }), message);
    });
  }

  it('names the simulated addresses when asked for another one', () => {
    const sim = new BusSimulator({ packs: [3, 1], master: true, clock });
    assert.deepEqual(sim.addresses, [0, 1, 3]);
    assert.throws(() => sim.pack(2), /no simulated pack at address 2; simulated: 0, 1, 3/);
    const noMaster = new BusSimulator({ packs: [1], clock, packOptions: { 1: { cellCount: 8, capacityAh: 100, soc: 50 } } });
    const live = noMaster.pack(1).live();
    assert.equal(live.cellCount, 8);
    assert.equal(live.soc, 50);
    assert.equal(noMaster.pack(1).settings().nominalCapacityAh, 100);
    assert.equal(noMaster.stats().master, null);
  });
});

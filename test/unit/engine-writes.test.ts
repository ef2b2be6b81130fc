import assert from 'node:assert/strict';
import { WriteError } from '../../src/bus/errors';
import { BusError, type WriteResult } from '../../src/bus/types';
import { encodeWrite } from '../../src/protocol/encode';
import { findSetting } from '../../src/protocol/settings';
import type { SimPackOptions, TransmitEvent } from '../../src/sim';
import { createHarness, type Harness } from '../helpers/engine-harness';

/** Host transmissions that are writes (function 0x10 to a register below the 0x161C triggers). */
function writesSent(h: Harness): TransmitEvent[] {
  return h.sent('host 1').filter((t) => t.bytes[1] === 0x10 && ((t.bytes[2]! << 8) | t.bytes[3]!) < 0x161c);
}

describe('bus engine: write()', function () {
  let h: Harness | undefined;
  afterEach(async () => {
    if (h) {
      assert.deepEqual(h.errors, []);
      assert.deepEqual(h.sim.errors, []);
      await h.stop();
    }
    h = undefined;
  });

  async function masterBus(allowWrites = true, packOptions?: Record<number, SimPackOptions>): Promise<Harness> {
    const bus = await createHarness({ sim: { packs: [1, 2], packOptions }, engine: { mode: 'master', addresses: [1, 2], allowWrites } });
    await bus.run(3_000);
    assert.ok(bus.engine.pack(1)?.settings && bus.engine.pack(2)?.settings, 'settings known');
    return bus;
  }

  it('writes a number, the pack applies it, and the read-back confirms it', async () => {
    h = await masterBus();
    const r = await h.settle(h.engine.write(1, 'maxChargeCurrent', 50));
    assert.deepEqual(r.value, { ok: true, address: 1, setting: 'maxChargeCurrent', requested: 50, before: 25, after: 50 });
    assert.equal(h.sim.pack(1).settings().maxChargeCurrent, 50);
    assert.equal(h.engine.pack(1)!.settings!.maxChargeCurrent, 50);
    // Reference E9 shape: 13-byte write of 50 000 mA to register 0x102C.
    assert.deepEqual(
      writesSent(h).map((t) => t.bytes.toString('hex')),
      [encodeWrite(1, 0x102c, 2, 50_000).toString('hex')],
    );
  });

  it('a bit of the switch word is written read-modify-write: the other bits stay as they are', async () => {
    h = await masterBus();
    assert.equal(h.engine.pack(2)!.settings!.switchMask, 0x0210);
    const r = await h.settle(h.engine.write(2, 'heatingEnabled', true));
    assert.equal(r.value!.ok, true);
    assert.equal(r.value!.before, false);
    assert.equal(r.value!.after, true);
    const word = writesSent(h)[0]!.bytes;
    assert.equal(word.length, 11);
    assert.equal(word.readUInt16BE(7), 0x0211);
    assert.equal(h.sim.pack(2).settings().switchMask, 0x0211);
    assert.equal(h.sim.pack(2).settings().displayAlwaysOn, true);
  });

  it('two switch-word bits written back to back both land: writes to one pack are serialised', async () => {
    h = await masterBus();
    const a = h.engine.write(2, 'heatingEnabled', true);
    const b = h.engine.write(2, 'smartSleep', true);
    const [ra, rb] = await Promise.all([h.settle(a), h.settle(b)]);
    assert.equal(ra.value!.ok, true, String(ra.error));
    assert.equal(rb.value!.ok, true, String(rb.error));
    assert.equal(rb.value!.before, false);
    // The second word is built from the first one's read-back: 0x0210 → 0x0211 → 0x0251.
    assert.deepEqual(writesSent(h).map((t) => t.bytes.readUInt16BE(7)), [0x0211, 0x0251]);
    assert.equal(h.sim.pack(2).settings().switchMask, 0x0251);
  });

  it('reads the settings first when a bit must be written before they are known', async () => {
    h = await createHarness({ sim: { packs: [1] }, engine: { mode: 'master', addresses: [1], allowWrites: true } });
    let p: Promise<WriteResult> | undefined;
    h.engine.once('pack', () => (p = h!.engine.write(1, 'smartSleep', true)));
    await h.run(600, 5);
    assert.ok(p, 'pack came online');
    const r = await h.settle(p);
    assert.equal(r.value!.ok, true);
    assert.equal(h.sim.pack(1).settings().switchMask, 0x0210 | (1 << 6));
    // Order on the wire after discovery: settings read, the write, the read-back.
    const kinds = h.sent('host 1').slice(1, 4).map((t) => ((t.bytes[2]! << 8) | t.bytes[3]!).toString(16));
    assert.deepEqual(kinds, ['161e', '1114', '161e']);
  });

  it('reads the settings first when they are not known, for any setting, so "before" is known', async () => {
    h = await createHarness({ sim: { packs: [1] }, engine: { mode: 'master', addresses: [1], allowWrites: true } });
    let p: Promise<WriteResult> | undefined;
    h.engine.once('pack', () => (p = h!.engine.write(1, 'maxChargeCurrent', 50)));
    await h.run(600, 5);
    assert.ok(p, 'pack came online');
    const r = await h.settle(p);
    assert.deepEqual(r.value, { ok: true, address: 1, setting: 'maxChargeCurrent', requested: 50, before: 25, after: 50 });
    const regs = h.sent('host 1').slice(1, 4).map((t) => t.bytes.readUInt16BE(2).toString(16));
    assert.deepEqual(regs, ['161e', '102c', '161e']);
  });

  it('progress: onStart and onResult per pack, in order, each result before the next pack starts; a throwing callback changes nothing', async () => {
    h = await masterBus(true, { 1: { model: 'JK-PB2A16S15P' } });
    const seen: string[] = [];
    const r = await h.settle(
      h.engine.write('all', 'maxDischargeCurrent', 180, {
        onStart: (a, i, n) => seen.push(`start ${a} ${i}/${n}`),
        onResult: (w, i, n) => {
          seen.push(`result ${w.address} ${w.ok} ${w.error?.code ?? ''} ${i}/${n}`);
          throw new Error('callback bug');
        },
      }),
    );
    assert.deepEqual(seen, ['start 1 0/2', 'result 1 false PACK_EXCEPTION 0/2', 'start 2 1/2', 'result 2 true  1/2']);
    assert.deepEqual((r.value as WriteResult[]).map((w) => w.ok), [false, true]);
    assert.deepEqual(h.errors.map((e) => e.message), ['callback bug', 'callback bug']);
    h.errors.length = 0;
    const one: string[] = [];
    const single = await h.settle(h.engine.write(2, 'maxBalanceCurrent', 1.2, { onStart: (a) => one.push(`start ${a}`), onResult: (w) => one.push(`result ${w.ok}`) }));
    assert.equal(single.value!.ok, true);
    assert.deepEqual(one, ['start 2', 'result true']);
  });

  it('refuses bad input before anything is queued, with the valid range in the message', async () => {
    h = await masterBus();
    const cases: [string, unknown, string, RegExp][] = [
      ['maxChargeCurrent', 5000, 'OUT_OF_RANGE', /maxChargeCurrent = 5000 is out of range: valid 1–600 A/],
      ['maxChargeCurrent', 10.0005, 'OUT_OF_RANGE', /not a multiple of its step/],
      ['cellOvp', 'high', 'OUT_OF_RANGE', /must be a number/],
      ['chargingEnabled', 2, 'OUT_OF_RANGE', /true\/false/],
      ['deviceAddress', 3, 'INVALID_SETTING', /unknown setting "deviceAddress"/],
    ];
    for (const [name, value, code, msg] of cases) {
      await assert.rejects(h.engine.write(1, name, value as number), (e: BusError) => e.code === code && msg.test(e.message), `${name} = ${String(value)}`);
    }
    await h.run(2_000);
    assert.deepEqual(writesSent(h), [], 'nothing on the wire');
  });

  it('an exception answer rejects with PACK_EXCEPTION, its code and meaning; the setting is unchanged', async () => {
    h = await masterBus();
    // 300 A passes the app's range (1–600 A) but the simulated 200 A board refuses it (exception 03).
    const r = await h.settle(h.engine.write(1, 'maxChargeCurrent', 300));
    const err = r.error as WriteError;
    assert.ok(err instanceof WriteError);
    assert.equal(err.code, 'PACK_EXCEPTION');
    assert.equal(err.address, 1);
    assert.match(err.message, /pack 1 refused maxChargeCurrent = 300: Modbus exception 3 \(illegal data value \(the pack refused the value\)\)/);
    assert.deepEqual(err.result, { ok: false, address: 1, setting: 'maxChargeCurrent', requested: 300, before: 25, after: 25 });
    assert.equal(h.sim.pack(1).settings().maxChargeCurrent, 25);
    assert.equal(h.sim.stats().exceptions, 1);
    assert.equal(h.engine.pack(1)!.errors, 1);
  });

  it('a pack that acknowledges but ignores the write: READBACK_MISMATCH with ok false', async () => {
    h = await masterBus();
    h.sim.pack(1).setIgnoreWrites(true);
    const r = await h.settle(h.engine.write(1, 'maxChargeCurrent', 60));
    const err = r.error as WriteError;
    assert.ok(err instanceof WriteError);
    assert.equal(err.code, 'READBACK_MISMATCH');
    assert.match(err.message, /pack 1 acknowledged maxChargeCurrent = 60 but reads back 25/);
    assert.deepEqual(err.result, { ok: false, address: 1, setting: 'maxChargeCurrent', requested: 60, before: 25, after: 25 });
    // The pack did acknowledge: one write on the wire, its ack, then the read-back.
    assert.equal(writesSent(h).length, 1);
    assert.equal(h.sim.stats().packs['1']!.writesApplied, 0);
    assert.equal(h.sim.pack(1).settings().maxChargeCurrent, 25);
  });

  it("'all' writes one pack after another, each confirmed", async () => {
    h = await masterBus();
    const r = await h.settle(h.engine.write('all', 'balanceTriggerVoltage', 0.01));
    assert.deepEqual(
      (r.value as WriteResult[]).map((w) => [w.address, w.ok, w.before, w.after]),
      [
        [1, true, 0.005, 0.01],
        [2, true, 0.005, 0.01],
      ],
    );
    // Sequential: pack 1's write and read-back both precede pack 2's write.
    const host = h.sent('host 1');
    const reg = findSetting('balanceTriggerVoltage')!.register;
    const isWrite = (a: number) => (t: TransmitEvent) => t.bytes[0] === a && t.bytes.readUInt16BE(2) === reg;
    const i1 = host.findIndex(isWrite(1));
    const rb1 = host.findIndex((t, i) => i > i1 && t.bytes[0] === 1 && t.bytes.readUInt16BE(2) === 0x161e);
    const i2 = host.findIndex(isWrite(2));
    assert.ok(i1 >= 0 && rb1 > i1 && i2 > rb1, `order ${i1} ${rb1} ${i2}`);
  });

  it("'all' reports a failing pack in its result and goes on with the others", async () => {
    // Pack 1 is a 150 A board: it refuses 180 A; pack 2 (200 A) takes it.
    h = await masterBus(true, { 1: { model: 'JK-PB2A16S15P' } });
    const r = await h.settle(h.engine.write('all', 'maxDischargeCurrent', 180));
    const res = r.value as (WriteResult & { error?: { code: string; message: string } })[];
    assert.deepEqual(
      res.map((w) => [w.address, w.ok, w.after, w.error?.code]),
      [
        [1, false, 200, 'PACK_EXCEPTION'],
        [2, true, 180, undefined],
      ],
    );
    assert.match(res[0]!.error!.message, /Modbus exception 3/);
    assert.equal(h.sim.pack(2).settings().maxDischargeCurrent, 180);
  });

  it('rejects when writes are disabled, in listen mode, for unknown, offline and master packs', async () => {
    h = await masterBus(false);
    await assert.rejects(h.engine.write(1, 'maxChargeCurrent', 50), (e: BusError) => e.code === 'WRITES_DISABLED');
    await h.stop();
    h = await masterBus(true);
    await assert.rejects(h.engine.write(9, 'maxChargeCurrent', 50), (e: BusError) => e.code === 'UNKNOWN_PACK' && /never been seen/.test(e.message));
    await assert.rejects(h.engine.write(0, 'maxChargeCurrent', 50), (e: BusError) => e.code === 'UNKNOWN_PACK');
    h.sim.pack(2).setSilent(true);
    await h.run(3_000);
    assert.equal(h.engine.pack(2)!.online, false);
    await assert.rejects(h.engine.write(2, 'maxChargeCurrent', 50), (e: BusError) => e.code === 'PACK_OFFLINE' && e.address === 2);
    await h.stop();
    h = await createHarness({ sim: { packs: [1] }, engine: { mode: 'listen', allowWrites: true } });
    await assert.rejects(h.engine.write(1, 'maxChargeCurrent', 50), (e: BusError) => e.code === 'LISTEN_ONLY');
  });

  it('stop() rejects a queued write with STOPPED', async () => {
    h = await masterBus();
    const p = h.engine.write(1, 'maxChargeCurrent', 40);
    const stopped = h.engine.stop();
    await assert.rejects(p, (e: BusError) => e.code === 'STOPPED');
    await stopped;
    assert.equal(h.engine.status().role, 'stopped');
  });
});

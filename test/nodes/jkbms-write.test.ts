/**
 * jkbms-write in node-red-node-test-helper with a real jkbms-bus node, on the in-process
 * simulator. Bus engine and simulator share one FakeClock (injected through busFactories), so
 * every run is deterministic and minutes of bus traffic take a moment; the test advances the
 * clock and yields to Node-RED's message delivery in between.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import helper from 'node-red-node-test-helper';
import { FakeClock } from '../../src/common/clock';
import { BusEngine } from '../../src/bus/engine';
import { encodeWrite } from '../../src/protocol/encode';
import { findSetting, SETTINGS } from '../../src/protocol/settings';
import { BusSimulator, type SimPackOptions, type TransmitEvent } from '../../src/sim';
import { busFactories, getBus } from '../../nodes/lib/bus-registry';
import busNode = require('../../nodes/jkbms-bus');
import writeNode = require('../../nodes/jkbms-write');
import { busConfig, loadWithCatch, nodeTestHooks, ownStatuses, RED, settingsWriteFrom, useSimulator, type FlowNode, type Msg } from '../helpers/flows';

helper.init(require.resolve('node-red'));

const busDef = (over: Partial<FlowNode> = {}): FlowNode =>
  busConfig({ mode: 'master', masterSilence: 2000, offlineAfter: 5, allowWrites: true, ...over });
const writeDef = (over: Record<string, unknown> = {}): FlowNode => ({
  id: 'w1', type: 'jkbms-write', z: 't1', name: '', bus: 'bus1', address: 1, allowProtection: false, timeout: 0, wires: [['out']], ...over });

/** Host transmissions that are settings writes. */
const isWrite = settingsWriteFrom('host');

const yieldToNodeRed = () => new Promise<void>((r) => setImmediate(r));

describe('jkbms-write node (test-helper + simulator on a fake clock)', function () {
  this.timeout(60_000);
  let clock: FakeClock;
  let sim: BusSimulator;
  let tx: TransmitEvent[];

  /** Advance the fake clock by `ms` in steps, letting Node-RED deliver messages in between. */
  async function run(ms: number, step = 20): Promise<void> {
    const end = clock.now() + ms;
    while (clock.now() < end) {
      clock.advance(Math.min(step, end - clock.now()));
      await yieldToNodeRed();
    }
  }
  /** Advance until `fn()` is truthy (or fail after `limitMs` of simulated time). */
  async function until<T>(fn: () => T, limitMs: number, what: string, step = 20): Promise<NonNullable<T>> {
    const end = clock.now() + limitMs;
    for (;;) {
      const v = fn();
      if (v) return v as NonNullable<T>;
      if (clock.now() >= end) throw new Error(`timed out after ${limitMs} simulated ms waiting for ${what}`);
      clock.advance(step);
      await yieldToNodeRed();
    }
  }

  async function load(nodes: FlowNode[], simOpts: { packs: number[]; master?: boolean; packOptions?: Record<number, SimPackOptions> } = { packs: [1, 2, 3] }) {
    clock = new FakeClock(1_000);
    sim = new BusSimulator({ ...simOpts, seed: 5, clock });
    tx = [];
    sim.on('transmit', (t: TransmitEvent) => tx.push(t));
    sim.start();
    useSimulator(sim);
    busFactories.createEngine = (transport, options, deps) => new BusEngine(transport, options, { ...deps, clock });
    const { got, errors } = await loadWithCatch([busNode, writeNode], nodes);
    await yieldToNodeRed();
    return { got, errors, node: helper.getNode('w1') as any };
  }

  const engine = () => getBus(RED, 'bus1')!.engine;
  /** Every pack of the simulator online with its settings known (master mode). */
  async function ready(addresses = [1, 2, 3]): Promise<void> {
    await until(() => addresses.every((a) => engine().pack(a)?.online && engine().pack(a)?.settings), 20_000, 'packs online with settings');
  }
  /** Send a message and advance until it produced an output or an error. */
  async function write(node: any, got: Msg[], errors: Msg[], msg: Msg, limitMs = 30_000): Promise<void> {
    const outs = got.length;
    const errs = errors.length;
    node.receive(msg);
    await until(() => got.length > outs || errors.length > errs, limitMs, 'a result');
    await run(100);
  }

  nodeTestHooks(() => sim);

  it('writes a setting: the pack applies it, the read-back confirms it, the input msg is reused', async () => {
    const { got, errors, node } = await load([busDef(), writeDef()]);
    await ready();
    await write(node, got, errors, { payload: { setting: 'maxBalanceCurrent', value: 1.5 }, keep: 'x' });
    assert.deepEqual(errors, []);
    assert.equal(got.length, 1);
    const m = got[0]!;
    assert.deepEqual(m.payload, { ok: true, address: 1, setting: 'maxBalanceCurrent', requested: 1.5, before: 2, after: 1.5 });
    assert.equal(m.keep, 'x');
    assert.equal(m.topic, 'bank/1/write');
    assert.equal(m.bms.busId, 'bus1');
    assert.equal(m.bms.address, 1);
    assert.equal(m.bms.bus, 'bank');
    assert.equal(sim.pack(1).settings().maxBalanceCurrent, 1.5);
    // Exactly one write on the wire: 13 bytes, 1500 mA to register 0x1048.
    assert.deepEqual(tx.filter(isWrite).map((t) => t.bytes.toString('hex')), [encodeWrite(1, 0x1048, 2, 1500).toString('hex')]);
    const st = ownStatuses(node);
    assert.deepEqual(st.find((s) => s.fill === 'yellow'), { fill: 'yellow', shape: 'dot', text: 'jkbms-write.status.writing' });
    assert.deepEqual(st.at(-1), { fill: 'green', shape: 'dot', text: 'maxBalanceCurrent=1.5 ✓' });
  });

  it('a pack online whose settings were not read yet: they are read first, so "before" is known', async () => {
    const { got, errors, node } = await load([busDef(), writeDef()]);
    await until(() => engine().pack(1)?.online && !engine().pack(1)?.settings, 20_000, 'pack 1 online without settings', 1);
    await write(node, got, errors, { payload: { maxBalanceCurrent: 1.5 } });
    assert.deepEqual(errors, []);
    assert.deepEqual(got[0]!.payload, { ok: true, address: 1, setting: 'maxBalanceCurrent', requested: 1.5, before: 2, after: 1.5 });
    const host = tx.filter((t) => t.sender.startsWith('host') && t.bytes[0] === 1);
    const w = host.findIndex(isWrite);
    assert.ok(w > 0 && host.slice(0, w).some((t) => t.bytes.readUInt16BE(2) === 0x161e), 'a settings read precedes the write');
  });

  it('the settings cannot be read first: an error saying so, nothing written', async () => {
    const { got, errors, node } = await load([busDef(), writeDef()]);
    await until(() => engine().pack(1)?.online && !engine().pack(1)?.settings, 20_000, 'pack 1 online without settings', 1);
    sim.pack(1).setSilent(true);
    node.receive({ payload: { maxBalanceCurrent: 1.5 } });
    await until(() => errors[0], 30_000, 'the error');
    await run(1_000);
    assert.deepEqual(got, []);
    assert.equal(errors[0]!.error.code, 'TIMEOUT');
    assert.match(
      errors[0]!.error.message,
      /^Error: jkbms-write: maxBalanceCurrent = 1\.5 on pack 1 of bus "bank" failed: the settings of pack 1 could not be read before the write \(.*\); nothing was sent$/,
    );
    assert.deepEqual(tx.filter(isWrite), []);
  });

  it('shorthands: {charging:false} on the default pack, {address, balancer}, floatMode, and a setting name as key', async () => {
    const { got, errors, node } = await load([busDef(), writeDef({ address: 2 })]);
    await ready();
    await write(node, got, errors, { payload: { charging: false } });
    await write(node, got, errors, { payload: { address: 3, balancer: false } });
    await write(node, got, errors, { payload: { address: 1, floatMode: false } });
    await write(node, got, errors, { payload: { address: 1, cellRequestChargeVoltage: '3.42' } });
    await write(node, got, errors, { payload: { address: 1, setting: 'discharging', value: 'on' } });
    assert.deepEqual(errors, []);
    assert.deepEqual(
      got.map((m) => m.payload),
      [
        { ok: true, address: 2, setting: 'chargingEnabled', requested: false, before: true, after: false },
        { ok: true, address: 3, setting: 'balancingEnabled', requested: false, before: true, after: false },
        { ok: true, address: 1, setting: 'chargingFloatMode', requested: false, before: true, after: false },
        { ok: true, address: 1, setting: 'cellRequestChargeVoltage', requested: 3.42, before: 3.45, after: 3.42 },
        { ok: true, address: 1, setting: 'dischargingEnabled', requested: true, before: true, after: true },
      ],
    );
    assert.equal(sim.pack(2).settings().chargingEnabled, false);
    assert.equal(sim.pack(3).settings().balancingEnabled, false);
    assert.equal(sim.pack(1).settings().chargingFloatMode, false);
    assert.equal(ownStatuses(node).at(-1)!.text, 'dischargingEnabled=on ✓');
  });

  it('refuses bad requests with a clear error and sends nothing on the wire', async () => {
    const { got, errors, node } = await load([busDef(), writeDef()]);
    await ready();
    const cases: [unknown, string, RegExp][] = [
      ['charging off', 'BAD_MESSAGE', /^Error: jkbms-write: msg\.payload must be an object: \{setting, value\}, \{address, setting, value\} or a shorthand such as \{charging: false\}; nothing was sent$/],
      [{ charging: false, discharging: false }, 'BAD_MESSAGE', /^Error: jkbms-write: exactly one setting per message, got 2 \(charging, discharging\); nothing was sent$/],
      [{ address: 2 }, 'BAD_MESSAGE', /no setting in msg\.payload/],
      [{ setting: 'cellRequestChargeVoltage' }, 'BAD_MESSAGE', /msg\.payload\.value is missing \(the new value of cellRequestChargeVoltage\); nothing was sent$/],
      [{ setting: 'maxBalanceCurrent', value: 1, charging: true }, 'BAD_MESSAGE', /unexpected msg\.payload\.charging next to msg\.payload\.setting/],
      [{ address: 16, charging: true }, 'BAD_MESSAGE', /msg\.payload\.address must be "all" or a whole number 0-15, got 16/],
      [{ deviceAddress: 3 }, 'INVALID_SETTING', /^Error: jkbms-write: unknown setting "deviceAddress"; writable settings: smartSleepVoltage, .*gpsLockedDischarging \(shorthands: charging, discharging, balancing, balancer, heating, floatMode\); nothing was sent$/],
      [{ setting: 'constructor', value: 1 }, 'INVALID_SETTING', /^Error: jkbms-write: unknown setting "constructor"; writable settings: /],
      [{ setting: 'maxBalanceCurrent', value: Number.NaN }, 'OUT_OF_RANGE', /^Error: jkbms-write: maxBalanceCurrent must be a number, .*; got NaN; nothing was sent$/],
      [{ maxBalanceCurrent: Number.POSITIVE_INFINITY }, 'OUT_OF_RANGE', /^Error: jkbms-write: maxBalanceCurrent must be a number, .*; got Infinity; nothing was sent$/],
      [{ maxBalanceCurrent: 20 }, 'OUT_OF_RANGE', /^Error: jkbms-write: maxBalanceCurrent = 20 is out of range: valid 0\.3–15 A in steps of 0\.001; nothing was sent$/],
      [{ cellRequestChargeVoltage: 3.4505 }, 'OUT_OF_RANGE', /cellRequestChargeVoltage = 3\.4505 is not a multiple of its step: valid 1\.2–4\.35 V in steps of 0\.001/],
      [{ nominalCapacityAh: 'big' }, 'OUT_OF_RANGE', /nominalCapacityAh must be a number, 2–20000 Ah in steps of 0\.001; got "big"/],
      [{ heating: 2 }, 'OUT_OF_RANGE', /heatingEnabled must be true\/false \(or 1\/0\), got 2/],
      [{ cellOvp: 3.6 }, 'PROTECTED', /^Error: jkbms-write: cellOvp \(Cell over-voltage protection\) is a protection setting: a wrong value can disable a protection of the pack\. Tick "Allow protection settings" in this jkbms-write node to write it; nothing was sent$/],
      [{ portRs485: false }, 'PROTECTED', /portRs485 \(Multiplexed port is RS485 \(off = CAN\)\) is a protection setting/],
    ];
    for (const [payload] of cases) node.receive({ payload });
    await until(() => errors.length === cases.length, 5_000, 'every refusal');
    await run(2_000);
    cases.forEach(([payload, code, re], i) => {
      const e = errors[i]!;
      assert.deepEqual(e.payload, payload, 'the message is kept');
      assert.equal(e.error.code, code, JSON.stringify(payload));
      assert.match(e.error.message, re);
    });
    assert.deepEqual(got, []);
    assert.deepEqual(tx.filter(isWrite), [], 'nothing on the wire');
    assert.deepEqual(ownStatuses(node).at(-1), { fill: 'red', shape: 'ring', text: 'jkbms-write.status.refused' });
    assert.deepEqual(errors.filter((e) => /^Error: Error:|: Error: /.test(e.error.message)), [], 'no doubled "Error:" prefix');
  });

  it('protection settings are written when the node allows them', async () => {
    const { got, errors, node } = await load([busDef(), writeDef({ allowProtection: true })]);
    await ready();
    await write(node, got, errors, { payload: { cellOvp: 3.6 } });
    assert.deepEqual(errors, []);
    assert.deepEqual(got[0]!.payload, { ok: true, address: 1, setting: 'cellOvp', requested: 3.6, before: 3.61, after: 3.6 });
    assert.equal(sim.pack(1).settings().cellOvp, 3.6);
  });

  it('writes off: grey ring at start, refused with a text that says where to enable them', async () => {
    const { got, errors, node } = await load([busDef({ allowWrites: false }), writeDef()]);
    await ready();
    assert.deepEqual(ownStatuses(node)[0], { fill: 'grey', shape: 'ring', text: 'jkbms-write.status.writes-off' });
    node.receive({ payload: { charging: false } });
    await until(() => errors[0], 2_000, 'error');
    await run(2_000);
    assert.equal(errors[0]!.error.code, 'WRITES_DISABLED');
    assert.equal(errors[0]!.error.message, 'Error: jkbms-write: writes are disabled on bus "bank": tick "allow changing pack settings" in the bus node to enable them; nothing was sent');
    assert.deepEqual(got, []);
    assert.deepEqual(tx.filter(isWrite), []);
    assert.equal(sim.pack(1).settings().chargingEnabled, true);
  });

  it('listen mode: grey ring, refused, nothing transmitted at all', async () => {
    const { got, errors, node } = await load([busDef({ mode: 'listen' }), writeDef()], { packs: [1, 2], master: true });
    await until(() => engine().pack(1)?.online, 30_000, 'pack 1 heard');
    assert.deepEqual(ownStatuses(node)[0], { fill: 'grey', shape: 'ring', text: 'jkbms-write.status.listen' });
    node.receive({ payload: { charging: false } });
    await until(() => errors[0], 2_000, 'error');
    await run(5_000);
    assert.equal(errors[0]!.error.code, 'LISTEN_ONLY');
    assert.match(errors[0]!.error.message, /bus "bank" is in listen mode and never transmits: set its Mode to "auto" or "master" to write settings; nothing was sent$/);
    assert.deepEqual(got, []);
    assert.deepEqual(tx.filter((t) => t.sender.startsWith('host')), [], 'the host never transmitted');
  });

  it('offline and unknown packs are refused (address 0 without a JK master too); nothing on the wire', async () => {
    const { got, errors, node } = await load([busDef(), writeDef()]);
    await ready();
    sim.pack(2).setSilent(true);
    await until(() => engine().pack(2)?.online === false, 20_000, 'pack 2 offline');
    node.receive({ payload: { address: 2, charging: false } });
    node.receive({ payload: { address: 9, charging: false } });
    node.receive({ payload: { address: 0, charging: false } });
    await until(() => errors.length === 3, 5_000, 'three errors');
    await run(2_000);
    assert.deepEqual(errors.map((e) => e.error.code), ['PACK_OFFLINE', 'UNKNOWN_PACK', 'UNKNOWN_PACK']);
    assert.equal(errors[0]!.error.message, 'Error: jkbms-write: chargingEnabled = off on pack 2 of bus "bank" failed: pack 2 is offline; no frame from it recently; nothing was sent');
    assert.match(errors[1]!.error.message, /pack 9 has never been seen on this bus \(seen: 1, 2, 3\); check the pack address; nothing was sent$/);
    assert.match(errors[2]!.error.message, /pack 0 has never been seen on this bus/);
    assert.deepEqual(got, []);
    assert.deepEqual(tx.filter(isWrite), []);
  });

  it('msg.bms must name this bus and the target pack', async () => {
    const { got, errors, node } = await load([busDef(), writeDef()]);
    await ready();
    await until(() => getBus(RED, 'bus1')!.directory.infoAt(1), 20_000, 'device info of pack 1');
    const serial1 = sim.pack(1).serialNumber;
    node.receive({ payload: { charging: false }, bms: { bus: 'other', busId: 'bus2', address: 1 } });
    node.receive({ payload: { address: 2, charging: false }, bms: { bus: 'bank', busId: 'bus1', address: 1 } });
    node.receive({ payload: { address: 'all', charging: false }, bms: { bus: 'bank', busId: 'bus1', address: 1 } });
    node.receive({ payload: { charging: false }, bms: { bus: 'bank', busId: 'bus1', address: 1, serialNumber: 'NOT-THIS-ONE' } });
    await until(() => errors.length === 4, 5_000, 'four errors');
    assert.deepEqual(errors.map((e) => e.error.code), ['WRONG_BUS', 'WRONG_PACK', 'WRONG_PACK', 'WRONG_PACK']);
    assert.match(errors[0]!.error.message, /msg\.bms names bus "other" but this node writes to bus "bank": send it to the jkbms-write node of that bus; nothing was sent$/);
    assert.match(errors[1]!.error.message, /msg\.bms names pack 1 but the write targets pack 2/);
    assert.match(errors[2]!.error.message, /msg\.bms names pack 1 but the write targets all packs/);
    assert.match(errors[3]!.error.message, new RegExp(`serial number NOT-THIS-ONE, but pack 1 is ${serial1}; nothing was sent$`));
    // The matching identity is accepted.
    await write(node, got, errors, { payload: { charging: false }, bms: { bus: 'bank', busId: 'bus1', address: 1, serialNumber: serial1 } });
    assert.equal(got.length, 1);
    assert.equal(got[0]!.payload.ok, true);
    assert.equal(tx.filter(isWrite).length, 1);
  });

  it('a pack that refuses the value: error with the Modbus exception and its meaning, no output', async () => {
    const { got, errors, node } = await load([busDef(), writeDef({ allowProtection: true })]);
    await ready();
    // 300 A is inside the app's range (1–600 A) but the simulated 200 A board refuses it.
    await write(node, got, errors, { payload: { maxChargeCurrent: 300 } });
    assert.deepEqual(got, []);
    assert.equal(errors[0]!.error.code, 'PACK_EXCEPTION');
    assert.equal(
      errors[0]!.error.message,
      'Error: jkbms-write: maxChargeCurrent = 300 on pack 1 of bus "bank" failed: pack 1 refused maxChargeCurrent = 300: Modbus exception 3 (illegal data value (the pack refused the value))',
    );
    assert.equal(sim.pack(1).settings().maxChargeCurrent, 25);
    assert.equal(tx.filter(isWrite).length, 1);
    assert.deepEqual(ownStatuses(node).at(-1), { fill: 'red', shape: 'ring', text: 'jkbms-write.status.failed' });
  });

  it('a pack that acknowledges but ignores the write: read-back mismatch reported', async () => {
    const { got, errors, node } = await load([busDef(), writeDef()]);
    await ready();
    sim.pack(1).setIgnoreWrites(true); // firmware that acknowledges a write and keeps the old value
    await write(node, got, errors, { payload: { maxBalanceCurrent: 1.2 } });
    assert.deepEqual(got, []);
    assert.equal(errors[0]!.error.code, 'READBACK_MISMATCH');
    assert.equal(
      errors[0]!.error.message,
      'Error: jkbms-write: maxBalanceCurrent = 1.2 on pack 1 of bus "bank" failed: pack 1 acknowledged maxBalanceCurrent = 1.2 but reads back 2',
    );
    assert.equal(tx.filter(isWrite).length, 1, 'sent once, not retried blindly');
  });

  it('a bit of the switch word changes only that bit: bits 0–15 otherwise intact', async () => {
    const { got, errors, node } = await load([busDef(), writeDef()]);
    // Bits 4 and 9 (display, float) as on a real pack, plus bits 10, 13 and 15 (known from one source only, docs/protocol.md §4.2).
    sim.pack(1).updateSettings({ switchMask: 0xa610, emergencyButton: true, dischargeOcp3: true, gpsLockedDischarging: true });
    await ready();
    assert.equal(engine().pack(1)!.settings!.switchMask, 0xa610);
    await write(node, got, errors, { payload: { heating: true } });
    await write(node, got, errors, { payload: { floatMode: false } });
    assert.deepEqual(errors, []);
    assert.deepEqual(got.map((m) => [m.payload.setting, m.payload.before, m.payload.after]), [['heatingEnabled', false, true], ['chargingFloatMode', true, false]]);
    const words = tx.filter(isWrite).map((t) => t.bytes);
    assert.deepEqual(words.map((b) => [b.length, b.readUInt16BE(2), b.readUInt16BE(7)]), [[11, 0x1114, 0xa611], [11, 0x1114, 0xa411]]);
    const s = sim.pack(1).settings();
    assert.equal(s.switchMask, 0xa411);
    assert.deepEqual([s.heatingEnabled, s.displayAlwaysOn, s.chargingFloatMode, s.emergencyButton, s.dischargeOcp3, s.gpsLockedDischarging], [true, true, false, true, true, true]);
  });

  it('one request at a time: two bit writes sent back to back both land', async () => {
    const { got, errors, node } = await load([busDef(), writeDef()]);
    await ready();
    node.receive({ payload: { heating: true } });
    node.receive({ payload: { smartSleep: true } });
    await until(() => got.length + errors.length === 2, 30_000, 'two results');
    assert.deepEqual(errors, []);
    assert.deepEqual(got.map((m) => [m.payload.setting, m.payload.ok]), [['heatingEnabled', true], ['smartSleep', true]]);
    assert.equal(sim.pack(1).settings().switchMask, 0x0210 | 0x0001 | 0x0040);
    // The second word was built from the first one's read-back.
    assert.deepEqual(tx.filter(isWrite).map((t) => t.bytes.readUInt16BE(7)), [0x0211, 0x0251]);
  });

  it('"all": one pack after another, one message per pack, a failure does not stop the others', async () => {
    // Pack 2 is a 150 A board: it refuses 180 A (and keeps its 200 A setting); packs 1 and 3 (200 A boards) take it.
    const { got, errors, node } = await load([busDef(), writeDef({ address: 'all', allowProtection: true })], {
      packs: [1, 2, 3],
      packOptions: { 2: { model: 'JK-PB2A16S15P' } },
    });
    await ready();
    node.receive({ payload: { maxDischargeCurrent: 180 }, keep: 7 });
    await until(() => errors.length === 1, 60_000, 'the final error');
    assert.equal(got.length, 3);
    assert.deepEqual(
      got.map((m) => [m.topic, m.bms.address, m.payload.ok, m.payload.before, m.payload.after, m.payload.error?.code, m.keep]),
      [
        ['bank/1/write', 1, true, 200, 180, undefined, 7],
        ['bank/2/write', 2, false, 200, 200, 'PACK_EXCEPTION', 7],
        ['bank/3/write', 3, true, 200, 180, undefined, 7],
      ],
    );
    assert.equal(new Set(got.map((m) => m._msgid)).size, 1, 'clones of one request');
    assert.equal(errors[0]!.error.code, 'PACK_EXCEPTION');
    assert.match(errors[0]!.error.message, /^Error: jkbms-write: maxDischargeCurrent = 180 failed on 1 of 3 packs of bus "bank" \(2\): pack 2: maxDischargeCurrent = 180 on pack 2 of bus "bank" failed: pack 2 refused maxDischargeCurrent = 180: Modbus exception 3/);
    assert.deepEqual([1, 2, 3].map((a) => sim.pack(a).settings().maxDischargeCurrent), [180, 200, 180]);
    // Sequential: each pack's write is confirmed (read back) before the next pack's write.
    const host = tx.filter((t) => t.sender.startsWith('host'));
    const at = (a: number, reg: number) => host.findIndex((t) => t.bytes[0] === a && t.bytes.readUInt16BE(2) === reg);
    const reg = findSetting('maxDischargeCurrent')!.register;
    assert.ok(at(1, reg) < at(2, reg) && at(2, reg) < at(3, reg));
    assert.ok(host.findIndex((t, i) => i > at(1, reg) && t.bytes[0] === 1 && t.bytes.readUInt16BE(2) === 0x161e) < at(2, reg));
    assert.deepEqual(ownStatuses(node).at(-1), { fill: 'red', shape: 'ring', text: 'jkbms-write.status.failed-some' });
  });

  it('"all" with every pack confirming: green status and no error', async () => {
    const { got, errors, node } = await load([busDef(), writeDef({ address: 'all' })], { packs: [1, 2] });
    await ready([1, 2]);
    node.receive({ payload: { balanceTriggerVoltage: 0.01 } });
    await until(() => got.length === 2, 30_000, 'two results');
    await run(500);
    assert.deepEqual(errors, []);
    assert.deepEqual(got.map((m) => [m.payload.address, m.payload.ok, m.payload.after]), [[1, true, 0.01], [2, true, 0.01]]);
    assert.deepEqual(ownStatuses(node).at(-1), { fill: 'green', shape: 'dot', text: 'balanceTriggerVoltage=0.01 ✓ 2/2' });
  });

  it('timeout: reported when no confirmation comes in time; the next write waits for the engine', async () => {
    const { got, errors, node } = await load([busDef(), writeDef({ timeout: 150 })]);
    await ready();
    // Do not advance the bus clock: the engine cannot finish, the node's (real-time) deadline passes.
    node.receive({ payload: { maxBalanceCurrent: 1.1 } });
    node.receive({ payload: { maxBalanceCurrent: 1.3 } });
    for (let i = 0; i < 200 && errors.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(errors.length, 1);
    assert.equal(errors[0]!.error.code, 'TIMEOUT');
    assert.equal(
      errors[0]!.error.message,
      'Error: jkbms-write: maxBalanceCurrent = 1.1 on pack 1 of bus "bank" failed: no confirmation within 150 ms; the write may or may not have been applied: check the setting (jkbms-request, settings)',
    );
    assert.equal(tx.filter(isWrite).length, 0, 'the second write is not sent while the first is in the engine');
    // Once the bus runs, the first write completes and only then the second one is written and confirmed.
    await until(() => got.length === 1, 30_000, 'the second result');
    assert.deepEqual(got[0]!.payload, { ok: true, address: 1, setting: 'maxBalanceCurrent', requested: 1.3, before: 1.1, after: 1.3 });
    assert.deepEqual(tx.filter(isWrite).map((t) => t.bytes.readUInt32BE(7)), [1100, 1300]);
  });

  it('invalid node settings: red status and an error to Catch after the flow started', async () => {
    const { errors, node } = await load([busDef(), writeDef({ address: 'seven' })]);
    await until(() => errors[0], 1_000, 'config error');
    assert.equal(errors[0]!.error.message, 'jkbms-write.errors.bad-address');
    assert.deepEqual(ownStatuses(node)[0], { fill: 'red', shape: 'dot', text: 'jkbms-write.status.config' });
    node.receive({ payload: { charging: false } });
    await until(() => errors[1], 1_000, 'input refused');
    assert.deepEqual(tx.filter(isWrite), []);
  });

  it('a write while a JK master polls: sent in its quiet gaps, confirmed, no collision over 20 simulated minutes', async function () {
    this.timeout(120_000);
    const { got, errors, node } = await load([busDef({ mode: 'auto', masterSilence: 2000 }), writeDef({ address: 'all' })], { packs: [1, 2, 3], master: true });
    await until(() => engine().status().role === 'sniffing' && [1, 2, 3].every((a) => engine().pack(a)?.settings), 60_000, 'sniffing with settings', 50);
    const values = [1.1, 1.4, 0.9, 1.6];
    for (let i = 0; i < 20; i++) {
      const value = values[i % values.length]!;
      const before = got.length;
      node.receive({ payload: { maxBalanceCurrent: value } });
      await until(() => got.length === before + 3 || errors.length > 0, 60_000, `write ${i}`, 50);
      assert.deepEqual(errors.map((e) => e.error.message), []);
      assert.deepEqual(got.slice(before).map((m) => [m.payload.address, m.payload.ok, m.payload.after]), [[1, true, value], [2, true, value], [3, true, value]]);
      await run(60_000 - (clock.now() % 60_000), 50);
    }
    assert.equal(tx.filter(isWrite).length, 60);
    const stats = sim.stats();
    assert.equal(stats.collisions, 0, 'collisions with the JK master');
    assert.equal(stats.writesApplied, 60);
    assert.equal(engine().status().role, 'sniffing', 'never became a second master');
    const { requestsSent, requestsInjected } = engine().status().stats;
    assert.ok(requestsInjected >= 60, `requests injected: ${requestsInjected}`);
    assert.equal(requestsInjected, requestsSent, 'every transmission of ours went into a quiet gap of the master');
    assert.ok(stats.master!.cycles > 250, `master cycles: ${stats.master!.cycles}`);
  });

  it('the help lists every writable setting with its unit, range, step and protection mark', () => {
    const html = readFileSync(join(__dirname, '../../nodes/locales/en-US/jkbms-write.html'), 'utf8');
    for (const d of SETTINGS) {
      const range = d.kind === 'number' ? `${d.min} – ${d.max}` : 'true / false';
      const step = d.kind === 'number' ? String(d.step) : '';
      const row = `<tr><td><code>${d.name}</code></td><td>${d.label}</td><td>${d.unit}</td><td>${range}</td><td>${step}</td><td>${d.protection ? '⚠ yes' : ''}</td></tr>`;
      assert.ok(html.includes(row), `help row for ${d.name}: ${row}`);
    }
    assert.equal((html.match(/<tr><td><code>/g) ?? []).length, SETTINGS.length, 'no stale rows');
  });
});

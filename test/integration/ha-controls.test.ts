/**
 * Home Assistant controls end to end: an aedes broker on 127.0.0.1, the core mqtt nodes, a real
 * jkbms-bus + jkbms + jkbms-ha + jkbms-write flow on the simulator, and an mqtt client playing
 * Home Assistant. HA command → jkbms-ha (2nd output) → jkbms-write → the pack → read-back →
 * jkbms-write output → jkbms-ha → confirmed state on MQTT; refusals come back through a Catch
 * node and re-publish the real state.
 *
 * The bus engine and the simulator run on a FakeClock advanced by the test (MQTT, Node-RED and
 * the broker on real time). The jkbms node sends only the first frame of each kind (interval
 * 1 h, real time), and one live frame on request once the pack's serial number is known, so
 * every later state on MQTT comes from the control path itself.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import helper = require('node-red-node-test-helper');
import { FakeClock } from '../../src/common/clock';
import { BusEngine } from '../../src/bus/engine';
import { BusSimulator, type TransmitEvent } from '../../src/sim';
import { busFactories, type BusFactories } from '../../nodes/lib/bus-registry';
import bankNode = require('../../nodes/jkbms-bank');
import busNode = require('../../nodes/jkbms-bus');
import packNode = require('../../nodes/jkbms');
import haNode = require('../../nodes/jkbms-ha');
import healthNode = require('../../nodes/jkbms-health');
import writeNode = require('../../nodes/jkbms-write');

const mqttNodes = require('@node-red/nodes/core/network/10-mqtt.js');
const catchNode = require('@node-red/nodes/core/common/25-catch.js');
const commentNode = require('@node-red/nodes/core/common/90-comment.js');
const { Aedes } = require('aedes') as { Aedes: { createBroker(): Promise<AedesBroker> } };

interface AedesBroker {
  handle: (socket: unknown) => void;
  close(cb: () => void): void;
}

helper.init(require.resolve('node-red'));

type Msg = Record<string, any>;
type FlowNode = { id: string; type: string; [k: string]: unknown };
interface Seen {
  topic: string;
  payload: string;
  retain: boolean;
}

const isWrite = (t: TransmitEvent): boolean =>
  t.sender.startsWith('host') && t.bytes[1] === 0x10 && t.bytes.length >= 11 && t.bytes.readUInt16BE(2) < 0x161c;

/** A fresh jkbms-ha id per test: a stopped node hands its announced registry to the next node with its id. */
let seq = 0;
let HA = 'ha0';

function flow(port: number, allowWrites: boolean) {
  return [
    { id: 't1', type: 'tab' },
    {
      id: 'busA', type: 'jkbms-bus', name: 'bus1', transport: 'serial', path: '/dev/ttyJK', baud: 115200, mode: 'master', minGap: 100,
      responseTimeout: 300, masterSilence: 2000, settingsInterval: 30, infoInterval: 3600, offlineAfter: 30, allowWrites,
    },
    { id: 'p1', type: 'jkbms', z: 't1', bus: 'busA', address: 1, serial: '', emitLive: true, emitSettings: true, emitInfo: true,
      emitAvailability: true, rate: 'interval', interval: 3600, wires: [[HA]] },
    { id: 'in1', type: 'mqtt in', z: 't1', broker: 'b1', topic: 'homeassistant/status', qos: '1', datatype: 'utf8', nl: false, rap: false, rh: 0, inputs: 0, wires: [[HA]] },
    { id: 'in2', type: 'mqtt in', z: 't1', broker: 'b1', topic: 'jkbms/+/+/set/+', qos: '1', datatype: 'utf8', nl: false, rap: false, rh: 0, inputs: 0, wires: [[HA]] },
    { id: HA, type: 'jkbms-ha', z: 't1', name: '', expireAfter: 0, controls: true, protection: false, wires: [['out1', 'haOut'], ['w1']] },
    { id: 'w1', type: 'jkbms-write', z: 't1', name: '', bus: 'busA', address: 1, allowProtection: false, timeout: 0, wires: [[HA, 'results']] },
    // One Catch for both (test-helper loads the catch module once per catch node): jkbms-ha's own
    // errors come back into it too, and are ignored there (no loop).
    { id: 'c1', type: 'catch', z: 't1', scope: ['w1', HA], uncaught: false, wires: [[HA, 'caught']] },
    { id: 'out1', type: 'mqtt out', z: 't1', broker: 'b1', topic: '', qos: '', retain: '', wires: [] },
    { id: 'haOut', type: 'helper', z: 't1' },
    { id: 'results', type: 'helper', z: 't1' },
    { id: 'caught', type: 'helper', z: 't1' },
    { id: 'b1', type: 'mqtt-broker', broker: '127.0.0.1', port: String(port), clientid: 'nodered-controls', autoConnect: true, usetls: false,
      protocolVersion: '4', keepalive: '60', cleansession: true },
  ];
}

describe('Home Assistant controls through MQTT (aedes, core mqtt nodes, jkbms-write on the simulator)', function () {
  this.timeout(60_000);
  const saved: BusFactories = { ...busFactories };
  let broker: AedesBroker;
  let server: Server;
  let port: number;
  let clock: FakeClock;
  let sim: BusSimulator;
  let tx: TransmitEvent[];
  let hass: { c: MqttClient; seen: Seen[] };
  let got: Record<string, Msg[]>;

  /** Advance the bus clock while real time passes for MQTT and Node-RED, until `fn()` is truthy. */
  async function until<T>(fn: () => T, what: string, realMs = 15_000): Promise<NonNullable<T>> {
    const end = Date.now() + realMs;
    for (;;) {
      const v = fn();
      if (v) return v as NonNullable<T>;
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${JSON.stringify({ we: got.writeErrors!.map((m) => m.error.message), he: got.haErrors!.map((m) => m.error.message), st: states().length })}`);
      clock.advance(10);
      await new Promise((r) => setTimeout(r, 1));
    }
  }

  async function start(allowWrites: boolean, flowNodes?: FlowNode[]): Promise<void> {
    HA = `ha${++seq}`;
    clock = new FakeClock(1_000);
    sim = new BusSimulator({ packs: [1], seed: 3, clock });
    tx = [];
    sim.on('transmit', (t: TransmitEvent) => tx.push(t));
    sim.start();
    busFactories.createTransport = () => sim.createHostEndpoint();
    busFactories.createEngine = (transport, options, deps) => new BusEngine(transport, options, { ...deps, clock });
    const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0 });
    hass = { c, seen: [] };
    c.on('message', (topic, payload, packet) => hass.seen.push({ topic, payload: payload.toString(), retain: packet.retain }));
    await c.subscribeAsync(['homeassistant/#', 'jkbms/#'], { qos: 1 });
    got = { haOut: [], results: [], writeErrors: [], haErrors: [] };
    if (flowNodes) {
      await helper.load([busNode, packNode, haNode, writeNode, mqttNodes, catchNode, commentNode, bankNode, healthNode], flowNodes);
    } else {
      await helper.load([busNode, packNode, haNode, writeNode, mqttNodes, catchNode], flow(port, allowWrites));
      for (const id of ['haOut', 'results']) helper.getNode(id).on('input', (m: Msg) => got[id]!.push(m));
      helper.getNode('caught').on('input', (m: Msg) => got[m.error.source.id === 'w1' ? 'writeErrors' : 'haErrors']!.push(m));
    }
    const brokerId = flowNodes ? flowNodes.find((n) => n.type === 'mqtt-broker')!.id : 'b1';
    await until(() => (helper.getNode(brokerId) as unknown as { connected: boolean }).connected, 'broker connection');
  }

  const serial = () => sim.pack(1).serialNumber;
  const allStates = () => hass.seen.filter((m) => m.topic === `jkbms/bus1/${serial()}/state`).map((m) => JSON.parse(m.payload) as Record<string, any>);
  /** States from the one firstState() waited for on (the announcement's own states before it are not counted). */
  let base = 0;
  const states = () => allStates().slice(base);
  const config = (topic: string) => hass.seen.filter((m) => m.topic === topic && m.payload !== '').map((m) => JSON.parse(m.payload) as Record<string, any>).at(-1);
  /** The pack announced under its serial number with its settings, and a state on request after that (counted from there). */
  async function firstState(): Promise<void> {
    base = 0;
    await until(() => got.haOut!.some((m) => m.topic === `homeassistant/sensor/jkbms_${serial()}_setting_cell_ovp/config`), 'announced under the serial, with settings');
    await new Promise((r) => setTimeout(r, 100));
    const before = allStates().length;
    (helper.getNode('p1') as unknown as { receive(m: unknown): void }).receive({ payload: 'live' });
    await until(() => allStates().length > before, 'the first state');
    base = before;
  }
  async function command(setting: string, payload: string): Promise<void> {
    await hass.c.publishAsync(`jkbms/bus1/${serial()}/set/${setting}`, payload, { qos: 1 });
  }

  // A fresh broker per test: no retained configs from an earlier test.
  beforeEach(async () => {
    broker = await Aedes.createBroker();
    server = createServer((s) => broker.handle(s));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
    await helper.startServer();
  });
  afterEach(async () => {
    await hass?.c.endAsync();
    await helper.unload();
    await helper.stopServer();
    Object.assign(busFactories, saved);
    await sim.stop();
    await new Promise<void>((r) => broker.close(r));
    await new Promise<void>((r) => server.close(() => r()));
  });

  it('switch: HA turns charging off, the pack confirms, the confirmed state is published at once', async () => {
    await start(true);
    const sw = await until(() => config(`homeassistant/switch/jkbms_${serial()}_set_charging_enabled/config`), 'the charging switch config');
    assert.equal(sw.command_topic, `jkbms/bus1/${serial()}/set/chargingEnabled`);
    assert.equal(sw.entity_category, 'config');
    await firstState();
    assert.equal(states()[0]!.controls.chargingEnabled, true);

    await command('chargingEnabled', 'OFF');
    const confirmed = await until(() => states().find((s) => s.controls.chargingEnabled === false), 'the confirmed state');
    assert.equal(confirmed.settings.charging_enabled, undefined, 'a control is not also a settings sensor');
    assert.equal(states().length, 2, 'one new state: the confirmation itself (no live frame passes the jkbms node)');
    assert.equal(sim.pack(1).settings().chargingEnabled, false);
    assert.deepEqual(got.results!.map((m) => m.payload), [{ ok: true, address: 1, setting: 'chargingEnabled', requested: false, before: true, after: false }]);
    assert.deepEqual(tx.filter(isWrite).map((t) => t.bytes.toString('hex')), ['0110107000020400000000394b']); // reference E5
    assert.deepEqual(got.writeErrors, []);
    assert.deepEqual(got.haErrors, []);
  });

  it('a switch-word bit and a number from HA: read-modify-write, confirmed, published', async () => {
    await start(true);
    await until(() => config(`homeassistant/number/jkbms_${serial()}_set_cell_request_charge_voltage/config`), 'the RCV number');
    await firstState();
    await command('heatingEnabled', 'ON');
    await until(() => states().some((s) => s.controls.heatingEnabled === true), 'heating on');
    await command('cellRequestChargeVoltage', '3.42');
    await until(() => states().some((s) => s.controls.cellRequestChargeVoltage === 3.42), 'RCV 3.42');
    assert.equal(sim.pack(1).settings().switchMask, 0x0211);
    assert.equal(sim.pack(1).settings().cellRequestChargeVoltage, 3.42);
    assert.deepEqual(tx.filter(isWrite).map((t) => [t.bytes.readUInt16BE(2), t.bytes.length === 11 ? t.bytes.readUInt16BE(7) : t.bytes.readUInt32BE(7)]), [
      [0x1114, 0x0211],
      [0x1020, 3420],
    ]);
    assert.equal(states().at(-1)!.controls.heatingEnabled, true);
  });

  it('refused commands: the real state is published again (HA snaps back) and the error reaches Catch', async () => {
    await start(true);
    await firstState();
    // jkbms-write refuses an out-of-range value; its Catch node feeds jkbms-ha, which re-publishes.
    await command('cellRequestChargeVoltage', '9');
    await until(() => got.writeErrors!.length === 1 && states().length === 2, 'refusal and state');
    assert.match(got.writeErrors![0]!.error.message, /cellRequestChargeVoltage = 9 is out of range: valid 1\.2–4\.35 V in steps of 0\.001; nothing was sent$/);
    assert.equal(states()[1]!.controls.cellRequestChargeVoltage, 3.45);
    // The pack refuses (exception 03: the 20P board balances at most 2 A): state again, error with its meaning.
    await command('maxBalanceCurrent', '5');
    await until(() => got.writeErrors!.length === 2 && states().length === 3, 'exception and state');
    assert.match(got.writeErrors![1]!.error.message, /pack 1 refused maxBalanceCurrent = 5: Modbus exception 3/);
    assert.equal(states()[2]!.controls.maxBalanceCurrent, 2);
    // A protection threshold is not a control without the Protection option: jkbms-ha refuses it itself.
    await command('cellOvp', '3.5');
    await until(() => got.haErrors!.length === 1 && states().length === 4, 'not-a-control and state');
    assert.equal(got.haErrors![0]!.error.message, 'Error: jkbms-ha.errors.not-a-control');
    assert.equal(tx.filter(isWrite).length, 1, 'only the write the pack refused reached the wire');
    assert.equal(sim.pack(1).settings().cellOvp, 3.61);
    assert.deepEqual(got.results, []);
  });

  it('a retained command (replayed by the broker on every subscribe) is refused, never written, and deleted from the broker', async () => {
    const ser = new BusSimulator({ packs: [1], seed: 3 }).pack(1).serialNumber;
    const pub = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0 });
    await pub.publishAsync(`jkbms/bus1/${ser}/set/chargingEnabled`, 'OFF', { qos: 1, retain: true });
    await pub.endAsync();
    await start(true);
    await firstState();
    await until(() => got.haErrors!.length >= 1, 'the refusal');
    assert.deepEqual(got.haErrors!.map((m) => m.error.message), ['Error: jkbms-ha.errors.retained-command']);
    assert.deepEqual(tx.filter(isWrite), []);
    assert.equal(sim.pack(1).settings().chargingEnabled, true);
    // Gone from the broker: a new subscriber gets nothing retained there (and the deletion, coming back as an empty command, was ignored).
    const late = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0 });
    const retained: string[] = [];
    late.on('message', (topic, payload, packet) => packet.retain && retained.push(`${topic}=${payload.toString()}`));
    await late.subscribeAsync(`jkbms/bus1/${ser}/set/+`, { qos: 1 });
    await new Promise((r) => setTimeout(r, 300));
    await late.endAsync();
    assert.deepEqual(retained, []);
    assert.equal(got.haErrors!.length, 1);
  });

  it('a bus without "allow writes": no switches or numbers, and a warning saying why', async () => {
    await start(false);
    await firstState();
    assert.deepEqual(hass.seen.filter((m) => /^homeassistant\/(switch|number)\//.test(m.topic)), []);
    assert.equal(states()[0]!.controls, undefined);
    const warn = (helper.getNode(HA) as any).warn.getCalls().map((c: any) => c.args[0]);
    assert.deepEqual(warn, ['jkbms-ha.warn.not-writable']);
  });

  it('the example "Home Assistant - MQTT discovery" with writes allowed and Controls ticked: a switch in HA turns discharging off', async () => {
    const example = JSON.parse(readFileSync(join(__dirname, '..', '..', 'examples', 'Home Assistant - MQTT discovery.json'), 'utf8')) as (FlowNode & Record<string, any>)[];
    const flowNodes: FlowNode[] = [
      { id: 'tab1', type: 'tab' },
      ...example.map((n): FlowNode => {
        // The example ships with both off (it deploys without a warning); a user ticks both.
        if (n.type === 'jkbms-bus') return { ...n, allowWrites: true, mode: 'master' };
        if (n.type === 'jkbms-ha') return { ...n, controls: true, z: 'tab1' };
        if (n.type === 'mqtt-broker') return { ...n, broker: '127.0.0.1', port: String(port) };
        if (n.type === 'debug') return { id: n.id, type: 'helper', z: 'tab1' };
        return { ...n, z: 'tab1' };
      }),
    ];
    const errorsNode = example.find((n) => n.type === 'debug' && n.name === 'write errors')!.id;
    await start(true, flowNodes);
    const errors: Msg[] = [];
    helper.getNode(errorsNode).on('input', (m: Msg) => errors.push(m));
    const sw = await until(() => config(`homeassistant/switch/jkbms_${serial()}_set_discharging_enabled/config`), 'the discharging switch');
    await command('dischargingEnabled', 'OFF');
    await until(() => states().some((x) => x.controls?.dischargingEnabled === false), 'the confirmed state');
    assert.equal(sw.command_topic, `jkbms/bus1/${serial()}/set/dischargingEnabled`);
    assert.equal(sim.pack(1).settings().dischargingEnabled, false);
    // A refused command ends in the example's catch node ("write errors"); nothing is sent.
    await command('balanceTriggerVoltage', '7');
    await until(() => errors.length === 1, 'the refusal');
    assert.match(errors[0]!.error.message, /balanceTriggerVoltage = 7 is out of range: valid 0\.003–1 V/);
    assert.equal(tx.filter(isWrite).length, 1);
    // The example's jkbms-bank node makes the bank a device of its own.
    const bankId = example.find((n) => n.type === 'jkbms-bank')!.bankId as string;
    const soc = await until(() => config(`homeassistant/sensor/jkbms_bank_${bankId}_soc/config`), 'the bank device');
    assert.deepEqual([soc.device.name, soc.state_topic], ['JK-PB Bank bus1', 'jkbms/bus1/bank/state']);
    await until(() => hass.seen.some((m) => m.topic === 'jkbms/bus1/bank/state' && JSON.parse(m.payload).packs_online === 1), 'a bank state');
  });
});

/**
 * The bank device end to end: a real jkbms-bus on the in-process simulator (two packs, 280 Ah
 * at 90 % and 100 Ah at 10 %, no current), a jkbms-bank node feeding jkbms-ha, the core mqtt
 * out / mqtt in / mqtt-broker nodes, an aedes broker on 127.0.0.1, and an mqtt client playing
 * Home Assistant. Real time throughout (the bank node's stale timers run on it).
 */
import assert from 'node:assert/strict';
import { createServer, type AddressInfo, type Server } from 'node:net';
import mqtt, { type MqttClient } from 'mqtt';
import helper = require('node-red-node-test-helper');
import { round } from '../../src/bank/aggregate';
import { BusSimulator } from '../../src/sim';
import bankNode = require('../../nodes/jkbms-bank');
import busNode = require('../../nodes/jkbms-bus');
import haNode = require('../../nodes/jkbms-ha');
import { busConfig, restoreBusFactories, useSimulator } from '../helpers/flows';
import { until } from '../helpers/wait';
import { checkConfig } from '../unit/ha-rules';

const mqttNodes = require('@node-red/nodes/core/network/10-mqtt.js');
const { Aedes } = require('aedes') as { Aedes: { createBroker(): Promise<AedesBroker> } };

interface AedesBroker {
  handle: (socket: unknown) => void;
  close(cb: () => void): void;
}

helper.init(require.resolve('node-red'));

const BUS_ID = 'busA';
/** The bank id jkbms-bank derives from the bus name "bus1" (its Bank id left blank). */
const DEV = 'jkbms_bank_bus1';
const STATE = 'jkbms/bus1/bank/state';
const AVAIL = 'jkbms/bus1/bank/availability';
const BRIDGE = 'jkbms/bridge/availability';

interface Seen {
  topic: string;
  payload: string;
  retain: boolean;
}

async function client(port: number, topics: string[]): Promise<{ c: MqttClient; seen: Seen[] }> {
  const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0 });
  const seen: Seen[] = [];
  c.on('message', (topic, payload, packet) => seen.push({ topic, payload: payload.toString(), retain: packet.retain }));
  await c.subscribeAsync(topics, { qos: 1 });
  return { c, seen };
}

function flow(port: number) {
  return [
    { id: 't1', type: 'tab' },
    busConfig({ id: BUS_ID, name: 'bus1' }),
    // Stale after 3 s: a silent pack leaves the bank figures long before the bus calls it offline (30 s).
    { id: 'bank1', type: 'jkbms-bank', z: 't1', name: '', bus: BUS_ID, expected: 2, includeMaster: false, rate: 0, staleAfter: 3, wires: [['ha1']] },
    { id: 'in1', type: 'mqtt in', z: 't1', broker: 'b1', topic: 'homeassistant/status', qos: '1', datatype: 'utf8', nl: false, rap: false, rh: 0, inputs: 0, wires: [['ha1']] },
    { id: 'ha1', type: 'jkbms-ha', z: 't1', name: '', wires: [['out1']] },
    { id: 'out1', type: 'mqtt out', z: 't1', broker: 'b1', topic: '', qos: '', retain: '', wires: [] },
    {
      id: 'b1', type: 'mqtt-broker', broker: '127.0.0.1', port: String(port), clientid: 'nodered-bank', autoConnect: true, usetls: false,
      protocolVersion: '4', keepalive: '60', cleansession: true,
      birthTopic: BRIDGE, birthQos: '1', birthRetain: 'true', birthPayload: 'online',
      closeTopic: BRIDGE, closeQos: '1', closeRetain: 'true', closePayload: 'offline',
      willTopic: BRIDGE, willQos: '1', willRetain: 'true', willPayload: 'offline',
    },
  ];
}

describe('jkbms-bank → jkbms-ha → MQTT: the bank device (simulator, aedes, core mqtt nodes)', function () {
  this.timeout(90_000);
  let broker: AedesBroker;
  let server: Server;
  let port: number;
  let sim: BusSimulator;
  let ha: { c: MqttClient; seen: Seen[] };
  const states = () => ha.seen.filter((m) => m.topic === STATE).map((m) => JSON.parse(m.payload) as Record<string, any>);
  const caught: unknown[] = [];

  before(async () => {
    broker = await Aedes.createBroker();
    server = createServer((s) => broker.handle(s));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
    ha = await client(port, ['homeassistant/#', 'jkbms/#']);
    sim = new BusSimulator({ packs: [1, 2], seed: 11, packOptions: { 1: { capacityAh: 280, soc: 90 }, 2: { capacityAh: 100, soc: 10 } } });
    for (const a of [1, 2]) sim.pack(a).setCurrent(0);
    sim.start();
    useSimulator(sim);
    await helper.startServer();
    await helper.load([busNode, bankNode, haNode, mqttNodes], flow(port));
    (helper.getNode('ha1') as unknown as NodeJS.EventEmitter).on('call:error', (call: unknown) => caught.push(call));
    await until(() => (helper.getNode('b1') as unknown as { connected: boolean }).connected, 10_000, 'the broker connection');
  });

  after(async () => {
    await ha?.c.endAsync();
    await helper.unload();
    await helper.stopServer();
    restoreBusFactories();
    await sim?.stop();
    await new Promise<void>((r) => broker.close(r));
    await new Promise<void>((r) => server.close(() => r()));
  });

  it('the bank state carries the capacity-weighted SOC of the simulated packs', async () => {
    // The packs' first second of data still follows their current profile: wait for 0 A on both.
    const s = await until(() => states().find((x) => x.packs_online === 2 && x.current === 0), 40_000, 'both packs counted at 0 A');
    const [one, two] = [sim.pack(1).live(), sim.pack(2).live()];
    assert.deepEqual([one.soc, two.soc], [90, 10]);
    assert.equal(s.soc, round((one.soc * one.fullChargeAh + two.soc * two.fullChargeAh) / (one.fullChargeAh + two.fullChargeAh), 2));
    assert.ok(Math.abs(s.soc - 68.95) < 0.5, `weighted SOC ${s.soc}, not the plain mean 50`);
    assert.equal(s.full_capacity, round(one.fullChargeAh + two.fullChargeAh, 3));
    assert.deepEqual([s.packs_expected, s.stale_packs, s.power, s.alarm], [2, 0, 0, false]);
    assert.deepEqual(s.attributes.stale_packs, { packs: [] });
    assert.ok(s.attributes.cell_min.pack === 1 || s.attributes.cell_min.pack === 2);
    assert.ok(ha.seen.filter((m) => m.topic === STATE).every((m) => !m.retain), 'states are not retained');
  });

  it('leaves retained bank configs that follow the HA rules, reading keys of that state; the bank is online', async () => {
    const state = states().at(-1)!;
    const late = await client(port, ['homeassistant/#', 'jkbms/#']);
    await until(() => late.seen.filter((m) => m.topic.startsWith('homeassistant/')).length === 22, 10_000, '22 retained configs');
    await new Promise((r) => setTimeout(r, 300)); // nothing else retained arrives (states keep coming, never retained)
    const configs = late.seen.filter((m) => m.topic.startsWith('homeassistant/'));
    assert.equal(configs.length, 22);
    const uids = configs.map((m) => {
      assert.equal(m.retain, true);
      const cfg = JSON.parse(m.payload) as Record<string, any>;
      assert.equal(cfg.state_topic, STATE);
      assert.deepEqual(cfg.availability, [{ topic: AVAIL }, { topic: BRIDGE }]);
      assert.deepEqual(cfg.device, { identifiers: [DEV], name: 'JK-PB Bank bus1', manufacturer: 'Jikong', model: 'JK-PB bank' });
      return checkConfig(m.topic, cfg, state);
    });
    assert.equal(new Set(uids).size, 22);
    assert.ok(uids.every((u) => u.startsWith(`${DEV}_`)));
    assert.deepEqual(
      late.seen.filter((m) => m.retain && m.topic.startsWith('jkbms/')).map((m) => `${m.topic}=${m.payload}`).sort(),
      [`${BRIDGE}=online`, `${AVAIL}=online`],
    );
    await late.c.endAsync();
  });

  it('goes offline (retained) when every pack is silent, and online again when they answer', async () => {
    const from = ha.seen.length;
    sim.pack(1).setSilent(true);
    sim.pack(2).setSilent(true);
    await until(() => ha.seen.slice(from).some((m) => m.topic === AVAIL && m.payload === 'offline'), 30_000, 'the bank offline');
    // The availability and the state that says why are two messages: on a busy machine the state
    // with the second pack gone stale can arrive after the availability.
    await until(() => states().at(-1)?.packs_online === 0, 10_000, 'the state with no pack online');
    const last = states().at(-1)!;
    assert.deepEqual([last.packs_online, last.soc, last.stale_packs], [0, null, 2]);
    assert.deepEqual(last.attributes.stale_packs, { packs: [1, 2] });
    const late = await client(port, [AVAIL]);
    await until(() => late.seen.length === 1, 10_000, 'the retained availability');
    assert.deepEqual(late.seen[0], { topic: AVAIL, payload: 'offline', retain: true });
    await late.c.endAsync();

    const back = ha.seen.length;
    sim.pack(1).setSilent(false);
    await until(() => ha.seen.slice(back).some((m) => m.topic === AVAIL && m.payload === 'online'), 30_000, 'the bank online again');
    assert.deepEqual(caught, [], 'no error from jkbms-ha');
  });
});

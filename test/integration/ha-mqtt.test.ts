/**
 * jkbms-ha through a real MQTT path: the core mqtt-broker / mqtt out / mqtt in nodes in
 * test-helper, an aedes broker on 127.0.0.1, and an mqtt client playing Home Assistant.
 * The jkbms node is simulated with synthetic messages (the input contract).
 */
import assert from 'node:assert/strict';
import { createServer, type AddressInfo, type Server } from 'node:net';
import mqtt, { type MqttClient } from 'mqtt';
import helper = require('node-red-node-test-helper');
import haNode = require('../../nodes/jkbms-ha');
import { availability, bms, info, live, msg, SERIAL } from '../unit/ha-fixtures';

const mqttNodes = require('@node-red/nodes/core/network/10-mqtt.js');
const { Aedes } = require('aedes') as { Aedes: { createBroker(): Promise<AedesBroker> } };

interface AedesBroker {
  handle: (socket: unknown) => void;
  close(cb: () => void): void;
}

helper.init(require.resolve('node-red'));

const SER = `jkbms_${SERIAL}`;
const STATE = `jkbms/bus1/${SERIAL}/state`;
const AVAIL = `jkbms/bus1/${SERIAL}/availability`;
const BRIDGE = 'jkbms/bridge/availability';
const WALL0 = 1_700_000_000_000;

interface Seen {
  topic: string;
  payload: string;
  retain: boolean;
}

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** An MQTT client that records what it receives. */
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
    { id: 'in1', type: 'mqtt in', z: 't1', broker: 'b1', topic: 'homeassistant/status', qos: '1', datatype: 'utf8', nl: false, rap: false, rh: 0, inputs: 0, wires: [['ha1']] },
    // Every live frame published (rateLimit 0): this suite checks the messages, not the rate.
    { id: 'ha1', type: 'jkbms-ha', z: 't1', name: '', rateLimit: 0, wires: [['out1']] },
    { id: 'out1', type: 'mqtt out', z: 't1', broker: 'b1', topic: '', qos: '', retain: '', wires: [] },
    {
      id: 'b1',
      type: 'mqtt-broker',
      broker: '127.0.0.1',
      port: String(port),
      clientid: 'nodered-test',
      autoConnect: true,
      usetls: false,
      protocolVersion: '4',
      keepalive: '60',
      cleansession: true,
      birthTopic: BRIDGE,
      birthQos: '1',
      birthRetain: 'true',
      birthPayload: 'online',
      closeTopic: BRIDGE,
      closeQos: '1',
      closeRetain: 'true',
      closePayload: 'offline',
      willTopic: BRIDGE,
      willQos: '1',
      willRetain: 'true',
      willPayload: 'offline',
    },
  ];
}

describe('jkbms-ha with a real MQTT broker (aedes, core mqtt nodes)', function () {
  this.timeout(30_000);
  let broker: AedesBroker;
  let server: Server;
  let port: number;
  let ha: { c: MqttClient; seen: Seen[] };
  const send = (m: unknown) => (helper.getNode('ha1') as unknown as { receive(m: unknown): void }).receive(m);
  let t = 0;
  const frame = (m: ReturnType<typeof msg>) => ({ ...m, frame: { source: 'sniff', ts: WALL0 + (t += 1000) } });

  before(async () => {
    broker = await Aedes.createBroker();
    server = createServer((s) => broker.handle(s));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
    await helper.startServer();
    await helper.load([mqttNodes, haNode], flow(port));
    await until(() => (helper.getNode('b1') as unknown as { connected: boolean }).connected);
    ha = await client(port, ['homeassistant/#', 'jkbms/#']);
  });

  after(async () => {
    await ha?.c.endAsync();
    await helper.unload();
    await helper.stopServer();
    await new Promise<void>((r) => broker.close(r));
    await new Promise<void>((r) => server.close(() => r()));
  });

  it('leaves retained discovery configs that follow HA rules, one device per pack, never a provisional one', async () => {
    send(frame(msg(live())));
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(ha.seen.filter((m) => m.topic.startsWith('homeassistant/')), [], 'nothing before the serial number is known');
    send(msg(info(), bms(2, true)));
    await until(() => ha.seen.some((m) => m.topic === AVAIL && m.payload === 'online'));
    assert.deepEqual(ha.seen.filter((m) => m.payload === '' || m.topic.includes(`jkbms_${'a1b2c3d4e5f60718'}_`)), [], 'nothing provisional, nothing deleted');

    // What HA finds when it (re)subscribes: the retained messages only.
    const late = await client(port, ['homeassistant/#', 'jkbms/#']);
    await until(() => late.seen.filter((m) => m.topic.startsWith('homeassistant/')).length === 103);
    await new Promise((r) => setTimeout(r, 200)); // nothing else retained arrives
    const configs = late.seen.filter((m) => m.topic.startsWith('homeassistant/'));
    assert.equal(configs.length, 103); // 93 entities + 10 device-info diagnostics
    const uids = new Set<string>();
    for (const m of configs) {
      assert.equal(m.retain, true);
      const [, component, objectId, leaf] = m.topic.split('/');
      assert.equal(leaf, 'config');
      const cfg = JSON.parse(m.payload) as Record<string, unknown>;
      assert.equal(cfg.unique_id, objectId);
      assert.match(objectId!, new RegExp(`^${SER}_[a-z0-9_]+$`));
      assert.equal(cfg.default_entity_id, `${component}.${objectId}`);
      assert.ok(!('object_id' in cfg));
      assert.equal(cfg.state_topic, STATE);
      assert.deepEqual(cfg.availability, [{ topic: AVAIL }, { topic: BRIDGE }]);
      assert.equal(cfg.availability_mode, 'all');
      assert.deepEqual((cfg.device as { identifiers: string[] }).identifiers, [SER]);
      assert.equal((cfg.device as { serial_number: string }).serial_number, SERIAL);
      if (cfg.device_class === 'energy') assert.ok(['total', 'total_increasing'].includes(cfg.state_class as string));
      if (cfg.device_class === 'battery') assert.equal(cfg.unit_of_measurement, '%');
      if (cfg.unit_of_measurement === 'Ah') assert.equal(cfg.device_class, undefined);
      uids.add(objectId!);
    }
    assert.equal(uids.size, 103);
    assert.deepEqual(
      late.seen.filter((m) => m.topic.startsWith('jkbms/')).map((m) => `${m.topic}=${m.payload}`).sort(),
      [`${BRIDGE}=online`, `${AVAIL}=online`], // states are not retained
    );
    await late.c.endAsync();
  });

  it('publishes the JSON state (not retained) and counts energy while charging', async () => {
    const before = ha.seen.length;
    for (let i = 0; i < 4; i++) send(frame(msg(live(2, { power: 3600, current: 68, soc: 60 + i }), bms(2, true))));
    const states = () => ha.seen.slice(before).filter((m) => m.topic === STATE);
    await until(() => states().length === 4);
    const s = states().map((m) => JSON.parse(m.payload) as { soc: number; energy_charged: number; voltage: number });
    assert.ok(states().every((m) => !m.retain));
    assert.deepEqual(s.map((x) => x.soc), [60, 61, 62, 63]);
    // 1 s apart at 3600 W = 1 Wh each. The first interval ramps from the earlier −652.087 W frame:
    // it crosses zero after 0.153 s, then charges 1800 W × 0.847 s = 1524 J = 0.000423 kWh.
    assert.deepEqual(s.map((x) => x.energy_charged), [0.000423, 0.001423, 0.002423, 0.003423]);
    assert.equal(s[0]!.voltage, 52.822);
  });

  it('marks the pack offline (retained) when the jkbms node reports it silent', async () => {
    send(msg(availability(2, false), bms(2, true)));
    await until(() => ha.seen.some((m) => m.topic === AVAIL && m.payload === 'offline'));
    const late = await client(port, [AVAIL]);
    await until(() => late.seen.length === 1);
    assert.deepEqual(late.seen[0], { topic: AVAIL, payload: 'offline', retain: true });
    await late.c.endAsync();
  });

  it("re-announces everything on HA's birth message through the mqtt in node", async () => {
    const before = ha.seen.length;
    const hass = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0 });
    await hass.publishAsync('homeassistant/status', 'online', { qos: 1 });
    await hass.endAsync();
    await until(() => ha.seen.slice(before).filter((m) => m.topic.endsWith('/config') && m.payload !== '').length === 103);
    assert.ok(ha.seen.slice(before).some((m) => m.topic === BRIDGE && m.payload === 'online'));
    assert.ok(ha.seen.slice(before).some((m) => m.topic === AVAIL && m.payload === 'offline')); // still silent
  });

  it("the broker node's close message takes the bridge offline when Node-RED stops the flow", async () => {
    await helper.unload();
    const late = await client(port, [BRIDGE]);
    await until(() => late.seen.length === 1);
    assert.deepEqual(late.seen[0], { topic: BRIDGE, payload: 'offline', retain: true });
    await late.c.endAsync();
  });
});

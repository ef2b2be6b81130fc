/**
 * Home Assistant as users live with it: the shipped example "Home Assistant - MQTT discovery" in
 * a real Node-RED 4 (the packed tarball, a persistent context store: contextStorage
 * localfilesystem), its bus on the simulator's TCP gateway, its broker node on an aedes broker
 * on 127.0.0.1, and an MQTT client playing Home Assistant that records everything from the start.
 *
 * What HA would see over two deploys, a copy of the flow, a Node-RED restart and a listen-only
 * bus: no provisional device and no deletion where the pack's identity can be had, the same
 * devices every time, one name per entity, the lean default and the state rate of the README;
 * the example's jkbms-health node's entities on the pack devices (under their serial ids) and
 * the bank device, with valid configs and their fields in the state.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { join } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import type { BusSimulator, TcpListener } from '../../src/sim';
import { startNodeRed, until, type NodeRedInstance } from '../helpers/nodered';
import { simGateway } from '../helpers/sim';
import { sleep } from '../helpers/wait';
import { checkConfig } from '../unit/ha-rules';
import { readmeFigures } from '../unit/ha-readme';

const { Aedes } = require('aedes') as { Aedes: { createBroker(): Promise<AedesBroker> } };

interface AedesBroker {
  handle: (socket: unknown) => void;
  close(cb: () => void): void;
}

type FlowNode = { id: string; type: string; z?: string } & Record<string, unknown>;
interface Seen {
  topic: string;
  payload: string;
  retain: boolean;
  at: number;
}
type StatusEvent = { id: string; text?: string; fill?: string };

const EXAMPLE = JSON.parse(readFileSync(join(__dirname, '..', '..', 'examples', 'Home Assistant - MQTT discovery.json'), 'utf8')) as FlowNode[];
const BUS_ID = EXAMPLE.find((n) => n.type === 'jkbms-bus')!.id;
const HA_ID = EXAMPLE.find((n) => n.type === 'jkbms-ha')!.id;
const PACKS = [1, 2, 3, 4];
/**
 * The example's health node reports every 60 s; here every 20 s, so the suite need not wait a
 * minute for what it checks (no health entity before the first report, then all of them).
 */
const HEALTH_S = 20;
const SETTINGS = { contextStorage: { default: { module: 'localfilesystem' } } };

/** The example on a tab, its bus on the simulator's gateway, its broker node on aedes. `suffix`: a copy with new node ids. */
function exampleFlow(gw: TcpListener, brokerPort: number, bus: Record<string, unknown> = {}, suffix = ''): FlowNode[] {
  const tab = { id: 'haex0000000tab01', type: 'tab', label: 'HA' };
  const nodes = [
    tab,
    ...EXAMPLE.map((n) =>
      n.type === 'jkbms-bus'
        ? { ...n, transport: 'tcp', host: gw.host, port: gw.port, masterSilence: 1000, ...bus }
        : n.type === 'mqtt-broker'
          ? { ...n, broker: '127.0.0.1', port: String(brokerPort) }
          : n.type === 'jkbms-health'
            ? { ...n, z: tab.id, interval: HEALTH_S }
            : { ...n, z: tab.id },
    ),
  ];
  if (!suffix) return nodes;
  let text = JSON.stringify(nodes);
  for (const n of nodes) text = text.split(`"${n.id}"`).join(`"${n.id}${suffix}"`);
  return JSON.parse(text) as FlowNode[];
}

async function captureStatus(port: number): Promise<{ events: StatusEvent[]; close(): void }> {
  const WebSocket = require('ws') as new (url: string) => { on(ev: string, fn: (data: Buffer) => void): void; send(data: string): void; close(): void };
  const ws = new WebSocket(`ws://127.0.0.1:${port}/comms`);
  await new Promise<void>((res, rej) => {
    ws.on('open', () => res());
    ws.on('error', (e) => rej(e));
  });
  ws.on('error', () => undefined);
  ws.send(JSON.stringify({ subscribe: 'status/#' }));
  const events: StatusEvent[] = [];
  ws.on('message', (data) => {
    for (const m of JSON.parse(data.toString()) as { topic: string; data: Omit<StatusEvent, 'id'> }[]) {
      if (m.topic?.startsWith('status/')) events.push({ id: m.topic.slice('status/'.length), ...m.data });
    }
  });
  return { events, close: () => ws.close() };
}

/** Device id of a config message (`homeassistant/<component>/<device id>_<key>/config`), from its payload. */
const deviceOf = (m: Seen): string => (JSON.parse(m.payload) as { device: { identifiers: string[] } }).device.identifiers[0]!;
const isConfig = (m: Seen): boolean => m.topic.startsWith('homeassistant/') && m.topic.endsWith('/config');

describe('Home Assistant as users live with it: the shipped example in a real Node-RED, a real broker, the simulator', function () {
  this.timeout(900_000);
  let broker: AedesBroker;
  let server: Server;
  let brokerPort: number;
  let sim: BusSimulator;
  let gw: TcpListener;
  let red: NodeRedInstance;
  let hass: MqttClient;
  const seen: Seen[] = [];
  let serials: string[] = [];
  /** When the first deploy was asked for. */
  let deployedAt = 0;

  const since = (from: number) => seen.slice(from);
  const configsSince = (from: number) => since(from).filter((m) => isConfig(m) && m.payload !== '');
  const deletionsSince = (from: number) => since(from).filter((m) => m.topic.startsWith('homeassistant/') && m.payload === '');
  const packDevices = () => serials.map((s) => `jkbms_${s}`);
  /** The health entities of every pack (under its serial id) and of the bank announced, since `from`. */
  const healthAnnounced = (from: number) => {
    const topics = new Set(configsSince(from).map((m) => m.topic));
    return packDevices().every((d) => topics.has(`homeassistant/binary_sensor/${d}_cell_health/config`)) && topics.has('homeassistant/binary_sensor/jkbms_bank_bus1_health/config');
  };
  /** Every pack and the bank announced with their settings and device info, since `from`. */
  const everyoneAnnounced = (from: number) => {
    const topics = new Set(configsSince(from).map((m) => m.topic));
    return (
      packDevices().every((d) => topics.has(`homeassistant/sensor/${d}_setting_cell_ovp/config`) && topics.has(`homeassistant/sensor/${d}_serial/config`)) &&
      topics.has('homeassistant/sensor/jkbms_bank_bus1_soc/config')
    );
  };

  before(async () => {
    broker = await Aedes.createBroker();
    server = createServer((s) => broker.handle(s));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    brokerPort = (server.address() as AddressInfo).port;
    // Steady currents: no alarm, so the state rate is the plain rate limit.
    ({ sim, gw } = await simGateway({ packs: PACKS, seed: 21 }, (s) => PACKS.forEach((a) => s.pack(a).setCurrent(8))));
    serials = PACKS.map((a) => sim.pack(a).serialNumber);
    hass = await mqtt.connectAsync(`mqtt://127.0.0.1:${brokerPort}`, { reconnectPeriod: 0 });
    hass.on('message', (topic, payload, packet) => seen.push({ topic, payload: payload.toString(), retain: packet.retain, at: Date.now() }));
    await hass.subscribeAsync(['homeassistant/#', 'jkbms/#'], { qos: 1 });
    red = await startNodeRed({ settings: SETTINGS });
  });

  after(async () => {
    await hass?.endAsync();
    await red?.stop();
    await sim?.stop();
    await new Promise<void>((r) => broker.close(r));
    await new Promise<void>((r) => server.close(() => r()));
  });

  it('first deploy: every pack directly under its serial id, nothing provisional, nothing deleted, no warning; translated status', async () => {
    const status = await captureStatus(red.port);
    const log = red.output.length;
    deployedAt = Date.now();
    await red.api.deploy(exampleFlow(gw, brokerPort));
    await until(() => everyoneAnnounced(0), 120_000, 'the four packs and the bank announced', 500);
    const devices = new Set(configsSince(0).map(deviceOf));
    assert.deepEqual([...devices].sort(), [...packDevices(), 'jkbms_bank_bus1'].sort());
    assert.deepEqual(deletionsSince(0).map((m) => m.topic), [], 'nothing deleted');
    assert.deepEqual(red.output.slice(log).split('\n').filter((l) => /\[(warn|error)\]/.test(l)), [], 'no warning or error in the log');
    await until(() => status.events.some((e) => e.id === HA_ID && e.text === 'packs: 4, bank: 1'), 30_000, 'the status "packs: 4, bank: 1"');
    assert.ok(status.events.filter((e) => e.id === HA_ID).every((e) => !/jkbms-ha\./.test(e.text ?? '')), 'no raw catalog key as status text');
    status.close();
  });

  it(`the jkbms-health node's first report (after its "send every", ${HEALTH_S} s here): Cell health and the per-cell figures on each pack's serial-id device, Health on the bank; valid configs whose fields are in the state`, async () => {
    const from = seen.length;
    await until(() => healthAnnounced(0), 120_000, 'the health entities', 500);
    // Not before the health node's first report, a "Send every" after the deploy: no empty shells.
    const firstHealth = Math.min(...seen.filter((m) => isConfig(m) && /_(cell_health|health)\/config$/.test(m.topic)).map((m) => m.at));
    assert.ok(firstHealth - deployedAt >= HEALTH_S * 1000 - 1000, `health entities ${firstHealth - deployedAt} ms after the deploy`);
    // The pack states after the report carry the health; each config follows HA's rules against it.
    await until(() => serials.every((s) => since(from).some((m) => m.topic === `jkbms/bus1/${s}/state` && 'cell_health' in JSON.parse(m.payload))), 30_000, 'states with the health', 500);
    await until(() => since(from).some((m) => m.topic === 'jkbms/bus1/bank/state' && 'health' in JSON.parse(m.payload)), 30_000, 'a bank state with the health', 500);
    const latest = new Map<string, Record<string, unknown>>();
    for (const m of configsSince(0)) latest.set(m.topic, JSON.parse(m.payload) as Record<string, unknown>);
    for (const [i, device] of packDevices().entries()) {
      const state = JSON.parse(seen.filter((m) => m.topic === `jkbms/bus1/${serials[i]}/state`).at(-1)!.payload) as Record<string, any>;
      const health = [...latest.entries()].filter(([t]) => t.startsWith(`homeassistant/`) && t.includes(`/${device}_`) && /_(cell_health|resistance_deviation|end_of_charge_delta(_trend)?)\/config$/.test(t));
      assert.equal(health.length, 1 + 16 + 2, `${device}: Cell health, 16 resistance deviations, the end-of-charge delta and trend`);
      for (const [topic, cfg] of health) {
        checkConfig(topic, cfg, state);
        assert.equal((cfg.device as { identifiers: string[] }).identifiers[0], device, 'the pack\'s own device');
        assert.equal(cfg.enabled_by_default, topic.endsWith('_cell_health/config') ? undefined : false, topic);
      }
      assert.equal(typeof state.cell_health, 'boolean');
      assert.deepEqual(Object.keys(state.attributes.cell_health), ['findings', 'details']);
      assert.equal(state.resistance_deviations.length, 16);
    }
    const bankState = JSON.parse(seen.filter((m) => m.topic === 'jkbms/bus1/bank/state').at(-1)!.payload) as Record<string, any>;
    const bankHealth = [...latest.entries()].filter(([t]) => /jkbms_bank_bus1_(health|pack_\d\d_so[ch]_offset)\/config$/.test(t));
    assert.equal(bankHealth.length, 1 + 2 * PACKS.length);
    for (const [topic, cfg] of bankHealth) checkConfig(topic, cfg, bankState);
    assert.equal(typeof bankState.health, 'boolean');
    assert.deepEqual(Object.keys(bankState.pack_offsets), ['pack_01', 'pack_02', 'pack_03', 'pack_04']);
    assert.deepEqual(deletionsSince(0).map((m) => m.topic), [], 'nothing deleted');
  });

  it('no two entities of a device share a name; the enabled and disabled counts are the README\'s', async () => {
    const latest = new Map<string, Record<string, unknown>>();
    for (const m of configsSince(0)) latest.set(m.topic, JSON.parse(m.payload) as Record<string, unknown>);
    const live = sim.pack(1).live();
    const temps = Object.values(live.temperatures).filter((t) => t !== null).length;
    const figures = readmeFigures();
    for (const device of packDevices()) {
      const cfgs = [...latest.values()].filter((c) => (c.device as { identifiers: string[] }).identifiers[0] === device);
      const names = cfgs.map((c) => c.name as string);
      assert.deepEqual(names.filter((n, i) => names.indexOf(n) !== i), [], `${device}: a name used twice`);
      const enabled = cfgs.filter((c) => c.enabled_by_default !== false).length;
      assert.deepEqual([live.cellCount, temps], [16, 6], 'the simulated pack: 16 cells, MOS and T1–T5');
      assert.deepEqual([enabled, cfgs.length - enabled], figures.simulatedWithHealth, `${device}: enabled / disabled (with the health entities)`);
    }
  });

  it('the state rate: one state per pack at most every 5 s (steady pack, no alarm), as the README says', async () => {
    const windowS = 30;
    const from = seen.length;
    await sleep(windowS * 1000);
    const figures = readmeFigures();
    for (const s of serials) {
      const states = since(from).filter((m) => m.topic === `jkbms/bus1/${s}/state`);
      assert.ok(states.every((m) => !m.retain));
      const gaps = states.slice(1).map((m, i) => m.at - states[i]!.at);
      assert.ok(gaps.every((g) => g >= 4_500), `${s}: states ${gaps.join(', ')} ms apart`);
      assert.ok(states.length >= windowS / figures.rateS - 2 && states.length <= windowS / figures.rateS + 1, `${s}: ${states.length} states in ${windowS} s`);
    }
  });

  it('a second deploy in a row: the same devices again, nothing provisional, nothing deleted', async () => {
    const before = new Set(configsSince(0).map((m) => m.topic));
    const from = seen.length;
    await red.api.deploy(exampleFlow(gw, brokerPort), 'full');
    await until(() => everyoneAnnounced(from), 120_000, 'everyone announced again', 500);
    await sleep(3000);
    assert.deepEqual(deletionsSince(from).map((m) => m.topic), [], 'nothing deleted');
    const again = configsSince(from);
    assert.deepEqual([...new Set(again.map(deviceOf))].sort(), [...packDevices(), 'jkbms_bank_bus1'].sort(), 'the same devices, none provisional');
    assert.ok(again.every((m) => before.has(m.topic)), 'no new config topic');
    assert.ok(healthAnnounced(from), 'the health entities again at once, from what the node remembered');
  });

  it('a copy of the flow (new node ids everywhere): the bank keeps its device id, the packs their serial ids; nothing deleted', async () => {
    const from = seen.length;
    await red.api.deploy(exampleFlow(gw, brokerPort, {}, 'c'), 'full');
    await until(() => everyoneAnnounced(from), 120_000, 'everyone announced by the copy', 500);
    await sleep(3000);
    assert.deepEqual(deletionsSince(from).map((m) => m.topic), []);
    assert.deepEqual([...new Set(configsSince(from).map(deviceOf))].sort(), [...packDevices(), 'jkbms_bank_bus1'].sort());
    // Back to the original flow for the restart.
    const back = seen.length;
    await red.api.deploy(exampleFlow(gw, brokerPort), 'full');
    await until(() => everyoneAnnounced(back), 120_000, 'everyone announced by the original again', 500);
  });

  it('a Node-RED restart with the packs remembered: on a listen-only bus (which never learns a serial) still announced under the serial ids at once', async () => {
    await red.stop(); // flushes the file context store
    // The same packs behind a JK master now, and the bus set to listen only: no device info is ever asked for.
    await sim.stop();
    ({ sim, gw } = await simGateway({ packs: PACKS, master: true, seed: 21 }, (s) => PACKS.forEach((a, i) => (s.pack(a).setSerialNumber(serials[i]!), s.pack(a).setCurrent(8)))));
    const flowFile = join(red.userDir, 'flows.json');
    const flows = (JSON.parse(readFileSync(flowFile, 'utf8')) as FlowNode[]).map((n) => (n.type === 'jkbms-bus' ? { ...n, mode: 'listen', port: gw.port } : n));
    writeFileSync(flowFile, JSON.stringify(flows));
    const from = seen.length;
    red = await startNodeRed({ userDir: red.userDir, settings: SETTINGS });
    await until(() => packDevices().every((d) => configsSince(from).some((m) => m.topic === `homeassistant/sensor/${d}_voltage/config`)), 120_000, 'the packs announced after the restart', 500);
    await sleep(3000);
    assert.deepEqual(deletionsSince(from).map((m) => m.topic), [], 'nothing deleted');
    const devices = new Set(configsSince(from).map(deviceOf));
    assert.ok(packDevices().every((d) => devices.has(d)));
    assert.ok([...devices].every((d) => !d.includes(BUS_ID)), `no provisional device: ${[...devices].join(', ')}`);
    // With the same entities as before the restart: device info and settings were remembered too.
    assert.ok(packDevices().every((d) => configsSince(from).some((m) => m.topic === `homeassistant/sensor/${d}_serial/config`)));
  });

  it('a listen-only bus the node has never seen: one stable provisional device per pack, the same on the next deploy, nothing deleted', async () => {
    // A copy of the flow: new ids, so neither the bus nor the jkbms-ha node has anything remembered.
    const flow = exampleFlow(gw, brokerPort, { mode: 'listen' }, 'L');
    const busId = `${BUS_ID}L`;
    const provisional = PACKS.map((a) => `jkbms_${busId}_${a}`);
    const from = seen.length;
    await red.api.deploy(flow, 'full');
    await until(() => provisional.every((d) => configsSince(from).some((m) => m.topic === `homeassistant/sensor/${d}_voltage/config`)), 120_000, 'the provisional devices', 500);
    // The settings the JK master reads come by too (settings sensors join the device): let them.
    await until(() => provisional.every((d) => configsSince(from).some((m) => m.topic === `homeassistant/sensor/${d}_setting_cell_ovp/config`)), 60_000, 'the settings sensors', 500);
    const first = new Set(configsSince(from).filter((m) => provisional.includes(deviceOf(m))).map((m) => m.topic));
    const again = seen.length;
    await red.api.deploy(flow, 'full');
    await until(() => provisional.every((d) => configsSince(again).some((m) => m.topic === `homeassistant/sensor/${d}_voltage/config`)), 120_000, 'the same devices again', 500);
    await sleep(3000);
    assert.deepEqual(deletionsSince(from).map((m) => m.topic), [], 'nothing deleted');
    const second = configsSince(again).filter((m) => provisional.includes(deviceOf(m)));
    assert.ok(second.every((m) => first.has(m.topic)), 'the same configs');
    assert.ok(configsSince(from).every((m) => provisional.includes(deviceOf(m)) || m.topic.includes('jkbms_bank_bus1')), 'only the stable provisional ids (and the bank)');
  });
});

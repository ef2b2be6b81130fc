import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { join, resolve } from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import type { Browser, Page } from 'playwright-core';
import type { BusSimulator, TcpListener } from '../../src/sim';
import { LIMITS } from '../../nodes/lib/config';
import { editorInChromium, openEditor, screenshotIfFailed, trayText } from '../helpers/browser';
import { startNodeRed, targetVersions, until, type DebugCapture, type NodeRedInstance } from '../helpers/nodered';
import { simGateway } from '../helpers/sim';
import { requireTool } from '../helpers/tools';

/**
 * The smoke set of the test matrix, run on every Node-RED / Node.js pair (scripts/matrix.mjs
 * points test/helpers/nodered.ts at Node-RED 5 on Node 22 and at the oldest Node-RED that
 * package.json claims; `npm test` runs it on our devDependency). The packed tarball, with
 * Dashboard 2.0 and the Home Assistant websocket nodes installed from npm next to it:
 *  - every node type loads, with no warning or error in the log;
 *  - every example imports in the editor with no unknown type; the websocket example's nodes
 *    use only properties their package defines, are valid, and deploy without a warning;
 *  - every edit dialog opens with no raw i18n key and no page error;
 *  - the demo flow delivers live data from the simulator (packs 1-4 and a JK master), and the
 *    statuses a Status node sees are translated (no raw keys, as plural keys gave on 3.1/4.0);
 *  - the Home Assistant example publishes discovery to an MQTT broker on loopback (aedes).
 */

const ROOT = resolve(__dirname, '..', '..');
const MODULE = '@jkpb/node-red-jkbms';
const SHOTS = join(ROOT, 'test-results', 'smoke');
const OUR_TYPES = ['jkbms-bus', 'jkbms', 'jkbms-request', 'jkbms-write', 'jkbms-ha', 'jkbms-bank', 'jkbms-health'];
const EXAMPLES = readdirSync(join(ROOT, 'examples'))
  .filter((f) => f.endsWith('.json'))
  .map((f) => f.slice(0, -5));
const WEBSOCKET_EXAMPLE = 'Home Assistant - websocket entities';
/** The packages the Dashboard and websocket examples need, at the versions of our devDependencies. */
const installedVersion = (name: string): string =>
  (JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
const EXTRA = ['@flowfuse/node-red-dashboard', 'node-red-contrib-home-assistant-websocket'].map((p) => `${p}@${installedVersion(p)}`);
/** Node-RED's own start-up notices for our test settings (no projects, a fresh user dir). */
const CORE_NOTICES = [/\[warn\] Projects disabled : editorTheme\.projects\.enabled=false$/, /\[warn\] Encrypted credentials not found$/];
/** Any text that looks like an untranslated key of our catalogs. */
const RAW_KEY = /\bjkbms(-[a-z]+)?\.[a-zA-Z-]+\.[a-zA-Z-]+/;

type FlowNode = { id: string; type: string; z?: string; name?: string; wires?: string[][]; [k: string]: unknown };

const { nodeRed: NR_VERSION, node: NODE_VERSION } = targetVersions();

describe(`smoke: the packed tarball in Node-RED ${NR_VERSION} on Node ${NODE_VERSION}`, function () {
  this.timeout(600_000);
  let red: NodeRedInstance;
  let sim: BusSimulator;
  let gw: TcpListener;
  let debug: DebugCapture;
  const example = (name: string) => red.api.get<FlowNode[]>(`/library/examples/flows/${MODULE}/${encodeURIComponent(name)}`);
  /** The example on a tab of its own, its bus pointed at the simulator's gateway. */
  const onSimulator = (nodes: FlowNode[], tabId: string): FlowNode[] => [
    { id: tabId, type: 'tab', label: tabId },
    ...nodes.map((n) =>
      n.type === 'jkbms-bus' ? { ...n, transport: 'tcp', host: gw.host, port: gw.port, masterSilence: 1000 } : n.z === undefined && !n.wires ? n : { ...n, z: tabId },
    ),
  ];

  before(async () => {
    console.log(`      smoke suite on Node-RED ${NR_VERSION}, Node ${NODE_VERSION} (with ${EXTRA.join(', ')})`);
    ({ sim, gw } = await simGateway({ packs: [1, 2, 3, 4], master: true, seed: 11 }));
    red = await startNodeRed({ extraPackages: EXTRA });
    debug = await red.debug();
  });
  after(async () => {
    await red?.stop();
    await sim?.stop();
  });

  it('runs on the Node-RED and Node.js versions under test', () => {
    assert.match(red.output, new RegExp(`Node-RED version: v${NR_VERSION.replace(/\./g, '\\.')}\\b`));
    assert.match(red.output, new RegExp(`Node\\.js\\s+version: ${NODE_VERSION.replace(/\./g, '\\.')}\\b`));
  });

  it('every node type loads (ours, Dashboard 2.0, the HA websocket nodes), with no warning or error in the log', async () => {
    const sets = await red.api.get<{ module: string; types: string[]; enabled: boolean; err?: string; name: string }[]>('/nodes');
    const types = sets.filter((s) => s.module === MODULE).flatMap((s) => s.types);
    assert.deepEqual([...types].sort(), [...OUR_TYPES].sort());
    for (const s of sets) {
      assert.equal(s.err, undefined, `${s.module}/${s.name}: ${s.err}`);
      assert.equal(s.enabled, true, `${s.module}/${s.name} enabled`);
    }
    for (const m of ['@flowfuse/node-red-dashboard', 'node-red-contrib-home-assistant-websocket']) {
      assert.ok(sets.some((s) => s.module === m), `${m} loaded`);
    }
    const startup = red.output.slice(0, red.output.indexOf('Started flows'));
    const warnings = startup.split('\n').filter((l) => /\[(warn|error)\]|Warning:/.test(l) && !CORE_NOTICES.some((re) => re.test(l.trim())));
    assert.deepEqual(warnings, []);
  });

  it('exports the bus limits to the editor (the node setting jkbmsBusLimits, as the dialog validates them)', async () => {
    const settings = await red.api.get<Record<string, unknown>>('/settings');
    assert.deepEqual(settings.jkbmsBusLimits, JSON.parse(JSON.stringify(LIMITS)));
  });

  it('lists every example', async () => {
    const list = await red.api.get<{ f?: string[] } | { fn: string }[]>(`/library/examples/flows/${MODULE}/`);
    const names = (Array.isArray(list) ? list : (list.f ?? []).map((fn) => ({ fn }))).map((e) => e.fn);
    assert.deepEqual([...names].sort(), [...EXAMPLES].sort());
  });

  it('the demo flow delivers live data from the simulator; the statuses are translated', async () => {
    const tab = 'smokeDemo000tab1';
    const flow = [
      ...onSimulator(await example('05 Demo (simulator)'), tab),
      { id: 'smokeStatus00001', type: 'status', z: tab, name: 'all statuses', scope: null, wires: [['smokeStatusDbg01']] },
      { id: 'smokeStatusDbg01', type: 'debug', z: tab, name: 'statuses', active: true, tosidebar: true, console: false, complete: 'status', targetType: 'msg', wires: [] },
    ];
    const from = debug.messages.length;
    const fresh = (m: { msg: unknown }) => debug.messages.indexOf(m as never) >= from;
    await red.api.deploy(flow);
    const live = await debug.waitFor((m) => fresh(m) && /^demo bus\/[1-4]\/live$/.test(m.topic ?? ''), 60_000);
    const msg = live.msg as { payload: { type: string; voltage: number; cells: number[] }; bms: { address: number } };
    assert.equal(msg.payload.type, 'live');
    assert.ok(msg.payload.voltage > 40 && msg.payload.voltage < 60, `voltage ${msg.payload.voltage}`);
    assert.equal(msg.payload.cells.length, sim.pack(msg.bms.address).settings().cellCount);
    // The statuses as the runtime translates them (a Status node sees the text): the bus sniffing the
    // simulated JK master, the request node counting the packs that answered.
    const status = (type: string, re: RegExp) =>
      debug.waitFor((m) => {
        const st = m.msg as { text?: string; source?: { type?: string } };
        return fresh(m) && m.id === 'smokeStatusDbg01' && st.source?.type === type && re.test(st.text ?? '');
      }, 60_000);
    await status('jkbms-bus', /^sniffing, [1-5] online$/);
    await until(async () => (await red.api.get<{ packs: { online: boolean }[] }>('/jkbms/packs?bus=c9a00000000000b1')).packs.filter((p) => p.online).length >= 4, 60_000, 'packs online');
    await red.api.inject(flow.find((n) => n.type === 'inject')!.id);
    await status('jkbms-request', /^[1-5] answered$/);
    const texts = debug.messages.filter((m) => fresh(m) && m.id === 'smokeStatusDbg01').map((m) => (m.msg as { text?: string }).text ?? '');
    assert.deepEqual(texts.filter((t) => RAW_KEY.test(t)), [], 'no raw i18n key in a status');
  });

  describe('the Home Assistant example on an MQTT broker on loopback (aedes)', () => {
    let server: Server;
    let broker: { handle(s: unknown): void; close(cb: () => void): void };
    let ha: MqttClient;
    const seen = new Map<string, { payload: string; retain: boolean }>();

    before(async () => {
      const { Aedes } = require('aedes') as { Aedes: { createBroker(): Promise<typeof broker> } };
      broker = await Aedes.createBroker();
      server = createServer((s) => broker.handle(s));
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      ha = await mqtt.connectAsync(`mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`, { reconnectPeriod: 0 });
      ha.on('message', (topic, payload, packet) => seen.set(topic, { payload: payload.toString(), retain: packet.retain }));
      await ha.subscribeAsync(['homeassistant/#', 'jkbms/#'], { qos: 1 });
    });
    after(async () => {
      await ha?.endAsync();
      await red.api.deploy([]).catch(() => undefined);
      await new Promise<void>((r) => (broker ? broker.close(r) : r()));
      await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
    });

    it('publishes retained discovery configs, state and availability of every pack', async () => {
      const port = (server.address() as AddressInfo).port;
      const flow = onSimulator(await example('Home Assistant - MQTT discovery'), 'smokeHa00000tab1').map((n) =>
        n.type === 'mqtt-broker' ? { ...n, broker: '127.0.0.1', port: String(port) } : n,
      );
      await red.api.deploy(flow);
      const busName = flow.find((n) => n.type === 'jkbms-bus')!.name;
      for (const address of [1, 2, 3, 4]) {
        const serial = sim.pack(address).serialNumber;
        const config = await until(() => seen.get(`homeassistant/sensor/jkbms_${serial}_voltage/config`), 60_000, `the voltage config of pack ${address}`);
        const cfg = JSON.parse(config.payload) as { unique_id: string; state_topic: string; device: { identifiers: string[] } };
        assert.equal(cfg.unique_id, `jkbms_${serial}_voltage`);
        assert.equal(cfg.state_topic, `jkbms/${busName}/${serial}/state`);
        assert.deepEqual(cfg.device.identifiers, [`jkbms_${serial}`]);
        const state = await until(() => seen.get(cfg.state_topic), 30_000, `the state of pack ${address}`);
        assert.ok((JSON.parse(state.payload) as { voltage: number }).voltage > 40);
        assert.equal((await until(() => seen.get(`jkbms/${busName}/${serial}/availability`), 30_000, 'availability')).payload, 'online');
      }
      assert.equal(seen.get('jkbms/bridge/availability')?.payload, 'online', 'the broker node\'s birth message');
      // What Home Assistant finds when it (re)connects: the configs are retained.
      const late = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { reconnectPeriod: 0 });
      try {
        const retained = new Map<string, boolean>();
        late.on('message', (topic, _p, packet) => retained.set(topic, packet.retain));
        await late.subscribeAsync('homeassistant/sensor/+/config', { qos: 1 });
        for (const address of [1, 2, 3, 4]) {
          const topic = `homeassistant/sensor/jkbms_${sim.pack(address).serialNumber}_voltage/config`;
          assert.equal(await until(() => retained.get(topic), 10_000, `${topic} retained`), true);
        }
      } finally {
        await late.endAsync();
      }
    });
  });

  describe('the editor in headless Chromium', () => {
    let browser: Browser;
    let page: Page;
    const pageErrors: string[] = [];

    before(async function () {
      requireTool(this, 'chromium');
      await red.api.deploy([]);
      ({ browser, page } = await editorInChromium(red.url, 'jkbms', pageErrors));
    });
    afterEach(async function () {
      await screenshotIfFailed(this, page, SHOTS);
    });
    after(async () => {
      await browser?.close();
    });

    it('the palette shows every node type with its label from the catalog', async () => {
      const labels = await page.evaluate((types) => {
        return types.map((t) => document.querySelector(`.red-ui-palette-node[data-palette-type="${t}"] .red-ui-palette-label`)?.textContent?.replace(/\s+/g, ' ').trim() ?? null);
      }, OUR_TYPES.filter((t) => t !== 'jkbms-bus'));
      assert.deepEqual(labels, ['jkbms', 'jkbms request', 'jkbms write', 'jkbms ha', 'jkbms bank', 'jkbms health']);
    });

    it('every example imports with no unknown node type; each of our nodes has exactly the properties its definition has', async () => {
      for (const name of EXAMPLES) {
        const flow = await example(name);
        const r = await page.evaluate((f) => {
          const R = (window as any).RED;
          const missing = [...new Set(f.map((n: any) => n.type))].filter((t) => !R.nodes.getType(t));
          // an example saved before a property was added imports with it undefined: the editor would flag it or write it on the next save
          const skip = new Set(['id', 'type', 'x', 'y', 'z', 'g', 'wires', 'info']);
          const properties: string[] = [];
          for (const n of f.filter((n: any) => n.type.startsWith('jkbms'))) {
            const defaults = R.nodes.getType(n.type)?.defaults ?? {};
            for (const k of Object.keys(n)) if (!skip.has(k) && !(k in defaults)) properties.push(`${n.type}.${k}: not defined`);
            for (const k of Object.keys(defaults)) if (!(k in n)) properties.push(`${n.type}.${k}: missing`);
          }
          R.view.importNodes(f, { generateIds: true, addFlow: true });
          const unknown: string[] = [];
          const all: any[] = [];
          R.nodes.eachNode((n: any) => all.push(n));
          R.nodes.eachConfig((n: any) => all.push(n));
          for (const n of all) if (n.type === 'unknown' || !R.nodes.getType(n.type)) unknown.push(n.name || n.type);
          return { missing, unknown, drawn: document.querySelectorAll('.red-ui-flow-node-unknown').length, properties };
        }, flow);
        assert.deepEqual(r, { missing: [], unknown: [], drawn: 0, properties: [] }, `example "${name}"`);
      }
    });

    it('every edit dialog opens with no raw i18n key', async () => {
      const ids = await page.evaluate(() => {
        const R = (window as any).RED;
        const out: Record<string, string> = {};
        R.nodes.eachNode((n: any) => {
          if (n.type.startsWith('jkbms') && !out[n.type]) out[n.type] = n.id;
        });
        R.nodes.eachConfig((n: any) => {
          if (n.type === 'jkbms-bus' && !out[n.type]) out[n.type] = n.id;
        });
        return out;
      });
      assert.deepEqual(Object.keys(ids).sort(), [...OUR_TYPES].sort());
      for (const type of OUR_TYPES) {
        const config = type === 'jkbms-bus';
        await page.evaluate(
          ({ id, t, cfg }) => {
            const R = (window as any).RED;
            if (cfg) R.editor.editConfig('', t, id);
            else R.editor.edit(R.nodes.node(id));
          },
          { id: ids[type]!, t: type, cfg: config },
        );
        await page.waitForSelector(config ? '#node-config-input-name' : '#node-input-name', { state: 'visible', timeout: 20_000 });
        await page.waitForTimeout(500);
        const text = await trayText(page, { placeholders: true });
        assert.ok(text.length > 50, `${type}: the dialog shows its form`);
        assert.doesNotMatch(text, RAW_KEY, `${type} dialog`);
        await page.click(config ? '#node-config-dialog-cancel' : '#node-dialog-cancel');
        await page.waitForSelector('.red-ui-tray', { state: 'detached', timeout: 20_000 });
      }
      const canvas = await page.evaluate(() => Array.from(document.querySelectorAll('.red-ui-flow-node-label, .red-ui-palette-label')).map((e) => e.textContent ?? '').join('\n'));
      assert.doesNotMatch(canvas, RAW_KEY, 'node and palette labels');
    });

    it(`"${WEBSOCKET_EXAMPLE}": every node uses only properties its package defines, is valid, and deploys without a warning`, async () => {
      await red.api.deploy([]);
      await openEditor(page, red.url, 'ha-sensor');
      const flow = await example(WEBSOCKET_EXAMPLE);
      const r = await page.evaluate((f) => {
        const R = (window as any).RED;
        const skip = new Set(['id', 'type', 'x', 'y', 'z', 'g', 'wires', 'info']);
        const foreign: string[] = [];
        for (const n of f) {
          const def = R.nodes.getType(n.type);
          if (!def) {
            foreign.push(`${n.type}: no definition`);
            continue;
          }
          for (const k of Object.keys(n)) {
            if (!skip.has(k) && !(k in def.defaults)) foreign.push(`${n.type}.${k}`);
          }
          // the properties the definition has and the example leaves out
          for (const k of Object.keys(def.defaults)) {
            if (!(k in n) && !(n.type === 'comment')) foreign.push(`${n.type}: missing ${k}`);
          }
        }
        R.view.importNodes(f, { generateIds: false, addFlow: true });
        R.nodes.dirty(true);
        const invalid: string[] = [];
        const all: any[] = [];
        R.nodes.eachNode((n: any) => all.push(n));
        R.nodes.eachConfig((n: any) => all.push(n));
        for (const n of all) {
          R.editor.validateNode(n);
          if (!n.valid) invalid.push(`${n.type} ${n.name || n.id}: ${JSON.stringify(n.validationErrors ?? [])}`);
        }
        return { foreign, invalid, marks: document.querySelectorAll('.red-ui-flow-node-error:not(.hide)').length };
      }, flow);
      assert.deepEqual(r, { foreign: [], invalid: [], marks: 0 });
      await page.click('#red-ui-header-button-deploy');
      await page.waitForFunction(() => /Successfully deployed|not properly configured|unknown|unused/i.test(document.querySelector('#red-ui-notifications')?.textContent ?? ''), null, { timeout: 30_000 });
      const note = (await page.textContent('#red-ui-notifications')) ?? '';
      assert.match(note, /Successfully deployed/);
      assert.doesNotMatch(note, /not properly configured|unknown/i);
      const deployed = await red.api.get<FlowNode[]>('/flows');
      assert.ok(flow.every((n) => (Array.isArray(deployed) ? deployed : (deployed as unknown as { flows: FlowNode[] }).flows).some((d) => d.id === n.id)), 'every node deployed');
      await red.api.deploy([]);
    });

    it('no page errors', () => {
      assert.deepEqual(pageErrors, []);
    });
  });

  describe('at the end', () => {
    it('the runtime log shows no warning or error from our nodes (the examples\' /dev/ttyUSB0 aside)', () => {
      // Expected: the examples' serial port /dev/ttyUSB0 does not exist here.
      const expected = /ttyUSB0/;
      const bad = red.output.split('\n').filter((l) => /\[(warn|error)\].*jkbms/.test(l) && !expected.test(l));
      assert.deepEqual(bad, []);
      assert.doesNotMatch(red.output, /DeprecationWarning|ExperimentalWarning/);
    });
  });
});

import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import type { PacksReply } from '../../nodes/lib/admin';
import type { BusSimulator, TcpListener } from '../../src/sim';
import { editorInChromium, openEditor, screenshotIfFailed, trayText as trayTextOf } from '../helpers/browser';
import { startNodeRed, type NodeRedInstance } from '../helpers/nodered';
import { simGateway } from '../helpers/sim';
import { requireTool } from '../helpers/tools';

/**
 * The editor in headless Chromium against a real Node-RED with the packed tarball: palette,
 * dialogs (no raw i18n keys), the port picker with its fallback, creating a bus with the
 * pencil, importing and deploying the demo example, a live status on a pack node.
 * Screenshots go to test-results/ (git-ignored).
 */

const MODULE = '@jkpb/node-red-jkbms';
const SHOTS = resolve(__dirname, '..', '..', 'test-results', 'editor');
const RAW_KEY = /\bjkbms(-bus|-request)?\.[a-z-]+\.[a-zA-Z-]+/;

describe('editor in headless Chromium', function () {
  this.timeout(300_000);
  let sim: BusSimulator;
  let gw: TcpListener;
  let red: NodeRedInstance;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];
  const seen: string[] = [];

  const shot = async (name: string) => {
    await page.screenshot({ path: join(SHOTS, `${name}.png`) });
    seen.push(`screenshot ${name}.png`);
  };
  /** Visible text and placeholders of the open edit tray. */
  const trayText = () => trayTextOf(page, { placeholders: true });
  const closeTray = async (cancel: string) => {
    await page.click(cancel);
    await page.waitForTimeout(400);
  };

  before(async function () {
    requireTool(this, 'chromium');
    mkdirSync(SHOTS, { recursive: true });
    ({ sim, gw } = await simGateway({ packs: [1, 2, 3, 4], seed: 9 }));
    red = await startNodeRed();
    ({ browser, page } = await editorInChromium(red.url, 'jkbms', pageErrors));
  });
  afterEach(async function () {
    await screenshotIfFailed(this, page, SHOTS);
  });
  after(async () => {
    if (seen.length) console.log(`      editor test saw:\n        ${seen.join('\n        ')}`);
    await browser?.close();
    await red?.stop();
    await sim?.stop();
  });

  it('palette: jkbms and jkbms-request in "JK BMS", with help whose first paragraph is the tooltip', async () => {
    const info = await page.evaluate(() => {
      const R = (window as any).RED;
      return ['jkbms', 'jkbms-request', 'jkbms-bus'].map((t) => {
        const d = R.nodes.getType(t);
        const help = (window as any).$(`script[data-help-name='${t}']`).html() as string;
        const label = document.querySelector(`.red-ui-palette-node[data-palette-type="${t}"] .red-ui-palette-label`)?.textContent ?? null;
        return { t, category: d.category, inputs: d.inputs, outputs: d.outputs, help, label };
      });
    });
    const [pack, request, bus] = info;
    assert.equal(pack!.category, 'JK BMS');
    assert.equal(request!.category, 'JK BMS');
    assert.equal(bus!.category, 'config');
    assert.equal(pack!.label, 'jkbms');
    assert.equal(request!.label?.replace(/\s+/g, ' '), 'jkbms request');
    for (const i of info) {
      assert.match(i.help, /^\s*<p>[^<]{20,}/, `${i.t} help starts with a paragraph`);
      if (i.t !== 'jkbms-bus') assert.match(i.help, /<h3>Inputs<\/h3>[\s\S]*<h3>Outputs<\/h3>/);
      seen.push(`palette ${i.t}: category "${i.category}", label ${JSON.stringify(i.label)}, ${i.inputs ?? 0} in / ${i.outputs ?? 0} out`);
    }
    await shot('01-palette');
  });

  it('imports the demo example, deploys it against the simulator and shows a live status on the pack nodes', async () => {
    await red.api.deploy([]);
    await openEditor(page, red.url, 'jkbms');
    const example = await red.api.get<Record<string, unknown>[]>(`/library/examples/flows/${MODULE}/${encodeURIComponent('05 Demo (simulator)')}`);
    // Example 05 ships with the simulator connection; this test drives the TCP fields, so point it at the gateway.
    const flow = example.map((n) => (n.type === 'jkbms-bus' ? { ...n, transport: 'tcp', host: gw.host, port: gw.port } : n));
    const imported = await page.evaluate((f) => {
      const R = (window as any).RED;
      R.view.importNodes(f, { generateIds: false, touchImport: true });
      R.view.select({ nodes: [] });
      R.nodes.dirty(true);
      return f.filter((n: any) => !R.nodes.node(n.id) && n.type !== 'jkbms-bus').map((n: any) => n.id);
    }, flow);
    assert.deepEqual(imported, [], 'every node imported');
    const unknown = await page.evaluate(() => document.querySelectorAll('.red-ui-flow-node-unknown').length);
    assert.equal(unknown, 0, 'no unknown-type placeholders');
    await page.click('#red-ui-header-button-deploy');
    await page.waitForFunction(() => /Successfully deployed/.test(document.querySelector('#red-ui-notifications')?.textContent ?? ''), null, { timeout: 30_000 });
    seen.push('deploy: "Successfully deployed"');
    const packIds = flow.filter((n) => n.type === 'jkbms').map((n) => n.id as string);
    const statuses = await page.waitForFunction(
      (ids) => {
        const texts = ids.map((id: string) => document.querySelector(`[id="${id}"] .red-ui-flow-node-status-label`)?.textContent ?? '');
        return texts.every((t: string) => /^\d{1,3}% \d+\.\dV -?\d+\.\dA$/.test(t)) ? texts : null;
      },
      packIds,
      { timeout: 60_000 },
    );
    const texts = (await statuses.jsonValue()) as string[];
    seen.push(`live statuses on the 4 pack nodes: ${texts.join(' | ')}`);
    const dot = await page.evaluate((id) => document.querySelector(`[id="${id}"] .red-ui-flow-node-status`)?.getAttribute('class') ?? '', packIds[0]);
    assert.match(dot, /green/);
    await page.evaluate(() => (window as any).RED.sidebar.show('debug'));
    await page.waitForFunction(() => Array.from(document.querySelectorAll('.red-ui-debug-msg-topic')).some((e) => /demo bus\/\d\/(live|info|availability)/.test(e.textContent ?? '')), null, { timeout: 30_000 });
    seen.push('debug sidebar: messages with topic "demo bus/<n>/..."');
    await shot('02-demo-deployed');
  });

  it('every edit dialog opens with its fields and no raw i18n keys; TCP/serial fields switch', async () => {
    const ids = await page.evaluate(() => {
      const R = (window as any).RED;
      const out: Record<string, string> = {};
      R.nodes.eachNode((n: any) => {
        if (!out[n.type]) out[n.type] = n.id;
      });
      return out;
    });
    // jkbms
    await page.dblclick(`[id="${ids.jkbms}"]`);
    await page.waitForSelector('#node-input-address', { state: 'visible' });
    for (const f of ['bus', 'address', 'serial', 'emitLive', 'emitSettings', 'emitInfo', 'emitAvailability', 'rate', 'interval', 'name']) {
      assert.equal(await page.locator(`#node-input-${f}`).count(), 1, `jkbms field ${f}`);
    }
    assert.doesNotMatch(await trayText(), RAW_KEY);
    assert.equal(await page.isVisible('#node-input-interval'), false, 'interval hidden for rate "all"');
    await page.selectOption('#node-input-rate', 'interval');
    assert.equal(await page.isVisible('#node-input-interval'), true);
    // pack picker lists what the deployed bus has seen
    await page.click('#jkbms-pick-pack');
    await page.waitForSelector('.ui-autocomplete:visible li', { timeout: 10_000 });
    const picks = await page.locator('.ui-autocomplete:visible li').allTextContents();
    assert.ok(picks.some((p) => /^1 — /.test(p)), picks.join(' / '));
    seen.push(`jkbms dialog: pack picker offers ${picks.length} packs, e.g. "${picks[0]}"`);
    await shot('03-jkbms-dialog');
    await page.locator('.ui-autocomplete:visible li').nth(1).click();
    assert.equal(await page.inputValue('#node-input-address'), '2', 'picking a pack fills the address');
    // the bus, through the pencil
    await page.click('#node-input-btn-bus-edit');
    await page.waitForSelector('#node-config-input-transport', { state: 'visible' });
    for (const f of ['name', 'transport', 'path', 'baud', 'host', 'port', 'mode', 'minGap', 'responseTimeout', 'masterSilence', 'settingsInterval', 'infoInterval', 'offlineAfter', 'allowWrites']) {
      assert.equal(await page.locator(`#node-config-input-${f}`).count(), 1, `jkbms-bus field ${f}`);
    }
    assert.equal(await page.inputValue('#node-config-input-transport'), 'tcp');
    assert.equal(await page.isVisible('#node-config-input-host'), true);
    assert.equal(await page.isVisible('#node-config-input-path'), false);
    await page.waitForFunction(() => /sniffing|polling|listening/.test(document.querySelector('#jkbms-bus-packs')?.textContent ?? ''), null, { timeout: 10_000 });
    seen.push(`bus dialog (pencil): transport tcp shows host/port; packs seen: ${(await page.textContent('#jkbms-bus-packs'))?.replace(/\s+/g, ' ').slice(0, 160)}`);
    assert.doesNotMatch(await trayText(), RAW_KEY);
    await page.selectOption('#node-config-input-transport', 'serial');
    assert.equal(await page.isVisible('#node-config-input-path'), true);
    assert.equal(await page.isVisible('#node-config-input-host'), false);
    // port picker: the runtime's list (or the fallback note), and free text still accepted
    const portsCall = page.waitForResponse((r) => /\/jkbms\/ports$/.test(new URL(r.url()).pathname), { timeout: 10_000 });
    await page.click('#jkbms-bus-lookup');
    const res = await portsCall;
    assert.equal(res.status(), 200);
    const ports = (await res.json()) as { path: string }[];
    await page.waitForTimeout(500);
    const listed = await page.locator('.ui-autocomplete:visible li').allTextContents();
    const note = (await page.textContent('#jkbms-bus-ports-note')) ?? '';
    assert.ok(ports.length ? listed.length > 0 : /No serial port found/.test(note), `ports ${JSON.stringify(ports)} listed ${listed} note ${note}`);
    seen.push(`port picker: GET jkbms/ports (relative) → ${ports.length} ports${ports.length ? ` e.g. ${ports[0]!.path}` : `; note "${note}"`}`);
    await page.fill('#node-config-input-path', '/dev/serial/by-id/usb-my-adapter');
    assert.equal(await page.inputValue('#node-config-input-path'), '/dev/serial/by-id/usb-my-adapter');
    await page.keyboard.press('Escape').catch(() => undefined);
    await page.selectOption('#node-config-input-transport', 'tcp');
    await page.fill('#node-config-input-port', '70000');
    await page.press('#node-config-input-port', 'Tab');
    await page.waitForTimeout(300);
    assert.match((await page.getAttribute('#node-config-input-port', 'class')) ?? '', /input-error/, 'port 70000 is marked invalid');
    seen.push('bus dialog: port 70000 marked invalid (red)');
    await shot('04-bus-dialog');
    await closeTray('#node-config-dialog-cancel');
    await closeTray('#node-dialog-cancel');
    // jkbms-request
    await page.dblclick(`[id="${ids['jkbms-request']}"]`);
    await page.waitForSelector('#node-input-kind', { state: 'visible' });
    for (const f of ['bus', 'address', 'kind', 'timeout', 'name']) assert.equal(await page.locator(`#node-input-${f}`).count(), 1, `request field ${f}`);
    assert.doesNotMatch(await trayText(), RAW_KEY);
    seen.push('jkbms-request dialog: bus, address, kind, timeout, name; no raw i18n keys');
    // its pack picker comes from the shared editor script (resources/<module>/editor.js) too
    assert.equal(await page.evaluate(() => typeof (window as any).JKBMS?.packPicker), 'function', 'window.JKBMS is loaded');
    const requestBus = await page.evaluate((id) => (window as any).RED.nodes.node(id).bus as string, ids['jkbms-request']);
    const seenPacks = (await red.api.get<PacksReply>(`/jkbms/packs?bus=${requestBus}`)).packs;
    assert.deepEqual(seenPacks.map((p) => [p.address, p.serial]), [1, 2, 3, 4].map((a) => [a, sim.pack(a).serialNumber]));
    await page.click('#jkbms-request-pick');
    await page.waitForSelector('.ui-autocomplete:visible li', { timeout: 10_000 });
    const requestPicks = await page.locator('.ui-autocomplete:visible li').allTextContents();
    assert.deepEqual(requestPicks, ['all — every pack seen on the bus', ...seenPacks.map((p) => `${p.address} — ${p.model}, ${p.serial}`)]);
    seen.push(`jkbms-request dialog: pack picker offers ${requestPicks.join(' / ')}`);
    await shot('05-request-dialog');
    await closeTray('#node-dialog-cancel');
  });

  it('a new pack node gets a new bus from its dialog (the + next to the pencil)', async () => {
    await page.evaluate(() => {
      const R = (window as any).RED;
      R.view.importNodes([{ id: 'e2enewpack000001', type: 'jkbms', x: 600, y: 620, bus: '', address: 2, wires: [[]] }], { generateIds: false, touchImport: true });
      R.view.select({ nodes: [] });
    });
    await page.dblclick('[id="e2enewpack000001"]');
    await page.waitForSelector('#node-input-bus', { state: 'visible' });
    await page.click('#node-input-btn-bus-add');
    await page.waitForSelector('#node-config-input-path', { state: 'visible' });
    assert.equal(await page.inputValue('#node-config-input-transport'), 'serial', 'a new bus defaults to serial');
    assert.equal(await page.inputValue('#node-config-input-baud'), '115200');
    await page.fill('#node-config-input-name', 'second bus');
    await page.fill('#node-config-input-path', '/dev/ttyUSB7');
    await page.click('#node-config-dialog-ok');
    await page.waitForTimeout(500);
    const selected = await page.evaluate(() => {
      const v = (window as any).$('#node-input-bus').val();
      return (window as any).RED.nodes.node(v)?.name ?? null;
    });
    assert.equal(selected, 'second bus');
    seen.push('new jkbms node: + → new bus "second bus" (/dev/ttyUSB7) created and selected');
    await shot('06-new-bus');
    await page.click('#node-dialog-ok');
    await page.waitForTimeout(300);
  });

  it('no page errors', () => {
    assert.deepEqual(pageErrors, []);
  });
});

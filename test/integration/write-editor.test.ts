import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { SETTINGS } from '../../src/protocol/settings';
import type { BusSimulator, TcpListener } from '../../src/sim';
import type { PacksReply } from '../../nodes/lib/admin';
import { editorInChromium, openEditor, trayText as trayTextOf } from '../helpers/browser';
import { startNodeRed, until, type NodeRedInstance } from '../helpers/nodered';
import { simGateway } from '../helpers/sim';
import { requireTool } from '../helpers/tools';

/**
 * jkbms-write (and jkbms-ha's controls options) in a real Node-RED with the packed tarball and
 * headless Chromium: palette and help, the edit dialog (fields, tips, no raw i18n keys), and the
 * "Safe writes" example deployed against the simulator's TCP gateway: "writes off" as shipped,
 * then an inject button that really changes a pack, with the confirmed value in the status.
 */

const SHOTS = resolve(__dirname, '..', '..', 'test-results', 'write-editor');
const RAW_KEY = /\bjkbms-(write|ha)\.[a-z-]+\.[a-zA-Z-]+/;
type FlowNode = { id: string; type: string; name?: string; [k: string]: unknown };

describe('jkbms-write in a real Node-RED and headless Chromium', function () {
  this.timeout(300_000);
  let sim: BusSimulator;
  let gw: TcpListener;
  let red: NodeRedInstance;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];
  const example = JSON.parse(readFileSync(join(__dirname, '..', '..', 'examples', 'Safe writes.json'), 'utf8')) as FlowNode[];
  const byName = (name: string) => example.find((n) => n.name === name)!.id;
  const writeId = example.find((n) => n.type === 'jkbms-write')!.id;

  /** The example on a tab, its bus on the simulator's gateway. */
  const deployed = (allowWrites: boolean): FlowNode[] => [
    { id: 'tabw1', type: 'tab', label: 'Safe writes' },
    ...example.map((n) => (n.type === 'jkbms-bus' ? { ...n, transport: 'tcp', host: gw.host, port: gw.port, allowWrites, masterSilence: 1000 } : { ...n, z: 'tabw1' })),
  ];
  const trayText = () => trayTextOf(page);
  const statusOf = (id: string) => page.evaluate((i) => document.querySelector(`[id="${i}"] .red-ui-flow-node-status-label`)?.textContent ?? '', id);
  const reload = () => openEditor(page, red.url, 'jkbms-write', 800);

  before(async function () {
    requireTool(this, 'chromium');
    mkdirSync(SHOTS, { recursive: true });
    ({ sim, gw } = await simGateway({ packs: [1, 2], seed: 12 }));
    red = await startNodeRed();
    ({ browser, page } = await editorInChromium(red.url, 'jkbms-write', pageErrors, 800));
  });
  after(async () => {
    await browser?.close();
    await red?.stop();
    await sim?.stop();
  });

  it('palette and help: "jkbms write" in JK BMS, the warning, Inputs/Outputs, every writable setting in the table', async () => {
    const info = await page.evaluate(() => {
      const R = (window as any).RED;
      const d = R.nodes.getType('jkbms-write');
      const ha = R.nodes.getType('jkbms-ha');
      const help = (window as any).$("script[data-help-name='jkbms-write']").html() as string;
      const label = document.querySelector('.red-ui-palette-node[data-palette-type="jkbms-write"] .red-ui-palette-label')?.textContent ?? null;
      return { category: d.category, inputs: d.inputs, outputs: d.outputs, haOutputs: ha.outputs, help, label };
    });
    assert.equal(info.category, 'JK BMS');
    assert.equal(info.label?.replace(/\s+/g, ' '), 'jkbms write');
    assert.deepEqual([info.inputs, info.outputs, info.haOutputs], [1, 1, 2]);
    assert.match(info.help, /^\s*<p>Changes one setting of one pack, or of every pack, and confirms it by reading the settings back\.<\/p>/);
    assert.match(info.help, /⚠ Writing to a BMS changes how your battery protects itself and what it powers/);
    assert.match(info.help, /<h3>Inputs<\/h3>[\s\S]*<h3>Outputs<\/h3>[\s\S]*<h3>Details<\/h3>[\s\S]*<h4>Writable settings<\/h4>/);
    assert.equal((info.help.match(/<tr><td><code>/g) ?? []).length, SETTINGS.length);
  });

  it('the Safe writes example: dialog with tips, "writes off" as shipped, a confirmed write once allowed', async () => {
    await red.api.deploy(deployed(false));
    await reload();
    await page.waitForFunction((id) => document.querySelector(`[id="${id}"] .red-ui-flow-node-status-label`)?.textContent === 'writes off', writeId, { timeout: 30_000 });

    await page.dblclick(`[id="${writeId}"]`);
    await page.waitForSelector('#node-input-allowProtection', { state: 'visible' });
    for (const f of ['bus', 'address', 'allowProtection', 'timeout', 'name']) assert.equal(await page.locator(`#node-input-${f}`).count(), 1, `field ${f}`);
    const text = await trayText();
    assert.doesNotMatch(text, RAW_KEY);
    assert.match(text, /Writes change how your battery protects itself and what it powers/);
    assert.equal(await page.isVisible('#jkbms-write-tip-writes-off'), true, 'the bus does not allow writes: tip shown');
    assert.equal(await page.isVisible('#jkbms-write-tip-protection'), false);
    await page.check('#node-input-allowProtection');
    assert.equal(await page.isVisible('#jkbms-write-tip-protection'), true, 'ticking protection shows its warning');
    await page.screenshot({ path: join(SHOTS, 'write-dialog.png') });
    // the pack picker (the shared editor script): "all", then the packs the bus has identified
    assert.equal(await page.evaluate(() => typeof (window as any).JKBMS?.packPicker), 'function', 'window.JKBMS is loaded');
    const busOfExample = example.find((n) => n.type === 'jkbms-bus')!.id;
    const identified = await until(async () => {
      const { packs } = await red.api.get<PacksReply>(`/jkbms/packs?bus=${busOfExample}`);
      return packs.length === 2 && packs.every((x) => x.serial) ? packs : null;
    }, 30_000, 'packs 1 and 2 identified', 200);
    assert.deepEqual(identified.map((x) => [x.address, x.serial]), [[1, sim.pack(1).serialNumber], [2, sim.pack(2).serialNumber]]);
    await page.click('#jkbms-write-pick');
    await page.waitForSelector('.ui-autocomplete:visible li', { timeout: 10_000 });
    assert.deepEqual(await page.locator('.ui-autocomplete:visible li').allTextContents(), [
      'all — every pack online on the bus',
      ...identified.map((x) => `${x.address} — ${x.model}, ${x.serial}`),
    ]);
    await page.fill('#node-input-address', '16');
    await page.press('#node-input-address', 'Tab');
    await page.waitForTimeout(300);
    assert.match((await page.getAttribute('#node-input-address', 'class')) ?? '', /input-error/, 'address 16 is invalid');
    await page.click('#node-dialog-cancel');
    await page.waitForTimeout(400);

    // With writes allowed: the inject really changes pack 1, and the status shows the confirmed value.
    await red.api.deploy(deployed(true));
    await reload();
    const debug = await red.debug();
    try {
      const busId = example.find((n) => n.type === 'jkbms-bus')!.id;
      await until(async () => (await red.api.get<PacksReply>(`/jkbms/packs?bus=${busId}`)).packs.some((x) => x.address === 1 && x.online), 30_000, 'pack 1 online', 200);
      await red.api.inject(byName('charging off (pack 1)'));
      const confirmed = await debug.waitFor((m) => m.id === byName('confirmed'), 30_000);
      assert.deepEqual(confirmed.msg, { ok: true, address: 1, setting: 'chargingEnabled', requested: false, before: true, after: false });
      await page.waitForFunction((id) => document.querySelector(`[id="${id}"] .red-ui-flow-node-status-label`)?.textContent === 'chargingEnabled=off ✓', writeId, { timeout: 15_000 });
      assert.equal(sim.pack(1).settings().chargingEnabled, false);
      await red.api.inject(byName('cell OVP 3.65 V (refused: protection)'));
      const refused = await debug.waitFor((m) => m.id === byName('refused or failed'), 15_000);
      assert.match(JSON.stringify(refused.msg), /cellOvp \(Cell over-voltage protection\) is a protection setting/);
      await page.waitForFunction((id) => document.querySelector(`[id="${id}"] .red-ui-flow-node-status-label`)?.textContent === 'refused', writeId, { timeout: 15_000 });
      assert.equal(await statusOf(writeId), 'refused');
      await page.screenshot({ path: join(SHOTS, 'safe-writes-flow.png') });
    } finally {
      debug.close();
    }
  });

  it('jkbms-ha dialog: the Protection row follows the Controls box; no raw i18n keys', async () => {
    await page.evaluate(() => {
      const R = (window as any).RED;
      R.view.importNodes([{ id: 'e2eha0000000001', type: 'jkbms-ha', x: 700, y: 500, wires: [[], []] }], { generateIds: false, touchImport: true });
      R.view.select({ nodes: [] });
    });
    await page.dblclick('[id="e2eha0000000001"]');
    await page.waitForSelector('#node-input-controls', { state: 'visible' });
    assert.equal(await page.isChecked('#node-input-controls'), false, 'controls off by default');
    assert.equal(await page.isVisible('#jkbms-ha-protection-row'), false);
    await page.check('#node-input-controls');
    assert.equal(await page.isVisible('#jkbms-ha-protection-row'), true);
    assert.equal(await page.isChecked('#node-input-protection'), false, 'protection off by default');
    assert.doesNotMatch(await trayText(), RAW_KEY);
    await page.click('#node-dialog-cancel');
    assert.deepEqual(pageErrors, []);
  });
});

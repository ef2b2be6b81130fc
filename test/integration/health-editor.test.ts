import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import type { BusSimulator, TcpListener } from '../../src/sim';
import { editorInChromium, screenshotIfFailed, trayText } from '../helpers/browser';
import { startNodeRed, type NodeRedInstance } from '../helpers/nodered';
import { simGateway } from '../helpers/sim';
import { requireTool } from '../helpers/tools';

/**
 * The jkbms-health node in the editor (headless Chromium, real Node-RED with the packed
 * tarball, a bus on the simulator's TCP gateway): palette entry and help in Node-RED's help
 * style, the edit dialog with its fields, translated texts and range checks, the port labels,
 * and the live status under the node. Screenshots: test-results/health/ (git-ignored).
 */

const ROOT = resolve(__dirname, '..', '..');
const SHOTS = join(ROOT, 'test-results', 'health');
const RAW_KEY = /\bjkbms-health\.[a-z-]+\.[a-zA-Z-]+/;
const HEALTH_ID = 'healthedit00n001';

describe('jkbms-health in the editor (headless Chromium)', function () {
  this.timeout(300_000);
  let sim: BusSimulator;
  let gw: TcpListener;
  let red: NodeRedInstance;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];

  before(async function () {
    requireTool(this, 'chromium');
    mkdirSync(SHOTS, { recursive: true });
    ({ sim, gw } = await simGateway({ packs: [1, 2], seed: 4 }));
    red = await startNodeRed();
    const tab = 'healthedit00tab1';
    await red.api.deploy([
      { id: tab, type: 'tab', label: 'health' },
      { id: 'healthedit00bus1', type: 'jkbms-bus', name: 'house', transport: 'tcp', path: '', baud: 115200, host: gw.host, port: gw.port, mode: 'auto', allowWrites: false,
        minGap: 100, responseTimeout: 300, masterSilence: 1000, settingsInterval: 30, infoInterval: 3600, offlineAfter: 30 },
      { id: HEALTH_ID, type: 'jkbms-health', z: tab, name: '', bus: 'healthedit00bus1', interval: 2, includeMaster: false, x: 200, y: 100, wires: [[], []] },
    ]);
    ({ browser, page } = await editorInChromium(red.url, 'jkbms-health', pageErrors));
  });
  afterEach(async function () {
    await screenshotIfFailed(this, page, SHOTS);
  });
  after(async () => {
    await browser?.close();
    await red?.stop();
    await sim?.stop();
  });

  it('is in the "JK BMS" palette as "jkbms health", with help in Node-RED\'s style whose first paragraph is the tooltip', async () => {
    const info = await page.evaluate(() => {
      const R = (window as any).RED;
      const d = R.nodes.getType('jkbms-health');
      const help = (window as any).$(`script[data-help-name='jkbms-health']`).html() as string;
      const label = document.querySelector('.red-ui-palette-node[data-palette-type="jkbms-health"] .red-ui-palette-label')?.textContent ?? null;
      const node = R.nodes.node('healthedit00n001');
      return { category: d.category, inputs: d.inputs, outputs: d.outputs, icon: d.icon, help, label, ports: [0, 1].map((i) => d.outputLabels.call(node, i)) };
    });
    assert.equal(info.category, 'JK BMS');
    assert.equal(info.label?.replace(/\s+/g, ' '), 'jkbms health');
    assert.deepEqual([info.inputs, info.outputs, info.icon], [1, 2, 'jkbms-health.svg']);
    assert.match(info.help, /^\s*<p>[^<]{80,}<\/p>/);
    assert.match(info.help, /<h3>Inputs<\/h3>\s*<dl class="message-properties">[\s\S]*<h3>Outputs<\/h3>\s*<ol class="node-ports">[\s\S]*<h3>Details<\/h3>[\s\S]*<h4>Resistance \(mΩ\)<\/h4>[\s\S]*<h3>References<\/h3>/);
    assert.doesNotMatch(info.help, /style=/, 'no inline styles in the help');
    assert.match(info.ports[0], /one message per pack/);
    assert.match(info.ports[1], /every finding/);
  });

  it('shows the live status under the node', async () => {
    await page.waitForFunction(
      (id) => /^packs 2, no finding$/.test(document.querySelector(`[id="${id}"] .red-ui-flow-node-status-label`)?.textContent ?? ''),
      HEALTH_ID,
      { timeout: 60_000 },
    );
    await page.screenshot({ path: join(SHOTS, 'flow.png') });
  });

  it('opens its edit dialog with every field, translated, and marks out-of-range values', async () => {
    await page.dblclick(`[id="${HEALTH_ID}"]`);
    await page.waitForSelector('#node-input-interval', { state: 'visible' });
    for (const f of ['bus', 'interval', 'includeMaster', 'name']) {
      assert.equal(await page.locator(`#node-input-${f}`).count(), 1, `field ${f}`);
    }
    const text = await trayText(page);
    assert.doesNotMatch(text, RAW_KEY);
    assert.doesNotMatch((await page.getAttribute('#node-input-bus', 'class')) ?? '', /input-error/, 'the bus is valid');
    assert.equal(await page.evaluate((id) => (window as any).RED.nodes.node(id).valid, HEALTH_ID), true, 'the deployed node is valid');
    assert.match(text, /Send every/);
    assert.equal(await page.inputValue('#node-input-interval'), '2');
    for (const bad of ['-1', '0.5', 'often', '90000']) {
      await page.fill('#node-input-interval', bad);
      await page.press('#node-input-interval', 'Tab');
      await page.waitForTimeout(200);
      assert.match((await page.getAttribute('#node-input-interval', 'class')) ?? '', /input-error/, `interval = ${bad} marked invalid`);
    }
    for (const good of ['0', '60']) {
      await page.fill('#node-input-interval', good);
      await page.press('#node-input-interval', 'Tab');
      await page.waitForTimeout(200);
      assert.doesNotMatch((await page.getAttribute('#node-input-interval', 'class')) ?? '', /input-error/, `interval = ${good} accepted`);
    }
    await page.screenshot({ path: join(SHOTS, 'dialog.png') });
    await page.click('#node-dialog-cancel');
  });

  it('no page errors, no runtime error from the node', () => {
    assert.deepEqual(pageErrors, []);
    assert.deepEqual(red.output.split('\n').filter((l) => /\[error\].*jkbms/.test(l)), []);
  });
});

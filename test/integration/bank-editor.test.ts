import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import type { BusSimulator, TcpListener } from '../../src/sim';
import { editorInChromium, screenshotIfFailed, trayText } from '../helpers/browser';
import { startNodeRed, type NodeRedInstance } from '../helpers/nodered';
import { simGateway } from '../helpers/sim';
import { requireTool } from '../helpers/tools';

/**
 * The jkbms-bank node in the editor (headless Chromium, real Node-RED with the packed
 * tarball, the example "Whole bank summary" deployed on the simulator's TCP gateway): palette
 * entry and help, the edit dialog with its fields, translated texts and range checks, and the
 * live status under the node. Screenshots: test-results/bank/ (git-ignored).
 */

const ROOT = resolve(__dirname, '..', '..');
const SHOTS = join(ROOT, 'test-results', 'bank');
const RAW_KEY = /\bjkbms-bank\.[a-z-]+\.[a-zA-Z-]+/;

type FlowNode = { id: string; type: string; z?: string } & Record<string, unknown>;

describe('jkbms-bank in the editor (headless Chromium)', function () {
  this.timeout(300_000);
  let sim: BusSimulator;
  let gw: TcpListener;
  let red: NodeRedInstance;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];
  const example = JSON.parse(readFileSync(join(ROOT, 'examples', 'Whole bank summary.json'), 'utf8')) as FlowNode[];
  const bankId = example.find((n) => n.type === 'jkbms-bank')!.id;

  before(async function () {
    requireTool(this, 'chromium');
    mkdirSync(SHOTS, { recursive: true });
    ({ sim, gw } = await simGateway({ packs: [1, 2, 3], seed: 4 }));
    red = await startNodeRed();
    const tab = { id: 'bankedit000tab01', type: 'tab', label: 'bank' };
    await red.api.deploy([
      tab,
      ...example.map((n) => (n.type === 'jkbms-bus' ? { ...n, transport: 'tcp', host: gw.host, port: gw.port, masterSilence: 1000 } : { ...n, z: tab.id })),
    ]);
    ({ browser, page } = await editorInChromium(red.url, 'jkbms-bank', pageErrors));
  });
  afterEach(async function () {
    await screenshotIfFailed(this, page, SHOTS);
  });
  after(async () => {
    await browser?.close();
    await red?.stop();
    await sim?.stop();
  });

  it('is in the "JK BMS" palette as "jkbms bank", with help whose first paragraph is the tooltip', async () => {
    const info = await page.evaluate(() => {
      const R = (window as any).RED;
      const d = R.nodes.getType('jkbms-bank');
      const help = (window as any).$(`script[data-help-name='jkbms-bank']`).html() as string;
      const label = document.querySelector('.red-ui-palette-node[data-palette-type="jkbms-bank"] .red-ui-palette-label')?.textContent ?? null;
      return { category: d.category, inputs: d.inputs, outputs: d.outputs, icon: d.icon, help, label };
    });
    assert.equal(info.category, 'JK BMS');
    assert.equal(info.label?.replace(/\s+/g, ' '), 'jkbms bank');
    assert.deepEqual([info.inputs, info.outputs, info.icon], [1, 1, 'jkbms-bank.svg']);
    assert.match(info.help, /^\s*<p>[^<]{40,}/);
    assert.match(info.help, /<h3>Inputs<\/h3>[\s\S]*<h3>Outputs<\/h3>[\s\S]*<h3>Details<\/h3>/);
  });

  it('shows the live bank status under the node', async () => {
    await page.waitForFunction(
      (id) => /^3\/3 \d{1,3}% -?\d+\.\dA$/.test(document.querySelector(`[id="${id}"] .red-ui-flow-node-status-label`)?.textContent ?? ''),
      bankId,
      { timeout: 60_000 },
    );
    await page.screenshot({ path: join(SHOTS, 'flow.png') });
  });

  it('opens its edit dialog with every field, translated, and marks out-of-range values', async () => {
    await page.dblclick(`[id="${bankId}"]`);
    await page.waitForSelector('#node-input-expected', { state: 'visible' });
    for (const f of ['bus', 'expected', 'includeMaster', 'rate', 'staleAfter', 'bankId', 'name']) {
      assert.equal(await page.locator(`#node-input-${f}`).count(), 1, `field ${f}`);
    }
    const text = await trayText(page);
    assert.doesNotMatch(text, RAW_KEY);
    assert.match(text, /Stale after/);
    assert.match(text, /Bank id/);
    assert.equal(await page.inputValue('#node-input-rate'), '5');
    assert.equal(await page.inputValue('#node-input-bankId'), 'bus1');
    for (const [field, bad] of [
      ['expected', '2.5'],
      ['rate', '-1'],
      ['staleAfter', 'soon'],
      ['bankId', 'house battery'],
    ] as const) {
      await page.fill(`#node-input-${field}`, bad);
      await page.press(`#node-input-${field}`, 'Tab');
      await page.waitForTimeout(200);
      assert.match((await page.getAttribute(`#node-input-${field}`, 'class')) ?? '', /input-error/, `${field} = ${bad} marked invalid`);
    }
    await page.fill('#node-input-expected', '3');
    await page.press('#node-input-expected', 'Tab');
    await page.waitForTimeout(200);
    assert.doesNotMatch((await page.getAttribute('#node-input-expected', 'class')) ?? '', /input-error/);
    await page.screenshot({ path: join(SHOTS, 'dialog.png') });
    await page.click('#node-dialog-cancel');
  });

  it('a blank bank id is filled in from the bus name when the dialog is saved', async () => {
    await page.dblclick(`[id="${bankId}"]`);
    await page.waitForSelector('#node-input-bankId', { state: 'visible' });
    await page.fill('#node-input-bankId', '');
    assert.equal(await page.getAttribute('#node-input-bankId', 'placeholder'), 'bus1');
    await page.click('#node-dialog-ok');
    await page.waitForSelector('#node-input-bankId', { state: 'detached' });
    assert.equal(await page.evaluate((id) => (window as any).RED.nodes.node(id).bankId, bankId), 'bus1');
  });

  it('no page errors', () => {
    assert.deepEqual(pageErrors, []);
  });
});

import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import type { PacksReply } from '../../nodes/lib/admin';
import { LIMITS } from '../../nodes/lib/config';
import { editorInChromium, screenshotIfFailed, trayText } from '../helpers/browser';
import { startNodeRed, until, type NodeRedInstance } from '../helpers/nodered';
import { requireTool } from '../helpers/tools';

/**
 * The bus dialog in headless Chromium (real Node-RED, packed tarball): the bus's health
 * counters next to its pack list, labelled from the catalog and refreshed while the dialog is
 * open (and only then); the numeric fields validated with the limits the runtime exports
 * (RED.settings.jkbmsBusLimits), not with a copy of them.
 */

const SHOTS = resolve(__dirname, '..', '..', 'test-results', 'bus-health');
const RAW_KEY = /\bjkbms(-bus)?\.[a-z-]+\.[a-zA-Z0-9-]+/;
const BUS = 'bh00000000000bus';

describe('bus dialog: health counters and limits from the runtime, in headless Chromium', function () {
  this.timeout(300_000);
  let red: NodeRedInstance;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];
  const seen: string[] = [];

  /** The counters the dialog shows: {counter: [value, detail]}. */
  const shown = () =>
    page.evaluate(() => {
      const out: Record<string, [string, string, string]> = {};
      document.querySelectorAll('#jkbms-bus-stats tr[data-stat]').forEach((tr) => {
        const cells = Array.from(tr.querySelectorAll('td')).map((td) => td.textContent ?? '');
        out[tr.getAttribute('data-stat')!] = [cells[1]!, cells[2]!, `${cells[0]} | ${tr.getAttribute('title')}`];
      });
      return out;
    });
  const openBusDialog = async () => {
    await page.dblclick('[id="bh000000000pack1"]');
    await page.waitForSelector('#node-input-bus', { state: 'visible' });
    await page.click('#node-input-btn-bus-edit');
    await page.waitForSelector('#node-config-input-transport', { state: 'visible' });
  };
  const closeDialogs = async () => {
    await page.click('#node-config-dialog-cancel');
    await page.waitForTimeout(300);
    await page.click('#node-dialog-cancel');
    await page.waitForTimeout(300);
  };

  before(async function () {
    requireTool(this, 'chromium');
    mkdirSync(SHOTS, { recursive: true });
    red = await startNodeRed();
    await red.api.deploy([
      { id: 'bh0000000000tab1', type: 'tab', label: 'health' },
      { id: BUS, type: 'jkbms-bus', name: 'sim bus', transport: 'simulator', simPacks: '1-2', simMaster: true, simSeed: 5, simFaults: 'noise=0.2',
        mode: 'auto', minGap: 100, responseTimeout: 300, masterSilence: 2000, settingsInterval: 30, infoInterval: 3600, offlineAfter: 30, allowWrites: false,
        record: false, recordFile: '', recordLimit: 5 },
      { id: 'bh000000000pack1', type: 'jkbms', z: 'bh0000000000tab1', name: 'pack 1', bus: BUS, address: 1, serial: '', emitLive: true,
        emitSettings: false, emitInfo: false, emitAvailability: false, rate: 'all', interval: 10, x: 200, y: 100, wires: [[]] },
    ]);
    await until(async () => ((await red.api.get<PacksReply>(`/jkbms/packs?bus=${BUS}`)).stats?.framesDecoded ?? 0) > 0, 60_000, 'frames decoded');
    ({ browser, page } = await editorInChromium(red.url, 'jkbms-bus', pageErrors));
  });
  afterEach(async function () {
    await screenshotIfFailed(this, page, SHOTS);
  });
  after(async () => {
    if (seen.length) console.log(`      bus dialog saw:\n        ${seen.join('\n        ')}`);
    await browser?.close();
    await red?.stop();
  });

  it('shows the counters next to the pack list, in words from the catalog, and refreshes them while open', async () => {
    await openBusDialog();
    await page.waitForSelector('#jkbms-bus-stats tr[data-stat="framesDecoded"]', { state: 'visible', timeout: 15_000 });
    const first = await shown();
    assert.deepEqual(Object.keys(first), [
      'framesDecoded', 'badFrames', 'bytesDiscarded', 'requestsSent', 'injectionsDeferred', 'timeouts', 'collisions', 'reconnects', 'queued', 'loopLagMs',
    ]);
    for (const [k, [value, , label]] of Object.entries(first)) {
      assert.match(value, /^\d+$/, `${k}: a whole number, got ${JSON.stringify(value)}`);
      assert.doesNotMatch(label, RAW_KEY, `${k}: label and help from the catalog`);
      assert.match(label, /^[A-Z][^|]+ \| [A-Z].{20,}/, `${k}: a label and a sentence of help`);
    }
    assert.equal(first.framesDecoded![2].split(' | ')[0], 'Frames decoded');
    assert.match(first.requestsSent![1], /^\(\d+ of them in a JK master's gaps\)$/);
    assert.match(first.loopLagMs![1], /^ms$/);
    const text = await trayText(page);
    assert.match(text, /Bus health/);
    assert.match(text, /Counted since /);
    assert.doesNotMatch(text, RAW_KEY);

    // Refreshed without a click; the same numbers as the runtime's.
    const before = Number(first.framesDecoded![0]);
    await page.waitForFunction((n) => Number(document.querySelector('#jkbms-bus-stats tr[data-stat="framesDecoded"] .jkbms-bus-stat-value')?.textContent) > n, before, { timeout: 15_000 });
    // Noise on the line (the planted fault) shows as bad frames, with the reason in words.
    await page.waitForFunction(() => /noise \d+/.test(document.querySelector('#jkbms-bus-stats tr[data-stat="badFrames"]')?.textContent ?? ''), null, { timeout: 20_000 });
    const later = await shown();
    const runtime = (await red.api.get<PacksReply>(`/jkbms/packs?bus=${BUS}`)).stats!;
    assert.ok(runtime.framesDecoded >= Number(later.framesDecoded![0]));
    assert.ok(Number(later.badFrames![0]) > 0);
    await page.locator('#jkbms-bus-health').scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(SHOTS, 'bus-health.png') });
    seen.push(`counters: ${Object.entries(later).map(([k, [v, d]]) => `${k} ${v}${d ? ` ${d}` : ''}`).join('; ')}`);

    // Closed: no more requests for the pack list.
    await closeDialogs();
    let asked = 0;
    const count = (r: { url(): string }) => {
      if (new URL(r.url()).pathname === '/jkbms/packs') asked++;
    };
    page.on('request', count);
    await page.waitForTimeout(4000);
    page.off('request', count);
    assert.equal(asked, 0, 'no refresh after the dialog closed');
  });

  it('validates the numeric fields with the limits the runtime exports (RED.settings.jkbmsBusLimits)', async () => {
    const exported = await page.evaluate(() => (window as any).RED.settings.jkbmsBusLimits);
    assert.deepEqual(exported, JSON.parse(JSON.stringify(LIMITS)));
    await openBusDialog();
    const invalid = async (field: string, value: string): Promise<boolean> => {
      await page.fill(`#node-config-input-${field}`, value);
      await page.press(`#node-config-input-${field}`, 'Tab');
      await page.waitForTimeout(200);
      return /input-error/.test((await page.getAttribute(`#node-config-input-${field}`, 'class')) ?? '');
    };
    const [lo, hi] = LIMITS.minGap;
    assert.equal(await invalid('minGap', String(lo - 1)), true, `${lo - 1} ms is below the runtime's limit`);
    assert.equal(await invalid('minGap', String(lo)), false);
    assert.equal(await invalid('minGap', String(hi)), false);
    assert.equal(await invalid('minGap', String(hi + 1)), true);
    assert.equal(await invalid('infoInterval', String(LIMITS.infoInterval[0] - 1)), true);
    assert.equal(await invalid('recordLimit', String(LIMITS.recordLimit[1] + 1)), true);
    // The dialog reads the setting (no copy of its own): other limits, other verdicts.
    await page.evaluate(() => {
      (window as any).RED.settings.jkbmsBusLimits.minGap = [300, 400];
    });
    assert.equal(await invalid('minGap', '250'), true, 'follows the exported setting');
    assert.equal(await invalid('minGap', '350'), false);
    seen.push(`limits from the runtime: minGap ${lo}–${hi} ms (${lo - 1} and ${hi + 1} marked invalid), followed when the setting changes`);
    await closeDialogs();
  });

  it('no page errors', () => {
    assert.deepEqual(pageErrors, []);
  });
});

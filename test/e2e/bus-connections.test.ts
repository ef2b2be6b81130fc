import assert from 'node:assert/strict';
import { mkdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import type { PacksReply } from '../../nodes/lib/admin';
import { editorInChromium, screenshotIfFailed, trayText } from '../helpers/browser';
import { startNodeRed, until, type NodeRedInstance } from '../helpers/nodered';
import { requireTool } from '../helpers/tools';

/**
 * The bus dialog's Connection selector in headless Chromium (real Node-RED, packed tarball):
 * each of serial / tcp / simulator / replay shows its own fields and hides the others'; a
 * deployed simulated bus says "simulated" in its pack list; recording starts and stops from the
 * dialog; a bad address list is marked invalid; no raw i18n keys, no page errors.
 */

const SHOTS = resolve(__dirname, '..', '..', 'test-results', 'bus-connections');
const RAW_KEY = /\bjkbms(-bus)?\.[a-z-]+\.[a-zA-Z0-9-]+/;

/** Fields (node-config-input-<name>) that each connection shows; every other one listed here is hidden. */
const FIELDS: Record<string, string[]> = {
  serial: ['path', 'baud'],
  tcp: ['host', 'port'],
  simulator: ['simPacks', 'simMaster', 'simSeed', 'simFaults', 'simScenario', 'simPlant'],
  replay: ['replayFile', 'replaySpeed', 'replayLoop'],
};
const RECORD_FIELDS = ['record', 'recordFile', 'recordLimit'];

describe('bus dialog: connections in headless Chromium', function () {
  this.timeout(300_000);
  let red: NodeRedInstance;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];
  const seen: string[] = [];

  before(async function () {
    requireTool(this, 'chromium');
    mkdirSync(SHOTS, { recursive: true });
    red = await startNodeRed();
    await red.api.deploy([
      { id: 'bc0000000000tab1', type: 'tab', label: 'sim' },
      { id: 'bc00000000000bus', type: 'jkbms-bus', name: 'sim bus', transport: 'simulator', simPacks: '1-2', simMaster: false, simSeed: 3, simFaults: '',
        mode: 'auto', minGap: 100, responseTimeout: 300, masterSilence: 1000, settingsInterval: 30, infoInterval: 3600, offlineAfter: 30, allowWrites: false,
        record: false, recordFile: 'jkbms-recordings/e2e.jkcap', recordLimit: 5 },
      { id: 'bc000000000pack1', type: 'jkbms', z: 'bc0000000000tab1', name: 'pack 1', bus: 'bc00000000000bus', address: 1, serial: '', emitLive: true,
        emitSettings: false, emitInfo: false, emitAvailability: false, rate: 'all', interval: 10, x: 200, y: 100, wires: [[]] },
    ]);
    await until(async () => (await red.api.get<PacksReply>('/jkbms/packs?bus=bc00000000000bus')).packs.filter((p) => p.serial).length === 2, 60_000, 'both simulated packs identified');
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

  it('shows and hides the right fields for serial, tcp, simulator and replay; pack list and status say simulated; no raw keys', async () => {
    await page.dblclick('[id="bc000000000pack1"]');
    await page.waitForSelector('#node-input-bus', { state: 'visible' });
    await page.click('#node-input-btn-bus-edit');
    await page.waitForSelector('#node-config-input-transport', { state: 'visible' });
    assert.equal(await page.inputValue('#node-config-input-transport'), 'simulator');
    await page.waitForFunction(() => /Simulated bus \(no hardware\): packs 1-2, seed 3, \d+ collisions?/.test(document.querySelector('#jkbms-bus-packs')?.textContent ?? ''), null, { timeout: 30_000 });
    const list = (await page.textContent('#jkbms-bus-packs'))!.replace(/\s+/g, ' ');
    assert.match(list, /1: simulated, JK_PB2A16S20P, \d{11}, fw 15\.38 — online/);
    seen.push(`pack list: ${list.slice(0, 200)}`);
    for (const [connection, shown] of Object.entries(FIELDS)) {
      await page.selectOption('#node-config-input-transport', connection);
      await page.waitForTimeout(150);
      for (const [other, fields] of Object.entries(FIELDS)) {
        for (const f of fields) {
          assert.equal(await page.isVisible(`#node-config-input-${f}`), other === connection, `${connection}: field ${f} ${other === connection ? 'shown' : 'hidden'}`);
        }
      }
      for (const f of RECORD_FIELDS) assert.equal(await page.isVisible(`#node-config-input-${f}`), connection !== 'replay', `${connection}: recording field ${f}`);
      assert.equal(await page.isVisible('#node-config-input-simDayMinutes'), false, `${connection}: the day length only for the household day`);
      const replay = connection === 'replay';
      assert.equal(await page.isDisabled('#node-config-input-mode'), replay, `${connection}: mode ${replay ? 'fixed' : 'free'}`);
      assert.equal(await page.isDisabled('#node-config-input-allowWrites'), replay, `${connection}: allow writes`);
      if (replay) assert.match((await page.textContent('#jkbms-bus-mode-help')) ?? '', /only listens/);
      const text = await trayText(page, { placeholders: true });
      assert.doesNotMatch(text, RAW_KEY, `${connection}: no raw i18n key`);
      await page.screenshot({ path: join(SHOTS, `bus-${connection}.png`) });
      seen.push(`${connection}: shows ${shown.join(', ')}${replay ? '; mode and writes disabled, recording hidden' : ''}`);
    }
    // An address list the simulator refuses is marked invalid; a good one is not.
    await page.selectOption('#node-config-input-transport', 'simulator');
    await page.fill('#node-config-input-simPacks', '0-3');
    await page.press('#node-config-input-simPacks', 'Tab');
    await page.waitForTimeout(300);
    assert.match((await page.getAttribute('#node-config-input-simPacks', 'class')) ?? '', /input-error/, '0-3 is marked invalid');
    await page.fill('#node-config-input-simPacks', '1-4,7');
    await page.press('#node-config-input-simPacks', 'Tab');
    await page.waitForTimeout(300);
    assert.doesNotMatch((await page.getAttribute('#node-config-input-simPacks', 'class')) ?? '', /input-error/, '1-4,7 is valid');
    await page.fill('#node-config-input-simFaults', 'lightning=1');
    await page.press('#node-config-input-simFaults', 'Tab');
    await page.waitForTimeout(300);
    assert.match((await page.getAttribute('#node-config-input-simFaults', 'class')) ?? '', /input-error/, 'an unknown fault is marked invalid');
    seen.push('simulator: "0-3" and "lightning=1" marked invalid, "1-4,7" valid');
    // The status on the canvas: the pack node of a simulated bus, the bus status in the sidebar's config node list is not shown; check the runtime's.
    await page.click('#node-config-dialog-cancel');
    await page.waitForTimeout(300);
    await page.click('#node-dialog-cancel');
    await page.waitForTimeout(300);
  });

  it('simulator scenario, day length and planted faults: a flow without them opens as steady; the runtime\'s parsers check them as typed; deployed, the pack list shows the day and the faults', async () => {
    const markedInvalid = async (field: string) => /input-error/.test((await page.getAttribute(`#node-config-input-${field}`, 'class')) ?? '');
    const type = async (field: string, text: string) => {
      await page.fill(`#node-config-input-${field}`, text);
      await page.press(`#node-config-input-${field}`, 'Tab');
      await page.waitForTimeout(200);
    };
    await page.dblclick('[id="bc000000000pack1"]');
    await page.click('#node-input-btn-bus-edit');
    await page.waitForSelector('#node-config-input-simScenario', { state: 'visible' });
    assert.equal(await page.evaluate(() => typeof (window as any).JKBMS_SIM?.parsePlantedFaultsFor), 'function', 'jkbms/sim-spec.js loaded');
    assert.equal(await page.inputValue('#node-config-input-simScenario'), 'steady', 'a bus saved without a scenario is steady');
    assert.equal(await page.isVisible('#node-config-input-simDayMinutes'), false);
    await page.selectOption('#node-config-input-simScenario', 'day');
    assert.equal(await page.isVisible('#node-config-input-simDayMinutes'), true);
    assert.match((await page.textContent('#jkbms-bus-scenario-help')) ?? '', /one bus bar/);
    assert.equal(await page.inputValue('#node-config-input-simDayMinutes'), '10', 'default day length');
    await type('simDayMinutes', '1');
    assert.ok(await markedInvalid('simDayMinutes'), 'a day of 1 minute is refused');
    await type('simDayMinutes', '2.4');
    assert.ok(!(await markedInvalid('simDayMinutes')));
    // Planted faults: the parser's own message under the field, or how it read them.
    await type('simPlant', 'cell 2.7 +3 ohm');
    assert.ok(await markedInvalid('simPlant'));
    assert.match((await page.textContent('#jkbms-bus-plant-tip')) ?? '', /planted fault "cell 2\.7 \+3 ohm" not understood; write e\.g\. "cell 2\.7: \+3 mΩ"/);
    await type('simPlant', 'cell 9.1: +3 mΩ');
    assert.ok(await markedInvalid('simPlant'));
    assert.match((await page.textContent('#jkbms-bus-plant-tip')) ?? '', /no pack 9 is simulated \(pack addresses 1-2\)/);
    // ... until pack 9 is simulated.
    await type('simPacks', '1-2,9');
    assert.ok(!(await markedInvalid('simPlant')), 'pack 9 is simulated now');
    await type('simPacks', '1-2');
    await type('simPlant', '2.7 +3 mohm; pack 1: -10 % cap');
    assert.ok(!(await markedInvalid('simPlant')));
    assert.equal((await page.textContent('#jkbms-bus-plant-tip'))?.trim(), 'Planted: cell 2.7: +3 mΩ; pack 1: -10 % capacity');
    assert.doesNotMatch(await trayText(page, { placeholders: true }), RAW_KEY);
    await page.screenshot({ path: join(SHOTS, 'bus-simulator-day.png') });
    seen.push(`simulator: day length "1" and planted faults "cell 2.7 +3 ohm", "cell 9.1" (packs 1-2) marked invalid with the parser's message; read back as "${(await page.textContent('#jkbms-bus-plant-tip'))?.trim()}"`);
    await page.click('#node-config-dialog-ok');
    await page.waitForTimeout(300);
    await page.click('#node-dialog-ok');
    await page.waitForTimeout(300);
    await page.click('#red-ui-header-button-deploy');
    await page.waitForFunction(() => /Successfully deployed/.test(document.querySelector('#red-ui-notifications')?.textContent ?? ''), null, { timeout: 30_000 });
    const reply = await until(async () => {
      const r = await red.api.get<PacksReply>('/jkbms/packs?bus=bc00000000000bus');
      return r.sim?.scenario === 'day' && r.packs.some((p) => p.online) ? r : null;
    }, 30_000, 'the household day deployed');
    assert.deepEqual([reply.sim!.dayMinutes, reply.sim!.plant], [2.4, 'cell 2.7: +3 mΩ; pack 1: -10 % capacity']);
    await page.dblclick('[id="bc000000000pack1"]');
    await page.click('#node-input-btn-bus-edit');
    await page.waitForFunction(() => /Household day, a day lasts 2\.4 min: \d\d:\d\d on the simulated clock/.test(document.querySelector('#jkbms-bus-packs')?.textContent ?? ''), null, { timeout: 15_000 });
    const list = (await page.textContent('#jkbms-bus-packs'))!.replace(/\s+/g, ' ');
    assert.match(list, /Planted: cell 2\.7: \+3 mΩ; pack 1: -10 % capacity/);
    seen.push(`deployed household day: ${list.slice(0, 220)}`);
    await page.click('#node-config-dialog-cancel');
    await page.waitForTimeout(300);
    await page.click('#node-dialog-cancel');
    await page.waitForTimeout(300);
  });

  it('starts and stops the recording of the deployed bus from its dialog (relative admin URL)', async () => {
    await page.dblclick('[id="bc000000000pack1"]');
    await page.click('#node-input-btn-bus-edit');
    await page.waitForSelector('#jkbms-bus-record-toggle', { state: 'visible', timeout: 15_000 });
    assert.match((await page.textContent('#jkbms-bus-record-state')) ?? '', /not recording/);
    const post = page.waitForResponse((r) => new URL(r.url()).pathname === '/jkbms/recording' && r.request().method() === 'POST');
    await page.click('#jkbms-bus-record-toggle');
    assert.equal((await post).status(), 200);
    await page.waitForFunction(() => /recording to .*e2e\.jkcap/.test(document.querySelector('#jkbms-bus-record-state')?.textContent ?? ''), null, { timeout: 10_000 });
    const file = join(red.userDir, 'jkbms-recordings', 'e2e.jkcap');
    await until(() => statSync(file, { throwIfNoEntry: false })?.size ?? 0 > 100, 10_000, 'the capture file grows');
    seen.push(`recording: ${(await page.textContent('#jkbms-bus-record-state'))?.trim()}`);
    await page.screenshot({ path: join(SHOTS, 'bus-recording.png') });
    await page.click('#jkbms-bus-record-toggle');
    await page.waitForFunction(() => /not recording/.test(document.querySelector('#jkbms-bus-record-state')?.textContent ?? ''), null, { timeout: 10_000 });
    assert.equal((await red.api.get<PacksReply>('/jkbms/packs?bus=bc00000000000bus')).recording!.state, 'off');
    assert.doesNotMatch(await trayText(page), RAW_KEY);
    await page.click('#node-config-dialog-cancel');
    await page.waitForTimeout(300);
    await page.click('#node-dialog-cancel');
  });

  it('no page errors', () => {
    assert.deepEqual(pageErrors, []);
  });
});

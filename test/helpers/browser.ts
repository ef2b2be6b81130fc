import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';

/**
 * Headless Debian Chromium through playwright-core for the editor and dashboard tests
 * (flags below: no sandbox, no GPU, nothing fetched from the network). Call
 * requireTool(this, 'chromium') first.
 *
 *   const browser = await launchChromium();
 *   const page = await pageCollectingErrors(browser, pageErrors);   // assert.deepEqual(pageErrors, []) at the end
 *   await openEditor(page, red.url, 'jkbms');
 */

export function launchChromium(): Promise<Browser> {
  const { chromium } = require('playwright-core') as typeof import('playwright-core');
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** A new page whose uncaught errors and console errors (a missing favicon and failed resource loads aside) are pushed to `errors`. */
export async function pageCollectingErrors(browser: Browser, errors: string[], viewport = { width: 1400, height: 900 }): Promise<Page> {
  const page = await browser.newPage({ viewport });
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/favicon|Failed to load resource/.test(m.text())) errors.push(`console: ${m.text()}`);
  });
  return page;
}

/**
 * Load the Node-RED editor at `url`, wait until node type `type` is registered and a flow tab is
 * active (nodes imported before that land in "Recovered Nodes" on Node-RED 5), then `settleMs` more.
 */
export async function openEditor(page: Page, url: string, type: string, settleMs = 1000): Promise<void> {
  await page.goto(url, { waitUntil: 'domcontentloaded' });
  await page.waitForFunction((t) => (window as any).RED?.nodes?.getType?.(t) && (window as any).RED.workspaces?.active?.(), type, { timeout: 60_000 });
  await page.waitForTimeout(settleMs);
}

/** launchChromium(), a page collecting errors into `errors`, and openEditor() on it. */
export async function editorInChromium(url: string, type: string, errors: string[], settleMs?: number): Promise<{ browser: Browser; page: Page }> {
  const browser = await launchChromium();
  const page = await pageCollectingErrors(browser, errors);
  await openEditor(page, url, type, settleMs);
  return { browser, page };
}

/** The visible text of the open edit tray ('' without one), with its inputs' placeholders when asked. */
export function trayText(page: Page, opts: { placeholders?: boolean } = {}): Promise<string> {
  return page.evaluate((withPlaceholders) => {
    const tray = document.querySelector('.red-ui-tray:last-of-type') as HTMLElement | null;
    if (!tray) return '';
    if (!withPlaceholders) return tray.innerText;
    const ph = Array.from(tray.querySelectorAll('input[placeholder]')).map((i) => (i as HTMLInputElement).placeholder);
    return `${tray.innerText}\n${ph.join('\n')}`;
  }, opts.placeholders === true);
}

/** For afterEach: a screenshot of the page into `dir` when the test that just ran failed. */
export async function screenshotIfFailed(ctx: Mocha.Context, page: Page | undefined, dir: string): Promise<void> {
  const test = ctx.currentTest;
  if (test?.state !== 'failed' || !page) return;
  await page.screenshot({ path: join(dir, `failed-${test.title.slice(0, 40).replace(/\W+/g, '-')}.png`) }).catch(() => undefined);
}

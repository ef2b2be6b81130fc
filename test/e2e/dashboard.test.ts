import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { MAX_STDERR_MOHM } from '../../src/health/pack';
import type { BusSimulator, TcpListener } from '../../src/sim';
import { launchChromium, pageCollectingErrors } from '../helpers/browser';
import { startNodeRed, until, type NodeRedInstance } from '../helpers/nodered';
import { simGateway } from '../helpers/sim';
import { requireTool } from '../helpers/tools';

/**
 * The example "Dashboard 2 - battery bank" in a real Node-RED with our packed tarball and
 * @flowfuse/node-red-dashboard (the devDependency, linked into the user dir: no network), on
 * the simulator's TCP gateway with two packs of different cell counts, opened in headless
 * Chromium: every pack's cell chart has one bar per simulated cell with the lowest and the
 * highest cell highlighted; every pack's cell-resistance chart (jkbms-health) shows no bar while
 * the current only jitters, then, once it swings, a bar per cell in mΩ — the planted +3 mΩ cell
 * at +3, the healthy ones near 0 — with the note under it saying which; the gauges show the
 * simulated SOC, the texts, the alarm table and the history charts fill in, and the page raises
 * no error.
 *
 * Screenshot: test-results/dashboard.png; with UPDATE_SCREENSHOT=1 also docs/dashboard.png
 * (the README picture).
 */

const ROOT = resolve(__dirname, '..', '..');
const EXAMPLE = join(ROOT, 'examples', 'Dashboard 2 - battery bank.json');
const DASHBOARD = join(ROOT, 'node_modules', '@flowfuse', 'node-red-dashboard');
const SHOT = join(ROOT, 'test-results', 'dashboard.png');
/** Simulated packs: address → cells. */
const PACKS: Record<number, number> = { 1: 16, 2: 15 };
/** A planted high-resistance cell: pack 2 cell 3, +3 mΩ. */
const PLANTED = { address: 2, cell: 3, mohm: 3 };
/** Once released, the packs' current swings ±30 A within a minute (loads switching), so the resistance firms up within the test. */
const SWING = { offsetA: -5, amplitudeA: 30, periodS: 60, noiseA: 1 };
/** Until then a steady −10 A load whose reading wobbles within ±0.4 A: never a current change the health node may use. */
const FLAT_A = -10;
const JITTER_A = 0.4;
/** A shown ΔR lies within this of the truth: 5 standard errors, each at most MAX_STDERR_MOHM (the rule for showing one at all). */
const FIVE_SE = 5 * MAX_STDERR_MOHM;
const RESISTANCE_CHART = 'Cell resistance above its neighbours (mΩ)';

type FlowNode = { id: string; type: string; z?: string; wires?: string[][]; [k: string]: unknown };

/** Put the example on a tab, point its bus at the gateway; the history and the health every 2 s so their charts fill in during the test. */
function prepare(example: FlowNode[], gw: TcpListener): FlowNode[] {
  const tab = { id: 'db2000000000tab1', type: 'tab', label: 'dashboard test' };
  const config = new Set(['jkbms-bus', 'ui-base', 'ui-theme', 'ui-page', 'ui-group']);
  return [
    tab,
    ...example.map((n): FlowNode => {
      if (n.type === 'jkbms-bus') return { ...n, host: gw.host, port: gw.port, masterSilence: 1000 };
      if (n.type === 'jkbms-bank' && n.name === 'history') return { ...n, z: tab.id, rate: 2 };
      if (n.type === 'jkbms-health') return { ...n, z: tab.id, interval: 2 };
      return config.has(n.type) ? n : { ...n, z: tab.id };
    }),
  ];
}

/** What one chart shows: per series, the [x, y] pairs with a value. */
interface ChartView {
  series: { name: string; points: [string | number, number][] }[];
}

/** What a pack's resistance chart and its note showed at one moment, and whether the current was still held flat. */
interface ResistanceView {
  at: number;
  flat: boolean;
  address: number;
  bars: [number, number][];
  note: string;
}

describe('dashboard: example "Dashboard 2 - battery bank" in headless Chromium', function () {
  this.timeout(600_000);
  let sim: BusSimulator;
  let gw: TcpListener;
  let red: NodeRedInstance;
  let browser: Browser;
  let page: Page;
  let userDir: string;
  let flow: FlowNode[];
  const pageErrors: string[] = [];
  let jitter: NodeJS.Timeout | null = null;
  let recorder: NodeJS.Timeout | null = null;
  /** Every change of a pack's resistance chart or note, from the page's first load on. */
  const seen: ResistanceView[] = [];

  /** The cell chart, the SOC gauge and the texts of each pack, from the example's wiring. */
  const packWidgets = (address: number) => {
    const node = flow.find((n) => n.type === 'jkbms' && n.address === address)!;
    const byId = (id: string) => flow.find((n) => n.id === id)!;
    const first = node.wires![0]!.map(byId);
    return {
      chart: node.wires![1]![0]!,
      gauge: first.find((n) => n.type === 'ui-gauge')!.id,
      texts: first.filter((n) => n.type === 'ui-text').map((n) => n.id),
    };
  };
  /** The ECharts state of a chart, through the dashboard's own test hook (window.uiCharts, set when window.Cypress exists). */
  const chartView = (id: string): Promise<ChartView | null> =>
    page.evaluate((cid) => {
      const charts = (window as unknown as { uiCharts?: Record<string, { chart: { getOption(): { series: { name: string; data: [string | number, number | null][] }[] } } }> }).uiCharts;
      const c = charts?.[cid];
      if (!c) return null;
      return {
        series: c.chart.getOption().series.map((s) => ({
          name: s.name,
          points: (s.data ?? []).filter((d): d is [string | number, number] => Array.isArray(d) && typeof d[1] === 'number'),
        })),
      };
    }, id);
  const widgetText = (id: string): Promise<string | null> =>
    page.evaluate((wid) => (document.getElementById(`nrdb-ui-widget-${wid}`) as HTMLElement | null)?.innerText ?? null, id);
  /** The x values of every point a chart holds, with a value or without (null: no bar, its category still on the axis). */
  const chartXs = (id: string): Promise<string[]> =>
    page.evaluate((cid) => {
      const charts = (window as unknown as { uiCharts?: Record<string, { chart: { getOption(): { series: { data?: unknown[] }[] } } }> }).uiCharts;
      return (charts?.[cid]?.chart.getOption().series ?? []).flatMap((x) => (x.data ?? []).map((d) => String(Array.isArray(d) ? d[0] : d)));
    }, id);
  /** A pack's resistance chart, the note under it, and the nodes that feed them, from the example's wiring. */
  const resistanceWidgets = (address: number) => {
    const group = flow.find((n) => n.type === 'ui-group' && n.name === `Pack ${address}`)!.id;
    const chart = flow.find((n) => n.type === 'ui-chart' && n.group === group && n.label === RESISTANCE_CHART)!;
    const note = flow.find((n) => n.type === 'ui-text' && n.group === group && n.label === 'ΔR estimate')!;
    const which = flow.find((n) => n.type === 'switch' && n.wires!.some((w) => w.includes(chart.id)))!;
    const points = flow.find((n) => n.type === 'change' && n.wires![0]!.includes(which.id))!;
    return { chart, note, which, points };
  };
  /** The bars of a resistance chart as [cell, mΩ], and the note's text. */
  const resistanceView = async (address: number): Promise<{ bars: [number, number][]; note: string }> => {
    const w = resistanceWidgets(address);
    const v = await chartView(w.chart.id);
    const bars = (v?.series.flatMap((x) => x.points) ?? []).map(([x, y]): [number, number] => [Number(x), y]);
    return { bars, note: ((await widgetText(w.note.id)) ?? '').replace(/\s+/g, ' ').trim() };
  };

  before(async function () {
    requireTool(this, 'chromium');
    ({ sim, gw } = await simGateway(
      {
        packs: Object.keys(PACKS).map(Number),
        seed: 3,
        packOptions: Object.fromEntries(Object.entries(PACKS).map(([a, cells]) => [a, { cellCount: cells, profile: SWING }])),
        cellFaults: `cell ${PLANTED.address}.${PLANTED.cell}: +${PLANTED.mohm} mΩ`,
      },
      (s) => {
        // The flat phase: a steady load, its reading wobbling within ±JITTER_A (a spread of at most 0.4 A).
        let k = 0;
        const hold = () => {
          k += 1;
          for (const a of Object.keys(PACKS).map(Number)) s.pack(a).setCurrent(FLAT_A + JITTER_A * Math.sin(k * 2.1 + a));
        };
        hold();
        jitter = setInterval(hold, 300);
      },
    ));
    sim.pack(2).setAlarm('wireResistance');

    // The dashboard package from our devDependencies, linked into a fresh user dir (the harness adds our tarball).
    mkdirSync(join(ROOT, '.tmp'), { recursive: true });
    userDir = mkdtempSync(join(ROOT, '.tmp', 'dashboard-'));
    mkdirSync(join(userDir, 'node_modules', '@flowfuse'), { recursive: true });
    symlinkSync(DASHBOARD, join(userDir, 'node_modules', '@flowfuse', 'node-red-dashboard'), 'dir');
    red = await startNodeRed({ userDir });

    flow = prepare(JSON.parse(readFileSync(EXAMPLE, 'utf8')) as FlowNode[], gw);
    await red.api.deploy(flow);

    browser = await launchChromium();
    page = await pageCollectingErrors(browser, pageErrors, { width: 1400, height: 1000 });
    await page.addInitScript(() => {
      (window as unknown as { Cypress: object }).Cypress = {};
    });
    await page.goto(`${red.url}/dashboard/jkbms`, { waitUntil: 'domcontentloaded' });

    // Record what the resistance charts show from the start, whatever test runs meanwhile.
    const last = new Map<number, string>();
    let busy = false;
    recorder = setInterval(() => {
      if (busy) return;
      busy = true;
      void (async () => {
        for (const address of Object.keys(PACKS).map(Number)) {
          const v = await resistanceView(address);
          // Still flat after the view was read: it shows what the flat phase gave.
          const flat = jitter !== null;
          const key = JSON.stringify(v);
          if (last.get(address) !== key) seen.push({ at: Date.now(), flat, address, ...v });
          last.set(address, key);
        }
      })()
        .catch(() => undefined)
        .finally(() => (busy = false));
    }, 200);
  });

  after(async () => {
    if (recorder) clearInterval(recorder);
    if (jitter) clearInterval(jitter);
    await browser?.close();
    await red?.stop();
    await sim?.stop();
    if (userDir) rmSync(userDir, { recursive: true, force: true });
  });

  it('the page "Battery bank" is served at /dashboard/jkbms with every widget', async () => {
    await page.waitForFunction(() => document.title.includes('Battery bank') || !!document.querySelector('.nrdb-ui-page'), null, { timeout: 60_000 });
    const widgets = flow.filter((n) => n.type.startsWith('ui-') && !['ui-base', 'ui-theme', 'ui-page', 'ui-group'].includes(n.type));
    await until(async () => {
      const ids = await page.evaluate(() => Array.from(document.querySelectorAll('[id^="nrdb-ui-widget-"]')).map((e) => e.id));
      return widgets.every((w) => ids.includes(`nrdb-ui-widget-${w.id}`));
    }, 60_000, 'every widget on the page');
  });

  for (const [address, cells] of Object.entries(PACKS).map(([a, c]) => [Number(a), c] as const)) {
    it(`pack ${address}: the cell chart has ${cells} bars, the lowest and the highest cell highlighted, and their delta beside it`, async () => {
      const w = packWidgets(address);
      const view = await until(async () => {
        const v = await chartView(w.chart);
        const bars = v?.series.flatMap((s) => s.points) ?? [];
        return bars.length === cells ? v : null;
      }, 90_000, `${cells} bars in the cell chart of pack ${address}`);
      const by = (name: string) => view.series.find((s) => s.name === name)?.points ?? [];
      assert.deepEqual(view.series.map((s) => s.name), ['cells', 'lowest', 'highest']);
      const all = view.series.flatMap((s) => s.points);
      assert.deepEqual(all.map(([x]) => Number(x)).sort((a, b) => a - b), Array.from({ length: cells }, (_, i) => i + 1), 'one bar per cell');
      const volts = all.map(([, y]) => y);
      assert.ok(volts.every((v) => v > 2.5 && v < 3.65), `plausible cell voltages ${volts.join(' ')}`);
      const [lo] = by('lowest');
      const [hi] = by('highest');
      assert.ok(lo && hi, 'lowest and highest cell highlighted');
      assert.equal(lo[1], Math.min(...volts));
      assert.equal(hi[1], Math.max(...volts));
      // the delta text (first output, same message) agrees with a chart state
      await until(async () => {
        const text = (await widgetText(w.texts.at(-1)!)) ?? '';
        const v = await chartView(w.chart);
        const ys = v?.series.flatMap((s) => s.points.map(([, y]) => y)) ?? [];
        return ys.length === cells && text.includes(`${Math.round((Math.max(...ys) - Math.min(...ys)) * 1000)} mV`);
      }, 30_000, `pack ${address}: the delta text matches the chart`);
    });
  }

  it('the cell-resistance charts show no bar while the current only jitters (±0.4 A), and say so: "waiting for the current to change"', async () => {
    // At least 40 answers per pack (nearly all live frames): more frames than the health node
    // needs for its degrees of freedom (20), and several of its reports (every 2 s).
    await until(() => Object.keys(PACKS).every((a) => sim.pack(Number(a)).counters.framesSent >= 40), 120_000, '40 answers from each pack');
    // Two more reports of the health node (every 2 s) on all of them.
    await page.waitForTimeout(4500);
    for (const address of Object.keys(PACKS).map(Number)) {
      const v = await resistanceView(address);
      assert.deepEqual(v.bars, [], `pack ${address}: no bar after 40 frames of a flat current`);
      assert.match(v.note, /waiting for the current to change/, `pack ${address}: the note`);
      // A cell without an estimate keeps its place on the axis: no bar, not a bar at 0.
      assert.deepEqual(await chartXs(resistanceWidgets(address).chart.id), Array.from({ length: PACKS[address]! }, (_, i) => String(i + 1)), `pack ${address}: every cell on the axis`);
    }
    const flat = seen.filter((v) => v.flat);
    for (const address of Object.keys(PACKS).map(Number)) assert.ok(flat.some((v) => v.address === address && /waiting/.test(v.note)), `pack ${address}: its note recorded while the current was flat`);
    assert.deepEqual(flat.filter((v) => v.bars.length > 0).map((v) => `pack ${v.address}: ${v.bars.map(([c, y]) => `${c}:${y}`).join(' ')}`), [], 'no bar while the current only jitters');
    // Release: the packs follow their swinging profile.
    clearInterval(jitter!);
    jitter = null;
    for (const a of Object.keys(PACKS).map(Number)) sim.pack(a).setCurrent(null);
  });

  for (const [address, cells] of Object.entries(PACKS).map(([a, c]) => [Number(a), c] as const)) {
    it(`pack ${address}: once the current swings, the cell-resistance chart has a bar per cell (${cells}), in mΩ: ${address === PLANTED.address ? `cell ${PLANTED.cell} at +${PLANTED.mohm}, ` : ''}the healthy cells near 0; the note says all cells have an estimate`, async () => {
      const w = resistanceWidgets(address);
      // Wired to mΩ: the chart's Y key is the points' "mohm", which the change node fills from resistanceMohm.
      assert.equal(w.chart.yAxisProperty, 'mohm');
      assert.equal(w.chart.xAxisProperty, 'cell');
      assert.ok(JSON.stringify(w.points.rules).includes('\\"mohm\\": resistanceMohm'), JSON.stringify(w.points.rules));
      assert.ok(w.which.wires!.some((out) => out.includes(w.chart.id) && out.includes(w.note.id)), 'the chart and its note from the same output of "which pack?"');
      const view = await until(
        async () => {
          const v = await resistanceView(address);
          const settled = v.bars.length === cells && v.bars.every(([c, y]) => Math.abs(y - (address === PLANTED.address && c === PLANTED.cell ? PLANTED.mohm : 0)) <= 0.3);
          return settled && new RegExp(`all ${cells} cells, standard error ≤ \\d`).test(v.note) ? v : null;
        },
        90_000,
        `pack ${address}: a bar per cell, each within 0.3 mΩ of the planted truth, and the note "all ${cells} cells"`,
      );
      assert.deepEqual(view.bars.map(([c]) => c).sort((a, b) => a - b), Array.from({ length: cells }, (_, i) => i + 1), 'one bar per cell');
      const se = Number(/standard error ≤ ([\d.]+) mΩ/.exec(view.note)![1]);
      assert.ok(se <= Math.ceil(MAX_STDERR_MOHM * 100) / 100, `the note's standard error ${se} mΩ (rounded up to 0.01)`);
      if (address === PLANTED.address) {
        const top = view.bars.reduce((a, b) => (b[1] > a[1] ? b : a));
        assert.equal(top[0], PLANTED.cell, `the planted cell has the highest bar: ${view.bars.map(([c, y]) => `${c}:${y}`).join(' ')}`);
      }
      // Every view the page ever showed: only cells of this pack, each once, each value within 5 standard errors of the truth.
      await until(() => seen.some((v) => v.address === address && v.bars.length > 0), 10_000, `pack ${address}: the recorder (every 200 ms) saw bars too`);
      const views = seen.filter((v) => v.address === address);
      for (const v of views) {
        const xs = v.bars.map(([c]) => c);
        assert.equal(new Set(xs).size, xs.length, `each cell once: ${xs.join(' ')}`);
        assert.ok(xs.every((c) => Number.isInteger(c) && c >= 1 && c <= cells), `cells of this pack: ${xs.join(' ')}`);
        const off = v.bars.filter(([c, y]) => Math.abs(y - (address === PLANTED.address && c === PLANTED.cell ? PLANTED.mohm : 0)) > FIVE_SE);
        assert.deepEqual(off, [], `pack ${address} at +${v.at - views[0]!.at} ms: ΔR ${v.bars.map(([c, y]) => `${c}:${y}`).join(' ')}`);
      }
    });
  }

  it('the SOC gauges show the simulated SOC (±1 %), the bank gauge the capacity-weighted one', async () => {
    const percent = async (id: string) => Number(/(\d+(?:\.\d+)?)\s*%/.exec((await widgetText(id)) ?? '')?.[1] ?? NaN);
    for (const address of Object.keys(PACKS).map(Number)) {
      const id = packWidgets(address).gauge;
      await until(async () => Math.abs((await percent(id)) - sim.pack(address).live().soc) <= 1, 60_000, `pack ${address} gauge at the simulated SOC`);
    }
    const bankGauge = flow.find((n) => n.type === 'ui-gauge' && n.title === 'Bank SOC')!.id;
    const weighted = () => {
      const lives = Object.keys(PACKS).map((a) => sim.pack(Number(a)).live());
      return lives.reduce((s, l) => s + l.soc * l.fullChargeAh, 0) / lives.reduce((s, l) => s + l.fullChargeAh, 0);
    };
    await until(async () => Math.abs((await percent(bankGauge)) - weighted()) <= 1, 60_000, 'bank gauge at the weighted SOC');
  });

  it('the example imports into the editor with every node known and valid, the pack nodes with two outputs', async () => {
    const editor = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    try {
      await editor.goto(red.url, { waitUntil: 'domcontentloaded' });
      await editor.waitForFunction(() => (window as any).RED?.nodes?.getType?.('ui-chart') && (window as any).RED?.nodes?.getType?.('jkbms'), null, { timeout: 90_000 });
      const example = JSON.parse(readFileSync(EXAMPLE, 'utf8')) as FlowNode[];
      // The deployed flows must be in the editor before the import, or it cannot reuse their config
      // nodes (on a busy machine the node types load well before the flows).
      const deployedConfigs = example.filter((n) => ['jkbms-bus', 'ui-base', 'ui-theme', 'ui-page', 'ui-group'].includes(n.type)).length;
      await editor.waitForFunction(
        (want) => {
          let n = 0;
          (window as any).RED.nodes.eachConfig(() => {
            n += 1;
          });
          return n >= want;
        },
        deployedConfigs,
        { timeout: 30_000 },
      );
      const report = await editor.evaluate((f) => {
        const R = (window as any).RED;
        const result = R.nodes.import(f, { generateIds: true, addFlow: true });
        // the flow nodes; config nodes equal to the deployed ones are reused by the import, so check every config node
        const added: any[] = [...(result?.nodes ?? [])];
        R.nodes.eachConfig((n: any) => {
          added.push(n);
        });
        for (const n of added) R.editor.validateNode(n);
        return {
          count: added.length,
          flowNodes: (result?.nodes ?? []).length,
          unknown: added.filter((n) => n.type === 'unknown' || !R.nodes.getType(n.type)).map((n) => n.type),
          invalid: added.filter((n) => n.valid === false).map((n) => `${n.type} ${n.name || n.label || ''}`),
          packOutputs: added.filter((n) => n.type === 'jkbms').map((n) => n.outputs),
        };
      }, example);
      const configTypes = new Set(['jkbms-bus', 'ui-base', 'ui-theme', 'ui-page', 'ui-group']);
      assert.ok(report.count >= example.length, `${report.count} nodes checked`);
      assert.equal(report.flowNodes, example.filter((n) => !configTypes.has(n.type)).length);
      assert.deepEqual(report.unknown, []);
      assert.deepEqual(report.invalid, []);
      assert.deepEqual(report.packOutputs, [2, 2]);
      // the Cell chart box in the dialog sets the number of outputs
      const outputsAfter = async (checked: boolean) => {
        await editor.evaluate(() => {
          const R = (window as any).RED;
          let pack: any = null;
          R.nodes.eachNode((n: any) => {
            if (n.type === 'jkbms' && n.name === 'pack 1' && !pack) pack = n;
          });
          R.editor.edit(pack);
        });
        await editor.waitForSelector('#node-input-cellChart', { state: 'visible', timeout: 30_000 });
        await editor.setChecked('#node-input-cellChart', checked);
        await editor.click('#node-dialog-ok');
        await editor.waitForSelector('#node-input-cellChart', { state: 'detached', timeout: 30_000 });
        return editor.evaluate(() => {
          const R = (window as any).RED;
          const outs: number[] = [];
          R.nodes.eachNode((n: any) => {
            if (n.type === 'jkbms' && n.name === 'pack 1') outs.push(n.outputs);
          });
          return outs;
        });
      };
      assert.ok((await outputsAfter(false)).includes(1), 'unticked: one output');
      assert.ok(!(await outputsAfter(true)).includes(1), 'ticked again: two outputs');
    } finally {
      await editor.close();
    }
  });

  it('the bank row, the alarm table and the history charts fill in; no page error, no runtime error', async () => {
    const textOf = async (label: string) => widgetText(flow.find((n) => n.type === 'ui-text' && n.label === label && String(n.group) === String(flow.find((g) => g.type === 'ui-group' && g.name === 'Bank')!.id))!.id);
    await until(async () => /2 \/ 2/.test((await textOf('Packs counted')) ?? ''), 30_000, 'packs counted 2 / 2');
    assert.match((await textOf('Power')) ?? '', /-?[\d,]+ W/);
    assert.match((await textOf('Lowest cell')) ?? '', /\d\.\d{3} V, pack [12] #\d+/);
    const table = flow.find((n) => n.type === 'ui-table')!.id;
    await until(async () => /2\s+Balance-wire resistance too high/.test((await widgetText(table)) ?? ''), 30_000, 'the alarm of pack 2 in the table (its label)');
    for (const title of ['Pack current (A), last 6 h', 'Pack SOC (%), last 6 h']) {
      const id = flow.find((n) => n.type === 'ui-chart' && n.label === title)!.id;
      await until(async () => {
        const v = await chartView(id);
        return ['Pack 1', 'Pack 2'].every((p) => (v?.series.find((s) => s.name === p)?.points.length ?? 0) >= 5);
      }, 60_000, `five points per pack in "${title}"`);
    }
    await page.waitForTimeout(1500);
    mkdirSync(join(ROOT, 'test-results'), { recursive: true });
    await page.screenshot({ path: SHOT, fullPage: true });
    if (process.env.UPDATE_SCREENSHOT === '1') {
      mkdirSync(join(ROOT, 'docs'), { recursive: true });
      copyFileSync(SHOT, join(ROOT, 'docs', 'dashboard.png'));
    }
    assert.deepEqual(pageErrors, []);
    const bad = red.output.split('\n').filter((l) => /\[(error|warn)\]/.test(l) && !/Projects disabled|credentials not found|Encrypted credentials/.test(l));
    assert.deepEqual(bad, []);
  });
});

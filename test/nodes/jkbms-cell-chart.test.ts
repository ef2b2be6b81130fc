import assert from 'node:assert/strict';
import helper from 'node-red-node-test-helper';
import { BusSimulator } from '../../src/sim';
import { CELL_CHART_AXIS } from '../../nodes/lib/cell-chart';
import busNode = require('../../nodes/jkbms-bus');
import packNode = require('../../nodes/jkbms');
import { busConfig, nodeTestHooks, useSimulator, type FlowNode, type Msg } from '../helpers/flows';
import { until } from '../helpers/wait';

/**
 * The jkbms node's "Cell chart" option (second output for a Dashboard 2.0 bar chart), with the
 * in-process simulator: a chart message with each live message, none with the others, the Y
 * axis once, answers to requests too; without the option the node keeps one output.
 */

helper.init(require.resolve('node-red'));

function pack(over: Record<string, unknown> = {}): FlowNode {
  return { id: 'p1', type: 'jkbms', z: 't1', bus: 'bus1', address: 1, serial: '', emitLive: true, emitSettings: true, emitInfo: true,
    emitAvailability: true, rate: 'all', interval: 10, cellChart: true, outputs: 2, wires: [['out'], ['chart']], ...over };
}

describe('jkbms node: Cell chart option (test-helper + in-process simulator)', function () {
  this.timeout(40_000);
  let sim: BusSimulator;
  /** Everything both helpers received, in arrival order. */
  let seq: { out: 'out' | 'chart'; msg: Msg }[];

  async function load(node: FlowNode, bus: Partial<FlowNode> = {}) {
    sim = new BusSimulator({ packs: [1, 2], seed: 11, packOptions: { 1: { cellCount: 8 }, 2: { cellCount: 13 } } });
    sim.start();
    useSimulator(sim);
    await helper.load([busNode, packNode], [
      { id: 't1', type: 'tab' },
      busConfig(bus),
      node,
      { id: 'out', type: 'helper', z: 't1' },
      { id: 'chart', type: 'helper', z: 't1' },
    ]);
    seq = [];
    helper.getNode('out').on('input', (m: Msg) => seq.push({ out: 'out', msg: m }));
    helper.getNode('chart').on('input', (m: Msg) => seq.push({ out: 'chart', msg: m }));
  }
  const of = (o: 'out' | 'chart') => seq.filter((s) => s.out === o).map((s) => s.msg);

  nodeTestHooks(() => sim);

  it('sends a chart of the live message\'s cells right after each live message, and nothing with the other kinds', async () => {
    await load(pack());
    await until(() => of('chart').length >= 3 && of('out').some((m) => m.payload.type === 'settings') && of('out').some((m) => m.payload.type === 'info'), 20_000, 'three charts, settings and info');
    const lives = of('out').filter((m) => m.payload.type === 'live');
    const charts = of('chart');
    // every chart message directly follows its live message (one send, two outputs)
    for (const [i, s] of seq.entries()) {
      if (s.out === 'chart') assert.equal(seq[i - 1]?.msg.payload.type, 'live', `chart #${i} follows a live message`);
    }
    assert.equal(charts.length, lives.length);
    charts.forEach((c, i) => {
      const cells: number[] = lives[i]!.payload.cells;
      assert.equal(cells.length, 8, 'the simulated pack has 8 cells');
      assert.equal(c.topic, 'bank/1/cells');
      assert.deepEqual(c.bms, lives[i]!.bms);
      const bars = c.payload.filter((p: Msg) => p.series === 'cells');
      assert.deepEqual(bars.map((p: Msg) => p.cell), ['1', '2', '3', '4', '5', '6', '7', '8']);
      const lo = c.payload.find((p: Msg) => p.series === 'lowest');
      const hi = c.payload.find((p: Msg) => p.series === 'highest');
      assert.equal(c.payload.length, 10);
      if (Math.min(...cells) < Math.max(...cells)) {
        assert.equal(lo.voltage, Math.min(...cells));
        assert.equal(hi.voltage, Math.max(...cells));
        assert.equal(cells[Number(lo.cell) - 1], lo.voltage);
        assert.equal(cells[Number(hi.cell) - 1], hi.voltage);
        // every other cell has its voltage in "cells"
        bars.forEach((p: Msg, k: number) =>
          assert.equal(p.voltage, p.cell === lo.cell || p.cell === hi.cell ? null : cells[k]),
        );
      }
    });
    assert.deepEqual(charts[0]!.ui_update, CELL_CHART_AXIS);
    assert.ok(charts.slice(1).every((c) => c.ui_update === undefined), 'the Y axis is sent once');
  });

  it('"live" asked on the input: the answer and its chart; availability changes bring no chart', async () => {
    await load(pack({ emitSettings: false, emitInfo: false }), { offlineAfter: 5 });
    await until(() => of('chart').length >= 1, 20_000, 'first chart');
    sim.pack(1).setSilent(true);
    await until(() => of('out').some((m) => m.payload.type === 'availability' && m.payload.online === false), 20_000, 'offline');
    const chartsBefore = of('chart').length;
    assert.equal(seq.at(-1)!.out, 'out', 'no chart after the availability message');
    sim.pack(1).setSilent(false);
    const node = helper.getNode('p1');
    node.receive({ payload: 'live', _tag: 'asked' } as any);
    await until(() => seq.some((s, k) => s.out === 'chart' && seq[k - 1]?.msg._tag === 'asked'), 20_000, 'chart of the answer');
    const i = seq.findIndex((s) => s.out === 'out' && s.msg._tag === 'asked');
    assert.equal(seq[i]!.msg.payload.type, 'live');
    assert.equal(seq[i + 1]!.out, 'chart');
    assert.deepEqual(seq[i + 1]!.msg.payload.filter((p: Msg) => p.series === 'cells').length, seq[i]!.msg.payload.cells.length);
    assert.ok(of('chart').length > chartsBefore);
  });

  it('without the option: one output, no chart message', async () => {
    await load(pack({ cellChart: false, outputs: 1, wires: [['out']] }));
    await until(() => of('out').filter((m) => m.payload.type === 'live').length >= 2, 20_000, 'live messages');
    assert.equal(of('chart').length, 0);
    assert.ok(of('out').every((m) => !Array.isArray(m) && m.payload && !Array.isArray(m.payload)));
  });
});

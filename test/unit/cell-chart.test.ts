import assert from 'node:assert/strict';
import { CELL_CHART_AXIS, CellChart, cellChartPoints } from '../../nodes/lib/cell-chart';

describe('cell chart points (jkbms option "Cell chart")', () => {
  it('one point per cell in order; the lowest and the highest cell in series of their own', () => {
    assert.deepEqual(cellChartPoints([3.301, 3.295, 3.31, 3.3]), [
      { cell: '1', voltage: 3.301, series: 'cells' },
      { cell: '2', voltage: null, series: 'cells' },
      { cell: '3', voltage: null, series: 'cells' },
      { cell: '4', voltage: 3.3, series: 'cells' },
      { cell: '2', voltage: 3.295, series: 'lowest' },
      { cell: '3', voltage: 3.31, series: 'highest' },
    ]);
  });

  it('equal lowest (or highest) cells: the first one is highlighted', () => {
    const p = cellChartPoints([3.3, 3.29, 3.29, 3.31, 3.31]);
    assert.deepEqual(p.slice(5), [
      { cell: '2', voltage: 3.29, series: 'lowest' },
      { cell: '4', voltage: 3.31, series: 'highest' },
    ]);
    assert.deepEqual(p.slice(0, 5).map((x) => x.voltage), [3.3, null, 3.29, null, 3.31]);
  });

  it('all cells equal, or a single cell: nothing highlighted, the two series keep their place with a null point', () => {
    const none = [
      { cell: '1', voltage: null, series: 'lowest' },
      { cell: '1', voltage: null, series: 'highest' },
    ];
    assert.deepEqual(cellChartPoints([3.3, 3.3, 3.3]), [
      { cell: '1', voltage: 3.3, series: 'cells' },
      { cell: '2', voltage: 3.3, series: 'cells' },
      { cell: '3', voltage: 3.3, series: 'cells' },
      ...none,
    ]);
    assert.deepEqual(cellChartPoints([3.2]), [{ cell: '1', voltage: 3.2, series: 'cells' }, ...none]);
  });

  it('no cells: no points (an empty array clears a dashboard chart)', () => {
    assert.deepEqual(cellChartPoints([]), []);
  });

  it('32 cells: 34 points, cell numbers 1-32', () => {
    const cells = Array.from({ length: 32 }, (_, i) => 3.3 + i / 1000);
    const p = cellChartPoints(cells);
    assert.equal(p.length, 34);
    assert.deepEqual(p.filter((x) => x.series === 'cells').map((x) => x.cell), cells.map((_, i) => String(i + 1)));
    assert.deepEqual(p.slice(32), [
      { cell: '1', voltage: 3.3, series: 'lowest' },
      { cell: '32', voltage: 3.331, series: 'highest' },
    ]);
  });
});

describe('CellChart: the second output of a jkbms node', () => {
  const live = (cells: number[]) => ({
    topic: 'bank/2/live',
    payload: { type: 'live', address: 2, cells },
    bms: { bus: 'bank', address: 2 },
    frame: { source: 'poll', ts: 1 },
  });

  it('live message: topic <bus>/<address>/cells, the points, bms; the Y axis only on the first message', () => {
    const c = new CellChart();
    const first = c.chartFor(live([3.3, 3.31])) as Record<string, unknown>;
    assert.deepEqual(first, {
      topic: 'bank/2/cells',
      payload: [
        { cell: '1', voltage: null, series: 'cells' },
        { cell: '2', voltage: null, series: 'cells' },
        { cell: '1', voltage: 3.3, series: 'lowest' },
        { cell: '2', voltage: 3.31, series: 'highest' },
      ],
      bms: { bus: 'bank', address: 2 },
      ui_update: { chartOptions: { yAxis: { min: null, max: null, scale: true, minInterval: 0.01, boundaryGap: ['40%', '20%'] } } },
    });
    const second = c.chartFor(live([3.3, 3.3])) as Record<string, unknown>;
    assert.equal(second.ui_update, undefined);
    assert.equal(second.topic, 'bank/2/cells');
    assert.equal((second.payload as unknown[]).length, 4);
    // the axis sent is a copy: a flow that edits it changes nothing for the next node
    ((first.ui_update as any).chartOptions.yAxis as any).min = 3;
    assert.equal(CELL_CHART_AXIS.chartOptions.yAxis.min, null);
    assert.notEqual(new CellChart().chartFor(live([3.3]))!.ui_update, undefined, 'each node sends the axis once');
  });

  it('settings, info, availability and anything else: no chart message', () => {
    const c = new CellChart();
    assert.equal(c.chartFor({ topic: 'bank/2/settings', payload: { type: 'settings', cellCount: 16 } } as any), null);
    assert.equal(c.chartFor({ topic: 'bank/2/info', payload: { type: 'info' } } as any), null);
    assert.equal(c.chartFor({ topic: 'bank/2/availability', payload: { type: 'availability', address: 2, online: false } } as any), null);
    assert.equal(c.chartFor({ payload: 'live' } as any), null);
    assert.equal(c.chartFor({ payload: { type: 'live' } } as any), null, 'no cells array');
    // none of these used up the axis message
    assert.notEqual(c.chartFor(live([3.3]))!.ui_update, undefined);
  });
});

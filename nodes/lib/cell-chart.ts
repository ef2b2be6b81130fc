import type { NodeMessage } from 'node-red';
import type { LivePayload } from '../../src/protocol/types';

/**
 * The `jkbms` node's second output (option "Cell chart"): one message per live message, ready
 * to be wired straight into a Dashboard 2.0 `ui-chart` of type *bar* with
 *   X = key `cell`, Y = key `voltage`, Series = key `series`, stacked, action *replace*:
 * one bar per cell, the lowest and the highest cell in series of their own (so they get their
 * own colour), the other cells in series "cells".
 *
 * The first chart message a node sends after it started also carries `msg.ui_update` with the
 * chart's Y axis: scaled to the cells (not from 0 V), with room below the lowest cell so its
 * bar stays visible, and at least 10 mV per grid line so a 2 mV spread does not look like a
 * fault. Dashboard 2.0 keeps it for the chart (also for browsers that connect later); it is
 * sent once because the dashboard replays every `chartOptions` update it has seen on each
 * message of a *replace* chart.
 */

export type CellSeries = 'cells' | 'lowest' | 'highest';

export interface CellChartPoint {
  /** 1-based cell number as text (a category on the X axis). */
  cell: string;
  /** V; null where the cell is drawn by another series (or nothing is highlighted). */
  voltage: number | null;
  series: CellSeries;
}

export const CELL_CHART_AXIS = {
  chartOptions: {
    yAxis: { min: null, max: null, scale: true, minInterval: 0.01, boundaryGap: ['40%', '20%'] },
  },
} as const;

/**
 * Points for the cell voltages, cell 1 first. Every cell has a point in "cells" (null for the
 * highlighted ones), so the X axis keeps the cell order. The lowest and the highest cell (the
 * first one of each when several are equal) get a point in "lowest" / "highest". When every
 * cell has the same voltage nothing is highlighted, but "lowest" and "highest" still get a null
 * point so the series keep their order and colours. No cells: no points (clears the chart).
 */
export function cellChartPoints(cells: readonly number[]): CellChartPoint[] {
  if (cells.length === 0) return [];
  let lo = 0;
  let hi = 0;
  cells.forEach((v, i) => {
    if (v < cells[lo]!) lo = i;
    if (v > cells[hi]!) hi = i;
  });
  const marked = cells[lo]! < cells[hi]!;
  const points: CellChartPoint[] = cells.map((v, i) => ({
    cell: String(i + 1),
    voltage: marked && (i === lo || i === hi) ? null : v,
    series: 'cells',
  }));
  points.push(
    marked ? { cell: String(lo + 1), voltage: cells[lo]!, series: 'lowest' } : { cell: '1', voltage: null, series: 'lowest' },
    marked ? { cell: String(hi + 1), voltage: cells[hi]!, series: 'highest' } : { cell: '1', voltage: null, series: 'highest' },
  );
  return points;
}

/**
 * Builds the chart messages of one node: `chartFor(msg)` gives the message for the second
 * output (null for anything but live data). Topic `<bus>/<address>/cells`; `bms` copied.
 */
export class CellChart {
  private axisSent = false;

  chartFor(msg: NodeMessage): NodeMessage | null {
    const m = msg as NodeMessage & { payload?: unknown; topic?: string; bms?: unknown };
    const live = m.payload as Partial<LivePayload> | undefined;
    if (!live || live.type !== 'live' || !Array.isArray(live.cells)) return null;
    const out: NodeMessage & Record<string, unknown> = {
      topic: typeof m.topic === 'string' ? m.topic.replace(/\/live$/, '/cells') : 'cells',
      payload: cellChartPoints(live.cells),
    };
    if (m.bms !== undefined) out.bms = m.bms;
    if (!this.axisSent) {
      this.axisSent = true;
      out.ui_update = structuredClone(CELL_CHART_AXIS);
    }
    return out;
  }
}

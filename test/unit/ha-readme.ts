/**
 * The figures the README's "Home Assistant" section states, read from it, so the tests can hold
 * the code (and the measured rate) to them.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface ReadmeFigures {
  /** Default "State at most every", s. */
  rateS: number;
  /** [enabled, disabled] per row of the counts table. */
  plain: [number, number];
  controls: [number, number];
  protection: [number, number];
  simulatedPack: [number, number];
  /** The simulated pack with a jkbms-health node's report (the shipped example). */
  simulatedWithHealth: [number, number];
  /** Recorder load: state messages and kB per pack per hour at the default rate and at 0. */
  statesPerHour: number;
  kBPerHour: number;
  everyFrame: { statesPerHour: number; kBPerHour: number };
  /** The text of the "Home Assistant" section. */
  section: string;
}

export function readmeSection(): string {
  const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');
  const start = readme.indexOf('## Home Assistant\n');
  const end = readme.indexOf('\n## ', start + 10);
  return readme.slice(start, end);
}

function row(section: string, label: RegExp): [number, number] {
  const m = new RegExp(`^\\| ${label.source} \\| (\\d+) \\| (\\d+) \\|$`, 'm').exec(section);
  if (!m) throw new Error(`README: no row ${label}`);
  return [Number(m[1]), Number(m[2])];
}

export function readmeFigures(): ReadmeFigures {
  const section = readmeSection();
  const rate = /^\| State at most every \| (\d+) s \|/m.exec(section);
  const load = /^\| 5 s \(default\) \| (\d+) \| (\d+) kB \|$/m.exec(section);
  const every = /^\| 0 \(every live frame\) \| (\d+) \| (\d+) kB \|$/m.exec(section);
  if (!rate || !load || !every) throw new Error('README: the rate option or the recorder load table is missing');
  return {
    rateS: Number(rate[1]),
    plain: row(section, /16 cells, MOS, T1 and T2 sensors/),
    controls: row(section, /the same with \*Controls\*/),
    protection: row(section, /the same with \*Controls\* and \*Protection\*/),
    simulatedPack: row(section, /16 cells, MOS and T1–T5 \(the simulator\)/),
    simulatedWithHealth: row(section, /the same with a `jkbms-health` node \(the example on the simulator\)/),
    statesPerHour: Number(load[1]),
    kBPerHour: Number(load[2]),
    everyFrame: { statesPerHour: Number(every[1]), kBPerHour: Number(every[2]) },
    section,
  };
}

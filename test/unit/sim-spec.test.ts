import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runInNewContext } from 'node:vm';
import ts from 'typescript';
import { parseBusConfig, type BusNodeDef } from '../../nodes/lib/config';
import { SIM_SPEC_MODULES, simSpecScript } from '../../nodes/lib/sim-spec-script';
import { SimulatedBus } from '../../src/sim/connection';
import { describeScenario, parseDayMinutes, parseSimulatedBus, simulatorOptions, type SimulatedBusSpec } from '../../src/sim/spec';

/**
 * The bus node's simulator settings: scenario, day length and planted faults as stored in a flow
 * (nodes/lib/config.ts → src/sim/spec.ts), what the simulator gets from them, and the same parsers
 * as the editor runs them (nodes/lib/sim-spec-script.ts in a fresh JavaScript context).
 */

/** A simulator bus as an older version of the editor saved it: no scenario, day length or planted faults. */
const OLD_FLOW: BusNodeDef = {
  id: 'b1', type: 'jkbms-bus', name: 'sim', z: '', transport: 'simulator', path: '', baud: 115200, host: '', port: 4196, mode: 'auto', minGap: 100,
  responseTimeout: 300, masterSilence: 2000, settingsInterval: 30, infoInterval: 3600, offlineAfter: 30, allowWrites: false,
  simPacks: '1-3', simMaster: false, simSeed: 5, simFaults: '',
} as BusNodeDef;
const sim = (over: Partial<BusNodeDef>) => parseBusConfig({ ...OLD_FLOW, ...over } as BusNodeDef).transport as SimulatedBusSpec & { kind: string };

describe('simulator settings of the bus node', () => {
  it('a flow saved without the new properties gets exactly the simulator it had (no scenario, speed or planted faults)', () => {
    const t = sim({});
    assert.deepEqual(t, { kind: 'sim', packs: [1, 2, 3], master: false, seed: 5, faults: {} });
    // What the editor saves for it now (defaults steady, 10 min, none) is the same simulator.
    assert.deepEqual(sim({ simScenario: 'steady', simDayMinutes: 10, simPlant: '' }), t);
    assert.deepEqual(sim({ simScenario: '', simDayMinutes: '', simPlant: '  ' }), t);
    const opts = simulatorOptions(t);
    assert.deepEqual(opts, { packs: [1, 2, 3], master: false, seed: 5, faults: {} });
  });

  it('household day: a bank at the speed of the day length; planted faults parsed for the simulator', () => {
    const t = sim({ simScenario: 'day', simDayMinutes: '2.4', simPlant: 'cell 2.7: +3 mΩ; cell 1.12: -8 % capacity' });
    assert.deepEqual(t, {
      kind: 'sim', packs: [1, 2, 3], master: false, seed: 5, faults: {}, scenario: 'day', dayMinutes: 2.4,
      plant: [{ pack: 2, cell: 7, resistanceMohm: 3 }, { pack: 1, cell: 12, capacityPct: -8 }],
    });
    const opts = simulatorOptions(t);
    assert.equal(opts.bank, true);
    assert.equal(opts.speed, 600);
    assert.equal(simulatorOptions({ ...t, dayMinutes: 10 }).speed, 144);
    assert.equal(simulatorOptions({ ...t, dayMinutes: 1440 }).speed, 1);
    assert.deepEqual(opts.cellFaults, [{ pack: 2, cell: 7, resistanceMohm: 3 }, { pack: 1, cell: 12, capacityPct: -8 }]);
    assert.equal(describeScenario(t), 'household day (a day lasts 2.4 min), planted cell 2.7: +3 mΩ; cell 1.12: -8 % capacity');
    // The day length only matters for the day: a steady bus ignores even a bad one.
    assert.deepEqual(sim({ simScenario: 'steady', simDayMinutes: 'soon' }), sim({}));
    // A blank day length is the default, ten minutes.
    assert.equal(sim({ simScenario: 'day', simDayMinutes: '' }).dayMinutes, 10);
  });

  it('tour: every pack follows the tour; planted faults on the JK master need the master', () => {
    const t = sim({ simScenario: 'tour', simMaster: true, simPlant: 'pack 0: -10 % capacity' });
    const opts = simulatorOptions(t);
    assert.deepEqual(opts.packDefaults, { tour: true });
    assert.equal(opts.bank, undefined);
    assert.equal(opts.speed, undefined);
    assert.deepEqual(opts.cellFaults, [{ pack: 0, cell: null, capacityPct: -10 }]);
  });

  it('bad settings: a RangeError naming the field and what is wrong', () => {
    const bad: [Partial<BusNodeDef>, RegExp][] = [
      [{ simScenario: 'week' }, /^simulator scenario: expected steady, day, tour, got "week"$/],
      [{ simScenario: 'day', simDayMinutes: '1' }, /^simulator day length: expected minutes from 2\.4 to 1440 \(1440 = real time\), got "1"$/],
      [{ simScenario: 'day', simDayMinutes: '10 min' }, /^simulator day length: .*got "10 min"$/],
      [{ simScenario: 'day', simDayMinutes: 2000 }, /^simulator day length: .*got "2000"$/],
      [{ simPlant: 'cell 2.7 +3 ohm' }, /^simulator planted faults: planted fault "cell 2\.7 \+3 ohm" not understood; write e\.g\. "cell 2\.7: \+3 mΩ"/],
      [{ simPlant: 'cell 2.17: +3 mΩ' }, /^simulator planted faults: planted fault cell 2\.17: the cell must be 1–16$/],
      [{ simPlant: 'cell 7.1: +3 mΩ' }, /^simulator planted faults: "cell 7\.1: \+3 mΩ": no pack 7 is simulated \(pack addresses 1-3\)$/],
      [{ simPlant: 'cell 0.1: +3 mΩ' }, /^simulator planted faults: "cell 0\.1: \+3 mΩ": pack 0 is the JK master's own pack; turn on the JK master option$/],
      [{ simPlant: 'cell 1.1: +3 mΩ; cell 1.1: +1 mΩ' }, /has mΩ twice/],
      [{ simPlant: 'cell 1.1: +500 mΩ' }, /500 mΩ is outside -0\.25…100/],
    ];
    for (const [over, message] of bad) assert.throws(() => sim(over), (e: Error) => e instanceof RangeError && message.test(e.message), JSON.stringify(over));
  });

  it('the simulated bus built from the settings runs the planted faults and the day (description, simulator state)', async () => {
    const t = sim({ simScenario: 'day', simDayMinutes: 10, simPlant: 'cell 2.7: +3 mΩ' });
    const bus = new SimulatedBus({ spec: t });
    try {
      assert.equal(bus.description, 'simulated bus (packs 1-3, seed 5, household day (a day lasts 10 min), planted cell 2.7: +3 mΩ)');
      assert.ok(bus.simulator.bank, 'a bank');
      assert.deepEqual(bus.simulator.cellFaults, [{ pack: 2, cell: 7, resistanceMohm: 3 }]);
      assert.equal(new SimulatedBus({ spec: sim({}) }).description, 'simulated bus (packs 1-3, seed 5)');
    } finally {
      await bus.close();
    }
  });

  it('day length as typed', () => {
    assert.equal(parseDayMinutes(undefined), 10);
    assert.equal(parseDayMinutes(' 60 '), 60);
    assert.equal(parseDayMinutes(1440), 1440);
    assert.throws(() => parseDayMinutes('-5'), /got "-5"/);
  });
});

describe('simulator settings in the editor (jkbms/sim-spec.js)', () => {
  /** The script as the admin endpoint serves it, from the modules compiled as the build compiles them. */
  function script(): string {
    const compilerOptions = { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true };
    return simSpecScript((name) => ts.transpileModule(readFileSync(join(__dirname, '..', '..', 'src', 'sim', `${name}.ts`), 'utf8'), { compilerOptions }).outputText);
  }
  /** Runs it in a fresh context, as a browser would: window.JKBMS_SIM. */
  function load(): Record<string, (...a: unknown[]) => unknown> {
    const window: Record<string, unknown> = {};
    runInNewContext(script(), { window });
    return window.JKBMS_SIM as never;
  }

  it('defines window.JKBMS_SIM with the runtime parsers: same results, same messages', () => {
    const spec = load();
    // (values from another context: compared as JSON)
    assert.deepEqual(JSON.parse(JSON.stringify(spec.parsePackList!('1-3'))), [1, 2, 3]);
    assert.deepEqual(JSON.parse(JSON.stringify(spec.parsePlantedFaultsFor!('cell 2.7: +3 mohm', [1, 2, 3], false))), [{ pack: 2, cell: 7, resistanceMohm: 3 }]);
    assert.equal(spec.formatPlantedFaults!(spec.parsePlantedFaults!('2.7 +3 milliohm, pack 3: -10 % cap')), 'cell 2.7: +3 mΩ; pack 3: -10 % capacity');
    assert.equal(spec.parseDayMinutes!('2.4'), 2.4);
    assert.equal(spec.formatMinutes!(1440), '24 h');
    const runtime = (() => {
      try {
        parseSimulatedBus({ plant: 'cell 5.1: +3 mΩ', packs: '1-3' });
      } catch (e) {
        return (e as Error).message;
      }
      return '';
    })();
    assert.throws(() => spec.parsePlantedFaultsFor!('cell 5.1: +3 mΩ', [1, 2, 3], false), (e: Error) => runtime === `simulator planted faults: ${e.message}`);
    assert.throws(() => spec.parseDayMinutes!('1'), (e: Error) => e.message === 'expected minutes from 2.4 to 1440 (1440 = real time), got "1"');
  });

  it('serves only spec.ts and what it needs; says so when the modules are not built', () => {
    assert.deepEqual([...SIM_SPEC_MODULES], ['spec', 'faults', 'plant']);
    const missing = simSpecScript((name) => (name === 'plant' ? null : 'exports.x = 1;'));
    assert.match(missing, /src\/sim\/plant\.js missing/);
    const window: Record<string, unknown> = {};
    runInNewContext(missing, { window });
    assert.equal(window.JKBMS_SIM, null);
    // A module that requires something not served fails loudly, not silently.
    const stray = simSpecScript((name) => (name === 'spec' ? 'require("node:fs");' : ''));
    assert.throws(() => runInNewContext(stray, { window: {} }), /node:fs is not served to the editor/);
  });
});

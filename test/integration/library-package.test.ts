import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { encodeResponse } from '../../src/protocol/encode';
import { startNodeRed, type DebugCapture, type NodeRedInstance } from '../helpers/nodered';

/**
 * `require('@jkpb/node-red-jkbms')` as users get it: the packed tarball installed with npm
 * (the Node-RED user dir of startNodeRed, installed from packOnce()'s .tgz), from a plain
 * Node.js script and from a function node whose Setup tab names the module
 * (functionExternalModules) — with module installs switched off, so Node-RED must use the copy
 * the palette installed.
 */

const MODULE = '@jkpb/node-red-jkbms';
const run = promisify(execFile);

/** The first ```js block of README's "Using the library" section: the function-node example. */
function readmeFunctionExample(): string {
  const readme = readFileSync(resolve(__dirname, '..', '..', 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('\n## Using the library'));
  const m = /```js\n([\s\S]*?)```/.exec(section);
  assert.ok(m, 'README "Using the library" has a ```js example');
  return m[1]!;
}

/** Runs in the installed package's user dir; prints one JSON line. */
const SCRIPT = String.raw`
const t0 = process.hrtime.bigint();
const jk = require('@jkpb/node-red-jkbms');
const loadMs = Number(process.hrtime.bigint() - t0) / 1e6;
const fs = require('node:fs');
const path = require('node:path');
const serialportLoaded = Object.keys(require.cache).some((k) => /[\\/]node_modules[\\/](@serialport|serialport)[\\/]/.test(k));
const main = require.resolve('@jkpb/node-red-jkbms');
const pkgDir = path.dirname(require.resolve('@jkpb/node-red-jkbms/package.json'));
const pkg = require('@jkpb/node-red-jkbms/package.json');

// Our encoder's bytes, cut into 7-byte chunks, back through the framer and the decoder.
const bytes = jk.encodeResponse({ type: 'live', cells: [3.301, 3.305, 3.299, 3.302], voltage: 13.207, current: -12.345, soc: 47 }, 2);
const framer = new jk.Framer();
const events = [];
for (let i = 0; i < bytes.length; i += 7) events.push(...framer.push(bytes.subarray(i, i + 7)));
const frames = events.filter((e) => e.type === 'frame');
const live = jk.decodeFrame(frames[0].frame, frames[0].address);

let settingError = null;
try { jk.validateSetting('cellOvp', 9); } catch (err) { settingError = { name: err.name, code: err.code }; }

// The bus engine polling the simulator as master, on the real clock.
(async () => {
  const sim = new jk.BusSimulator({ packs: [3], seed: 7 });
  sim.start();
  const engine = new jk.BusEngine(sim.createHostEndpoint(), { mode: 'master', addresses: [3] });
  const first = new Promise((res, rej) => {
    const timer = setTimeout(() => rej(new Error('no live frame from pack 3 within 15 s')), 15000);
    engine.on('frame', (e) => { if (e.kind === 'live' && e.address === 3) { clearTimeout(timer); res(e); } });
  });
  engine.start();
  const e = await first;
  const info = await engine.request(3, 'info');
  await engine.stop();
  await sim.stop();
  console.log(JSON.stringify({
    loadMs, serialportLoaded,
    main: path.relative(pkgDir, main), mainField: pkg.main, typesField: pkg.types,
    typesExist: fs.existsSync(path.join(pkgDir, pkg.types)),
    frames: frames.length, frameAddress: frames[0].address,
    live: { type: live.type, address: live.address, cells: live.cells, voltage: live.voltage, current: live.current, soc: live.soc, power: live.power },
    settingError, trigger: jk.encodeTrigger(1, 'live').toString('hex'), alarm: jk.alarmLabel('cellUvp'),
    engine: { role: engine.status().role, liveSoc: typeof e.payload.soc, serial: info.serialNumber, simSerial: sim.pack(3).serialNumber },
  }));
})().catch((err) => { console.error(err); process.exit(1); });
`;

describe('library: require(@jkpb/node-red-jkbms) from the packed tarball', function () {
  this.timeout(600_000);
  let red: NodeRedInstance;
  let debug: DebugCapture;

  before(async () => {
    red = await startNodeRed({
      settings: {
        functionExternalModules: true,
        externalModules: { palette: { allowInstall: false }, modules: { allowInstall: false } },
      },
    });
    debug = await red.debug();
  });
  after(async () => {
    await red?.stop();
  });

  it('a Node.js script: main and types are real, require() does not load serialport, and decoder, framer, engine and simulator work', async () => {
    const file = join(red.userDir, 'library-check.js');
    writeFileSync(file, SCRIPT);
    const { stdout } = await run(process.execPath, [file], { cwd: red.userDir, timeout: 60_000 });
    const r = JSON.parse(stdout.trim().split('\n').pop()!);
    assert.equal(r.main, join('dist', 'src', 'index.js'));
    assert.equal(r.mainField, 'dist/src/index.js');
    assert.equal(r.typesField, 'dist/src/index.d.ts');
    assert.equal(r.typesExist, true);
    assert.equal(r.serialportLoaded, false, 'serialport is loaded lazily, not by require()');
    assert.equal(r.frames, 1);
    assert.equal(r.frameAddress, 2);
    assert.deepEqual(r.live, { type: 'live', address: 2, cells: [3.301, 3.305, 3.299, 3.302], voltage: 13.207, current: -12.345, soc: 47, power: -163.04 });
    assert.deepEqual(r.settingError, { name: 'SettingError', code: 'OUT_OF_RANGE' });
    assert.equal(r.trigger, '011016200001020000d6f1');
    assert.equal(r.alarm, 'Cell under-voltage');
    assert.equal(r.engine.role, 'stopped');
    assert.equal(r.engine.liveSoc, 'number');
    assert.equal(r.engine.serial, r.engine.simSerial);
    console.log(`      require('${MODULE}') took ${r.loadMs.toFixed(1)} ms`);
  });

  it("a function node with the module in its Setup tab runs README's example on bus bytes", async () => {
    const bytes = Buffer.concat([
      encodeResponse({ type: 'info', serialNumber: 'FN-0001', vendorId: 'JK_PB2A16S20P', softwareVersion: '15.38' }, 4),
      encodeResponse({ type: 'live', cells: [3.3, 3.31], voltage: 6.61, current: 2, soc: 80 }, 5),
    ]);
    const tab = 'lib0000000000tab';
    const flow = [
      { id: tab, type: 'tab', label: 'library' },
      {
        id: 'lib00000000inj01',
        type: 'inject',
        z: tab,
        props: [{ p: 'payload' }],
        repeat: '',
        once: false,
        topic: '',
        payload: JSON.stringify([...bytes.subarray(0, 150)]),
        payloadType: 'bin',
        wires: [['lib000000000fn01']],
      },
      {
        id: 'lib00000000inj02',
        type: 'inject',
        z: tab,
        props: [{ p: 'payload' }],
        repeat: '',
        once: false,
        topic: '',
        payload: JSON.stringify([...bytes.subarray(150)]),
        payloadType: 'bin',
        wires: [['lib000000000fn01']],
      },
      {
        id: 'lib000000000fn01',
        type: 'function',
        z: tab,
        name: 'decode bus bytes',
        func: readmeFunctionExample(),
        outputs: 1,
        timeout: 0,
        noerr: 0,
        initialize: '',
        finalize: '',
        libs: [{ var: 'jkbms', module: MODULE }],
        wires: [['lib00000000dbg01']],
      },
      { id: 'lib00000000dbg01', type: 'debug', z: tab, name: '', active: true, tosidebar: true, console: false, tostatus: false, complete: 'true', targetType: 'full', wires: [] },
    ];
    await red.api.deploy(flow);
    // Two chunks: the framer kept in the function's context joins them.
    await red.api.inject('lib00000000inj01');
    await red.api.inject('lib00000000inj02');
    const info = await debug.waitFor((m) => m.id === 'lib00000000dbg01' && (m.msg as { topic?: string }).topic === 'jkbms/4/info', 30_000);
    const live = await debug.waitFor((m) => m.id === 'lib00000000dbg01' && (m.msg as { topic?: string }).topic === 'jkbms/5/live', 30_000);
    const ip = (info.msg as { payload: Record<string, unknown> }).payload;
    assert.equal(ip.type, 'info');
    assert.equal(ip.address, 4);
    assert.equal(ip.serialNumber, 'FN-0001');
    assert.equal(ip.softwareVersion, '15.38');
    const lp = (live.msg as { payload: Record<string, unknown> }).payload;
    assert.deepEqual([lp.address, lp.cells, lp.voltage, lp.current, lp.soc], [5, [3.3, 3.31], 6.61, 2, 80]);
    assert.doesNotMatch(red.output, /Installing module|Module not allowed|install_not_allowed/, 'no module install attempted');
  });
});

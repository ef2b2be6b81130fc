import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main, parseMonitorArgs } from '../../src/cli/monitor';
import { decodeFrame } from '../../src/protocol/decode';
import { parseCapture } from '../../src/transport/capture';
import { Framer } from '../../src/protocol/framer';
import { BusSimulator, type TcpListener } from '../../src/sim';
import { captureIo, spawnCli } from '../helpers/cli';

interface Line {
  ts?: number;
  event?: string;
  address?: number;
  kind?: string;
  source?: string;
  online?: boolean;
  role?: string;
  payload?: Record<string, unknown>;
  stats?: {
    role: string;
    requestsSent: number;
    requestsInjected: number;
    bytesDiscarded: number;
    framesDecoded: number;
    packs: Record<string, { frames: number; live: number; settings: number; info: number; liveIntervalMeanMs: number | null; liveIntervalMaxMs: number | null }>;
  };
}

describe('jkbms monitor (CLI)', function () {
  this.timeout(30_000);
  let sim: BusSimulator | undefined;
  let listener: TcpListener | undefined;
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'jkbms-monitor-'));
  });
  afterEach(async () => {
    await sim?.stop();
    sim = listener = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  it('--json --duration --record: one JSON line per event, a final stats line, and a recording that replays to the same frames', async () => {
    sim = new BusSimulator({ packs: [1, 2] });
    sim.start();
    listener = await sim.listenTcp(0);
    const file = join(dir, 'bus.bin');
    const c = captureIo();
    const t0 = Date.now();
    // Master mode: 0.5 s of listening, the scan of addresses 1–15 (≈ 4.5 s), then polling.
    const code = await main(['--tcp', `127.0.0.1:${listener.port}`, '--mode', 'master', '--json', '--duration', '7', '--record', file], c.io);
    assert.equal(code, 0);
    assert.deepEqual(c.err, []);
    const lines = c.out.map((l) => JSON.parse(l) as Line);
    const stats = lines.at(-1)!.stats!;
    assert.ok(stats, 'last line is {"stats": ...}');
    const events = lines.slice(0, -1);
    assert.ok(events.every((e) => typeof e.ts === 'number' && e.ts >= t0 - 1000 && e.ts <= Date.now() + 1000), 'every event has a ts in epoch ms');
    assert.deepEqual(
      events.filter((e) => e.event !== 'frame').map((e) => [e.event, e.role ?? e.address ?? null]),
      [
        ['role', 'listening'],
        ['connection', null],
        ['role', 'master'],
        ['pack', 1],
        ['pack', 2],
        ['role', 'stopped'],
        ['connection', null],
      ],
    );
    const frames = events.filter((e) => e.event === 'frame');
    assert.ok(frames.length > 10, `${frames.length} frames`);
    assert.ok(frames.every((f) => f.source === 'poll' && (f.address === 1 || f.address === 2) && f.payload!.type === f.kind));
    for (const a of ['1', '2']) {
      const p = stats.packs[a]!;
      assert.equal(p.frames, frames.filter((f) => String(f.address) === a).length);
      assert.equal(p.info, 1);
      assert.equal(p.settings, 1);
      // The longest wait is the scan of the 13 dead addresses (300 ms each) after the pack's
      // probe; then every 2 × (exchange + gateway delay + 100 ms gap), plus re-probes from 5 s on.
      assert.ok(p.liveIntervalMaxMs! > 13 * 300 && p.liveIntervalMaxMs! < 13 * 300 + 3000, `pack ${a} max live interval ${p.liveIntervalMaxMs} ms`);
      assert.ok(p.liveIntervalMeanMs! > 250 && p.liveIntervalMeanMs! < p.liveIntervalMaxMs! / 2, `pack ${a} live every ${p.liveIntervalMeanMs} ms`);
    }
    assert.equal(stats.role, 'master');
    assert.equal(stats.requestsInjected, 0);
    assert.equal(stats.bytesDiscarded, 0);
    assert.equal(stats.framesDecoded, frames.length);

    // The recording (a capture: chunks with their times), framed again, gives the same frames in the same order.
    const capture = parseCapture(readFileSync(file));
    assert.equal(capture.format, 'capture');
    assert.equal(capture.header!.meta.source, `tcp://127.0.0.1:${listener.port}`);
    assert.ok(capture.chunks.every((c, i) => i === 0 || c.t >= capture.chunks[i - 1]!.t), 'chunk times never go backwards');
    assert.ok(capture.chunks.at(-1)!.t > 5000 && capture.chunks.at(-1)!.t < 7500, `last chunk at ${capture.chunks.at(-1)!.t} ms`);
    const framer = new Framer();
    const replay = [...capture.chunks.flatMap((c) => framer.push(c.data)), ...framer.flush()]
      .filter((e) => e.type === 'frame')
      .map((e) => (e.type === 'frame' ? JSON.parse(JSON.stringify(decodeFrame(e.frame, e.address))) : null));
    assert.deepEqual(
      replay,
      frames.map((f) => f.payload),
    );
  });

  it('human-readable output while sniffing a JK master, with a summary table', async () => {
    sim = new BusSimulator({ packs: [1], master: true, timing: { master: { cycleMs: 1500, probeTimeoutMs: 60 } } });
    sim.start();
    listener = await sim.listenTcp(0);
    const c = captureIo();
    assert.equal(await main(['--tcp', `127.0.0.1:${listener.port}`, '--duration', '2'], c.io), 0);
    const text = c.out.join('\n');
    assert.match(text, /role listening → sniffing \(JK master traffic heard\)/);
    assert.match(text, /frame {2}pack {2}0 {2}live {6}sniff {2}\d+\.\d\d V/);
    assert.match(text, /pack {2}online {2}frames {2}live {2}settings {2}info {2}errors {2}live every ms \(mean \/ max\)/);
    assert.match(text, /role sniffing \(JK master present\)/);
  });

  it('usage errors exit 2 with a clear message', async () => {
    const cases: [string[], RegExp][] = [
      [[], /say where the bus is: --port PATH \(serial adapter\) or --tcp HOST:PORT \(gateway\)/],
      [['--port', '/dev/ttyUSB0', '--tcp', 'gw:4196'], /either --port or --tcp, not both/],
      [['--tcp', 'gateway'], /--tcp must be HOST:PORT with a port 1–65535, got "gateway"/],
      [['--tcp', 'gw:70000'], /--tcp must be HOST:PORT/],
      [['--tcp', 'gw:4196', '--mode', 'slave'], /--mode must be one of auto, master, listen, got "slave"/],
      [['--tcp', 'gw:4196', '--duration', '0'], /--duration must be a positive number of seconds, got "0"/],
      [['--tcp', 'gw:4196', '--baud', '9600'], /--baud only applies to --port/],
      [['--port', '/dev/ttyUSB0', '--baud', 'fast'], /--baud must be a whole number/],
      [['--tcp', 'gw:4196', '--record'], /--record needs a value/],
      [['--tcp', 'gw:4196', '--verbose'], /unknown option "--verbose"/],
    ];
    for (const [argv, msg] of cases) {
      const c = captureIo();
      assert.equal(await main(argv, c.io), 2, argv.join(' '));
      assert.match(c.err[0]!, msg);
      assert.match(c.err[0]!, /^jkbms monitor: /);
      assert.deepEqual(c.out, []);
    }
    assert.deepEqual(parseMonitorArgs(['--tcp', '[::1]:502']), { target: { host: '::1', port: 502 }, mode: 'auto', durationS: null, json: false, record: null });
    const help = captureIo();
    assert.equal(await main(['--help'], help.io), 0);
    assert.match(help.out[0]!, /^Usage: jkbms monitor/);
  });

  it('an unwritable --record file exits 1 before touching the bus', async () => {
    const c = captureIo();
    assert.equal(await main(['--tcp', '127.0.0.1:9', '--record', join(dir, 'missing', 'x.bin')], c.io), 1);
    assert.match(c.err[0]!, /cannot write the recording .*x\.bin/);
  });

  it('as a process: SIGINT ends it early with the stats line and exit code 0', async () => {
    sim = new BusSimulator({ packs: [1] });
    sim.start();
    listener = await sim.listenTcp(0);
    const entry = "require('./src/cli/monitor').main(process.argv.slice(1)).then((code) => { process.exitCode = code; })";
    const cli = spawnCli(['-e', entry, '--', '--tcp', `127.0.0.1:${listener.port}`, '--json']);
    await cli.printed('"event":"frame"', 20_000);
    cli.child.kill('SIGINT');
    assert.equal(await cli.exited, 0);
    const last = JSON.parse(cli.stdout.trim().split('\n').at(-1)!) as Line;
    assert.ok(last.stats!.packs['1']!.frames >= 1);
  });
});

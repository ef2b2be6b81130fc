import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SerialPort } from 'serialport';
import { main } from '../../src/cli/sim';
import { Framer, decodeLive, encodeTrigger, type DataFrameEvent } from '../../src/protocol';
import { BusSimulator } from '../../src/sim';
import { captureIo } from '../helpers/cli';
import { startPtyPair, type PtyPair } from '../helpers/socat';
import { requireTool } from '../helpers/tools';

/** The host side: a serial port on a pty, framing what it reads. */
async function openHost(path: string) {
  const port = new SerialPort({ path, baudRate: 115200, autoOpen: false });
  await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
  const framer = new Framer();
  const frames: DataFrameEvent[] = [];
  port.on('data', (c: Buffer) => frames.push(...framer.push(c).filter((e): e is DataFrameEvent => e.type === 'frame')));
  const waitFor = async (pred: () => boolean, ms = 5000) => {
    const end = Date.now() + ms;
    while (!pred()) {
      if (Date.now() > end) throw new Error('timed out waiting for frames');
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  const close = () => new Promise<void>((r) => (port.isOpen ? port.close(() => r()) : r()));
  return { port, frames, waitFor, close };
}

describe('sim over a pseudo-terminal (socat)', function () {
  this.timeout(20_000);
  before(function () {
    requireTool(this, 'socat');
  });

  let pair: PtyPair | null = null;
  afterEach(async () => {
    await pair?.stop();
    pair = null;
  });

  it('the host opens the other end of the pty like a serial adapter and polls a pack', async () => {
    pair = await startPtyPair();
    const sim = new BusSimulator({ packs: [1, 2], seed: 8 });
    await sim.attachPty(pair.a);
    sim.start();
    const host = await openHost(pair.b);
    try {
      host.port.write(encodeTrigger(2, 'live'));
      await host.waitFor(() => host.frames.length === 1);
      const f = host.frames[0]!;
      assert.equal(f.address, 2);
      assert.equal(f.tail, 'ack');
      assert.equal(f.bytes.length, 308);
      assert.equal(decodeLive(f.frame, 2).cellCount, 16);
      assert.equal(sim.stats().packs['2']!.requestsReceived, 1);
    } finally {
      await host.close();
      await sim.stop();
    }
    assert.deepEqual(sim.errors, []);
  });

  it('jkbms sim --pty PATH creates the pty itself and streams the JK master to it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'jkbms-sim-test-'));
    const path = join(dir, 'bus');
    const { out, err, stop, io } = captureIo();
    const done = main(['--packs', '1', '--master', '--pty', path], io);
    try {
      while (!out.length) {
        if (err.length) throw new Error(err.join('\n'));
        await new Promise((r) => setTimeout(r, 10));
      }
      assert.deepEqual((JSON.parse(out[0]!) as { listening: unknown }).listening, { pty: path });
      const host = await openHost(path);
      await host.waitFor(() => host.frames.some((f) => f.address === 1));
      const f = host.frames.find((x) => x.address === 1)!;
      assert.equal(f.tail, 'ack');
      assert.equal(decodeLive(f.frame, 1).address, 1);
      await host.close();
    } finally {
      stop();
      assert.equal(await done, 0);
      rmSync(dir, { recursive: true, force: true });
    }
    const stats = JSON.parse(out[1]!) as { sim: { packs: Record<string, { framesSent: number }> } };
    assert.ok(stats.sim.packs['1']!.framesSent >= 1);
    assert.deepEqual(err, []);
  });
});

import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { join } from 'node:path';
import { main } from '../../src/cli/sim';
import { captureIo, spawnCli } from '../helpers/cli';

const ROOT = join(__dirname, '..', '..');

/** Connect to the gateway and resolve once `min` bytes arrived. */
function readBytes(port: number, min: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const s = connect({ port, host: '127.0.0.1' });
    s.on('data', (d: Buffer) => {
      chunks.push(d);
      if (Buffer.concat(chunks).length >= min) {
        s.destroy();
        resolve(Buffer.concat(chunks));
      }
    });
    s.on('error', reject);
  });
}

describe('jkbms sim (CLI)', function () {
  this.timeout(20_000);

  it('as a process: prints where it listens, serves the bus over TCP, prints statistics on SIGINT and exits 0', async () => {
    const cli = spawnCli([join(ROOT, 'src', 'cli', 'sim.ts'), '--packs', '1-3', '--master', '--tcp', '127.0.0.1:0']);
    await cli.printed('\n', 15_000);
    const ready = JSON.parse(cli.stdout.split('\n')[0]!) as { listening: { tcp: string } };
    const port = Number(ready.listening.tcp.split(':')[1]);
    const got = await readBytes(port, 616);
    assert.deepEqual([...got.subarray(0, 5)], [0x55, 0xaa, 0xeb, 0x90, 0x02], "the master's own live frame first");
    cli.child.kill('SIGINT');
    assert.equal(await cli.exited, 0);
    const lines = cli.stdout.trim().split('\n');
    assert.equal(lines.length, 2);
    const stats = JSON.parse(lines[1]!) as { sim: { packs: Record<string, { framesSent: number; requestsReceived: number }>; collisions: number; writesApplied: number } };
    assert.deepEqual(Object.keys(stats.sim.packs), ['0', '1', '2', '3']);
    assert.ok(stats.sim.packs['0']!.framesSent >= 2);
    assert.equal(stats.sim.collisions, 0);
    assert.equal(stats.sim.writesApplied, 0);
    assert.equal(cli.stderr, '');
  });

  it('runs in-process: listening line, traffic over TCP, statistics when stopped', async function () {
    this.timeout(10_000);
    const c = captureIo();
    const done = main(['--packs', '1-2', '--master', '--tcp', '127.0.0.1:0', '--seed', '3'], c.io);
    while (!c.out.length) await new Promise((r) => setTimeout(r, 10));
    const ready = JSON.parse(c.out[0]!) as { listening: { tcp: string }; packs: number[]; master: boolean; seed: number };
    assert.match(ready.listening.tcp, /^127\.0\.0\.1:\d+$/);
    assert.deepEqual(ready.packs, [1, 2]);
    assert.equal(ready.master, true);
    const port = Number(ready.listening.tcp.split(':')[1]);
    const bytes = await new Promise<number>((resolve, reject) => {
      let n = 0;
      const s = connect({ port, host: '127.0.0.1' });
      s.on('data', (d: Buffer) => {
        n += d.length;
        if (n >= 616) {
          s.destroy();
          resolve(n);
        }
      });
      s.on('error', reject);
    });
    assert.ok(bytes >= 616, "the master's own two frames");
    c.stop();
    assert.equal(await done, 0);
    const stats = JSON.parse(c.out[1]!) as { sim: { packs: Record<string, { framesSent: number }>; collisions: number } };
    assert.ok(stats.sim.packs['0']!.framesSent >= 2);
    assert.equal(stats.sim.collisions, 0);
    assert.deepEqual(c.err, []);
  });

  it('exits 1 when it cannot listen', async () => {
    const first = captureIo();
    const running = main(['--tcp', '127.0.0.1:0'], first.io);
    while (!first.out.length) await new Promise((r) => setTimeout(r, 10));
    const taken = (JSON.parse(first.out[0]!) as { listening: { tcp: string } }).listening.tcp;
    const second = captureIo();
    assert.equal(await main(['--tcp', taken], second.io), 1);
    assert.match(second.err[0]!, /jkbms sim: sim: cannot listen on 127\.0\.0\.1:\d+: .*EADDRINUSE/);
    first.stop();
    assert.equal(await running, 0);
  });
});

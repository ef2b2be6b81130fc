import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { Framer, decodeLive, encodeTrigger, type DataFrameEvent } from '../../src/protocol';
import { BusSimulator, type TcpListener } from '../../src/sim';

/** A raw TCP client that records every read and frames the stream. */
class Client {
  readonly reads: Buffer[] = [];
  readonly frames: DataFrameEvent[] = [];
  private readonly framer = new Framer();

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.reads.push(chunk);
      for (const e of this.framer.push(chunk)) if (e.type === 'frame') this.frames.push(e);
    });
  }

  static open(port: number): Promise<Client> {
    return new Promise((resolve, reject) => {
      const s = connect({ port, host: '127.0.0.1' }, () => resolve(new Client(s)));
      s.once('error', reject);
    });
  }

  async waitFor(pred: () => boolean, ms = 3000): Promise<void> {
    const end = Date.now() + ms;
    while (!pred()) {
      if (Date.now() > end) throw new Error('timed out waiting');
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  close(): void {
    this.socket.destroy();
  }
}

describe('sim TCP gateway (loopback)', function () {
  this.timeout(15_000);
  let sim: BusSimulator;
  let gw: TcpListener;
  const clients: Client[] = [];

  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await sim?.stop();
    assert.deepEqual(sim.errors, []);
  });

  it("streams the JK master's traffic to every client, and a client can poll a pack", async () => {
    sim = new BusSimulator({ packs: [1, 2, 3], master: true, seed: 4 });
    gw = await sim.listenTcp(0, '127.0.0.1');
    assert.equal(gw.host, '127.0.0.1');
    assert.ok(gw.port > 0);
    const a = await Client.open(gw.port);
    const b = await Client.open(gw.port);
    clients.push(a, b);
    await a.waitFor(() => gw.clients === 2);
    sim.start();
    // Within ~1 s: the master's own live + settings frames, then pack 1's exchange.
    await a.waitFor(() => a.frames.some((f) => f.address === 1 && f.kind === 'settings'));
    const seen = a.frames.map((f) => `${f.address} ${f.kind}`);
    assert.deepEqual(seen.slice(0, 4), ['0 live', '0 settings', '1 live', '1 settings']);
    await b.waitFor(() => b.frames.length >= 4);
    assert.deepEqual(
      b.frames.slice(0, 4).map((f) => `${f.address} ${f.kind}`),
      seen.slice(0, 4),
    );
    // Both clients got identical bytes so far.
    const len = Math.min(Buffer.concat(a.reads).length, Buffer.concat(b.reads).length);
    assert.deepEqual(Buffer.concat(a.reads).subarray(0, len), Buffer.concat(b.reads).subarray(0, len));
    await sim.stop();

    // Without a master, a client polls pack 2 itself.
    sim = new BusSimulator({ packs: [1, 2, 3], seed: 4 });
    gw = await sim.listenTcp();
    const c = await Client.open(gw.port);
    clients.push(c);
    sim.start();
    c.socket.write(encodeTrigger(2, 'live'));
    await c.waitFor(() => c.frames.length === 1);
    const f = c.frames[0]!;
    assert.equal(f.address, 2);
    assert.equal(f.tail, 'ack');
    assert.equal(decodeLive(f.frame, 2).cellCount, 16);
    // The gateway packs serial bytes into a packet per burst: the answer (frame, 2 ms gap, tail)
    // comes in one read, or two when real-time timer jitter stretches the gap past the packing time.
    assert.equal(Buffer.concat(c.reads).length, 308);
    assert.ok(c.reads.length <= 2, `${c.reads.length} reads`);
    assert.equal(sim.stats().packs['2']!.requestsReceived, 1);
  });

  it('fragment: frames arrive split across several reads and still reassemble', async () => {
    sim = new BusSimulator({ packs: [1, 2], seed: 9, faults: { fragment: 1 } });
    gw = await sim.listenTcp();
    const c = await Client.open(gw.port);
    clients.push(c);
    sim.start();
    for (const address of [1, 2, 1]) {
      const before = c.reads.length;
      const frames = c.frames.length;
      c.socket.write(encodeTrigger(address, 'live'));
      await c.waitFor(() => c.frames.length === frames + 1);
      const reads = c.reads.slice(before);
      assert.ok(reads.length >= 2 && reads.length <= 4, `answer in ${reads.length} reads`);
      assert.equal(Buffer.concat(reads).length, 308);
      assert.equal(c.frames.at(-1)!.address, address);
    }
    assert.equal(sim.stats().faults.fragment, 3);
  });

  it('coalesce: two answers arrive merged in one read', async () => {
    sim = new BusSimulator({ packs: [1, 2], seed: 9, faults: { coalesce: 1 } });
    gw = await sim.listenTcp();
    const c = await Client.open(gw.port);
    clients.push(c);
    sim.start();
    c.socket.write(encodeTrigger(1, 'live'));
    await new Promise((r) => setTimeout(r, 80));
    assert.equal(c.reads.length, 0, 'the first answer is held back');
    c.socket.write(encodeTrigger(2, 'live'));
    await c.waitFor(() => c.frames.length === 2);
    assert.deepEqual(
      c.reads.map((r) => r.length),
      [616],
    );
    assert.deepEqual(
      c.frames.map((f) => f.address),
      [1, 2],
    );
    assert.ok(sim.stats().faults.coalesce >= 2);
  });

  it('refuses a port that is taken, with a clear error', async () => {
    sim = new BusSimulator({ packs: [1] });
    gw = await sim.listenTcp();
    await assert.rejects(sim.listenTcp(gw.port, '127.0.0.1'), /sim: cannot listen on 127\.0\.0\.1:\d+: .*EADDRINUSE/);
  });
});

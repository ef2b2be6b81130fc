import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, Socket, type AddressInfo, type Server } from 'node:net';
import { FakeClock, realClock } from '../../src/common/clock';
import { TcpTransport } from '../../src/transport/tcp';
import { TransportRecorder, waitFor } from '../helpers/transport-recorder';

/** A loopback stand-in for a transparent RS485-to-Ethernet gateway. */
class FakeGateway {
  server: Server | null = null;
  readonly clients = new Set<Socket>();
  connections = 0;
  received = Buffer.alloc(0);
  /** Like a Waveshare gateway: a second client is dropped while one is connected. */
  singleClient = false;
  port = 0;

  async listen(port = 0): Promise<number> {
    const server = createServer((s) => {
      if (this.singleClient && this.clients.size > 0) {
        s.destroy();
        return;
      }
      this.connections += 1;
      s.setNoDelay(true);
      this.clients.add(s);
      s.on('data', (d) => (this.received = Buffer.concat([this.received, d])));
      s.on('error', () => undefined);
      s.on('close', () => this.clients.delete(s));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: '127.0.0.1', port }, () => resolve());
    });
    this.server = server;
    this.port = (server.address() as AddressInfo).port;
    return this.port;
  }

  /** Stop listening and drop every client (a gateway reboot). */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const s of this.clients) s.destroy();
    this.clients.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** The one connected client. */
  client(): Socket {
    assert.equal(this.clients.size, 1, 'exactly one client connected');
    return [...this.clients][0]!;
  }

  async write(data: Buffer): Promise<void> {
    await new Promise<void>((resolve, reject) => this.client().write(data, (err) => (err ? reject(err) : resolve())));
  }
}

/** A port on 127.0.0.1 that nothing listens on right now. */
async function freePort(): Promise<number> {
  const g = new FakeGateway();
  const port = await g.listen();
  await g.stop();
  return port;
}

describe('TcpTransport (loopback gateway)', () => {
  let gateways: FakeGateway[];
  let transports: TcpTransport[];
  let clock: FakeClock;

  async function gateway(port = 0): Promise<FakeGateway> {
    const g = new FakeGateway();
    gateways.push(g);
    await g.listen(port);
    return g;
  }

  function make(port: number, extra: Partial<ConstructorParameters<typeof TcpTransport>[0]> = {}) {
    const t = new TcpTransport({ host: '127.0.0.1', port, clock, backoff: { jitter: 0 }, ...extra });
    transports.push(t);
    return { t, rec: new TransportRecorder(t) };
  }

  beforeEach(() => {
    gateways = [];
    transports = [];
    clock = new FakeClock();
  });

  afterEach(async () => {
    const closing = Promise.all(transports.map((t) => t.close()));
    clock.advance(2500);
    await closing;
    await Promise.all(gateways.map((g) => g.stop()));
    assert.deepEqual(clock.errors, []);
  });

  it('describes itself and rejects bad options with a clear error', () => {
    assert.equal(make(4196).t.description, 'tcp://127.0.0.1:4196');
    assert.equal(new TcpTransport({ host: ' ::1 ', port: 8899 }).description, 'tcp://[::1]:8899');
    assert.equal(new TcpTransport({ host: '[::1]', port: 8899 }).host, '::1');
    assert.equal(make(4196).t.kind, 'tcp');
    assert.throws(() => new TcpTransport({ host: '', port: 4196 }), /a gateway host name or IP address is required/);
    assert.throws(() => new TcpTransport({ host: 'gw', port: 0 }), /port must be an integer 1-65535, got 0/);
    assert.throws(() => new TcpTransport({ host: 'gw', port: 70000 }), /got 70000/);
    assert.throws(() => new TcpTransport({ host: 'gw', port: 23, connectTimeoutMs: 0 }), /connect timeout must be a positive number of ms, got 0/);
  });

  it('carries bytes both ways', async () => {
    const g = await gateway();
    const { t, rec } = make(g.port);
    assert.equal(t.write(Buffer.from([1])), false, 'not open yet');
    t.open();
    await rec.waitCount('open', 1);
    assert.equal(t.isOpen(), true);
    assert.equal(t.write(Buffer.from('4e5703', 'hex')), true);
    await waitFor(() => g.received.length === 3, 3000, 'gateway receives');
    assert.deepEqual(g.received, Buffer.from('4e5703', 'hex'));
    await g.write(Buffer.from('55aaeb90', 'hex'));
    assert.deepEqual(await rec.waitBytes(4), Buffer.from('55aaeb90', 'hex'));
    assert.deepEqual(rec.names(), ['open']);
  });

  it('delivers fragmented and coalesced frames byte-exact, in order, without waiting for frame boundaries', async () => {
    const g = await gateway();
    const { t, rec } = make(g.port);
    t.open();
    await rec.waitCount('open', 1);
    const frame = (n: number) => Buffer.concat([Buffer.from('55aaeb9002', 'hex'), Buffer.alloc(295, n)]);
    const f1 = frame(1);
    // One frame in three fragments: each fragment is delivered on its own.
    await g.write(f1.subarray(0, 3));
    await rec.waitBytes(3);
    await g.write(f1.subarray(3, 150));
    await rec.waitBytes(150);
    await g.write(f1.subarray(150));
    await rec.waitBytes(300);
    assert.ok(rec.chunkCount >= 3, `fragments arrive as they come (${rec.chunkCount} chunks)`);
    // Three frames (and the start of a fourth) in one write.
    const burst = Buffer.concat([frame(2), frame(3), frame(4), frame(5).subarray(0, 10)]);
    await g.write(burst);
    const got = await rec.waitBytes(300 + burst.length);
    assert.deepEqual(got, Buffer.concat([f1, burst]));
  });

  it('gateway restart: close, reconnect with backoff while it is down, open again when it is back', async () => {
    const g = await gateway();
    const { t, rec } = make(g.port);
    t.open();
    await rec.waitCount('open', 1);
    const port = g.port;
    await g.stop();
    await rec.waitCount('reconnect', 1);
    assert.deepEqual(rec.names(), ['open', 'error', 'close', 'reconnect']);
    assert.equal(rec.last('close')!.detail, `tcp://127.0.0.1:${port} closed the connection`);
    assert.deepEqual(rec.last('reconnect')!.detail, { attempt: 1, delayMs: 500 });
    assert.equal(t.write(Buffer.from([1])), false);

    clock.advance(500); // still down: refused
    await rec.waitCount('reconnect', 2);
    assert.deepEqual(rec.last('reconnect')!.detail, { attempt: 2, delayMs: 1000 });
    assert.match(String(rec.last('error')!.detail), new RegExp(`ECONNREFUSED 127.0.0.1:${port}`));
    clock.advance(1000);
    await rec.waitCount('reconnect', 3);
    assert.equal(rec.count('error'), 2, `refused is reported once: ${rec.describe()}`);

    await g.listen(port);
    clock.advance(2000);
    await rec.waitCount('open', 2);
    assert.equal(g.connections, 2);
    assert.equal(t.write(Buffer.from([7, 7])), true);
    await waitFor(() => g.received.length === 2, 3000, 'data after reconnect');
    await g.write(Buffer.from([8]));
    assert.deepEqual(await rec.waitBytes(1), Buffer.from([8]));
    assert.equal(clock.pending, 0);
  });

  it('a gateway that resets the connection is reconnected', async () => {
    const g = await gateway();
    const { t, rec } = make(g.port);
    t.open();
    await rec.waitCount('open', 1);
    g.client().resetAndDestroy();
    await rec.waitCount('reconnect', 1);
    assert.equal(rec.last('close')!.detail, `tcp://127.0.0.1:${g.port}: read ECONNRESET`);
    clock.advance(500);
    await rec.waitCount('open', 2);
    assert.equal(g.connections, 2);
  });

  it('keeps retrying while nothing listens, then connects when the gateway comes up (real clock)', async () => {
    const port = await freePort();
    const t = new TcpTransport({ host: '127.0.0.1', port, backoff: { initialMs: 20, maxMs: 80 }, clock: realClock });
    transports.push(t);
    const rec = new TransportRecorder(t);
    t.open();
    await rec.waitCount('reconnect', 3);
    assert.equal(rec.count('open'), 0);
    assert.equal(rec.count('error'), 1);
    const g = await gateway(port);
    await rec.waitCount('open', 1, 5000);
    await g.write(Buffer.from([0x55]));
    assert.deepEqual(await rec.waitBytes(1), Buffer.from([0x55]));
  });

  it('close() during a pending reconnect cancels it and leaves no timers', async () => {
    const port = await freePort();
    const { t, rec } = make(port);
    t.open();
    await rec.waitCount('reconnect', 1);
    assert.equal(clock.pending, 1);
    await t.close();
    assert.equal(clock.pending, 0);
    const g = await gateway(port);
    clock.advance(60_000);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(g.connections, 0, 'no connect after close()');
    assert.deepEqual(rec.names(), ['error', 'reconnect']);
  });

  it('close() while connected closes the socket; the gateway sees the client leave', async () => {
    const g = await gateway();
    const { t, rec } = make(g.port);
    t.open();
    await rec.waitCount('open', 1);
    await t.close();
    assert.deepEqual(rec.names(), ['open', 'close']);
    await waitFor(() => g.clients.size === 0, 3000, 'gateway sees the disconnect');
    assert.equal(clock.pending, 0);
  });

  it('open() right after close() (both while connecting) ends up connected, with no stray timers', async () => {
    const g = await gateway();
    const { t, rec } = make(g.port);
    t.open();
    const closing = t.close();
    t.open();
    await closing;
    await rec.waitCount('open', 1);
    await waitFor(() => g.clients.size === 1, 3000, 'one client at the gateway');
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(t.isOpen(), true);
    assert.deepEqual(rec.names(), ['open']);
    assert.equal(clock.pending, 0, 'the abandoned attempt left no connect timer');
    await g.write(Buffer.from([3]));
    assert.deepEqual(await rec.waitBytes(1), Buffer.from([3]));
  });

  it('reopen() drops the old connection before opening a new one (single-client gateways)', async () => {
    const g = await gateway();
    g.singleClient = true;
    const { t, rec } = make(g.port);
    t.open();
    await rec.waitCount('open', 1);
    const first = g.client();
    t.reopen('no data for 30 s');
    await rec.waitCount('reconnect', 1);
    assert.equal(rec.last('close')!.detail, 'reopen requested: no data for 30 s');
    await waitFor(() => first.destroyed, 3000, 'old connection closed');
    clock.advance(500);
    await rec.waitCount('open', 2);
    assert.equal(g.connections, 2);
    assert.notEqual(g.client(), first);
    await g.write(Buffer.from([1, 2]));
    assert.deepEqual(await rec.waitBytes(2), Buffer.from([1, 2]));
    assert.equal(rec.count('error'), 0);
  });

  it('write() returns false once the socket can no longer send, and never throws', async () => {
    const g = await gateway();
    const { t, rec } = make(g.port);
    t.open();
    await rec.waitCount('open', 1);
    const socket = t['socket']!;
    socket.write = () => {
      throw new Error('EPIPE (simulated)');
    };
    assert.equal(t.write(Buffer.from([1])), false);
    await rec.waitCount('reconnect', 1);
    assert.equal(rec.last('close')!.detail, `${t.description}: EPIPE (simulated)`);
    clock.advance(500);
    await rec.waitCount('open', 2);
    t['socket']!.end(); // our side half-closed; 'close' comes only after the gateway answers
    assert.equal(t.isOpen(), true);
    assert.equal(t.write(Buffer.from([2])), false);
    await rec.waitCount('close', 2);
    assert.deepEqual(g.received, Buffer.alloc(0));
  });

  describe('connect timeout', () => {
    let blocker: ChildProcess | null = null;
    const fillers: Socket[] = [];

    after(() => {
      for (const s of fillers) s.destroy();
      blocker?.kill('SIGKILL');
    });

    it('gives up on a connect that hangs after connectTimeoutMs and retries', async () => {
      // A listener whose process never accepts (its event loop is blocked without spinning)
      // and whose accept queue is full: further SYNs are dropped, so connect() hangs.
      const code =
        "const s=require('net').createServer();s.listen({host:'127.0.0.1',port:0,backlog:1},()=>{" +
        "process.stdout.write(String(s.address().port)+'\\n');Atomics.wait(new Int32Array(new SharedArrayBuffer(4)),0,0);});";
      blocker = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'ignore'] });
      const port = await new Promise<number>((resolve, reject) => {
        blocker!.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
        blocker!.once('exit', () => reject(new Error('blocker exited')));
      });
      // Stdout is a pipe (written synchronously), so the child's loop is blocked from here on.
      let connected = 0;
      for (let i = 0; i < 4; i++) {
        const s = new Socket();
        s.on('error', () => undefined);
        s.once('connect', () => (connected += 1));
        s.connect({ host: '127.0.0.1', port });
        fillers.push(s);
      }
      await waitFor(() => connected >= 2, 3000, 'the accept queue to fill');

      const { t, rec } = make(port, { connectTimeoutMs: 5000 });
      t.open();
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(rec.count('open'), 0, `connect must hang here: ${rec.describe()}`);
      assert.equal(rec.count('reconnect'), 0);
      clock.advance(4999);
      await new Promise((r) => setTimeout(r, 20));
      assert.equal(rec.count('reconnect'), 0);
      clock.advance(1);
      await rec.waitCount('reconnect', 1);
      assert.equal(rec.last('error')!.detail, `connect to tcp://127.0.0.1:${port} timed out after 5000 ms`);
      assert.equal(t.isOpen(), false);
      assert.equal(clock.pending, 1, 'only the reconnect timer');
    });
  });
});

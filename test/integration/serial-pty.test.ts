import assert from 'node:assert/strict';
import { SerialPort } from 'serialport';
import { SerialTransport } from '../../src/transport/serial';
import { startPtyPair, type PtyPair } from '../helpers/socat';
import { requireTool } from '../helpers/tools';
import { TransportRecorder, waitFor } from '../helpers/transport-recorder';

/** The far end of the pty pair (the "bus"), opened with the real serialport binding. */
class Peer {
  received = Buffer.alloc(0);
  private port: SerialPort | null = null;

  async open(path: string): Promise<void> {
    const port = new SerialPort({ path, baudRate: 115200, autoOpen: false });
    port.on('data', (d: Buffer) => (this.received = Buffer.concat([this.received, d])));
    port.on('error', () => undefined);
    await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
    this.port = port;
  }

  async write(data: Buffer): Promise<void> {
    const port = this.port;
    assert.ok(port, 'peer not open');
    await new Promise<void>((resolve, reject) => port.write(data, (err) => (err ? reject(err) : resolve())));
  }

  async close(): Promise<void> {
    const port = this.port;
    this.port = null;
    if (port?.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
  }
}

describe('SerialTransport over a socat pty pair', function () {
  this.timeout(30_000);
  let pair: PtyPair | null = null;
  let transport: SerialTransport | null = null;
  const peer = new Peer();
  const unexpected: unknown[] = [];
  const onUnexpected = (err: unknown) => unexpected.push(err);

  before(async function () {
    requireTool(this, 'socat');
    process.on('uncaughtException', onUnexpected);
    process.on('unhandledRejection', onUnexpected);
    pair = await startPtyPair();
  });

  after(async () => {
    await transport?.close();
    await peer.close();
    await pair?.stop();
    process.off('uncaughtException', onUnexpected);
    process.off('unhandledRejection', onUnexpected);
  });

  it('carries bytes both ways, then survives an unplug and a replug of the same path', async () => {
    const p = pair!;
    const t = new SerialTransport({ path: p.b, backoff: { initialMs: 100, maxMs: 400 } });
    transport = t;
    const rec = new TransportRecorder(t);
    assert.equal(t.description, `${p.b} @ 115200`);
    await peer.open(p.a);
    t.open();
    await rec.waitCount('open', 1);
    const instance = t['port'];

    const request = Buffer.from('55aaeb900100000000000000000000000000000000', 'hex');
    assert.equal(t.write(request), true);
    await waitFor(() => peer.received.length >= request.length, 3000, 'peer receives');
    assert.deepEqual(peer.received, request);
    const answer = Buffer.from(Array.from({ length: 308 }, (_, i) => (i * 7) & 0xff));
    await peer.write(answer);
    assert.deepEqual(await rec.waitBytes(answer.length), answer);

    // Unplug (bindings-cpp's zero-byte-read recursion hits when the device dies right at open: let it settle).
    await new Promise((r) => setTimeout(r, 200));
    const killedAt = Date.now();
    await p.stop();
    await rec.waitCount('close', 1, 1000);
    const closeMs = Date.now() - killedAt;
    await rec.waitCount('reconnect', 1, 2000);
    assert.equal(t.isOpen(), false);
    assert.equal(t.write(Buffer.from([1])), false);
    await peer.close();
    // The device stays absent for a few attempts: ENOENT is reported once.
    await rec.waitCount('reconnect', 3, 5000);
    const errors = rec.events.filter((e) => e.event === 'error').map((e) => String(e.detail));
    assert.equal(errors.filter((m) => /ENOENT|No such file/.test(m)).length, 1, rec.describe());
    // In words a user can act on: every error names the port, none starts with "Error:"
    // (Node-RED would show "Error: Error: …"), and the unplug says so.
    assert.ok(errors.length >= 2, rec.describe());
    for (const m of errors) {
      assert.ok(m.includes(p.b), `the path is missing in ${JSON.stringify(m)}`);
      assert.doesNotMatch(m, /^Error:/);
    }
    assert.match(String(rec.events.find((e) => e.event === 'close')!.detail), new RegExp(`^${p.b}: .*unplugged or reset\\?\\)$`));

    // Replug: the backoff reopens it.
    await p.restart();
    await rec.waitCount('open', 2, 5000);
    assert.equal(t['port'], instance, 'the same SerialPort instance was reopened');
    await peer.open(p.a);
    rec.clearData();
    peer.received = Buffer.alloc(0);
    assert.equal(t.write(request), true);
    await waitFor(() => peer.received.length >= request.length, 3000, 'peer receives after replug');
    assert.deepEqual(peer.received, request);
    await peer.write(answer);
    assert.deepEqual(await rec.waitBytes(answer.length), answer);

    const closeStarted = Date.now();
    await t.close();
    const closeCallMs = Date.now() - closeStarted;
    assert.ok(closeCallMs < 1000, `close() took ${closeCallMs} ms`);
    assert.equal(t.isOpen(), false);
    assert.deepEqual(unexpected, []);
    console.log(`      unplug noticed after ${closeMs} ms; close() took ${closeCallMs} ms`);
  });
});

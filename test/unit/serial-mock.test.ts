import assert from 'node:assert/strict';
import Module from 'node:module';
import type { BindingInterface } from '@serialport/bindings-interface';
import { SerialPortMock } from 'serialport';
import sinon from 'sinon';
import { FakeClock } from '../../src/common/clock';
import { SerialTransport } from '../../src/transport/serial';
import { TransportRecorder, waitFor } from '../helpers/transport-recorder';

const MockBinding = SerialPortMock.binding;
type MockPort = InstanceType<typeof SerialPortMock>;

/** The transport's SerialPort instance (private; tests look at it to drive the mock). */
function portOf(t: SerialTransport): MockPort {
  const p = t['port'] as unknown as MockPort | null;
  assert.ok(p, 'transport has no port instance');
  return p;
}

/** The open MockPortBinding behind the transport's port. */
function mockOf(t: SerialTransport) {
  const b = portOf(t).port;
  assert.ok(b, 'port is not open');
  return b;
}

describe('SerialTransport (serialport MockBinding, fake clock)', () => {
  let clock: FakeClock;
  let transports: SerialTransport[];

  function make(path: string, extra: Partial<ConstructorParameters<typeof SerialTransport>[0]> = {}) {
    const t = new SerialTransport({ path, binding: MockBinding, clock, backoff: { jitter: 0 }, ...extra });
    transports.push(t);
    return { t, rec: new TransportRecorder(t) };
  }

  beforeEach(() => {
    clock = new FakeClock();
    transports = [];
    MockBinding.reset();
  });

  afterEach(async () => {
    const closing = Promise.all(transports.map((t) => t.close()));
    clock.advance(2500);
    await closing;
    MockBinding.reset();
    assert.deepEqual(clock.errors, []);
  });

  it('describes itself and refuses writes until open', () => {
    MockBinding.createPort('/dev/ttyJK0', { echo: false, record: true });
    const { t } = make('/dev/ttyJK0');
    assert.equal(t.kind, 'serial');
    assert.equal(t.description, '/dev/ttyJK0 @ 115200');
    assert.equal(make('/dev/ttyJK0', { baudRate: 9600 }).t.description, '/dev/ttyJK0 @ 9600');
    assert.equal(t.isOpen(), false);
    assert.equal(t.write(Buffer.from([1, 2, 3])), false);
  });

  it('rejects a missing path or a bad baud rate with a clear error', () => {
    assert.throws(() => new SerialTransport({ path: '  ' }), /a device path is required/);
    assert.throws(() => new SerialTransport({ path: '/dev/ttyUSB0', baudRate: 0 }), /baud rate must be a positive integer, got 0/);
    assert.throws(() => new SerialTransport({ path: '/dev/ttyUSB0', baudRate: 115200.5 }), /got 115200.5/);
  });

  it('opens 8N1 at the baud rate and carries bytes both ways, byte-exact', async () => {
    MockBinding.createPort('/dev/ttyJK0', { echo: false, record: true });
    const { t, rec } = make('/dev/ttyJK0');
    t.open();
    t.open(); // idempotent
    await rec.waitCount('open', 1);
    assert.equal(t.isOpen(), true);
    const opts = mockOf(t).openOptions;
    assert.deepEqual([opts.baudRate, opts.dataBits, opts.parity, opts.stopBits], [115200, 8, 'none', 1]);

    const cmd = Buffer.from('55aaeb9010', 'hex');
    assert.equal(t.write(cmd), true);
    assert.equal(t.write(Buffer.from([0xff])), true);
    await waitFor(() => mockOf(t).recording.length === 6, 2000, 'recorded write');
    assert.deepEqual(mockOf(t).recording, Buffer.from('55aaeb9010ff', 'hex'));

    const answer = Buffer.from(Array.from({ length: 300 }, (_, i) => i & 0xff));
    mockOf(t).emitData(answer.subarray(0, 7));
    mockOf(t).emitData(answer.subarray(7));
    const got = await rec.waitBytes(300);
    assert.deepEqual(got, answer);
    assert.deepEqual(rec.names(), ['open']);
  });

  it('retries a missing device on the backoff, reports the error once, and opens when it appears', async () => {
    const { t, rec } = make('/dev/ttyGONE');
    t.open();
    await rec.waitCount('reconnect', 1);
    assert.deepEqual(rec.last('reconnect')!.detail, { attempt: 1, delayMs: 500 });
    let wait = 500;
    for (const [attempt, delayMs] of [
      [2, 1000],
      [3, 2000],
      [4, 4000],
    ] as const) {
      clock.advance(wait);
      await rec.waitCount('reconnect', attempt);
      assert.deepEqual(rec.last('reconnect')!.detail, { attempt, delayMs });
      assert.equal(clock.pending, 1, 'exactly one reconnect timer');
      wait = delayMs;
    }
    assert.equal(rec.count('error'), 1, rec.describe());
    assert.match(String(rec.last('error')!.detail), /Port does not exist/);
    assert.equal(rec.count('close'), 0, 'never open, so never closed');

    MockBinding.createPort('/dev/ttyGONE', { record: true });
    clock.advance(3999);
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(rec.count('open'), 0, 'not before the backoff delay');
    clock.advance(1);
    await rec.waitCount('open', 1);
    assert.equal(t.isOpen(), true);
    assert.equal(clock.pending, 0);
  });

  it('unplug: emits close, reopens the same instance after the backoff, and errors are reported again once up', async () => {
    MockBinding.createPort('/dev/ttyJK1', { record: true });
    const { t, rec } = make('/dev/ttyJK1');
    t.open();
    await rec.waitCount('open', 1);
    const first = portOf(t);

    // What serialport does when the device vanishes: close with a DisconnectedError.
    const unplug = () => portOf(t).close(undefined, Object.assign(new Error('bad file descriptor'), { disconnected: true }));
    unplug();
    await rec.waitCount('reconnect', 1);
    assert.deepEqual(rec.names(), ['open', 'error', 'close', 'reconnect']);
    assert.equal(rec.events[2]!.detail, '/dev/ttyJK1: bad file descriptor (the adapter went away: unplugged or reset?)');
    assert.equal(t.isOpen(), false);
    assert.equal(t.write(Buffer.from([1])), false);

    clock.advance(500);
    await rec.waitCount('open', 2);
    assert.equal(portOf(t), first, 'same SerialPort instance reopened');
    mockOf(t).emitData(Buffer.from([9, 8, 7]));
    assert.deepEqual(await rec.waitBytes(3), Buffer.from([9, 8, 7]));

    // The same message after the link was up again is reported again (once).
    unplug();
    await rec.waitCount('reconnect', 2);
    assert.equal(rec.count('error'), 2);
    assert.deepEqual(rec.last('reconnect')!.detail, { attempt: 2, delayMs: 1000 }, 'backoff grows until markHealthy()');
  });

  it('markHealthy() resets the backoff to its initial delay', async () => {
    MockBinding.createPort('/dev/ttyJK2');
    const { t, rec } = make('/dev/ttyJK2');
    t.open();
    await rec.waitCount('open', 1);
    portOf(t).close(undefined, Object.assign(new Error('gone'), { disconnected: true }));
    await rec.waitCount('reconnect', 1);
    clock.advance(500);
    await rec.waitCount('open', 2);
    t.markHealthy();
    portOf(t).close(undefined, Object.assign(new Error('gone'), { disconnected: true }));
    await rec.waitCount('reconnect', 2);
    assert.deepEqual(rec.last('reconnect')!.detail, { attempt: 1, delayMs: 500 });
  });

  it('reopen(reason) forces a close and a reopen without an error event; no-op when down or closed', async () => {
    MockBinding.createPort('/dev/ttyJK3');
    const { t, rec } = make('/dev/ttyJK3');
    t.reopen('before open'); // not up: nothing happens
    assert.deepEqual(rec.names(), []);
    t.open();
    await rec.waitCount('open', 1);
    const first = portOf(t);
    t.reopen('no frame for 10 s');
    await rec.waitCount('reconnect', 1);
    assert.deepEqual(rec.names(), ['open', 'close', 'reconnect']);
    assert.equal(rec.events[1]!.detail, 'reopen requested: no frame for 10 s');
    assert.equal(first.isOpen, false, 'the port really was closed');
    clock.advance(500);
    await rec.waitCount('open', 2);
    assert.equal(portOf(t), first);
    await t.close();
    t.reopen('after close');
    assert.equal(clock.pending, 0);
    assert.deepEqual(rec.names(), ['open', 'close', 'reconnect', 'open', 'close']);
  });

  it('close() cancels a pending reconnect, closes the port and frees the device for another opener', async () => {
    MockBinding.createPort('/dev/ttyJK4');
    const { t, rec } = make('/dev/ttyJK4');
    t.open();
    await rec.waitCount('open', 1);
    await t.close();
    assert.equal(t.isOpen(), false);
    assert.equal(portOf(t).isOpen, false);
    assert.deepEqual(rec.names(), ['open', 'close']);
    assert.equal(rec.last('close')!.detail, null);
    assert.equal(clock.pending, 0);
    // The mock's lock is released: someone else can open it now.
    const other = new SerialPortMock({ path: '/dev/ttyJK4', baudRate: 115200, autoOpen: false });
    await new Promise<void>((resolve, reject) => other.open((err) => (err ? reject(err) : resolve())));
    await new Promise<void>((resolve) => other.close(() => resolve()));

    const { t: t2, rec: rec2 } = make('/dev/ttyNOPE');
    t2.open();
    await rec2.waitCount('reconnect', 1);
    assert.equal(clock.pending, 1);
    await t2.close();
    assert.equal(clock.pending, 0, 'reconnect timer cancelled');
    clock.advance(60_000);
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(rec2.count('reconnect'), 1);
    assert.equal(rec2.count('open'), 0);
  });

  it('can be opened again after close(), with the backoff starting over', async () => {
    const { t, rec } = make('/dev/ttyLATER');
    t.open();
    await rec.waitCount('reconnect', 1);
    clock.advance(500);
    await rec.waitCount('reconnect', 2);
    assert.deepEqual(rec.last('reconnect')!.detail, { attempt: 2, delayMs: 1000 });
    await t.close();
    MockBinding.createPort('/dev/ttyLATER', { record: true });
    t.open();
    await rec.waitCount('open', 1);
    assert.equal(t.write(Buffer.from([6])), true);
    await waitFor(() => mockOf(t).recording.length === 1, 2000, 'write after reopen');
    portOf(t).close(undefined, Object.assign(new Error('gone'), { disconnected: true }));
    await rec.waitCount('reconnect', 3);
    assert.deepEqual(rec.last('reconnect')!.detail, { attempt: 1, delayMs: 500 });
  });

  it('open() right after close() (not awaited) ends up open, not closed by the late release', async () => {
    MockBinding.createPort('/dev/ttyRACE', { record: true });
    const { t, rec } = make('/dev/ttyRACE');
    t.open();
    await rec.waitCount('open', 1);
    const closing = t.close();
    t.open();
    await closing;
    await rec.waitCount('open', 2);
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(t.isOpen(), true);
    assert.equal(portOf(t).isOpen, true);
    assert.deepEqual(rec.names(), ['open', 'close', 'open']);
    assert.equal(t.write(Buffer.from([1, 2, 3])), true);
    await waitFor(() => mockOf(t).recording.length === 3, 2000, 'write after the race');
  });

  it('close() resolves after 2 s even if the port never finishes closing', async () => {
    MockBinding.createPort('/dev/ttyHANG');
    const hanging: BindingInterface = {
      list: () => MockBinding.list(),
      async open(options) {
        const port = await MockBinding.open(options);
        port.close = () => new Promise<void>(() => undefined);
        return port;
      },
    };
    const { t, rec } = make('/dev/ttyHANG', { binding: hanging });
    t.open();
    await rec.waitCount('open', 1);
    let resolved = false;
    const closing = t.close().then(() => {
      resolved = true;
    });
    await new Promise((r) => setTimeout(r, 20));
    clock.advance(1999);
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(resolved, false);
    clock.advance(1);
    await closing;
    assert.equal(resolved, true);
    assert.equal(clock.pending, 0);
  });

  it('a failed write (device gone mid-write) replaces the dead stream with a fresh port', async () => {
    MockBinding.createPort('/dev/ttyJK5', { record: true });
    const { t, rec } = make('/dev/ttyJK5');
    t.open();
    await rec.waitCount('open', 1);
    const first = portOf(t);
    mockOf(t).write = () => Promise.reject(new Error('EIO: i/o error, write'));
    assert.equal(t.write(Buffer.from([1, 2])), true);
    await rec.waitCount('reconnect', 1);
    assert.equal(rec.events[1]!.event, 'error');
    assert.equal(rec.events[1]!.detail, '/dev/ttyJK5: EIO: i/o error, write (the adapter went away: unplugged or reset?)');
    assert.equal(first.destroyed, true);
    clock.advance(500);
    await rec.waitCount('open', 2);
    assert.notEqual(portOf(t), first, 'a destroyed stream is replaced');
    assert.equal(t.write(Buffer.from([3, 4])), true);
    await waitFor(() => mockOf(t).recording.length === 2, 2000, 'write on the new port');
    assert.deepEqual(mockOf(t).recording, Buffer.from([3, 4]), 'the failed bytes are not replayed');
    mockOf(t).emitData(Buffer.from([5]));
    assert.deepEqual(await rec.waitBytes(1), Buffer.from([5]));
  });

  it('bytes still queued when the link drops are never sent after the reconnect', async () => {
    MockBinding.createPort('/dev/ttyJK9', { record: true });
    const { t, rec } = make('/dev/ttyJK9');
    t.open();
    await rec.waitCount('open', 1);
    const first = portOf(t);
    mockOf(t).write = () => new Promise<void>(() => undefined); // the adapter stops taking bytes
    assert.equal(t.write(Buffer.from([0xa1])), true);
    assert.equal(t.write(Buffer.from([0xa2])), true);
    assert.ok(first.writableLength > 0);
    first.close(undefined, Object.assign(new Error('gone'), { disconnected: true }));
    await rec.waitCount('reconnect', 1);
    assert.equal(first.destroyed, true, 'the stream holding stale commands is dropped');
    clock.advance(500);
    await rec.waitCount('open', 2);
    assert.notEqual(portOf(t), first);
    assert.equal(t.write(Buffer.from([0xb1])), true);
    await waitFor(() => mockOf(t).recording.length >= 1, 2000, 'new write recorded');
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(mockOf(t).recording, Buffer.from([0xb1]));
  });

  it('write() returns false while the port is already closing underneath', async () => {
    MockBinding.createPort('/dev/ttyJK10', { record: true });
    const { t, rec } = make('/dev/ttyJK10');
    t.open();
    await rec.waitCount('open', 1);
    const binding = mockOf(t);
    portOf(t).close(undefined, Object.assign(new Error('gone'), { disconnected: true }));
    assert.equal(t.isOpen(), true, "'close' has not arrived yet");
    assert.equal(t.write(Buffer.from([1])), false);
    await rec.waitCount('close', 1);
    clock.advance(500);
    await rec.waitCount('open', 2);
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(binding.recording, Buffer.alloc(0));
    assert.deepEqual(mockOf(t).recording, Buffer.alloc(0), 'nothing replayed after the reopen');
  });

  it('a zero-byte read (end of stream) counts as a lost link and gets a fresh port', async () => {
    MockBinding.createPort('/dev/ttyJK6');
    const { t, rec } = make('/dev/ttyJK6');
    t.open();
    await rec.waitCount('open', 1);
    const first = portOf(t);
    const binding = mockOf(t);
    binding.read = async (buffer: Buffer) => ({ bytesRead: 0, buffer });
    binding.emitData(Buffer.from([1])); // wakes the pending read, which now reads 0 bytes
    await rec.waitCount('reconnect', 1);
    assert.equal(rec.last('close')!.detail, '/dev/ttyJK6: serial port stopped delivering data (end of stream)');
    clock.advance(500);
    await rec.waitCount('open', 2);
    assert.notEqual(portOf(t), first);
    mockOf(t).emitData(Buffer.from([0xaa, 0x55]));
    assert.deepEqual(await rec.waitBytes(2), Buffer.from([0xaa, 0x55]));
  });

  it('flushInput() drops bytes the adapter still holds; best effort when closed', async () => {
    MockBinding.createPort('/dev/ttyJK7');
    const { t, rec } = make('/dev/ttyJK7');
    t.flushInput(); // not open: nothing happens, nothing throws
    t.open();
    await rec.waitCount('open', 1);
    const internal = mockOf(t).port;
    internal.data = Buffer.from([1, 2, 3]); // stale FIFO content nobody has read yet
    t.flushInput();
    await waitFor(() => internal.data.length === 0, 2000, 'flush');
  });

  it('a throwing listener cannot break the reconnect loop', async () => {
    MockBinding.createPort('/dev/ttyJK8');
    const logs: string[] = [];
    const { t, rec } = make('/dev/ttyJK8', { log: (level, msg) => logs.push(`${level}: ${msg}`) });
    t.on('close', () => {
      throw new Error('listener bug');
    });
    t.on('reconnect', () => {
      throw new Error('listener bug 2');
    });
    t.open();
    await rec.waitCount('open', 1);
    portOf(t).close(undefined, Object.assign(new Error('gone'), { disconnected: true }));
    await rec.waitCount('reconnect', 1);
    clock.advance(500);
    await rec.waitCount('open', 2);
    assert.ok(logs.includes("error: /dev/ttyJK8 @ 115200: a 'close' listener threw: listener bug"), logs.join('\n'));
    assert.ok(logs.includes("error: /dev/ttyJK8 @ 115200: a 'reconnect' listener threw: listener bug 2"));
  });

  it('a serialport module that fails to load only breaks serial, with a clear error and retries', async () => {
    const realRequire = Module.prototype.require;
    const stub = sinon.stub(Module.prototype, 'require').callsFake(function (this: NodeJS.Module, id: string) {
      if (id === 'serialport') throw new Error('No native build was found for platform=linux arch=x64');
      return realRequire.call(this, id);
    });
    try {
      const { t, rec } = make('/dev/ttyUSB0', { binding: undefined });
      t.open();
      await rec.waitCount('reconnect', 1);
      assert.equal(
        rec.last('error')!.detail,
        '/dev/ttyUSB0: serial ports are unavailable: the serialport module failed to load (No native build was found for platform=linux arch=x64); ' +
          'reinstall this package (npm rebuild serialport), or use an RS485-to-Ethernet gateway over TCP',
      );
      assert.equal(t.isOpen(), false);
    } finally {
      stub.restore();
    }
  });
});

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { claimPort, portKey, PortInUseError } from '../../src/transport/port-registry';
import { portError } from '../../src/transport/reconnecting';

describe('port registry', () => {
  let dir: string;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'jkbms-ports-'));
  });

  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('lets the same owner claim twice; the port is free only after both releases', () => {
    const r1 = claimPort('/dev/ttyREG0', 'bus A');
    const r2 = claimPort('/dev/ttyREG0', 'bus A');
    r1();
    assert.throws(() => claimPort('/dev/ttyREG0', 'bus B'), /in use by bus A/);
    r2();
    claimPort('/dev/ttyREG0', 'bus B')();
  });

  it('refuses a second owner with a message naming the port and its owner', () => {
    const release = claimPort('tcp://10.0.0.5:4196', "bus 'Garage'");
    assert.throws(() => claimPort('tcp://10.0.0.5:4196', "bus 'Shed'"), {
      name: 'PortInUseError',
      message: "tcp://10.0.0.5:4196 is in use by bus 'Garage'",
      key: 'tcp://10.0.0.5:4196',
      owner: "bus 'Garage'",
    });
    release();
  });

  it('release frees the port and is idempotent (a double release frees nobody else’s claim)', () => {
    const releaseA = claimPort('/dev/ttyREG1', 'A');
    releaseA();
    const releaseB = claimPort('/dev/ttyREG1', 'B');
    releaseA(); // again: must not drop B's claim
    assert.throws(() => claimPort('/dev/ttyREG1', 'C'), /in use by B/);
    releaseB();
    releaseB();
    claimPort('/dev/ttyREG1', 'C')();
  });

  it('resolves a symlinked serial path (by-id style) to the same key as its target', () => {
    const dev = join(dir, 'ttyUSB0');
    writeFileSync(dev, '');
    const byId = join(dir, 'usb-1a86_USB_Serial-if00-port0');
    symlinkSync(dev, byId);
    assert.equal(portKey({ path: byId }), portKey({ path: dev }));
    assert.equal(portKey({ path: ` ${byId} ` }), portKey({ path: dev }));
    const release = claimPort(portKey({ path: dev }), 'bus 1');
    assert.throws(() => claimPort(portKey({ path: byId }), 'bus 2'), { message: `${portKey({ path: dev })} is in use by bus 1` });
    release();
  });

  it('keeps a path that does not exist (yet) as given', () => {
    assert.equal(portKey({ path: '/dev/serial/by-id/not-plugged-in' }), '/dev/serial/by-id/not-plugged-in');
    assert.equal(portKey({ path: 'COM3' }), 'COM3');
  });

  it('normalises host:port: case, spaces, IPv6 brackets', () => {
    assert.equal(portKey({ host: ' Gateway.LAN ', port: 4196 }), 'tcp://gateway.lan:4196');
    assert.equal(portKey({ host: '192.168.1.50', port: 8899 }), 'tcp://192.168.1.50:8899');
    assert.equal(portKey({ host: '::1', port: 4196 }), 'tcp://[::1]:4196');
    assert.equal(portKey({ host: '[FE80::1]', port: 4196 }), 'tcp://[fe80::1]:4196');
    assert.notEqual(portKey({ host: 'gw', port: 4196 }), portKey({ host: 'gw', port: 4197 }));
  });

  it('is a PortInUseError the bus node words as "in use by bus <name>"', () => {
    const release = claimPort('/dev/ttyREG2', 'bus "bank" (b1)');
    try {
      claimPort('/dev/ttyREG2', 'bus "shed" (b2)');
      assert.fail('claimed twice');
    } catch (err) {
      assert.ok(err instanceof PortInUseError);
      assert.equal(err.key, '/dev/ttyREG2');
      assert.equal(err.owner, 'bus "bank" (b1)');
    }
    release();
  });
});

describe('portError: port errors in words a user can act on', () => {
  it('drops the "Error: " serialport puts into its messages (no "Error: Error: …" in Node-RED)', () => {
    const e = portError(new Error('Error: No such file or directory, cannot open /dev/ttyUSB0'), '/dev/ttyUSB0');
    assert.equal(e.message, 'No such file or directory, cannot open /dev/ttyUSB0');
    assert.equal(String(e), 'Error: No such file or directory, cannot open /dev/ttyUSB0');
    assert.equal(portError(new Error('Error: Error: x'), 'p').message, 'p: x');
  });

  it('names the port when the message does not, and keeps cause and code', () => {
    const raw = Object.assign(new Error('bad file descriptor'), { code: 'EBADF' });
    const e = portError(raw, '/dev/serial/by-id/usb-1a86-port0') as Error & { code?: string };
    assert.equal(e.message, '/dev/serial/by-id/usb-1a86-port0: bad file descriptor');
    assert.equal(e.cause, raw);
    assert.equal(e.code, 'EBADF');
    assert.equal(portError('plain text', 'tcp://gw:4196').message, 'tcp://gw:4196: plain text');
  });

  it('leaves a message that already names the port as it is (the same object)', () => {
    const e = new Error('connect to tcp://gw:4196 timed out after 5000 ms');
    assert.equal(portError(e, 'tcp://gw:4196'), e);
  });
});

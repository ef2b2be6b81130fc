import assert from 'node:assert/strict';
import { FakeClock } from '../../src/common/clock';
import type { InfoPayload, LivePayload } from '../../src/protocol/types';
import { shouldRelearn, targetAddress } from '../../nodes/lib/follow';
import { changeKey, liveSummary, RateGate } from '../../src/messages/message';
import { PackDirectory } from '../../nodes/lib/pack-directory';
import { listPorts, type PortListingDeps } from '../../nodes/lib/ports';
import { busStatus } from '../../nodes/lib/status';

const info = (serialNumber: string): InfoPayload => ({ type: 'info', address: null, serialNumber, uptime: 1 }) as unknown as InfoPayload;
const live = (soc: number, voltage: number, current: number, runtime = 0): LivePayload =>
  ({ type: 'live', address: 1, soc, voltage, current, runtime, systemUptime: runtime }) as unknown as LivePayload;

describe('node glue: pack directory and following', () => {
  it('an info frame moves a serial number and forgets what the address held', () => {
    const d = new PackDirectory();
    d.learn(1, info('A'));
    d.learn(2, info('B'));
    d.learn(2, info('A')); // A moved to 2; B is no longer known anywhere
    assert.equal(d.addressOf('A'), 2);
    assert.equal(d.addressOf('B'), undefined);
    assert.equal(d.infoAt(1), undefined);
    assert.equal(d.infoAt(2)?.serialNumber, 'A');
  });

  it('targets the configured address until the followed pack is seen elsewhere', () => {
    const d = new PackDirectory();
    assert.equal(targetAddress(1, null, d), 1);
    assert.equal(targetAddress(1, 'A', d), 1);
    d.learn(3, info('A'));
    assert.equal(targetAddress(1, 'A', d), 3);
    const e = new PackDirectory();
    e.learn(1, info('Z'));
    assert.equal(targetAddress(1, 'A', e), null, 'address 1 holds another pack and A is nowhere');
  });

  it('re-learns only when every online pack is identified and none is the learned one', () => {
    const d = new PackDirectory();
    d.learn(1, info('Y')); // swap in progress: 2 not identified yet
    assert.equal(shouldRelearn(1, 'X', [1, 2], d), false);
    d.learn(2, info('W'));
    assert.equal(shouldRelearn(1, 'X', [0, 1, 2], d), true, 'X replaced by Y');
    d.learn(2, info('X'));
    assert.equal(shouldRelearn(1, 'X', [1, 2], d), false, 'X found at 2: follow it instead');
  });
});

describe('node glue: messages and rate', () => {
  it('summarises live data in under 20 characters', () => {
    assert.equal(liveSummary(live(87, 53.21, -12.34)), '87% 53.2V -12.3A');
    assert.ok(liveSummary(live(100, 999.94, -999.94)).length < 20);
  });

  it('ignores counters when comparing payloads', () => {
    assert.equal(changeKey(live(50, 52, 1, 10)), changeKey(live(50, 52, 1, 99)));
    assert.notEqual(changeKey(live(50, 52, 1)), changeKey(live(51, 52, 1)));
  });

  it('rate "change" sends only differing payloads', () => {
    const clock = new FakeClock();
    const sent: number[] = [];
    const gate = new RateGate<number>('change', 0, clock, (n) => sent.push(n));
    gate.offer('live', live(50, 52, 1, 1), 1);
    gate.offer('live', live(50, 52, 1, 2), 2);
    gate.offer('live', live(51, 52, 1, 3), 3);
    gate.offer('settings', live(51, 52, 1, 3), 4); // another kind has its own memory
    assert.deepEqual(sent, [1, 3, 4]);
  });

  it('rate "interval" sends at most one per interval, the latest one at its end', () => {
    const clock = new FakeClock();
    const sent: number[] = [];
    const gate = new RateGate<number>('interval', 10_000, clock, (n) => sent.push(n));
    gate.offer('live', live(50, 52, 1), 1);
    clock.advance(2000);
    gate.offer('live', live(50, 52, 1), 2);
    clock.advance(2000);
    gate.offer('live', live(50, 52, 1), 3);
    assert.deepEqual(sent, [1]);
    clock.advance(5999);
    assert.deepEqual(sent, [1]);
    clock.advance(1);
    assert.deepEqual(sent, [1, 3]);
    gate.offer('live', live(50, 52, 1), 4);
    gate.dispose();
    clock.advance(20_000);
    assert.deepEqual(sent, [1, 3], 'dispose drops the pending frame and its timer');
    assert.equal(clock.pending, 0);
  });

  it('rate "interval": an answer sent outside the gate drops the waiting frame and restarts the interval', () => {
    const clock = new FakeClock();
    const sent: number[] = [];
    const gate = new RateGate<number>('interval', 10_000, clock, (n) => sent.push(n));
    gate.offer('live', live(50, 52, 1), 1);
    clock.advance(3000);
    gate.offer('live', live(50, 52, 1), 2); // waits for t=10 s
    gate.offer('settings', live(50, 52, 1), 3); // another kind, its own interval: sent now
    gate.noteSent('live', live(51, 52, 1)); // t=3 s: an explicit request's answer
    clock.advance(7000);
    assert.deepEqual(sent, [1, 3], 'the older waiting frame is not sent after the newer answer');
    gate.offer('live', live(50, 52, 1), 4); // t=10 s: inside the interval restarted at 3 s
    assert.deepEqual(sent, [1, 3]);
    clock.advance(3000);
    assert.deepEqual(sent, [1, 3, 4]);
    gate.dispose();
    assert.equal(clock.pending, 0);
  });
});

describe('node glue: bus status mapping', () => {
  const t = (k: string, p?: Record<string, string | number>) => (p ? `${k} ${JSON.stringify(p)}` : k);
  it('maps every phase to the documented colour, shape and key', () => {
    assert.deepEqual(busStatus({ phase: 'connecting' }, t), { fill: 'yellow', shape: 'ring', text: 'jkbms-bus.status.connecting' });
    assert.deepEqual(busStatus({ phase: 'stopped' }, t), { fill: 'grey', shape: 'ring', text: 'jkbms-bus.status.stopped' });
    assert.deepEqual(busStatus({ phase: 'down', retryMs: 8000 }, t), { fill: 'red', shape: 'ring', text: 'jkbms-bus.status.retry {"s":8}' });
    assert.deepEqual(busStatus({ phase: 'in-use', owner: 'x' }, t), { fill: 'red', shape: 'dot', text: 'jkbms-bus.status.in-use' });
    assert.deepEqual(busStatus({ phase: 'up', role: 'sniffing', packsOnline: 3, packsKnown: 3 }, t), {
      fill: 'green', shape: 'dot', text: 'jkbms-bus.status.sniffing {"count":3}' });
    assert.deepEqual(busStatus({ phase: 'up', role: 'master', packsOnline: 3, packsKnown: 4 }, t), {
      fill: 'green', shape: 'dot', text: 'jkbms-bus.status.master {"online":3,"known":4}' });
    assert.deepEqual(busStatus({ phase: 'up', role: 'listening', packsOnline: 0, packsKnown: 0 }, t).fill, 'green');
  });
});

describe('node glue: serial port listing', () => {
  const fakeDev = (over: Partial<PortListingDeps> = {}): PortListingDeps => ({
    list: () => Promise.reject(new Error('spawn udevadm ENOENT')),
    readdir: async (dir) => {
      if (dir === '/dev/serial/by-id') return ['usb-FTDI_FT232R_A1-if00-port0'];
      if (dir === '/dev') return ['null', 'tty1', 'ttyS10', 'ttyS2', 'ttyUSB0', 'ttyACM1', 'ttyAMA0'];
      throw new Error(`ENOENT ${dir}`);
    },
    realpath: async (p) => (p.endsWith('usb-FTDI_FT232R_A1-if00-port0') ? '/dev/ttyUSB0' : p),
    ...over,
  });

  it('falls back to /dev when list() rejects (no udevadm), by-id first', async () => {
    const ports = await listPorts(fakeDev());
    assert.deepEqual(
      ports.map((p) => [p.path, p.device, p.byId, p.source]),
      [
        ['/dev/serial/by-id/usb-FTDI_FT232R_A1-if00-port0', '/dev/ttyUSB0', true, 'scan'],
        ['/dev/ttyACM1', '/dev/ttyACM1', false, 'scan'],
        ['/dev/ttyAMA0', '/dev/ttyAMA0', false, 'scan'],
        ['/dev/ttyS2', '/dev/ttyS2', false, 'scan'],
        ['/dev/ttyS10', '/dev/ttyS10', false, 'scan'],
      ],
    );
  });

  it('falls back when list() returns nothing, and when it throws synchronously', async () => {
    assert.equal((await listPorts(fakeDev({ list: async () => [] }))).length, 5);
    assert.equal((await listPorts(fakeDev({ list: () => { throw new Error('binding missing'); } }))).length, 5);
  });

  it("uses list() when it works, naming ports by their by-id link", async () => {
    const ports = await listPorts(fakeDev({ list: async () => [{ path: '/dev/ttyUSB0', manufacturer: 'FTDI' }, { path: '/dev/ttyACM0' }] }));
    assert.deepEqual(ports, [
      { path: '/dev/serial/by-id/usb-FTDI_FT232R_A1-if00-port0', device: '/dev/ttyUSB0', byId: true, manufacturer: 'FTDI', source: 'list' },
      { path: '/dev/ttyACM0', device: '/dev/ttyACM0', byId: false, source: 'list' },
    ]);
  });

  it('an unreadable /dev is an empty list, not an error', async () => {
    const ports = await listPorts({ list: async () => [], readdir: async () => { throw new Error('EACCES'); }, realpath: async (p) => p });
    assert.deepEqual(ports, []);
  });
});

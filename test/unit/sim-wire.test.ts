import assert from 'node:assert/strict';
import { FakeClock } from '../../src/common/clock';
import { Rng } from '../../src/sim/rng';
import { Wire, type WireNode } from '../../src/sim/wire';

const BYTE = 10_000 / 115200; // ms per byte at 115200 8N1

class Probe implements WireNode {
  readonly chunks: { at: number; bytes: Buffer }[] = [];
  idles: number[] = [];
  constructor(
    readonly name: string,
    private readonly clock: FakeClock,
  ) {}
  receive(chunk: Buffer, at: number): void {
    assert.equal(at, this.clock.now());
    this.chunks.push({ at, bytes: Buffer.from(chunk) });
  }
  idle(at: number): void {
    this.idles.push(at);
  }
  get all(): Buffer {
    return Buffer.concat(this.chunks.map((c) => c.bytes));
  }
}

function setup(chunkMs = 1) {
  const clock = new FakeClock();
  const errors: unknown[] = [];
  const wire = new Wire(clock, new Rng(5), { baud: 115200, chunkMs, idleMs: 5 }, (e) => errors.push(e));
  const a = new Probe('a', clock);
  const b = new Probe('b', clock);
  const c = new Probe('c', clock);
  for (const n of [a, b, c]) wire.attach(n);
  return { clock, wire, a, b, c, errors };
}

const close = (x: number, y: number) => assert.ok(Math.abs(x - y) < 1e-6, `${x} ≠ ${y}`);
const seq = (n: number, from = 0) => Buffer.from(Array.from({ length: n }, (_, i) => (from + i) & 0xff));

describe('sim wire', () => {
  it('paces bytes at the baud rate: a 308-byte answer takes 26.7 ms, delivered in ≤ 1 ms chunks', () => {
    const { clock, wire, a, b, c, errors } = setup();
    const data = seq(308);
    const tx = wire.transmit(a, data);
    close(tx.end - tx.start, 308 * BYTE);
    close(tx.end, 26.736111);
    clock.advance(100);
    assert.deepEqual(b.all, data);
    assert.deepEqual(c.all, data);
    assert.equal(a.chunks.length, 0, 'a sender does not hear itself');
    // 12 bytes complete within 1 ms of the first one: 25 chunks of 12, then the last 8.
    assert.deepEqual(
      b.chunks.map((x) => x.bytes.length),
      [...new Array<number>(25).fill(12), 8],
    );
    b.chunks.forEach((x, i) => close(x.at, Math.min(308, (i + 1) * 12) * BYTE));
    close(b.chunks.at(-1)!.at, 26.736111);
    assert.deepEqual(wire.stats(), { bytes: 308, transmissions: 1, collisions: 0 });
    assert.deepEqual(errors, []);
  });

  it('delivers every byte separately with chunkMs 0, and tells nodes when the line went quiet', () => {
    const { clock, wire, a, b, c } = setup(0);
    wire.transmit(a, seq(11));
    wire.transmit(c, seq(3), { at: 50 }); // scheduled later: the line is quiet in between
    clock.advance(20);
    assert.equal(b.chunks.length, 11);
    b.chunks.forEach((x, i) => close(x.at, (i + 1) * BYTE));
    assert.equal(b.idles.length, 1);
    close(b.idles[0]!, 11 * BYTE + 5);
    close(wire.lastActivity, 11 * BYTE);
    // A transmission starting within idleMs of the last byte postpones the announcement.
    clock.advance(40);
    assert.equal(b.idles.length, 2);
    close(b.idles[1]!, 50 + 3 * BYTE + 5);
    wire.transmit(a, seq(2));
    clock.advance(2 * BYTE + 1);
    wire.transmit(a, seq(2));
    clock.advance(20);
    assert.equal(b.idles.length, 3);
    close(b.idles[2]!, 60 + 4 * BYTE + 1 + 5);
  });

  it('queues a second transmission of the same sender behind the first and honours a later start', () => {
    const { clock, wire, a, b } = setup();
    const t1 = wire.transmit(a, seq(300));
    const t2 = wire.transmit(a, seq(8, 100), { at: t1.end + 2 });
    close(t2.start, 300 * BYTE + 2);
    const t3 = wire.transmit(a, seq(5, 200));
    close(t3.start, t2.end);
    clock.advance(50);
    assert.deepEqual(b.all, Buffer.concat([seq(300), seq(8, 100), seq(5, 200)]));
    // The 2 ms gap before the tail splits the delivery: the frame's last chunk ends at byte 300.
    const ends = b.chunks.map((x) => x.at);
    assert.ok(ends.some((t) => Math.abs(t - 300 * BYTE) < 1e-6));
    assert.equal(wire.stats().collisions, 0);
  });

  it('echoes the first N bytes of a transmission back to its sender when asked', () => {
    const { clock, wire, a, b } = setup();
    wire.transmit(a, seq(11), { echo: 4 });
    clock.advance(5);
    assert.deepEqual(a.all, seq(4));
    assert.deepEqual(b.all, seq(11));
  });

  it('garbles both sides of an overlap, keeps receivers locked on the first sender, counts one collision', () => {
    const { clock, wire, a, b, c } = setup();
    const data = seq(20);
    const ta = wire.transmit(a, data);
    clock.advance(0.5); // a's byte 5 is on the wire ([0.434, 0.521) ms)
    const tb = wire.transmit(b, seq(10, 0x80));
    clock.advance(10);
    assert.equal(ta.collided, true);
    assert.equal(tb.collided, true);
    assert.equal(wire.stats().collisions, 1);
    // c hears one byte per byte time: a's 20 bytes, those overlapping b (5…15) garbled; b's bytes are lost.
    const heard = c.all;
    assert.equal(heard.length, 20);
    for (let i = 0; i < 20; i++) {
      const overlapped = i >= 5 && i <= 15;
      assert.equal(heard[i] !== data[i], overlapped, `byte ${i}`);
    }
    // b (transmitting from 0.5 to 1.368 ms) hears a's bytes whose middle falls outside its own transmission.
    assert.deepEqual([...b.all.subarray(0, 5)], [...data.subarray(0, 5)]);
    assert.equal(b.all.length, 6 + 4);
    assert.deepEqual([...b.all.subarray(6)], [...data.subarray(16)]);
    // a hears nothing of b: all of b overlapped a's own transmission.
    assert.equal(a.all.length, 0);
  });

  it('does not count noise bursts as collisions but still garbles what they hit', () => {
    const { clock, wire, a, b, c } = setup();
    const data = seq(50);
    wire.transmit(a, data);
    wire.transmit(b, Buffer.from([1, 2, 3]), { at: 1, noise: true });
    clock.advance(10);
    assert.equal(wire.stats().collisions, 0);
    assert.notDeepEqual(c.all, data);
    assert.equal(c.all.length, 50);
  });

  it('stops delivering to a detached node and clear() drops what is in flight', () => {
    const { clock, wire, a, b, c } = setup();
    wire.transmit(a, seq(100));
    clock.advance(2);
    wire.detach(b);
    const got = b.all.length;
    clock.advance(20);
    assert.equal(b.all.length, got);
    wire.transmit(a, seq(100));
    wire.clear();
    const before = c.all.length;
    clock.advance(20);
    assert.equal(c.all.length, before);
    assert.equal(clock.pending, 0);
  });
});

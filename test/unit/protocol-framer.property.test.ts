/**
 * Property tests of the framer (fast-check; ≥ 100 000 generated cases in all). Streams mix
 * real messages with random bytes, bit flips, truncations and echoes, split at random points.
 * Fixed seed by default so CI is reproducible; set FC_SEED to explore other seeds.
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Framer, type FramerEvent } from '../../src/protocol/framer';
import { checkFrame } from '../../src/protocol/decode';
import { crcMatches } from '../../src/protocol/crc';
import { encodeAck, encodeException, encodeResponse, encodeTrigger, encodeWrite } from '../../src/protocol/encode';
import type { FrameKind } from '../../src/protocol/types';
import { INFO_VALUES, LIVE_VALUES, SETTINGS_VALUES } from '../helpers/fixtures';

const SEED = process.env.FC_SEED ? Number(process.env.FC_SEED) : 20261123;
const KINDS: FrameKind[] = ['live', 'settings', 'info'];
const VALUES = { live: LIVE_VALUES, settings: SETTINGS_VALUES, info: INFO_VALUES };

type Seg =
  | { t: 'response'; kind: FrameKind; address: number; soc: number }
  | { t: 'trigger'; kind: FrameKind; address: number }
  | { t: 'write'; address: number; register: number; quantity: 1 | 2; raw: number }
  | { t: 'ack'; address: number; register: number; quantity: number }
  | { t: 'exception'; address: number; code: number }
  | { t: 'junk'; bytes: number[] }
  | { t: 'flip'; of: Seg; bit: number }
  | { t: 'cut'; of: Seg; keep: number };

const address = fc.integer({ min: 0, max: 15 });
const kind = fc.constantFrom(...KINDS);
const intact: fc.Arbitrary<Seg> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ t: fc.constant('response' as const), kind, address, soc: fc.integer({ min: 0, max: 100 }) }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('trigger' as const), kind, address }) },
  {
    weight: 1,
    arbitrary: fc.record({
      t: fc.constant('write' as const),
      address,
      register: fc.integer({ min: 0x1000, max: 0x1118 }),
      quantity: fc.constantFrom(1 as const, 2 as const),
      raw: fc.integer({ min: 0, max: 0xffffffff }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('ack' as const), address, register: fc.integer({ min: 0x1000, max: 0x1118 }), quantity: fc.constantFrom(1, 2) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('exception' as const), address, code: fc.integer({ min: 1, max: 4 }) }) },
);
const damaged: fc.Arbitrary<Seg> = fc.oneof(
  fc.record({ t: fc.constant('junk' as const), bytes: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 40 }) }),
  fc.record({ t: fc.constant('flip' as const), of: intact, bit: fc.nat() }),
  fc.record({ t: fc.constant('cut' as const), of: intact, keep: fc.nat() }),
);
const segment = fc.oneof({ weight: 3, arbitrary: intact }, { weight: 2, arbitrary: damaged });

function bytesOf(s: Seg): Buffer {
  switch (s.t) {
    case 'response':
      return encodeResponse({ ...VALUES[s.kind], ...(s.kind === 'live' ? { soc: s.soc } : {}) } as never, s.address);
    case 'trigger':
      return encodeTrigger(s.address, s.kind);
    case 'write':
      return encodeWrite(s.address, s.register, s.quantity, s.raw);
    case 'ack':
      return encodeAck(s.address, s.register, s.quantity);
    case 'exception':
      return encodeException(s.address, s.code);
    case 'junk':
      return Buffer.from(s.bytes);
    case 'flip': {
      const b = Buffer.from(bytesOf(s.of));
      const bit = s.bit % (b.length * 8);
      b[bit >> 3]! ^= 1 << (bit & 7);
      return b;
    }
    case 'cut': {
      const b = bytesOf(s.of);
      return b.subarray(0, s.keep % b.length);
    }
  }
}

function chunks(buf: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (buf.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const p of points) {
    out.push(buf.subarray(prev, p));
    prev = p;
  }
  out.push(buf.subarray(prev));
  return out;
}

function run(parts: Buffer[]): FramerEvent[] {
  const f = new Framer();
  const ev: FramerEvent[] = [];
  for (const p of parts) ev.push(...f.push(p));
  ev.push(...f.flush());
  assert.equal(f.buffered, 0);
  return ev;
}

/** Every emitted message is checksum-valid. */
function assertAllValid(events: FramerEvent[]): void {
  for (const e of events) {
    switch (e.type) {
      case 'frame':
        checkFrame(e.frame);
        if (e.tail === 'ack') assert.ok(crcMatches(e.bytes, 300, 306));
        if (e.tail === 'padded') assert.ok(crcMatches(e.bytes, 301, 307));
        break;
      case 'trigger':
      case 'write':
      case 'ack':
      case 'exception':
        assert.ok(crcMatches(e.bytes, 0, e.bytes.length - 2), `${e.type} with a bad CRC`);
        break;
      case 'discard':
        assert.ok(e.bytes.length > 0);
    }
  }
}

const norm = (ev: FramerEvent[]) => ev.map((e) => ({ ...e, bytes: e.bytes.toString('hex'), frame: undefined }));

describe('protocol: framer properties (fast-check)', function () {
  this.timeout(120_000);

  it('never throws, never emits a message whose checksums fail, and is chunking-invariant (40 000 cases)', () => {
    fc.assert(
      fc.property(fc.array(segment, { minLength: 1, maxLength: 8 }), fc.array(fc.nat(), { maxLength: 12 }), (segs, cuts) => {
        const stream = Buffer.concat(segs.map(bytesOf));
        const whole = run([stream]);
        assertAllValid(whole);
        assert.deepEqual(norm(run(chunks(stream, cuts))), norm(whole));
      }),
      { numRuns: 40_000, seed: SEED },
    );
  });

  it('always finds the intact data frame that follows any damage (40 000 cases)', () => {
    fc.assert(
      fc.property(fc.array(damaged, { maxLength: 4 }), kind, address, fc.integer({ min: 0, max: 100 }), fc.array(fc.nat(), { maxLength: 6 }), (junk, k, a, soc, cuts) => {
        const good = encodeResponse({ ...VALUES[k], ...(k === 'live' ? { soc } : {}) } as never, a);
        // A trigger first makes the boundary realistic (the master polls, the pack answers).
        const stream = Buffer.concat([...junk.map(bytesOf), encodeTrigger(a, k), good]);
        const ev = run(chunks(stream, cuts));
        assertAllValid(ev);
        const last = ev.filter((e) => e.type === 'frame').pop();
        assert.ok(last && last.type === 'frame', 'intact frame not found');
        assert.ok(last.frame.equals(good.subarray(0, 300)));
        assert.equal(last.address, a);
      }),
      { numRuns: 40_000, seed: SEED + 1 },
    );
  });

  it('byte conservation: every input byte is in exactly one event (20 000 cases)', () => {
    fc.assert(
      fc.property(fc.array(segment, { minLength: 1, maxLength: 8 }), (segs) => {
        const stream = Buffer.concat(segs.map(bytesOf));
        const ev = run([stream]);
        const consumed = ev.reduce((s, e) => s + e.bytes.length, 0);
        assert.equal(consumed, stream.length);
      }),
      { numRuns: 20_000, seed: SEED + 2 },
    );
  });

  it('an echoed prefix of our own transmission is always discarded as echo, the answer kept (5 000 cases)', () => {
    fc.assert(
      fc.property(kind, address, fc.integer({ min: 1, max: 11 }), (k, a, n) => {
        const req = encodeTrigger(a, k);
        const f = new Framer();
        f.expectEcho(req);
        const ev = [...f.push(Buffer.concat([req.subarray(0, n), encodeResponse(VALUES[k] as never, a)])), ...f.flush()];
        assert.equal(ev.length, 2);
        assert.equal(ev[0]!.type, 'discard');
        assert.equal((ev[0] as { reason: string }).reason, 'echo');
        assert.equal(ev[0]!.bytes.length, n);
        assert.equal(ev[1]!.type, 'frame');
      }),
      { numRuns: 5_000, seed: SEED + 3 },
    );
  });
});

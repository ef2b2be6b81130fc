import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventEmitter } from 'node:events';
import fc from 'fast-check';
import { FakeClock } from '../../src/common/clock';
import {
  CAPTURE_MAGIC,
  CaptureDecoder,
  CaptureEncoder,
  encodeCaptureHeader,
  looksLikeBusTraffic,
  paceRaw,
  parseCapture,
  lineTiming,
  type CaptureChunk,
} from '../../src/transport/capture';
import { CaptureRecorder, rotatedName } from '../../src/transport/recorder';
import { loadReplay, ReplayTransport } from '../../src/transport/replay';
import { encodeTrigger } from '../../src/protocol/encode';
import { liveFrame } from '../helpers/fixtures';
import { until } from '../helpers/wait';

/** A capture file from chunks (t in ms since the start). */
function captureOf(chunks: CaptureChunk[], startedAt = 1_700_000_000_000.5, meta: Record<string, unknown> = { source: 'test' }): Buffer {
  const enc = new CaptureEncoder();
  return Buffer.concat([encodeCaptureHeader(startedAt, meta), ...chunks.map((c) => enc.record(c.t, c.data))]);
}

describe('capture format (.jkcap)', () => {
  it('lays out the header and records as documented', () => {
    const file = captureOf([{ t: 1.5, data: Buffer.from([1, 2, 3]) }, { t: 1001.5, data: Buffer.from([4]) }], 1234.5, { a: 1 });
    assert.equal(file.subarray(0, 8).toString('ascii'), 'JKBMSCAP');
    assert.equal(file.readUInt16LE(8), 1);
    assert.equal(file.readUInt16LE(10), 0);
    assert.equal(file.readDoubleLE(12), 1234.5);
    assert.equal(file.readUInt32LE(20), 7);
    assert.equal(file.toString('utf8', 24, 31), '{"a":1}');
    // record 1: 1500 µs, 3 bytes, kind 0
    assert.deepEqual([...file.subarray(31, 42)], [0xdc, 0x05, 0, 0, 3, 0, 0, 0, 1, 2, 3]);
    // record 2: 1 000 000 µs later
    assert.equal(file.readUInt32LE(42), 1_000_000);
    assert.equal(file.length, 31 + 11 + 9);
  });

  it('round-trips any chunks and times, however the file is split when read (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ dt: fc.double({ min: 0, max: 5000, noNaN: true }), data: fc.uint8Array({ minLength: 1, maxLength: 400 }) }), { maxLength: 40 }),
        fc.array(fc.integer({ min: 1, max: 97 }), { minLength: 1, maxLength: 8 }),
        (items, cuts) => {
          let t = 0;
          const chunks = items.map((i) => ({ t: (t += i.dt), data: Buffer.from(i.data) }));
          const file = captureOf(chunks);
          const dec = new CaptureDecoder();
          const got: CaptureChunk[] = [];
          let pos = 0;
          for (let k = 0; pos < file.length; k++) {
            const n = cuts[k % cuts.length]!;
            got.push(...dec.push(file.subarray(pos, pos + n)));
            pos += n;
          }
          assert.equal(dec.format, 'capture');
          assert.equal(dec.truncatedBytes, 0);
          assert.equal(got.length, chunks.length);
          for (let i = 0; i < chunks.length; i++) {
            assert.ok(got[i]!.data.equals(chunks[i]!.data));
            // µs resolution from one origin: no accumulated rounding
            assert.ok(Math.abs(got[i]!.t - chunks[i]!.t) <= 0.0005 + 1e-9, `t ${got[i]!.t} vs ${chunks[i]!.t}`);
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it('carries gaps over 71 minutes and chunks over 64 KiB', () => {
    const big = Buffer.alloc(70_000, 7);
    const cap = parseCapture(captureOf([{ t: 5, data: Buffer.from([1]) }, { t: 5 + 3 * 3600_000, data: big }]));
    assert.equal(cap.chunks.length, 3, 'the big chunk comes back in two records');
    assert.equal(cap.chunks[1]!.t, 5 + 3 * 3600_000);
    assert.equal(cap.chunks[2]!.t, 5 + 3 * 3600_000);
    assert.ok(Buffer.concat([cap.chunks[1]!.data, cap.chunks[2]!.data]).equals(big));
  });

  it('ignores a record cut short at the end (power loss, full disk) and says how many bytes', () => {
    const file = captureOf([{ t: 1, data: Buffer.from([1, 2, 3]) }, { t: 2, data: Buffer.from([4, 5, 6, 7]) }]);
    const cap = parseCapture(file.subarray(0, file.length - 2));
    assert.equal(cap.chunks.length, 1);
    assert.equal(cap.truncatedBytes, 10);
  });

  it('takes files without the magic as raw streams; refuses empty, garbage, hex text and damaged headers with a reason', () => {
    const trigger = encodeTrigger(1, 'live');
    const raw = parseCapture(Buffer.concat([Buffer.from([0, 0]), trigger]));
    assert.equal(raw.format, 'raw');
    assert.equal(raw.chunks.length, 1);
    assert.throws(() => parseCapture(Buffer.alloc(0)), /the file is empty/);
    assert.throws(() => parseCapture(Buffer.from('just some words, not bytes of a bus')), /not a capture: no jkbms capture header and no JK-PB traffic/);
    assert.throws(() => parseCapture(Buffer.from(trigger.toString('hex'))), /looks like hex text/);
    const v2 = captureOf([]);
    v2.writeUInt16LE(2, 8);
    assert.throws(() => parseCapture(v2), /capture format version 2 is not supported/);
    assert.throws(() => parseCapture(CAPTURE_MAGIC.subarray(0, 8)), /ends inside its header/);
    const badMeta = captureOf([], 0, {});
    badMeta.write('{x', 24);
    assert.throws(() => parseCapture(badMeta), /metadata is not JSON/);
    assert.equal(looksLikeBusTraffic(Buffer.from([0x55, 0xaa, 0xeb, 0x90])), true);
  });

  it('spreads a chunk that arrived late over its wire time (a busy recorder is not a silent line)', () => {
    const small = { t: 100, data: Buffer.alloc(11) };
    // 232 bytes (20.1 ms at 115200 baud) arriving 37.6 ms after the previous chunk: the line was
    // silent 17.5 ms, not 37.6 ms.
    const late = { t: 137.6, data: Buffer.alloc(232, 5) };
    const out = lineTiming([small, late]);
    assert.equal(out[0], small);
    assert.equal(out.length, 1 + 20);
    assert.ok(Buffer.concat(out.slice(1).map((c) => c.data)).equals(late.data));
    assert.equal(out.at(-1)!.t, 137.6);
    assert.ok(Math.abs(out[1]!.t - (137.6 - 232 * (10_000 / 115200) + 12 * (10_000 / 115200))) < 1e-6, `first piece at ${out[1]!.t}`);
    assert.ok(out.every((c, i) => i === 0 || c.t >= out[i - 1]!.t));
    // never before the previous chunk, short chunks untouched
    const crowded = lineTiming([{ t: 10, data: Buffer.alloc(5) }, { t: 12, data: Buffer.alloc(100) }]);
    assert.ok(crowded[1]!.t > 10 && crowded.at(-1)!.t === 12);
    assert.deepEqual(lineTiming([small]), [small]);
  });

  it('puts the rest of a message right after its start when the recorder paused in between; a broken-off frame keeps its silence', () => {
    const frame = liveFrame(2);
    // 100 bytes, a 60 ms pause of the recorder, the other 208: the sender never paused.
    const paused = lineTiming([{ t: 10, data: frame.subarray(0, 100) }, { t: 70, data: frame.subarray(100) }]);
    const byteMs = 10_000 / 115200;
    assert.ok(Math.abs(paused.at(-1)!.t - (10 + 208 * byteMs)) < 1e-6, `rest ends at ${paused.at(-1)!.t}`);
    assert.ok(paused.every((c, i) => i === 0 || c.t - paused[i - 1]!.t < 2));
    // 100 bytes of a frame, then silence and a new request: the frame broke off, the silence stays.
    const trigger = encodeTrigger(3, 'live');
    const broken = lineTiming([{ t: 10, data: frame.subarray(0, 100) }, { t: 300, data: trigger }]);
    assert.deepEqual(broken.slice(-2).map((c) => c.t), [10, 300]);
  });

  it('paces raw bytes at wire speed: ~1 ms pieces at 115200 baud', () => {
    const chunks = paceRaw(Buffer.alloc(1152), 115200);
    assert.equal(chunks.length, 96);
    assert.equal(chunks[0]!.data.length, 12);
    assert.ok(Math.abs(chunks.at(-1)!.t - 100) < 0.001, `${chunks.at(-1)!.t}`);
  });
});

describe('CaptureRecorder (real files)', function () {
  this.timeout(20_000);
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'jkbms-rec-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('records chunks with their times, rotates at the size limit keeping two old files, and each file stands alone', async () => {
    const clock = new FakeClock(1000);
    const file = join(dir, 'sub', 'bus.jkcap');
    const rec = new CaptureRecorder({ file, maxBytes: 2000, keep: 2, clock, flushMs: 100, meta: { source: 'unit' } });
    const errors: Error[] = [];
    rec.on('error', (e: Error) => errors.push(e));
    const t = new EventEmitter();
    rec.tap(t);
    assert.equal(await rec.start(), true);
    const sent: CaptureChunk[] = [];
    for (let i = 0; i < 60; i++) {
      clock.advance(10);
      const data = Buffer.alloc(100, i);
      t.emit('data', data);
      sent.push({ t: clock.now() - 1000, data });
      if (i % 5 === 4) {
        clock.advance(100);
        await until(() => rec.status().totalBytes > 0 && (rec as any).pending.length === 0, 2000, 'flushed');
      }
    }
    await rec.stop();
    assert.deepEqual(errors, []);
    const files = readdirSync(join(dir, 'sub')).sort();
    assert.deepEqual(files, ['bus.1.jkcap', 'bus.2.jkcap', 'bus.jkcap']);
    assert.ok(rec.status().rotations >= 3, `rotations ${rec.status().rotations}`);
    const parts = ['bus.2.jkcap', 'bus.1.jkcap', 'bus.jkcap'].map((f) => readFileSync(join(dir, 'sub', f)));
    for (const p of parts) assert.ok(p.length <= 2000, `file of ${p.length} bytes`);
    // The newest three files hold the last chunks, in order, with their times from each file's own start.
    const got = parts.flatMap((p) => {
      const c = parseCapture(p);
      assert.equal(c.header!.meta.source, 'unit');
      return c.chunks.map((x) => ({ at: c.header!.startedAt + x.t, data: x.data }));
    });
    const tail = sent.slice(-got.length);
    assert.ok(got.length >= 30, `${got.length} chunks kept`);
    for (let i = 0; i < got.length; i++) {
      assert.ok(got[i]!.data.equals(tail[i]!.data), `chunk ${i}`);
      if (i) assert.ok(Math.abs(got[i]!.at - got[i - 1]!.at - (tail[i]!.t - tail[i - 1]!.t)) < 0.01, `gap ${i}`);
    }
  });

  it('a new recording moves an existing file aside; keep 0 replaces it', async () => {
    const file = join(dir, 'x.jkcap');
    writeFileSync(file, 'old');
    const rec = new CaptureRecorder({ file });
    await rec.start();
    await rec.stop();
    assert.equal(readFileSync(rotatedName(file, 1), 'utf8'), 'old');
    writeFileSync(join(dir, 'y.jkcap'), 'old');
    const r2 = new CaptureRecorder({ file: join(dir, 'y.jkcap'), keep: 0 });
    await r2.start();
    await r2.stop();
    assert.deepEqual(readdirSync(dir).sort(), ['x.1.jkcap', 'x.jkcap', 'y.jkcap']);
    assert.equal(rotatedName('/a/b', 2), '/a/b.2');
  });

  it('a folder, a path through a file and a full disk: one error each, never a throw', async () => {
    const cases: [string, RegExp][] = [
      [dir, /it is a folder; give a file name/],
      [(writeFileSync(join(dir, 'f'), ''), join(dir, 'f', 'x.jkcap')), /a part of the path is a file, not a folder \(ENOTDIR\)/],
      ['/dev/full', /the disk is full \(ENOSPC\)/],
    ];
    for (const [file, message] of cases) {
      const rec = new CaptureRecorder({ file, flushMs: 10 });
      const errors: Error[] = [];
      rec.on('error', (e: Error) => errors.push(e));
      const t = new EventEmitter();
      rec.tap(t);
      await rec.start();
      t.emit('data', Buffer.alloc(64, 1));
      await until(() => errors.length > 0, 2000, `error for ${file}`);
      t.emit('data', Buffer.alloc(64, 1));
      await rec.stop();
      assert.equal(errors.length, 1, `${file}: ${errors.map((e) => e.message).join(' / ')}`);
      assert.match(errors[0]!.message, message);
      assert.equal(rec.status().state, 'stopped');
      assert.match(rec.status().error!, message);
    }
  });
});

describe('ReplayTransport (fake clock)', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'jkbms-replay-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('delivers each chunk at its recorded time divided by the speed, never transmits, ends, loops', async () => {
    const file = join(dir, 'a.jkcap');
    writeFileSync(file, captureOf([{ t: 50, data: Buffer.from([1]) }, { t: 250, data: Buffer.from([2]) }, { t: 1250, data: Buffer.from([3]) }]));
    for (const speed of [1, 10]) {
      const clock = new FakeClock();
      const t = new ReplayTransport({ file, speed, loop: true, clock });
      const got: [number, number][] = [];
      const ends: number[] = [];
      t.on('data', (c: Buffer) => got.push([clock.now(), c[0]!]));
      t.on('end', () => ends.push(clock.now()));
      t.open();
      await until(() => t.isOpen(), 2000, 'open');
      assert.equal(t.write(Buffer.from([9])), false);
      clock.advance(4000 / speed);
      assert.deepEqual(
        got.slice(0, 3).map(([at, b]) => [Math.round(at * speed), b]),
        [[50, 1], [250, 2], [1250, 3]],
      );
      // loop: the second pass starts LOOP_PAUSE_MS (1 s) after the end, at the first chunk's own offset
      assert.equal(ends.length >= 1, true);
      assert.deepEqual(got[3], [(1250 + 1000 + 50) / speed, 1]);
      t.reopen();
      assert.equal(t.isOpen(), true, 'reopen does not restart the replay');
      await t.close();
      const n = got.length;
      clock.advance(10_000);
      assert.equal(got.length, n, 'nothing after close');
      assert.equal(clock.pending, 0, 'no timer left');
    }
  });

  it('loadReplay explains what is wrong with a file', async () => {
    await assert.rejects(loadReplay(join(dir, 'none.jkcap')), /cannot read the capture .*none\.jkcap: no such file/);
    await assert.rejects(loadReplay(dir), /it is a folder, not a capture file/);
    writeFileSync(join(dir, 'e.jkcap'), '');
    await assert.rejects(loadReplay(join(dir, 'e.jkcap')), /cannot replay .*e\.jkcap: the file is empty/);
    writeFileSync(join(dir, 'h.jkcap'), captureOf([]));
    await assert.rejects(loadReplay(join(dir, 'h.jkcap')), /the capture holds no received bytes/);
    const raw = join(dir, 'raw.bin');
    writeFileSync(raw, Buffer.concat([encodeTrigger(2, 'live'), encodeTrigger(3, 'live')]));
    const r = await loadReplay(raw);
    assert.equal(r.info.format, 'raw');
    assert.equal(r.info.bytes, 22);
  });
});

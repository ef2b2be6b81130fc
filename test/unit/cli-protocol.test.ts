import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { encodeTrigger } from '../../src/protocol/encode';
import { CaptureEncoder, encodeCaptureHeader } from '../../src/transport/capture';
import { liveFrame, settingsFrame } from '../helpers/fixtures';

const ROOT = resolve(__dirname, '..', '..');
const CLI = join(ROOT, 'src', 'cli', 'jkbms.ts');

function jkbms(args: string[], input?: string | Buffer) {
  const r = spawnSync(process.execPath, ['--require', 'tsx/cjs', CLI, ...args], { cwd: ROOT, input, encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('CLI: jkbms decode / parse', function () {
  this.timeout(60_000);

  it('decode: a 308-byte answer in spaced hex → one JSON object with the payload contract', () => {
    const spaced = liveFrame(3).toString('hex').replace(/(..)/g, '$1 ');
    const r = jkbms(['decode', spaced]);
    assert.equal(r.code, 0, r.err);
    const lines = r.out.trim().split('\n');
    assert.equal(lines.length, 1);
    const p = JSON.parse(lines[0]!);
    assert.equal(p.type, 'live');
    assert.equal(p.address, 3);
    assert.equal(p.voltage, 52.822);
    assert.equal(p.current, -12.345);
    assert.equal(p.cells.length, 16);
  });

  it('decode: a read trigger prints the framer event', () => {
    const r = jkbms(['decode', '0x01 0x10 0x16 0x20 0x00 0x01 0x02 0x00 0x00 0xD6 0xF1']);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(JSON.parse(r.out), { type: 'trigger', address: 1, register: 0x1620, kind: 'live', hex: '011016200001020000d6f1' });
  });

  it('decode: not a valid frame → exit 1 with a clear message', () => {
    const bad = liveFrame(1);
    bad[10] ^= 0xff;
    let r = jkbms(['decode', bad.toString('hex')]);
    assert.equal(r.code, 1);
    assert.match(r.err, /checksum mismatch: byte 299 is 0x[0-9a-f]{2}, the sum of bytes 0–298 is 0x[0-9a-f]{2}/);
    assert.equal(r.out, '');
    r = jkbms(['decode', 'zz']);
    assert.equal(r.code, 1);
    assert.match(r.err, /not hex/);
    r = jkbms(['decode', '55aaeb90']);
    assert.equal(r.code, 1);
    assert.match(r.err, /300 bytes, got 4/);
    r = jkbms(['decode', '0102030405']);
    assert.equal(r.code, 1);
    assert.match(r.err, /not a valid frame/);
  });

  it('parse --hex from stdin: one JSON line per event, then a summary with counts', () => {
    const stream = Buffer.concat([Buffer.of(0xff, 0xfe), encodeTrigger(1, 'live'), liveFrame(1), encodeTrigger(1, 'settings'), settingsFrame(1)]);
    const r = jkbms(['parse', '-', '--hex'], stream.toString('hex').replace(/(.{64})/g, '$1\n'));
    assert.equal(r.code, 0, r.err);
    const lines = r.out.trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(
      lines.slice(0, -1).map((l) => l.event),
      ['discard', 'trigger', 'frame', 'trigger', 'frame'],
    );
    assert.equal(lines[2].payload.soc, 47);
    assert.equal(lines[4].payload.cellOvp, 3.61);
    assert.deepEqual(lines.at(-1), {
      summary: {
        bytes: stream.length,
        frames: { live: 1, settings: 1, info: 0 },
        framesByAddress: { 1: 2 },
        triggers: 2,
        writes: 0,
        acks: 0,
        exceptions: 0,
        discarded: { bytes: 2, noise: 2 },
        format: 'hex',
      },
    });
  });

  it('parse FILE: a .jkcap capture (chunks with times) gives the same events as its bytes, each with t; a damaged one exits 1', () => {
    const dir = mkdtempSync(join(tmpdir(), 'jkbms-cli-'));
    const chunks = [
      { t: 12.5, data: encodeTrigger(2, 'live') },
      { t: 20.25, data: liveFrame(2).subarray(0, 150) },
      { t: 35.125, data: liveFrame(2).subarray(150) },
      { t: 400, data: settingsFrame(2) },
    ];
    const enc = new CaptureEncoder();
    const file = join(dir, 'bus.jkcap');
    writeFileSync(file, Buffer.concat([encodeCaptureHeader(Date.UTC(2025, 0, 2, 3, 4, 5), { source: 'test' }), ...chunks.map((c) => enc.record(c.t, c.data))]));
    const r = jkbms(['parse', file]);
    assert.equal(r.code, 0, r.err);
    const lines = r.out.trim().split('\n').map((l) => JSON.parse(l));
    const raw = join(dir, 'bus.bin');
    writeFileSync(raw, Buffer.concat(chunks.map((c) => c.data)));
    const plain = jkbms(['parse', raw]).out.trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(
      lines.slice(0, -1).map(({ t: _t, ...e }) => e),
      plain.slice(0, -1),
    );
    assert.deepEqual(lines.slice(0, -1).map((e) => [e.t, e.event, e.kind]), [
      [12.5, 'trigger', 'live'],
      [35.125, 'frame', 'live'],
      [400, 'frame', 'settings'],
    ]);
    const summary = lines.at(-1).summary;
    assert.equal(summary.format, 'capture');
    assert.equal(summary.startedAt, '2025-01-02T03:04:05.000Z');
    assert.equal(summary.durationMs, 400);
    assert.deepEqual(summary.frames, { live: 1, settings: 1, info: 0 });
    assert.equal(plain.at(-1).summary.format, 'raw');
    const bad = join(dir, 'bad.jkcap');
    writeFileSync(bad, Buffer.concat([Buffer.from('JKBMSCAP'), Buffer.from([7, 0]), Buffer.alloc(14)]));
    const b = jkbms(['parse', bad]);
    assert.equal(b.code, 1);
    assert.match(b.err, /jkbms parse: .*bad\.jkcap: capture format version 7 is not supported/);
  });

  it('parse FILE: a binary capture', () => {
    const dir = mkdtempSync(join(tmpdir(), 'jkbms-cli-'));
    const file = join(dir, 'capture.bin');
    writeFileSync(file, Buffer.concat([liveFrame(2), liveFrame(2).subarray(0, 100)]));
    const r = jkbms(['parse', file]);
    assert.equal(r.code, 0, r.err);
    const lines = r.out.trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(lines.length, 3);
    assert.deepEqual(lines[1], { event: 'discard', reason: 'truncated', length: 100, hex: liveFrame(2).subarray(0, 100).toString('hex') });
    assert.equal(lines[2].summary.frames.live, 1);
  });

  it('usage errors exit 2', () => {
    assert.equal(jkbms(['frobnicate']).code, 2);
    assert.equal(jkbms(['decode']).code, 2);
    assert.equal(jkbms(['parse', 'a', 'b']).code, 2);
    const h = jkbms(['help']);
    assert.equal(h.code, 0);
    assert.match(h.out, /jkbms decode|decode <hex>/);
  });
});

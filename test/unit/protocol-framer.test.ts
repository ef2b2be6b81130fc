import assert from 'node:assert/strict';
import { Framer, type DataFrameEvent, type FramerEvent } from '../../src/protocol/framer';
import { decodeFrame } from '../../src/protocol/decode';
import { encodeAck, encodeException, encodeFrame, encodeTrigger, encodeWrite } from '../../src/protocol/encode';
import { LIVE_VALUES, SETTINGS_VALUES, infoFrame, liveFrame, settingsFrame } from '../helpers/fixtures';
import { rng, summarize } from '../helpers/framing';

const types = (ev: FramerEvent[]) => ev.map((e) => (e.type === 'discard' ? `discard:${e.reason}:${e.bytes.length}` : e.type === 'frame' ? `frame:${e.kind}@${e.address}/${e.tail}` : `${e.type}@${e.address}`));
const feed = (f: Framer, ...chunks: Buffer[]) => chunks.flatMap((c) => f.push(c));

describe('protocol: framer', () => {
  it('emits a 308-byte answer the moment its last byte arrives, with the address from the tail', () => {
    const f = new Framer();
    const bytes = liveFrame(7);
    assert.deepEqual(f.push(bytes.subarray(0, 307)), []);
    const ev = f.push(bytes.subarray(307));
    assert.deepEqual(types(ev), ['frame:live@7/ack']);
    const fr = ev[0] as DataFrameEvent;
    assert.equal(fr.addressFrom, 'tail');
    assert.equal(fr.frame.length, 300);
    assert.equal(fr.bytes.length, 308);
    assert.equal(f.buffered, 0);
  });

  it('byte by byte gives the same events as whole chunks', () => {
    const stream = Buffer.concat([encodeTrigger(3, 'live'), liveFrame(3), encodeTrigger(3, 'settings'), settingsFrame(3), infoFrame(0)]);
    const whole = types([...new Framer().push(stream)]);
    const f = new Framer();
    const one = types([...stream].flatMap((b) => f.push(Buffer.of(b))));
    assert.deepEqual(one, whole);
    assert.deepEqual(whole, ['trigger@3', 'frame:live@3/ack', 'trigger@3', 'frame:settings@3/ack', 'frame:info@0/ack']);
  });

  it('a frame without its tail is released by the next message, or by flush()', () => {
    const frame = encodeFrame(LIVE_VALUES);
    const f = new Framer();
    assert.deepEqual(f.push(frame), []);
    assert.equal(f.buffered, 300);
    assert.deepEqual(types(f.push(encodeTrigger(2, 'live'))), ['frame:live@null/none', 'trigger@2']);
    const g = new Framer();
    g.push(frame);
    assert.deepEqual(types(g.flush()), ['frame:live@null/none']);
  });

  it('a tail-less settings frame takes its address from DevAddr (byte 270)', () => {
    const f = new Framer();
    f.push(encodeFrame({ ...SETTINGS_VALUES, deviceAddress: 9 }));
    const ev = f.flush();
    assert.deepEqual(types(ev), ['frame:settings@9/none']);
    assert.equal((ev[0] as DataFrameEvent).addressFrom, 'devaddr');
  });

  it('accepts the 310-byte form (0x00 pad, ack at 301, trailing 0x00) with no discard', () => {
    const frame = encodeFrame(LIVE_VALUES);
    const stream = Buffer.concat([frame, Buffer.of(0), encodeAck(4, 0x1620, 1), Buffer.of(0), encodeTrigger(5, 'live')]);
    const ev = new Framer().push(stream);
    assert.deepEqual(types(ev), ['frame:live@4/padded', 'trigger@5']);
  });

  it('a stray byte after a 308-byte answer is noise, the next message is still found', () => {
    const ev = new Framer().push(Buffer.concat([liveFrame(1), Buffer.of(0), encodeTrigger(2, 'live')]));
    assert.deepEqual(types(ev), ['frame:live@1/ack', 'discard:noise:1', 'trigger@2']);
  });

  for (const cut of [287, 288, 299]) {
    it(`an answer truncated to ${cut} bytes (FT232R) is discarded as truncated; the next answer decodes`, () => {
      const f = new Framer();
      const ev = feed(f, liveFrame(1).subarray(0, cut), encodeTrigger(2, 'live'), liveFrame(2));
      assert.deepEqual(types(ev), [`discard:truncated:${cut}`, 'trigger@2', 'frame:live@2/ack']);
    });
  }

  it('a truncated answer at the end of a burst is discarded by flush()', () => {
    const f = new Framer();
    assert.deepEqual(f.push(liveFrame(1).subarray(0, 200)), []);
    assert.deepEqual(types(f.flush()), ['discard:truncated:200']);
    assert.equal(f.buffered, 0);
  });

  it('a bit flip inside a frame drops the whole answer (bad sum8) and nothing false is emitted', () => {
    const bad = liveFrame(1);
    bad[150] ^= 0x04;
    const ev = new Framer().push(Buffer.concat([bad, liveFrame(2)]));
    assert.deepEqual(types(ev), ['discard:bad-sum8:308', 'frame:live@2/ack']);
  });

  it('a corrupted header (55 A0) is noise; the orphaned tail still shows which pack answered', () => {
    const bad = liveFrame(1);
    bad[1] = 0xa0;
    const ev = new Framer().push(Buffer.concat([bad, encodeTrigger(1, 'live')]));
    assert.deepEqual(types(ev), ['discard:noise:300', 'ack@1', 'trigger@1']);
  });

  it('parses writes (11 and 13 bytes), acks and exceptions', () => {
    const ev = new Framer().push(
      Buffer.concat([encodeWrite(2, 0x1114, 1, 0x0210), encodeAck(2, 0x1114, 1), encodeWrite(3, 0x105c, 2, -50 >>> 0), encodeException(3, 3)]),
    );
    assert.deepEqual(types(ev), ['write@2', 'ack@2', 'write@3', 'exception@3']);
    assert.deepEqual(ev[0], { type: 'write', address: 2, register: 0x1114, quantity: 1, value: 0x0210, bytes: encodeWrite(2, 0x1114, 1, 0x0210) });
    assert.equal((ev[2] as { value: number }).value | 0, -50);
    assert.deepEqual(ev[3], { type: 'exception', address: 3, functionCode: 0x10, code: 3, bytes: encodeException(3, 3) });
  });

  it('an ack whose CRC could also be the start of a longer write waits for it', () => {
    // Quantity 2 acks share bytes 0–5 with 13-byte writes; byte 6 decides.
    const f = new Framer();
    const w = encodeWrite(1, 0x1070, 2, 1);
    assert.deepEqual(f.push(w.subarray(0, 8)), []);
    assert.deepEqual(types(f.push(w.subarray(8))), ['write@1']);
  });

  it('recognises our own echoed transmission (full or CH341-style prefix) and never parses it', () => {
    const req = encodeTrigger(1, 'live');
    for (const n of [11, 3, 7]) {
      const f = new Framer();
      f.expectEcho(req);
      const ev = f.push(Buffer.concat([req.subarray(0, n), liveFrame(1)]));
      assert.deepEqual(types(ev), [`discard:echo:${n}`, 'frame:live@1/ack'], `echo of ${n} bytes`);
    }
  });

  it('the echo expectation ends at the first byte that is not the echo (a real master trigger later is parsed)', () => {
    const req = encodeTrigger(1, 'live');
    const f = new Framer();
    f.expectEcho(req);
    const ev = feed(f, liveFrame(1), req);
    assert.deepEqual(types(ev), ['frame:live@1/ack', 'trigger@1']);
  });

  it('a tail with an address above 15 is not a tail: the frame is kept, the bytes after are resynced (docs/protocol.md §7, Q10)', () => {
    const frame = encodeFrame(LIVE_VALUES);
    const badTail = encodeAck(0x21, 0x1620, 1);
    const ev = new Framer().push(Buffer.concat([frame, badTail, liveFrame(3)]));
    const s = summarize(ev);
    assert.equal(s.live, 2);
    assert.deepEqual(s.addresses, [3]);
    assert.equal((ev[0] as DataFrameEvent).tail, 'none');
    assert.equal(s.discarded, 8);
  });

  it('consumes all 8 bytes of a standalone ack so the next request is seen (docs/protocol.md §7, Q9)', () => {
    const ev = new Framer().push(Buffer.concat([encodeAck(1, 0x1070, 2), encodeTrigger(1, 'live')]));
    assert.deepEqual(types(ev), ['ack@1', 'trigger@1']);
  });

  it('decodes only bytes 0–307: trailing bytes of a 309-byte capture do not change the frame (docs/protocol.md §7, Q11)', () => {
    const a = new Framer().push(Buffer.concat([liveFrame(1), Buffer.of(0xff)]));
    const fr = a.find((e) => e.type === 'frame') as DataFrameEvent;
    assert.deepEqual(decodeFrame(fr.frame, fr.address), decodeFrame(liveFrame(1), 1));
  });

  it('noise is reported in runs with exact byte counts, before the next message', () => {
    const ev = new Framer().push(Buffer.concat([Buffer.from([0xff, 0xfe, 0x80, 0x55, 0x55]), encodeTrigger(4, 'info')]));
    assert.deepEqual(types(ev), ['discard:noise:5', 'trigger@4']);
  });

  it('stays bounded and never throws on a megabyte of random bytes; finds a frame right after', () => {
    const r = rng(42);
    const junk = Buffer.from(Array.from({ length: 1 << 20 }, () => Math.floor(r() * 256)));
    const f = new Framer();
    let events: FramerEvent[] = [];
    for (let i = 0; i < junk.length; i += 4096) events = events.concat(f.push(junk.subarray(i, i + 4096)));
    assert.ok(f.buffered <= 320, `buffered ${f.buffered}`);
    for (const e of events) if (e.type === 'frame') decodeFrame(e.frame);
    f.flush();
    const ev = f.push(liveFrame(9));
    assert.deepEqual(types(ev).slice(-1), ['frame:live@9/ack']);
  });
});

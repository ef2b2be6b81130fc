import assert from 'node:assert/strict';
import { FakeClock } from '../../src/common/clock';
import { BusEngine } from '../../src/bus/engine';
import type { FrameEvent } from '../../src/bus/types';
import { encodeAck, encodeResponse } from '../../src/protocol/encode';
import type { FrameKind } from '../../src/protocol/types';
import { LIVE_VALUES } from '../helpers/fixtures';
import { microtasks } from '../helpers/engine-harness';
import { ScriptedBus } from '../helpers/scripted-bus';

const live = (address: number) => encodeResponse({ ...LIVE_VALUES, address }, address);

async function start(answer: (address: number, kind: FrameKind) => Buffer | null) {
  const clock = new FakeClock();
  const bus = new ScriptedBus(clock, answer);
  const engine = new BusEngine(bus, { mode: 'master', addresses: [1], settingsIntervalS: 3600 }, { clock });
  const frames: FrameEvent[] = [];
  engine.on('frame', (f: FrameEvent) => frames.push(f));
  engine.start();
  clock.advance(1);
  await microtasks();
  return { clock, bus, engine, frames };
}

describe('bus engine: answer shapes and strangers', () => {
  it('a stray byte after a 308-byte answer (309 bytes) is counted, not taken for a stranger', async () => {
    const { clock, engine, frames } = await start((a, kind) => (kind === 'live' ? Buffer.concat([live(a), Buffer.from([0])]) : null));
    clock.advance(60_000);
    const lives = frames.filter((f) => f.kind === 'live').map((f) => f.at);
    const iv = lives.slice(1).map((t, i) => t - lives[i]!);
    // Answer 10 ms after the trigger, then minGap: no 500 ms hold-off after each stray byte.
    assert.ok(iv.length > 100);
    assert.ok(Math.max(...iv.slice(5)) < 200, `max interval ${Math.max(...iv.slice(5))}`);
    assert.deepEqual(engine.status().stats.discards, { truncated: lives.length }, 'each stray byte, dropped after the line went quiet');
    await engine.stop();
  });

  it('310-byte padded answers are decoded with nothing discarded', async () => {
    const { clock, engine, frames } = await start((a, kind) => {
      if (kind !== 'live') return null;
      const r = live(a);
      return Buffer.concat([r.subarray(0, 300), Buffer.from([0]), r.subarray(300), Buffer.from([0])]);
    });
    clock.advance(5_000);
    assert.ok(frames.filter((f) => f.kind === 'live' && f.address === 1).length > 20);
    assert.equal(engine.status().stats.bytesDiscarded, 0);
    await engine.stop();
  });

  it('a tail-less answer is released after a short silence and belongs to the pack we asked', async () => {
    const { clock, engine, frames } = await start((a, kind) => (kind === 'live' ? live(a).subarray(0, 300) : null));
    clock.advance(5_000);
    const f = frames.filter((x) => x.kind === 'live');
    assert.ok(f.length > 20);
    assert.ok(f.every((x) => x.address === 1 && x.source === 'poll' && x.raw.length === 300));
    // Answer 10 ms after the trigger, released after 25 ms of silence.
    assert.ok(engine.pack(1)!.latencyMs! >= 35 && engine.pack(1)!.latencyMs! < 36, `latency ${engine.pack(1)!.latencyMs}`);
    await engine.stop();
  });

  it('an answer whose tail names another address is that pack’s frame, not the one we asked', async () => {
    const { clock, engine, frames } = await start((_a, kind) => (kind === 'live' ? live(5) : null));
    clock.advance(1_000);
    assert.ok(frames.length > 0);
    assert.ok(frames.every((f) => f.address === 5 && f.source === 'sniff'));
    assert.ok(engine.status().stats.timeouts === 0, 'the scan probe of 1 is not a timeout');
    await engine.stop();
  });

  it('a stranger’s message while we are master (an ack of someone else’s write) holds us off for 500 ms', async () => {
    const { clock, bus, engine } = await start((a, kind) => (kind === 'live' ? live(a) : null));
    clock.advance(3_000);
    const before = bus.sent.length;
    bus.inject(encodeAck(7, 0x1070, 2));
    clock.advance(499);
    assert.equal(bus.sent.length, before, 'nothing sent during the hold-off');
    clock.advance(2);
    assert.equal(bus.sent.length, before + 1, 'polling resumes after 500 ms of quiet');
    assert.equal(engine.status().role, 'master');
    await engine.stop();
  });
});

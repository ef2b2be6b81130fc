import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { BusEngine } from '../../src/bus/engine';
import type { BusStats } from '../../src/bus/types';
import type { Transport } from '../../src/transport/transport';
import { createHarness, microtasks, type Harness } from '../helpers/engine-harness';
import { WrappedTransport } from '../helpers/wrapped-transport';

/** Drops what it receives while `muted` (a link that went deaf). */
class Deaf extends WrappedTransport {
  readonly kind = 'deaf';
  readonly description = 'deaf link';
  muted = false;
  protected override received(chunk: Buffer): void {
    if (!this.muted) this.emit('data', chunk);
  }
}

describe('bus engine: stats() — the health counters', function () {
  this.timeout(60_000);
  let h: Harness | undefined;
  afterEach(async () => {
    if (h) {
      assert.deepEqual(h.clock.errors, []);
      assert.deepEqual(h.sim.errors, []);
      await h.stop();
    }
    h = undefined;
  });

  it('a new engine: every counter at 0, since = creation; status().stats is the same snapshot', () => {
    const before = Date.now();
    const e = new BusEngine(new EventEmitter() as unknown as Transport);
    const s = e.stats();
    const expected: BusStats = {
      since: s.since,
      bytesReceived: 0,
      bytesDiscarded: 0,
      framesDecoded: 0,
      badFrames: {},
      discards: {},
      requestsSent: 0,
      requestsInjected: 0,
      injectionsDeferred: 0,
      timeouts: 0,
      collisions: 0,
      reconnects: 0,
      watchdogReopens: 0,
      queued: 0,
      loopLagMs: 0,
    };
    assert.deepEqual(s, expected);
    assert.ok(s.since >= before - 1 && s.since <= Date.now());
    assert.deepEqual(e.status().stats, s);
    // A copy: changing it changes nothing.
    s.badFrames.noise = 5;
    assert.deepEqual(e.stats().badFrames, {});
  });

  it('master mode on a noisy, truncating line: frames decoded, bad frames by reason, timeouts, bytes discarded', async () => {
    h = await createHarness({ sim: { packs: [1, 2], seed: 3, faults: { noise: 2, truncate: 0.1 } }, engine: { mode: 'master', addresses: [1, 2] } });
    await h.run(120_000, 100);
    const s = h.engine.stats();
    assert.equal(s.framesDecoded, h.frames.length);
    assert.ok(s.framesDecoded > 300, `frames ${s.framesDecoded}`);
    assert.ok((s.badFrames.noise ?? 0) > 10, JSON.stringify(s.badFrames));
    assert.ok((s.badFrames.truncated ?? 0) > 10, JSON.stringify(s.badFrames));
    assert.equal(s.badFrames.echo, undefined, 'our echo is not a bad frame');
    // Runs of dropped bytes: fewer runs than bytes, and bytesDiscarded is their byte count.
    for (const [reason, runs] of Object.entries(s.badFrames)) assert.ok(runs <= s.discards[reason]!, reason);
    assert.equal(s.bytesDiscarded, Object.entries(s.discards).reduce((a, [k, v]) => a + (k === 'echo' ? 0 : v), 0));
    assert.ok(s.timeouts >= h.sim.stats().faults.truncate - 2 && s.timeouts > 10, `timeouts ${s.timeouts}, truncated ${h.sim.stats().faults.truncate}`);
    assert.equal(s.requestsSent, h.sent('host 1').length);
    assert.equal(s.requestsInjected, 0);
    assert.equal(s.collisions, 0, 'a noisy line is not a second talker');
    assert.equal(s.reconnects, 0);
  });

  it('reconnects: the adapter unplugged and plugged back in; watchdog reopens of a deaf link count as both', async () => {
    h = await createHarness({ sim: { packs: [1] }, engine: { mode: 'master', addresses: [1] } });
    await h.run(2_000);
    h.endpoint.unplug();
    await h.run(1_000);
    h.endpoint.replug();
    await h.run(40_000);
    assert.equal(h.engine.status().connected, true);
    assert.equal(h.engine.stats().reconnects, 1);
    assert.equal(h.engine.stats().watchdogReopens, 0);
    await h.stop();

    h = await createHarness({ sim: { packs: [1] }, engine: { mode: 'master', addresses: [1] }, manual: true });
    const link = new Deaf(h.endpoint);
    const engine = new BusEngine(link, { mode: 'master', addresses: [1] }, { clock: h.clock });
    engine.start();
    await microtasks();
    await h.run(3_000);
    link.muted = true;
    await h.run(20_000, 100);
    const s = engine.stats();
    assert.equal(s.watchdogReopens, 2, '5 s, then 10 s after the reconnect');
    assert.equal(s.reconnects, 2);
    await engine.stop();
  });

  it('requests waiting for a moment to talk are counted as queued, and not after they are answered', async () => {
    h = await createHarness({ sim: { packs: [1, 2], master: true } });
    await h.run(9_000);
    assert.equal(h.engine.status().role, 'sniffing');
    const p = h.engine.request(1, 'info');
    const q = h.engine.request(2, 'info');
    assert.equal(h.engine.stats().queued, 2);
    const [r1, r2] = await Promise.all([h.settle(p), h.settle(q)]);
    assert.ok(r1.value && r2.value);
    assert.equal(h.engine.stats().queued, 0);
    assert.ok(h.engine.stats().requestsInjected >= 2);
    assert.equal(h.engine.stats().collisions, 0);
  });
});

import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { FakeClock } from '../../src/common/clock';
import { BusEngine } from '../../src/bus/engine';
import type { Transport } from '../../src/transport/transport';
import { BusError, type FrameEvent } from '../../src/bus/types';
import { createHarness, microtasks, type Harness } from '../helpers/engine-harness';
import { WrappedTransport } from '../helpers/wrapped-transport';

/** Wraps a transport; `muted` drops received bytes (serialport's zero-byte-read state, a half-open gateway). */
class Mutable extends WrappedTransport {
  readonly kind = 'mutable';
  readonly description = 'mutable link';
  muted = false;
  readonly reopens: { at: number; reason: string }[] = [];

  constructor(
    inner: Transport,
    private readonly clock: FakeClock,
  ) {
    super(inner);
  }

  protected override received(chunk: Buffer): void {
    if (!this.muted) this.emit('data', chunk);
  }

  override reopen(reason: string): void {
    this.reopens.push({ at: this.clock.now(), reason });
    super.reopen(reason);
  }
}

describe('bus engine: link, watchdog, lifecycle', function () {
  this.timeout(30_000);
  let h: Harness | undefined;
  afterEach(async () => {
    if (h) {
      assert.deepEqual(h.clock.errors, []);
      assert.deepEqual(h.sim.errors, []);
      await h.stop();
    }
    h = undefined;
  });

  it('unplug: pending requests fail NOT_CONNECTED, packs go offline after offlineAfterS; replug: reconnects with backoff and polls again', async () => {
    h = await createHarness({ sim: { packs: [1, 2] }, engine: { mode: 'master', addresses: [1, 2], offlineAfterS: 5 } });
    await h.run(3_000);
    assert.equal(h.engine.status().packsOnline, 2);
    const pending = h.engine.request(2, 'info', { timeoutMs: 60_000 });
    h.endpoint.unplug();
    const unpluggedAt = h.clock.now();
    await assert.rejects(pending, (e: BusError) => e.code === 'NOT_CONNECTED' && /simulated adapter unplugged/.test(e.message));
    assert.deepEqual(h.connections.at(-1), { connected: false, at: unpluggedAt });
    assert.equal(h.engine.status().role, 'listening');
    await assert.rejects(h.engine.request(1, 'live'), (e: BusError) => e.code === 'NOT_CONNECTED');
    await h.run(10_000);
    const offline = h.packEvents.filter((e) => !e.online);
    assert.deepEqual(
      offline.map((e) => e.address),
      [1, 2],
    );
    assert.ok(offline.every((e) => e.at - unpluggedAt <= 5_000 + 1_000), 'offline within offlineAfterS + one sweep');
    assert.equal(h.engine.status().packsOnline, 0);
    h.endpoint.replug();
    await h.run(40_000);
    const up = h.connections.at(-1)!;
    assert.equal(up.connected, true);
    assert.ok(up.at > h.clock.now() - 40_000 && up.at - unpluggedAt < 10_000 + 33_000, 'reconnected by the backoff');
    assert.equal(h.engine.status().role, 'master');
    assert.equal(h.engine.status().packsOnline, 2);
    assert.ok(h.frames.filter((f) => f.at > up.at && f.kind === 'live').length > 100, 'data flows again');
    assert.deepEqual(h.errors, []);
  });

  it('watchdog: no byte for 5 s while packs should answer → transport.reopen(), backing off 5 → 10 → 20 s until bytes come again', async () => {
    h = await createHarness({ sim: { packs: [1] }, engine: { mode: 'master', addresses: [1] }, manual: true });
    const link = new Mutable(h.endpoint, h.clock);
    const engine = new BusEngine(link, { mode: 'master', addresses: [1] }, { clock: h.clock });
    const frames: FrameEvent[] = [];
    engine.on('frame', (f: FrameEvent) => frames.push(f));
    engine.start();
    await microtasks();
    await h.run(3_000);
    assert.ok(frames.length > 5);
    link.muted = true;
    const mutedAt = h.clock.now();
    await h.run(40_000, 100);
    const at = link.reopens.map((r) => r.at);
    assert.equal(at.length, 3, `reopens at ${at.map((t) => t - mutedAt).join(', ')} ms`);
    // Checked once a second: 5 s after the last byte, then 10 s and 20 s after each reconnect
    // (the transport's own reconnect delay, ≈ 0.5 s, comes on top).
    assert.ok(at[0]! - mutedAt >= 5_000 && at[0]! - mutedAt <= 6_000, `first after ${at[0]! - mutedAt} ms`);
    assert.ok(at[1]! - at[0]! >= 10_000 && at[1]! - at[0]! <= 12_000, `second after ${at[1]! - at[0]!} ms`);
    assert.ok(at[2]! - at[1]! >= 20_000 && at[2]! - at[1]! <= 22_000, `third after ${at[2]! - at[1]!} ms`);
    assert.match(link.reopens[0]!.reason, /no bytes received for 5 s/);
    link.muted = false;
    const back = h.clock.now();
    await h.run(60_000, 100);
    assert.equal(link.reopens.length, 3, 'no reopen while bytes flow');
    assert.ok(frames.filter((f) => f.at > back).length > 100);
    await engine.stop();
  });

  it('no watchdog reopen in listen mode on a silent bus', async () => {
    h = await createHarness({ sim: { packs: [1] }, manual: true });
    const link = new Mutable(h.endpoint, h.clock);
    const engine = new BusEngine(link, { mode: 'listen' }, { clock: h.clock });
    engine.start();
    await microtasks();
    await h.run(60_000, 500);
    assert.deepEqual(link.reopens, []);
    await engine.stop();
  });

  it('stop(): rejects pending requests with STOPPED, leaves no timer, resolves at once; start() again works', async () => {
    h = await createHarness({ sim: { packs: [1] }, engine: { mode: 'master', addresses: [1] } });
    await h.run(2_000);
    const p = h.engine.request(1, 'settings');
    await h.engine.stop();
    await assert.rejects(p, (e: BusError) => e.code === 'STOPPED');
    assert.equal(h.engine.status().role, 'stopped');
    assert.equal(h.engine.status().connected, false);
    assert.equal(h.endpoint.isOpen(), false);
    await h.engine.stop(); // idempotent
    await h.sim.stop();
    assert.equal(h.clock.pending, 0, 'no timer left behind');
    await assert.rejects(h.engine.request(1, 'live'), (e: BusError) => e.code === 'STOPPED');

    h = await createHarness({ sim: { packs: [1] }, engine: { mode: 'master', addresses: [1] } });
    await h.run(2_000);
    await h.engine.stop();
    const before = h.frames.length;
    h.engine.start();
    await h.run(3_000);
    assert.ok(h.frames.length > before + 10, 'polls again after a restart');
    assert.deepEqual(
      h.roles.map((r) => r.role),
      ['listening', 'master', 'stopped', 'listening', 'master'],
    );
  });

  it('a throwing listener never stops the engine: the error is reported on the error event', async () => {
    h = await createHarness({ sim: { packs: [1] }, engine: { mode: 'master', addresses: [1] } });
    let thrown = 0;
    h.engine.on('frame', () => {
      thrown++;
      throw new Error('listener bug');
    });
    await h.run(3_000);
    assert.ok(thrown > 10);
    assert.equal(h.errors.length, thrown);
    assert.equal(h.errors[0]!.message, 'listener bug');
    assert.ok(h.frames.length >= thrown);
    h.errors.length = 0;
  });

  it('an engine without an error listener does not throw from emit', async () => {
    h = await createHarness({ sim: { packs: [1] }, engine: { mode: 'master', addresses: [1] } });
    h.engine.removeAllListeners('error');
    h.engine.on('frame', () => {
      throw new Error('listener bug');
    });
    await h.run(2_000);
    assert.equal(h.engine.status().role, 'master');
  });

  it('rejects bad options with a clear message', () => {
    const t = new EventEmitter() as unknown as Transport;
    assert.throws(() => new BusEngine(t, { mode: 'slave' as 'auto' }), /mode must be one of auto, master, listen; got "slave"/);
    assert.throws(() => new BusEngine(t, { minGapMs: -1 }), /minGapMs must be a number from 0 to 10000; got -1/);
    assert.throws(() => new BusEngine(t, { responseTimeoutMs: Number.NaN }), /responseTimeoutMs must be a number/);
    assert.throws(() => new BusEngine(t, { addresses: [0, 1] }), /0 is the JK master/);
    assert.throws(() => new BusEngine(t, { addresses: [] }), /non-empty list/);
    assert.throws(() => new BusEngine(t, { addresses: [1, 16] }), /integer 1–15; got 16/);
    assert.throws(() => new BusEngine(t, { allowWrites: 'yes' as unknown as boolean }), /allowWrites must be true or false/);
    const e = new BusEngine(t, { addresses: [3, 1, 3], minGapMs: undefined });
    assert.deepEqual(e.options.addresses, [1, 3]);
    assert.equal(e.options.minGapMs, 100);
    assert.equal(e.status().role, 'stopped');
  });
});

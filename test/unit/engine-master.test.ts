import assert from 'node:assert/strict';
import { BusError, type PackState } from '../../src/bus/types';
import { createHarness, falseFrames, liveIntervals, mean, median, type Harness } from '../helpers/engine-harness';

/** Byte time at 115200 8N1 and the simulator's default pack timing (turnaround 8 ms ± 0.5, tail gap 2 ms). */
const BYTE = 10_000 / 115200;
const EXCHANGE_MS = 11 * BYTE + 8 + 300 * BYTE + 2 + 8 * BYTE; // trigger → last ack byte ≈ 37.7 ms
const POLL_MS = EXCHANGE_MS + 100; // + minGapMs
const PROBE_MS = 11 * BYTE + 300; // trigger + responseTimeoutMs

describe('bus engine: master mode', function () {
  let h: Harness | undefined;
  afterEach(async () => {
    if (h) {
      assert.deepEqual(h.errors, []);
      assert.deepEqual(h.clock.errors, []);
      assert.deepEqual(h.sim.errors, []);
      await h.stop();
    }
    h = undefined;
  });

  it('one pack: listens before the first transmission, reads info, settings and live data, polls every exchange + minGap', async () => {
    h = await createHarness({ sim: { packs: [1] }, engine: { mode: 'master', addresses: [1] } });
    await h.run(20_000);
    assert.equal(h.engine.status().role, 'master');
    const host = h.sent('host 1');
    // Master mode still listens 500 ms after the link comes up (a JK master may already talk).
    assert.ok(host[0]!.start >= h.connections[0]!.at + 500 - 1e-6, `first transmission at ${host[0]!.start}`);
    const kinds = h.frames.filter((f) => f.address === 1).map((f) => f.kind);
    assert.deepEqual(kinds.slice(0, 3), ['live', 'info', 'settings']); // probe, then info and settings at discovery
    assert.ok(h.frames.every((f) => f.source === 'poll'));
    const iv = liveIntervals(h.frames, 1, h.frames[3]!.at);
    assert.ok(Math.abs(mean(iv) - POLL_MS) < 0.5, `mean live interval ${mean(iv)} vs ${POLL_MS}`);
    assert.ok(Math.max(...iv) < POLL_MS + 1.5, `max ${Math.max(...iv)}`);
    const st = h.engine.status();
    assert.equal(st.packsOnline, 1);
    assert.equal(st.stats.timeouts, 0);
    assert.equal(st.stats.bytesDiscarded, 0);
    assert.equal(st.stats.requestsInjected, 0);
    const pack = h.engine.pack(1)!;
    assert.equal(pack.online, true);
    assert.equal(pack.isMaster, false);
    assert.equal(pack.info?.serialNumber, h.sim.pack(1).serialNumber);
    assert.deepEqual(pack.settings, { ...h.sim.pack(1).settings(), address: 1 });
    assert.ok(pack.latencyMs! > 36 && pack.latencyMs! < 40, `latency ${pack.latencyMs}`);
    assert.equal(h.sim.stats().collisions, 0);
    assert.deepEqual(falseFrames(h), []);
  });

  for (const n of [4, 15]) {
    it(`${n} packs: round robin, every pack refreshed every ${n} × (exchange + minGap)`, async () => {
      const packs = Array.from({ length: n }, (_, i) => i + 1);
      h = await createHarness({ sim: { packs }, engine: { mode: 'master', addresses: packs } });
      await h.run(40_000);
      const from = h.clock.now() - 25_000;
      for (const a of packs) {
        const p: PackState = h.engine.pack(a)!;
        assert.equal(p.online, true, `pack ${a}`);
        assert.ok(p.info && p.settings && p.live, `pack ${a} has all three payloads`);
        const iv = liveIntervals(h.frames, a, from);
        assert.ok(Math.abs(median(iv) - n * POLL_MS) < n * 0.6, `pack ${a}: median ${median(iv)} vs ${n * POLL_MS}`);
        // A settings re-read (every 30 s) takes the pack's live slot of one cycle.
        assert.ok(Math.max(...iv) < 2 * n * POLL_MS + n * 1.2, `pack ${a}: max ${Math.max(...iv)}`);
      }
      assert.equal(h.sim.stats().collisions, 0);
      assert.equal(h.engine.status().stats.timeouts, 0);
      assert.deepEqual(falseFrames(h), []);
    });
  }

  it('address gaps: finds packs 2, 5, 9 and 14 among 1–15 and polls only them', async () => {
    h = await createHarness({ sim: { packs: [2, 5, 9, 14] }, engine: { mode: 'master' } });
    await h.run(30_000);
    assert.deepEqual(
      h.engine.status().packs.map((p) => [p.address, p.online]),
      [
        [2, true],
        [5, true],
        [9, true],
        [14, true],
      ],
    );
    // The initial scan probes 1–15 once, in order.
    const firstTargets = h.sent('host 1').slice(0, 15).map((t) => t.bytes[0]);
    assert.deepEqual(firstTargets, Array.from({ length: 15 }, (_, i) => i + 1));
    assert.deepEqual(falseFrames(h), []);
  });

  it('dead addresses never stall the others: at most one probe per cycle, re-probed with backoff 5 s doubling', async () => {
    h = await createHarness({ sim: { packs: [1, 2, 3, 4] }, engine: { mode: 'master', settingsIntervalS: 3600 } });
    await h.run(11 * 60_000, 200);
    const host = h.sent('host 1');
    // Probes of address 7 (absent): the scan, then +5, +10, +20, +40, +80, +160, +300 s (capped at 5 min).
    const probes7 = host.filter((t) => t.bytes[0] === 7).map((t) => t.start);
    const gaps = probes7.slice(1).map((t, i) => (t - probes7[i]!) / 1000);
    const expected = [5, 10, 20, 40, 80, 160, 300];
    assert.equal(gaps.length, expected.length, `probe gaps ${gaps.join(', ')}`);
    // A due probe waits for the next cycle that has no probe yet: the 11 absent addresses fell
    // due together after the scan, so one of them may wait up to 11 cycles (one probe each).
    const slack = (11 * (4 * POLL_MS + PROBE_MS)) / 1000;
    gaps.forEach((g, i) => assert.ok(g >= expected[i]! && g < expected[i]! + slack, `gap ${i}: ${g} s, expected ${expected[i]} s + ≤ ${slack} s`));
    // Never two probes within one cycle of the present packs.
    const probeStarts = host.filter((t) => t.bytes[0]! > 4).map((t) => t.start);
    const afterScan = probeStarts.filter((t) => t > probeStarts[10]!);
    for (let i = 1; i < afterScan.length; i++) assert.ok(afterScan[i]! - afterScan[i - 1]! > 4 * POLL_MS, 'two probes in one cycle');
    // Live refresh per pack, with 11 dead addresses, in the steady state: same as without them
    // except for cycles that carry a probe (one probe = PROBE_MS more).
    for (const a of [1, 2, 3, 4]) {
      const iv = liveIntervals(h.frames, a, h.clock.now() - 5 * 60_000);
      assert.ok(Math.abs(mean(iv) - 4 * POLL_MS) < 25, `pack ${a}: mean ${mean(iv)}`);
      assert.ok(Math.max(...iv) < 4 * POLL_MS + PROBE_MS + 2, `pack ${a}: max ${Math.max(...iv)} > one cycle + one probe`);
    }
    assert.equal(h.engine.status().stats.timeouts, 0, 'probes of absent addresses are not timeouts');
  });

  it('a pack that stops answering goes offline after 3 unanswered polls, is re-probed with backoff, and comes back', async () => {
    h = await createHarness({ sim: { packs: [1, 2] }, engine: { mode: 'master', addresses: [1, 2] } });
    await h.run(5_000);
    h.sim.pack(2).setSilent(true);
    const silentAt = h.clock.now();
    await h.run(3_000);
    const off = h.packEvents.find((e) => e.address === 2 && !e.online);
    assert.ok(off, 'offline event');
    // 3 live polls of pack 2, one per cycle: the third timeout is at most 3 cycles after silence.
    assert.ok(off.at - silentAt < 3 * (POLL_MS + 301) + 50, `offline after ${off.at - silentAt} ms`);
    assert.equal(h.engine.pack(2)!.online, false);
    assert.equal(h.engine.pack(2)!.errors, 3);
    assert.equal(h.engine.status().stats.timeouts, 3);
    // Pack 1 keeps its refresh meanwhile (one probe of 2 every 5 s at most).
    const iv = liveIntervals(h.frames, 1, off.at);
    assert.ok(Math.max(...iv) < POLL_MS + PROBE_MS + 2, `pack 1 max interval ${Math.max(...iv)}`);
    h.sim.pack(2).setSilent(false);
    await h.run(12_000);
    const on = h.packEvents.filter((e) => e.address === 2 && e.online);
    assert.equal(on.length, 2, 'online again');
    assert.equal(h.engine.pack(2)!.online, true);
  });

  it('listen mode never transmits, even on a silent bus', async () => {
    h = await createHarness({ sim: { packs: [1, 2] }, engine: { mode: 'listen' } });
    await h.run(30_000);
    assert.equal(h.sent('host 1').length, 0);
    assert.equal(h.engine.status().role, 'listening');
    await assert.rejects(h.engine.request(1, 'live'), (e: BusError) => e.code === 'LISTEN_ONLY');
  });
});

describe('bus engine: request()', function () {
  let h: Harness | undefined;
  afterEach(async () => {
    if (h) {
      assert.deepEqual(h.errors, []);
      await h.stop();
    }
    h = undefined;
  });

  it('jumps the poll queue in master mode and resolves with the decoded frame', async () => {
    h = await createHarness({ sim: { packs: [1, 2, 3, 4] }, engine: { mode: 'master', addresses: [1, 2, 3, 4] } });
    await h.run(5_000);
    h.sim.pack(3).setSoc(42);
    const t0 = h.clock.now();
    const r = await h.settle(h.engine.request(3, 'live'));
    const frame = r.value!;
    assert.equal(frame.type, 'live');
    assert.equal(frame.address, 3);
    assert.equal((frame as { soc: number }).soc, 42);
    // Sent as the very next command: within one exchange + minGap, plus the one in flight.
    assert.ok(h.clock.now() - t0 < 2 * POLL_MS + 20, `took ${h.clock.now() - t0} ms`);
  });

  it("'all' resolves one frame per online pack", async () => {
    h = await createHarness({ sim: { packs: [1, 2, 3] }, engine: { mode: 'master', addresses: [1, 2, 3] } });
    await h.run(4_000);
    const r = await h.settle(h.engine.request('all', 'settings'));
    assert.deepEqual(
      (r.value as { address: number | null }[]).map((f) => f.address),
      [1, 2, 3],
    );
  });

  it('rejects with TIMEOUT when the pack does not answer two requests', async () => {
    h = await createHarness({ sim: { packs: [1, 2] }, engine: { mode: 'master', addresses: [1, 2] } });
    await h.run(4_000);
    h.sim.pack(2).setSilent(true);
    const t0 = h.clock.now();
    const r = await h.settle(h.engine.request(2, 'info'));
    assert.ok(r.error instanceof BusError);
    assert.equal(r.error.code, 'TIMEOUT');
    assert.match(r.error.message, /pack 2 did not answer to 2 info requests/);
    assert.ok(h.clock.now() - t0 < 2 * (PROBE_MS + POLL_MS) + 50, `took ${h.clock.now() - t0}`);
  });

  it('rejects with TIMEOUT at its own deadline', async () => {
    h = await createHarness({ sim: { packs: [1] }, engine: { mode: 'auto', addresses: [1] } });
    // Auto mode listens 2 s before polling: a 500 ms deadline passes first.
    await h.run(3_000);
    h.sim.pack(1).setSilent(true);
    await h.run(500);
    const r = await h.settle(h.engine.request(1, 'live', { timeoutMs: 200 }));
    assert.equal((r.error as BusError).code, 'TIMEOUT');
    assert.match((r.error as BusError).message, /within 200 ms/);
  });

  it('rejects an address never seen, a bad address, a bad kind, and before the link is up', async () => {
    h = await createHarness({ sim: { packs: [1] }, engine: { mode: 'master', addresses: [1] }, manual: true });
    await assert.rejects(h.engine.request(1, 'live'), (e: BusError) => e.code === 'STOPPED');
    h.endpoint.unplug();
    h.engine.start();
    await assert.rejects(h.engine.request(1, 'live'), (e: BusError) => e.code === 'NOT_CONNECTED');
    h.endpoint.replug();
    await h.run(3_000);
    assert.equal(h.engine.status().connected, true);
    await assert.rejects(h.engine.request(7, 'live'), (e: BusError) => e.code === 'UNKNOWN_PACK' && /pack 7 has never been seen on this bus \(seen: 1\)/.test(e.message));
    await assert.rejects(h.engine.request(16, 'live'), (e: BusError) => e.code === 'UNKNOWN_PACK' && /integer 0–15/.test(e.message));
    await assert.rejects(h.engine.request(1, 'cells' as 'live'), /kind must be 'live', 'settings' or 'info'/);
    await assert.rejects(h.engine.request(1, 'live', { timeoutMs: -1 }), /timeoutMs must be a positive number/);
  });
});

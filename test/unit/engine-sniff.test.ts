import assert from 'node:assert/strict';
import { BusError, type FrameEvent, type WriteResult } from '../../src/bus/types';
import type { DecodedFrame } from '../../src/protocol/types';
import { createHarness, falseFrames, microtasks, type Harness } from '../helpers/engine-harness';

const CYCLE_MS = 4400;
const FRAME_MS = (308 * 10_000) / 115200;

describe('bus engine: sniffing a JK master', function () {
  this.timeout(120_000);
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

  const profiles = {
    'the measured master timing': {},
    'a faster master (90 ms after answers, 150 ms probe timeout)': { master: { gapAfterAnswerMs: 90, probeTimeoutMs: 150 } },
    'a master that waits for a quiet line before it talks': { master: { foreignTraffic: 'defer' as const } },
  };
  for (const [name, timing] of Object.entries(profiles)) {
    it(`master + 3 slaves, ${name}: decodes everything, device info within two cycles, 0 collisions in 1 h with requests and writes`, async () => {
      h = await createHarness({
        sim: { packs: [1, 2, 3], master: true, seed: 7, timing },
        engine: { allowWrites: true },
        recordTransmissions: true,
      });
      await h.run(2 * CYCLE_MS + 100, 100);
      assert.deepEqual(
        h.roles.map((r) => r.role),
        ['listening', 'sniffing'],
      );
      const sniffAt = h.roles[1]!.at;
      // The master's own live frame is the first message on the bus: sniffing from its last byte.
      assert.ok(sniffAt - h.sent('master')[0]!.end < 2, `sniffing ${sniffAt - h.sent('master')[0]!.end} ms after the master's first frame`);
      for (const a of [1, 2, 3]) {
        const info: FrameEvent | undefined = h.frames.find((f) => f.kind === 'info' && f.address === a);
        assert.ok(info, `device info of pack ${a}`);
        assert.equal(info.source, 'poll');
        assert.ok(info.at - sniffAt < 2 * CYCLE_MS, `info of pack ${a} after ${info.at - sniffAt} ms`);
        assert.equal(h.engine.pack(a)!.info!.serialNumber, h.sim.pack(a).serialNumber);
      }

      // One hour: a request every 10 s, a confirmed write every 5 minutes.
      const requests: Promise<DecodedFrame>[] = [];
      const writes: Promise<WriteResult>[] = [];
      for (let i = 0; i < 360; i++) {
        const a = 1 + (i % 3);
        requests.push(h.engine.request(a, (['live', 'settings', 'info'] as const)[i % 3]));
        if (i % 30 === 0) writes.push(h.engine.write(a, 'maxBalanceCurrent', i % 60 === 0 ? 1.5 : 1.2));
        h.clock.advance(10_000);
        await microtasks();
      }
      const got = await Promise.all(requests);
      assert.equal(got.length, 360);
      got.forEach((f, i) => assert.equal(f.address, 1 + (i % 3)));
      const written = await Promise.all(writes);
      written.forEach((w, i) => {
        assert.equal(w.ok, true);
        assert.equal(w.after, i % 2 === 0 ? 1.5 : 1.2);
      });
      assert.equal(h.sim.stats().collisions, 0, 'collisions with the JK master');

      const st = h.engine.status();
      assert.equal(st.role, 'sniffing');
      assert.equal(st.masterPresent, true);
      assert.deepEqual(
        st.packs.map((p) => [p.address, p.online, p.isMaster]),
        [
          [0, true, true],
          [1, true, false],
          [2, true, false],
          [3, true, false],
        ],
      );
      // Every cycle: the master's own two frames and live + settings of each slave, all decoded.
      const cycles = h.sim.stats().master!.cycles;
      for (const a of [0, 1, 2, 3]) {
        for (const kind of ['live', 'settings'] as const) {
          const n = h.frames.filter((f) => f.address === a && f.kind === kind && f.source === 'sniff').length;
          assert.ok(n >= cycles - 1 && n <= cycles, `pack ${a} ${kind}: ${n} frames in ${cycles} cycles`);
        }
      }
      assert.equal(h.sent('host 1').filter((t) => t.bytes[0] === 0).length, 0, 'never addresses the JK master');
      assert.ok(st.stats.requestsInjected >= 3 + 12, `injected ${st.stats.requestsInjected}`);
      assert.equal(st.stats.requestsInjected, st.stats.requestsSent);
      assert.equal(st.stats.bytesDiscarded, 0);
      assert.deepEqual(falseFrames(h), []);
    });
  }

  it('requests answered by the master’s own polling are not sent, and leave nothing queued', async () => {
    h = await createHarness({ sim: { packs: [1, 2], master: true } });
    await h.run(3 * CYCLE_MS);
    const injected = h.engine.status().stats.requestsInjected;
    for (let i = 0; i < 200; i++) {
      const r: { value?: DecodedFrame } = await h.settle(h.engine.request(1, 'live'));
      assert.equal(r.value!.address, 1);
    }
    // The master polls pack 1 every cycle: most requests are met by its answers before a gap
    // comes; whatever we did inject, the queue holds nothing afterwards.
    const st = h.engine.status().stats;
    assert.ok(st.requestsInjected - injected < 200, `${st.requestsInjected - injected} injected`);
    assert.equal(h.engine.stats().queued, 0);
    assert.equal(h.sim.stats().collisions, 0);
  });

  it('listen mode decodes the whole bus and never transmits', async () => {
    h = await createHarness({ sim: { packs: [1, 2], master: true }, engine: { mode: 'listen' } });
    await h.run(3 * CYCLE_MS);
    assert.equal(h.sent('host 1').length, 0);
    const st = h.engine.status();
    assert.equal(st.role, 'listening');
    assert.equal(st.masterPresent, true);
    assert.deepEqual(
      st.packs.map((p) => p.address),
      [0, 1, 2],
    );
    assert.ok(st.packs.every((p) => p.live && p.settings && !p.info));
  });

  it('request() in sniff mode: a slave via the quiet gap, the master (address 0) from its own broadcast', async () => {
    h = await createHarness({ sim: { packs: [1, 2], master: true } });
    await h.run(2 * CYCLE_MS);
    const sentBefore = h.sent('host 1').length;
    const live0 = await h.settle(h.engine.request(0, 'live'));
    assert.equal(live0.value!.address, 0);
    assert.equal(h.sent('host 1').length, sentBefore, 'nothing sent for address 0');
    await assert.rejects(h.engine.request(0, 'info'), (e: BusError) => e.code === 'UNKNOWN_PACK' && /never sends its device info/.test(e.message));
    const info2 = await h.settle(h.engine.request(2, 'info'));
    assert.equal(info2.value!.type, 'info');
    assert.equal(h.frames.at(-1)!.source, 'poll');
    assert.equal(h.sim.stats().collisions, 0);
  });

  // Different gaps put our polls at different phases of the master's first frame.
  for (const minGapMs of [100, 64, 131]) {
    it(`a master appearing while we are master (minGap ${minGapMs} ms): we stop within one frame time and sniff; when it disappears we take over after masterSilenceMs`, async () => {
      h = await createHarness({ sim: { packs: [1, 2, 3], master: true }, engine: { minGapMs } });
      h.sim.pack(0).setSilent(true);
      await h.run(6_000);
      assert.equal(h.engine.status().role, 'master');
      assert.ok(h.sent('host 1').length > 10);
      h.sim.pack(0).setSilent(false);
      await h.run(CYCLE_MS + 500, 5);
      const t0 = h.sent('master')[0]!.start;
      const late = h.sent('host 1').filter((t) => t.start > t0);
      assert.ok(late.every((t) => t.start <= t0 + FRAME_MS), `host transmissions after the master started: ${late.map((t) => (t.start - t0).toFixed(1)).join(', ')} ms`);
      // Sniffing from the end of the master's first frame — or, when that one collided with an
      // answer to our last poll (frame and tail: 2 collisions), from its second, 220 ms later.
      const sniff = h.roles.find((r) => r.role === 'sniffing')!;
      const collided = h.sim.stats().collisions;
      assert.ok(collided <= 2, `collisions ${collided}`);
      const expectedAt = t0 + FRAME_MS + (collided ? 220 : 0);
      assert.ok(Math.abs(sniff.at - expectedAt) < 2, `sniffing ${sniff.at - t0} ms after the master's first byte (collisions: ${collided})`);
      assert.equal(sniff.previous, 'master');

      await h.run(3 * CYCLE_MS);
      const collisions = h.sim.stats().collisions;
      h.sim.pack(0).setSilent(true);
      await h.run(CYCLE_MS + 3_000, 5);
      const lastForeign = Math.max(...h.transmissions.filter((t) => t.sender !== 'host 1' && t.end < h!.roles.at(-1)!.at).map((t) => t.end));
      const back = h.roles.at(-1)!;
      assert.equal(back.role, 'master');
      assert.ok(Math.abs(back.at - lastForeign - 2000) < 3, `took over ${back.at - lastForeign} ms after the last foreign byte`);
      assert.equal(h.sim.stats().collisions, collisions);
      const firstPoll = h.sent('host 1').find((t) => t.start >= back.at)!;
      assert.ok(firstPoll.start - back.at < 1, 'polls at once');
    });
  }
});

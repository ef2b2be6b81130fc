import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { Clock } from '../../src/bus/clock';
import { BusEngine } from '../../src/bus/engine';
import type { Transport } from '../../src/bus/transport';
import { classifyFalseFrames, createHarness, falseFrames, liveIntervals, mean, microtasks, type Harness } from '../helpers/engine-harness';
import { rng } from '../helpers/framing';

const BYTE = 10_000 / 115200;
const POLL_MS = 11 * BYTE + 8 + 308 * BYTE + 2 + 100;

/**
 * A gateway that splits what it receives into random pieces (1–40 bytes) delivered up to a
 * few ms apart, in order — TCP fragmentation on the fake clock.
 */
class Fragmenter extends EventEmitter implements Transport {
  readonly kind = 'fragmenter';
  readonly description = 'fragmenting gateway';
  private readonly random = rng(42);
  private nextAt = 0;

  constructor(
    private readonly inner: Transport,
    private readonly clock: Clock,
  ) {
    super();
    inner.on('open', () => this.emit('open'));
    inner.on('close', (e?: Error) => this.emit('close', e));
    inner.on('data', (chunk: Buffer) => this.split(chunk));
  }

  private split(chunk: Buffer): void {
    for (let i = 0; i < chunk.length; ) {
      const n = 1 + Math.floor(this.random() * 40);
      const piece = Buffer.from(chunk.subarray(i, i + n));
      i += n;
      const at = Math.max(this.clock.now(), this.nextAt) + this.random() * 4;
      this.nextAt = at;
      this.clock.setTimeout(() => this.emit('data', piece), at - this.clock.now());
    }
  }

  open(): void {
    this.inner.open();
  }
  close(): Promise<void> {
    return this.inner.close();
  }
  write(data: Buffer): boolean {
    return this.inner.write(data);
  }
  isOpen(): boolean {
    return this.inner.isOpen();
  }
  markHealthy(): void {
    this.inner.markHealthy();
  }
  reopen(reason: string): void {
    this.inner.reopen(reason);
  }
}

describe('bus engine: faults', function () {
  this.timeout(60_000);
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

  it('noise bursts while master: no false frame, noise counted, polling goes on after each hold-off', async () => {
    h = await createHarness({ sim: { packs: [1, 2, 3, 4], seed: 3, faults: { noise: 2 } }, engine: { mode: 'master', addresses: [1, 2, 3, 4] } });
    await h.run(10 * 60_000, 200);
    const st = h.engine.status();
    // A burst inside a frame garbles it; the 8-bit sum still matches for 1 in 256 of those —
    // the protocol's limit, not a framing error. Everything else must be exact.
    const { garbled, phantom } = classifyFalseFrames(h);
    assert.deepEqual(phantom, []);
    const rejected = (st.stats.discards['bad-sum8'] ?? 0) / 300;
    assert.ok(rejected > 100, `garbled frames rejected: ${rejected}`);
    assert.ok(garbled.length <= Math.max(2, rejected / 64), `${garbled.length} garbled frames passed the sum8 check, ${rejected} were rejected`);
    assert.ok(h.sim.stats().faults.noise > 1000, `noise bursts ${h.sim.stats().faults.noise}`);
    assert.ok((st.stats.discards.noise ?? 0) > 1000, `noise bytes discarded ${st.stats.discards.noise}`);
    assert.equal(st.stats.bytesDiscarded, Object.entries(st.stats.discards).reduce((a, [k, v]) => a + (k === 'echo' ? 0 : v), 0));
    assert.deepEqual(
      h.roles.map((r) => r.role),
      ['listening', 'master'],
    );
    for (const a of [1, 2, 3, 4]) {
      const iv = liveIntervals(h.frames, a);
      // Two bursts per second cost a hold-off of 500 ms each at most.
      assert.ok(iv.length > 300, `pack ${a}: ${iv.length} live frames`);
      assert.equal(h.engine.pack(a)!.online, true);
    }
  });

  it('noise while sniffing: no false frame, requests still injected, no collision with the master', async () => {
    h = await createHarness({ sim: { packs: [1, 2, 3], master: true, seed: 5, faults: { noise: 1 } }, engine: { allowWrites: true } });
    await h.run(30_000, 100);
    const got = await h.settle(h.engine.request(2, 'info'), 60_000);
    assert.equal(got.value!.address, 2);
    await h.run(10 * 60_000, 500);
    assert.deepEqual(falseFrames(h), []);
    assert.equal(h.engine.status().role, 'sniffing');
    assert.equal(h.sim.stats().collisions, 0);
    assert.ok((h.engine.status().stats.discards.noise ?? 0) > 0);
  });

  it('truncated answers (FT232R-style): counted as truncated, never decoded, the pack stays polled', async () => {
    h = await createHarness({ sim: { packs: [1, 2], seed: 9, faults: { truncate: 0.05 } }, engine: { mode: 'master', addresses: [1, 2] } });
    await h.run(5 * 60_000, 200);
    const st = h.engine.status();
    assert.deepEqual(falseFrames(h), []);
    const truncated = h.sim.stats().faults.truncate;
    assert.ok(truncated > 50, `truncated answers ${truncated}`);
    assert.ok((st.stats.discards.truncated ?? 0) >= 287 * truncated, `truncated bytes ${st.stats.discards.truncated}`);
    assert.equal(st.stats.timeouts, truncated);
    assert.ok(liveIntervals(h.frames, 1).length > 800);
  });

  for (const echo of ['all', 5] as const) {
    it(`adapter echo (${echo}): our own bytes are recognised, never taken for a master or an answer; writes still confirmed`, async () => {
      h = await createHarness({ sim: { packs: [1, 2] }, endpoint: { echo }, engine: { allowWrites: true, addresses: [1, 2] } });
      await h.run(20_000);
      const st = h.engine.status();
      // Auto mode: our echoed triggers must not look like a JK master (R3D bug Q14).
      assert.deepEqual(
        h.roles.map((r) => r.role),
        ['listening', 'master'],
      );
      assert.equal(st.masterPresent, false);
      assert.ok((st.stats.discards.echo ?? 0) >= st.stats.requestsSent * (echo === 'all' ? 11 : 5), `echo bytes ${st.stats.discards.echo}`);
      assert.equal(st.stats.bytesDiscarded, 0);
      assert.equal(st.stats.timeouts, 0);
      const w = await h.settle(h.engine.write(2, 'maxChargeCurrent', 30));
      assert.equal(w.value!.ok, true);
      assert.ok(Math.abs(mean(liveIntervals(h.frames, 1, 10_000)) - 2 * POLL_MS) < 25);
      assert.deepEqual(falseFrames(h), []);
    });
  }

  it("the 'echo' fault (random 3–11 byte echoes) and bit flips: no false frame, no role change", async () => {
    h = await createHarness({ sim: { packs: [1, 2, 3], seed: 11, faults: { echo: 0.5, bitflip: 0.02 } }, engine: { addresses: [1, 2, 3] } });
    await h.run(5 * 60_000, 200);
    assert.deepEqual(falseFrames(h), []);
    assert.deepEqual(
      h.roles.map((r) => r.role),
      ['listening', 'master'],
    );
    assert.ok(h.sim.stats().faults.echo > 500 && h.sim.stats().faults.bitflip > 50);
    const d = h.engine.status().stats.discards;
    assert.ok((d.echo ?? 0) > 0 && (d['bad-sum8'] ?? 0) + (d['bad-crc'] ?? 0) > 0, JSON.stringify(d));
  });

  for (const master of [false, true]) {
    it(`fragmented delivery (pieces of 1–40 bytes, 0–4 ms apart), ${master ? 'sniffing a master' : 'as master'}: every frame decoded, none false`, async () => {
      h = await createHarness({ sim: { packs: [1, 2, 3], master }, manual: true });
      const frag = new Fragmenter(h.endpoint, h.clock);
      const engine = new BusEngine(frag, { addresses: [1, 2, 3] }, { clock: h.clock });
      const frames: { address: number | null; raw: Buffer; kind: string }[] = [];
      engine.on('frame', (f: { address: number | null; raw: Buffer; kind: string }) => frames.push(f));
      engine.start();
      await microtasks();
      await h.run(3 * 60_000, 100);
      h.frames.push(...(frames as typeof h.frames));
      assert.deepEqual(falseFrames(h), []);
      // Everything the packs and the master sent in full was decoded (the last few may be in flight).
      const sent = h.transmissions.filter((t) => t.bytes.length === 300 || (t.sender === 'master' && t.bytes.length === 308)).length;
      assert.ok(frames.length >= sent - 2 && frames.length <= sent, `${frames.length} frames decoded of ${sent} sent`);
      assert.equal(engine.status().stats.bytesDiscarded, 0);
      assert.equal(engine.status().role, master ? 'sniffing' : 'master');
      assert.equal(h.sim.stats().collisions, 0);
      await engine.stop();
    });
  }

  it('sniffing: a slave that falls silent goes offline after offlineAfterS, and online again when it is back', async () => {
    h = await createHarness({ sim: { packs: [1, 2], master: true }, engine: { offlineAfterS: 10 } });
    await h.run(10_000);
    h.sim.pack(2).setSilent(true);
    const lastSeen = h.frames.filter((f) => f.address === 2).at(-1)!.at;
    await h.run(15_000);
    const off = h.packEvents.find((e) => e.address === 2 && !e.online)!;
    assert.ok(off.at - lastSeen >= 10_000 && off.at - lastSeen < 11_001, `offline ${off.at - lastSeen} ms after its last frame`);
    assert.equal(h.engine.status().packsOnline, 2);
    h.sim.pack(2).setSilent(false);
    await h.run(10_000);
    assert.equal(h.packEvents.filter((e) => e.address === 2 && e.online).length, 2);
    assert.equal(h.engine.pack(2)!.online, true);
  });
});

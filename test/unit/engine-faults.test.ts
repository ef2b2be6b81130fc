import assert from 'node:assert/strict';
import type { Clock } from '../../src/common/clock';
import { BusEngine } from '../../src/bus/engine';
import type { Transport } from '../../src/transport/transport';
import type { FrameEvent } from '../../src/bus/types';
import { implausible } from '../../src/protocol/plausibility';
import type { InfoPayload } from '../../src/protocol/types';
import { classifyFalseFrames, createHarness, falseFrames, liveIntervals, mean, microtasks, type Harness } from '../helpers/engine-harness';
import { rng } from '../helpers/framing';
import { WrappedTransport } from '../helpers/wrapped-transport';

const BYTE = 10_000 / 115200;
const POLL_MS = 11 * BYTE + 8 + 308 * BYTE + 2 + 100;

/**
 * A gateway that splits what it receives into random pieces (1–40 bytes) delivered up to a
 * few ms apart, in order — TCP fragmentation on the fake clock.
 */
class Fragmenter extends WrappedTransport {
  readonly kind = 'fragmenter';
  readonly description = 'fragmenting gateway';
  private readonly random = rng(42);
  private nextAt = 0;

  constructor(
    inner: Transport,
    private readonly clock: Clock,
  ) {
    super(inner);
  }

  protected override received(chunk: Buffer): void {
    for (let i = 0; i < chunk.length; ) {
      const n = 1 + Math.floor(this.random() * 40);
      const piece = Buffer.from(chunk.subarray(i, i + n));
      i += n;
      const at = Math.max(this.clock.now(), this.nextAt) + this.random() * 4;
      this.nextAt = at;
      this.clock.setTimeout(() => this.emit('data', piece), at - this.clock.now());
    }
  }

}

/**
 * A line that corrupts data frames so that their sum8 still holds: with probability `rate` per
 * frame, 1–4 random payload bytes change and byte 299 is fixed up on the way — the 1-in-256
 * corruption the checksum misses, made common. The bytes are anywhere in 6–298, except in
 * device-info frames, where they hit the serial number (86–101): the field a phantom pack would
 * come from. Every frame it corrupted is recorded (its 300 bytes as delivered).
 */
class Corrupter extends WrappedTransport {
  readonly kind = 'corrupter';
  readonly description = 'corrupting line';
  readonly corrupted: string[] = [];
  rate: number;
  private readonly random = rng(7);
  /** Last four bytes seen outside a frame (header detection). */
  private recent = 0;
  /** Position of the next byte inside the current frame, or -1. */
  private pos = -1;
  private changes = new Map<number, number>();
  private count = 0;
  private sum = 0;
  private frame: number[] = [];

  constructor(inner: Transport, rate: number) {
    super(inner);
    this.rate = rate;
  }

  protected override received(chunk: Buffer): void {
    this.emit('data', this.pass(chunk));
  }

  private pass(chunk: Buffer): Buffer {
    const out = Buffer.from(chunk);
    for (let k = 0; k < out.length; k++) {
      if (this.pos < 0) {
        this.recent = ((this.recent << 8) | out[k]!) >>> 0;
        if (this.recent === 0x55aaeb90) this.startFrame();
        continue;
      }
      if (this.pos === 5) this.pickChanges(this.frame[4] === 3);
      if (this.pos < 299) out[k] ^= this.changes.get(this.pos) ?? 0;
      else if (this.changes.size) out[k] = this.sum & 0xff;
      this.sum += out[k]!;
      this.frame.push(out[k]!);
      if (++this.pos === 300) {
        if (this.changes.size) this.corrupted.push(Buffer.from(this.frame).toString('hex'));
        this.pos = -1;
        this.recent = 0;
      }
    }
    return out;
  }

  private startFrame(): void {
    this.pos = 4;
    this.frame = [0x55, 0xaa, 0xeb, 0x90];
    this.sum = 0x55 + 0xaa + 0xeb + 0x90;
    this.changes = new Map();
    this.count = this.random() < this.rate ? 1 + Math.floor(this.random() * 4) : 0;
  }

  private pickChanges(info: boolean): void {
    const [from, span] = info ? [86, 16] : [6, 293];
    while (this.changes.size < this.count) this.changes.set(from + Math.floor(this.random() * span), 1 + Math.floor(this.random() * 255));
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
    // Garbled frames that pass sum8 are that rare here (about one in ten minutes) that the share the
    // plausibility checks catch is measured with a corrupting line below; here: none emitted is implausible.
    assert.deepEqual(h.frames.filter((f) => implausible(f.payload, null, f.raw.subarray(0, 300)) !== null), []);
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

  it('frames corrupted so that sum8 still holds: those the plausibility checks catch are dropped, the rest pass; no real frame is dropped and no phantom serial number is emitted', async () => {
    h = await createHarness({ sim: { packs: [1, 2, 3, 4] }, manual: true });
    const line = new Corrupter(h.endpoint, 0.25);
    const engine = new BusEngine(line, { mode: 'master', addresses: [1, 2, 3, 4], infoIntervalS: 10, settingsIntervalS: 5 }, { clock: h.clock, log: (level, msg) => h!.logs.push(`${level} ${msg}`) });
    const frames: FrameEvent[] = [];
    let rejected = 0;
    engine.on('frame', (f: FrameEvent) => frames.push(f));
    engine.on('discard', (d: { reason: string }) => (rejected += d.reason === 'implausible' ? 1 : 0));
    engine.start();
    await microtasks();
    // Ten minutes, and on top of the periodic reads a device-info request every second.
    for (let s = 0; s < 600; s++) {
      engine.request(1 + (s % 4), 'info').catch(() => undefined);
      await h.run(1_000, 200);
    }
    line.rate = 0;
    await h.run(12_000);
    await engine.stop();

    const hex = (f: FrameEvent) => f.raw.subarray(0, 300).toString('hex');
    const corrupted = new Set(line.corrupted);
    const passed = frames.filter((f) => corrupted.has(hex(f)));
    const held = h.logs.filter((l) => l.includes('held back')).length;
    h.frames.push(...frames);
    // Every false frame is one the line corrupted; every corrupted frame was dropped, held back or passed.
    assert.deepEqual(falseFrames(h).map(hex), passed.map(hex));
    assert.equal(rejected + held + passed.length, line.corrupted.length, `${rejected} rejected + ${held} held + ${passed.length} passed of ${line.corrupted.length} corrupted`);
    // Measured: 812 corrupted, 372 dropped (46 %: bytes of a serial number are caught more often
    // than an average byte of a live frame), 17 held back, 423 passed (none of them with a serial
    // number other than the pack's).
    assert.ok(line.corrupted.length > 600, `${line.corrupted.length} corrupted frames`);
    assert.ok(rejected / line.corrupted.length > 0.4, `${rejected} of ${line.corrupted.length} corrupted frames dropped`);
    assert.ok(held >= 8, `${held} info frames held back`);
    for (const a of [1, 2, 3, 4]) {
      const serial: string = h.sim.pack(a).serialNumber;
      const infos = frames.filter((f) => f.kind === 'info' && f.address === a);
      assert.ok(infos.length >= 100, `pack ${a}: ${infos.length} info frames`);
      assert.deepEqual([...new Set(infos.map((f) => (f.payload as InfoPayload).serialNumber))], [serial], `pack ${a}`);
      assert.equal(engine.pack(a)!.info!.serialNumber, serial);
    }
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
      // Auto mode: our echoed triggers must not look like a JK master (docs/protocol.md §7, Q14).
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

import assert from 'node:assert/strict';
import { FakeClock } from '../../src/common/clock';
import { Framer, encodeResponse, encodeSettingWrite, encodeTrigger, type FramerEvent } from '../../src/protocol';
import { BusSimulator, parseFaults, type BusSimulatorOptions, type SimFaults, type TransmitEvent } from '../../src/sim';

async function bench(faults: SimFaults, options: Partial<BusSimulatorOptions> = {}) {
  const clock = new FakeClock();
  const sim = new BusSimulator({ packs: [1, 2], seed: 21, clock, faults, timing: { turnaroundJitterMs: 0 }, ...options });
  const tx: TransmitEvent[] = [];
  sim.on('transmit', (e: TransmitEvent) => tx.push(e));
  const host = sim.createHostEndpoint();
  const framer = new Framer();
  const events: FramerEvent[] = [];
  const raw: Buffer[] = [];
  host.on('data', (c: Buffer) => {
    raw.push(c);
    events.push(...framer.push(c));
  });
  host.open();
  await new Promise((r) => setImmediate(r));
  sim.start();
  const poll = (address: number, ms = 200) => {
    const from = events.length;
    host.write(encodeTrigger(address, 'live'));
    clock.advance(ms);
    events.push(...framer.flush());
    return events.slice(from);
  };
  return { clock, sim, host, tx, events, raw, poll, framer };
}

const frames = (evs: FramerEvent[]) => evs.filter((e) => e.type === 'frame');
const popcount = (a: Buffer, b: Buffer) => {
  let n = 0;
  for (let i = 0; i < a.length; i++) for (let x = a[i]! ^ b[i]!; x; x >>= 1) n += x & 1;
  return n;
};

describe('sim faults', () => {
  it('truncate: answers stop after 287, 288 or 299 bytes without their tail, and nothing decodes', async () => {
    const b = await bench({ truncate: 1 });
    const lengths = new Set<number>();
    for (let i = 0; i < 12; i++) {
      const evs = b.poll(1);
      assert.deepEqual(frames(evs), []);
      assert.ok(evs.some((e) => e.type === 'discard' && e.reason === 'truncated'));
    }
    for (const t of b.tx.filter((e) => e.sender === 'pack 1')) lengths.add(t.bytes.length);
    assert.deepEqual([...lengths].sort(), [287, 288, 299]);
    assert.equal(b.sim.stats().faults.truncate, 12);
    assert.equal(b.sim.stats().packs['1']!.framesSent, 12);
  });

  it('drop: the request is processed (a write is applied) but never answered', async () => {
    const b = await bench({ drop: 1 });
    assert.deepEqual(b.poll(1), []);
    b.host.write(encodeSettingWrite(1, 'cellOvp', 3.5).bytes);
    b.clock.advance(200);
    assert.deepEqual(b.events, []);
    assert.equal(b.sim.pack(1).settings().cellOvp, 3.5);
    const s = b.sim.stats();
    assert.equal(s.faults.drop, 2);
    assert.equal(s.packs['1']!.requestsReceived, 2);
    assert.equal(s.packs['1']!.writesApplied, 1);
    assert.equal(b.tx.filter((e) => e.sender === 'pack 1').length, 0);
  });

  it('bitflip: exactly one bit flips per transmission on the wire', async () => {
    const b = await bench({});
    // Our trigger goes out clean; the pack's two transmissions (frame, tail) each get one flip.
    b.host.write(encodeTrigger(1, 'live'));
    b.sim.setFaults({ bitflip: 1 });
    b.clock.advance(20);
    const clean = encodeResponse(b.sim.pack(1).live(), 1);
    b.clock.advance(100);
    const got = Buffer.concat(b.raw);
    assert.equal(got.length, 308);
    assert.equal(popcount(got.subarray(0, 300), clean.subarray(0, 300)), 1);
    assert.equal(popcount(got.subarray(300), clean.subarray(300)), 1);
    assert.deepEqual(frames(b.events), []);
    assert.equal(b.sim.stats().faults.bitflip, 2);
    // A flipped trigger fails its CRC: the pack never sees a request.
    b.poll(2);
    assert.equal(b.sim.stats().packs['2']!.requestsReceived, 0);
  });

  it('noise: random bursts at the configured rate garble what they hit, without counting as collisions', async () => {
    const b = await bench({ noise: 3 });
    b.clock.advance(10_500);
    const s = b.sim.stats();
    assert.equal(s.faults.noise, 30);
    assert.equal(s.collisions, 0);
    assert.ok(s.bytesOnWire >= 30 && s.bytesOnWire <= 30 * 16);
    assert.ok(b.raw.length > 0);
    assert.deepEqual(frames(b.events), []);
    // Polling through heavy noise loses some answers, and the others still decode.
    b.sim.setFaults({ noise: 40 });
    let answered = 0;
    for (let i = 0; i < 50; i++) answered += frames(b.poll(1)).length;
    assert.ok(answered > 0 && answered < 50, `${answered} of 50 answered`);
    assert.equal(b.sim.stats().collisions, 0);
  });

  it('echo: the host hears the first 3–11 bytes of its own transmission (CH341)', async () => {
    const b = await bench({ echo: 1 });
    const trig = encodeTrigger(1, 'live');
    b.host.write(trig);
    b.clock.advance(100);
    const got = Buffer.concat(b.raw);
    const n = got.length - 308;
    assert.ok(n >= 3 && n <= 11, `echo of ${n} bytes`);
    assert.deepEqual(got.subarray(0, n), trig.subarray(0, n));
    assert.equal(b.sim.stats().faults.echo, 1);
    // A framer told about our transmission sets the echo aside and still finds the answer.
    const f = new Framer();
    f.expectEcho(trig);
    const evs = f.push(got);
    assert.deepEqual(
      evs.map((e) => (e.type === 'discard' ? `discard ${e.reason} ${e.bytes.length}` : e.type)),
      [`discard echo ${n}`, 'frame'],
    );
  });

  it('silence: packs go quiet for silenceMs now and then, and come back', async () => {
    const b = await bench({ silence: 1, silenceMs: 5000 });
    let unanswered = 0;
    b.clock.advance(500);
    for (let t = 0; t < 600; t++) if (!frames(b.poll(1, 1000)).length) unanswered += 1;
    const silences = b.sim.stats().faults.silence;
    assert.ok(silences >= 2, `${silences} silences in 10 minutes over 2 packs`);
    const pack1Silences = unanswered / 5;
    assert.equal(pack1Silences, Math.round(pack1Silences), `${unanswered} unanswered polls: whole 5 s silences`);
    assert.ok(pack1Silences >= 1 && pack1Silences <= silences);
    assert.equal(b.sim.pack(1).silent || frames(b.poll(1)).length === 1, true);
  });

  it('is reproducible: the same seed and faults give the same wire, another seed does not', async () => {
    const trace = async (seed: number) => {
      const b = await bench({ noise: 2, truncate: 0.3, bitflip: 0.2, drop: 0.2 }, { seed, master: true, timing: {} });
      b.clock.advance(30_000);
      return b.tx.map((e) => `${e.sender} ${e.start.toFixed(4)} ${e.bytes.toString('hex')}`).join('\n');
    };
    const a = await trace(5);
    assert.equal(await trace(5), a);
    assert.notEqual(await trace(6), a);
  });

  it('validates fault sets and parses the CLI form', () => {
    assert.deepEqual(parseFaults('truncate=0.05, noise=2,silence,silenceMs=15000'), {
      truncate: 0.05,
      noise: 2,
      silence: 1,
      silenceMs: 15000,
    });
    assert.throws(() => parseFaults('bogus=1'), /unknown fault "bogus"; known faults: noise, bitflip, truncate/);
    assert.throws(() => parseFaults('drop=2'), /fault drop is a probability: 0–1, got 2/);
    assert.throws(() => parseFaults('drop=x'), /"x" is not a number/);
    assert.throws(() => parseFaults('drop=1=2'), /expected name=rate/);
    assert.throws(() => parseFaults('silenceMs=0'), /silenceMs must be a positive number/);
    const sim = new BusSimulator({ packs: [1], clock: new FakeClock() });
    assert.throws(() => sim.setFaults({ noise: -1 }), /noise needs a rate ≥ 0/);
    sim.setFaults({ drop: 0.5 });
    assert.deepEqual(sim.currentFaults, { drop: 0.5, silenceMs: 20000 });
  });
});

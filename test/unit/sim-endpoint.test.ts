import assert from 'node:assert/strict';
import { FakeClock } from '../../src/common/clock';
import { Framer, encodeTrigger } from '../../src/protocol';
import { BusSimulator, type TransmitEvent } from '../../src/sim';

const tick = () => new Promise((r) => setImmediate(r));

function setup() {
  const clock = new FakeClock();
  const sim = new BusSimulator({ packs: [1], seed: 2, clock, timing: { turnaroundJitterMs: 0 } });
  sim.start();
  const host = sim.createHostEndpoint();
  const log: string[] = [];
  for (const ev of ['open', 'close', 'error', 'reconnect']) {
    host.on(ev, (arg?: unknown) => {
      const detail = arg instanceof Error ? arg.message : arg && typeof arg === 'object' ? JSON.stringify(arg) : '';
      log.push(detail ? `${ev} ${detail}` : ev);
    });
  }
  const received: { at: number; bytes: Buffer }[] = [];
  host.on('data', (bytes: Buffer) => received.push({ at: clock.now(), bytes }));
  return { clock, sim, host, log, received };
}

describe('sim host endpoint (Transport)', () => {
  it('is a Transport of kind sim that opens asynchronously, carries bytes both ways and closes', async () => {
    const { clock, sim, host, log, received } = setup();
    assert.equal(host.kind, 'sim');
    assert.equal(host.description, 'sim://host1 @ 115200');
    assert.equal(host.isOpen(), false);
    assert.equal(host.write(encodeTrigger(1, 'live')), false, 'nothing goes out before open');
    host.open();
    host.open(); // idempotent
    assert.equal(host.isOpen(), false);
    await tick();
    assert.equal(host.isOpen(), true);
    assert.deepEqual(log, ['open']);

    assert.equal(host.write(encodeTrigger(1, 'live')), true);
    clock.advance(100);
    const all = Buffer.concat(received.map((r) => r.bytes));
    assert.equal(all.length, 308, 'the answer, and not our own trigger');
    assert.ok(received.every((r) => r.bytes.length <= 12), 'chunks of ≤ 1 ms of wire time');

    await host.close();
    assert.equal(host.isOpen(), false);
    assert.deepEqual(log, ['open', 'close']);
    assert.equal(host.write(encodeTrigger(1, 'live')), false);
    clock.advance(100);
    assert.equal(Buffer.concat(received.map((r) => r.bytes)).length, 308, 'a closed endpoint hears nothing');
    assert.equal(sim.stats().packs['1']!.requestsReceived, 1);
  });

  it("hands over the frame's last byte the moment it is on the wire (latency measurable)", async () => {
    const { clock, sim, host, received } = setup();
    const tx: TransmitEvent[] = [];
    sim.on('transmit', (e: TransmitEvent) => tx.push(e));
    host.open();
    await tick();
    const framer = new Framer();
    let decodedAt = -1;
    host.on('data', (c: Buffer) => {
      if (framer.push(c).some((e) => e.type === 'frame')) decodedAt = clock.now();
    });
    host.write(encodeTrigger(1, 'settings'));
    clock.advance(100);
    const tail = tx.find((e) => e.sender === 'pack 1' && e.bytes.length === 8)!;
    assert.ok(Math.abs(decodedAt - tail.end) < 1e-9, `${decodedAt} vs ${tail.end}`);
    assert.equal(received.at(-1)!.at, decodedAt);
  });

  it('echoes the host its own bytes when configured (N bytes or all)', async () => {
    const { clock, sim } = setup();
    const all = sim.createHostEndpoint({ echo: 'all' });
    const four = sim.createHostEndpoint({ echo: 4 });
    const got = { all: [] as Buffer[], four: [] as Buffer[] };
    all.on('data', (b: Buffer) => got.all.push(b));
    four.on('data', (b: Buffer) => got.four.push(b));
    all.open();
    four.open();
    await tick();
    const trig = encodeTrigger(1, 'live');
    all.write(trig);
    clock.advance(5);
    assert.deepEqual(Buffer.concat(got.all), trig);
    assert.deepEqual(Buffer.concat(got.four), trig, 'the other host hears the whole trigger');
    clock.advance(100); // pack 1's answer
    got.four.length = 0;
    four.write(trig);
    clock.advance(5);
    assert.deepEqual(Buffer.concat(got.four), trig.subarray(0, 4));
    assert.throws(() => sim.createHostEndpoint({ echo: -1 }), /echo must be a whole number of bytes/);
  });

  it('can be unplugged: the link drops, reconnects fail with backoff until replugged', async () => {
    const { clock, host, log } = setup();
    host.open();
    await tick();
    host.unplug();
    assert.equal(host.plugged, false);
    assert.equal(host.isOpen(), false);
    assert.equal(host.write(encodeTrigger(1, 'live')), false);
    await tick();
    // Every transport error names its port (here the simulated adapter's).
    assert.deepEqual(log.slice(0, 3), ['open', `error ${host.description}: simulated adapter unplugged`, `close ${host.description}: simulated adapter unplugged`]);
    assert.match(log[3]!, /^reconnect \{"attempt":1,"delayMs":\d+\}$/);
    // Let two attempts fail.
    for (let i = 0; i < 2; i++) {
      clock.runUntil(clock.nextAt()!);
      await tick();
    }
    const attempts = log.filter((l) => l.startsWith('reconnect')).map((l) => JSON.parse(l.slice(10)) as { attempt: number; delayMs: number });
    assert.deepEqual(
      attempts.map((a) => a.attempt),
      [1, 2, 3],
    );
    assert.ok(attempts[2]!.delayMs > attempts[0]!.delayMs, 'backoff grows');
    assert.equal(log.filter((l) => l.startsWith('error')).length, 1, 'the same error is reported once');
    host.replug();
    clock.runUntil(clock.nextAt()!);
    await tick();
    assert.equal(host.isOpen(), true);
    assert.equal(log.at(-1), 'open');
  });

  it('reopen() drops and restores the link; markHealthy() restarts the backoff', async () => {
    const { clock, host, log } = setup();
    host.open();
    await tick();
    host.reopen('watchdog');
    await tick();
    assert.equal(host.isOpen(), false);
    assert.ok(log.includes('close reopen requested: watchdog'));
    clock.runUntil(clock.nextAt()!);
    await tick();
    assert.equal(host.isOpen(), true);
    host.markHealthy();
    host.reopen('again');
    await tick();
    const last = JSON.parse(log.filter((l) => l.startsWith('reconnect')).at(-1)!.slice(10)) as { attempt: number };
    assert.equal(last.attempt, 1);
  });

  it('sim.stop() closes its endpoints', async () => {
    const { sim, host } = setup();
    host.open();
    await tick();
    await sim.stop();
    assert.equal(host.isOpen(), false);
    assert.equal(sim.isRunning, false);
  });
});

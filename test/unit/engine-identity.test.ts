/**
 * The engine's receive path against frames that passed sum8 but cannot be trusted:
 * implausible frames are dropped like bad frames, and a changed serial number is only
 * accepted once a second device-info frame confirms it (no phantom packs in Home Assistant).
 */
import assert from 'node:assert/strict';
import { BusError, type FrameEvent } from '../../src/bus/types';
import { encodeTrigger } from '../../src/protocol/encode';
import type { InfoPayload } from '../../src/protocol/types';
import type { TransmitEvent } from '../../src/sim';
import { createHarness, microtasks, type Harness } from '../helpers/engine-harness';

const CYCLE_MS = 4400;

/** Serial numbers of the info frames the engine emitted for `address`, in order. */
function emittedSerials(h: Harness, address: number): string[] {
  return h.frames.filter((f) => f.kind === 'info' && f.address === address).map((f) => (f.payload as InfoPayload).serialNumber);
}

/** Info triggers for `address` the host put on the wire from `from` on. */
function infoReads(h: Harness, address: number, from = 0): TransmitEvent[] {
  const trigger = encodeTrigger(address, 'info');
  return h.sent('host 1').filter((t) => t.start >= from && t.bytes.equals(trigger));
}

/** Info frames pack `address` put on the wire (300 bytes, type 3). */
function infoAnswers(h: Harness, address: number, from = 0): TransmitEvent[] {
  return h.sent(`pack ${address}`).filter((t) => t.start >= from && t.bytes.length === 300 && t.bytes[4] === 3);
}

/** The next info answer of `address` carries `serial`; the pack reports its own serial again right after. */
function serialOnce(h: Harness, address: number, serial: string): void {
  const pack = h.sim.pack(address);
  const own = pack.serialNumber;
  pack.setSerialNumber(serial);
  const restore = (t: TransmitEvent): void => {
    if (t.sender !== `pack ${address}` || t.bytes.length !== 300 || t.bytes[4] !== 3) return;
    pack.setSerialNumber(own);
    h.sim.off('transmit', restore);
  };
  h.sim.on('transmit', restore);
}

describe('bus engine: implausible frames and serial-number changes', function () {
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

  describe('implausible frames', () => {
    it('are dropped like bad frames: counted, a discard event, a debug log, never emitted, never stored; an awaited read times out; a streak is warned about once', async () => {
      h = await createHarness({ sim: { packs: [1, 2] }, engine: { mode: 'master', addresses: [1, 2], settingsIntervalS: 5 } });
      // Pack 2 reports DevAddr 7 while it answers at address 2: every settings frame of it is implausible.
      h.sim.pack(2).updateSettings({ deviceAddress: 7 });
      const discards: { reason: string; bytes: number }[] = [];
      h.engine.on('discard', (d: { reason: string; bytes: number }) => discards.push(d));
      // An unanswered settings read is retried after 60 s: four answers in 200 s.
      await h.run(200_000, 100);

      const answers = h.sent('pack 2').filter((t) => t.bytes.length === 300 && t.bytes[4] === 1).length;
      assert.ok(answers >= 4, `${answers} settings answers of pack 2`);
      const implausible = discards.filter((d) => d.reason === 'implausible');
      assert.equal(implausible.length, answers);
      assert.ok(implausible.every((d) => d.bytes === 308));
      const st = h.engine.status().stats;
      assert.equal(st.discards.implausible, 308 * answers);
      assert.equal(st.bytesDiscarded, 308 * answers);
      assert.equal(h.frames.filter((f) => f.address === 2 && f.kind === 'settings').length, 0);
      assert.equal(h.engine.pack(2)!.settings, undefined);
      assert.ok(h.frames.filter((f) => f.address === 2 && f.kind === 'live').length > 50, 'its live data still flows');
      assert.equal(h.engine.pack(1)!.settings!.deviceAddress, 1);
      assert.ok(h.logs.some((l) => l.includes("debug settings frame of pack 2 rejected as implausible: DevAddr 7 is not the responder's address 2")));
      const warnings = h.logs.filter((l) => l.includes('warn') && l.includes('implausible'));
      assert.equal(warnings.length, 1, warnings.join('\n'));
      assert.match(warnings[0]!, /the last 3 settings frames of pack 2 were dropped as implausible \(DevAddr 7 is not the responder's address 2\)/);

      // An awaited answer that is implausible is a bad answer: retried once, then TIMEOUT.
      const r = await h.settle(h.engine.request(2, 'settings', { timeoutMs: 5000 }));
      assert.ok(r.error instanceof BusError);
      assert.equal(r.error.code, 'TIMEOUT');
      assert.match(r.error.message, /pack 2 did not answer to 2 settings requests/);

      // Once it reports its own address again, its settings are accepted at once, and a new streak would be warned about again.
      h.sim.pack(2).updateSettings({ deviceAddress: 2 });
      const ok = await h.settle(h.engine.request(2, 'settings'));
      assert.equal((ok.value as { deviceAddress: number }).deviceAddress, 2);
      assert.equal(h.engine.pack(2)!.settings!.deviceAddress, 2);
    });
  });

  describe('a changed serial number must be confirmed', () => {
    it('master: a one-off different serial is held back, re-read at once, and the pack keeps its identity', async () => {
      h = await createHarness({ sim: { packs: [1, 2] }, engine: { mode: 'master', addresses: [1, 2] } });
      await h.run(3_000);
      const own = h.sim.pack(2).serialNumber;
      assert.deepEqual(emittedSerials(h, 2), [own]);
      const from = h.clock.now();
      serialOnce(h, 2, '4062840999');
      const r = await h.settle(h.engine.request(2, 'info'));
      assert.equal((r.value as InfoPayload).serialNumber, own);
      assert.deepEqual(emittedSerials(h, 2), [own, own]);
      assert.equal(h.engine.pack(2)!.info!.serialNumber, own);
      assert.equal(h.frames.some((f) => f.kind === 'info' && (f.payload as InfoPayload).serialNumber === '4062840999'), false);
      // Two reads, two answers: the request, then the confirmation in the very next slot.
      const answers = infoAnswers(h, 2, from);
      const reads = infoReads(h, 2, from);
      assert.equal(answers.length, 2);
      assert.equal(reads.length, 2);
      assert.ok(reads[1]!.start - answers[0]!.end < 150, `confirmation sent ${reads[1]!.start - answers[0]!.end} ms after the held frame`);
      assert.ok(h.logs.some((l) => l.includes('pack 2: info frame with a new serial number 4062840999') && l.includes('held back')));
      assert.ok(h.logs.some((l) => l.includes(`pack 2: serial number ${own} confirmed again`)));
      assert.equal(h.engine.status().stats.timeouts, 0);
    });

    it('master: a replaced pack is accepted after the confirming read; its first info frame alone is not', async () => {
      h = await createHarness({ sim: { packs: [1, 2] }, engine: { mode: 'master', addresses: [1, 2] } });
      await h.run(3_000);
      const old = h.sim.pack(2).serialNumber;
      const held: FrameEvent[] = [];
      const next = h.sim.replacePack(2).serialNumber;
      assert.notEqual(next, old);
      const from = h.clock.now();
      const p = h.engine.request(2, 'info');
      // Right after the first answer: nothing emitted yet, the pack's identity unchanged.
      while (infoAnswers(h, 2, from).length < 1) {
        h.clock.advance(1);
        await microtasks();
      }
      h.clock.advance(5);
      held.push(...h.frames.filter((f) => f.at >= from && f.kind === 'info'));
      assert.deepEqual(held, []);
      assert.equal(h.engine.pack(2)!.info!.serialNumber, old);
      const r = await h.settle(p);
      assert.equal((r.value as InfoPayload).serialNumber, next);
      assert.deepEqual(emittedSerials(h, 2), [old, next]);
      assert.equal(h.engine.pack(2)!.info!.serialNumber, next);
      assert.equal(infoAnswers(h, 2, from).length, 2);
      assert.ok(h.logs.some((l) => l.includes(`pack 2: serial number changed from ${old} to ${next} (confirmed by a second info frame)`)));
      // From then on the new serial is the known one: later reads are accepted at once.
      const again = await h.settle(h.engine.request(2, 'info'));
      assert.equal((again.value as InfoPayload).serialNumber, next);
      assert.equal(infoAnswers(h, 2, from).length, 3);
    });

    it('master: a confirmation that does not come (pack silent) is retried, then the next info frame decides', async () => {
      h = await createHarness({ sim: { packs: [1, 2] }, engine: { mode: 'master', addresses: [1, 2] } });
      await h.run(3_000);
      const own = h.sim.pack(2).serialNumber;
      const from = h.clock.now();
      serialOnce(h, 2, 'X2');
      // The pack falls silent right after the odd frame.
      h.sim.on('transmit', (t: TransmitEvent) => {
        if (t.sender === 'pack 2' && t.bytes.length === 300 && t.bytes[4] === 3) h!.sim.pack(2).setSilent(true);
      });
      h.engine.request(2, 'info').catch(() => undefined);
      await h.run(3_000);
      // The request, then three confirmation attempts.
      assert.equal(infoReads(h, 2, from).length, 4);
      assert.deepEqual(emittedSerials(h, 2), [own]);
      h.sim.pack(2).setSilent(false);
      const r = await h.settle(h.engine.request(2, 'info'));
      assert.equal((r.value as InfoPayload).serialNumber, own);
      assert.equal(h.engine.pack(2)!.info!.serialNumber, own);
    });

    it('master: a pack whose serial number never settles gets at most 3 confirmation reads a minute and keeps being polled', async () => {
      h = await createHarness({ sim: { packs: [1, 2] }, engine: { mode: 'master', addresses: [1, 2], infoIntervalS: 10 } });
      await h.run(3_000);
      const own = h.sim.pack(2).serialNumber;
      let n = 0;
      // From now on every info answer of pack 2 carries yet another serial number.
      h.sim.on('transmit', (t: TransmitEvent) => {
        if (t.sender === 'pack 2' && t.bytes.length === 300 && t.bytes[4] === 3) h!.sim.pack(2).setSerialNumber(`ROT${++n}`);
      });
      h.sim.pack(2).setSerialNumber('ROT0');
      const from = h.clock.now();
      await h.run(180_000, 100);
      const reads = infoReads(h, 2, from).map((t) => t.start);
      const confirmations = reads.filter((t, i) => i > 0 && t - reads[i - 1]! < 1000).length;
      assert.ok(reads.length >= 6, `${reads.length} info reads`);
      for (const t of reads) {
        const inMinute = reads.filter((u) => u >= t && u < t + 60_000).length;
        assert.ok(inMinute <= 4, `${inMinute} info reads within a minute from ${Math.round(t)} ms`);
      }
      assert.ok(confirmations >= 3, `${confirmations} confirmation reads`);
      assert.deepEqual(emittedSerials(h, 2), [own]);
      assert.equal(h.engine.pack(2)!.info!.serialNumber, own);
      for (const a of [1, 2]) assert.ok(h.frames.filter((f) => f.kind === 'live' && f.address === a && f.at >= from).length > 500, `pack ${a} live frames`);
    });

    for (const replaced of [false, true]) {
      it(`sniffing a JK master: ${replaced ? 'a replaced pack is accepted' : 'a one-off different serial is dropped'} after a confirming read in the next quiet gap, without a collision`, async () => {
        h = await createHarness({ sim: { packs: [1, 2, 3], master: true, seed: 4 }, engine: { infoIntervalS: 10 } });
        await h.run(2 * CYCLE_MS);
        assert.equal(h.engine.status().role, 'sniffing');
        const old = h.sim.pack(2).serialNumber;
        assert.deepEqual(emittedSerials(h, 2), [old]);
        const from = h.clock.now();
        const next = replaced ? h.sim.replacePack(2).serialNumber : 'SN-PHANTOM';
        if (!replaced) serialOnce(h, 2, next);
        // The next periodic info read (infoIntervalS 10 s) meets the other serial.
        await h.run(15_000);
        const answers = infoAnswers(h, 2, from);
        assert.ok(answers.length >= 2, `${answers.length} info answers`);
        const reads = infoReads(h, 2, from);
        assert.ok(reads[1]!.start - answers[0]!.end < CYCLE_MS, `confirmation ${reads[1]!.start - answers[0]!.end} ms after the held frame`);
        assert.deepEqual(emittedSerials(h, 2), replaced ? [old, next] : [old, old]);
        assert.equal(h.engine.pack(2)!.info!.serialNumber, replaced ? next : old);
        assert.equal(h.sim.stats().collisions, 0);
        assert.ok(h.engine.status().stats.requestsInjected >= 5);
      });
    }

    it('listen mode: nothing is sent; the next info frame someone else causes confirms or refutes', async () => {
      h = await createHarness({ sim: { packs: [1, 2] }, engine: { mode: 'listen' } });
      // Another tool on the bus reads the packs' device info.
      const other = h.sim.createHostEndpoint();
      other.open();
      await h.run(100);
      const read = async (address: number): Promise<void> => {
        other.write(encodeTrigger(address, 'info'));
        await h!.run(200, 10);
      };
      await read(2);
      const own = h.sim.pack(2).serialNumber;
      assert.deepEqual(emittedSerials(h, 2), [own], 'the first info frame of a pack is accepted at once');

      serialOnce(h, 2, 'SN9');
      await read(2);
      assert.deepEqual(emittedSerials(h, 2), [own]);
      await h.run(5_000);
      assert.deepEqual(h.sent('host 1'), [], 'listen mode never transmits, not even to confirm');
      await read(2);
      assert.deepEqual(emittedSerials(h, 2), [own, own]);

      const next = h.sim.replacePack(2).serialNumber;
      await read(2);
      assert.deepEqual(emittedSerials(h, 2), [own, own]);
      assert.equal(h.engine.pack(2)!.info!.serialNumber, own);
      await read(2);
      assert.deepEqual(emittedSerials(h, 2), [own, own, next]);
      assert.equal(h.engine.pack(2)!.info!.serialNumber, next);
      assert.deepEqual(h.sent('host 1'), []);
      await other.close();
    });

    it('two different serials in a row are not a confirmation: only two consecutive agreeing frames are', async () => {
      h = await createHarness({ sim: { packs: [1] }, engine: { mode: 'listen' } });
      const other = h.sim.createHostEndpoint();
      other.open();
      await h.run(100);
      const read = async (serial?: string): Promise<void> => {
        if (serial) h!.sim.pack(1).setSerialNumber(serial);
        other.write(encodeTrigger(1, 'info'));
        await h!.run(200, 10);
      };
      await read();
      const own = h.sim.pack(1).serialNumber;
      await read('A1');
      await read('B2');
      await read(own);
      await read('A1');
      assert.deepEqual(emittedSerials(h, 1), [own, own]);
      await read('A1');
      assert.deepEqual(emittedSerials(h, 1), [own, own, 'A1']);
      await other.close();
    });
  });
});

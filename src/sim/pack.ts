import {
  FRAME_LEN,
  Framer,
  applyRegisterWrite,
  encodeAck,
  encodeException,
  encodeResponse,
  type FrameKind,
  type FramerEvent,
  type InfoPayload,
  type LivePayload,
  type SettingsPayload,
} from '../protocol';
import type { TimerHandle } from '../common/clock';
import type { SimContext } from './context';
import { EXCEPTION_ILLEGAL_REGISTER, EXCEPTION_ILLEGAL_VALUE, refuseWrite } from './limits';
import { PackModel, type SimPackOptions } from './model';
import type { Rng } from './rng';
import type { WireNode } from './wire';

export interface SimPackStats {
  /** Data answers put on the wire (truncated ones included). */
  framesSent: number;
  /** Triggers and writes addressed to this pack that it received intact. */
  requestsReceived: number;
  writesApplied: number;
  /** Exception answers (refused writes). */
  exceptions: number;
}

/** Counter byte (offset 5) of slave frames in every RS485 capture (docs/protocol.md §2.4). */
const SLAVE_COUNTER = 0x05;

/**
 * One simulated JK-PB pack on the bus. As a slave (address 1–15) it answers the live /
 * settings / device-info triggers addressed to it after the turnaround — 300-byte frame, a
 * short gap, then the 8-byte ack tail — and writes with an 8-byte ack (applied, visible in its
 * next settings frame; not applied after setIgnoreWrites(true)) or a 5-byte exception (02
 * illegal register, 03 refused value). It
 * ignores everything else on the wire. The pack at address 0 (the JK master's own BMS) has the
 * same state but never answers: the master broadcasts its frames itself.
 */
export class SimPack implements WireNode {
  readonly name: string;
  readonly model: PackModel;
  readonly counters: SimPackStats = { framesSent: 0, requestsReceived: 0, writesApplied: 0, exceptions: 0 };
  private readonly framer = new Framer();
  private manualSilent = false;
  private ignoreWrites = false;
  private silentUntil = -Infinity;
  private readonly timers = new Set<TimerHandle>();

  constructor(
    private readonly ctx: SimContext,
    readonly address: number,
    options: SimPackOptions,
    private readonly rng: Rng,
  ) {
    this.name = address === 0 ? 'master' : `pack ${address}`;
    this.model = new PackModel(address, options, rng.fork('model'), ctx.clock.now());
  }

  // --- state API ------------------------------------------------------------------------

  /** Live data as the pack would send it now. */
  live(): LivePayload {
    this.model.advance(this.ctx.clock.now());
    return this.model.live();
  }

  settings(): SettingsPayload {
    return { ...this.model.settings, wireResistances: this.model.settings.wireResistances.slice() };
  }

  info(): InfoPayload {
    this.model.advance(this.ctx.clock.now());
    return this.model.infoNow();
  }

  get serialNumber(): string {
    return this.model.info.serialNumber;
  }

  /** Not answering (set by hand, or for a while by the 'silence' fault). */
  get silent(): boolean {
    return this.manualSilent || this.ctx.clock.now() < this.silentUntil;
  }

  /** Make the pack stop answering (true) or come back (false). */
  setSilent(on: boolean): void {
    this.manualSilent = on;
    if (!on) this.silentUntil = -Infinity;
  }

  /** Acknowledges writes without applying them (true), as firmware that ignores some writes does. */
  get ignoresWrites(): boolean {
    return this.ignoreWrites;
  }

  /**
   * Acknowledge writes but do not apply them (true) — the read-back mismatch of real life — or
   * apply them again (false). Refused writes still get their exception.
   */
  setIgnoreWrites(on: boolean): void {
    if (typeof on !== 'boolean') throw new RangeError(`setIgnoreWrites takes true or false, got ${JSON.stringify(on)}`);
    this.ignoreWrites = on;
  }

  /** Report another serial number in the device info from now on (1–16 letters, digits, '-' or '_'). */
  setSerialNumber(serial: string): void {
    if (typeof serial !== 'string' || !/^[A-Za-z0-9_-]{1,16}$/.test(serial)) {
      throw new RangeError(`a serial number is 1–16 letters, digits, '-' or '_', got ${JSON.stringify(serial)}`);
    }
    this.model.info.serialNumber = serial;
  }

  /** The 'silence' fault: quiet for `ms`, then back. */
  silenceFor(ms: number): void {
    this.silentUntil = Math.max(this.silentUntil, this.ctx.clock.now() + ms);
  }

  /** Raise (default) or clear one alarm bit, by bit number 0–31 or name (protocol ALARMS). */
  setAlarm(alarm: number | string, on = true): void {
    this.model.advance(this.ctx.clock.now());
    this.model.setAlarm(alarm, on);
  }

  clearAlarms(): void {
    this.model.clearAlarms();
  }

  /** Fixed pack current in A (+ = charging) from now on, or null to follow the profile again. */
  setCurrent(amps: number | null): void {
    this.model.advance(this.ctx.clock.now());
    this.model.setCurrent(amps);
  }

  setSoc(percent: number): void {
    this.model.advance(this.ctx.clock.now());
    this.model.setSoc(percent);
  }

  /** Change settings directly (as with the JK app), bypassing the bus and the write limits. */
  updateSettings(patch: Partial<Omit<SettingsPayload, 'type' | 'address'>>): void {
    this.model.advance(this.ctx.clock.now());
    this.model.applySettings({ ...this.model.settings, ...patch });
  }

  // --- bus behaviour ----------------------------------------------------------------------

  receive(chunk: Buffer): void {
    if (this.address === 0) return;
    for (const e of this.framer.push(chunk)) this.handle(e);
  }

  idle(): void {
    if (this.address === 0) return;
    for (const e of this.framer.flush()) this.handle(e);
  }

  /** Forget pending answers and partial input (simulator stop). */
  reset(): void {
    for (const t of this.timers) this.ctx.clock.clearTimeout(t);
    this.timers.clear();
    this.framer.reset();
  }

  private handle(e: FramerEvent): void {
    if ((e.type !== 'trigger' && e.type !== 'write') || e.address !== this.address) return;
    if (this.silent) return;
    this.counters.requestsReceived += 1;
    const answer = e.type === 'trigger' ? this.answerFor(e.kind) : this.write(e.register, e.quantity, e.value);
    if (this.ctx.faults.roll('drop')) return;
    const t = this.ctx.timing;
    const delay = t.turnaroundMs + (t.turnaroundJitterMs ? this.rng.range(-t.turnaroundJitterMs, t.turnaroundJitterMs) : 0);
    const timer = this.ctx.clock.setTimeout(() => {
      this.timers.delete(timer);
      try {
        if (!this.silent) answer();
      } catch (err) {
        this.ctx.error(err);
      }
    }, delay);
    this.timers.add(timer);
  }

  /** The data answer, built when it is sent (state of that moment). */
  private answerFor(kind: FrameKind): () => void {
    return () => {
      const payload = kind === 'live' ? this.live() : kind === 'settings' ? this.settings() : this.info();
      const bytes = encodeResponse(payload, this.address, { counter: SLAVE_COUNTER });
      this.counters.framesSent += 1;
      if (this.ctx.faults.roll('truncate')) {
        this.ctx.transmit(this, bytes.subarray(0, this.ctx.faults.truncatedLength()));
        return;
      }
      const wire = this.ctx.wire;
      this.ctx.transmit(this, bytes.subarray(0, FRAME_LEN));
      const tailAt = this.ctx.clock.now() + FRAME_LEN * wire.byteTime + this.ctx.timing.tailGapMs;
      this.ctx.transmit(this, bytes.subarray(FRAME_LEN), { at: tailAt });
    };
  }

  /** Apply a write now (unless writes are ignored); return the function that sends its ack or exception. */
  private write(register: number, quantity: number, raw: number): () => void {
    const next = applyRegisterWrite(this.model.settings, register, quantity, raw);
    let code = 0;
    if (!next) code = EXCEPTION_ILLEGAL_REGISTER;
    else if (refuseWrite(this.model.model, next, register, raw)) code = EXCEPTION_ILLEGAL_VALUE;
    else if (!this.ignoreWrites) {
      this.model.advance(this.ctx.clock.now());
      this.model.applySettings(next);
      this.counters.writesApplied += 1;
    }
    if (code) this.counters.exceptions += 1;
    const bytes = code ? encodeException(this.address, code) : encodeAck(this.address, register, quantity);
    return () => this.ctx.transmit(this, bytes);
  }
}

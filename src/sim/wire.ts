import type { Clock, TimerHandle } from '../common/clock';
import type { Rng } from './rng';

/**
 * The shared half-duplex RS485 medium.
 *
 * Every transmission occupies [start, start + n·byteTime) on the wire; a byte is 10 bits
 * (8N1), so 86.8 µs at 115200 baud. A sender's UART queues: a second transmission from the
 * same sender starts when its previous one ends. Nobody senses the carrier (neither JK
 * packs nor the JK master nor a host adapter do), so two senders can overlap. When they do:
 *  - the collision is counted (once per overlapping pair; noise bursts are not counted);
 *  - every byte of either transmission that overlaps the other is garbled;
 *  - receivers' UARTs stay locked on the transmission that started first: bytes of the later
 *    one that start while the earlier one is still on the wire are lost (merged into the
 *    earlier one's garbled bytes), so the line never carries more than one byte per byte time.
 *
 * Delivery: every attached node receives what is on the wire, except its own bytes (its
 * transceiver's receiver is off while it drives the line) unless an echo is requested, and
 * except bytes that pass while it is itself transmitting. Bytes are handed over when they
 * are complete, batched: a chunk is delivered at the completion of the last byte that ends
 * within `chunkMs` of the first pending one (so a message's last byte is never held back
 * waiting for bytes that are not on the wire yet). After `idleMs` of silence, nodes with an
 * `idle()` method are told the line went quiet (the packs flush their framers then).
 */
export interface WireNode {
  readonly name: string;
  /** Bytes heard on the wire, in wire order; `at` = delivery time (clock ms). */
  receive(chunk: Buffer, at: number): void;
  /** The line has been silent for `idleMs`. */
  idle?(at: number): void;
}

export interface TransmitOptions {
  /** Start time; default now. Never earlier than now or than the sender's queued bytes. */
  at?: number;
  /** The sender also hears its own first `echo` bytes (CH341-style echo). */
  echo?: number;
  /** A noise burst: overlaps garble as usual but are not counted as collisions. */
  noise?: boolean;
}

/** A transmission as scheduled on the wire (read-only view). */
export interface Transmission {
  readonly id: number;
  readonly sender: WireNode;
  readonly start: number;
  readonly end: number;
  readonly length: number;
  /** Overlapped another transmission. */
  readonly collided: boolean;
}

export interface WireOptions {
  baud: number;
  /** Delivery batching window, ms of wire time (0 = every byte separately). */
  chunkMs: number;
  /** Silence after which idle() is called, ms. */
  idleMs: number;
}

export interface WireStats {
  /** Bytes put on the wire (including noise). */
  bytes: number;
  transmissions: number;
  collisions: number;
}

const EPS = 1e-7;

class Tx implements Transmission {
  next = 0;
  collided = false;
  readonly swallowed: Uint8Array;
  readonly end: number;

  constructor(
    readonly id: number,
    readonly sender: WireNode,
    readonly bytes: Buffer,
    readonly start: number,
    readonly byteTime: number,
    readonly echo: number,
    readonly noise: boolean,
  ) {
    this.end = start + bytes.length * byteTime;
    this.swallowed = new Uint8Array(bytes.length);
  }

  get length(): number {
    return this.bytes.length;
  }

  /** Completion time of byte i. */
  doneAt(i: number): number {
    return this.start + (i + 1) * this.byteTime;
  }
}

export class Wire {
  readonly byteTime: number;
  private readonly nodes: WireNode[] = [];
  private pending: Tx[] = [];
  private seq = 0;
  private timer: TimerHandle | undefined;
  private idleTimer: TimerHandle | undefined;
  private idleAt = Infinity;
  private lastByteAt = -Infinity;
  private readonly counters: WireStats = { bytes: 0, transmissions: 0, collisions: 0 };

  constructor(
    private readonly clock: Clock,
    private readonly rng: Rng,
    readonly options: WireOptions,
    private readonly onError: (err: unknown) => void,
  ) {
    this.byteTime = 10_000 / options.baud;
  }

  attach(node: WireNode): void {
    if (!this.nodes.includes(node)) this.nodes.push(node);
  }

  detach(node: WireNode): void {
    const i = this.nodes.indexOf(node);
    if (i >= 0) this.nodes.splice(i, 1);
  }

  stats(): WireStats {
    return { ...this.counters };
  }

  /** Completion time of the last byte delivered so far (-Infinity before any). */
  get lastActivity(): number {
    return this.lastByteAt;
  }

  /** End of the last transmission scheduled (≤ now when the line is free). */
  busyUntil(): number {
    let t = this.lastByteAt;
    for (const tx of this.pending) t = Math.max(t, tx.end);
    return t;
  }

  /** End of the sender's own queued bytes, or -Infinity. */
  private senderBusyUntil(sender: WireNode): number {
    let t = -Infinity;
    for (const tx of this.pending) if (tx.sender === sender) t = Math.max(t, tx.end);
    return t;
  }

  /** Put bytes on the wire. */
  transmit(sender: WireNode, data: Uint8Array, opts: TransmitOptions = {}): Transmission {
    const now = this.clock.now();
    const start = Math.max(now, opts.at ?? now, this.senderBusyUntil(sender));
    const tx = new Tx(this.seq++, sender, Buffer.from(data), start, this.byteTime, Math.max(0, opts.echo ?? 0), !!opts.noise);
    this.counters.bytes += tx.length;
    this.counters.transmissions += 1;
    for (const other of this.pending) {
      if (other.sender === sender || other.start >= tx.end || tx.start >= other.end) continue;
      if (!other.noise && !tx.noise) this.counters.collisions += 1;
      other.collided = true;
      tx.collided = true;
      this.garble(other, tx);
      this.garble(tx, other);
      const [first, later] = other.start <= tx.start ? [other, tx] : [tx, other];
      for (let i = later.next; i < later.length; i++) {
        if (later.start + i * later.byteTime < first.end - EPS) later.swallowed[i] = 1;
      }
    }
    this.pending.push(tx);
    if (this.idleTimer && tx.start < this.idleAt) {
      this.clock.clearTimeout(this.idleTimer);
      this.idleTimer = undefined;
    }
    this.schedule();
    return tx;
  }

  /** Cancel everything in flight (simulator stop). */
  clear(): void {
    this.pending = [];
    this.clock.clearTimeout(this.timer);
    this.clock.clearTimeout(this.idleTimer);
    this.timer = undefined;
    this.idleTimer = undefined;
  }

  /** Garble the undelivered bytes of `tx` that overlap `other` in time. */
  private garble(tx: Tx, other: Tx): void {
    for (let i = tx.next; i < tx.length; i++) {
      const s = tx.start + i * tx.byteTime;
      if (s < other.end - EPS && s + tx.byteTime > other.start + EPS) {
        tx.bytes[i] = tx.bytes[i]! ^ this.rng.int(1, 255);
      }
    }
  }

  private schedule(): void {
    this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.pending.length) return;
    let first = Infinity;
    for (const tx of this.pending) first = Math.min(first, tx.doneAt(tx.next));
    const windowEnd = first + this.options.chunkMs + EPS;
    let at = first;
    for (const tx of this.pending) {
      const k = Math.min(tx.length - 1, Math.floor((windowEnd - tx.start) / tx.byteTime) - 1);
      if (k >= tx.next) at = Math.max(at, tx.doneAt(k));
    }
    this.timer = this.clock.setTimeout(() => this.deliver(), at - this.clock.now());
  }

  private deliver(): void {
    this.timer = undefined;
    const now = this.clock.now();
    // Bytes complete by now, in wire order.
    const entries: { t: number; tx: Tx; i: number }[] = [];
    for (const tx of this.pending) {
      while (tx.next < tx.length && tx.doneAt(tx.next) <= now + EPS) {
        entries.push({ t: tx.doneAt(tx.next), tx, i: tx.next });
        tx.next += 1;
      }
    }
    entries.sort((a, b) => a.t - b.t || a.tx.id - b.tx.id);
    if (entries.length) this.lastByteAt = Math.max(this.lastByteAt, entries[entries.length - 1]!.t);

    const heard = entries.filter((e) => !e.tx.swallowed[e.i]);
    const common = Buffer.from(heard.map((e) => e.tx.bytes[e.i]!));
    const senders = new Set(entries.map((e) => e.tx.sender));
    for (const node of [...this.nodes]) {
      const own = this.pending.filter((tx) => tx.sender === node);
      let chunk: Buffer;
      if (!own.length && !senders.has(node)) {
        chunk = common;
      } else {
        const bytes: number[] = [];
        for (const e of heard) {
          if (e.tx.sender === node) {
            if (e.i < e.tx.echo) bytes.push(e.tx.bytes[e.i]!);
            continue;
          }
          const mid = e.t - e.tx.byteTime / 2;
          if (own.some((tx) => tx.start <= mid && mid < tx.end)) continue;
          bytes.push(e.tx.bytes[e.i]!);
        }
        chunk = Buffer.from(bytes);
      }
      if (!chunk.length) continue;
      try {
        node.receive(chunk, now);
      } catch (err) {
        this.onError(err);
      }
    }

    this.pending = this.pending.filter((tx) => tx.next < tx.length);
    this.schedule();
    this.scheduleIdle();
  }

  /** Announce silence idleMs after the last byte, unless a transmission starts before then. */
  private scheduleIdle(): void {
    this.clock.clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    const at = this.lastByteAt + this.options.idleMs;
    if (this.pending.some((tx) => tx.start < at)) return;
    this.idleAt = at;
    this.idleTimer = this.clock.setTimeout(() => {
      this.idleTimer = undefined;
      const now = this.clock.now();
      for (const node of [...this.nodes]) {
        if (!node.idle) continue;
        try {
          node.idle(now);
        } catch (err) {
          this.onError(err);
        }
      }
    }, at - this.clock.now());
  }
}

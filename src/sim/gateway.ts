import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { TimerHandle } from '../common/clock';
import type { SimContext } from './context';
import type { WireNode } from './wire';

/**
 * An RS485-to-Ethernet gateway in transparent mode ("TCP server", raw), listening on
 * loopback. One RS485 transceiver: every client receives every byte on the wire, and every
 * byte a client sends is transmitted on the bus (the gateway does not hear its own
 * transmissions, so clients see neither their own bytes nor each other's).
 *
 * Like real gateways it packs serial bytes into TCP packets: a packet closes after the line
 * has been quiet for PACK_IDLE_MS or when it reaches PACK_MAX_BYTES. Faults (TCP only):
 * 'fragment' splits a packet into 2–4 pieces written FRAGMENT_GAP_MS apart; 'coalesce' holds a
 * packet back and sends it together with the next one (at most COALESCE_HOLD_MS later).
 */
export const PACK_IDLE_MS = 10;
export const PACK_MAX_BYTES = 1460;
export const FRAGMENT_GAP_MS = 5;
export const COALESCE_HOLD_MS = 250;

export interface TcpListener {
  readonly host: string;
  readonly port: number;
  /** Connected clients right now. */
  readonly clients: number;
  close(): Promise<void>;
}

export class TcpGateway implements WireNode, TcpListener {
  readonly name = 'tcp gateway';
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  private packet: Buffer[] = [];
  private packetLen = 0;
  private packTimer: TimerHandle | undefined;
  private held: Buffer[] = [];
  private holdTimer: TimerHandle | undefined;
  private nextWriteAt = -Infinity;
  private readonly writeTimers = new Set<TimerHandle>();
  private addr: AddressInfo | null = null;
  private closing: Promise<void> | null = null;

  constructor(private readonly ctx: SimContext) {
    this.server = createServer((socket) => this.accept(socket));
  }

  get host(): string {
    return this.addr?.address ?? '';
  }

  get port(): number {
    return this.addr?.port ?? 0;
  }

  get clients(): number {
    return this.sockets.size;
  }

  listen(port: number, host: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const fail = (err: Error) => reject(new Error(`sim: cannot listen on ${host}:${port}: ${err.message}`, { cause: err }));
      this.server.once('error', fail);
      this.server.listen(port, host, () => {
        this.server.off('error', fail);
        this.server.on('error', (err) => this.ctx.error(err));
        this.addr = this.server.address() as AddressInfo;
        this.ctx.wire.attach(this);
        resolve();
      });
    });
  }

  close(): Promise<void> {
    this.closing ??= new Promise<void>((resolve) => {
      this.ctx.wire.detach(this);
      for (const t of [this.packTimer, this.holdTimer, ...this.writeTimers]) this.ctx.clock.clearTimeout(t);
      this.writeTimers.clear();
      for (const s of this.sockets) s.destroy();
      this.sockets.clear();
      if (!this.server.listening) {
        resolve();
        return;
      }
      this.server.close(() => resolve());
    });
    return this.closing;
  }

  private accept(socket: Socket): void {
    if (this.closing) {
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    this.sockets.add(socket);
    socket.on('data', (chunk: Buffer) => this.ctx.transmit(this, chunk));
    socket.on('error', () => socket.destroy());
    socket.on('close', () => this.sockets.delete(socket));
  }

  receive(chunk: Buffer): void {
    this.packet.push(chunk);
    this.packetLen += chunk.length;
    this.ctx.clock.clearTimeout(this.packTimer);
    this.packTimer = undefined;
    if (this.packetLen >= PACK_MAX_BYTES) this.closePacket();
    else this.packTimer = this.ctx.clock.setTimeout(() => this.closePacket(), PACK_IDLE_MS);
  }

  private closePacket(): void {
    this.packTimer = undefined;
    if (!this.packetLen) return;
    const packet = Buffer.concat(this.packet);
    this.packet = [];
    this.packetLen = 0;
    if (this.ctx.faults.roll('coalesce')) {
      this.held.push(packet);
      this.holdTimer ??= this.ctx.clock.setTimeout(() => this.releaseHeld(), COALESCE_HOLD_MS);
      return;
    }
    const out = this.held.length ? Buffer.concat([...this.held, packet]) : packet;
    this.held = [];
    this.ctx.clock.clearTimeout(this.holdTimer);
    this.holdTimer = undefined;
    this.send(out);
  }

  private releaseHeld(): void {
    this.holdTimer = undefined;
    if (!this.held.length) return;
    const out = Buffer.concat(this.held);
    this.held = [];
    this.send(out);
  }

  private send(packet: Buffer): void {
    const pieces: Buffer[] = [];
    if (packet.length > 1 && this.ctx.faults.roll('fragment')) {
      const rng = this.ctx.faults.random;
      const n = Math.min(packet.length, rng.int(2, 4));
      const cuts = new Set<number>();
      while (cuts.size < n - 1) cuts.add(rng.int(1, packet.length - 1));
      let from = 0;
      for (const cut of [...cuts].sort((a, b) => a - b)) {
        pieces.push(packet.subarray(from, cut));
        from = cut;
      }
      pieces.push(packet.subarray(from));
    } else {
      pieces.push(packet);
    }
    const now = this.ctx.clock.now();
    pieces.forEach((piece, i) => {
      // Pieces of one packet go out FRAGMENT_GAP_MS apart; nothing overtakes an earlier piece.
      const at = Math.max(now, this.nextWriteAt) + (i ? FRAGMENT_GAP_MS : 0);
      this.nextWriteAt = at;
      if (at <= now) {
        this.write(piece);
        return;
      }
      const timer = this.ctx.clock.setTimeout(() => {
        this.writeTimers.delete(timer);
        this.write(piece);
      }, at - now);
      this.writeTimers.add(timer);
    });
  }

  private write(bytes: Buffer): void {
    for (const s of this.sockets) if (!s.destroyed) s.write(bytes);
  }
}

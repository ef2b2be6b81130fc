import type { EventEmitter } from 'node:events';

/**
 * A byte pipe to the RS485 bus: a serial adapter, a TCP gateway in transparent mode, the
 * simulator's in-process endpoint, or the replay of a capture file. The bus engine only ever
 * sees this interface.
 *
 * Events:
 *  - 'data'   (chunk: Buffer)            bytes received, in wire order, any chunking
 *  - 'open'   ()                          the link is up (first open and every reconnect)
 *  - 'close'  (err?: Error)               the link went down (a reconnect is scheduled unless close() was called)
 *  - 'reconnect' (info: { attempt: number; delayMs: number })   next attempt scheduled
 *  - 'error'  (err: Error)                a problem worth logging; emitted once per distinct message
 *                                         until the link has been up again
 *
 * No method throws; a transport never emits 'error' without a listener being safe
 * (implementations register a default listener).
 */
export interface Transport extends EventEmitter {
  /** 'serial' | 'tcp' | 'sim' | 'replay' */
  readonly kind: string;
  /** Human-readable target, e.g. "/dev/ttyUSB0 @ 115200" or "tcp://192.168.1.50:4196". */
  readonly description: string;
  /** Start connecting; keeps reconnecting with backoff until close(). Idempotent. */
  open(): void;
  /** Stop for good: cancels timers, releases the port/socket. Resolves within a few seconds at most. */
  close(): Promise<void>;
  /** Send bytes; returns false (and sends nothing) when the link is not up. */
  write(data: Buffer): boolean;
  /** True while the link is up. */
  isOpen(): boolean;
  /** Drop bytes the adapter may still hold (stale FIFO); best effort. */
  flushInput?(): void;
  /**
   * The engine decoded a valid frame: the link really works, so the reconnect backoff
   * starts again from its initial delay next time.
   */
  markHealthy(): void;
  /**
   * Force a close and reopen (the engine's watchdog calls this when the port has gone
   * quiet while packs should be talking — serialport's zero-byte-read bug, a half-open
   * TCP gateway). No-op when closed for good.
   */
  reopen(reason: string): void;
}

import type { BindingInterface } from '@serialport/bindings-interface';
import type { SerialPort } from 'serialport';
import { asError, portError, ReconnectingTransport, type LinkOptions } from './reconnecting';

export interface SerialTransportOptions extends LinkOptions {
  /** Device path, e.g. /dev/ttyUSB0 or (better, survives replugging) /dev/serial/by-id/usb-... */
  path: string;
  /** Default 115200 (what JK-PB packs speak on RS485-2). Always 8N1. */
  baudRate?: number;
  /** For tests: serialport's MockBinding instead of the native binding. */
  binding?: BindingInterface;
}

type SerialPortClass = typeof SerialPort;

/** What a serial port says when its device vanished underneath it (Linux: EBADF, EIO, ENXIO). */
const GONE = /bad file descriptor|EBADF|input\/output error|EIO\b|ENXIO|no such device\b/i;
const UNPLUGGED = '(the adapter went away: unplugged or reset?)';

/**
 * Load `serialport` only when a serial link is actually opened, so a missing or broken
 * native binding breaks serial links (with an error saying so) and nothing else.
 */
function loadSerialPort(): SerialPortClass {
  try {
    return (require('serialport') as typeof import('serialport')).SerialPort;
  } catch (err) {
    throw new Error(
      `serial ports are unavailable: the serialport module failed to load (${asError(err).message}); ` +
        'reinstall this package (npm rebuild serialport), or use an RS485-to-Ethernet gateway over TCP',
      { cause: err },
    );
  }
}

/**
 * A USB-RS485 adapter (or any tty). The same SerialPort instance is reopened after an unplug
 * or error; it is replaced only when its stream can no longer carry data (destroyed after a
 * write error, or ended).
 */
export class SerialTransport extends ReconnectingTransport {
  readonly kind = 'serial';
  readonly description: string;
  readonly path: string;
  readonly baudRate: number;
  private readonly binding: BindingInterface | undefined;
  private port: SerialPort | null = null;

  constructor(options: SerialTransportOptions) {
    super(options);
    if (typeof options.path !== 'string' || options.path.trim() === '') {
      throw new TypeError('serial transport: a device path is required (e.g. /dev/serial/by-id/usb-...)');
    }
    const baudRate = options.baudRate ?? 115200;
    if (!Number.isInteger(baudRate) || baudRate <= 0) {
      throw new TypeError(`serial transport: baud rate must be a positive integer, got ${String(options.baudRate)}`);
    }
    this.path = options.path.trim();
    this.baudRate = baudRate;
    this.binding = options.binding;
    this.description = `${this.path} @ ${this.baudRate}`;
  }

  protected override get target(): string {
    return this.path;
  }

  /** The path in every error, and a hint where the operating system's words do not say "unplugged". */
  protected override explain(err: Error): Error {
    const e = portError(err, this.path);
    if (!GONE.test(e.message) || e.message.includes(UNPLUGGED)) return e;
    const out = new Error(`${e.message} ${UNPLUGGED}`, { cause: e.cause ?? err }) as Error & { code?: unknown };
    const code = (e as { code?: unknown }).code;
    if (code !== undefined) out.code = code;
    return out;
  }

  flushInput(): void {
    const port = this.port;
    if (!port || !this.isOpen()) return;
    port.flush((err) => {
      if (err) this.log('debug', `${this.description}: flush failed: ${err.message}`);
    });
  }

  protected async connectLink(): Promise<void> {
    const port = this.usablePort();
    if (port.isOpen) await closePort(port);
    await new Promise<void>((resolve, reject) => {
      port.open((err) => (err ? reject(err) : resolve()));
    });
  }

  protected async releaseLink(): Promise<void> {
    const port = this.port;
    if (!port) return;
    if (port.isOpen) await closePort(port);
    if (isSpent(port)) this.discard(port);
  }

  protected send(data: Buffer): boolean {
    const port = this.port;
    // Closing already (the device vanished, 'close' is on its way): a write now would be
    // queued by the stream and sent after the reconnect, long after the engine gave up on it.
    if (!port?.isOpen) return false;
    port.write(data);
    return true;
  }

  /** The current port if it can still be (re)opened, else a fresh one. */
  private usablePort(): SerialPort {
    const old = this.port;
    if (old && !isSpent(old)) return old;
    if (old) this.discard(old);
    const Ctor = loadSerialPort();
    const port = new Ctor({
      path: this.path,
      baudRate: this.baudRate,
      dataBits: 8,
      parity: 'none',
      stopBits: 1,
      autoOpen: false,
      ...(this.binding ? { binding: this.binding } : {}),
    } as ConstructorParameters<SerialPortClass>[0]);
    // Always reading: serialport notices a vanished device only while a read is pending.
    port.on('data', (chunk: Buffer) => {
      if (port === this.port) this.deliver(chunk);
    });
    port.on('close', (err: Error | null | undefined) => {
      if (port === this.port) this.linkLost(err ?? new Error('serial port closed'));
    });
    port.on('end', () => {
      if (port === this.port) this.linkLost(new Error('serial port stopped delivering data (end of stream)'));
    });
    port.on('error', (err: Error) => {
      if (port !== this.port) return;
      if (this.isOpen()) this.linkLost(err);
      else this.report(err);
    });
    this.port = port;
    return port;
  }

  /** Forget a port that must not be reopened, and free its device (and lock). */
  private discard(port: SerialPort): void {
    if (port === this.port) this.port = null;
    // A destroyed stream never closes its binding by itself.
    const binding = port.port;
    if (binding?.isOpen) binding.close().catch(() => undefined);
    if (!port.destroyed) port.destroy();
  }
}

/**
 * A port that must be replaced rather than reopened: a destroyed or ended stream cannot
 * deliver data again, and one still holding unsent bytes would send those stale commands
 * right after the reconnect.
 */
function isSpent(port: SerialPort): boolean {
  return port.destroyed || port.readableEnded || port.writableLength > 0;
}

function closePort(port: SerialPort): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    port.close((err) => (err && !(err as { disconnected?: boolean }).disconnected ? reject(err) : resolve()));
  });
}

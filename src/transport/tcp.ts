import { isIPv6, Socket } from 'node:net';
import { ReconnectingTransport, type LinkOptions } from './reconnecting';

export interface TcpTransportOptions extends LinkOptions {
  /** The RS485-to-Ethernet gateway, in transparent ("TCP server", raw) mode. */
  host: string;
  port: number;
  /** Give up on a connect attempt after this long, ms (default 5000). */
  connectTimeoutMs?: number;
}

/** TCP keepalive: first probe after this much idle time, ms. */
const KEEPALIVE_MS = 10_000;

/**
 * A transparent RS485-to-Ethernet gateway. Bytes are delivered exactly as the socket hands
 * them over: a gateway splits and merges frames at will, the framer reassembles them.
 */
export class TcpTransport extends ReconnectingTransport {
  readonly kind = 'tcp';
  readonly description: string;
  readonly host: string;
  readonly port: number;
  private readonly connectTimeoutMs: number;
  private socket: Socket | null = null;

  constructor(options: TcpTransportOptions) {
    super(options);
    const host = typeof options.host === 'string' ? options.host.trim().replace(/^\[(.*)\]$/, '$1') : '';
    if (host === '') throw new TypeError('tcp transport: a gateway host name or IP address is required');
    if (!Number.isInteger(options.port) || options.port < 1 || options.port > 65535) {
      throw new TypeError(`tcp transport: port must be an integer 1-65535, got ${String(options.port)}`);
    }
    const timeout = options.connectTimeoutMs ?? 5000;
    if (!Number.isFinite(timeout) || timeout <= 0) {
      throw new TypeError(`tcp transport: connect timeout must be a positive number of ms, got ${String(options.connectTimeoutMs)}`);
    }
    this.host = host;
    this.port = options.port;
    this.connectTimeoutMs = timeout;
    this.description = `tcp://${isIPv6(host) ? `[${host}]` : host}:${this.port}`;
  }

  protected connectLink(): Promise<void> {
    this.dropSocket();
    const socket = new Socket();
    this.socket = socket;
    socket.setNoDelay(true);
    socket.setKeepAlive(true, KEEPALIVE_MS);
    socket.on('data', (chunk: Buffer) => {
      if (socket === this.socket) this.deliver(chunk);
    });
    return new Promise<void>((resolve, reject) => {
      let connecting = true;
      const fail = (err: Error) => {
        connecting = false;
        this.clock.clearTimeout(timer);
        socket.destroy();
        reject(err);
      };
      const timer = this.clock.setTimeout(
        () => fail(new Error(`connect to ${this.description} timed out after ${this.connectTimeoutMs} ms`)),
        this.connectTimeoutMs,
      );
      socket.once('connect', () => {
        if (!connecting) return;
        connecting = false;
        this.clock.clearTimeout(timer);
        resolve();
      });
      socket.on('error', (err: Error) => {
        if (connecting) fail(err);
        else if (socket === this.socket) this.linkLost(err);
      });
      socket.on('close', () => {
        // Dropped while connecting: by close()/a newer attempt, or the gateway hung up at once.
        if (connecting) fail(new Error(`${this.description} closed the connection while connecting`));
        else if (socket === this.socket) this.linkLost(new Error(`${this.description} closed the connection`));
      });
      socket.connect({ host: this.host, port: this.port });
    });
  }

  protected async releaseLink(): Promise<void> {
    this.dropSocket();
  }

  protected send(data: Buffer): boolean {
    const socket = this.socket;
    if (!socket?.writable) return false;
    socket.write(data);
    return true;
  }

  private dropSocket(): void {
    const socket = this.socket;
    this.socket = null;
    // destroy() emits no 'error'; the listeners stay attached so a late one is still caught.
    socket?.destroy();
  }
}

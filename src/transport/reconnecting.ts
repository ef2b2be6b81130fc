import { EventEmitter } from 'node:events';
import { Backoff, type BackoffOptions } from './backoff';
import { realClock, type Clock, type TimerHandle } from '../common/clock';
import type { Transport } from './transport';

/**
 * The reconnect state machine shared by the serial and TCP transports: connect, notice the
 * link dying, release it, wait out the backoff on the injected clock, try again — forever,
 * until close(). Subclasses only say how to connect, release and send.
 */

export type TransportLogLevel = 'debug' | 'info' | 'warn' | 'error';
export type TransportLog = (level: TransportLogLevel, msg: string) => void;

export interface LinkOptions {
  /** Timer source (default realClock); tests pass a FakeClock. */
  clock?: Clock;
  /** Reconnect delays (default 500 ms doubling to 30 s, ±20 %). */
  backoff?: BackoffOptions;
  /** Diagnostics sink (default: silent). Errors are also emitted as 'error' events. */
  log?: TransportLog;
}

/** How long close() (and a release before reconnecting) waits for the port or socket to let go. */
export const RELEASE_TIMEOUT_MS = 2000;

/** At most this many distinct error messages are remembered for de-duplication. */
const MAX_REMEMBERED_ERRORS = 32;

export function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

/**
 * An error of the port `target` worded for a user: without the "Error: " that some libraries
 * (serialport's bindings) put into the message itself, which Node-RED would show as
 * "Error: Error: …"; and naming the port ("bad file descriptor" alone does not say which
 * adapter went away). The original error is the `cause`; a `code` (ECONNREFUSED…) is kept.
 */
export function portError(err: unknown, target: string): Error {
  const e = asError(err);
  let message = e.message.replace(/^(\s*Error:)+\s*/i, '').trim() || 'unknown error';
  if (target && !message.includes(target)) message = `${target}: ${message}`;
  if (message === e.message) return e;
  const out = new Error(message, { cause: e }) as Error & { code?: unknown };
  const code = (e as { code?: unknown }).code;
  if (code !== undefined) out.code = code;
  return out;
}

export abstract class ReconnectingTransport extends EventEmitter implements Transport {
  abstract readonly kind: string;
  abstract readonly description: string;
  /** What every error names: the serial path or the gateway's tcp://host:port (default: the description). */
  protected get target(): string {
    return this.description;
  }
  protected readonly clock: Clock;
  protected readonly log: TransportLog;
  private readonly backoff: Backoff;
  /** open() was called and close() was not. */
  private wanted = false;
  private up = false;
  private timer: TimerHandle | null = null;
  /** Bumped by every connect attempt, link loss and close(): late callbacks of older ones are ignored. */
  private epoch = 0;
  /** The connect or release in progress (never rejects). */
  private busy: Promise<void> = Promise.resolve();
  /** Error messages already emitted since the link was last up. */
  private readonly reported = new Set<string>();

  constructor(options: LinkOptions) {
    super();
    this.clock = options.clock ?? realClock;
    this.backoff = new Backoff(options.backoff);
    this.log = options.log ?? (() => undefined);
    // An 'error' without a listener would throw and take Node-RED down: there is always one.
    this.on('error', () => undefined);
  }

  /** Bring the link up; resolve once it can carry bytes, reject with the reason otherwise. */
  protected abstract connectLink(): Promise<void>;
  /** Let go of the port/socket (idempotent; may be called when nothing is open). */
  protected abstract releaseLink(): Promise<void>;
  /** Put bytes on the wire; only called while the link is up. False when they cannot go out now. */
  protected abstract send(data: Buffer): boolean;

  open(): void {
    if (this.wanted) return;
    this.wanted = true;
    this.backoff.reset();
    this.connect();
  }

  isOpen(): boolean {
    return this.up;
  }

  write(data: Buffer): boolean {
    if (!this.up) return false;
    try {
      return this.send(data);
    } catch (err) {
      this.linkLost(asError(err));
      return false;
    }
  }

  markHealthy(): void {
    this.backoff.reset();
  }

  reopen(reason: string): void {
    // While down the backoff is already in charge; a forced reopen only makes sense when up.
    if (!this.up) return;
    this.log('warn', `${this.description}: reopening (${reason})`);
    this.goDown(new Error(`reopen requested: ${reason}`));
  }

  async close(): Promise<void> {
    this.wanted = false;
    const epoch = ++this.epoch;
    this.clock.clearTimeout(this.timer);
    this.timer = null;
    if (this.up) {
      this.up = false;
      this.log('info', `${this.description}: closed`);
      this.fire('close');
    }
    // Let a connect in progress finish, then release; unless open() was called meanwhile.
    const release = this.busy.then(() => (epoch === this.epoch ? this.releaseLink() : undefined));
    await this.bounded(release, 'close');
  }

  /** Subclasses: the link died underneath us (unplug, reset, error). No-op unless up. */
  protected linkLost(err: Error): void {
    if (!this.up) return;
    const e = this.explain(err);
    this.report(e);
    this.goDown(e);
  }

  /** Subclasses: bytes arrived on the current link. */
  protected deliver(chunk: Buffer): void {
    if (this.wanted) this.fire('data', chunk);
  }

  /** Subclasses: a problem worth reporting that does not by itself change the link state. */
  protected report(err: Error): void {
    const e = this.explain(err);
    const key = e.message;
    if (this.reported.has(key)) {
      this.log('debug', `${key} (again)`);
      return;
    }
    if (this.reported.size >= MAX_REMEMBERED_ERRORS) this.reported.clear();
    this.reported.add(key);
    this.log('warn', key);
    this.fire('error', e);
  }

  /** The user's wording of an error of this link (portError); subclasses may add a hint. */
  protected explain(err: Error): Error {
    return portError(err, this.target);
  }

  private connect(): void {
    this.timer = null;
    const epoch = ++this.epoch;
    // (async () => ...) turns a synchronous throw of connectLink() into a rejection too.
    this.busy = (async () => this.connectLink())().then(
      () => {
        if (epoch !== this.epoch) return;
        this.up = true;
        this.reported.clear();
        this.log('info', `${this.description}: connected`);
        this.fire('open');
      },
      (err: unknown) => {
        if (epoch !== this.epoch) return;
        this.report(asError(err));
        this.scheduleReconnect();
      },
    );
  }

  private goDown(err: Error): void {
    this.up = false;
    const epoch = ++this.epoch;
    this.log('info', `${this.description}: link down (${err.message.replace(`${this.target}: `, '')})`);
    this.fire('close', err);
    this.busy = this.bounded(this.releaseLink(), 'release').then(() => {
      if (epoch === this.epoch && this.wanted) this.scheduleReconnect();
    });
  }

  private scheduleReconnect(): void {
    const delayMs = this.backoff.next();
    const attempt = this.backoff.attempts;
    this.timer = this.clock.setTimeout(() => this.connect(), delayMs);
    this.log('info', `${this.description}: reconnecting in ${delayMs} ms (attempt ${attempt})`);
    this.fire('reconnect', { attempt, delayMs });
  }

  /** Wait for `p` but never longer than RELEASE_TIMEOUT_MS on the clock; never rejects. */
  private bounded(p: Promise<unknown>, what: string): Promise<void> {
    return new Promise<void>((resolve) => {
      const guard = this.clock.setTimeout(() => {
        this.log('warn', `${this.description}: ${what} did not finish within ${RELEASE_TIMEOUT_MS} ms; going on without it`);
        resolve();
      }, RELEASE_TIMEOUT_MS);
      p.catch((err: unknown) => this.log('debug', `${this.description}: ${what}: ${asError(err).message}`)).then(() => {
        this.clock.clearTimeout(guard);
        resolve();
      });
    });
  }

  /** emit() that a throwing listener cannot turn into a crash of the timer or I/O callback. */
  private fire(event: string, ...args: unknown[]): void {
    try {
      this.emit(event, ...args);
    } catch (err) {
      this.log('error', `${this.description}: a '${event}' listener threw: ${asError(err).message}`);
    }
  }
}

import type { Transport } from '../../src/transport/transport';

/** Poll `cond` every few ms until it holds; fail with `what` (and `detail()`) after `timeoutMs` of real time. */
export async function waitFor(cond: () => boolean, timeoutMs: number, what: string, detail?: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${detail ? `; ${detail()}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, 5));
  }
}

export interface RecordedEvent {
  event: 'open' | 'close' | 'reconnect' | 'error';
  /** close: error message or null; reconnect: {attempt, delayMs}; error: message. */
  detail: unknown;
}

/** Records a transport's lifecycle events and received bytes, for assertions. */
export class TransportRecorder {
  readonly events: RecordedEvent[] = [];
  private chunks: Buffer[] = [];

  constructor(readonly transport: Transport) {
    transport.on('open', () => this.events.push({ event: 'open', detail: null }));
    transport.on('close', (err?: Error) => this.events.push({ event: 'close', detail: err ? err.message : null }));
    transport.on('reconnect', (info: { attempt: number; delayMs: number }) => this.events.push({ event: 'reconnect', detail: info }));
    transport.on('error', (err: Error) => this.events.push({ event: 'error', detail: err.message }));
    transport.on('data', (chunk: Buffer) => this.chunks.push(Buffer.from(chunk)));
  }

  /** All bytes received so far, concatenated. */
  get received(): Buffer {
    return Buffer.concat(this.chunks);
  }

  get chunkCount(): number {
    return this.chunks.length;
  }

  clearData(): void {
    this.chunks = [];
  }

  count(event: RecordedEvent['event']): number {
    return this.events.filter((e) => e.event === event).length;
  }

  last(event: RecordedEvent['event']): RecordedEvent | undefined {
    return this.events.filter((e) => e.event === event).at(-1);
  }

  names(): string[] {
    return this.events.map((e) => e.event);
  }

  describe(): string {
    return `events: ${JSON.stringify(this.events)}, ${this.received.length} bytes received`;
  }

  /** Wait until `event` has been seen `n` times in total. */
  async waitCount(event: RecordedEvent['event'], n: number, timeoutMs = 3000): Promise<void> {
    await waitFor(() => this.count(event) >= n, timeoutMs, `${n}× '${event}'`, () => this.describe());
  }

  /** Wait until at least `n` bytes have arrived. */
  async waitBytes(n: number, timeoutMs = 3000): Promise<Buffer> {
    await waitFor(() => this.received.length >= n, timeoutMs, `${n} bytes`, () => this.describe());
    return this.received;
  }
}

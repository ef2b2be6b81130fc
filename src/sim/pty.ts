import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SerialPort } from 'serialport';
import type { SimContext } from './context';
import type { WireNode } from './wire';

/**
 * The simulator's end of a pseudo-terminal pair: what the host writes to the other end is
 * transmitted on the wire, and everything on the wire is written to it, paced as it
 * completes. The 'echo' fault applies (a USB adapter's echo of the host's bytes).
 */
export class PtyPort implements WireNode {
  readonly name: string;
  private port: SerialPort | null = null;

  constructor(
    private readonly ctx: SimContext,
    readonly path: string,
    private readonly baud: number,
  ) {
    this.name = `pty ${path}`;
  }

  async open(): Promise<void> {
    const { SerialPort: Port } = require('serialport') as typeof import('serialport');
    const port = new Port({ path: this.path, baudRate: this.baud, autoOpen: false });
    await new Promise<void>((resolve, reject) =>
      port.open((err) => (err ? reject(new Error(`sim: cannot open pty ${this.path}: ${err.message}`, { cause: err })) : resolve())),
    );
    port.on('data', (chunk: Buffer) => {
      const echo = this.ctx.faults.roll('echo') ? this.ctx.faults.echoLength() : 0;
      this.ctx.transmit(this, chunk, { echo });
    });
    port.on('error', (err: Error) => this.ctx.error(err));
    this.port = port;
    this.ctx.wire.attach(this);
  }

  receive(chunk: Buffer): void {
    if (this.port?.isOpen) this.port.write(chunk);
  }

  async close(): Promise<void> {
    this.ctx.wire.detach(this);
    const port = this.port;
    this.port = null;
    if (!port?.isOpen) return;
    await new Promise<void>((resolve) => port.close(() => resolve()));
  }
}

export interface SocatPair {
  /** The end the host opens (the link you asked for). */
  readonly hostPath: string;
  /** The end the simulator opens. */
  readonly simPath: string;
  stop(): Promise<void>;
}

/**
 * Start `socat` with two linked ptys: `hostPath` (a symlink created by socat) for the host,
 * and a private one for the simulator. Resolves when both links exist.
 */
export async function startSocat(hostPath: string, timeoutMs = 5000): Promise<SocatPair> {
  const dir = mkdtempSync(join(tmpdir(), 'jkbms-sim-'));
  const simPath = join(dir, 'sim');
  const child = spawn('socat', [`pty,raw,echo=0,link=${hostPath}`, `pty,raw,echo=0,link=${simPath}`], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (existsSync(hostPath) && existsSync(simPath)) return { hostPath, simPath, stop };
    const failed = await Promise.race([spawnError, exited.then(() => null), new Promise<undefined>((r) => setTimeout(r, 20))]);
    if (failed instanceof Error) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`sim: cannot start socat (${failed.message}); install socat to use --pty`, { cause: failed });
    }
    if (failed === null || Date.now() > deadline) {
      await stop();
      throw new Error(`sim: socat could not create ${hostPath}${stderr ? `: ${stderr.trim()}` : ''}`);
    }
  }
}

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
 * and a private one for the simulator. Resolves once socat runs its transfer loop.
 */
export async function startSocat(hostPath: string, timeoutMs = 5000): Promise<SocatPair> {
  const dir = mkdtempSync(join(tmpdir(), 'jkbms-sim-'));
  const simPath = join(dir, 'sim');
  const child = spawn('socat', ['-d', '-d', `pty,raw,echo=0,link=${hostPath}`, `pty,raw,echo=0,link=${simPath}`], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  let failure: string | null = null;
  child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  child.once('error', (err) => (failure = `cannot start socat (${err.message}); install socat to use --pty`));
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  child.once('exit', (code, signal) => (failure ??= `socat exited (${signal ?? code})`));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const late = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(late);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + timeoutMs;
  while (!(stderr.includes('starting data transfer loop') && existsSync(hostPath) && existsSync(simPath))) {
    if (failure !== null || Date.now() > deadline) {
      const why = failure ?? `not ready after ${timeoutMs} ms`;
      await stop();
      const detail = stderr.trim().split('\n').filter((l) => / E /.test(l)).join('; ');
      throw new Error(`sim: ${why}${detail ? `: ${detail}` : ''} (creating ${hostPath})`);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  return { hostPath, simPath, stop };
}

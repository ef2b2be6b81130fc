import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { CliIo } from '../../src/cli/common';
import { until } from './wait';

const ROOT = join(__dirname, '..', '..');

/** A CliIo that keeps what the command prints; stop() resolves its stop signal (as a Ctrl-C would). */
export function captureIo(): { out: string[]; err: string[]; stop: () => void; io: CliIo } {
  const out: string[] = [];
  const err: string[] = [];
  let stop!: () => void;
  const stopSignal = new Promise<void>((r) => (stop = r));
  return { out, err, stop, io: { out: (l) => out.push(l), err: (l) => err.push(l), stopSignal } };
}

export interface CliProcess {
  child: ChildProcess;
  /** Everything printed so far. */
  readonly stdout: string;
  readonly stderr: string;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
  /** Resolves once stdout contains `text`; fails after `timeoutMs`, showing stderr. */
  printed(text: string, timeoutMs: number): Promise<void>;
}

/** `node --require tsx/cjs ...args` in the project root, its output collected. */
export function spawnCli(args: string[]): CliProcess {
  const child = spawn(process.execPath, ['--require', 'tsx/cjs', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  return {
    child,
    get stdout() {
      return stdout;
    },
    get stderr() {
      return stderr;
    },
    exited: new Promise((resolve) => child.once('exit', (code) => resolve(code))),
    async printed(text, timeoutMs) {
      await until(() => stdout.includes(text), timeoutMs, `${JSON.stringify(text)} on stdout`, { everyMs: 20, detail: () => ({ stderr }) });
    },
  };
}

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findTool } from './tools';

/**
 * A pair of connected pseudo-terminals made by socat: what one end writes, the other reads,
 * like a USB-RS485 adapter and the bus behind it. Killing socat is an unplug, restarting it
 * with the same links a replug.
 *
 * Call `requireTool(this, 'socat')` in the suite's before() first, and `stop()` in after().
 */
export interface PtyPair {
  /** Symlink to the first pty (e.g. the simulator's side). */
  readonly a: string;
  /** Symlink to the second pty (e.g. the transport's side). */
  readonly b: string;
  /** socat's pid, or null while stopped. */
  readonly pid: number | null;
  /** Kill socat and wait for it to exit (its links are gone afterwards). Idempotent. */
  stop(): Promise<void>;
  /** Start socat again with the same links (stops it first if it is running). */
  restart(): Promise<void>;
}

const START_TIMEOUT_MS = 5000;
const STOP_TIMEOUT_MS = 3000;

/** Every socat still running, killed if the test process exits without stopping them. */
const live = new Set<ChildProcess>();
let exitHook = false;

export async function startPtyPair(dir?: string): Promise<PtyPair> {
  const socat = findTool('socat');
  if (!socat) throw new Error("socat is not installed: call requireTool(this, 'socat') in the suite's before()");
  if (!exitHook) {
    exitHook = true;
    process.once('exit', () => {
      for (const child of live) child.kill('SIGKILL');
    });
  }
  const ownDir = dir === undefined;
  const base = dir ?? mkdtempSync(join(tmpdir(), 'jkbms-pty-'));
  const a = join(base, 'ptyA');
  const b = join(base, 'ptyB');
  let child: ChildProcess | null = null;

  const start = async (): Promise<void> => {
    mkdirSync(base, { recursive: true });
    rmSync(a, { force: true });
    rmSync(b, { force: true });
    let stderr = '';
    let exited: string | null = null;
    const proc = spawn(socat, ['-d', '-d', `pty,raw,echo=0,link=${a}`, `pty,raw,echo=0,link=${b}`], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child = proc;
    live.add(proc);
    proc.stderr!.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-4000);
    });
    proc.once('error', (err) => (exited = `could not start: ${err.message}`));
    proc.once('exit', (code, signal) => {
      live.delete(proc);
      exited = `exited (${signal ?? code})`;
    });
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (!(stderr.includes('starting data transfer loop') && ptyReady(a) && ptyReady(b))) {
      if (exited !== null || Date.now() > deadline) {
        proc.kill('SIGKILL');
        throw new Error(`socat ${exited ?? `not ready after ${START_TIMEOUT_MS} ms`}: ${stderr.trim()}`);
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  };

  const stop = async (): Promise<void> => {
    const proc = child;
    child = null;
    if (proc && proc.exitCode === null && proc.signalCode === null) {
      const gone = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
      proc.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), STOP_TIMEOUT_MS)));
      if ((await Promise.race([gone, late])) === 'late') {
        proc.kill('SIGKILL');
        await gone;
      }
      clearTimeout(timer);
    }
    rmSync(a, { force: true });
    rmSync(b, { force: true });
  };

  await start();
  return {
    a,
    b,
    get pid() {
      return child?.pid ?? null;
    },
    async stop() {
      await stop();
      if (ownDir) rmSync(base, { recursive: true, force: true });
    },
    async restart() {
      await stop();
      await start();
    },
  };
}

/** The link exists and points at a pty device. */
function ptyReady(link: string): boolean {
  if (!existsSync(link)) return false;
  try {
    return realpathSync(link).startsWith('/dev/pts/');
  } catch {
    return false;
  }
}

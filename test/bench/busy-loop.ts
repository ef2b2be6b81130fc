/**
 * The busy-event-loop rig (issue 15): does our injection into a JK master's quiet gaps hold
 * while Node-RED's event loop is busy?
 *
 * The bus engine runs in this process; the simulated bus (a JK master and slaves 1–3, real
 * clock) runs in a child process (`jkbms sim`), reached over TCP loopback or over a pty made
 * by socat — so when this process blocks its own event loop, only the engine stalls, as in
 * reality (a simulator in the same process would stall with it and hide the problem). While
 * the loop is blocked for `stallMs` every `everyMs`, the engine is asked for the device info
 * of one slave every `requestEveryMs` (the JK master never asks for it: every answer needs a
 * request of ours in one of its gaps). The simulator's wire counts collisions; with only the
 * master and its slaves on it there are none, so each one is ours.
 *
 * Used by test/integration/busy-loop.test.ts and by `npm run bench`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BusEngine } from '../../src/bus/engine';
import type { BusRole } from '../../src/bus/types';
import { SerialTransport } from '../../src/transport/serial';
import { TcpTransport } from '../../src/transport/tcp';
import type { Transport } from '../../src/transport/transport';

export interface BusyLoopOptions {
  link: 'tcp' | 'pty';
  /** How long each block of the event loop lasts, ms (0: never blocked). */
  stallMs: number;
  /** A block starts this often, ms (default 1170, as in the issue's measurement). */
  everyMs?: number;
  /** How long requests are asked for, s. */
  seconds: number;
  /** One device-info request this often, ms (default 2000). */
  requestEveryMs?: number;
  /** The simulator's seed (default 1). */
  seed?: number;
  /** After `seconds`, wait at most this long for the last requests (still blocking), ms (default 60000). */
  drainMs?: number;
}

export interface BusyLoopResult {
  link: 'tcp' | 'pty';
  stallMs: number;
  seconds: number;
  /** Collisions on the simulated wire (the master and its slaves never collide by themselves). */
  collisions: number;
  /** Our transmissions (engine stats requestsSent), of them injected into the master's gaps. */
  sent: number;
  injected: number;
  /** Injections not sent because the planned window no longer held at the moment of sending. */
  deferred: number;
  /** Device-info requests asked / answered / failed. */
  requests: number;
  answered: number;
  failed: number;
  /** Request → answer, ms. */
  latencyMedianMs: number;
  latencyP95Ms: number;
  latencyMaxMs: number;
  /** Blocks of the event loop made. */
  stalls: number;
  /** First failures, for the report. */
  errors: string[];
  roles: BusRole[];
}

/** The `jkbms` CLI next to this file: .js in dist/, .ts when run through tsx (tests). */
function cliCommand(): string[] {
  const cli = require.resolve('../../src/cli/jkbms');
  return cli.endsWith('.ts') ? ['--require', 'tsx/cjs', cli] : [cli];
}

interface SimChild {
  child: ChildProcess;
  listening: { tcp?: string; pty?: string };
  /** SIGTERM; resolves with the simulator's statistics line. */
  stop(): Promise<{ collisions: number; transmissions: number }>;
}

async function startSim(link: 'tcp' | 'pty', seed: number, dir: string): Promise<SimChild> {
  const where = link === 'tcp' ? ['--tcp', '127.0.0.1:0'] : ['--pty', join(dir, 'bus')];
  const child = spawn(process.execPath, [...cliCommand(), 'sim', '--packs', '1-3', '--master', '--seed', String(seed), ...where], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + 20_000;
  while (!stdout.includes('\n')) {
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`jkbms sim did not start: ${stderr.trim() || `exit ${child.exitCode}`}`);
    }
    await sleep(20);
  }
  const first = JSON.parse(stdout.split('\n')[0]!) as { listening: { tcp?: string; pty?: string } };
  return {
    child,
    listening: first.listening,
    async stop() {
      child.kill('SIGTERM');
      const late = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(late);
      const line = stdout.split('\n').find((l) => l.startsWith('{"sim"'));
      if (!line) throw new Error(`jkbms sim printed no statistics: ${stderr.trim()}`);
      const { sim } = JSON.parse(line) as { sim: { collisions: number; transmissions: number } };
      return sim;
    },
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Keep the CPU (and this process's event loop) busy for `ms`. */
export function blockLoop(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // busy: nothing else runs in this process meanwhile
  }
}

function quantile(xs: number[], q: number): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
}

async function until(what: string, pred: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`busy-loop rig: timed out waiting for ${what}`);
    await sleep(50);
  }
}

export async function runBusyLoop(o: BusyLoopOptions): Promise<BusyLoopResult> {
  const everyMs = o.everyMs ?? 1170;
  const requestEveryMs = o.requestEveryMs ?? 2000;
  const dir = mkdtempSync(join(tmpdir(), 'jkbms-busy-'));
  let sim: SimChild | null = null;
  let engine: BusEngine | null = null;
  let blocker: NodeJS.Timeout | undefined;
  let asker: NodeJS.Timeout | undefined;
  try {
    sim = await startSim(o.link, o.seed ?? 1, dir);
    const transport: Transport =
      o.link === 'tcp'
        ? new TcpTransport({ host: '127.0.0.1', port: Number(sim.listening.tcp!.split(':').pop()) })
        : new SerialTransport({ path: sim.listening.pty! });
    engine = new BusEngine(transport, { mode: 'auto' });
    const roles: BusRole[] = [];
    const errors: string[] = [];
    engine.on('role', (e: { role: BusRole }) => roles.push(e.role));
    engine.on('error', (e: Error) => errors.length < 10 && errors.push(e.message));
    engine.start();
    const e = engine;
    await until('sniffing and the device info of packs 1–3', () => e.status().role === 'sniffing' && [1, 2, 3].every((a) => e.pack(a)?.info), 60_000);
    const before = e.status().stats;

    let stalls = 0;
    if (o.stallMs > 0) {
      blocker = setInterval(() => {
        stalls++;
        blockLoop(o.stallMs);
      }, everyMs);
    }
    const latencies: number[] = [];
    const pending = new Set<Promise<void>>();
    let requests = 0;
    let failed = 0;
    asker = setInterval(() => {
      const address = 1 + (requests % 3);
      requests++;
      const t0 = performance.now();
      const p = e.request(address, 'info', { timeoutMs: 120_000 }).then(
        () => void latencies.push(performance.now() - t0),
        (err: Error) => {
          failed++;
          if (errors.length < 10) errors.push(`info of pack ${address}: ${err.message}`);
        },
      );
      pending.add(p);
      void p.finally(() => pending.delete(p));
    }, requestEveryMs);
    await sleep(o.seconds * 1000);
    clearInterval(asker);
    asker = undefined;
    await until('the last requests', () => pending.size === 0, o.drainMs ?? 60_000).catch((err: Error) => errors.push(err.message));
    clearInterval(blocker);
    blocker = undefined;

    const after = e.status().stats;
    await e.stop();
    engine = null;
    const simStats = await sim.stop();
    sim = null;
    const deferred = (after as { injectionsDeferred?: number }).injectionsDeferred ?? 0;
    const deferredBefore = (before as { injectionsDeferred?: number }).injectionsDeferred ?? 0;
    const r1 = (n: number) => Math.round(n);
    return {
      link: o.link,
      stallMs: o.stallMs,
      seconds: o.seconds,
      collisions: simStats.collisions,
      sent: after.requestsSent,
      injected: after.requestsInjected,
      deferred: deferred - deferredBefore,
      requests,
      answered: latencies.length,
      failed,
      latencyMedianMs: r1(quantile(latencies, 0.5)),
      latencyP95Ms: r1(quantile(latencies, 0.95)),
      latencyMaxMs: r1(Math.max(...latencies)),
      stalls,
      errors,
      roles,
    };
  } finally {
    clearInterval(blocker);
    clearInterval(asker);
    await engine?.stop();
    if (sim) await sim.stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  // `node dist/src/bench/busy-loop.js tcp 100 60`: one run, printed as JSON.
  const [link = 'tcp', stall = '100', seconds = '60'] = process.argv.slice(2);
  runBusyLoop({ link: link as 'tcp' | 'pty', stallMs: Number(stall), seconds: Number(seconds) }).then(
    (r) => console.log(JSON.stringify(r)),
    (err: unknown) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}

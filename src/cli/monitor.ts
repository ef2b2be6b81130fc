/**
 * `jkbms monitor` — run the bus engine against a real bus (USB adapter or TCP gateway) and
 * print what happens: every decoded frame, packs going online/offline, role changes. Ends
 * after --duration seconds or on SIGINT/SIGTERM with statistics.
 *
 *   --json     one JSON object per line per event (`ts` = epoch ms), then {"stats": {...}}
 *   --record   also write every received chunk with its arrival time to FILE (the capture format
 *              of src/transport/capture.ts; read it with `jkbms parse FILE`, replay it in a bus node)
 */
import { BusEngine } from '../bus/engine';
import { SerialTransport } from '../transport/serial';
import { TcpTransport } from '../transport/tcp';
import { CaptureRecorder } from '../transport/recorder';
import type { Transport } from '../transport/transport';
import type { BusMode, BusRole, FrameEvent, PackState } from '../bus/types';
import type { InfoPayload, LivePayload } from '../protocol/types';
import { consoleIo, parseCommandLine, stopSignalled, UsageError, type CliIo } from './common';
import { toJson } from './hex';

export const USAGE = `Usage: jkbms monitor (--port PATH [--baud N] | --tcp HOST:PORT) [options]

Runs the bus engine and prints what it sees.

  --port PATH        serial adapter, e.g. /dev/serial/by-id/usb-...
  --baud N           serial speed (default 115200)
  --tcp HOST:PORT    RS485-to-Ethernet gateway in transparent (raw TCP server) mode
  --mode MODE        auto (default: sniff a JK master, else poll), master, or listen (never transmits)
  --duration S       stop after S seconds (default: until Ctrl-C)
  --json             one JSON line per event, then a {"stats": ...} line
  --record FILE      also record the bytes received, with their times, to FILE (a .jkcap capture:
                     jkbms parse FILE, or the bus node's replay connection)
  -h, --help         this text
`;

export interface MonitorOptions {
  target: { path: string; baudRate: number } | { host: string; port: number };
  mode: BusMode;
  durationS: number | null;
  json: boolean;
  record: string | null;
}

const MODES: readonly BusMode[] = ['auto', 'master', 'listen'];

/** Parse the arguments; null means --help. Throws UsageError. */
export function parseMonitorArgs(argv: string[]): MonitorOptions | null {
  let port: string | undefined;
  let baud: number | undefined;
  let tcp: { host: string; port: number } | undefined;
  let mode: BusMode = 'auto';
  let durationS: number | null = null;
  let json = false;
  let record: string | null = null;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined || v.startsWith('--')) throw new UsageError(`${arg} needs a value`);
      return v;
    };
    switch (arg) {
      case '-h':
      case '--help':
        return null;
      case '--port':
        port = value();
        break;
      case '--baud': {
        const v = value();
        baud = Number(v);
        if (!/^\d+$/.test(v) || baud < 300 || baud > 4_000_000) throw new UsageError(`--baud must be a whole number 300–4000000, got "${v}"`);
        break;
      }
      case '--tcp':
        tcp = parseHostPort(value());
        break;
      case '--mode': {
        const v = value();
        if (!MODES.includes(v as BusMode)) throw new UsageError(`--mode must be one of ${MODES.join(', ')}, got "${v}"`);
        mode = v as BusMode;
        break;
      }
      case '--duration': {
        const v = value();
        durationS = Number(v);
        if (v.trim() === '' || !Number.isFinite(durationS) || durationS <= 0) throw new UsageError(`--duration must be a positive number of seconds, got "${v}"`);
        break;
      }
      case '--json':
        json = true;
        break;
      case '--record':
        record = value();
        break;
      default:
        throw new UsageError(`unknown option "${arg}"`);
    }
  }
  if (port !== undefined && tcp) throw new UsageError('give either --port or --tcp, not both');
  if (port === undefined && !tcp) throw new UsageError('say where the bus is: --port PATH (serial adapter) or --tcp HOST:PORT (gateway)');
  if (baud !== undefined && port === undefined) throw new UsageError('--baud only applies to --port');
  const target = port !== undefined ? { path: port, baudRate: baud ?? 115200 } : tcp!;
  return { target, mode, durationS, json, record };
}

function parseHostPort(text: string): { host: string; port: number } {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(text) ?? /^([^:]+):(\d+)$/.exec(text);
  const port = m ? Number(m[2]) : NaN;
  if (!m || !m[1] || port < 1 || port > 65535) throw new UsageError(`--tcp must be HOST:PORT with a port 1–65535, got "${text}"`);
  return { host: m[1], port };
}

interface PackTally {
  frames: number;
  live: number;
  settings: number;
  info: number;
  lastLiveAt: number | null;
  intervals: number;
  intervalSum: number;
  intervalMax: number;
}

const round = (n: number, d = 1) => Math.round(n * 10 ** d) / 10 ** d;

/** Per-pack frame counts and live refresh intervals, from the engine's frame events. */
export class FrameTally {
  readonly packs = new Map<number, PackTally>();

  add(f: FrameEvent): void {
    if (f.address === null) return;
    let t = this.packs.get(f.address);
    if (!t) this.packs.set(f.address, (t = { frames: 0, live: 0, settings: 0, info: 0, lastLiveAt: null, intervals: 0, intervalSum: 0, intervalMax: 0 }));
    t.frames += 1;
    t[f.kind] += 1;
    if (f.kind !== 'live') return;
    if (t.lastLiveAt !== null) {
      const dt = f.at - t.lastLiveAt;
      t.intervals += 1;
      t.intervalSum += dt;
      t.intervalMax = Math.max(t.intervalMax, dt);
    }
    t.lastLiveAt = f.at;
  }

  /** Mean and max interval between live frames of a pack, ms (null with fewer than two). */
  refresh(address: number): { meanMs: number | null; maxMs: number | null } {
    const t = this.packs.get(address);
    if (!t || !t.intervals) return { meanMs: null, maxMs: null };
    return { meanMs: round(t.intervalSum / t.intervals), maxMs: round(t.intervalMax) };
  }
}

function makeTransport(target: MonitorOptions['target']): Transport {
  return 'path' in target ? new SerialTransport({ path: target.path, baudRate: target.baudRate }) : new TcpTransport({ host: target.host, port: target.port });
}

function clockText(ts: number): string {
  return new Date(ts).toISOString().slice(11, 23);
}

function frameSummary(f: FrameEvent): string {
  if (f.kind === 'live') {
    const p = f.payload as LivePayload;
    const cells = p.cells.length ? `  cells ${Math.min(...p.cells).toFixed(3)}–${Math.max(...p.cells).toFixed(3)} V` : '';
    return `${p.voltage.toFixed(2)} V  ${p.current.toFixed(2)} A  ${p.soc} %${cells}`;
  }
  if (f.kind === 'info') {
    const p = f.payload as InfoPayload;
    return `${p.vendorId} hw ${p.hardwareVersion} sw ${p.softwareVersion} serial ${p.serialNumber}`;
  }
  return '';
}

/** The recording of `--record`: the whole run in one file (no size limit), replacing an old file. */
async function openRecording(file: string, source: string): Promise<CaptureRecorder> {
  const rec = new CaptureRecorder({ file, maxBytes: 0, keep: 0, mkdir: false, meta: { source, recorder: 'jkbms monitor' } });
  if (!(await rec.start())) throw new Error(`cannot write the recording ${file}: ${rec.status().error ?? 'unknown error'}`);
  return rec;
}

export async function main(argv: string[], io: CliIo = consoleIo): Promise<number> {
  const opts = parseCommandLine('monitor', USAGE, parseMonitorArgs, argv, io);
  if (typeof opts === 'number') return opts;
  const { json } = opts;
  const transport = makeTransport(opts.target);
  let recording: CaptureRecorder | null = null;
  try {
    if (opts.record) recording = await openRecording(opts.record, transport.description);
  } catch (err) {
    io.err(`jkbms monitor: ${(err as Error).message}`);
    return 1;
  }
  const engine = new BusEngine(transport, { mode: opts.mode }, { log: (level, msg) => level !== 'debug' && level !== 'info' && io.err(`jkbms monitor: ${msg}`) });
  const tally = new FrameTally();
  const started = Date.now();
  const emit = (obj: Record<string, unknown>, text: string) => io.out(json ? toJson({ ts: Date.now(), ...obj }) : `${clockText(Date.now())}  ${text}`);

  if (recording) {
    recording.tap(transport);
    recording.on('error', (err: Error) => io.err(`jkbms monitor: ${err.message}`));
  }
  transport.on('error', (err: Error) => io.err(`jkbms monitor: ${transport.description}: ${err.message}`));
  engine.on('frame', (f: FrameEvent) => {
    tally.add(f);
    if (json) io.out(toJson({ ts: f.ts, event: 'frame', source: f.source, kind: f.kind, address: f.address, payload: f.payload }));
    else io.out(`${clockText(f.ts)}  frame  pack ${String(f.address ?? '?').padStart(2)}  ${f.kind.padEnd(8)}  ${f.source.padEnd(5)}  ${frameSummary(f)}`.trimEnd());
  });
  engine.on('pack', (e: { address: number; online: boolean }) => emit({ event: 'pack', address: e.address, online: e.online }, `pack ${e.address} ${e.online ? 'online' : 'offline'}`));
  engine.on('role', (e: { role: BusRole; previous: BusRole; reason: string }) =>
    emit({ event: 'role', role: e.role, previous: e.previous, reason: e.reason }, `role ${e.previous} → ${e.role} (${e.reason})`),
  );
  engine.on('connection', (e: { connected: boolean; error?: string }) =>
    emit({ event: 'connection', connected: e.connected, ...(e.error ? { error: e.error } : {}) }, `${e.connected ? 'connected to' : 'disconnected from'} ${transport.description}${e.error ? ` (${e.error})` : ''}`),
  );
  engine.on('error', (err: Error) => io.err(`jkbms monitor: ${err.message}`));

  const stop = io.stopSignal ?? stopSignalled();
  let timer: NodeJS.Timeout | undefined;
  const elapsed = opts.durationS === null ? null : new Promise<void>((r) => (timer = setTimeout(r, opts.durationS! * 1000)));
  engine.start();
  await Promise.race(elapsed ? [stop, elapsed] : [stop]);
  clearTimeout(timer);
  const status = engine.status();
  await engine.stop();
  if (recording) await recording.stop();

  const stats = statsOf(status.packs, tally, (Date.now() - started) / 1000, status);
  if (json) io.out(JSON.stringify({ stats }));
  else for (const line of statsText(stats)) io.out(line);
  return 0;
}

interface MonitorStats {
  durationS: number;
  role: BusRole;
  masterPresent: boolean;
  bytesReceived: number;
  bytesDiscarded: number;
  discards: Record<string, number>;
  framesDecoded: number;
  requestsSent: number;
  requestsInjected: number;
  timeouts: number;
  packs: Record<string, { online: boolean; frames: number; live: number; settings: number; info: number; errors: number; liveIntervalMeanMs: number | null; liveIntervalMaxMs: number | null }>;
}

function statsOf(packs: PackState[], tally: FrameTally, durationS: number, status: ReturnType<BusEngine['status']>): MonitorStats {
  const out: MonitorStats['packs'] = {};
  for (const p of packs) {
    const t = tally.packs.get(p.address);
    const r = tally.refresh(p.address);
    out[String(p.address)] = {
      online: p.online,
      frames: t?.frames ?? 0,
      live: t?.live ?? 0,
      settings: t?.settings ?? 0,
      info: t?.info ?? 0,
      errors: p.errors,
      liveIntervalMeanMs: r.meanMs,
      liveIntervalMaxMs: r.maxMs,
    };
  }
  const s = status.stats;
  return {
    durationS: round(durationS),
    role: status.role,
    masterPresent: status.masterPresent,
    bytesReceived: s.bytesReceived,
    bytesDiscarded: s.bytesDiscarded,
    discards: s.discards,
    framesDecoded: s.framesDecoded,
    requestsSent: s.requestsSent,
    requestsInjected: s.requestsInjected,
    timeouts: s.timeouts,
    packs: out,
  };
}

function statsText(s: MonitorStats): string[] {
  const ms = (v: number | null) => (v === null ? '–' : `${v}`);
  const lines = [
    '',
    `${s.durationS} s, role ${s.role}${s.masterPresent ? ' (JK master present)' : ''}`,
    'pack  online  frames  live  settings  info  errors  live every ms (mean / max)',
  ];
  for (const [a, p] of Object.entries(s.packs)) {
    lines.push(
      `${a.padStart(4)}  ${(p.online ? 'yes' : 'no').padEnd(6)}  ${String(p.frames).padStart(6)}  ${String(p.live).padStart(4)}  ${String(p.settings).padStart(8)}  ${String(p.info).padStart(4)}  ${String(p.errors).padStart(6)}  ${ms(p.liveIntervalMeanMs)} / ${ms(p.liveIntervalMaxMs)}`,
    );
  }
  const discards = Object.entries(s.discards)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  lines.push(`bytes received ${s.bytesReceived}, discarded ${s.bytesDiscarded}${discards ? ` (${discards})` : ''}`);
  lines.push(`requests sent ${s.requestsSent} (injected into a master's gaps ${s.requestsInjected}), timeouts ${s.timeouts}`);
  return lines;
}

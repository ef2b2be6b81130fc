import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { delimiter, dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { sleep, until as poll } from './wait';

/**
 * A real Node-RED with our packed tarball installed, for runtime and editor tests (reused by
 * the HA and dashboard suites). By default Node-RED 4 (our devDependency) on this process's
 * Node.js; the test matrix (scripts/matrix.mjs) points it at another one:
 *   JKBMS_NODE_RED=DIR   a folder with node_modules/node-red (e.g. .cache/node-red-5.0.7)
 *   JKBMS_NODE=FILE      the node binary that runs it and its npm installs (e.g. Node 22)
 *
 *   const tgz = await packOnce();                   // build into a temp dir + npm pack, once per mocha run
 *   const red = await startNodeRed({ extraPackages: [] });
 *   await red.api.deploy(flow);                      // POST /flows (full deploy)
 *   const debug = await red.debug();                 // debug sidebar messages over the comms websocket
 *   await debug.waitFor((m) => m.topic === 'bank/1/live', 30_000);
 *   await red.stop();                                // SIGINT, then SIGKILL after 10 s; idempotent
 *
 * Every started instance is also killed when the test process exits.
 */

const ROOT = resolve(__dirname, '..', '..');
const RED_DIR = process.env.JKBMS_NODE_RED ? resolve(process.env.JKBMS_NODE_RED, 'node_modules', 'node-red') : join(ROOT, 'node_modules', 'node-red');
const RED_JS = join(RED_DIR, 'red.js');
const NODE = process.env.JKBMS_NODE ? resolve(process.env.JKBMS_NODE) : process.execPath;
/** Child processes (Node-RED, npm) run on NODE: its folder first on PATH. */
const TARGET_ENV = { ...process.env, PATH: `${dirname(NODE)}${delimiter}${process.env.PATH ?? ''}` };
const run = promisify(execFile);

let versions: { nodeRed: string; node: string } | null = null;
/** The Node-RED and Node.js versions the runtime tests run on. */
export function targetVersions(): { nodeRed: string; node: string } {
  versions ??= {
    nodeRed: (JSON.parse(readFileSync(join(RED_DIR, 'package.json'), 'utf8')) as { version: string }).version,
    node: execFileSync(NODE, ['--version'], { encoding: 'utf8' }).trim(),
  };
  return versions;
}

let packed: Promise<string> | null = null;
let workDir: string | null = null;
const live = new Set<ChildProcess>();

process.once('exit', () => {
  for (const child of live) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

function work(): string {
  if (!workDir) {
    mkdirSync(join(ROOT, '.tmp'), { recursive: true });
    workDir = mkdtempSync(join(ROOT, '.tmp', 'nodered-'));
  }
  return workDir;
}

/** Build (into a temp dir, never ./dist) and pack once per test run; resolves to the .tgz path. */
export function packOnce(): Promise<string> {
  if (!packed) {
    packed = (async () => {
      const dir = work();
      await run(process.execPath, [join(ROOT, 'scripts', 'build.mjs'), '--out', dir], { cwd: ROOT, maxBuffer: 16 << 20 }).catch(
        (err: Error & { stdout?: string; stderr?: string }) => {
          throw new Error(`build failed: ${err.message}\n${err.stdout ?? ''}${err.stderr ?? ''}`);
        },
      );
      const { stdout } = await run(
        process.execPath,
        [join(ROOT, 'scripts', 'pack.mjs'), '--dist', join(dir, 'dist'), '--out', dir],
        { cwd: ROOT, maxBuffer: 16 << 20 },
      );
      const tgz = stdout.trim().split('\n').pop() ?? '';
      if (!existsSync(tgz)) throw new Error(`pack.mjs printed no tarball: ${stdout}`);
      return tgz;
    })();
    packed.catch(() => {
      packed = null;
    });
  }
  return packed;
}

/** The built dist/ that packOnce() packed (for the simulator CLI and the scorecard). */
export async function builtDist(): Promise<string> {
  await packOnce();
  return join(work(), 'dist');
}

const installs = new Map<string, Promise<string>>();

/** A user dir template with the tarball (and extra packages) installed, once per package list. */
function installed(extraPackages: readonly string[]): Promise<string> {
  const key = [...extraPackages].sort().join('\n');
  let p = installs.get(key);
  if (!p) {
    p = (async () => {
      const tgz = await packOnce();
      const dir = mkdtempSync(join(work(), 'ud-template-'));
      writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'node-red-project', private: true, version: '0.0.0' }));
      await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', tgz, ...extraPackages], {
        cwd: dir,
        env: TARGET_ENV,
        maxBuffer: 16 << 20,
        timeout: 300_000,
      });
      return dir;
    })();
    installs.set(key, p);
    p.catch(() => installs.delete(key));
  }
  return p;
}

export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolvePort(port));
    });
  });
}

export interface DebugMessage {
  /** Debug node id. */
  id: string;
  topic?: string;
  /** The message (or property) the debug node shows, decoded from the sidebar format. */
  msg: unknown;
  format: string;
}

export interface DebugCapture {
  readonly messages: DebugMessage[];
  /** Resolve with the first message (already received or future) matching `pred`. */
  waitFor(pred: (m: DebugMessage) => boolean, timeoutMs?: number): Promise<DebugMessage>;
  close(): void;
}

export interface NodeRedApi {
  get<T = unknown>(path: string): Promise<T>;
  post<T = unknown>(path: string, body: unknown, headers?: Record<string, string>): Promise<T>;
  /** Full deploy of `flow` (an array of nodes). */
  deploy(flow: unknown[], type?: 'full' | 'nodes' | 'flows'): Promise<void>;
  /** Fire an inject node. */
  inject(id: string): Promise<void>;
}

export interface NodeRedInstance {
  url: string;
  port: number;
  userDir: string;
  pid: number;
  /** Everything the runtime printed so far. */
  readonly output: string;
  api: NodeRedApi;
  debug(): Promise<DebugCapture>;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Use this user dir (created if missing); default a fresh temp dir. */
  userDir?: string;
  /** More packages to install next to ours (npm specs or paths). */
  extraPackages?: string[];
  /** Default: a free loopback port. */
  port?: number;
  /** Merged into settings.js. */
  settings?: Record<string, unknown>;
  /** Wait this long for "Server now running" (default 90 s). */
  startTimeoutMs?: number;
}

export function loopbackSettings(port: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    uiHost: '127.0.0.1',
    uiPort: port,
    flowFile: 'flows.json',
    credentialSecret: 'test',
    editorTheme: { tours: false, projects: { enabled: false } },
    diagnostics: { enabled: false },
    telemetry: { enabled: false },
    externalModules: { palette: { allowInstall: false } },
    logging: { console: { level: 'info', metrics: false, audit: false } },
    ...extra,
  };
}

export async function startNodeRed(opts: StartOptions = {}): Promise<NodeRedInstance> {
  const template = await installed(opts.extraPackages ?? []);
  const userDir = opts.userDir ?? mkdtempSync(join(work(), 'ud-'));
  mkdirSync(userDir, { recursive: true });
  if (!existsSync(join(userDir, 'node_modules', '@jkpb'))) {
    for (const f of readdirSync(template)) cpSync(join(template, f), join(userDir, f), { recursive: true });
  }
  const port = opts.port ?? (await freePort());
  const settingsFile = join(userDir, 'settings.js');
  writeFileSync(settingsFile, `module.exports = ${JSON.stringify(loopbackSettings(port, opts.settings), null, 2)};\n`);

  const child = spawn(NODE, [RED_JS, '-u', userDir, '-s', settingsFile], {
    cwd: userDir,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...TARGET_ENV, NODE_RED_ENABLE_TOURS: 'false' },
  });
  live.add(child);
  let output = '';
  const append = (b: Buffer): void => {
    output += b.toString();
    if (output.length > 2_000_000) output = output.slice(-1_000_000);
  };
  child.stdout!.on('data', append);
  child.stderr!.on('data', append);
  const exited = new Promise<void>((res) => child.once('exit', () => res()));

  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + (opts.startTimeoutMs ?? 90_000);
  while (!/Server now running at/.test(output)) {
    if (child.exitCode !== null) throw new Error(`Node-RED exited (${child.exitCode}) before it was running:\n${output}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`Node-RED did not start within ${opts.startTimeoutMs ?? 90_000} ms:\n${output}`);
    }
    await sleep(100);
  }

  const request = async <T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> => {
    const res = await fetch(url + path, {
      method,
      headers: { Accept: 'application/json', ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}), ...headers },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${text}`);
    if (!text) return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      return text as T;
    }
  };

  const api: NodeRedApi = {
    get: (path) => request('GET', path),
    post: (path, body, headers) => request('POST', path, body, headers),
    async deploy(flow, type = 'full') {
      await request('POST', '/flows', flow, { 'Node-RED-Deployment-Type': type });
    },
    async inject(id) {
      // Right after a deploy the flows may still be starting (a function node's modules are
      // resolved first): a 404 then means "not started yet", for up to 10 s.
      const deadline = Date.now() + 10_000;
      for (;;) {
        try {
          await request('POST', `/inject/${id}`, {});
          return;
        } catch (err) {
          if (!/HTTP 404/.test(String(err)) || Date.now() > deadline) throw err;
          await sleep(100);
        }
      }
    },
  };

  let stopping: Promise<void> | null = null;
  const captures = new Set<DebugCapture>();
  return {
    url,
    port,
    userDir,
    pid: child.pid!,
    get output() {
      return output;
    },
    api,
    async debug() {
      const cap = await captureDebug(port);
      captures.add(cap);
      return cap;
    },
    stop() {
      if (!stopping) {
        stopping = (async () => {
          for (const c of captures) c.close();
          if (child.exitCode === null && child.signalCode === null) {
            child.kill('SIGINT');
            const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
            await exited;
            clearTimeout(timer);
          }
          live.delete(child);
        })();
      }
      return stopping;
    },
  };
}

interface WsLike {
  on(ev: 'message', fn: (data: Buffer) => void): void;
  on(ev: 'open' | 'close', fn: () => void): void;
  on(ev: 'error', fn: (err: Error) => void): void;
  send(data: string): void;
  close(): void;
}

/** Subscribe to the debug sidebar feed over the editor's comms websocket. */
async function captureDebug(port: number): Promise<DebugCapture> {
  const WebSocket = require('ws') as new (url: string) => WsLike;
  const ws = new WebSocket(`ws://127.0.0.1:${port}/comms`);
  await new Promise<void>((res, rej) => {
    ws.on('open', () => res());
    ws.on('error', rej);
  });
  ws.on('error', () => undefined);
  ws.send(JSON.stringify({ subscribe: 'debug' }));
  const messages: DebugMessage[] = [];
  const waiters = new Set<{ pred: (m: DebugMessage) => boolean; res: (m: DebugMessage) => void }>();
  ws.on('message', (data) => {
    let frames: { topic: string; data: { id: string; topic?: string; msg: string; format: string } }[];
    try {
      const parsed = JSON.parse(data.toString()) as unknown;
      frames = (Array.isArray(parsed) ? parsed : [parsed]) as typeof frames;
    } catch {
      return;
    }
    for (const f of frames) {
      if (f.topic !== 'debug' || !f.data) continue;
      let msg: unknown = f.data.msg;
      if (f.data.format?.startsWith('Object') || f.data.format?.startsWith('array')) {
        try {
          msg = JSON.parse(f.data.msg);
        } catch {
          // keep the text
        }
      }
      const m: DebugMessage = { id: f.data.id, ...(f.data.topic !== undefined ? { topic: f.data.topic } : {}), msg, format: f.data.format };
      messages.push(m);
      for (const w of [...waiters]) {
        if (w.pred(m)) {
          waiters.delete(w);
          w.res(m);
        }
      }
    }
  });
  return {
    messages,
    waitFor(pred, timeoutMs = 30_000) {
      const found = messages.find(pred);
      if (found) return Promise.resolve(found);
      return new Promise<DebugMessage>((res, rej) => {
        const w = { pred, res: (m: DebugMessage) => (clearTimeout(timer), res(m)) };
        const timer = setTimeout(() => {
          waiters.delete(w);
          rej(new Error(`no matching debug message within ${timeoutMs} ms (got ${messages.length}: ${messages
            .slice(-5)
            .map((x) => x.topic ?? x.format)
            .join(', ')})`));
        }, timeoutMs);
        waiters.add(w);
      });
    },
    close() {
      try {
        ws.close();
      } catch {
        // closed
      }
    },
  };
}

/** Poll `fn` until it returns a truthy value or the deadline passes (errors thrown by `fn` count as "not yet"). */
export function until<T>(fn: () => T | Promise<T>, timeoutMs: number, what: string, everyMs = 100): Promise<NonNullable<T>> {
  return poll(fn, timeoutMs, what, { everyMs, retryErrors: true });
}

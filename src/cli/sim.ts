import { parseArgs } from 'node:util';
import { BusSimulator, formatPlantedFaults, parseFaults, parsePlantedFaults, startSocat, type PlantedFault, type SimFaults, type SocatPair } from '../sim';
import { parsePackList as parsePacks, parseSeed } from '../sim/spec';
import { consoleIo, parseCommandLine, stopSignalled, UsageError, type CliIo } from './common';

/**
 * `jkbms sim`: run a simulated JK-PB bus and expose it as a transparent TCP gateway and/or a
 * pseudo-terminal, for the demo, for trying the nodes without hardware, and for scripts.
 *
 * stdout carries exactly two JSON lines: `{"listening": {...}}` once the bus is reachable,
 * and `{"sim": {...}}` (the statistics) when SIGINT/SIGTERM stops it (exit code 0).
 * Usage errors exit 2; a failure to start (port in use, socat missing) exits 1.
 */

export const USAGE = `Usage: jkbms sim [options]

Simulate a JK-PB RS485-2 bus: packs that answer like real ones, optionally a JK master
(address 0) running its 4.4 s cycle, and faults on demand.

Options:
  --packs LIST     slave addresses, e.g. 1-4,7 (1–15; default 1-4)
  --master         add a JK master at address 0 that polls the packs
  --tcp HOST:PORT  listen as a transparent RS485-to-Ethernet gateway (port 0 = pick a free one;
                   default 127.0.0.1:0 when neither --tcp nor --pty is given)
  --pty PATH       create a pseudo-terminal at PATH (needs socat) to open like a serial adapter
  --faults LIST    e.g. truncate=0.05,noise=0.2,silence=1,silenceMs=15000
                   (noise, bitflip, truncate, drop, echo, fragment, coalesce, silence)
  --seed N         random seed (default 1): the same seed gives the same packs
  --baud N         wire speed (default 115200)
  --bank           the packs in parallel on one bus bar (one bus voltage, the current split
                   between them), driven by a household day: solar charge, evening load
  --day SECONDS    let a simulated day last this long (default 86400; 600 = ten minutes): the
                   packs' physics and the household day run faster, the wire keeps real time
  --plant LIST     planted cell faults, e.g. "cell 2.7: +3 mΩ; cell 1.12: -8 % capacity"
                   (also "cell 3.1: +4 % soc", "pack 3: -10 % capacity"; mohm for mΩ)
  -h, --help       show this help

Prints {"listening": {...}} when ready; on Ctrl-C / SIGTERM prints {"sim": {...}} and exits 0.`;

export interface SimCliOptions {
  packs: number[];
  master: boolean;
  tcp: { host: string; port: number } | null;
  pty: string | null;
  faults: SimFaults;
  seed: number;
  baud: number;
  /** --bank: the packs in parallel, driven by a household day. */
  bank?: true;
  /** --day: seconds a simulated day lasts (absent: real time). */
  dayS?: number;
  /** --plant (absent when none). */
  plant?: PlantedFault[];
}

/** "1-4,7" → [1, 2, 3, 4, 7] (the parser the bus node's simulator connection uses too). */
export function parsePackList(text: string): number[] {
  return usage('--packs', () => parsePacks(text, 'use --master'));
}

/** Run a shared parser; its RangeError becomes a UsageError prefixed with the option. */
function usage<T>(option: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw new UsageError(`${option}: ${(err as Error).message}`);
  }
}

function parseInteger(name: string, text: string, min: number, max: number): number {
  const n = Number(text);
  if (!/^-?\d+$/.test(text.trim()) || n < min || n > max) throw new UsageError(`${name}: expected an integer ${min}–${max}, got "${text}"`);
  return n;
}

function parseTcp(text: string): { host: string; port: number } {
  const i = text.lastIndexOf(':');
  const host = i >= 0 ? text.slice(0, i).replace(/^\[(.*)\]$/, '$1') : '127.0.0.1';
  const port = i >= 0 ? text.slice(i + 1) : text;
  if (!host) throw new UsageError(`--tcp: expected HOST:PORT (e.g. 127.0.0.1:5020), got "${text}"`);
  return { host, port: parseInteger('--tcp port', port, 0, 65535) };
}

/** Parse the arguments after `sim`; null for --help. Throws UsageError. */
export function parseSimArgs(argv: string[]): SimCliOptions | null {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        packs: { type: 'string' },
        master: { type: 'boolean' },
        tcp: { type: 'string' },
        pty: { type: 'string' },
        faults: { type: 'string' },
        seed: { type: 'string' },
        baud: { type: 'string' },
        bank: { type: 'boolean' },
        day: { type: 'string' },
        plant: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (values.help) return null;
  const faults: SimFaults = values.faults === undefined ? {} : usage('--faults', () => parseFaults(values.faults!));
  const pty = values.pty === undefined ? null : values.pty.trim();
  if (pty === '') throw new UsageError('--pty: a path is required, e.g. /tmp/jkbms-sim');
  const tcp = values.tcp !== undefined ? parseTcp(values.tcp) : pty ? null : { host: '127.0.0.1', port: 0 };
  let plant: PlantedFault[] = [];
  if (values.plant !== undefined) {
    try {
      plant = parsePlantedFaults(values.plant);
    } catch (err) {
      throw new UsageError(`--plant: ${(err as Error).message}`);
    }
  }
  return {
    packs: parsePackList(values.packs ?? '1-4'),
    master: values.master ?? false,
    tcp,
    pty,
    faults,
    seed: values.seed === undefined ? 1 : usage('--seed', () => parseSeed(values.seed!)),
    baud: values.baud === undefined ? 115200 : parseInteger('--baud', values.baud, 300, 4_000_000),
    ...(values.bank ? { bank: true as const } : {}),
    ...(values.day !== undefined ? { dayS: parseInteger('--day', values.day, 144, 86_400) } : {}),
    ...(plant.length ? { plant } : {}),
  };
}

/** Entry point: the arguments after `sim`; resolves with the exit code. */
export async function main(argv: string[], io: CliIo = consoleIo): Promise<number> {
  const opts = parseCommandLine('sim', USAGE, parseSimArgs, argv, io);
  if (typeof opts === 'number') return opts;
  let sim: BusSimulator;
  try {
    sim = new BusSimulator({
      packs: opts.packs,
      master: opts.master,
      faults: opts.faults,
      seed: opts.seed,
      baud: opts.baud,
      ...(opts.bank ? { bank: true } : {}),
      ...(opts.dayS ? { speed: 86_400 / opts.dayS } : {}),
      ...(opts.plant ? { cellFaults: opts.plant } : {}),
    });
  } catch (err) {
    // A planted fault for a pack that is not simulated: a usage error.
    io.err(`jkbms sim: ${(err as Error).message}`);
    io.err('Try "jkbms sim --help".');
    return 2;
  }
  sim.on('error', (err: Error) => io.err(`jkbms sim: ${err.message}`));
  let socat: SocatPair | null = null;
  try {
    const listening: Record<string, string> = {};
    if (opts.tcp) {
      const gw = await sim.listenTcp(opts.tcp.port, opts.tcp.host);
      listening.tcp = `${gw.host.includes(':') ? `[${gw.host}]` : gw.host}:${gw.port}`;
    }
    if (opts.pty) {
      socat = await startSocat(opts.pty);
      await sim.attachPty(socat.simPath);
      listening.pty = socat.hostPath;
    }
    sim.start();
    io.out(
      JSON.stringify({
        listening,
        packs: opts.packs,
        master: opts.master,
        seed: opts.seed,
        baud: opts.baud,
        ...(opts.bank ? { bank: true } : {}),
        ...(opts.dayS ? { dayS: opts.dayS } : {}),
        ...(opts.plant ? { plant: formatPlantedFaults(opts.plant) } : {}),
      }),
    );
  } catch (err) {
    io.err(`jkbms sim: ${(err as Error).message}`);
    await sim.stop();
    await socat?.stop();
    return 1;
  }
  await (io.stopSignal ?? stopSignalled());
  await sim.stop();
  await socat?.stop();
  io.out(JSON.stringify({ sim: sim.stats() }));
  return 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}

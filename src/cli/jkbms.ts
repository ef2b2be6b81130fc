#!/usr/bin/env node
/**
 * `jkbms` — the command-line companion of @jkpb/node-red-jkbms.
 *   jkbms decode <hex>                 one frame → one JSON object
 *   jkbms parse [FILE|-] [--hex]        a raw byte stream → one JSON line per event + a summary
 *   jkbms sim --packs 1-4,7 [...]       the bus simulator (TCP gateway or pty)
 *   jkbms monitor (--port P | --tcp H:P) [...]   run the bus engine and print events
 */
const USAGE = `usage: jkbms <command> [options]

commands:
  decode <hex>                      decode one frame (hex, separators allowed) to JSON
  parse [FILE|-] [--hex]            parse a raw byte stream (binary, or hex text with --hex):
                                    one JSON line per event, then a summary line
  sim --packs 1-4,7 [--master] [--tcp 127.0.0.1:PORT | --pty PATH] [--faults LIST] [--seed N]
                                    simulate a JK-PB bus
  monitor (--port PATH [--baud N] | --tcp HOST:PORT) [--mode auto|master|listen]
          [--duration S] [--json] [--record FILE]
                                    run the bus engine against a real bus and print events
  help                              this text
`;

type Main = (argv: string[]) => Promise<number>;

/** Commands load lazily: `jkbms decode` must not pay for serialport or the simulator. */
function load(cmd: string): Main | undefined {
  switch (cmd) {
    case 'decode':
      return (require('./decode') as typeof import('./decode')).main;
    case 'parse':
      return (require('./parse') as typeof import('./parse')).main;
    case 'sim':
      return (require('./sim') as typeof import('./sim')).main;
    case 'monitor':
      return (require('./monitor') as typeof import('./monitor')).main;
    default:
      return undefined;
  }
}

export async function run(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === 'help' || cmd === '--help' || cmd === '-h') {
    process.stdout.write(USAGE);
    return cmd ? 0 : 2;
  }
  const main = load(cmd);
  if (!main) {
    process.stderr.write(`jkbms: unknown command "${cmd}"\n\n${USAGE}`);
    return 2;
  }
  return main(rest);
}

if (require.main === module) {
  run(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`jkbms: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}

/** What the long-running commands (`jkbms sim`, `jkbms monitor`) share: usage errors, output, stopping. */

/** A wrong command line: printed with a hint to --help, exit code 2. */
export class UsageError extends Error {}

export interface CliIo {
  out(line: string): void;
  err(line: string): void;
  /** Resolves when the command is asked to stop (default: SIGINT or SIGTERM). */
  stopSignal?: Promise<void>;
}

export const consoleIo: CliIo = { out: (l) => console.log(l), err: (l) => console.error(l) };

/** Resolves on the first SIGINT or SIGTERM, and stops listening for them. */
export function stopSignalled(): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      resolve();
    };
    process.on('SIGINT', done);
    process.on('SIGTERM', done);
  });
}

/**
 * Parse a command's arguments: the options, or the exit code when there is nothing to run:
 * 0 after printing `usage` (`parse` returned null for --help), 2 after a UsageError, printed
 * as "jkbms <command>: <message>" and a hint. Any other error propagates.
 */
export function parseCommandLine<T extends object>(
  command: string,
  usage: string,
  parse: (argv: string[]) => T | null,
  argv: string[],
  io: CliIo,
): T | number {
  let opts: T | null;
  try {
    opts = parse(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.err(`jkbms ${command}: ${err.message}`);
    io.err(`Try "jkbms ${command} --help".`);
    return 2;
  }
  if (!opts) {
    io.out(usage);
    return 0;
  }
  return opts;
}

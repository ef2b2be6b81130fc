import type { Rng } from './rng';

/**
 * Faults the simulator injects on demand, each with its own rate. All draws come from the
 * simulator's seeded fault stream, so a faulty run is as reproducible as a clean one.
 *
 * | name       | rate means                                               | what happens                                                          |
 * |------------|----------------------------------------------------------|-----------------------------------------------------------------------|
 * | noise      | bursts per second                                        | 1–16 random bytes appear on the wire at a random moment (garbling whatever they overlap) |
 * | bitflip    | probability per transmission (packs, master, host)       | one random bit of one random byte is flipped on the wire              |
 * | truncate   | probability per data answer of a pack                    | the answer stops after 287, 288 or 299 bytes (FT232R-style), no tail  |
 * | drop       | probability per request addressed to a pack              | the pack processes it (a write is applied) but never answers           |
 * | echo       | probability per host transmission (in-process / pty endpoints) | the host hears its own first 3–11 bytes back (CH341-style)     |
 * | fragment   | probability per TCP packet (TCP gateway only)            | the packet is split into 2–4 pieces sent a few ms apart               |
 * | coalesce   | probability per TCP packet (TCP gateway only)            | the packet is held back and sent together with the next one(s)        |
 * | silence    | probability per pack per minute                          | the pack stops answering for `silenceMs`, then comes back             |
 *
 * `silenceMs` (default 20000) is the only parameter that is not a rate.
 */
export interface SimFaults {
  noise?: number;
  bitflip?: number;
  truncate?: number;
  drop?: number;
  echo?: number;
  fragment?: number;
  coalesce?: number;
  silence?: number;
  silenceMs?: number;
}

export type FaultName = Exclude<keyof SimFaults, 'silenceMs'>;

export const FAULT_NAMES: readonly FaultName[] = ['noise', 'bitflip', 'truncate', 'drop', 'echo', 'fragment', 'coalesce', 'silence'];

const PROBABILITIES: ReadonlySet<FaultName> = new Set(['bitflip', 'truncate', 'drop', 'echo', 'fragment', 'coalesce', 'silence']);

export const DEFAULT_SILENCE_MS = 20_000;

/** Truncated answer lengths seen with FT232R adapters (docs/protocol.md §6.5). */
export const TRUNCATED_LENGTHS: readonly number[] = [287, 288, 299];

/** Throws a RangeError naming the problem; returns a normalised copy. */
export function validateFaults(faults: SimFaults): Required<Pick<SimFaults, 'silenceMs'>> & SimFaults {
  const out: SimFaults = {};
  for (const [key, value] of Object.entries(faults) as [string, unknown][]) {
    if (value === undefined) continue;
    if (key === 'silenceMs') {
      if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
        throw new RangeError(`fault parameter silenceMs must be a positive number of ms, got ${JSON.stringify(value)}`);
      }
      out.silenceMs = value;
      continue;
    }
    if (!(FAULT_NAMES as readonly string[]).includes(key)) {
      throw new RangeError(`unknown fault "${key}"; known faults: ${FAULT_NAMES.join(', ')} (and the parameter silenceMs)`);
    }
    const name = key as FaultName;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      throw new RangeError(`fault ${name} needs a rate ≥ 0, got ${JSON.stringify(value)}`);
    }
    if (PROBABILITIES.has(name) && value > 1) {
      throw new RangeError(`fault ${name} is a probability: 0–1, got ${value}`);
    }
    out[name] = value;
  }
  return { silenceMs: DEFAULT_SILENCE_MS, ...out };
}

/**
 * Parse the CLI form `name=rate,name=rate,…` (e.g. `truncate=0.05,noise=0.2,silenceMs=15000`).
 * A bare name means rate 1 for probabilities, 1 burst per second for noise.
 */
export function parseFaults(text: string): SimFaults {
  const out: Record<string, number> = {};
  for (const part of text.split(',').map((s) => s.trim())) {
    if (!part) continue;
    const [name, value, extra] = part.split('=').map((s) => s.trim());
    if (extra !== undefined || !name) throw new RangeError(`bad fault "${part}": expected name=rate`);
    const n = value === undefined ? 1 : Number(value);
    if (value !== undefined && (value === '' || !Number.isFinite(n))) {
      throw new RangeError(`bad fault "${part}": "${value}" is not a number`);
    }
    out[name] = n;
  }
  return validateFaults(out);
}

/** Draws fault decisions from the seeded fault stream and counts what was injected. */
export class FaultInjector {
  private config: SimFaults & { silenceMs: number } = { silenceMs: DEFAULT_SILENCE_MS };
  readonly counts: Record<FaultName, number> = {
    noise: 0,
    bitflip: 0,
    truncate: 0,
    drop: 0,
    echo: 0,
    fragment: 0,
    coalesce: 0,
    silence: 0,
  };

  constructor(private readonly rng: Rng) {}

  get current(): SimFaults & { silenceMs: number } {
    return { ...this.config };
  }

  set(faults: SimFaults): void {
    this.config = validateFaults(faults);
  }

  rate(name: FaultName): number {
    return this.config[name] ?? 0;
  }

  get silenceMs(): number {
    return this.config.silenceMs;
  }

  /** Roll a probability fault; counts it when it fires. */
  roll(name: FaultName, p = this.rate(name)): boolean {
    if (!(p > 0)) return false;
    const hit = this.rng.chance(p);
    if (hit) this.counts[name] += 1;
    return hit;
  }

  /** Count a fault decided elsewhere (noise bursts, silences). */
  count(name: FaultName): void {
    this.counts[name] += 1;
  }

  get random(): Rng {
    return this.rng;
  }

  truncatedLength(): number {
    return this.rng.pick(TRUNCATED_LENGTHS);
  }

  /** CH341-style echo length. */
  echoLength(): number {
    return this.rng.int(3, 11);
  }

  /** Flip one random bit of one random byte, in place. */
  flipBit(bytes: Buffer): void {
    if (!bytes.length) return;
    bytes[this.rng.int(0, bytes.length - 1)]! ^= 1 << this.rng.int(0, 7);
  }
}

/**
 * Learns a JK master's rhythm from the traffic it sees, so that a third party can talk in the
 * master's quiet gaps without colliding (reference §6.6).
 *
 * Every foreign message on the wire (a master trigger, a slave's answer, the master's own
 * frames) is identified by a key, e.g. "t:5:live" (the master's live trigger to address 5) or
 * "f:2:settings" (the settings answer of address 2). For each key the learner measures the
 * silence that actually followed it — from its last byte to the first byte of the next
 * foreign message — and keeps the recent samples. `quietAfter(key)` is the minimum of them: a
 * probe of an address that never answers is followed by the master's full probe timeout
 * (≈ 220 ms), an answered exchange by its inter-request gap (≈ 180 ms), a trigger to a present
 * pack by the pack's turnaround (a few ms — no room). The key carries the address because
 * those differ per address; a key whose samples disagree keeps the smallest.
 *
 * Our own transmissions and the answers to them are not foreign messages: the engine does not
 * report them, so the master's silence is measured across our injected exchanges.
 */
export interface GapLearnerOptions {
  /** Samples kept per key (default 5: about five master cycles). */
  samples?: number;
  /** Samples older than this are forgotten, ms (default 60000). */
  maxAgeMs?: number;
  /** Silences longer than this are not a wait inside the master's cycle and are not learned, ms (default 1000). */
  capMs?: number;
}

/** Assumed slave turnaround before any has been measured, ms. */
export const DEFAULT_TURNAROUND_MS = 10;
const TURNAROUND_SAMPLES = 16;

interface Sample {
  quiet: number;
  at: number;
}

export class GapLearner {
  private readonly samples: number;
  private readonly maxAgeMs: number;
  private readonly capMs: number;
  private readonly byKey = new Map<string, Sample[]>();
  private open: { key: string; end: number } | null = null;
  private readonly turnarounds: number[] = [];

  constructor(options: GapLearnerOptions = {}) {
    this.samples = options.samples ?? 5;
    this.maxAgeMs = options.maxAgeMs ?? 60_000;
    this.capMs = options.capMs ?? 1000;
  }

  /** A foreign message occupied the wire from `start` to `end` (clock ms). */
  message(key: string, start: number, end: number): void {
    const prev = this.open;
    if (prev) {
      const quiet = start - prev.end;
      if (quiet >= 0 && quiet <= this.capMs) {
        this.record(prev.key, quiet, start);
        if (isAnswerTo(key, prev.key)) {
          this.turnarounds.push(quiet);
          if (this.turnarounds.length > TURNAROUND_SAMPLES) this.turnarounds.shift();
        }
      }
    }
    this.open = { key, end };
  }

  /** The silence the master is known to keep after a message with this key, or undefined. */
  quietAfter(key: string, now: number): number | undefined {
    const list = this.byKey.get(key);
    if (!list) return undefined;
    let min: number | undefined;
    for (const s of list) if (now - s.at <= this.maxAgeMs && (min === undefined || s.quiet < min)) min = s.quiet;
    return min;
  }

  /** The longest recent slave turnaround (trigger end → first answer byte), ms. */
  turnaroundMs(): number {
    return this.turnarounds.length ? Math.max(...this.turnarounds) : DEFAULT_TURNAROUND_MS;
  }

  /** Keys with samples (diagnostics). */
  get keys(): number {
    return this.byKey.size;
  }

  /** Forget everything (the master went away, the link was down). */
  reset(): void {
    this.byKey.clear();
    this.open = null;
    this.turnarounds.length = 0;
  }

  private record(key: string, quiet: number, at: number): void {
    let list = this.byKey.get(key);
    if (!list) {
      list = [];
      this.byKey.set(key, list);
    }
    list.push({ quiet, at });
    if (list.length > this.samples) list.shift();
  }
}

/** Safety margin kept before the master's next transmission: at least this, ms … */
export const MIN_MARGIN_MS = 20;
/** … or this share of the gap, whichever is larger. */
export const MARGIN_FRACTION = 0.1;
/** Least lead after a trigger: a pack's answer (if it is there after all) must have started before we talk. */
export const LEAD_AFTER_TRIGGER_MS = 40;
export const LEAD_AFTER_OTHER_MS = 10;
/** The largest exchange we inject: an 11-byte trigger and a 310-byte answer (turnaround on top). */
const INJECT_BYTES = 11 + 310;

export interface InjectionInput {
  /** The message opening the gap is a trigger (a slow answer may still come). */
  afterTrigger: boolean;
  /** Clock time its last byte arrived. */
  end: number;
  /** Learned silence after it, ms. */
  quiet: number;
  turnaroundMs: number;
  byteMs: number;
  /** The configured minimum gap before our command (used in full when the gap allows). */
  minGapMs: number;
}

export interface InjectionPlan {
  /** When to transmit. */
  sendAt: number;
  /** Our answer must be complete by then (the master may talk again soon after). */
  windowEnd: number;
}

/**
 * Where one request fits into a master's quiet gap, or null when it does not: start after a
 * lead of up to minGapMs and finish (trigger, 1.5 × turnaround, 310-byte answer) with a margin
 * of max(20 ms, 10 % of the gap) before the master's next transmission.
 */
export function planInjection(p: InjectionInput): InjectionPlan | null {
  const exchangeMs = INJECT_BYTES * p.byteMs + 1.5 * p.turnaroundMs;
  const margin = Math.max(MIN_MARGIN_MS, MARGIN_FRACTION * p.quiet);
  const lead = Math.min(p.minGapMs, p.quiet - exchangeMs - margin);
  if (lead < (p.afterTrigger ? LEAD_AFTER_TRIGGER_MS : LEAD_AFTER_OTHER_MS)) return null;
  return { sendAt: p.end + lead, windowEnd: p.end + p.quiet - margin / 2 };
}

/** Key helpers shared with the engine: "t:<addr>:<kind>" triggers, "f:<addr>:<kind>" data frames. */
export const gapKey = {
  trigger: (address: number, kind: string) => `t:${address}:${kind}`,
  frame: (address: number | null, kind: string) => `f:${address ?? '?'}:${kind}`,
  other: (type: string, address: number) => `${type}:${address}`,
};

function isAnswerTo(key: string, prev: string): boolean {
  return prev.startsWith('t:') && key.startsWith('f:') && key.slice(2) === prev.slice(2);
}

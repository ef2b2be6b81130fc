/**
 * Learns a JK master's rhythm from the traffic it sees, so that a third party can talk in the
 * master's quiet gaps without colliding (docs/protocol.md §6.2 for the master's cycle, §6.3 for
 * talking in its gaps).
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

  /**
   * A foreign message occupied the wire from `start` to `end` (clock ms). `trusted`: its times
   * are right (false when a busy event loop may have handed it over late: the silence before it
   * is then not learned).
   */
  message(key: string, start: number, end: number, trusted = true): void {
    const prev = this.open;
    if (prev && trusted) {
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

  /**
   * The typical recent slave turnaround (trigger end → first answer byte; the median, so that
   * one answer handed over late by a busy event loop does not count), ms.
   */
  turnaroundMs(): number {
    if (!this.turnarounds.length) return DEFAULT_TURNAROUND_MS;
    const s = [...this.turnarounds].sort((a, b) => a - b);
    return s[s.length >> 1]!;
  }

  /** Keys with samples (diagnostics). */
  get keys(): number {
    return this.byKey.size;
  }

  /** The event loop stalled: the silence after the last message cannot be measured. */
  interrupt(): void {
    this.open = null;
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
  /**
   * How long one of our exchanges takes, from our send to its answer's last byte, as measured;
   * the computed wire time (trigger, 1.5 × turnaround, 310-byte answer) when larger or unknown.
   */
  exchangeMs?: number;
  /** Added to the safety margin (the event loop's lateness, a message's staleness, the link's jitter), ms. */
  extraMarginMs?: number;
}

export interface InjectionPlan {
  /** When to transmit. */
  sendAt: number;
  /** When the master is expected to talk again (end + quiet). */
  gapEnd: number;
  /**
   * Our exchange must be complete by then: gapEnd less half the safety margin and the extra
   * margin. The other half is slack for the decision at the moment of sending.
   */
  windowEnd: number;
  /** The exchange duration the plan was made with, ms. */
  exchangeMs: number;
}

/**
 * Where one request fits into a master's quiet gap, or null when it does not: start after a
 * lead of up to minGapMs and finish (trigger, 1.5 × turnaround, 310-byte answer — or the
 * measured exchange when longer) with a margin of max(20 ms, 10 % of the gap), plus the
 * extra margin, before the master's next transmission.
 */
export function planInjection(p: InjectionInput): InjectionPlan | null {
  const exchangeMs = Math.max(INJECT_BYTES * p.byteMs + 1.5 * p.turnaroundMs, p.exchangeMs ?? 0);
  const base = Math.max(MIN_MARGIN_MS, MARGIN_FRACTION * p.quiet);
  const extra = p.extraMarginMs ?? 0;
  const lead = Math.min(p.minGapMs, p.quiet - exchangeMs - base - extra);
  if (lead < (p.afterTrigger ? LEAD_AFTER_TRIGGER_MS : LEAD_AFTER_OTHER_MS)) return null;
  const gapEnd = p.end + p.quiet;
  return { sendAt: p.end + lead, gapEnd, windowEnd: gapEnd - base / 2 - extra, exchangeMs };
}

/** Why an injection planned earlier is not sent now. */
export type InjectionVerdict = 'send' | 'bytes-arrived' | 'loop-busy' | 'window-closed';

/**
 * The decision at the moment of sending (after the input that was waiting has been handed
 * over): send only if nothing was heard since the gap began, the event loop has been
 * responsive (its timing can be trusted), and what is left of the gap — measured from now,
 * not from when the timer was meant to fire — still holds the whole exchange before the
 * plan's window end (which keeps the margin free before the master's next transmission).
 */
export function injectionVerdict(d: {
  now: number;
  plan: Pick<InjectionPlan, 'windowEnd' | 'exchangeMs'>;
  /** The last byte heard when the gap was planned, and now; bytes held by the framer. */
  heardAt: number;
  lastRxAt: number;
  buffered: number;
  /** The loop's timing is trustworthy (LoopWatch.fresh). */
  fresh: boolean;
}): InjectionVerdict {
  if (d.lastRxAt !== d.heardAt || d.buffered > 0) return 'bytes-arrived';
  if (!d.fresh) return 'loop-busy';
  if (d.now + d.plan.exchangeMs > d.plan.windowEnd + 1e-9) return 'window-closed';
  return 'send';
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

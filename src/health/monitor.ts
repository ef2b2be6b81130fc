import type { LivePayload } from '../protocol/types';
import { median } from './ends';
import { round } from './findings';
import { PackHealth, parsePackHealth, type PackHealthSnapshot } from './pack';
import { DEFAULT_HEALTH_OPTIONS, type BankHealthPayload, type BankPackHealth, type Finding, type HealthOptions, type PackHealthPayload } from './types';
import { isPackAddress } from '../common/address';

/**
 * The health of a whole bus: one PackHealth per pack, and what only the bank shows — a pack
 * whose SOC drifts away from the others' (in a parallel bank they should stay together) or
 * whose SOH falls below theirs. Pure and clock-injected: every call takes the time (epoch ms).
 *
 * Packs are followed by serial number once it is known (a pack moved to another DIP address
 * keeps its statistics, another pack at the same address starts afresh); until then by
 * address. The state is bounded: at most MAX_PACKS packs (the longest unseen one goes first),
 * each of bounded size; snapshot() is plain JSON for node context, parseHealthSnapshot() reads
 * it back and drops whatever is not well-formed.
 */

/** Packs remembered at most (16 addresses, and as many packs that were moved or replaced). */
export const MAX_PACKS = 32;
/** Another pack's SOC counts for the drift when its frame is at most this old, ms. */
const FRESH_MS = 120_000;
/** A gap longer than this adds only this much to the SOC-drift average, ms. */
const DRIFT_STEP_MS = 600_000;
/** Another pack's SOH counts when its frame is at most this old, ms. */
const SOH_FRESH_MS = 86_400_000;

interface Drift {
  offset: number;
  hours: number;
  at: number;
}

export interface HealthSnapshot {
  version: 1;
  packs: PackHealthSnapshot[];
  /** [address, pack key] of the packs at an address now. */
  addresses: [number, string][];
  drift: [string, Drift][];
}

const keyOf = (address: number, serial: string | null): string => (serial ? `sn:${serial}` : `@${address}`);

/** Options over the defaults; throws a RangeError naming a bad one. */
export function resolveHealthOptions(input: Partial<HealthOptions> = {}): HealthOptions {
  const out = { ...DEFAULT_HEALTH_OPTIONS };
  for (const [k, v] of Object.entries(input ?? {})) {
    if (v === undefined) continue;
    if (!Object.hasOwn(DEFAULT_HEALTH_OPTIONS, k)) throw new RangeError(`unknown health option "${k}"`);
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new RangeError(`health option ${k} must be a number ≥ 0, got ${JSON.stringify(v)}`);
    out[k as keyof HealthOptions] = v;
  }
  if (!(out.windowS > 0 && out.maxGapS > 0 && out.halfLifeDays > 0 && out.socDriftHours > 0 && out.windowFrames >= 3)) {
    throw new RangeError('health options windowS, maxGapS, halfLifeDays and socDriftHours must be above 0, windowFrames at least 3');
  }
  if (!Number.isInteger(out.endsKept) || out.endsKept < 1 || out.endsKept > 100) throw new RangeError(`health option endsKept must be a whole number 1–100, got ${out.endsKept}`);
  return out;
}

export class HealthMonitor {
  readonly options: HealthOptions;
  private readonly packs = new Map<string, PackHealth>();
  private readonly at = new Map<number, string>();
  private readonly drift = new Map<string, Drift>();

  constructor(options: Partial<HealthOptions> = {}, stored: HealthSnapshot | null = null) {
    this.options = resolveHealthOptions(options);
    if (stored) {
      for (const p of stored.packs) this.packs.set(keyOf(p.address, p.serialNumber), new PackHealth(p, this.options));
      for (const [address, key] of stored.addresses) if (this.packs.has(key)) this.at.set(address, key);
      for (const [key, d] of stored.drift) if (this.packs.has(key)) this.drift.set(key, { ...d });
    }
  }

  /** Packs remembered (at an address now or not). */
  get size(): number {
    return this.packs.size;
  }

  /**
   * A live frame of the pack at `address`; `serialNumber` from its identity when known.
   * Returns false (and changes nothing) when the payload has no usable cells or figures.
   */
  frame(address: number, live: LivePayload, now: number, serialNumber: string | null = null): boolean {
    if (!isPackAddress(address) || !Number.isFinite(now)) return false;
    if (!usable(live)) return false;
    const pack = this.packFor(address, serialNumber || null, live.cells.length);
    pack.add(now, live);
    this.updateDrift(keyOf(pack.address, pack.serialNumber), pack, now);
    return true;
  }

  /** The report of every pack at an address now, by address. */
  packReports(now: number): PackHealthPayload[] {
    return [...this.at.entries()]
      .sort(([a], [b]) => a - b)
      .map(([, key]) => this.packs.get(key)!.report(now));
  }

  /** The bank's report; `packs`: the pack reports of the same moment (computed when not given). */
  bankReport(now: number, packs: PackHealthPayload[] = this.packReports(now)): BankHealthPayload {
    const o = this.options;
    const lines: BankPackHealth[] = [];
    const findings: Finding[] = packs.flatMap((p) => p.findings);
    const bankFindings: Finding[] = [];
    for (const [address, key] of [...this.at.entries()].sort(([a], [b]) => a - b)) {
      const p = this.packs.get(key)!;
      const others = this.others(key, now, SOH_FRESH_MS)
        .map((x) => x.soh)
        .filter((x): x is number => x !== null);
      const sohOffset = p.soh !== null && others.length ? round(p.soh - median(others), 1) : null;
      const d = this.drift.get(key);
      const socOffset = d ? round(d.offset, 1) : null;
      lines.push({ address, serialNumber: p.serialNumber, soc: p.soc, soh: p.soh, socOffset, sohOffset });
      const base = { address, serialNumber: p.serialNumber, cell: null };
      if (d && d.hours >= o.socDriftHours && Math.abs(d.offset) >= o.socDriftPct) {
        bankFindings.push({ ...base, kind: 'soc', value: round(d.offset, 1), unit: '%',
          text: `pack ${address}: SOC ${Math.abs(d.offset).toFixed(0)} % ${d.offset < 0 ? 'below' : 'above'} the other packs (${o.socDriftHours} h average) — parallel packs should stay together: check its cables, fuse and connections, or charge the bank to full to recalibrate` });
      }
      if (sohOffset !== null && sohOffset <= -o.sohDriftPct) {
        bankFindings.push({ ...base, kind: 'soh', value: sohOffset, unit: '%',
          text: `pack ${address}: SOH ${p.soh} %, ${Math.abs(sohOffset).toFixed(0)} % below the other packs — it ages faster than they do` });
      }
    }
    const all = [...findings, ...bankFindings];
    return { type: 'health-bank', packs: lines, findings: all, problem: all.length > 0, ts: now };
  }

  /** Forget the statistics of the pack at `address`, or of every pack. Returns whether anything was forgotten. */
  reset(address?: number): boolean {
    if (address === undefined) {
      const any = this.packs.size > 0;
      this.packs.clear();
      this.at.clear();
      this.drift.clear();
      return any;
    }
    const key = this.at.get(address);
    if (!key) return false;
    this.packs.delete(key);
    this.at.delete(address);
    this.drift.delete(key);
    return true;
  }

  snapshot(): HealthSnapshot {
    return {
      version: 1,
      packs: [...this.packs.values()].map((p) => p.snapshot()),
      addresses: [...this.at.entries()],
      drift: [...this.drift.entries()].map(([k, d]) => [k, { ...d }]),
    };
  }

  private packFor(address: number, serial: string | null, cells: number): PackHealth {
    let key = this.at.get(address);
    if (serial) {
      const want = keyOf(address, serial);
      if (key && key !== want && key === keyOf(address, null) && !this.packs.has(want)) {
        // The serial number of the pack at this address is now known: its statistics carry over.
        const p = this.packs.get(key)!;
        this.packs.delete(key);
        p.serialNumber = serial;
        this.packs.set(want, p);
        const d = this.drift.get(key);
        this.drift.delete(key);
        if (d) this.drift.set(want, d);
      } else if (key && key !== want && key === keyOf(address, null)) {
        this.packs.delete(key);
        this.drift.delete(key);
      }
      key = want;
      for (const [a, k] of this.at) if (k === want && a !== address) this.at.delete(a);
      this.at.set(address, want);
    } else if (!key) {
      key = keyOf(address, null);
      this.at.set(address, key);
    }
    let pack = this.packs.get(key);
    if (!pack || pack.cellCount !== cells) {
      pack = PackHealth.fresh(address, serial, cells, this.options);
      this.packs.set(key, pack);
      this.drift.delete(key);
      this.evict();
    }
    pack.address = address;
    return pack;
  }

  private evict(): void {
    if (this.packs.size <= MAX_PACKS) return;
    const placed = new Set(this.at.values());
    const spare = [...this.packs.entries()].filter(([k]) => !placed.has(k)).sort(([, a], [, b]) => (a.lastAt ?? 0) - (b.lastAt ?? 0));
    for (const [k] of spare.slice(0, this.packs.size - MAX_PACKS)) {
      this.packs.delete(k);
      this.drift.delete(k);
    }
  }

  /** The other packs at an address whose last frame is at most `freshMs` old. */
  private others(key: string, now: number, freshMs: number): PackHealth[] {
    const out: PackHealth[] = [];
    for (const k of this.at.values()) {
      if (k === key) continue;
      const p = this.packs.get(k);
      if (p && p.lastAt !== null && now - p.lastAt <= freshMs && now >= p.lastAt) out.push(p);
    }
    return out;
  }

  /** Average this pack's SOC minus the others' median over `socDriftHours`. */
  private updateDrift(key: string, pack: PackHealth, now: number): void {
    const others = this.others(key, now, FRESH_MS)
      .map((p) => p.soc)
      .filter((x): x is number => x !== null);
    if (!others.length || pack.soc === null) return;
    const diff = pack.soc - median(others);
    const d = this.drift.get(key);
    if (!d) {
      this.drift.set(key, { offset: diff, hours: 0, at: now });
      return;
    }
    const dt = Math.min(DRIFT_STEP_MS, Math.max(0, now - d.at));
    const a = 1 - Math.exp(-dt / (this.options.socDriftHours * 3600_000));
    d.offset += a * (diff - d.offset);
    d.hours = Math.min(1e6, d.hours + dt / 3600_000);
    d.at = now;
  }
}

function usable(live: LivePayload): boolean {
  if (!live || live.type !== 'live' || !Array.isArray(live.cells)) return false;
  const n = live.cells.length;
  if (n < 2 || n > 32 || !live.cells.every((v) => typeof v === 'number' && Number.isFinite(v))) return false;
  return [live.current, live.soc].every((v) => typeof v === 'number' && Number.isFinite(v)) && (live.soh === undefined || live.soh === null || Number.isFinite(live.soh));
}

/** A stored state read back from node context, or null when it is not one; malformed packs are dropped. */
export function parseHealthSnapshot(value: unknown, options: Partial<HealthOptions> = {}): HealthSnapshot | null {
  if (!value || typeof value !== 'object') return null;
  const v = value as Record<string, unknown>;
  if (v.version !== 1 || !Array.isArray(v.packs) || !Array.isArray(v.addresses) || !Array.isArray(v.drift)) return null;
  const o = resolveHealthOptions(options);
  const packs = v.packs.map((p) => parsePackHealth(p, o)).filter((p): p is PackHealthSnapshot => p !== null).slice(0, MAX_PACKS);
  const keys = new Set(packs.map((p) => keyOf(p.address, p.serialNumber)));
  const addresses = v.addresses.filter(
    (x): x is [number, string] => Array.isArray(x) && isPackAddress(x[0]) && typeof x[1] === 'string' && keys.has(x[1]),
  );
  const drift = v.drift.filter((x): x is [string, Drift] => {
    if (!Array.isArray(x) || typeof x[0] !== 'string' || !keys.has(x[0]) || !x[1] || typeof x[1] !== 'object') return false;
    const d = x[1] as Record<string, unknown>;
    return [d.offset, d.hours, d.at].every((n) => typeof n === 'number' && Number.isFinite(n));
  });
  return { version: 1, packs, addresses: addresses.map(([a, k]) => [a, k]), drift: drift.map(([k, d]) => [k, { offset: d.offset, hours: d.hours, at: d.at }]) };
}

/**
 * Energy counters by key (the Home Assistant bridge keys them by device id), kept as snapshots
 * for storage in node context. Pure: the owner persists `toJSON()` when `onChange` fires.
 *
 * - `open(key)` gives an integrator continuing the stored counter of that key.
 * - `absorb(key, into)` moves a stored counter into another integrator and forgets it (the energy
 *   counted under a provisional id, carried over to the pack's serial id).
 * - `merge(stored, attached)` adds counters read back late from an asynchronous store: a key in
 *   use gets them added to its running integrator, the others are kept as they are.
 */
import { EnergyIntegrator, type EnergySnapshot, parseEnergy } from './integrator';

export class EnergyStore {
  private readonly snapshots = new Map<string, EnergySnapshot>();

  constructor(
    private readonly maxGapMs: number,
    private readonly onChange: () => void,
  ) {}

  /** An integrator continuing the stored counter of `key` (zero when there is none). */
  open(key: string): EnergyIntegrator {
    return new EnergyIntegrator(this.maxGapMs, this.snapshots.get(key));
  }

  /** A fresh integrator, not tied to a key yet. */
  fresh(): EnergyIntegrator {
    return new EnergyIntegrator(this.maxGapMs);
  }

  /** Store the state of an integrator under `key`. */
  save(key: string, integrator: EnergyIntegrator): void {
    this.snapshots.set(key, integrator.snapshot());
    this.onChange();
  }

  /** Add the stored counter of `key` to `into` and forget it; false when there is none. */
  absorb(key: string, into: EnergyIntegrator): boolean {
    const s = this.snapshots.get(key);
    if (!s) return false;
    into.absorb(s);
    this.snapshots.delete(key);
    this.onChange();
    return true;
  }

  /** Forget the stored counter of `key` (it was carried over elsewhere). */
  forget(key: string): void {
    if (this.snapshots.delete(key)) this.onChange();
  }

  /** Merge counters read back from storage; `attached(key)` is the running integrator of that key, if any. */
  merge(stored: unknown, attached: (key: string) => EnergyIntegrator | undefined): void {
    if (!stored || typeof stored !== 'object') return;
    for (const [key, raw] of Object.entries(stored as Record<string, unknown>)) {
      const snap = parseEnergy(raw);
      if (!snap) continue;
      const running = attached(key);
      if (running) {
        running.absorb(snap);
        this.snapshots.set(key, running.snapshot());
      } else {
        this.snapshots.set(key, snap);
      }
    }
    this.onChange();
  }

  toJSON(): Record<string, EnergySnapshot> {
    return Object.fromEntries([...this.snapshots].map(([k, s]) => [k, { ...s }]));
  }
}

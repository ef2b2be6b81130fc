import { DailyProfile, resolveDailyProfile, type DailyProfileOptions } from './profile';
import type { Rng } from './rng';

/**
 * Packs in parallel on one bus bar, as a real bank: one bus voltage for all of them, and the
 * bank's current (what the inverter asks: the daily profile, or a fixed current) split between
 * the packs by their open-circuit voltage and resistance — a fuller pack takes less charge and
 * gives more, a pack whose BMS has switched charging off takes none, and at rest the packs
 * even out between themselves. While charging, the inverter holds the bus at the packs'
 * requested charge voltage (cell count × "cell request charge voltage"), so the current tapers
 * at the top like a real absorption phase.
 *
 * Every pack of the bank steps together on the bank's schedule; a pack asked for its data
 * advances the whole bank (PackModel.advance delegates here).
 */

/** What the bank needs from a pack (PackModel implements it). */
export interface BankMember {
  readonly address: number;
  /** Σ open-circuit cell voltages, V. */
  emf(): number;
  /** Σ cell resistances, Ω. */
  cellResistance(): number;
  /** How fast the EMF rises with charge, V/Ah. */
  emfSlope(): number;
  readonly cellCount: number;
  /** Full charge (design × SOH), Ah. */
  readonly fullChargeAh: number;
  /** The BMS's SOC, %. */
  bmsSoc(): number;
  /** Charge / discharge MOS allowed by the settings and the protections. */
  canCharge(): boolean;
  canDischarge(): boolean;
  /** A current fixed with setCurrent(), or null. */
  pinnedCurrent(): number | null;
  maxChargeA(): number;
  maxDischargeA(): number;
  /** The charge voltage the BMS asks of the inverter, V. */
  chargeVoltage(): number;
  /** Run one step carrying `amps`. */
  stepWith(amps: number): void;
}

export interface SimBankOptions {
  /** What the inverter does: 'daily' (default) a household day, or daily-profile options, or 'idle' (0 A until setCurrent). */
  profile?: 'daily' | 'idle' | Partial<DailyProfileOptions>;
  /** Resistance of each pack's BMS, fuse and cables up to the common bus bar, Ω (default 0.002). */
  linkOhm?: number;
}

export interface BankState {
  /** Bus voltage, V (null while no pack is connected). */
  voltage: number | null;
  /** Total current, A (+ = charging). */
  current: number;
  /** Current of each pack, A, by address. */
  packs: Record<number, number>;
}

/** Resolve and check the bank options; throws a RangeError naming a bad value. */
export function resolveBankOptions(input: boolean | SimBankOptions | undefined): { profile: DailyProfileOptions | null; linkOhm: number } | null {
  if (input === undefined || input === false) return null;
  const o: SimBankOptions = input === true ? {} : input;
  if (!o || typeof o !== 'object') throw new RangeError(`bank must be true or an object of bank options, got ${JSON.stringify(input)}`);
  const linkOhm = o.linkOhm ?? 0.002;
  if (typeof linkOhm !== 'number' || !Number.isFinite(linkOhm) || linkOhm < 0.0001 || linkOhm > 1) {
    throw new RangeError(`bank.linkOhm must be 0.0001–1 Ω, got ${JSON.stringify(o.linkOhm)}`);
  }
  const p = o.profile ?? 'daily';
  if (p !== 'daily' && p !== 'idle' && (typeof p !== 'object' || p === null)) {
    throw new RangeError(`bank.profile must be 'daily', 'idle' or daily-profile options, got ${JSON.stringify(p)}`);
  }
  const profile = p === 'idle' ? null : resolveDailyProfile(p === 'daily' ? {} : p);
  return { profile, linkOhm };
}

export class SimBank {
  private members: BankMember[];
  private readonly profile: DailyProfile | null;
  private nextStep: number;
  private fixed: number | null = null;
  private state: BankState = { voltage: null, current: 0, packs: {} };
  private readonly linkOhm: number;

  constructor(
    members: BankMember[],
    options: { profile: DailyProfileOptions | null; linkOhm: number },
    rng: Rng,
    private readonly t0: number,
    readonly stepMs: number,
    /** Simulated seconds per clock second. */
    readonly speed = 1,
  ) {
    this.members = [...members];
    const counts = new Set(members.map((m) => m.cellCount));
    if (counts.size > 1) {
      throw new RangeError(`packs in parallel need the same number of cells; got ${members.map((m) => `pack ${m.address}: ${m.cellCount}`).join(', ')}`);
    }
    this.linkOhm = options.linkOhm;
    this.profile = options.profile ? new DailyProfile(options.profile, rng) : null;
    this.nextStep = t0;
  }

  /** Run every step due up to `now`. */
  advance(now: number): void {
    while (this.nextStep <= now) this.step();
  }

  /** Fixed bank current in A (+ = charging), or null to follow the profile again. */
  setCurrent(amps: number | null): void {
    if (amps !== null && !Number.isFinite(amps)) throw new RangeError(`bank current must be a finite number of A, got ${amps}`);
    this.fixed = amps;
  }

  /** Bus voltage and currents of the last step. */
  get last(): BankState {
    return { voltage: this.state.voltage, current: this.state.current, packs: { ...this.state.packs } };
  }

  /** Hour of the simulated day at the last step (null without a daily profile). */
  get hour(): number | null {
    return this.profile ? this.profile.hourAt(((this.nextStep - this.stepMs - this.t0) / 1000) * this.speed) : null;
  }

  /** Another board takes a member's place (BusSimulator.replacePack). */
  replace(old: BankMember, next: BankMember): void {
    const i = this.members.indexOf(old);
    if (i >= 0) this.members[i] = next;
    else this.members.push(next);
  }

  private step(): void {
    const dtS = (this.stepMs / 1000) * this.speed;
    const tS = ((this.nextStep - this.t0) / 1000) * this.speed;
    this.nextStep += this.stepMs;
    const packs = this.members;
    let capacity = 0;
    let socAh = 0;
    let maxCharge = 0;
    let maxDischarge = 0;
    for (const p of packs) {
      capacity += p.fullChargeAh;
      socAh += (p.bmsSoc() * p.fullChargeAh) / 100;
      if (p.canCharge()) maxCharge += p.maxChargeA();
      if (p.canDischarge()) maxDischarge += p.maxDischargeA();
    }
    const asked =
      this.fixed ??
      (this.profile
        ? this.profile.current(tS, dtS, { capacityAh: capacity, soc: capacity > 0 ? (socAh / capacity) * 100 : 0, maxChargeA: maxCharge, maxDischargeA: maxDischarge })
        : 0);
    const currents = this.split(asked, dtS);
    let total = 0;
    const byAddress: Record<number, number> = {};
    packs.forEach((p, k) => {
      p.stepWith(currents.amps[k]!);
      total += currents.amps[k]!;
      byAddress[p.address] = currents.amps[k]!;
    });
    this.state = { voltage: currents.voltage, current: total, packs: byAddress };
  }

  /**
   * Share `asked` A between the packs: pinned packs carry their own current, the others sit on
   * one bus voltage V with I_k = (V − E_k) / R_k; a pack whose BMS blocks the direction of its
   * share drops out (0 A) and the rest is solved again. While charging, V stays at or below
   * the lowest charge voltage the packs request.
   *
   * Semi-implicit: over a step of `dtS` a pack's EMF moves by its slope × the charge it takes,
   * so each pack counts with R + slope · dt (Ω) — stable at any step, even at the steep top of
   * the curve, where a pack evens out with the bus within seconds.
   */
  private split(asked: number, dtS: number): { amps: number[]; voltage: number | null } {
    const packs = this.members;
    const amps = packs.map(() => 0);
    const e = packs.map((p) => p.emf());
    const r = packs.map((p) => p.cellResistance() + this.linkOhm + (Math.max(0, p.emfSlope()) * dtS) / 3600);
    let rest = asked;
    const active = new Set<number>();
    packs.forEach((p, k) => {
      const pin = p.pinnedCurrent();
      if (pin === null) active.add(k);
      else {
        amps[k] = pin;
        rest -= pin;
      }
    });
    const cv = packs.reduce((v, p) => Math.min(v, p.chargeVoltage()), Infinity);
    let voltage: number | null = null;
    for (let round = 0; round <= packs.length && active.size > 0; round++) {
      let g = 0;
      let s = 0;
      for (const k of active) {
        g += 1 / r[k]!;
        s += e[k]! / r[k]!;
      }
      let v = (rest + s) / g;
      // The charger holds the bus at the charge voltage; above it (packs evening out) it gives nothing.
      if (rest > 0 && v > cv) v = Math.max(cv, s / g);
      voltage = v;
      let dropped = false;
      for (const k of [...active]) {
        const i = (v - e[k]!) / r[k]!;
        amps[k] = i;
        if ((i > 0 && !packs[k]!.canCharge()) || (i < 0 && !packs[k]!.canDischarge())) {
          amps[k] = 0;
          active.delete(k);
          dropped = true;
        }
      }
      if (!dropped) break;
    }
    if (voltage === null && packs.length) voltage = e.reduce((a, b) => a + b, 0) / packs.length;
    return { amps, voltage };
  }
}

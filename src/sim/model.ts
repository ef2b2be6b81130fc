import { ALARMS, type BalancingState, type ChargeStage, type InfoPayload, type LivePayload, type SettingsPayload } from '../protocol';
import type { BankMember, SimBank } from './bank';
import { CellSet } from './cells';
import { MODELS, defaultInfo, defaultSettings, type PackModelName } from './defaults';
import { checkOptions, type CurrentProfile, type SimPackOptions } from './pack-options';
import { Protections } from './protections';
import type { Rng } from './rng';
import { Thermal } from './thermal';
import { HIGH_CELL_V, Tour, TOUR_BALANCE_START_V } from './tour';

/**
 * The electrical and thermal state of one simulated pack, evolving in fixed steps of
 * `STEP_MS` on the simulator's clock. Steps sit on fixed boundaries from the pack's start and
 * draw from the pack's own seeded stream, so the state at a given time does not depend on how
 * often (or whether) anyone looked at it.
 *
 * Per step: the current follows the pack's profile (a slow sine around an offset, plus noise)
 * or a fixed value, limited by what the BMS allows (charge/discharge switches, protections,
 * taper near full, nothing left when empty); remaining Ah integrates it; every cell is its own
 * (src/sim/cells.ts: capacity, resistance and charge of its own, voltage = open-circuit voltage
 * at its SOC + I·R + reading noise); in a bank (src/sim/bank.ts) the BMS sets its SOC to 100 % /
 * 0 % when a cell reaches the SOC-100 % / SOC-0 % voltage of the settings; the
 * active balancer moves charge from the highest cell to the lowest while it runs; the MOS and
 * cell sensors warm with current (src/sim/thermal.ts); protections trip and release like the real thresholds in
 * the settings (src/sim/protections.ts: cell OVP/UVP, MOS OTP, charge/discharge over-current
 * with their delays and recovery times) and show in the alarm word.
 */

/** Default step; `stepS` changes it (a coarse step runs a simulated year quickly). */
export const STEP_MS = 1000;

export type { CurrentProfile, SimPackOptions } from './pack-options';

const DEFAULT_PROFILE: CurrentProfile = { offsetA: 0, amplitudeA: 30, periodS: 3600, noiseA: 0.3 };

/** Round to a frame's resolution (never −0, so the value round-trips exactly). */
const q = (v: number, per: number) => Math.round(v * per) / per || 0;

export class PackModel implements BankMember {
  settings: SettingsPayload;
  readonly info: InfoPayload;
  readonly model: PackModelName;
  private readonly maxBalanceA: number;
  private readonly profile: CurrentProfile;
  private readonly phase: number;
  private fixedCurrent: number | null = null;
  private readonly tour: Tour | null;
  private nextStep: number;
  private steps = 0;
  private readonly stepMs: number;
  /** Simulated seconds per step (the step times the simulator's speed). */
  private readonly dtS: number;
  /** The parallel bank this pack belongs to (src/sim/bank.ts), which then runs its steps. */
  bank: SimBank | null = null;

  // Electrical state.
  private current = 0;
  private remainingAh: number;
  private readonly cellSet: CellSet;
  private wireRes: number[] = [];
  private cells: number[] = [];
  private balancing: BalancingState = 'off';
  private balancingA = 0;
  private readonly soh: number;
  private readonly cycles0: number;
  private dischargedAh: number;
  private stage: ChargeStage = 'bulk';
  private stageSince = 0;

  // Thermal state (src/sim/thermal.ts).
  private readonly thermal: Thermal;

  // Protections and alarms (src/sim/protections.ts).
  private readonly protections = new Protections();

  // Counters, s.
  private readonly runtime0: number;
  private readonly rtc0: number;
  private readonly logCount: number;

  constructor(
    readonly address: number,
    options: SimPackOptions,
    private readonly rng: Rng,
    private readonly t0: number,
  ) {
    const { model, cellCount, capacity, stepMs, speed, spread, tour } = checkOptions(address, options);
    this.stepMs = stepMs;
    this.dtS = (stepMs / 1000) * speed;
    this.tour = tour ? new Tour(tour) : null;
    this.model = model;
    this.maxBalanceA = MODELS[model].maxBalanceA;
    this.settings = defaultSettings(address, cellCount, capacity);
    if (this.tour) this.settings.balanceStartVoltage = TOUR_BALANCE_START_V;
    this.info = defaultInfo(address, model, rng);
    this.profile = { ...DEFAULT_PROFILE, ...options.profile };
    this.phase = rng.range(0, 2 * Math.PI);
    this.soh = Math.max(1, Math.round(rng.int(95, 100) * (1 + (options.capacityPct ?? 0) / 100)));
    this.remainingAh = (capacity * this.soh * (options.soc ?? rng.range(40, 80))) / 10_000;
    this.cycles0 = rng.int(5, 400);
    this.dischargedAh = 0;
    this.thermal = new Thermal(options.ambientC ?? rng.range(20, 28), rng);
    this.runtime0 = rng.int(200, 700) * 86_400 + rng.int(0, 86_399);
    this.rtc0 = rng.int(4, 6) * 31_536_000 + rng.int(0, 31_535_999);
    this.logCount = rng.int(0, 500);
    this.cellSet = new CellSet(rng.fork('cells'), 0, this.fullChargeAh, this.soc(), spread, options.cellFaults ?? []);
    this.resizeCells(cellCount);
    this.nextStep = t0;
    this.step();
  }

  /** Design capacity times SOH, Ah. */
  get fullChargeAh(): number {
    return (this.settings.nominalCapacityAh * this.soh) / 100;
  }

  /** Seconds since the pack (simulator) started, at the last step. */
  get elapsedS(): number {
    return (this.steps - 1) * this.dtS;
  }

  /** Run every step due up to `now` (the whole bank's, in a bank). */
  advance(now: number): void {
    if (this.bank) this.bank.advance(now);
    else while (this.nextStep <= now) this.step();
  }

  /** Fixed current in A (+ charge), or null to follow the profile again. */
  setCurrent(amps: number | null): void {
    if (amps !== null && !Number.isFinite(amps)) throw new RangeError(`current must be a finite number of A, got ${amps}`);
    this.fixedCurrent = amps;
  }

  setSoc(percent: number): void {
    if (!Number.isFinite(percent) || percent < 0 || percent > 100) throw new RangeError(`SOC must be 0–100 %, got ${percent}`);
    this.remainingAh = (this.fullChargeAh * percent) / 100;
    this.cellSet.setSoc(percent);
    this.updateCells();
  }

  setAlarm(alarm: number | string, on: boolean): void {
    this.protections.setAlarm(alarm, on);
  }

  clearAlarms(): void {
    this.protections.clearManual();
  }

  /** Adopt new settings (after a write): the cell count and capacity take effect at once. */
  applySettings(next: SettingsPayload): void {
    const cellsChanged = next.cellCount !== this.settings.cellCount;
    const full = this.fullChargeAh;
    this.settings = { ...next, wireResistances: next.wireResistances.slice(0, next.cellCount) };
    while (this.settings.wireResistances.length < next.cellCount) this.settings.wireResistances.push(0);
    if (full > 0) this.remainingAh = (this.remainingAh * this.fullChargeAh) / full;
    this.cellSet.rescale(this.fullChargeAh);
    if (cellsChanged) {
      this.resizeCells(next.cellCount);
      this.updateCells();
    }
  }

  private resizeCells(n: number): void {
    while (this.wireRes.length < n) this.wireRes.push(q(this.rng.range(0.045, 0.09), 1000));
    this.wireRes.length = n;
    this.cellSet.resize(n, this.soc());
  }

  private soc(): number {
    const full = this.fullChargeAh;
    return full > 0 ? Math.min(100, Math.max(0, (this.remainingAh / full) * 100)) : 0;
  }

  private chargeAllowed(): boolean {
    return this.settings.chargingEnabled && !this.protections.chargeBlocked;
  }

  private dischargeAllowed(): boolean {
    return this.settings.dischargingEnabled && !this.protections.dischargeBlocked;
  }

  private step(): void {
    const t = ((this.nextStep - this.t0) / this.stepMs) * this.dtS;
    const p = this.profile;
    const asked = this.tour ? this.tour.current(t, this.soc(), this.settings) : p.offsetA + p.amplitudeA * Math.sin((2 * Math.PI * t) / p.periodS + this.phase);
    // The tour's rest must stay at rest (float): little noise.
    this.stepWith(this.fixedCurrent ?? asked + (this.tour ? Math.min(p.noiseA, 0.1) : p.noiseA) * this.rng.normal(), true);
  }

  /**
   * One step carrying what the load/charger asks for (`standalone`: the pack's own profile or
   * fixed current, tapered near full; else its share of a bank), limited by the BMS.
   */
  stepWith(asked: number, standalone = false): void {
    const dt = this.dtS;
    const t = ((this.nextStep - this.t0) / this.stepMs) * dt;
    this.nextStep += this.stepMs;
    this.steps += 1;

    let i = asked;
    const soc = this.soc();
    if (standalone && i > 0 && this.fixedCurrent === null && soc > 95) i *= (100 - soc) / 5;
    if (i > 0 && (!this.chargeAllowed() || (standalone && soc >= 100))) i = 0;
    if (i < 0 && (!this.dischargeAllowed() || (standalone && this.remainingAh <= 0))) i = 0;
    this.current = i;
    // The tour moves the charge faster than its current would (the cells with it).
    const warp = standalone && this.tour && this.fixedCurrent === null ? this.tour.warp(this.settings) : 1;
    this.remainingAh = Math.min(this.fullChargeAh, Math.max(0, this.remainingAh + (i * dt * warp) / 3600));
    if (i < 0) this.dischargedAh += (-i * dt * warp) / 3600;

    // The cells carry the current; the BMS recalibrates its SOC at the ends; the balancer works on the extremes.
    this.cellSet.flow(i, dt * warp);
    this.updateCells();
    if (!standalone) this.recalibrate(i);
    this.balance(dt);

    // Temperatures follow current with first-order lags.
    this.thermal.step(i, dt, this.rng);

    this.protect(dt);

    const stage: ChargeStage = soc < 97 ? 'bulk' : i > 0.5 ? 'absorption' : 'float';
    if (stage !== this.stage) {
      this.stage = stage;
      this.stageSince = t;
    }
  }

  private updateCells(): void {
    const cells = this.cellSet.voltages(this.current);
    // On the tour cell 1 reads a little high, as a slightly high cell does, so the balancer has work.
    if (this.tour && cells.length) cells[0] = q(cells[0]! + HIGH_CELL_V, 1000);
    this.cells = cells;
  }

  /**
   * In a bank: SOC 100 % when a cell reaches the SOC-100 % voltage while the charge current has
   * tapered (below 0.05 C: the end of absorption), 0 % at the SOC-0 % voltage while discharging.
   */
  private recalibrate(i: number): void {
    if (!this.cells.length) return;
    if (i > 0 && i < 0.05 * this.fullChargeAh && Math.max(...this.cells) >= this.settings.cellSoc100Voltage) this.remainingAh = this.fullChargeAh;
    else if (i < 0 && Math.min(...this.cells) <= this.settings.cellSoc0Voltage) this.remainingAh = 0;
  }

  private balance(dt: number): void {
    const s = this.settings;
    const max = Math.max(...this.cells);
    const min = Math.min(...this.cells);
    const delta = max - min;
    if (!s.balancingEnabled || !this.cells.length || delta < s.balanceTriggerVoltage || max < s.balanceStartVoltage) {
      this.balancing = 'off';
      this.balancingA = 0;
      return;
    }
    this.balancing = this.current < 0 ? 'discharge' : 'charge';
    this.balancingA = q(Math.min(s.maxBalanceCurrent, this.maxBalanceA, delta * 100), 1000);
    // Charge moves from the highest cell to the lowest.
    this.cellSet.transfer(this.cells.indexOf(max), this.cells.indexOf(min), (this.balancingA * dt) / 3600);
  }

  private protect(dt: number): void {
    const ask = this.fixedCurrent ?? this.current;
    this.protections.update(this.settings, Math.max(...this.cells), Math.min(...this.cells), this.thermal.mosC, ask, dt);
  }

  // --- what a parallel bank needs (src/sim/bank.ts) ------------------------------------

  get cellCount(): number {
    return this.cells.length;
  }

  emf(): number {
    return this.cellSet.emf();
  }

  cellResistance(): number {
    return this.cellSet.totalResistance();
  }

  emfSlope(): number {
    return this.cellSet.emfSlope();
  }

  bmsSoc(): number {
    return this.soc();
  }

  canCharge(): boolean {
    return this.chargeAllowed();
  }

  canDischarge(): boolean {
    return this.dischargeAllowed();
  }

  pinnedCurrent(): number | null {
    return this.fixedCurrent;
  }

  maxChargeA(): number {
    return this.settings.maxChargeCurrent;
  }

  maxDischargeA(): number {
    return this.settings.maxDischargeCurrent;
  }

  chargeVoltage(): number {
    return this.settings.cellRequestChargeVoltage * this.settings.cellCount;
  }

  /** Live data as the pack would report it now (state of the last step). */
  live(): LivePayload {
    const cells = this.cells.slice();
    const mv = cells.map((c) => Math.round(c * 1000));
    const voltage = mv.reduce((a, b) => a + b, 0) / 1000;
    const current = q(this.current, 1000);
    const max = cells.length ? Math.max(...cells) : null;
    const min = cells.length ? Math.min(...cells) : null;
    const mask = this.protections.mask();
    const elapsed = this.elapsedS;
    const full = q(this.fullChargeAh, 1000);
    const cellAvg = cells.length ? q(mv.reduce((a, b) => a + b, 0) / mv.length / 1000, 1000) : 0;
    const alarms = ALARMS.filter((a) => (mask >>> a.bit) & 1).map((a) => a.name);
    return {
      type: 'live',
      address: this.address,
      voltage,
      current,
      power: (Math.sign(current) * q(Math.abs(voltage * current), 1000)) || 0,
      soc: Math.round(this.soc()),
      soh: this.soh,
      remainingAh: q(this.remainingAh, 1000),
      fullChargeAh: full,
      cycles: this.cycles0 + Math.floor(this.dischargedAh / Math.max(1, full)),
      cycleAh: q(this.cycles0 * full + this.dischargedAh, 1000),
      cells,
      cellCount: cells.length,
      cellMask: cells.length >= 32 ? 0xffffffff : (1 << cells.length) - 1,
      cellMin: min,
      cellMax: max,
      cellAvg,
      cellDelta: max !== null && min !== null ? q(max - min, 1000) : 0,
      cellMinIndex: min !== null ? cells.indexOf(min) + 1 : 1,
      cellMaxIndex: max !== null ? cells.indexOf(max) + 1 : 1,
      cellResistances: this.wireRes.slice(),
      wireResistanceAlarmMask: 0,
      temperatures: this.thermal.temperatures(),
      temperatureSensorMask: 0xff,
      balancingCurrent: this.balancingA,
      balancing: this.balancing,
      chargingMos: this.chargeAllowed(),
      dischargingMos: this.dischargeAllowed(),
      precharging: false,
      heating: false,
      heatingCurrent: 0,
      alarms,
      alarmMask: mask,
      userAlarm: 0,
      userAlarm2: 0,
      runtime: this.runtime0 + Math.floor(elapsed),
      dischargeOcpReleaseTime: Math.ceil(this.protections.dischargeOcpRelease),
      dischargeScpReleaseTime: 0,
      chargeOcpReleaseTime: Math.ceil(this.protections.chargeOcpRelease),
      chargeScpReleaseTime: 0,
      cellUvpReleaseTime: 0,
      cellOvpReleaseTime: 0,
      emergency: false,
      emergencyTime: 0,
      dischargeCurrentCorrection: 4096,
      chargeCurrentSensorVoltage: 0,
      dischargeCurrentSensorVoltage: 0,
      // Exactly representable in float32, so the frame round-trips.
      voltageCorrection: 3.0078125,
      balancerChargePwm: 0,
      balancerDischargePwm: this.balancing === 'off' ? 0 : 216,
      voltageLowRes: q(voltage, 100),
      chargerPlugged: current > 0,
      systemUptime: q(elapsed, 10),
      pvdTime: 0,
      rtcTime: this.rtc0 + Math.floor(elapsed),
      logCount: this.logCount,
      sleepCountdown: 86_400,
      pclActive: false,
      chemistryCode: 0,
      chargeStage: this.stage,
      chargeStageTime: Math.min(0xffff, Math.floor(elapsed - this.stageSince)),
      dry1: false,
      dry2: false,
    };
  }

  /** Device info now (cumulative run time moves on). */
  infoNow(): InfoPayload {
    return { ...this.info, uptime: this.runtime0 + Math.floor(this.elapsedS) };
  }
}

/**
 * The protections of a simulated pack (src/sim/model.ts): cell OVP/UVP and MOS OTP with their
 * trip and recovery thresholds, charge/discharge over-current with their delays and recovery
 * times — all from the pack's settings — plus the alarms set by hand. Together they make the
 * alarm word the pack reports and decide whether it may charge or discharge.
 */
import { ALARMS, type SettingsPayload } from '../protocol';

/** Bit number of an alarm given by number (0–31) or by name (protocol ALARMS); throws a RangeError otherwise. */
export function alarmBit(alarm: number | string): number {
  if (typeof alarm === 'number') {
    if (!Number.isInteger(alarm) || alarm < 0 || alarm > 31) throw new RangeError(`alarm bit must be 0–31, got ${alarm}`);
    return alarm;
  }
  const def = ALARMS.find((a) => a.name === alarm);
  if (!def) throw new RangeError(`unknown alarm "${alarm}"; known: ${ALARMS.map((a) => a.name).join(', ')}`);
  return def.bit;
}

const BIT = (name: string) => 1 << alarmBit(name);

interface Latch {
  on: boolean;
  /** Seconds the trip condition has held (for delayed trips). */
  pending: number;
  /** Seconds until release (timed recoveries). */
  release: number;
}

const latch = (): Latch => ({ on: false, pending: 0, release: 0 });

export class Protections {
  private manualAlarms = 0;
  private readonly ovp = latch();
  private readonly uvp = latch();
  private readonly mosOtp = latch();
  private readonly chargeOcp = latch();
  private readonly dischargeOcp = latch();

  /** Raise or clear one alarm by hand (bit number or name). */
  setAlarm(alarm: number | string, on: boolean): void {
    const bit = 1 << alarmBit(alarm);
    this.manualAlarms = (on ? this.manualAlarms | bit : this.manualAlarms & ~bit) >>> 0;
  }

  /** Clear the alarms set by hand (the protections keep their state). */
  clearManual(): void {
    this.manualAlarms = 0;
  }

  /** The alarm word: the alarms set by hand and the protections that hold. */
  mask(): number {
    let m = this.manualAlarms;
    if (this.ovp.on) m |= BIT('cellOvp');
    if (this.uvp.on) m |= BIT('cellUvp');
    if (this.mosOtp.on) m |= BIT('mosOtp');
    if (this.chargeOcp.on) m |= BIT('chargeOcp');
    if (this.dischargeOcp.on) m |= BIT('dischargeOcp');
    return m >>> 0;
  }

  /** A protection holds that stops charging (cell OVP, MOS OTP, charge over-current). */
  get chargeBlocked(): boolean {
    return this.ovp.on || this.mosOtp.on || this.chargeOcp.on;
  }

  /** A protection holds that stops discharging (cell UVP, MOS OTP, discharge over-current). */
  get dischargeBlocked(): boolean {
    return this.uvp.on || this.mosOtp.on || this.dischargeOcp.on;
  }

  /** Seconds until the charge over-current protection releases (0 when it does not hold). */
  get chargeOcpRelease(): number {
    return this.chargeOcp.release;
  }

  /** Seconds until the discharge over-current protection releases (0 when it does not hold). */
  get dischargeOcpRelease(): number {
    return this.dischargeOcp.release;
  }

  /**
   * One step of `dt` s: trip or release against the settings, given the highest and lowest
   * cell (V), the MOS temperature (°C) and the current asked of the pack (A, + charge).
   */
  update(s: SettingsPayload, maxCell: number, minCell: number, mosC: number, askedA: number, dt: number): void {
    threshold(this.ovp, maxCell >= s.cellOvp, maxCell <= s.cellOvpRecovery);
    threshold(this.uvp, minCell <= s.cellUvp, minCell >= s.cellUvpRecovery);
    threshold(this.mosOtp, mosC >= s.mosOtp, mosC <= s.mosOtpRecovery);
    timed(this.chargeOcp, askedA > s.maxChargeCurrent, s.chargeOcpDelay, s.chargeOcpRecoveryTime, dt);
    timed(this.dischargeOcp, -askedA > s.maxDischargeCurrent, s.dischargeOcpDelay, s.dischargeOcpRecoveryTime, dt);
  }
}

function threshold(l: Latch, trip: boolean, clear: boolean): void {
  if (!l.on && trip) l.on = true;
  else if (l.on && clear) l.on = false;
}

function timed(l: Latch, over: boolean, delayS: number, recoveryS: number, dt: number): void {
  if (l.on) {
    l.release = Math.max(0, l.release - dt);
    if (l.release === 0) l.on = false;
    return;
  }
  l.pending = over ? l.pending + dt : 0;
  if (over && l.pending >= delayS) {
    l.on = true;
    l.pending = 0;
    l.release = recoveryS;
  }
}

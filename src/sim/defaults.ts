import type { InfoPayload, SettingsPayload } from '../protocol';
import type { Rng } from './rng';

/**
 * Factory state of a simulated pack: the settings observed on a real slave (docs/protocol.md
 * §4.4) and device info shaped like real type-0x03 frames (docs/protocol.md §5.1). Each pack
 * gets its own serial number, manufacturing date, power-on count and cumulative run time, drawn
 * from its seeded stream; the serial number also embeds the address, so no two packs of one
 * simulator share it.
 */

/** Hardware variants (docs/protocol.md §1.4: PB2A16S-20P / -15P, PB1A16S-10P). */
export const MODELS = {
  'JK-PB2A16S20P': { maxCurrentA: 200, maxBalanceA: 2, hardware: '15A', software: '15.38' },
  'JK-PB2A16S15P': { maxCurrentA: 150, maxBalanceA: 2, hardware: '15A', software: '15.38' },
  'JK-PB1A16S10P': { maxCurrentA: 100, maxBalanceA: 1, hardware: '14.XA', software: '14.20' },
} as const;

export type PackModelName = keyof typeof MODELS;

/** The cells a PB "16S" board supports. */
export const MIN_CELLS = 4;
export const MAX_CELLS = 16;

export function defaultSettings(address: number, cellCount: number, capacityAh: number): SettingsPayload {
  return {
    type: 'settings',
    address,
    smartSleepVoltage: 3.5,
    cellUvp: 2.6,
    cellUvpRecovery: 2.65,
    cellOvp: 3.61,
    cellOvpRecovery: 3.448,
    balanceTriggerVoltage: 0.005,
    cellSoc100Voltage: 3.449,
    cellSoc0Voltage: 2.64,
    cellRequestChargeVoltage: 3.45,
    cellRequestFloatVoltage: 3.35,
    powerOffVoltage: 2.5,
    maxChargeCurrent: 25,
    chargeOcpDelay: 3,
    chargeOcpRecoveryTime: 60,
    maxDischargeCurrent: 200,
    dischargeOcpDelay: 300,
    dischargeOcpRecoveryTime: 60,
    scpRecoveryTime: 5,
    maxBalanceCurrent: 2,
    chargeOtp: 70,
    chargeOtpRecovery: 60,
    dischargeOtp: 70,
    dischargeOtpRecovery: 60,
    chargeUtp: -20,
    chargeUtpRecovery: -10,
    mosOtp: 100,
    mosOtpRecovery: 80,
    cellCount,
    chargingEnabled: true,
    dischargingEnabled: true,
    balancingEnabled: true,
    nominalCapacityAh: capacityAh,
    scpDelay: 0.0015,
    balanceStartVoltage: 3.45,
    wireResistances: new Array<number>(cellCount).fill(0),
    deviceAddress: address,
    prechargeTime: 5,
    // 0x0210: display always on (bit 4) + charging float mode (bit 9).
    switchMask: 0x0210,
    heatingEnabled: false,
    disableTemperatureSensors: false,
    gpsHeartbeat: false,
    portRs485: false,
    displayAlwaysOn: true,
    specialCharger: false,
    smartSleep: false,
    disablePclModule: false,
    timedStoredData: false,
    chargingFloatMode: true,
    emergencyButton: false,
    dryContactIntermittent: false,
    dischargeOcp2: false,
    dischargeOcp3: false,
    gpsLockedCharging: false,
    gpsLockedDischarging: false,
    heatingStartTemperature: 60,
    heatingStopTemperature: 50,
    smartSleepDelay: 24 * 3600,
    dataFieldEnable0: 0,
    dischargeUtp: -20,
    dischargeUtpRecovery: -10,
  };
}

/** Device info of one pack; `uptime` is filled in live by the pack. */
export function defaultInfo(address: number, model: PackModelName, rng: Rng): InfoPayload {
  const m = MODELS[model];
  const year = rng.int(23, 25);
  const month = rng.int(1, 12);
  const day = rng.int(1, 28);
  const two = (n: number) => String(n).padStart(2, '0');
  // 11 characters: YYMM + 5 random digits + the 2-digit address (unique within one bus).
  const serialNumber = `${two(year)}${two(month)}${String(rng.int(0, 99999)).padStart(5, '0')}${two(address)}`;
  const vendorId = model.replace('-', '_');
  return {
    type: 'info',
    address,
    vendorId,
    hardwareVersion: m.hardware,
    softwareVersion: m.software,
    uptime: 0,
    powerOnCount: rng.int(3, 250),
    deviceName: vendorId,
    devicePasscode: '1234',
    manufacturingDate: `${two(year)}${two(month)}${two(day)}`,
    serialNumber,
    userData: 'Input Userdata',
    setupPasscode: '123456',
    userData2: 'Input Userdata',
    uart1Protocol: 1,
    canProtocol: 4,
    uart1ProtocolEnable: 0x3cf,
    hardwareOption: '',
    canProtocolEnable: 0x7df,
    uart2Protocol: 1,
    uart2ProtocolEnable: 0,
    lcdBuzzerTrigger: 0,
    dry1Trigger: 11,
    dry2Trigger: 0,
    uartProtocolLibraryVersion: 1,
    lcdBuzzerTriggerValue: 0,
    lcdBuzzerReleaseValue: 0,
    dry1TriggerValue: 10,
    dry1ReleaseValue: 15,
    dry2TriggerValue: 0,
    dry2ReleaseValue: 0,
    dataStoredPeriod: 3600,
    rcvTime: 3600,
    rfvTime: 8 * 3600,
    canProtocolLibraryVersion: 1,
    emergencyDurationRaw: 30,
    uart3Protocol: 0,
    reBulkSoc: 0,
  };
}

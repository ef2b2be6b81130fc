/**
 * Synthetic `jkbms` node messages for the Home Assistant tests (the jkbms node is built in
 * parallel; these follow the input contract: msg.topic, msg.payload, msg.bms). Live values
 * are the synthetic test frame of docs/protocol.md §3.6, at address 2 unless overridden.
 */
import { aggregate } from '../../src/bank/aggregate';
import type { BankPackInput, BankPayload } from '../../src/bank/types';
import type { EntityGroups } from '../../src/ha/types';
import type { BankHealthPayload, CellHealth, Finding, PackHealthPayload } from '../../src/health';
import type { InfoPayload, LivePayload, SettingsPayload } from '../../src/protocol/types';

export const BUS_ID = 'a1b2c3d4e5f60718';
export const BUS_NAME = 'bus1';
export const SERIAL = '4062840158';

export const ALL_GROUPS: EntityGroups = { cells: true, resistances: true, temperatures: true, details: true, device: true, energy: true };

export interface Bms {
  bus: string;
  busId: string;
  address: number;
  serialNumber: string | null;
  model: string | null;
  hardwareVersion: string | null;
  softwareVersion: string | null;
  name: string | null;
}

export function bms(address = 2, known = false, over: Partial<Bms> = {}): Bms {
  return {
    bus: BUS_NAME,
    busId: BUS_ID,
    address,
    serialNumber: known ? SERIAL : null,
    model: known ? 'JK_PB2A16S20P' : null,
    hardwareVersion: known ? '15A' : null,
    softwareVersion: known ? '15.38' : null,
    name: known ? 'JK_PB2A16S20P' : null,
    ...over,
  };
}

const CELLS = [3.301, 3.305, 3.299, 3.302, 3.3, 3.304, 3.298, 3.303, 3.301, 3.3, 3.302, 3.299, 3.305, 3.301, 3.3, 3.302];
const RES = [0.074, 0.075, 0.071, 0.073, 0.076, 0.072, 0.07, 0.074, 0.075, 0.073, 0.072, 0.074, 0.071, 0.076, 0.073, 0.075];

export function live(address = 2, over: Partial<LivePayload> = {}): LivePayload {
  const cells = over.cells ?? [...CELLS];
  return {
    type: 'live',
    address,
    voltage: 52.822,
    current: -12.345,
    power: -652.087,
    soc: 47,
    soh: 98,
    remainingAh: 131.6,
    fullChargeAh: 280,
    cycles: 57,
    cycleAh: 15234.567,
    cells,
    cellCount: cells.length,
    cellMask: 2 ** cells.length - 1,
    cellMin: 3.298,
    cellMax: 3.305,
    cellAvg: 3.301,
    cellDelta: 0.007,
    cellMinIndex: 7,
    cellMaxIndex: 2,
    cellResistances: over.cellResistances ?? RES.slice(0, cells.length).concat(Array(Math.max(0, cells.length - RES.length)).fill(0.07)),
    wireResistanceAlarmMask: 0,
    temperatures: { mos: 25.3, t1: 21.5, t2: -3.5, t3: null, t4: null, t5: null },
    temperatureSensorMask: 0x07,
    balancingCurrent: 0.15,
    balancing: 'discharge',
    chargingMos: true,
    dischargingMos: true,
    precharging: false,
    heating: false,
    heatingCurrent: 0,
    alarms: ['cellUvp', 'dischargeMos'],
    alarmMask: 0x00020800,
    userAlarm: 0,
    userAlarm2: 0,
    runtime: 12345678,
    dischargeOcpReleaseTime: 0,
    dischargeScpReleaseTime: 0,
    chargeOcpReleaseTime: 0,
    chargeScpReleaseTime: 0,
    cellUvpReleaseTime: 0,
    cellOvpReleaseTime: 0,
    emergency: false,
    emergencyTime: 0,
    dischargeCurrentCorrection: 915,
    chargeCurrentSensorVoltage: 0,
    dischargeCurrentSensorVoltage: 0,
    voltageCorrection: 3,
    balancerChargePwm: 0,
    balancerDischargePwm: 216,
    voltageLowRes: 52.82,
    chargerPlugged: false,
    systemUptime: 1000,
    pvdTime: 0,
    rtcTime: 1000,
    logCount: 0,
    sleepCountdown: 86400,
    pclActive: false,
    chemistryCode: 0,
    chargeStage: 'bulk',
    chargeStageTime: 10,
    dry1: false,
    dry2: false,
    ...over,
  };
}

export function settings(address = 2, over: Partial<SettingsPayload> = {}): SettingsPayload {
  return {
    type: 'settings',
    address,
    smartSleepVoltage: 3.3,
    cellUvp: 2.8,
    cellUvpRecovery: 2.9,
    cellOvp: 3.65,
    cellOvpRecovery: 3.55,
    balanceTriggerVoltage: 0.005,
    cellSoc100Voltage: 3.45,
    cellSoc0Voltage: 2.9,
    cellRequestChargeVoltage: 3.45,
    cellRequestFloatVoltage: 3.375,
    powerOffVoltage: 2.6,
    maxChargeCurrent: 100,
    chargeOcpDelay: 30,
    chargeOcpRecoveryTime: 60,
    maxDischargeCurrent: 150,
    dischargeOcpDelay: 300,
    dischargeOcpRecoveryTime: 60,
    scpRecoveryTime: 5,
    maxBalanceCurrent: 2,
    chargeOtp: 70,
    chargeOtpRecovery: 60,
    dischargeOtp: 70,
    dischargeOtpRecovery: 60,
    chargeUtp: 0,
    chargeUtpRecovery: 5,
    mosOtp: 100,
    mosOtpRecovery: 80,
    cellCount: 16,
    chargingEnabled: true,
    dischargingEnabled: true,
    balancingEnabled: true,
    nominalCapacityAh: 280,
    scpDelay: 0.0015,
    balanceStartVoltage: 3.4,
    wireResistances: [...RES],
    deviceAddress: address,
    prechargeTime: 2,
    switchMask: 0,
    heatingEnabled: false,
    disableTemperatureSensors: false,
    gpsHeartbeat: false,
    portRs485: true,
    displayAlwaysOn: false,
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
    smartSleepDelay: 86400,
    dataFieldEnable0: 0,
    dischargeUtp: -20,
    dischargeUtpRecovery: -10,
    ...over,
  };
}

export function info(address = 2, over: Partial<InfoPayload> = {}): InfoPayload {
  return {
    type: 'info',
    address,
    vendorId: 'JK_PB2A16S20P',
    hardwareVersion: '15A',
    softwareVersion: '15.38',
    uptime: 5000000,
    powerOnCount: 12,
    deviceName: 'JK_PB2A16S20P',
    devicePasscode: '1234',
    manufacturingDate: '231118',
    serialNumber: SERIAL,
    userData: 'user',
    setupPasscode: '123457',
    userData2: '',
    uart1Protocol: 1,
    canProtocol: 0,
    uart1ProtocolEnable: 1,
    hardwareOption: '',
    canProtocolEnable: 0,
    uart2Protocol: 0,
    uart2ProtocolEnable: 1,
    lcdBuzzerTrigger: 0,
    dry1Trigger: 0,
    dry2Trigger: 0,
    uartProtocolLibraryVersion: 1,
    lcdBuzzerTriggerValue: 0,
    lcdBuzzerReleaseValue: 0,
    dry1TriggerValue: 0,
    dry1ReleaseValue: 0,
    dry2TriggerValue: 0,
    dry2ReleaseValue: 0,
    dataStoredPeriod: 0,
    rcvTime: 0,
    rfvTime: 0,
    canProtocolLibraryVersion: 0,
    emergencyDurationRaw: 0,
    uart3Protocol: 0,
    reBulkSoc: 90,
    ...over,
  };
}

type Payload = LivePayload | SettingsPayload | InfoPayload | { type: 'availability'; address: number; online: boolean };

/** A message as the jkbms node emits it. */
export function msg(payload: Payload, b: Bms = bms(payload.address ?? 2)): { topic: string; payload: Payload; bms: Bms } {
  return { topic: `${b.bus}/${b.address}/${payload.type}`, payload, bms: b };
}

export function availability(address: number, online: boolean) {
  return { type: 'availability' as const, address, online };
}

export const BANK_NOW = 1_700_000_000_000;

/**
 * A jkbms-bank summary made by the bank's own aggregation: pack 1 (280 Ah at 90 %, no alarm,
 * highest cell 3.305 V at cell 2, lowest temperature T2 −3.5 °C), pack 2 (100 Ah at 10 %,
 * lowest cell 3.281 V at cell 7, T1 30 °C, alarms cellUvp + dischargeMos), pack 3 offline
 * (stale); 3 expected. SOC (90·280 + 10·100) / 380 = 68.95 %.
 */
export function bankPayload(packs: { one?: boolean; two?: boolean; three?: boolean } = {}): BankPayload {
  const at = (address: number, l: LivePayload, online = true): BankPackInput => ({
    address,
    online,
    liveAt: BANK_NOW - 1000,
    firstSeen: BANK_NOW - 60_000,
    live: l,
    settings: settings(address),
    serialNumber: null,
  });
  const cells2 = live().cells.map((c, i) => (i === 6 ? 3.281 : c));
  const { one = true, two = true, three = false } = packs;
  return aggregate(
    [
      at(1, live(1, { soc: 90, fullChargeAh: 280, alarms: [], alarmMask: 0 }), one),
      at(2, live(2, { soc: 10, fullChargeAh: 100, cells: cells2, temperatures: { mos: 25.3, t1: 30, t2: null, t3: null, t4: null, t5: null } }), two),
      at(3, live(3, { soc: 50 }), three),
    ],
    { now: BANK_NOW, staleAfterMs: 30_000, expected: 3, energy: { chargedKwh: 12.5, dischargedKwh: 3.25 } },
  );
}

/**
 * A bank message: as an older jkbms-bank sent it (topic only, the bus looked up by name and the
 * bank id derived from it), or, with `bms`, as jkbms-bank sends it now ({bus, busId, bankId}).
 */
export function bankMsg(
  payload: BankPayload = bankPayload(),
  bus = BUS_NAME,
  bms?: { busId?: string; bankId: string },
): { topic: string; payload: BankPayload; bms?: { bus: string; busId: string; bankId: string } } {
  return bms ? { topic: `${bus}/bank`, payload, bms: { bus, busId: bms.busId ?? BUS_ID, bankId: bms.bankId } } : { topic: `${bus}/bank`, payload };
}

/** A finding as jkbms-health reports it: the +3.12 mΩ cell 7 of pack `address`. */
export function resistanceFinding(address = 2, serialNumber: string | null = SERIAL): Finding {
  return { kind: 'resistance', address, serialNumber, cell: 7, value: 3.12, unit: 'mΩ', text: `pack ${address} cell 7: +3.1 mΩ above its neighbours — check its bus bar` };
}

/**
 * A jkbms-health pack report (output 1 payload), 16 cells: cell 7 +3.12 mΩ (σ 0.05, confidence
 * 1), the others within ±0.1 mΩ, cell 16 not estimated yet (null); with the cell 7 finding
 * unless `findings` says otherwise.
 */
export function healthPayload(address = 2, over: Partial<PackHealthPayload> = {}): PackHealthPayload {
  const cells: CellHealth[] = Array.from({ length: 16 }, (_, i) => ({
    cell: i + 1,
    resistanceMohm: i === 6 ? 3.12 : i === 15 ? null : Math.round(((i % 5) - 2) * 40) / 1000,
    stdErrMohm: i === 15 ? null : 0.0512,
    confidence: i === 15 ? 0 : 0.99987,
    endOfChargeMv: 4.2,
    endOfDischargeMv: -3.1,
    kneeFirst: 0,
    fallFirst: 0,
  }));
  return {
    type: 'health',
    address,
    serialNumber: SERIAL,
    cellCount: 16,
    since: BANK_NOW - 86_400_000,
    frames: 86_400,
    resistanceSamples: 50_000,
    resistanceWindows: 400,
    cells,
    charges: 3,
    discharges: 2,
    endOfChargeDeltaMv: 38.5,
    endOfChargeTrendMvPerDay: 1.234,
    findings: [resistanceFinding(address)],
    ts: BANK_NOW,
    ...over,
  };
}

/** A jkbms-health bank report (output 2 payload) of packs 1 and 2: pack 2's finding, and pack 1's SOC 12.3 % above the other. */
export function bankHealthPayload(over: Partial<BankHealthPayload> = {}): BankHealthPayload {
  const soc: Finding = {
    kind: 'soc',
    address: 1,
    serialNumber: null,
    cell: null,
    value: 12.3,
    unit: '%',
    text: 'pack 1: SOC 12 % above the other packs (6 h average) — parallel packs should stay together: check its cables, fuse and connections, or charge the bank to full to recalibrate',
  };
  const findings = [resistanceFinding(2), soc];
  return {
    type: 'health-bank',
    packs: [
      { address: 1, serialNumber: null, soc: 60, soh: 100, socOffset: 12.3, sohOffset: 0 },
      { address: 2, serialNumber: SERIAL, soc: 48, soh: 98, socOffset: -12.3, sohOffset: null },
    ],
    findings,
    problem: true,
    ts: BANK_NOW,
    ...over,
  };
}

/** A message of jkbms-health's output 1 (the pack's identity in msg.bms). */
export function healthMsg(payload: PackHealthPayload = healthPayload(), b: Bms = bms(payload.address, true)) {
  return { topic: `${b.bus}/${b.address}/health`, payload, bms: b };
}

/** A message of jkbms-health's output 2 (msg.bms {bus, busId}, or without it: matched by its topic). */
export function bankHealthMsg(payload: BankHealthPayload = bankHealthPayload(), withBms = true) {
  return withBms ? { topic: `${BUS_NAME}/health`, payload, bms: { bus: BUS_NAME, busId: BUS_ID } } : { topic: `${BUS_NAME}/health`, payload };
}

/**
 * The message payload contract. These names are fixed: users' flows, the Home Assistant
 * node, the bank node and our checks rely on them. Every value is in SI units
 * (V, A, W, Ah, Ω, °C, s, %), documented in README.md ("Message payloads").
 */

/** The three data frames a JK-PB pack sends on its RS485-2 bus. */
export type FrameKind = 'live' | 'settings' | 'info';

/** Fields every decoded object carries. */
export interface DecodedBase {
  type: FrameKind;
  /** Responder address 0–15 (0 = the JK master's own frames), or null when unknown. */
  address: number | null;
}

export interface Temperatures {
  /** MOS (power board) sensor, °C; null when the sensor is reported absent (or unplugged: −200 °C on fw 19). */
  mos: number | null;
  t1: number | null;
  t2: number | null;
  t3: number | null;
  t4: number | null;
  t5: number | null;
}

export type BalancingState = 'off' | 'charge' | 'discharge';
export type ChargeStage = 'bulk' | 'absorption' | 'float';

/** Frame type 0x02 — live data / cell info (docs/protocol.md §3). */
export interface LivePayload extends DecodedBase {
  type: 'live';
  /** Pack voltage, V (offset 150). */
  voltage: number;
  /** Pack current, A; + = charging, − = discharging (offset 158). */
  current: number;
  /** Pack power, W; same sign as current (magnitude from offset 154). */
  power: number;
  /** State of charge, % (173). */
  soc: number;
  /** State of health, % (190, u8). */
  soh: number;
  /** Remaining capacity, Ah (174). */
  remainingAh: number;
  /** Full-charge capacity, Ah (178). */
  fullChargeAh: number;
  /** Charge cycles (182). */
  cycles: number;
  /** Total cycled capacity, Ah (186). */
  cycleAh: number;
  /** Cell voltages, V, present cells only, cell 1 first. */
  cells: number[];
  /** Number of present cells (= cells.length). */
  cellCount: number;
  /** Raw cell-present bitmask (70), bit n = cell n+1. */
  cellMask: number;
  cellMin: number | null;
  cellMax: number | null;
  /** Average cell voltage as reported by the BMS, V (74). */
  cellAvg: number;
  /** Max − min cell voltage as reported by the BMS, V (76). */
  cellDelta: number;
  /** 1-based cell number of the lowest / highest cell (79 / 78, +1). */
  cellMinIndex: number;
  cellMaxIndex: number;
  /** Balance-wire resistance per present cell, Ω (80 + 2i). */
  cellResistances: number[];
  /** Wire-resistance alarm bitmask (146), bit n = wire n. */
  wireResistanceAlarmMask: number;
  temperatures: Temperatures;
  /** Raw temperature-sensor presence byte (214). */
  temperatureSensorMask: number;
  /** Balancing current, A (170, signed). */
  balancingCurrent: number;
  balancing: BalancingState;
  chargingMos: boolean;
  dischargingMos: boolean;
  precharging: boolean;
  heating: boolean;
  /** Heating current, A (236). */
  heatingCurrent: number;
  /** Active alarm names (see ALARM_NAMES), lowest bit first. */
  alarms: string[];
  /** Raw 32-bit alarm word (166). */
  alarmMask: number;
  /** "User alarm" words (192, 200) — meaning undocumented, raw. */
  userAlarm: number;
  userAlarm2: number;
  /** Total runtime, s (194). */
  runtime: number;
  /** Protection release countdowns, s (202–212). */
  dischargeOcpReleaseTime: number;
  dischargeScpReleaseTime: number;
  chargeOcpReleaseTime: number;
  chargeScpReleaseTime: number;
  cellUvpReleaseTime: number;
  cellOvpReleaseTime: number;
  /** Emergency mode active (218 > 0) and its remaining time, s. */
  emergency: boolean;
  emergencyTime: number;
  /** Discharge-current correction factor, raw (220). */
  dischargeCurrentCorrection: number;
  /** Current-sensor voltages, V (222 / 224, reported in mV). */
  chargeCurrentSensorVoltage: number;
  dischargeCurrentSensorVoltage: number;
  /** Battery-voltage correction factor (226, float). */
  voltageCorrection: number;
  /** Balancer PWM duties (230 / 232), raw. */
  balancerChargePwm: number;
  balancerDischargePwm: number;
  /** Pack voltage at 10 mV resolution, V (234). */
  voltageLowRes: number;
  chargerPlugged: boolean;
  /** Time since the BMS booted, s (246, 0.1 s ticks). */
  systemUptime: number;
  /** PVD trigger timestamp, s (250). */
  pvdTime: number;
  /** BMS clock, s since 2020-01-01 (262). */
  rtcTime: number;
  /** Detail-log entry count (266). */
  logCount: number;
  /** Time until smart sleep, s (270). */
  sleepCountdown: number;
  /** Parallel current-limit module active (274). */
  pclActive: boolean;
  /** Raw byte 275 (battery chemistry on some firmware: 0 LFP, 1 Li-ion, 2 LTO). */
  chemistryCode: number;
  /** Charge stage (280) or null when the byte holds an unknown value; time in it, s (278). */
  chargeStage: ChargeStage | null;
  chargeStageTime: number;
  /** Dry contacts (281 bits 1 / 2). */
  dry1: boolean;
  dry2: boolean;
}

/** Frame type 0x01 — settings (docs/protocol.md §4). */
export interface SettingsPayload extends DecodedBase {
  type: 'settings';
  smartSleepVoltage: number;
  cellUvp: number;
  cellUvpRecovery: number;
  cellOvp: number;
  cellOvpRecovery: number;
  balanceTriggerVoltage: number;
  cellSoc100Voltage: number;
  cellSoc0Voltage: number;
  cellRequestChargeVoltage: number;
  cellRequestFloatVoltage: number;
  powerOffVoltage: number;
  maxChargeCurrent: number;
  chargeOcpDelay: number;
  chargeOcpRecoveryTime: number;
  maxDischargeCurrent: number;
  dischargeOcpDelay: number;
  dischargeOcpRecoveryTime: number;
  scpRecoveryTime: number;
  maxBalanceCurrent: number;
  chargeOtp: number;
  chargeOtpRecovery: number;
  dischargeOtp: number;
  dischargeOtpRecovery: number;
  chargeUtp: number;
  chargeUtpRecovery: number;
  mosOtp: number;
  mosOtpRecovery: number;
  cellCount: number;
  chargingEnabled: boolean;
  dischargingEnabled: boolean;
  balancingEnabled: boolean;
  /** Design capacity, Ah (130). */
  nominalCapacityAh: number;
  /** Short-circuit protection delay, s (134, reported in µs). */
  scpDelay: number;
  balanceStartVoltage: number;
  /** Connection-wire resistance per cell, Ω (142 + 4i), present cells only. */
  wireResistances: number[];
  /** DevAddr field (270) — mirrors the DIP switches. */
  deviceAddress: number;
  /** Discharge precharge time, s (274). */
  prechargeTime: number;
  /** Switch word 0x1114 (282), raw, and its bits. */
  switchMask: number;
  heatingEnabled: boolean;
  disableTemperatureSensors: boolean;
  gpsHeartbeat: boolean;
  /** Multiplexed port function: true = RS485, false = CAN. */
  portRs485: boolean;
  displayAlwaysOn: boolean;
  specialCharger: boolean;
  smartSleep: boolean;
  disablePclModule: boolean;
  timedStoredData: boolean;
  chargingFloatMode: boolean;
  emergencyButton: boolean;
  dryContactIntermittent: boolean;
  dischargeOcp2: boolean;
  dischargeOcp3: boolean;
  gpsLockedCharging: boolean;
  gpsLockedDischarging: boolean;
  /** Bytes 284 / 285 (°C): heating start / stop on current firmware; an older register map calls them battery over-temperature alarm / recovery (docs/protocol.md §8). */
  heatingStartTemperature: number;
  heatingStopTemperature: number;
  /** Smart-sleep delay, s (286, reported in hours). */
  smartSleepDelay: number;
  /** Byte 287 "data field enable control 0", raw. */
  dataFieldEnable0: number;
  /** Discharge under-temperature protection / recovery, °C (296 / 297). */
  dischargeUtp: number;
  dischargeUtpRecovery: number;
}

/** Frame type 0x03 — device info (docs/protocol.md §5). */
export interface InfoPayload extends DecodedBase {
  type: 'info';
  vendorId: string;
  hardwareVersion: string;
  softwareVersion: string;
  /** Cumulative run time, s (38). */
  uptime: number;
  powerOnCount: number;
  deviceName: string;
  devicePasscode: string;
  /** Manufacturing date as printed by the BMS, "YYMMDD". */
  manufacturingDate: string;
  serialNumber: string;
  userData: string;
  setupPasscode: string;
  userData2: string;
  uart1Protocol: number;
  canProtocol: number;
  uart1ProtocolEnable: number;
  hardwareOption: string;
  canProtocolEnable: number;
  uart2Protocol: number;
  uart2ProtocolEnable: number;
  lcdBuzzerTrigger: number;
  dry1Trigger: number;
  dry2Trigger: number;
  uartProtocolLibraryVersion: number;
  lcdBuzzerTriggerValue: number;
  lcdBuzzerReleaseValue: number;
  dry1TriggerValue: number;
  dry1ReleaseValue: number;
  dry2TriggerValue: number;
  dry2ReleaseValue: number;
  dataStoredPeriod: number;
  /** Request-charge-voltage and float hold times, s (266 / 267, reported in 0.1 h). */
  rcvTime: number;
  rfvTime: number;
  canProtocolLibraryVersion: number;
  /** Byte 269: emergency duration on some firmware (minutes), raw. */
  emergencyDurationRaw: number;
  uart3Protocol: number;
  /** Re-bulk SOC, % (278). */
  reBulkSoc: number;
}

export type DecodedFrame = LivePayload | SettingsPayload | InfoPayload;

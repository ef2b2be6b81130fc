/**
 * The 32-bit alarm word of the live frame (offset 166, docs/protocol.md §3.3): bit → stable name
 * (used in payload.alarms, Home Assistant entity ids and automations) and an English label.
 * Bits 0–23 follow the JK register map V1.1; 24–28 are the later firmware additions.
 */
export interface AlarmDef {
  bit: number;
  name: string;
  label: string;
}

export const ALARMS: readonly AlarmDef[] = [
  { bit: 0, name: 'wireResistance', label: 'Balance-wire resistance too high' },
  { bit: 1, name: 'mosOtp', label: 'MOS over-temperature' },
  { bit: 2, name: 'cellQuantity', label: 'Cell count differs from setting' },
  { bit: 3, name: 'currentSensor', label: 'Current-sensor error' },
  { bit: 4, name: 'cellOvp', label: 'Cell over-voltage' },
  { bit: 5, name: 'packOvp', label: 'Pack over-voltage' },
  { bit: 6, name: 'chargeOcp', label: 'Charge over-current' },
  { bit: 7, name: 'chargeScp', label: 'Charge short circuit' },
  { bit: 8, name: 'chargeOtp', label: 'Charge over-temperature' },
  { bit: 9, name: 'chargeUtp', label: 'Charge under-temperature' },
  { bit: 10, name: 'internalComm', label: 'Internal communication error' },
  { bit: 11, name: 'cellUvp', label: 'Cell under-voltage' },
  { bit: 12, name: 'packUvp', label: 'Pack under-voltage' },
  { bit: 13, name: 'dischargeOcp', label: 'Discharge over-current' },
  { bit: 14, name: 'dischargeScp', label: 'Discharge short circuit' },
  { bit: 15, name: 'dischargeOtp', label: 'Discharge over-temperature' },
  { bit: 16, name: 'chargeMos', label: 'Charge MOS abnormal' },
  { bit: 17, name: 'dischargeMos', label: 'Discharge MOS abnormal' },
  { bit: 18, name: 'gpsDisconnected', label: 'GPS disconnected' },
  { bit: 19, name: 'changePassword', label: 'Change the password' },
  { bit: 20, name: 'dischargeOnFailed', label: 'Discharge switch-on failed' },
  { bit: 21, name: 'batteryOtp', label: 'Battery over-temperature' },
  { bit: 22, name: 'temperatureSensor', label: 'Temperature-sensor anomaly' },
  { bit: 23, name: 'parallelModule', label: 'Parallel (PCL) module anomaly' },
  { bit: 24, name: 'scpReleaseFailed', label: 'Short-circuit release failed' },
  { bit: 25, name: 'dischargeOcp2', label: 'Discharge over-current II' },
  { bit: 26, name: 'dischargeOcp3', label: 'Discharge over-current III' },
  { bit: 27, name: 'dischargeUtp', label: 'Discharge under-temperature' },
  { bit: 28, name: 'gpsRemoteLock', label: 'GPS remote lock' },
  { bit: 29, name: 'bit29', label: 'Alarm bit 29' },
  { bit: 30, name: 'bit30', label: 'Alarm bit 30' },
  { bit: 31, name: 'bit31', label: 'Alarm bit 31' },
];

/** Names of the alarms set in `mask`, lowest bit first. */
export function alarmNames(mask: number): string[] {
  const out: string[] = [];
  for (const a of ALARMS) if ((mask >>> a.bit) & 1) out.push(a.name);
  return out;
}

/** The mask for a list of alarm names (unknown names are ignored). */
export function alarmMask(names: readonly string[]): number {
  let m = 0;
  for (const a of ALARMS) if (names.includes(a.name)) m |= 1 << a.bit;
  return m >>> 0;
}

/** English text of an alarm name (the name itself when unknown). */
export function alarmLabel(name: string): string {
  return ALARMS.find((a) => a.name === name)?.label ?? name;
}

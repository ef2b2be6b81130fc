/**
 * The project's own frames, built by our encoder (they do not need ../shared). Values follow
 * the synthetic live frame of docs/protocol.md §3.6 and the settings observed on a
 * real slave (§4.4, shared with the simulator).
 */
import { decodeFrame } from '../../src/protocol/decode';
import { encodeFrame, encodeResponse } from '../../src/protocol/encode';
import type { InfoPayload, LivePayload, SettingsPayload } from '../../src/protocol/types';
import { defaultSettings } from '../../src/sim/defaults';
import { SWITCH_BITS } from '../../src/protocol/fields';

export const LIVE_VALUES = {
  type: 'live' as const,
  cells: [3.301, 3.305, 3.299, 3.302, 3.3, 3.304, 3.298, 3.303, 3.301, 3.3, 3.302, 3.299, 3.305, 3.301, 3.3, 3.302],
  cellAvg: 3.301,
  cellDelta: 0.007,
  cellMaxIndex: 2,
  cellMinIndex: 7,
  cellResistances: [0.074, 0.075, 0.071, 0.073, 0.076, 0.072, 0.07, 0.074, 0.075, 0.073, 0.072, 0.074, 0.071, 0.076, 0.073, 0.075],
  temperatures: { mos: 25.3, t1: 21.5, t2: -3.5, t3: 25.3, t4: 21.2, t5: 20.8 },
  temperatureSensorMask: 0x3f,
  voltage: 52.822,
  power: -652.087,
  current: -12.345,
  alarmMask: 0x00020800,
  balancingCurrent: 0.15,
  balancing: 'discharge' as const,
  soc: 47,
  remainingAh: 131.6,
  fullChargeAh: 280,
  cycles: 57,
  cycleAh: 15234.567,
  soh: 98,
  runtime: 12345678,
  chargingMos: true,
  dischargingMos: true,
  voltageLowRes: 52.82,
  systemUptime: 605432.1,
  sleepCountdown: 86400,
};

/** The synthetic live frame of docs/protocol.md §3.6 (address 2, with its ack tail). */
export const REFERENCE_LIVE_HEX =
  '55aaeb900205e50ce90ce30ce60ce40ce80ce20ce70ce50ce40ce60ce30ce90c' +
  'e50ce40ce60c0000000000000000000000000000000000000000000000000000' +
  '000000000000ffff0000e50c070001064a004b00470049004c00480046004a00' +
  '4b00490048004a0047004c0049004b0000000000000000000000000000000000' +
  '00000000000000000000000000000000fd000000000056ce000037f30900c7cf' +
  'ffffd700ddff000802009600022f10020200c0450400390000000776e8006200' +
  '00004e61bc00010100000000000000000000000000003f000100000000000000' +
  '00000000000000000000a21400000000000000000000b1615c0000000000fd00' +
  'd400d00000000000000000000000805101000000000000000000000000000000' +
  '0000000000000000000000f70210162000010478';

/** The settings observed on a real slave (docs/protocol.md §4.4) — the simulator's factory settings. */
export const SETTINGS_VALUES = defaultSettings(1, 16, 304);

export const INFO_VALUES = {
  type: 'info' as const,
  vendorId: 'JK_PB2A16S20P',
  hardwareVersion: '15A',
  softwareVersion: '15.38',
  uptime: 124500,
  powerOnCount: 156,
  deviceName: 'JK_PB2A16S20P',
  devicePasscode: '1234',
  manufacturingDate: '231118',
  serialNumber: '4062840158',
  userData: 'Input Userdata',
  setupPasscode: '123456',
  rcvTime: 3600,
  rfvTime: 28800,
};

export function liveFrame(address = 1, overrides: Partial<LivePayload> = {}): Buffer {
  return encodeResponse({ ...LIVE_VALUES, ...overrides }, address);
}
/** The fixture settings with overrides; an overridden switchMask wins over the switch booleans. */
function settingsWith(address: number, overrides: Partial<SettingsPayload>): Partial<SettingsPayload> & { type: 'settings' } {
  const base: Record<string, unknown> = { ...SETTINGS_VALUES, deviceAddress: address };
  if (overrides.switchMask !== undefined) for (const b of SWITCH_BITS) delete base[b.key];
  return { ...(base as unknown as SettingsPayload), ...overrides };
}

export function settingsFrame(address = 1, overrides: Partial<SettingsPayload> = {}): Buffer {
  return encodeResponse(settingsWith(address, overrides), address);
}
export function infoFrame(address = 1, overrides: Partial<InfoPayload> = {}): Buffer {
  return encodeResponse({ ...INFO_VALUES, ...overrides }, address);
}
export function live(address = 1, overrides: Partial<LivePayload> = {}): LivePayload {
  return decodeFrame(encodeFrame({ ...LIVE_VALUES, ...overrides }), address) as LivePayload;
}
export function settings(address = 1, overrides: Partial<SettingsPayload> = {}): SettingsPayload {
  return decodeFrame(encodeFrame(settingsWith(address, overrides)), address) as SettingsPayload;
}
export function info(address = 1, overrides: Partial<InfoPayload> = {}): InfoPayload {
  return decodeFrame(encodeFrame({ ...INFO_VALUES, ...overrides }), address) as InfoPayload;
}

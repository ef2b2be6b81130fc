import { INFO_FIELDS } from './fields';
import type { DecodedFrame, InfoPayload, LivePayload, SettingsPayload } from './types';

/**
 * Plausibility of a decoded data frame: the second line of defence behind the frame's sum8.
 *
 * A data frame is protected by an 8-bit sum only, so a random corruption passes it 1 time in
 * 256. A live frame carries redundancy (the pack voltage twice, the cells and their sum, mean,
 * spread and extremes, power and V·I), settings and device info carry values that only have a
 * narrow range; a corrupted frame that slipped through sum8 mostly breaks one of them.
 *
 * Tolerances: the worst case over every frame of the captured vectors (198 frames of fw 11–19,
 * RS485 and BLE: 151 live, 30 settings, 17 info) was measured, then a generous margin put on
 * top — a false rejection costs one frame, and readings taken milliseconds apart differ more
 * under a fast load step than in these captures:
 *
 * | check                                      | measured worst case | tolerance              |
 * |--------------------------------------------|---------------------|------------------------|
 * | voltage − Σ cells                          | 0.025 V (0.076 %)   | 0.1 V + 0.25 % of V    |
 * | voltageLowRes − voltage (10 mV resolution) | 0.009 V             | 0.05 V + 0.1 % of V    |
 * | cellAvg − mean(cells)                      | 2.75 mV             | 15 mV                  |
 * | cellDelta − (max − min)                    | 11 mV               | 50 mV                  |
 * | cell at cellMin/MaxIndex − cellMin/Max     | 10 mV               | 50 mV                  |
 * | |power| − |V·I|                            | 3.46 % (21 W)       | 15 % of |V·I| + 10 W   |
 *
 * Ranges (captures in brackets): soc, soh ≤ 100 % [≤ 100]; min/max index a present cell
 * [always]; present temperatures −60…150 °C [0…36.1]; settings cellCount 1…32 [2…25];
 * cellUvp < cellOvp [UVP ≥ 0.48 V below OVP]; the protection cell voltages (UVP, OVP, their
 * recoveries, power-off, balance start) 0.5…5 V [1.2…4.2] and the optional ones (smart sleep,
 * SOC 0 %/100 %, request charge/float; 0 on older firmware) ≤ 5 V [0…4.18]; deviceAddress
 * equal to the ack tail's address [always]; info vendorId and serialNumber non-empty and
 * printable, the serial made of letters, digits, '-' and '_' [always].
 */

const SUM_CELLS_V = 0.1;
const SUM_CELLS_REL = 0.0025;
const LOW_RES_V = 0.05;
const LOW_RES_REL = 0.001;
const CELL_AVG_V = 0.015;
const CELL_DELTA_V = 0.05;
const CELL_EXTREME_V = 0.05;
const POWER_REL = 0.15;
const POWER_W = 10;
const TEMP_MIN_C = -60;
const TEMP_MAX_C = 150;
const MAX_CELLS = 32;
const CELL_V_MIN = 0.5;
const CELL_V_MAX = 5;

/** Settings that are cell voltages a configured pack always has (never 0). */
const PROTECTION_VOLTAGES = ['cellUvp', 'cellUvpRecovery', 'cellOvp', 'cellOvpRecovery', 'powerOffVoltage', 'balanceStartVoltage'] as const;
/** Cell-voltage settings that older firmware leaves at 0. */
const OPTIONAL_VOLTAGES = ['smartSleepVoltage', 'cellSoc100Voltage', 'cellSoc0Voltage', 'cellRequestChargeVoltage', 'cellRequestFloatVoltage'] as const;

const SERIAL = /^[A-Za-z0-9_-]+$/;
const PRINTABLE = /^[\x20-\x7e]+$/;

/**
 * Why a decoded frame cannot be what the pack sent (a short reason), or null when it is
 * plausible.
 *
 * `tailAddress`: the responder address taken from the frame's acknowledgement tail, or null
 * when the tail did not tell it (a settings frame's DevAddr must then match it).
 * `frame`: the 300 raw bytes, when at hand: the decoder drops non-printable bytes from text
 * fields, so only the raw bytes show that a serial number had one.
 */
export function implausible(payload: DecodedFrame, tailAddress: number | null, frame?: Uint8Array): string | null {
  switch (payload.type) {
    case 'live':
      return liveProblem(payload);
    case 'settings':
      return settingsProblem(payload, tailAddress);
    case 'info':
      return infoProblem(payload, frame);
  }
}

const mV = (v: number) => `${Math.round(v * 1000)} mV`;

function liveProblem(p: LivePayload): string | null {
  if (p.soc > 100) return `state of charge ${p.soc} % is above 100 %`;
  if (p.soh > 100) return `state of health ${p.soh} % is above 100 %`;
  for (const [name, t] of Object.entries(p.temperatures)) {
    if (t !== null && (t < TEMP_MIN_C || t > TEMP_MAX_C)) return `temperature ${name} ${t} °C is outside ${TEMP_MIN_C}…${TEMP_MAX_C} °C`;
  }
  if (p.voltageLowRes !== 0 && Math.abs(p.voltageLowRes - p.voltage) > LOW_RES_V + LOW_RES_REL * p.voltage) {
    return `pack voltage ${p.voltage} V disagrees with its low-resolution copy ${p.voltageLowRes} V`;
  }
  const vi = Math.abs(p.voltage * p.current);
  if (Math.abs(Math.abs(p.power) - vi) > POWER_REL * vi + POWER_W) {
    return `power ${p.power} W disagrees with voltage × current ${Math.round(vi * 1000) / 1000} W`;
  }
  return p.cells.length ? cellsProblem(p) : null;
}

function cellsProblem(p: LivePayload): string | null {
  const cells = p.cells;
  let sum = 0;
  for (const c of cells) sum += c;
  if (Math.abs(p.voltage - sum) > SUM_CELLS_V + SUM_CELLS_REL * p.voltage) {
    return `pack voltage ${p.voltage} V disagrees with the sum of its cells ${Math.round(sum * 1000) / 1000} V`;
  }
  const mean = sum / cells.length;
  if (Math.abs(p.cellAvg - mean) > CELL_AVG_V) return `average cell ${mV(p.cellAvg)} disagrees with the cells' mean ${mV(mean)}`;
  const min = p.cellMin ?? 0;
  const max = p.cellMax ?? 0;
  if (Math.abs(p.cellDelta - (max - min)) > CELL_DELTA_V) return `cell delta ${mV(p.cellDelta)} disagrees with max − min ${mV(max - min)}`;
  for (const [what, index, value] of [
    ['lowest', p.cellMinIndex, min],
    ['highest', p.cellMaxIndex, max],
  ] as const) {
    const at = cellAt(p, index);
    if (at === undefined) return `${what} cell number ${index} is not a present cell`;
    if (Math.abs(at - value) > CELL_EXTREME_V) return `${what} cell ${index} is at ${mV(at)}, not ${mV(value)}`;
  }
  return null;
}

/** Voltage of the 1-based physical cell `n`, or undefined when that cell is not present. */
function cellAt(p: LivePayload, n: number): number | undefined {
  if (!Number.isInteger(n) || n < 1 || n > MAX_CELLS || !((p.cellMask >>> (n - 1)) & 1)) return undefined;
  let k = 0;
  for (let i = 0; i < n - 1; i++) if ((p.cellMask >>> i) & 1) k++;
  return p.cells[k];
}

function settingsProblem(p: SettingsPayload, tailAddress: number | null): string | null {
  if (tailAddress !== null && p.deviceAddress !== tailAddress) return `DevAddr ${p.deviceAddress} is not the responder's address ${tailAddress}`;
  if (!Number.isInteger(p.cellCount) || p.cellCount < 1 || p.cellCount > MAX_CELLS) return `cell count ${p.cellCount} is outside 1…${MAX_CELLS}`;
  for (const key of PROTECTION_VOLTAGES) {
    const v = p[key];
    if (!(v >= CELL_V_MIN && v <= CELL_V_MAX)) return `${key} ${v} V is outside ${CELL_V_MIN}…${CELL_V_MAX} V`;
  }
  for (const key of OPTIONAL_VOLTAGES) {
    const v = p[key];
    if (!(v >= 0 && v <= CELL_V_MAX)) return `${key} ${v} V is above ${CELL_V_MAX} V`;
  }
  if (p.cellUvp >= p.cellOvp) return `cell UVP ${p.cellUvp} V is not below cell OVP ${p.cellOvp} V`;
  return null;
}

const TEXT_FIELDS = INFO_FIELDS.filter((f) => f.key === 'vendorId' || f.key === 'serialNumber');

function infoProblem(p: InfoPayload, frame: Uint8Array | undefined): string | null {
  if (frame) {
    for (const f of TEXT_FIELDS) {
      if (f.t !== 'str') continue;
      for (let i = f.off; i < f.off + f.len && frame[i] !== 0; i++) {
        const c = frame[i]!;
        if (c < 0x20 || c > 0x7e) return `${f.key} holds the non-printable byte 0x${c.toString(16).padStart(2, '0')}`;
      }
    }
  }
  if (!PRINTABLE.test(p.vendorId)) return `vendor id ${JSON.stringify(p.vendorId)} is empty or not printable`;
  if (!SERIAL.test(p.serialNumber)) return `serial number ${JSON.stringify(p.serialNumber)} is empty or has characters other than letters, digits, '-' and '_'`;
  return null;
}

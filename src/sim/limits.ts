import { settingsForRegister, type SettingsPayload } from '../protocol';
import { MAX_CELLS, MIN_CELLS, MODELS, type PackModelName } from './defaults';

/**
 * What the simulated firmware accepts in a write (docs/protocol.md §2.5: a pack answers exception 03
 * "illegal data value" for values it refuses). The protocol's SETTINGS table holds the JK app's
 * ranges; the firmware is stricter where the hardware is: currents up to the board's rating,
 * the balancer's real maximum, 4–16 cells on a "16S" board. A threshold must also stay on the
 * right side of its partner (a recovery value above its protection value is refused), so a
 * client that moves both must write them in a workable order, as on a real pack.
 */

/** Exception codes (docs/protocol.md §2.1). */
export const EXCEPTION_ILLEGAL_REGISTER = 0x02;
export const EXCEPTION_ILLEGAL_VALUE = 0x03;

function firmwareRange(model: PackModelName, name: string): [number, number] | undefined {
  const m = MODELS[model];
  switch (name) {
    case 'maxChargeCurrent':
    case 'maxDischargeCurrent':
      return [1, m.maxCurrentA];
    case 'maxBalanceCurrent':
      return [0.3, m.maxBalanceA];
    case 'cellCount':
      return [MIN_CELLS, MAX_CELLS];
    default:
      return undefined;
  }
}

/** Pairs [a, b] that must satisfy a < b. */
const ORDERED: readonly [string, string][] = [
  ['cellUvp', 'cellUvpRecovery'],
  ['cellOvpRecovery', 'cellOvp'],
  ['powerOffVoltage', 'cellUvp'],
  ['cellSoc0Voltage', 'cellSoc100Voltage'],
  ['chargeOtpRecovery', 'chargeOtp'],
  ['dischargeOtpRecovery', 'dischargeOtp'],
  ['chargeUtp', 'chargeUtpRecovery'],
  ['mosOtpRecovery', 'mosOtp'],
];

const EPS = 1e-9;

/**
 * Check a write the protocol layer already mapped onto `next` (applyRegisterWrite). Returns
 * null when the firmware accepts it, else a human-readable reason (answered as exception 03).
 */
export function refuseWrite(model: PackModelName, next: SettingsPayload, register: number, raw: number): string | null {
  const bag = next as unknown as Record<string, number | boolean>;
  for (const def of settingsForRegister(register)) {
    if (def.kind === 'switch' && raw !== 0 && raw !== 1) return `${def.name} takes 0 or 1, got ${raw}`;
    if (def.kind !== 'number') continue;
    const value = bag[def.name] as number;
    const [min, max] = firmwareRange(model, def.name) ?? [def.min, def.max];
    if (value < min - EPS || value > max + EPS) return `${def.name} = ${value} outside ${min}–${max}`;
    for (const [a, b] of ORDERED) {
      if (a !== def.name && b !== def.name) continue;
      if (!((bag[a] as number) < (bag[b] as number))) return `${a} (${String(bag[a])}) must stay below ${b} (${String(bag[b])})`;
    }
  }
  return null;
}

/** Small constants shared by the Home Assistant device kinds (pure, no imports of other ha modules). */
import type { Temperatures } from '../protocol/types';

/** HA device manufacturer of packs and banks. */
export const MANUFACTURER = 'Jikong';

export type TemperatureKey = keyof Temperatures;

/** The temperature sensors of a pack, in MOS, T1…T5 order. */
export const TEMPERATURE_KEYS: readonly TemperatureKey[] = ['mos', 't1', 't2', 't3', 't4', 't5'];

/** Temperature sensors the pack reports as present (non-null), in MOS, T1…T5 order. */
export function presentTemperatures(t: Temperatures): TemperatureKey[] {
  return TEMPERATURE_KEYS.filter((k) => t[k] !== null);
}

/** camelCase → snake_case, digits split off: `dischargeOcp2` → `discharge_ocp_2`. */
export const snake = (camel: string): string => camel.replace(/[A-Z]/g, (c) => '_' + c.toLowerCase()).replace(/(\D)(\d)/g, '$1_$2');

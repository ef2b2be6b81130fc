/**
 * Id and topic policy for Home Assistant MQTT discovery.
 *
 * - A pack's HA device id is `jkbms_<serial>` once its serial number is known, and the
 *   provisional `jkbms_<busId>_<address>` before that (bus config node id + DIP address).
 * - Ids contain only `[a-zA-Z0-9_-]` (HA's rule for discovery ids); anything else becomes `_`.
 * - Entity unique ids are `<device id>_<entity key>`; `default_entity_id` is the lowercase
 *   slug of that (HA entity ids allow only `[a-z0-9_]`).
 * - The bank of a bus (jkbms-bank) is the device `jkbms_bank_<bank id>` (the jkbms-bank node's
 *   *Bank id*), on `<base>/<bus>/bank/state|availability`.
 * - Topics: `<base>/<bus>/<device id without "jkbms_">/state|availability`, commands on
 *   `<base>/<bus>/<device id without "jkbms_">/set/<setting>`, and `<base>/bridge/availability`.
 */

export const DEVICE_ID_PREFIX = 'jkbms_';

/** Replace every character outside `[a-zA-Z0-9_-]` by `_`. */
export function sanitizeId(raw: string): string {
  return raw.replace(/[^a-zA-Z0-9_-]/g, '_');
}

/** A serial number usable as an id, or null when it is missing or blank. */
export function usableSerial(serial: string | null | undefined): string | null {
  if (typeof serial !== 'string') return null;
  const s = serial.trim();
  return s === '' ? null : s;
}

export function serialDeviceId(serial: string): string {
  return DEVICE_ID_PREFIX + sanitizeId(serial);
}

export function provisionalDeviceId(busId: string, address: number): string {
  return `${DEVICE_ID_PREFIX}${sanitizeId(busId)}_${address}`;
}

/** Device id for a pack: from the serial when known, else provisional. */
export function packDeviceId(busId: string, address: number, serial: string | null | undefined): string {
  const s = usableSerial(serial);
  return s === null ? provisionalDeviceId(busId, address) : serialDeviceId(s);
}

/** Device id of a bank (the jkbms-bank node's bank id). */
export function bankDeviceId(bankId: string): string {
  return `${DEVICE_ID_PREFIX}bank_${sanitizeId(bankId)}`;
}

/** HA entity id object part (`[a-z0-9_]`) for a unique id. */
export function entitySlug(uniqueId: string): string {
  return uniqueId.toLowerCase().replace(/[^a-z0-9_]/g, '_');
}

/**
 * One MQTT topic level from a user-chosen name (the bus name): no `/`, `+`, `#`, control
 * characters or blanks. Falls back to `fallback` when nothing usable is left.
 */
export function topicLevel(name: string | null | undefined, fallback: string): string {
  const s = (name ?? '').trim().replace(/[^\p{L}\p{N}_.-]/gu, '_');
  return s === '' || /^_+$/.test(s) ? sanitizeId(fallback) : s;
}

/**
 * A user-set topic prefix (discovery prefix, base topic): non-empty levels, no wildcards,
 * no leading or trailing `/`. Returns an error string, or null when valid.
 */
export function topicPrefixProblem(prefix: string): string | null {
  if (typeof prefix !== 'string' || prefix === '') return 'empty';
  if (/[+#]/.test(prefix) || prefix.includes('\u0000')) return 'wildcard';
  if (prefix.split('/').some((l) => l === '')) return 'empty-level';
  return null;
}

export interface PackTopics {
  state: string;
  availability: string;
}

export function packTopics(base: string, busLevel: string, deviceId: string): PackTopics {
  const id = deviceId.startsWith(DEVICE_ID_PREFIX) ? deviceId.slice(DEVICE_ID_PREFIX.length) : deviceId;
  return { state: `${base}/${busLevel}/${id}/state`, availability: `${base}/${busLevel}/${id}/availability` };
}

/** State and availability topics of the bank of a bus. */
export function bankTopics(base: string, busLevel: string): PackTopics {
  return { state: `${base}/${busLevel}/bank/state`, availability: `${base}/${busLevel}/bank/availability` };
}

/** Prefix of a pack's command topics (`<prefix>/<setting>`): `<base>/<bus>/<id>/set`. */
export function commandPrefix(base: string, busLevel: string, deviceId: string): string {
  const id = deviceId.startsWith(DEVICE_ID_PREFIX) ? deviceId.slice(DEVICE_ID_PREFIX.length) : deviceId;
  return `${base}/${busLevel}/${id}/set`;
}

/** `<base>/<bus>/<id>/set/<setting>` → its parts, or null when the topic is not a command topic under `base`. */
export function parseCommandTopic(base: string, topic: string): { prefix: string; setting: string } | null {
  if (!topic.startsWith(`${base}/`)) return null;
  const levels = topic.slice(base.length + 1).split('/');
  if (levels.length !== 4 || levels[2] !== 'set' || levels.some((l) => l === '')) return null;
  return { prefix: topic.slice(0, topic.lastIndexOf('/')), setting: levels[3]! };
}

export function bridgeAvailabilityTopic(base: string): string {
  return `${base}/bridge/availability`;
}

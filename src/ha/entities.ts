/**
 * Entity tables: what a device kind (a pack, the bank of a bus) exposes to Home Assistant.
 *
 * A table is a list of rows; each row belongs to one entity group and yields the entities
 * of that row for the current view of the device (one per present cell, per present
 * temperature sensor, ...). Every entity reads its value from the device's JSON state at
 * `path`; the discovery builders derive `value_template` from that path, and the tests
 * check every path exists in the state JSON. Adding a device kind = a view type, a table
 * and a state builder.
 */
import type { Component, EntityGroup, EntityGroups } from './types';

export type StatePath = readonly (string | number)[];

export type StateClass = 'measurement' | 'total' | 'total_increasing';

export interface EntityDef {
  /** Unique within the device; `[a-z0-9_]`. Becomes the suffix of the unique id. */
  key: string;
  component: Component;
  /** Entity name within the device (HA shows "<device name> <name>"). */
  name: string;
  /** Where the value sits in the state JSON. */
  path: StatePath;
  deviceClass?: string;
  unit?: string;
  stateClass?: StateClass;
  precision?: number;
  /** `entity_category: "diagnostic"`. */
  diagnostic?: boolean;
  icon?: string;
  /** For `device_class: "enum"` sensors. */
  options?: readonly string[];
  /** `entity_category: "config"` (controls). */
  config?: boolean;
  /** Switches and numbers: the setting their command topic writes (number: with its range). */
  command?: CommandDef;
  /** Binary sensors whose value may be null (unknown): published as `None`, which HA shows as unknown. */
  nullable?: boolean;
  /** HA attributes of the entity: an object in the state JSON at this path (`json_attributes_template`). */
  attributes?: StatePath;
  /** Announced with `enabled_by_default: false`: HA lists it, disabled until the user enables it. */
  disabled?: boolean;
}

export interface CommandDef {
  /** Setting name of the register table (src/protocol/settings.ts); last level of the command topic. */
  setting: string;
  min?: number;
  max?: number;
  step?: number;
}

export interface EntityRow<V> {
  group: EntityGroup;
  entities: (view: V) => EntityDef[];
}

export type EntityTable<V> = readonly EntityRow<V>[];

/** The entities of a table for a view, restricted to the enabled groups, in table order. */
export function buildEntities<V>(table: EntityTable<V>, view: V, groups: EntityGroups): EntityDef[] {
  const out: EntityDef[] = [];
  for (const row of table) {
    if (row.group !== 'core' && !groups[row.group]) continue;
    out.push(...row.entities(view));
  }
  return out;
}

/** `value_json.a.b[0]` for a path. */
export function jsonRef(path: StatePath): string {
  return 'value_json' + path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${p}`)).join('');
}

/**
 * HA `value_template` of an entity. Binary sensors and switches map the JSON boolean to ON / OFF;
 * a nullable binary sensor maps null to `None` (HA: unknown). Numbers and text render as they
 * are (a JSON null renders `None`, which HA sensors take as unknown).
 */
export function valueTemplate(def: EntityDef): string {
  const ref = jsonRef(def.path);
  if (def.component !== 'binary_sensor' && def.component !== 'switch') return `{{ ${ref} }}`;
  return def.nullable ? `{{ 'None' if ${ref} is none else ('ON' if ${ref} else 'OFF') }}` : `{{ 'ON' if ${ref} else 'OFF' }}`;
}

/** HA `json_attributes_template` of an entity with attributes: the object at its path, as JSON. */
export function attributesTemplate(path: StatePath): string {
  return `{{ ${jsonRef(path)} | tojson }}`;
}

/** Two-digit 1-based number for keys that sort well: 1 → "01". */
export function two(n: number): string {
  return String(n).padStart(2, '0');
}

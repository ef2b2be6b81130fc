/**
 * Home Assistant MQTT discovery payloads, per entity (`<prefix>/<component>/<unique_id>/config`)
 * or device-based (`<prefix>/device/<device id>/config` with `cmps`, HA ≥ 2024.11).
 * Configs are retained; an empty retained payload deletes one. `default_entity_id` is set,
 * never the deprecated `object_id`.
 */
import { attributesTemplate, type EntityDef, valueTemplate } from './entities';
import { entitySlug } from './ids';
import type { Component, DeviceInfo, MqttMessage, Origin, Qos } from './types';

export interface Announcement {
  discoveryPrefix: string;
  deviceId: string;
  device: DeviceInfo;
  origin: Origin;
  stateTopic: string;
  /** Availability topics, all of which must say `online` (`availability_mode: all`). */
  availability: string[];
  /** `expire_after`, s; 0 = omitted. */
  expireAfter: number;
  qos: Qos;
  /** Prefix of the command topics of switches and numbers (`<prefix>/<setting>`). */
  commandPrefix?: string;
}

export function uniqueId(deviceId: string, key: string): string {
  return `${deviceId}_${key}`;
}

export function entityConfigTopic(prefix: string, component: Component, uid: string): string {
  return `${prefix}/${component}/${uid}/config`;
}

export function deviceConfigTopic(prefix: string, deviceId: string): string {
  return `${prefix}/device/${deviceId}/config`;
}

/** Empty retained payload: deletes a config (or clears a retained availability). */
export function deletion(topic: string, qos: Qos): MqttMessage {
  return { topic, payload: '', retain: true, qos };
}

/** Entity-level keys shared by both forms, in HA documentation order. */
function entityFields(def: EntityDef): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  if (def.deviceClass !== undefined) o.device_class = def.deviceClass;
  if (def.unit !== undefined) o.unit_of_measurement = def.unit;
  if (def.stateClass !== undefined) o.state_class = def.stateClass;
  if (def.precision !== undefined) o.suggested_display_precision = def.precision;
  if (def.options !== undefined) o.options = [...def.options];
  if (def.icon !== undefined) o.icon = def.icon;
  if (def.diagnostic) o.entity_category = 'diagnostic';
  if (def.config) o.entity_category = 'config';
  if (def.disabled) o.enabled_by_default = false;
  return o;
}

/** Attributes from the state topic (both forms: HA does not share `json_attributes_topic` across a device's components). */
function attributeFields(a: Announcement, def: EntityDef): Record<string, unknown> {
  return def.attributes === undefined ? {} : { json_attributes_topic: a.stateTopic, json_attributes_template: attributesTemplate(def.attributes) };
}

/** Only sensors and binary sensors have `expire_after`; switches and numbers follow the availability. */
const expires = (def: EntityDef): boolean => def.component === 'sensor' || def.component === 'binary_sensor';

/** Command keys of a switch or number: its command topic, ON/OFF payloads or range and box mode. */
function commandFields(a: Announcement, def: EntityDef): Record<string, unknown> {
  const c = def.command;
  if (!c || a.commandPrefix === undefined) return {};
  const o: Record<string, unknown> = { command_topic: `${a.commandPrefix}/${c.setting}` };
  if (def.component === 'switch') {
    o.payload_on = 'ON';
    o.payload_off = 'OFF';
  } else if (def.component === 'number') {
    o.min = c.min;
    o.max = c.max;
    o.step = c.step;
    o.mode = 'box';
  }
  return o;
}

function availabilityList(a: Announcement): { topic: string }[] {
  return a.availability.map((topic) => ({ topic }));
}

/** The per-entity config payload of one entity (an object, not yet serialised). */
export function entityConfig(a: Announcement, def: EntityDef): Record<string, unknown> {
  const uid = uniqueId(a.deviceId, def.key);
  const o: Record<string, unknown> = {
    name: def.name,
    unique_id: uid,
    default_entity_id: `${def.component}.${entitySlug(uid)}`,
    state_topic: a.stateTopic,
    value_template: valueTemplate(def),
    ...attributeFields(a, def),
    ...commandFields(a, def),
    ...entityFields(def),
    availability: availabilityList(a),
  };
  if (a.availability.length > 1) o.availability_mode = 'all';
  if (a.expireAfter > 0 && expires(def)) o.expire_after = a.expireAfter;
  o.device = { ...a.device, identifiers: [...a.device.identifiers] };
  o.origin = originBlock(a.origin);
  return o;
}

function originBlock(o: Origin): Record<string, string> {
  const b: Record<string, string> = { name: o.name, sw_version: o.version };
  if (o.url) b.support_url = o.url;
  return b;
}

/** Per-entity discovery: one retained message per entity. */
export function entityConfigs(a: Announcement, defs: readonly EntityDef[]): MqttMessage[] {
  return defs.map((def) => ({
    topic: entityConfigTopic(a.discoveryPrefix, def.component, uniqueId(a.deviceId, def.key)),
    payload: JSON.stringify(entityConfig(a, def)),
    retain: true,
    qos: a.qos,
  }));
}

/** The device-based config payload (an object). `removed`: components to delete (key → platform). */
export function deviceConfigPayload(a: Announcement, defs: readonly EntityDef[], removed: Readonly<Record<string, Component>> = {}): Record<string, unknown> {
  const d = a.device;
  const dev: Record<string, unknown> = { ids: [...d.identifiers], name: d.name, mf: d.manufacturer };
  if (d.model !== undefined) dev.mdl = d.model;
  if (d.sw_version !== undefined) dev.sw = d.sw_version;
  if (d.hw_version !== undefined) dev.hw = d.hw_version;
  if (d.serial_number !== undefined) dev.sn = d.serial_number;
  const o: Record<string, string> = { name: a.origin.name, sw: a.origin.version };
  if (a.origin.url) o.url = a.origin.url;
  const cmps: Record<string, Record<string, unknown>> = {};
  for (const def of defs) {
    const uid = uniqueId(a.deviceId, def.key);
    const c: Record<string, unknown> = {
      p: def.component,
      name: def.name,
      unique_id: uid,
      default_entity_id: `${def.component}.${entitySlug(uid)}`,
      ...entityFields(def),
      value_template: valueTemplate(def),
      ...attributeFields(a, def),
      ...commandFields(a, def),
    };
    if (a.expireAfter > 0 && expires(def)) c.expire_after = a.expireAfter;
    cmps[def.key] = c;
  }
  // HA removes a component of a device config that is sent with its platform only.
  for (const [key, p] of Object.entries(removed)) if (!(key in cmps)) cmps[key] = { p };
  const payload: Record<string, unknown> = { dev, o, state_topic: a.stateTopic, availability: availabilityList(a) };
  if (a.availability.length > 1) payload.availability_mode = 'all';
  payload.qos = a.qos;
  payload.cmps = cmps;
  return payload;
}

export function deviceConfig(a: Announcement, defs: readonly EntityDef[], removed: Readonly<Record<string, Component>> = {}): MqttMessage {
  return {
    topic: deviceConfigTopic(a.discoveryPrefix, a.deviceId),
    payload: JSON.stringify(deviceConfigPayload(a, defs, removed)),
    retain: true,
    qos: a.qos,
  };
}

/** Shared types of the Home Assistant MQTT discovery code (pure, no Node-RED imports). */
import type { BmsIdentity } from '../messages/message';

export type Qos = 0 | 1 | 2;

/** One message for the core `mqtt out` node. */
export interface MqttMessage {
  topic: string;
  /** Always a string: JSON, `online`/`offline`, or `""` (deletes a retained message). */
  payload: string;
  retain: boolean;
  qos: Qos;
}

export type Component = 'sensor' | 'binary_sensor' | 'switch' | 'number';

/** `core` entities are always published; the other groups are editor checkboxes. */
export type EntityGroup = 'core' | 'cells' | 'resistances' | 'temperatures' | 'details' | 'device' | 'energy';
export type OptionalGroup = Exclude<EntityGroup, 'core'>;
export type EntityGroups = Record<OptionalGroup, boolean>;

/** Who publishes the discovery messages (HA "origin" block). */
export interface Origin {
  name: string;
  version: string;
  url?: string;
}

/** HA device block (per-entity discovery spelling; abbreviated for device-based discovery). */
export interface DeviceInfo {
  identifiers: string[];
  name: string;
  manufacturer: string;
  model?: string;
  sw_version?: string;
  hw_version?: string;
  serial_number?: string;
}

export type DiscoveryMode = 'entity' | 'device';

export interface HaOptions {
  /** Discovery prefix, `homeassistant` by default. */
  discoveryPrefix: string;
  /** Base of our state and availability topics, `jkbms` by default. */
  baseTopic: string;
  mode: DiscoveryMode;
  groups: EntityGroups;
  /** HA `expire_after`, s; 0 = not set. */
  expireAfter: number;
  qos: Qos;
  /**
   * Publish a pack's (and a bank's) state at most every this many seconds, the latest values
   * winning; 0 = every live frame. Alarm, MOS and switch changes are published at once.
   */
  rateLimit: number;
  /**
   * How long a pack whose serial number is not known yet (and can be learned on its bus) waits
   * for it before it is announced under its provisional id, s.
   */
  serialWait: number;
  /** Longest gap between live frames that is still integrated into the energy counters, s. */
  energyMaxGap: number;
  origin: Origin;
  /**
   * Announce switch and number entities (charging, discharging, balancer, ... and the common
   * settings) for packs whose bus allows writes; their commands become write requests for a
   * `jkbms-write` node. Default false.
   */
  controls?: boolean;
  /** With `controls`: also announce protection thresholds (SettingDef.protection). Default false. */
  protection?: boolean;
}

/**
 * A write request made from a Home Assistant command, for a `jkbms-write` node (jkbms-ha's
 * second output): `msg.payload = {address, setting, value}` and `msg.bms` of the pack.
 */
export interface WriteRequest {
  /** The command topic it came from. */
  topic: string;
  payload: { address: number; setting: string; value: number | boolean | string };
  /** The pack's identity, as a jkbms node puts it in msg.bms. */
  bms: BmsIdentity;
}

/**
 * The announced-config registry: what we published for each HA device (its retained config
 * topics, its device-based components and its availability topic), persisted in the node's
 * context. With it a later announcement deletes what it no longer publishes (a dropped cell, a
 * mode switch, a moved availability topic), a replaced device (a provisional id, an old bank id)
 * is deleted, and `remove` knows what to delete, also after a restart.
 */
import { deletion } from './discovery';
import type { Component, MqttMessage, Qos } from './types';

export interface AnnouncedDevice {
  /** A pack, or the bank of bus `busId`. Registries stored before banks existed hold packs only. */
  kind: 'pack' | 'bank';
  busId: string;
  /** The pack's DIP address; null for a bank. */
  address: number | null;
  /** Retained config topics currently published. */
  topics: string[];
  /** Device-based discovery: component key → platform, to remove dropped components. */
  components: Record<string, Component>;
  /** The retained availability topic. */
  availability: string;
}

const COMPONENTS: readonly Component[] = ['sensor', 'binary_sensor', 'switch', 'number'];
const strings = (x: unknown): x is string[] => Array.isArray(x) && x.every((t) => typeof t === 'string');

/** A stored registry, checked entry by entry: anything malformed is left out. */
export function parseAnnounced(value: unknown): Record<string, AnnouncedDevice> {
  const out: Record<string, AnnouncedDevice> = {};
  if (!value || typeof value !== 'object') return out;
  for (const [id, e] of Object.entries(value as Record<string, unknown>)) {
    if (!e || typeof e !== 'object') continue;
    const d = e as Record<string, unknown>;
    const kind = d.kind === 'bank' ? 'bank' : 'pack';
    const address = kind === 'bank' ? null : d.address;
    if (typeof d.busId !== 'string' || (address !== null && !Number.isInteger(address)) || !strings(d.topics) || typeof d.availability !== 'string') continue;
    const comps: Record<string, Component> = {};
    if (d.components && typeof d.components === 'object') {
      for (const [k, p] of Object.entries(d.components as Record<string, unknown>)) if (COMPONENTS.includes(p as Component)) comps[k] = p as Component;
    }
    out[id] = { kind, busId: d.busId, address: address as number | null, topics: [...d.topics], components: comps, availability: d.availability };
  }
  return out;
}

export class AnnouncedRegistry {
  private entries: Record<string, AnnouncedDevice> = {};

  constructor(private readonly onChange: () => void) {}

  get(deviceId: string): AnnouncedDevice | undefined {
    return this.entries[deviceId];
  }

  /** Device ids whose entry matches. */
  find(match: (deviceId: string, e: AnnouncedDevice) => boolean): string[] {
    return Object.entries(this.entries)
      .filter(([id, e]) => match(id, e))
      .map(([id]) => id);
  }

  /** Merge a stored registry (a restart, or a late asynchronous context store): topic lists are united. */
  merge(stored: unknown): void {
    for (const [id, e] of Object.entries(parseAnnounced(stored))) {
      const cur = this.entries[id];
      this.entries[id] = cur ? { ...cur, topics: [...new Set([...cur.topics, ...e.topics])], components: { ...e.components, ...cur.components } } : e;
    }
  }

  /** Components of the previous announcement under this id that the next one (`keys`) drops. */
  droppedComponents(deviceId: string, keys: ReadonlySet<string>): Record<string, Component> {
    const out: Record<string, Component> = {};
    for (const [k, p] of Object.entries(this.entries[deviceId]?.components ?? {})) if (!keys.has(k)) out[k] = p;
    return out;
  }

  /**
   * Record an announcement. Returns the deletions for what the previous one under this id
   * published and this one does not (config topics, a moved availability topic), and whether
   * the availability topic moved (then the availability must be published again).
   */
  record(deviceId: string, next: AnnouncedDevice, qos: Qos): { deletions: MqttMessage[]; moved: boolean } {
    const prev = this.entries[deviceId];
    const deletions: MqttMessage[] = [];
    if (prev) {
      const keep = new Set(next.topics);
      deletions.push(...prev.topics.filter((t) => !keep.has(t)).map((t) => deletion(t, qos)));
      if (prev.availability !== next.availability) deletions.push(deletion(prev.availability, qos));
    }
    this.entries[deviceId] = next;
    this.onChange();
    return { deletions, moved: prev !== undefined && prev.availability !== next.availability };
  }

  /** Delete a replaced device from HA (its configs, its retained availability cleared). */
  retire(deviceId: string, qos: Qos): MqttMessage[] {
    const e = this.entries[deviceId];
    if (!e) return [];
    delete this.entries[deviceId];
    this.onChange();
    return [...e.topics.map((t) => deletion(t, qos)), deletion(e.availability, qos)];
  }

  /** Delete devices on request (`remove`): their configs, and their availability set `offline`. */
  remove(ids: readonly string[], qos: Qos): MqttMessage[] {
    const out: MqttMessage[] = [];
    for (const id of ids) {
      const e = this.entries[id];
      if (!e) continue;
      out.push(...e.topics.map((t) => deletion(t, qos)), { topic: e.availability, payload: 'offline', retain: true, qos });
      delete this.entries[id];
    }
    if (out.length) this.onChange();
    return out;
  }

  toJSON(): Record<string, AnnouncedDevice> {
    return structuredClone(this.entries);
  }
}

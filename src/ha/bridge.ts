/**
 * The Home Assistant bridge: turns checked `jkbms` messages into retained discovery configs,
 * per-pack JSON states and availability, for the core `mqtt out` node. Pure apart from the
 * injected clock, publish and persist callbacks, so it runs unchanged under a fake clock.
 *
 * Lifecycle of a pack (a "slot" = bus config id + address):
 * - Nothing is published for a slot until its first live frame (no phantom devices).
 * - It is announced under `jkbms_<busId>_<address>` until its serial number is known, then
 *   under `jkbms_<serial>`; the provisional entities are deleted (empty retained configs) and
 *   its energy counters move to the serial's.
 * - It is re-announced when its entity set or device block changes (cell count, present
 *   temperature sensors, settings or device info becoming known, firmware...), on HA's birth
 *   message, and after a `remove`. Entities that disappear get empty retained configs.
 * - The `announced` registry (config topics per device) and the energy counters are handed to
 *   `persist` (node context), so stale configs can be deleted and counters continue after a
 *   restart.
 *
 * The bank of a bus (a jkbms-bank summary routed in) is one more device, `jkbms_bank_<busId>`:
 * announced with its first summary, re-announced on HA's birth message and after a `remove`,
 * its state rate-limited like a pack's. It is `online` while the summary counts at least one
 * pack, `offline` when it counts none or when no summary came for `expireAfter` (its node or
 * bus stopped).
 *
 * Controls (option `controls`): once a pack's settings are known and `writable(busId)` says its
 * bus allows writes, its switches and numbers are announced with command topics. `control()`
 * turns an HA command into a write request (for a jkbms-write node), and a confirmed result
 * into an immediate state; a refused command or a failed write re-publishes the real state, so
 * HA's switch snaps back.
 */
import type { Clock, TimerHandle } from '../common/clock';
import { EnergyIntegrator, type EnergySnapshot, parseEnergy } from '../energy/integrator';
import type { InfoPayload, LivePayload, SettingsPayload } from '../protocol/types';
import { applyConfirmed, commandValue, type ControlInput, controlSettings } from './controls';
import { BANK_ENTITIES, type BankSummary, type BankView, bankDevice, bankState } from './bank';
import { type Announcement, deletion, deviceConfig, entityConfigs } from './discovery';
import { buildEntities, type EntityDef } from './entities';
import {
  bankDeviceId,
  bankTopics,
  bridgeAvailabilityTopic,
  commandPrefix,
  packDeviceId,
  type PackTopics,
  packTopics,
  parseCommandTopic,
  provisionalDeviceId,
  serialDeviceId,
  topicLevel,
  usableSerial,
} from './ids';
import type { BankRef, BmsRef, HaInput, RemoveTarget } from './input';
import { PACK_ENTITIES, type PackIdentity, type PackView, packDevice, packState } from './pack';
import { SendThrottle } from '../common/throttle';
import type { Component, DeviceInfo, HaOptions, MqttMessage, WriteRequest } from './types';

/** What we published for one HA device (persisted). */
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

export type PersistKey = 'energy' | 'announced';

export interface BridgeDeps {
  clock: Clock;
  /** Wall-clock ms (energy sample times, comparable across restarts). */
  wallNow: () => number;
  /** Messages produced outside `handle()` (rate-limited states). */
  publish: (msgs: MqttMessage[]) => void;
  persist: (key: PersistKey, value: unknown) => void;
  /** Whether packs of this bus may be written (its "allow writes" is on and it may transmit). Default: never. */
  writable?: (busId: string) => boolean;
}

export type ControlErrorCode = 'bad-command-topic' | 'unknown-pack' | 'controls-off' | 'not-a-control' | 'retained-command';

/** What a control message produced: states for the first output, a write request for the second, an error to report. */
export interface ControlOutcome {
  publish: MqttMessage[];
  request: WriteRequest | null;
  error: { code: ControlErrorCode; topic: string; setting: string } | null;
}

interface Slot {
  busId: string;
  busName: string;
  address: number;
  identity: PackIdentity;
  deviceId: string;
  live: LivePayload | null;
  settings: SettingsPayload | null;
  info: InfoPayload | null;
  integrator: EnergyIntegrator | null;
  online: boolean;
  /** Availability payload published for the current device this session. */
  published: 'online' | 'offline' | null;
  /** Signature of the last announcement this session (null = announce on the next live frame). */
  signature: string | null;
  throttle: SendThrottle;
}

/** The bank device of one bus, from its jkbms-bank summaries. */
interface BankSlot {
  busId: string;
  busName: string;
  deviceId: string;
  summary: BankSummary;
  /** No summary came for `expireAfter`. */
  silent: boolean;
  published: 'online' | 'offline' | null;
  signature: string | null;
  throttle: SendThrottle;
  silence: TimerHandle | null;
}

/** One device's announcement, for `configure()`. */
interface DeviceAnnouncement {
  kind: 'pack' | 'bank';
  busId: string;
  address: number | null;
  deviceId: string;
  device: DeviceInfo;
  defs: EntityDef[];
  topics: PackTopics;
  commandPrefix?: string;
}

function parseAnnounced(value: unknown): Record<string, AnnouncedDevice> {
  const out: Record<string, AnnouncedDevice> = {};
  if (!value || typeof value !== 'object') return out;
  for (const [id, e] of Object.entries(value as Record<string, unknown>)) {
    if (!e || typeof e !== 'object') continue;
    const d = e as Record<string, unknown>;
    const strings = (x: unknown): x is string[] => Array.isArray(x) && x.every((t) => typeof t === 'string');
    const kind = d.kind === 'bank' ? 'bank' : 'pack';
    const address = kind === 'bank' ? null : d.address;
    if (typeof d.busId !== 'string' || (address !== null && !Number.isInteger(address)) || !strings(d.topics) || typeof d.availability !== 'string') continue;
    const comps: Record<string, Component> = {};
    if (d.components && typeof d.components === 'object') {
      for (const [k, p] of Object.entries(d.components as Record<string, unknown>)) {
        if (p === 'sensor' || p === 'binary_sensor' || p === 'switch' || p === 'number') comps[k] = p;
      }
    }
    out[id] = { kind, busId: d.busId, address: address as number | null, topics: [...d.topics], components: comps, availability: d.availability };
  }
  return out;
}

export class HaBridge {
  private readonly slots = new Map<string, Slot>();
  /** By bus id. */
  private readonly banks = new Map<string, BankSlot>();
  private readonly energy = new Map<string, EnergySnapshot>();
  private announced: Record<string, AnnouncedDevice> = {};
  private restored = false;

  constructor(
    private readonly opts: HaOptions,
    private readonly deps: BridgeDeps,
  ) {}

  /**
   * Merge what a previous run stored (node context). May come after the first messages (an
   * asynchronous context store): counters add up, topic lists are united. Until this has
   * run, nothing is persisted, so the stored values are never overwritten unread.
   */
  restore(stored: { energy?: unknown; announced?: unknown }): void {
    if (stored.energy && typeof stored.energy === 'object') {
      for (const [id, raw] of Object.entries(stored.energy as Record<string, unknown>)) {
        const snap = parseEnergy(raw);
        if (!snap) continue;
        const slot = [...this.slots.values()].find((s) => s.deviceId === id && s.integrator);
        if (slot?.integrator) {
          slot.integrator.absorb(snap);
          this.energy.set(id, slot.integrator.snapshot());
        } else {
          this.energy.set(id, snap);
        }
      }
    }
    for (const [id, e] of Object.entries(parseAnnounced(stored.announced))) {
      const cur = this.announced[id];
      this.announced[id] = cur
        ? { ...cur, topics: [...new Set([...cur.topics, ...e.topics])], components: { ...e.components, ...cur.components } }
        : e;
    }
    this.restored = true;
    this.persistEnergy();
    this.persistAnnounced();
  }

  /** What `persist` would store now (energy counters and the announced registry). */
  stored(): { energy: Record<string, EnergySnapshot>; announced: Record<string, AnnouncedDevice> } {
    return { energy: Object.fromEntries(this.energy), announced: structuredClone(this.announced) };
  }

  /** Messages to publish when the node starts: the bridge is online. */
  start(): MqttMessage[] {
    return [this.bridgeOnline()];
  }

  /** Stop timers (node close). */
  stop(): void {
    for (const s of this.slots.values()) s.throttle.cancel();
    for (const b of this.banks.values()) {
      b.throttle.cancel();
      this.deps.clock.clearTimeout(b.silence);
      b.silence = null;
    }
  }

  /** Packs seen with at least one live frame and banks seen, and how many of each are offline. */
  counts(): { packs: number; offline: number; banks: number; banksOffline: number } {
    let packs = 0;
    let offline = 0;
    for (const s of this.slots.values()) {
      if (!s.live) continue;
      packs++;
      if (!s.online) offline++;
    }
    const banks = [...this.banks.values()];
    return { packs, offline, banks: banks.length, banksOffline: banks.filter((b) => !this.bankOnline(b)).length };
  }

  /** Handle one checked input; returns the messages to publish now, in order. */
  handle(input: HaInput): MqttMessage[] {
    switch (input.kind) {
      case 'birth':
        return input.online ? this.reannounceAll() : [];
      case 'remove':
        return this.remove(input.target);
      case 'live': {
        const { slot, out } = this.slotFor(input.bms, null);
        slot.live = input.payload;
        slot.online = true;
        if (slot.integrator) {
          slot.integrator.add(input.at ?? this.deps.wallNow(), input.payload.power);
          this.energy.set(slot.deviceId, slot.integrator.snapshot());
          this.persistEnergy();
        }
        out.push(...this.announceIfChanged(slot), ...this.availability(slot, false));
        if (slot.throttle.request()) out.push(this.stateMessage(slot));
        return out;
      }
      case 'settings':
      case 'info': {
        const serial = input.kind === 'info' ? input.payload.serialNumber : null;
        const { slot, out } = this.slotFor(input.bms, serial);
        if (input.kind === 'settings') slot.settings = input.payload;
        else slot.info = input.payload;
        if (slot.live) out.push(...this.announceIfChanged(slot), ...this.availability(slot, false));
        return out;
      }
      case 'availability': {
        const { slot, out } = this.slotFor(input.bms, null);
        slot.online = input.online;
        if (slot.live) out.push(...this.availability(slot, false));
        return out;
      }
      case 'bank':
        return this.bankSummary(input.bank, input.summary);
    }
  }

  /** Handle a control message (src/ha/controls.ts). */
  control(input: ControlInput): ControlOutcome {
    const none: ControlOutcome = { publish: [], request: null, error: null };
    switch (input.kind) {
      case 'ignored':
        return none;
      case 'command':
        return this.command(input.topic, input.text, input.retained);
      case 'written': {
        const slot = this.slots.get(`${input.bms.busId}/${input.bms.address}`);
        if (!slot) return none;
        const { setting, after } = input.result;
        if (slot.settings && after !== null) slot.settings = applyConfirmed(slot.settings, setting, after);
        return { ...none, publish: this.stateNow(slot) };
      }
      case 'write-failed': {
        const slot = this.slots.get(`${input.bms.busId}/${input.bms.address}`);
        return { ...none, publish: slot ? this.stateNow(slot) : [] };
      }
    }
  }

  /** An HA command → a write request for the pack whose command topic it is. */
  private command(topic: string, text: string, retained: boolean): ControlOutcome {
    const parsed = parseCommandTopic(this.opts.baseTopic, topic);
    const refuse = (code: ControlErrorCode, publish: MqttMessage[] = []): ControlOutcome => ({
      publish,
      request: null,
      error: { code, topic, setting: parsed?.setting ?? '' },
    });
    if (!parsed) return refuse('bad-command-topic');
    const slot = [...this.slots.values()].find((s) => s.live && this.commandPrefixOf(s) === parsed.prefix);
    // A refused command re-publishes the real state: HA's switch or number snaps back.
    if (retained) return refuse('retained-command', slot ? this.stateNow(slot) : []);
    if (!slot) return refuse('unknown-pack');
    if (this.opts.controls !== true) return refuse('controls-off', this.stateNow(slot));
    const def = this.hasControls(slot) ? controlSettings(this.opts.protection === true).find((d) => d.name === parsed.setting) : undefined;
    if (!def) return refuse('not-a-control', this.stateNow(slot));
    const id = slot.identity;
    return {
      publish: [],
      request: {
        topic,
        payload: { address: slot.address, setting: def.name, value: commandValue(def, text) },
        bms: {
          bus: slot.busName,
          busId: slot.busId,
          address: slot.address,
          serialNumber: id.serialNumber,
          model: id.model,
          hardwareVersion: id.hardwareVersion,
          softwareVersion: id.softwareVersion,
          name: id.name,
        },
      },
      error: null,
    };
  }

  // ---------------------------------------------------------------- slots and ids

  private slotFor(bms: BmsRef, infoSerial: string | null): { slot: Slot; out: MqttMessage[] } {
    const key = `${bms.busId}/${bms.address}`;
    const serial = usableSerial(bms.identity.serialNumber) ?? usableSerial(infoSerial);
    const identity: PackIdentity = { ...bms.identity, serialNumber: serial };
    let slot = this.slots.get(key);
    const out: MqttMessage[] = [];
    if (!slot) {
      const deviceId = packDeviceId(bms.busId, bms.address, serial);
      const created: Slot = {
        busId: bms.busId,
        busName: bms.bus,
        address: bms.address,
        identity,
        deviceId,
        live: null,
        settings: null,
        info: null,
        integrator: null,
        online: true,
        published: null,
        signature: null,
        throttle: new SendThrottle(this.deps.clock, this.opts.rateLimit * 1000, () => this.publishDueState(created)),
      };
      slot = created;
      this.slots.set(key, slot);
      this.attachEnergy(slot, null);
      return { slot, out };
    }
    slot.busName = bms.bus;
    const known = usableSerial(slot.identity.serialNumber);
    if (serial !== null && serial !== known) {
      // A serial appears (provisional → serial) or a different pack now answers at this address.
      const previous = slot.integrator?.snapshot() ?? null;
      if (known !== null) {
        out.push(...this.leave(slot));
        slot.live = null;
        slot.settings = null;
        slot.info = null;
      }
      slot.identity = identity;
      slot.deviceId = serialDeviceId(serial);
      slot.signature = null;
      slot.published = null;
      this.attachEnergy(slot, known === null ? previous : null);
    } else {
      // Keep a known serial (and other known fields) when a message lacks them.
      slot.identity = {
        serialNumber: known,
        model: identity.model ?? slot.identity.model,
        hardwareVersion: identity.hardwareVersion ?? slot.identity.hardwareVersion,
        softwareVersion: identity.softwareVersion ?? slot.identity.softwareVersion,
        name: identity.name ?? slot.identity.name,
      };
    }
    return { slot, out };
  }

  /**
   * Give a slot the energy counter of its current device id, continuing the stored one. A
   * serial-identified pack also takes over what was counted under its provisional id
   * (`carried` from this session, or a stored provisional counter from an earlier run).
   */
  private attachEnergy(slot: Slot, carried: EnergySnapshot | null): void {
    if (!this.opts.groups.energy) return;
    const stored = this.energy.get(slot.deviceId);
    slot.integrator = new EnergyIntegrator(this.opts.energyMaxGap * 1000, stored);
    const provisional = provisionalDeviceId(slot.busId, slot.address);
    if (slot.deviceId !== provisional) {
      const old = carried ?? this.energy.get(provisional);
      if (old) slot.integrator.absorb(old);
      this.energy.delete(provisional);
    }
    this.energy.set(slot.deviceId, slot.integrator.snapshot());
    this.persistEnergy();
  }

  /** A pack left its slot (another serial answers there): mark it offline, keep its configs. */
  private leave(slot: Slot): MqttMessage[] {
    slot.throttle.cancel();
    const entry = this.announced[slot.deviceId];
    return entry && slot.published === 'online' ? [this.availabilityMessage(entry.availability, 'offline')] : [];
  }

  // ---------------------------------------------------------------- publishing

  private view(slot: Slot): PackView {
    const live = slot.live as LivePayload;
    return {
      address: slot.address,
      identity: slot.identity,
      live,
      settings: slot.settings,
      info: slot.info,
      energy: slot.integrator ? { chargedKWh: slot.integrator.chargedKWh, dischargedKWh: slot.integrator.dischargedKWh } : null,
      controls: this.hasControls(slot) ? { protection: this.opts.protection === true } : null,
    };
  }

  /** Controls for a slot: the option is on, its settings are known, its bus may be written, and it is not the JK master. */
  private hasControls(slot: Slot): boolean {
    return this.opts.controls === true && slot.settings !== null && slot.address !== 0 && this.deps.writable?.(slot.busId) === true;
  }

  private commandPrefixOf(slot: Slot): string {
    return commandPrefix(this.opts.baseTopic, topicLevel(slot.busName, slot.busId), slot.deviceId);
  }

  private topics(slot: Slot) {
    return packTopics(this.opts.baseTopic, topicLevel(slot.busName, slot.busId), slot.deviceId);
  }

  /** Re-announce a slot if needed, preceded by the bridge availability (online before HA sees the configs). */
  private announceIfChanged(slot: Slot): MqttMessage[] {
    const msgs = this.announce(slot, false);
    return msgs.length ? [this.bridgeOnline(), ...msgs] : [];
  }

  /** Announce (or re-announce) a slot's device if its entity set or device block changed, or `force`. */
  private announce(slot: Slot, force: boolean): MqttMessage[] {
    const view = this.view(slot);
    const defs = buildEntities(PACK_ENTITIES, view, this.opts.groups);
    const device = packDevice(slot.deviceId, view);
    const topics = this.topics(slot);
    const signature = JSON.stringify([device, topics, defs.map((d) => d.key)]);
    if (!force && signature === slot.signature) return [];

    const out: MqttMessage[] = [];
    // A provisional device of this slot (this session or an earlier one) is replaced.
    const provisional = provisionalDeviceId(slot.busId, slot.address);
    if (provisional !== slot.deviceId && this.announced[provisional]) {
      const p = this.announced[provisional];
      out.push(...p.topics.map((t) => deletion(t, this.opts.qos)), deletion(p.availability, this.opts.qos));
      delete this.announced[provisional];
    }
    const { msgs, moved } = this.configure({
      kind: 'pack',
      busId: slot.busId,
      address: slot.address,
      deviceId: slot.deviceId,
      device,
      defs,
      topics,
      commandPrefix: this.commandPrefixOf(slot),
    });
    out.push(...msgs);
    slot.signature = signature;
    if (moved) slot.published = null;
    return out;
  }

  /**
   * The retained configs of a device, replacing what was announced under its id before (dropped
   * entities and a moved availability topic are deleted), recorded in the registry.
   * `moved`: its availability topic changed (publish the availability again).
   */
  private configure(d: DeviceAnnouncement): { msgs: MqttMessage[]; moved: boolean } {
    const { qos, mode, discoveryPrefix, expireAfter, origin } = this.opts;
    const a: Announcement = {
      discoveryPrefix,
      deviceId: d.deviceId,
      device: d.device,
      origin,
      stateTopic: d.topics.state,
      availability: [d.topics.availability, bridgeAvailabilityTopic(this.opts.baseTopic)],
      expireAfter,
      qos,
      ...(d.commandPrefix === undefined ? {} : { commandPrefix: d.commandPrefix }),
    };
    const prev = this.announced[d.deviceId];
    const keys = new Set(d.defs.map((x) => x.key));
    const removedComponents: Record<string, Component> = {};
    if (prev && mode === 'device') {
      for (const [k, p] of Object.entries(prev.components)) if (!keys.has(k)) removedComponents[k] = p;
    }
    const configs = mode === 'device' ? [deviceConfig(a, d.defs, removedComponents)] : entityConfigs(a, d.defs);
    const newTopics = configs.map((m) => m.topic);

    const msgs: MqttMessage[] = [];
    if (prev) {
      const keep = new Set(newTopics);
      msgs.push(...prev.topics.filter((t) => !keep.has(t)).map((t) => deletion(t, qos)));
      if (prev.availability !== d.topics.availability) msgs.push(deletion(prev.availability, qos));
    }
    msgs.push(...configs);
    this.announced[d.deviceId] = {
      kind: d.kind,
      busId: d.busId,
      address: d.address,
      topics: newTopics,
      components: mode === 'device' ? Object.fromEntries(d.defs.map((x) => [x.key, x.component])) : {},
      availability: d.topics.availability,
    };
    this.persistAnnounced();
    return { msgs, moved: prev !== undefined && prev.availability !== d.topics.availability };
  }

  /** The slot's availability, if it differs from what was published (or `force`). */
  private availability(slot: Slot, force: boolean): MqttMessage[] {
    if (slot.signature === null) return [];
    const want = slot.online ? 'online' : 'offline';
    if (!force && slot.published === want) return [];
    slot.published = want;
    return [this.availabilityMessage(this.topics(slot).availability, want)];
  }

  private availabilityMessage(topic: string, payload: 'online' | 'offline'): MqttMessage {
    return { topic, payload, retain: true, qos: this.opts.qos };
  }

  private bridgeOnline(): MqttMessage {
    return this.availabilityMessage(bridgeAvailabilityTopic(this.opts.baseTopic), 'online');
  }

  private stateMessage(slot: Slot): MqttMessage {
    return { topic: this.topics(slot).state, payload: JSON.stringify(packState(this.view(slot))), retain: false, qos: this.opts.qos };
  }

  /** The slot's state now, when it has been announced. */
  private stateNow(slot: Slot): MqttMessage[] {
    return slot.live && slot.signature !== null ? [this.stateMessage(slot)] : [];
  }

  private publishDueState(slot: Slot): void {
    if (slot.live && slot.signature !== null) this.deps.publish([this.stateMessage(slot)]);
  }

  private reannounceAll(): MqttMessage[] {
    const out: MqttMessage[] = [this.bridgeOnline()];
    for (const slot of this.slots.values()) {
      if (slot.live) out.push(...this.announce(slot, true), ...this.availability(slot, true));
    }
    for (const bank of this.banks.values()) out.push(...this.announceBank(bank, true), ...this.bankAvailability(bank, true));
    return out;
  }

  // ---------------------------------------------------------------- banks

  /** A jkbms-bank summary: (re-)announce the bank if needed, its availability, its state (rate permitting). */
  private bankSummary(ref: BankRef, summary: BankSummary): MqttMessage[] {
    let bank = this.banks.get(ref.busId);
    if (!bank) {
      const created: BankSlot = {
        busId: ref.busId,
        busName: ref.bus,
        deviceId: bankDeviceId(ref.busId),
        summary,
        silent: false,
        published: null,
        signature: null,
        throttle: new SendThrottle(this.deps.clock, this.opts.rateLimit * 1000, () => this.publishDueBankState(created)),
        silence: null,
      };
      bank = created;
      this.banks.set(ref.busId, bank);
    }
    bank.busName = ref.bus;
    bank.summary = summary;
    bank.silent = false;
    this.watchSilence(bank);
    const announced = this.announceBank(bank, false);
    const out = [...(announced.length ? [this.bridgeOnline(), ...announced] : []), ...this.bankAvailability(bank, false)];
    if (bank.throttle.request()) out.push(this.bankStateMessage(bank));
    return out;
  }

  /** No summary for `expireAfter` (0 = never): the bank goes offline. */
  private watchSilence(bank: BankSlot): void {
    this.deps.clock.clearTimeout(bank.silence);
    bank.silence = null;
    if (this.opts.expireAfter <= 0) return;
    bank.silence = this.deps.clock.setTimeout(() => {
      bank.silence = null;
      bank.silent = true;
      const out = this.bankAvailability(bank, false);
      if (out.length) this.deps.publish(out);
    }, this.opts.expireAfter * 1000);
  }

  private bankView(bank: BankSlot): BankView {
    return { busName: bank.busName, summary: bank.summary };
  }

  private bankTopics(bank: BankSlot): PackTopics {
    return bankTopics(this.opts.baseTopic, topicLevel(bank.busName, bank.busId));
  }

  private announceBank(bank: BankSlot, force: boolean): MqttMessage[] {
    const view = this.bankView(bank);
    const defs = buildEntities(BANK_ENTITIES, view, this.opts.groups);
    const device = bankDevice(bank.deviceId, view);
    const topics = this.bankTopics(bank);
    const signature = JSON.stringify([device, topics, defs.map((d) => d.key)]);
    if (!force && signature === bank.signature) return [];
    const { msgs, moved } = this.configure({ kind: 'bank', busId: bank.busId, address: null, deviceId: bank.deviceId, device, defs, topics });
    bank.signature = signature;
    if (moved) bank.published = null;
    return msgs;
  }

  /** Online while the summary counts a pack and summaries keep coming. */
  private bankOnline(bank: BankSlot): boolean {
    return !bank.silent && bank.summary.packsOnline > 0;
  }

  private bankAvailability(bank: BankSlot, force: boolean): MqttMessage[] {
    if (bank.signature === null) return [];
    const want = this.bankOnline(bank) ? 'online' : 'offline';
    if (!force && bank.published === want) return [];
    bank.published = want;
    return [this.availabilityMessage(this.bankTopics(bank).availability, want)];
  }

  private bankStateMessage(bank: BankSlot): MqttMessage {
    return { topic: this.bankTopics(bank).state, payload: JSON.stringify(bankState(this.bankView(bank))), retain: false, qos: this.opts.qos };
  }

  private publishDueBankState(bank: BankSlot): void {
    if (bank.signature !== null) this.deps.publish([this.bankStateMessage(bank)]);
  }

  // ---------------------------------------------------------------- removal

  private remove(target: RemoveTarget): MqttMessage[] {
    const ids = new Set<string>();
    const matches = (deviceId: string, e: AnnouncedDevice): boolean =>
      target.all === true ||
      (e.kind === 'bank'
        ? target.bank === true
        : (target.address !== undefined && target.address === e.address) ||
          (target.serialNumber !== undefined && deviceId === serialDeviceId(target.serialNumber)));
    for (const [id, e] of Object.entries(this.announced)) if (matches(id, e)) ids.add(id);
    const out: MqttMessage[] = [];
    for (const id of ids) {
      const e = this.announced[id]!;
      out.push(...e.topics.map((t) => deletion(t, this.opts.qos)), this.availabilityMessage(e.availability, 'offline'));
      delete this.announced[id];
    }
    for (const device of [...this.slots.values(), ...this.banks.values()]) {
      if (ids.has(device.deviceId)) {
        device.signature = null;
        device.published = null;
      }
    }
    if (ids.size) this.persistAnnounced();
    return out;
  }

  // ---------------------------------------------------------------- persistence

  private persistEnergy(): void {
    if (this.restored && this.opts.groups.energy) this.deps.persist('energy', Object.fromEntries(this.energy));
  }

  private persistAnnounced(): void {
    if (this.restored) this.deps.persist('announced', structuredClone(this.announced));
  }
}

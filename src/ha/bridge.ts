/**
 * The Home Assistant bridge: turns checked `jkbms`, `jkbms-bank` and `jkbms-health` messages
 * into retained discovery configs, JSON states and availability for the core `mqtt out` node. Pure apart from
 * the injected clock, publish and persist callbacks, so it runs unchanged under a fake clock.
 *
 * Each HA device is a slot (src/ha/slot.ts): a pack per bus + address (src/ha/pack-slot.ts:
 * identity, serial wait, energy) or a bank per bus, named by its bank id (src/ha/bank-slot.ts). Nothing is
 * published for a pack before its first live frame, nor before the stored state has been read
 * back (`restore`). Persisted through `persist` (node context): the announced-config registry
 * (src/ha/registry.ts), the energy counters (src/energy/store.ts), what is known of the pack
 * at each bus + address: serial, device info, settings (src/ha/pack-memory.ts), and each
 * device's last health report (src/ha/health-memory.ts).
 *
 * Health (src/ha/health.ts) is no device of its own: a pack's report joins the pack's device,
 * the bank's report the bank's device (a jkbms-bank node must be wired in too; until its first
 * summary the bank's health waits).
 *
 * Controls (option `controls`, src/ha/commands.ts): an HA command becomes a write request for a
 * jkbms-write node, its confirmed result an immediate state; a refused command or a failed
 * write re-publishes the real state, so HA's switch snaps back.
 */
import type { Clock } from '../common/clock';
import { EnergyStore } from '../energy/store';
import type { BankIdentity } from '../bank/types';
import type { BmsIdentity } from '../messages/message';
import type { BankSummary } from './bank';
import { BankSlot } from './bank-slot';
import type { BankHealthView } from './health';
import { HealthMemory, type RememberedHealth } from './health-memory';
import { type ControlOutcome, handleCommand } from './commands';
import type { ControlInput } from './control-input';
import { bridgeAvailabilityTopic, serialDeviceId } from './ids';
import type { HaInput, RemoveTarget } from './input';
import { packInfo } from './pack-fields';
import { PackSlot } from './pack-slot';
import { type AnnouncedDevice, AnnouncedRegistry } from './registry';
import { type KnownPack, PackMemory } from './pack-memory';
import type { HaOptions, MqttMessage } from './types';

export type { AnnouncedDevice } from './registry';
export type { ControlErrorCode, ControlOutcome } from './commands';

export type PersistKey = 'energy' | 'announced' | 'packs' | 'health';

export interface BridgeDeps {
  clock: Clock;
  /** Wall-clock ms (energy sample times, comparable across restarts). */
  wallNow: () => number;
  /** Messages produced outside `handle()` (rate-limited states, timers). */
  publish: (msgs: MqttMessage[]) => void;
  persist: (key: PersistKey, value: unknown) => void;
  /** Whether packs of this bus may be written (its "allow writes" is on and it may transmit). Default: never. */
  writable?: (busId: string) => boolean;
  /**
   * Whether the serial number of this pack can be learned on its bus (the bus asks for device
   * info: it is not listen-only; and the pack is not the JK master). Default: yes, except address 0.
   */
  serialExpected?: (busId: string, address: number) => boolean;
}

export interface StoredState {
  energy?: unknown;
  announced?: unknown;
  packs?: unknown;
  health?: unknown;
}

export class HaBridge {
  private readonly packs = new Map<string, PackSlot>();
  /** By bus id: one bank device per bus. */
  private readonly banks = new Map<string, BankSlot>();
  private readonly registry: AnnouncedRegistry;
  private readonly energy: EnergyStore | null;
  private readonly memory: PackMemory;
  private readonly health: HealthMemory;
  /** By bus id: a bank health report that came before the bank's first summary. */
  private readonly bankHealth = new Map<string, BankHealthView>();
  private restored = false;

  constructor(
    private readonly opts: HaOptions,
    private readonly deps: BridgeDeps,
  ) {
    this.registry = new AnnouncedRegistry(() => this.persist('announced'));
    this.energy = opts.groups.energy ? new EnergyStore(opts.energyMaxGap * 1000, () => this.persist('energy')) : null;
    this.memory = new PackMemory(() => this.persist('packs'));
    this.health = new HealthMemory(() => this.persist('health'));
  }

  /**
   * Merge what a previous run stored (node context). May come after the first messages (an
   * asynchronous context store): counters add up, topic lists are united, what was learned of
   * a pack this session wins. Until this has run nothing is announced, and nothing is persisted, so the
   * stored values are never overwritten unread. Returns what becomes publishable now.
   */
  restore(stored: StoredState): MqttMessage[] {
    this.memory.merge(stored.packs);
    this.health.merge(stored.health);
    this.registry.merge(stored.announced);
    this.energy?.merge(stored.energy, (id) => [...this.packs.values()].map((s) => s.counter(id)).find((c) => c !== undefined));
    this.restored = true;
    for (const slot of this.packs.values()) {
      slot.adoptMemory();
      slot.adoptHealth();
      slot.remember();
    }
    for (const key of ['packs', 'announced', 'energy', 'health'] as const) this.persist(key);
    const banks = [...this.banks.values()].filter((b) => b.adoptHealth());
    return [...this.packs.values(), ...banks].flatMap((s) => [...s.update(), ...s.offerState()]);
  }

  /** What `persist` would store now. */
  stored(): { energy: unknown; announced: Record<string, AnnouncedDevice>; packs: Record<string, KnownPack>; health: Record<string, RememberedHealth> } {
    return { energy: this.energy?.toJSON() ?? {}, announced: this.registry.toJSON(), packs: this.memory.toJSON(), health: this.health.toJSON() };
  }

  /** Messages to publish when the node starts: the bridge is online. */
  start(): MqttMessage[] {
    return [{ topic: bridgeAvailabilityTopic(this.opts.baseTopic), payload: 'online', retain: true, qos: this.opts.qos }];
  }

  /** Stop timers (node close). */
  stop(): void {
    for (const s of [...this.packs.values(), ...this.banks.values()]) s.stop();
  }

  /** Packs seen with at least one live frame and banks seen, and how many of each are offline. */
  counts(): { packs: number; offline: number; banks: number; banksOffline: number } {
    const packs = [...this.packs.values()].filter((s) => s.live !== null);
    const banks = [...this.banks.values()];
    return { packs: packs.length, offline: packs.filter((s) => !s.online()).length, banks: banks.length, banksOffline: banks.filter((b) => !b.online()).length };
  }

  /** Handle one checked input; returns the messages to publish now, in order. */
  handle(input: HaInput): MqttMessage[] {
    switch (input.kind) {
      case 'birth':
        return input.online ? this.reannounceAll() : [];
      case 'remove':
        return this.remove(input.target);
      case 'live': {
        const slot = this.pack(input.bms);
        const out = slot.identify(input.bms, null);
        slot.takeLive(input.payload, input.at ?? this.deps.wallNow());
        return [...out, ...slot.update(), ...slot.offerState()];
      }
      case 'settings':
      case 'info': {
        const slot = this.pack(input.bms);
        const out = slot.identify(input.bms, input.kind === 'info' ? input.payload.serialNumber : null);
        if (input.kind === 'settings') slot.settings = input.payload;
        else slot.info = packInfo(input.payload);
        slot.remember();
        return slot.live ? [...out, ...slot.update(), ...slot.offerState()] : out;
      }
      case 'availability': {
        const slot = this.pack(input.bms);
        slot.identity = { ...slot.identity, bus: input.bms.bus };
        slot.busName = input.bms.bus;
        slot.isOnline = input.online;
        return slot.live ? slot.availability(false) : [];
      }
      case 'bank':
        return this.bank(input.bank, input.summary);
      case 'health': {
        const slot = this.pack(input.bms);
        const out = slot.identify(input.bms, input.serialNumber);
        slot.takeHealth(input.health);
        // Health alone never announces a pack: its entities join the device with its live data.
        return slot.live ? [...out, ...slot.update(), ...slot.offerState()] : out;
      }
      case 'health-bank': {
        const bank = this.banks.get(input.bus.busId);
        if (!bank) {
          // No bank device (yet): it takes this report with its first summary.
          this.bankHealth.set(input.bus.busId, input.health);
          return [];
        }
        bank.takeHealth(input.health);
        return [...bank.update(), ...bank.offerState()];
      }
    }
  }

  /** Handle a control message (src/ha/control-input.ts). */
  control(input: ControlInput): ControlOutcome {
    return handleCommand(input, this.opts, {
      slotFor: (bms) => this.packs.get(`${bms.busId}/${bms.address}`),
      slotWithPrefix: (prefix) => [...this.packs.values()].find((s) => s.live !== null && s.announced() && s.commandPrefix() === prefix),
    });
  }

  private pack(bms: BmsIdentity): PackSlot {
    const key = `${bms.busId}/${bms.address}`;
    let slot = this.packs.get(key);
    if (!slot) {
      slot = new PackSlot(bms, {
        opts: this.opts,
        clock: this.deps.clock,
        registry: this.registry,
        publish: (msgs) => this.deps.publish(msgs),
        energy: this.energy,
        memory: this.memory,
        health: this.health,
        restored: () => this.restored,
        serialExpected: this.deps.serialExpected ?? ((_busId, address) => address !== 0),
        writable: (busId) => this.deps.writable?.(busId) === true,
      });
      this.packs.set(key, slot);
    }
    return slot;
  }

  /** A jkbms-bank summary: (re-)announce the bank if needed, its availability, its state (rate permitting). */
  private bank(ref: BankIdentity, summary: BankSummary): MqttMessage[] {
    let bank = this.banks.get(ref.busId);
    if (!bank) {
      bank = new BankSlot(ref, summary, { opts: this.opts, clock: this.deps.clock, registry: this.registry, publish: (msgs) => this.deps.publish(msgs), health: this.health });
      this.banks.set(ref.busId, bank);
    }
    bank.take(ref, summary);
    const early = this.bankHealth.get(ref.busId);
    this.bankHealth.delete(ref.busId);
    if (early) bank.takeHealth(early);
    else bank.adoptHealth();
    return [...bank.update(), ...bank.offerState()];
  }

  private reannounceAll(): MqttMessage[] {
    const out: MqttMessage[] = this.start();
    // A pack without live data (or still waiting for its serial) announces nothing.
    for (const slot of [...this.packs.values(), ...this.banks.values()]) out.push(...slot.announce(true), ...slot.availability(true));
    return out;
  }

  private remove(target: RemoveTarget): MqttMessage[] {
    const ids = this.registry.find(
      (deviceId, e) =>
        target.all === true ||
        (e.kind === 'bank'
          ? target.bank === true
          : (target.address !== undefined && target.address === e.address) ||
            (target.serialNumber !== undefined && deviceId === serialDeviceId(target.serialNumber))),
    );
    const out = this.registry.remove(ids, this.opts.qos);
    this.health.forget(ids);
    for (const slot of [...this.packs.values(), ...this.banks.values()]) if (slot.deviceId !== null && ids.includes(slot.deviceId)) slot.forget();
    return out;
  }

  private persist(key: PersistKey): void {
    if (!this.restored) return;
    if (key === 'energy') {
      if (this.energy) this.deps.persist('energy', this.energy.toJSON());
    } else if (key === 'announced') this.deps.persist('announced', this.registry.toJSON());
    else if (key === 'health') this.deps.persist('health', this.health.toJSON());
    else this.deps.persist('packs', this.memory.toJSON());
  }
}

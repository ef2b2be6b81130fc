/**
 * A pack as an HA device (a DeviceSlot, src/ha/slot.ts): its data, its identity and its energy
 * counters. One slot per bus + address.
 *
 * Identity before announcement: the device id is `jkbms_<serial>`. The serial comes from
 * msg.bms or an info frame, or — from the first live frame — from what this bus + address had
 * before (PackMemory, persisted with the pack's info and settings), so a redeploy or a restart
 * announces the pack directly under its serial, with the same entities as before. A pack whose serial is not known yet is not announced until it is, for at most
 * `serialWait` seconds; a pack whose serial cannot be learned (a listen-only bus, the JK master
 * itself) or that did not tell it in time gets the provisional id `jkbms_<bus id>_<address>`,
 * the same on every deploy. A serial arriving later replaces the provisional device (deleted)
 * and carries its energy over; a different serial at the address (a pack swapped) marks the old
 * device offline, keeps its configs, and announces the new pack with its next live frame.
 *
 * Health (a jkbms-health node's reports) joins the device: its entities appear with the first
 * report (never before the pack's first live frame), and the last report is remembered by
 * device id (HealthMemory), so a redeploy announces them again at once.
 */
import type { TimerHandle } from '../common/clock';
import type { EnergyIntegrator } from '../energy/integrator';
import type { EnergyStore } from '../energy/store';
import type { BmsIdentity } from '../messages/message';
import type { LivePayload, SettingsPayload } from '../protocol/types';
import { applyConfirmed } from './controls';
import type { PackHealthView } from './health';
import type { HealthMemory } from './health-memory';
import { commandPrefix, type PackTopics, packTopics, provisionalDeviceId, serialDeviceId, topicLevel, usableSerial } from './ids';
import { PACK_ENTITIES, type PackView, packDevice, packState, packUrgentKey } from './pack';
import type { PackInfo } from './pack-fields';
import type { PackMemory } from './pack-memory';
import { DeviceSlot, type SlotContext } from './slot';
import type { AnnouncedDevice } from './registry';
import type { DeviceInfo, MqttMessage } from './types';

export interface PackContext extends SlotContext {
  /** Energy counters by device id; null when the energy group is off. */
  readonly energy: EnergyStore | null;
  readonly memory: PackMemory;
  /** The last health report of each device. */
  readonly health: HealthMemory;
  /** The stored state (serials, registry, counters) has been read: until then nothing is announced. */
  restored(): boolean;
  /** Whether the pack's serial number can be learned on its bus (it asks for device info, and it is not the JK master). */
  serialExpected(busId: string, address: number): boolean;
  /** Whether packs of this bus may be written (controls). */
  writable(busId: string): boolean;
}

export class PackSlot extends DeviceSlot<PackView> {
  protected readonly table = PACK_ENTITIES;
  readonly address: number;
  /** msg.bms as last seen, with the serial number the device id is based on (null: none yet). */
  identity: BmsIdentity;
  live: LivePayload | null = null;
  settings: SettingsPayload | null = null;
  info: PackInfo | null = null;
  /** The last jkbms-health report about this pack (null: none, no health entities). */
  health: PackHealthView | null = null;
  isOnline = true;
  private integrator: EnergyIntegrator | null;
  /** The device id the energy counter is saved under (null while the id is not known). */
  private attached: string | null = null;
  private waiting: TimerHandle | null = null;
  /** The wait for the serial number is over (announce provisionally). */
  private waited = false;

  constructor(
    bms: BmsIdentity,
    protected override readonly ctx: PackContext,
  ) {
    super('pack', bms.busId, bms.bus, ctx);
    this.address = bms.address;
    this.identity = { ...bms, serialNumber: null };
    this.integrator = ctx.energy?.fresh() ?? null;
  }

  /**
   * Take what a message says about the pack. A first serial gives the slot its serial id; a
   * different one means another pack answers at this address. Returns the old device's
   * `offline` when it had been announced.
   */
  identify(bms: BmsIdentity, infoSerial: string | null): MqttMessage[] {
    this.busName = bms.bus;
    const serial = usableSerial(bms.serialNumber) ?? usableSerial(infoSerial);
    const known = usableSerial(this.identity.serialNumber);
    const keep = <T>(next: T | null, prev: T | null) => next ?? prev;
    const merged: BmsIdentity = {
      ...bms,
      serialNumber: known,
      model: keep(bms.model, this.identity.model),
      hardwareVersion: keep(bms.hardwareVersion, this.identity.hardwareVersion),
      softwareVersion: keep(bms.softwareVersion, this.identity.softwareVersion),
      name: keep(bms.name, this.identity.name),
    };
    if (serial === null || serial === known) {
      this.identity = merged;
      return [];
    }
    const out: MqttMessage[] = [];
    const swapped = known !== null;
    if (swapped) {
      out.push(...(this.published === 'online' ? [this.message(this.topics().availability, 'offline', true)] : []));
      this.stop();
      this.live = null;
      this.settings = null;
      this.info = null;
      this.health = null;
      this.identity = { ...bms, serialNumber: serial };
    } else {
      this.identity = { ...merged, serialNumber: serial };
    }
    this.become(serialDeviceId(serial), swapped);
    return out;
  }

  /** Fill in what this slot does not know yet from what was remembered of the same pack (same serial, or both without one). */
  adoptMemory(): void {
    const known = this.ctx.memory.get(this.busId, this.address);
    if (!known || this.deviceId === null || known.serialNumber !== usableSerial(this.identity.serialNumber)) return;
    this.info ??= known.info;
    this.settings ??= known.settings;
  }

  /** The health last reported for this device, if this slot has none of its own (a redeploy, a restart). */
  adoptHealth(): void {
    if (this.deviceId !== null) this.health ??= this.ctx.health.pack(this.deviceId);
  }

  /** Remember what is known now (once the stored state has been read and the device id settled). */
  remember(): void {
    if (!this.ctx.restored() || this.deviceId === null) return;
    this.ctx.memory.set(this.busId, this.address, { serialNumber: usableSerial(this.identity.serialNumber), info: this.info, settings: this.settings });
    if (this.health) this.ctx.health.set(this.deviceId, { kind: 'pack', health: this.health });
  }

  /** A jkbms-health report about this pack. */
  takeHealth(health: PackHealthView): void {
    this.health = health;
    this.remember();
  }

  /** A live frame taken at `at` (wall-clock ms). */
  takeLive(payload: LivePayload, at: number): void {
    this.live = payload;
    this.isOnline = true;
    if (!this.integrator) return;
    this.integrator.add(at, payload.power);
    if (this.attached !== null) this.ctx.energy?.save(this.attached, this.integrator);
  }

  /** A confirmed write (jkbms-write result): the settings as the pack now has them. */
  confirmed(setting: string, after: number | boolean | null): void {
    if (this.settings && after !== null) this.settings = applyConfirmed(this.settings, setting, after);
    this.remember();
  }

  /** The running energy counter of `deviceId`, if this slot has it (late restore). */
  counter(deviceId: string): EnergyIntegrator | undefined {
    return this.attached === deviceId && this.integrator ? this.integrator : undefined;
  }

  /** Controls: the option is on, the settings are known, the bus may be written, and it is not the JK master. */
  hasControls(): boolean {
    return this.ctx.opts.controls === true && this.settings !== null && this.address !== 0 && this.ctx.writable(this.busId);
  }

  override commandPrefix(): string | undefined {
    return this.deviceId === null ? undefined : commandPrefix(this.ctx.opts.baseTopic, topicLevel(this.busName, this.busId), this.deviceId);
  }

  topics(): PackTopics {
    return packTopics(this.ctx.opts.baseTopic, topicLevel(this.busName, this.busId), this.deviceId ?? provisionalDeviceId(this.busId, this.address));
  }

  online(): boolean {
    return this.isOnline;
  }

  override stop(): void {
    super.stop();
    this.ctx.clock.clearTimeout(this.waiting);
    this.waiting = null;
  }

  protected ready(): boolean {
    return this.live !== null && this.ctx.restored() && this.settleId();
  }

  protected view(): PackView {
    const i = this.integrator;
    return {
      address: this.address,
      identity: this.identity,
      live: this.live as LivePayload,
      settings: this.settings,
      info: this.info,
      energy: i ? { chargedKWh: i.chargedKWh, dischargedKWh: i.dischargedKWh } : null,
      controls: this.hasControls() ? { protection: this.ctx.opts.protection === true } : null,
      health: this.health,
    };
  }

  protected device(view: PackView): DeviceInfo {
    return packDevice(this.deviceId!, view);
  }

  protected state(view: PackView): Record<string, unknown> {
    return packState(view);
  }

  protected urgentKey(): string {
    return this.live ? packUrgentKey({ live: this.live, settings: this.settings, health: this.health }) : '';
  }

  protected shape(): string {
    const l = this.live!;
    const t = l.temperatures;
    return JSON.stringify([
      this.deviceId,
      this.busName,
      this.identity,
      this.info,
      l.cells.length,
      l.cellResistances.length,
      [t.mos, t.t1, t.t2, t.t3, t.t4, t.t5].map((x) => x === null),
      this.settings !== null,
      this.hasControls(),
      this.health ? this.health.cells.length : null,
    ]);
  }

  protected entry(): Pick<AnnouncedDevice, 'kind' | 'busId' | 'address'> {
    return { kind: 'pack', busId: this.busId, address: this.address };
  }

  /** A provisional device of this bus + address (this session or an earlier one) is replaced by the serial's. */
  protected override replaced(): MqttMessage[] {
    const provisional = provisionalDeviceId(this.busId, this.address);
    return this.deviceId !== provisional ? this.ctx.registry.retire(provisional, this.ctx.opts.qos) : [];
  }

  /** Give the slot a device id if it can have one now: the remembered serial, else the provisional id when no serial can come (in time). */
  private settleId(): boolean {
    if (this.deviceId !== null) return true;
    const remembered = this.ctx.memory.get(this.busId, this.address)?.serialNumber ?? null;
    if (remembered !== null) {
      this.identity = { ...this.identity, serialNumber: remembered };
      this.become(serialDeviceId(remembered), false);
      return true;
    }
    if (this.waited || !this.ctx.serialExpected(this.busId, this.address)) {
      this.become(provisionalDeviceId(this.busId, this.address), false);
      return true;
    }
    if (this.waiting === null) {
      this.waiting = this.ctx.clock.setTimeout(() => {
        this.waiting = null;
        this.waited = true;
        const out = this.update();
        if (out.length) this.ctx.publish([...out, ...this.offerState()]);
      }, this.ctx.opts.serialWait * 1000);
    }
    return false;
  }

  /** Move to a device id, with the energy counted so far unless another pack now answers here. */
  private become(deviceId: string, swapped: boolean): void {
    this.ctx.clock.clearTimeout(this.waiting);
    this.waiting = null;
    this.deviceId = deviceId;
    this.signature = null;
    this.published = null;
    if (!swapped) this.adoptMemory();
    this.adoptHealth();
    const provisional = provisionalDeviceId(this.busId, this.address);
    if (deviceId !== provisional) this.ctx.health.forget([provisional]);
    this.remember();
    const store = this.ctx.energy;
    if (!store || !this.integrator) return;
    const next = store.open(deviceId);
    if (!swapped) {
      // The counts of this session (and what the provisional counter held) belong to this pack.
      next.absorb(this.integrator.snapshot());
      if (deviceId !== provisional) {
        if (this.attached === provisional) store.forget(provisional);
        else store.absorb(provisional, next);
      }
    }
    this.integrator = next;
    this.attached = deviceId;
    store.save(deviceId, next);
  }
}

/**
 * The bank of a bus as an HA device (a DeviceSlot, src/ha/slot.ts), from the summaries of a
 * jkbms-bank node: device `jkbms_bank_<bank id>`, the bank id being the jkbms-bank node's
 * setting (never a node id, so a copied or re-imported flow keeps the device). Online while the
 * summary counts at least one pack, offline when it counts none or when no summary came for
 * `expireAfter` (its node or bus stopped). One bank device per bus (its topics are the bus's):
 * a bank device this bus had under another id (the bank id was changed, or an older version
 * named it after the bus node's id) is deleted when the new one is announced. A jkbms-health
 * node's bank reports join the device (remembered by device id, like a pack's).
 */
import type { TimerHandle } from '../common/clock';
import type { BankIdentity } from '../bank/types';
import { BANK_ENTITIES, type BankSummary, type BankView, bankDevice, bankState, bankUrgentKey } from './bank';
import type { BankHealthView } from './health';
import type { HealthMemory } from './health-memory';
import { bankDeviceId, bankTopics, type PackTopics, topicLevel } from './ids';
import type { AnnouncedDevice } from './registry';
import { DeviceSlot, type SlotContext } from './slot';
import type { DeviceInfo, MqttMessage } from './types';

export interface BankContext extends SlotContext {
  /** The last health report of each device. */
  readonly health: HealthMemory;
}

export class BankSlot extends DeviceSlot<BankView> {
  protected readonly table = BANK_ENTITIES;
  summary: BankSummary;
  /** The last jkbms-health report about this bank (null: none, no health entities). */
  health: BankHealthView | null = null;
  /** No summary came for `expireAfter`. */
  private silent = false;
  private silence: TimerHandle | null = null;

  constructor(
    bank: BankIdentity,
    summary: BankSummary,
    protected override readonly ctx: BankContext,
  ) {
    super('bank', bank.busId, bank.bus, ctx);
    this.deviceId = bankDeviceId(bank.bankId);
    this.summary = summary;
  }

  /** A jkbms-health report about this bank. */
  takeHealth(health: BankHealthView): void {
    this.health = health;
    this.remember();
  }

  /** The health last reported for this device, if this slot has none of its own. Returns whether it took some. */
  adoptHealth(): boolean {
    if (this.health !== null || this.deviceId === null) return false;
    this.health = this.ctx.health.bank(this.deviceId);
    return this.health !== null;
  }

  /** Remember the health under the current device id. */
  remember(): void {
    if (this.health && this.deviceId !== null) this.ctx.health.set(this.deviceId, { kind: 'bank', health: this.health });
  }

  /** A new summary: the bank is heard from; it goes offline after `expireAfter` without one (0 = never). */
  take(bank: BankIdentity, summary: BankSummary): void {
    this.busName = bank.bus;
    const id = bankDeviceId(bank.bankId);
    if (id !== this.deviceId) {
      // The bank id changed: a new device, announced now; the old one is replaced (deleted).
      if (this.deviceId !== null) this.ctx.health.forget([this.deviceId]);
      this.deviceId = id;
      this.forget();
      this.remember();
    }
    this.summary = summary;
    this.silent = false;
    this.ctx.clock.clearTimeout(this.silence);
    this.silence = null;
    const { expireAfter } = this.ctx.opts;
    if (expireAfter <= 0) return;
    this.silence = this.ctx.clock.setTimeout(() => {
      this.silence = null;
      this.silent = true;
      const out = this.availability(false);
      if (out.length) this.ctx.publish(out);
    }, expireAfter * 1000);
  }

  online(): boolean {
    return !this.silent && this.summary.packsOnline > 0;
  }

  topics(): PackTopics {
    return bankTopics(this.ctx.opts.baseTopic, topicLevel(this.busName, this.busId));
  }

  override stop(): void {
    super.stop();
    this.ctx.clock.clearTimeout(this.silence);
    this.silence = null;
  }

  protected ready(): boolean {
    return true;
  }

  protected view(): BankView {
    return { busName: this.busName, summary: this.summary, health: this.health };
  }

  protected device(view: BankView): DeviceInfo {
    return bankDevice(this.deviceId!, view);
  }

  protected state(view: BankView): Record<string, unknown> {
    return bankState(view);
  }

  protected shape(): string {
    return JSON.stringify([this.deviceId, this.busName, this.health ? this.health.packs.map((p) => p.address) : null]);
  }

  protected urgentKey(): string {
    return bankUrgentKey(this.summary, this.health);
  }

  protected entry(): Pick<AnnouncedDevice, 'kind' | 'busId' | 'address'> {
    return { kind: 'bank', busId: this.busId, address: null };
  }

  protected override replaced(): MqttMessage[] {
    const old = this.ctx.registry.find((id, e) => e.kind === 'bank' && e.busId === this.busId && id !== this.deviceId);
    return old.flatMap((id) => this.ctx.registry.retire(id, this.ctx.opts.qos));
  }
}

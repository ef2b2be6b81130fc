/**
 * One Home Assistant device of the bridge — a pack or the bank of a bus — and everything it
 * publishes: its retained discovery configs (re-announced when its entity set or device block
 * changes), its retained availability, and its JSON state at most once per `rateLimit` (the
 * latest values win) except when its urgent key changes (alarms, MOS, switches), which
 * publishes at once. A kind (src/ha/pack-slot.ts, src/ha/bank-slot.ts) says what the device is.
 */
import type { Clock } from '../common/clock';
import { SendThrottle } from '../common/throttle';
import { type Announcement, deviceConfig, entityConfigs } from './discovery';
import { buildEntities, type EntityTable } from './entities';
import { bridgeAvailabilityTopic, type PackTopics } from './ids';
import type { AnnouncedDevice, AnnouncedRegistry } from './registry';
import type { DeviceInfo, HaOptions, MqttMessage } from './types';

/** What every slot of one bridge shares. */
export interface SlotContext {
  readonly opts: HaOptions;
  readonly clock: Clock;
  readonly registry: AnnouncedRegistry;
  /** Publish outside a `handle()` call (a timer fired). */
  publish(msgs: MqttMessage[]): void;
}

export abstract class DeviceSlot<V> {
  /** The HA device id, or null while it is not known yet (a pack waiting for its serial number). */
  deviceId: string | null = null;
  /** Availability published for the current device this session. */
  published: 'online' | 'offline' | null = null;
  /** Signature of the last announcement this session (null = announce with the next data). */
  signature: string | null = null;
  /** `shape()` at the last announcement: while it is the same, nothing needs announcing. */
  private shaped: string | null = null;
  private urgent: string | null = null;
  private readonly throttle: SendThrottle;

  protected constructor(
    readonly kind: 'pack' | 'bank',
    readonly busId: string,
    public busName: string,
    protected readonly ctx: SlotContext,
  ) {
    this.throttle = new SendThrottle(ctx.clock, ctx.opts.rateLimit * 1000, () => {
      if (this.announced()) this.ctx.publish([this.stateMessage()]);
    });
  }

  protected abstract readonly table: EntityTable<V>;
  /** There is data to announce, and a device id. */
  protected abstract ready(): boolean;
  protected abstract view(): V;
  protected abstract device(view: V): DeviceInfo;
  abstract topics(): PackTopics;
  protected abstract state(view: V): Record<string, unknown>;
  abstract online(): boolean;
  /**
   * Everything the entity set, the device block and the topics depend on, cheap to compute: an
   * unchanged shape skips building the announcement on every frame.
   */
  protected abstract shape(): string;
  /** A change of this key publishes the state at once (alarms, MOS, switches). */
  protected abstract urgentKey(): string;
  /** Prefix of the command topics of its switches and numbers, if it has any. */
  commandPrefix(): string | undefined {
    return undefined;
  }
  /** The registry entry, without what the announcement fills in. */
  protected abstract entry(): Pick<AnnouncedDevice, 'kind' | 'busId' | 'address'>;
  /** Deletions of devices this one replaces (a provisional id, an old bank id). */
  protected replaced(): MqttMessage[] {
    return [];
  }

  announced(): boolean {
    return this.signature !== null;
  }

  /**
   * Announce if the entity set or device block changed, then the availability if it changed.
   * An announcement is preceded by the bridge's availability: online before HA sees the configs.
   */
  update(): MqttMessage[] {
    const announced = this.announce(false);
    return [...(announced.length ? [this.bridgeOnline()] : []), ...announced, ...this.availability(false)];
  }

  bridgeOnline(): MqttMessage {
    return this.message(bridgeAvailabilityTopic(this.ctx.opts.baseTopic), 'online', true);
  }

  /** The retained configs, replacing what was announced under this id before (dropped entities and a moved availability topic deleted). */
  announce(force: boolean): MqttMessage[] {
    if (!this.ready() || this.deviceId === null) return [];
    const shape = this.shape();
    if (!force && this.signature !== null && shape === this.shaped) return [];
    this.shaped = shape;
    const view = this.view();
    const { opts } = this.ctx;
    const defs = buildEntities(this.table, view, opts.groups);
    const device = this.device(view);
    const topics = this.topics();
    const commandPrefix = this.commandPrefix();
    const signature = JSON.stringify([device, topics, defs.map((d) => d.key)]);
    if (!force && signature === this.signature) return [];
    const a: Announcement = {
      discoveryPrefix: opts.discoveryPrefix,
      deviceId: this.deviceId,
      device,
      origin: opts.origin,
      stateTopic: topics.state,
      availability: [topics.availability, bridgeAvailabilityTopic(opts.baseTopic)],
      expireAfter: opts.expireAfter,
      qos: opts.qos,
      ...(commandPrefix === undefined ? {} : { commandPrefix }),
    };
    const deviceBased = opts.mode === 'device';
    const keys = new Set(defs.map((d) => d.key));
    const configs = deviceBased ? [deviceConfig(a, defs, this.ctx.registry.droppedComponents(this.deviceId, keys))] : entityConfigs(a, defs);
    const { deletions, moved } = this.ctx.registry.record(
      this.deviceId,
      {
        ...this.entry(),
        topics: configs.map((m) => m.topic),
        components: deviceBased ? Object.fromEntries(defs.map((d) => [d.key, d.component])) : {},
        availability: topics.availability,
      },
      opts.qos,
    );
    this.signature = signature;
    if (moved) this.published = null;
    return [...this.replaced(), ...deletions, ...configs];
  }

  /** The availability, if it differs from what was published (or `force`). */
  availability(force: boolean): MqttMessage[] {
    if (!this.announced()) return [];
    const want = this.online() ? 'online' : 'offline';
    if (!force && this.published === want) return [];
    this.published = want;
    return [this.message(this.topics().availability, want, true)];
  }

  /** New data: the state now when the rate allows or something urgent changed, else at the end of the interval. */
  offerState(): MqttMessage[] {
    if (!this.announced()) return [];
    const key = this.urgentKey();
    if (key !== this.urgent) return this.stateNow();
    return this.throttle.request() ? [this.stateMessage()] : [];
  }

  /** The state now (a confirmed or refused write, an urgent change), when announced. */
  stateNow(): MqttMessage[] {
    if (!this.announced()) return [];
    this.throttle.markSent();
    return [this.stateMessage()];
  }

  /** HA deleted the device (`remove`): announce again with the next data. */
  forget(): void {
    this.signature = null;
    this.published = null;
  }

  stop(): void {
    this.throttle.cancel();
  }

  private stateMessage(): MqttMessage {
    this.urgent = this.urgentKey();
    return this.message(this.topics().state, JSON.stringify(this.state(this.view())), false);
  }

  protected message(topic: string, payload: string, retain: boolean): MqttMessage {
    return { topic, payload, retain, qos: this.ctx.opts.qos };
  }
}

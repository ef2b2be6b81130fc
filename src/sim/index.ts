/**
 * The JK-PB bus simulator: our test bench and our demo.
 *
 * Public API (the bus engine, its tests, the CLI `jkbms sim` and the demo depend on it):
 *
 * ```ts
 * const sim = new BusSimulator({
 *   packs: [1, 2, 3],          // slave addresses 1–15
 *   master: true,              // a JK master at address 0 (default false: bus silent until polled)
 *   baud: 115200,              // wire speed, 10 bits per byte
 *   seed: 1,                   // every random draw is seeded: same seed + FakeClock = same run
 *   clock: fakeClock,          // default realClock
 *   faults: { truncate: 0.05 },// see SimFaults (src/sim/faults.ts)
 *   timing: { turnaroundMs: 8, master: { cycleMs: 4400 } }, // see SimTiming (src/sim/context.ts)
 *   packDefaults: { cellCount: 16, capacityAh: 280 },       // see SimPackOptions (src/sim/model.ts)
 *   packOptions: { 2: { profile: { offsetA: -20 } } },      // per address
 *   cellFaults: 'cell 2.7: +3 mΩ; cell 1.12: -8 % capacity', // planted faults (src/sim/plant.ts)
 *   cellSpread: { capacityPct: 0.5 },                       // how healthy cells differ (src/sim/cells.ts)
 *   bank: { profile: 'daily' },  // packs in parallel on one bus bar, a household day (src/sim/bank.ts, profile.ts)
 *   stepS: 1,                    // physics step (coarser = faster simulated weeks)
 *   speed: 1,                    // simulated seconds per clock second (144: a day in ten minutes)
 * });
 * sim.start();                                  // the master starts its cycle; packs answer
 * const t = sim.createHostEndpoint({ echo: 0 });// Transport (kind 'sim') + unplug()/replug()
 * const { port, close } = await sim.listenTcp(0, '127.0.0.1'); // transparent TCP gateway
 * await sim.attachPty('/dev/pts/7');            // the sim's end of a pty pair (socat)
 * sim.pack(2).setAlarm('cellOvp'); sim.pack(2).setSilent(true); sim.pack(2).setCurrent(-50);
 * sim.pack(2).live(); sim.pack(2).settings(); sim.pack(2).info(); sim.pack(2).serialNumber;
 * sim.pack(2).setIgnoreWrites(true);            // acks writes without applying them (read-back mismatch)
 * sim.pack(2).setSerialNumber('X1'); sim.replacePack(2); // another serial / another board at address 2
 * sim.setFaults({ noise: 0.5 });                // replaces the whole fault set
 * sim.bank?.setCurrent(80); sim.bank?.last;     // the bank's current; its bus voltage and split
 * sim.stats();                                  // SimStats
 * sim.on('transmit', (e: TransmitEvent) => …);  // every transmission as it starts
 * await sim.stop();                             // closes gateways, ptys and host endpoints
 * ```
 *
 * Behaviour in one paragraph: one shared half-duplex wire (src/sim/wire.ts) carries every
 * byte at the configured baud; overlapping senders garble each other and count as a
 * collision; everyone attached (packs, master, host endpoints, TCP clients, pty) hears the
 * wire, handed over in ≤ 1 ms chunks as bytes complete. Slaves answer triggers addressed to
 * them after `turnaroundMs` with 300 frame bytes, `tailGapMs` of silence, then the 8-byte ack
 * tail; writes get an ack (applied at once) or exception 02 (not a writable register) / 03
 * (refused value, src/sim/limits.ts). The master runs the measured 4.4 s cycle
 * (src/sim/master.ts). Pack state evolves in 1 s steps (src/sim/model.ts). Writes to address
 * 0 and triggers for it are ignored (the real master answers none).
 */
import { EventEmitter } from 'node:events';
import { realClock, type Clock, type TimerHandle } from '../common/clock';
import { resolveTiming, type SimContext, type SimTiming } from './context';
import { SimEndpoint, type HostEndpointOptions, type SimHostEndpoint } from './endpoint';
import { MODELS } from './defaults';
import { FaultInjector, type FaultName, type SimFaults } from './faults';
import { TcpGateway, type TcpListener } from './gateway';
import { JkMaster, type MasterStats } from './master';
import { SimBank, resolveBankOptions } from './bank';
import type { SimPackOptions } from './model';
import { resolvePlantedFaults, type PlantedFault } from './plant';
import { packOptionsOf, validatePacks, type BusSimulatorOptions } from './options';
import { SimPack, type SimPackStats } from './pack';
import { PtyPort } from './pty';
import { Rng } from './rng';
import { Wire, type TransmitOptions, type WireNode } from './wire';

export type { SimFaults, FaultName } from './faults';
export { parseFaults, FAULT_NAMES } from './faults';
export type { SimTiming, SimTimingInput, MasterTiming } from './context';
export { DEFAULT_TIMING } from './context';
export type { SimPackOptions, CurrentProfile } from './model';
export type { SimPackStats } from './pack';
export type { SimPack } from './pack';
export type { MasterStats } from './master';
export type { HostEndpointOptions, SimHostEndpoint } from './endpoint';
export type { TcpListener } from './gateway';
export { startSocat, type SocatPair } from './pty';
export { parsePlantedFaults, resolvePlantedFaults, formatPlantedFaults, type PlantedFault } from './plant';
export { DEFAULT_SPREAD, type CellSpread, type CellFault } from './cells';
export { DEFAULT_DAILY_PROFILE, type DailyProfileOptions } from './profile';
export type { SimBank, SimBankOptions, BankState } from './bank';
export type { BusSimulatorOptions } from './options';

export interface SimStats {
  /** Per address ("0" = the JK master's own frames). */
  packs: Record<string, SimPackStats>;
  framesSent: number;
  requestsReceived: number;
  writesApplied: number;
  exceptions: number;
  collisions: number;
  bytesOnWire: number;
  transmissions: number;
  faults: Record<FaultName, number>;
  master: MasterStats | null;
}

/** Emitted as 'transmit' when a transmission is put on the wire (bytes as sent, before any garbling). */
export interface TransmitEvent {
  sender: string;
  start: number;
  end: number;
  bytes: Buffer;
}

const FAULT_TICK_MS = 1000;
const MAX_ERRORS = 100;

/** The noise source of the 'noise' fault. */
const NOISE: WireNode = { name: 'noise', receive: () => undefined };

export class BusSimulator extends EventEmitter {
  readonly clock: Clock;
  readonly baud: number;
  readonly seed: number;
  readonly timing: SimTiming;
  /** Errors caught inside timers and I/O callbacks (also emitted as 'error'); tests assert it stays empty. */
  readonly errors: unknown[] = [];
  private readonly rng: Rng;
  private readonly wire: Wire;
  private readonly faults: FaultInjector;
  private readonly ctx: SimContext;
  private readonly packs = new Map<number, SimPack>();
  private readonly master: JkMaster | null;
  private readonly endpoints: SimEndpoint[] = [];
  private readonly gateways: TcpGateway[] = [];
  private readonly ptys: PtyPort[] = [];
  private running = false;
  private faultTimer: TimerHandle | undefined;
  private readonly packOptions: (address: number) => SimPackOptions;
  /** Packs put in per address by replacePack(), for their own random streams. */
  private readonly replaced = new Map<number, number>();
  private readonly simBank: SimBank | null = null;
  /** The planted faults, checked. */
  readonly cellFaults: readonly PlantedFault[];

  constructor(options: BusSimulatorOptions) {
    super();
    // An 'error' without a listener would throw inside a timer: keep a default one.
    this.on('error', () => undefined);
    const packs = validatePacks(options.packs);
    this.baud = options.baud ?? 115200;
    if (!Number.isInteger(this.baud) || this.baud < 300 || this.baud > 4_000_000) {
      throw new RangeError(`baud must be an integer 300–4000000, got ${JSON.stringify(options.baud)}`);
    }
    this.seed = options.seed ?? 1;
    if (!Number.isInteger(this.seed)) throw new RangeError(`seed must be an integer, got ${JSON.stringify(options.seed)}`);
    this.clock = options.clock ?? realClock;
    this.timing = resolveTiming(options.timing);
    this.rng = new Rng(this.seed);
    this.faults = new FaultInjector(this.rng.fork('faults'));
    this.faults.set(options.faults ?? {});
    this.wire = new Wire(this.clock, this.rng.fork('wire'), { baud: this.baud, chunkMs: this.timing.chunkMs, idleMs: this.timing.idleMs }, (err) =>
      this.error(err),
    );
    this.ctx = {
      clock: this.clock,
      wire: this.wire,
      timing: this.timing,
      faults: this.faults,
      transmit: (sender, bytes, opts) => this.transmit(sender, bytes, opts),
      error: (err) => this.error(err),
    };
    const addresses = options.master ? [0, ...packs] : packs;
    this.cellFaults = resolvePlantedFaults(options.cellFaults);
    for (const f of this.cellFaults) {
      if (!addresses.includes(f.pack)) throw new RangeError(`planted fault for pack ${f.pack}, but the simulated packs are ${addresses.join(', ')}`);
    }
    const bank = resolveBankOptions(options.bank);
    // A bank at rest has one voltage: its packs start at one SOC (unless given).
    this.packOptions = packOptionsOf(options, this.cellFaults, bank ? this.rng.fork('bank-soc').range(40, 80) : null);
    for (const address of addresses) {
      this.packs.set(address, new SimPack(this.ctx, address, this.packOptions(address), this.rng.fork(`pack${address}`)));
    }
    this.master = options.master ? new JkMaster(this.ctx, this.packs.get(0)!) : null;
    if (bank) {
      const models = [...this.packs.values()].map((p) => p.model);
      const stepMs = Math.round((options.stepS ?? 1) * 1000);
      this.simBank = new SimBank(models, bank, this.rng.fork('bank'), this.clock.now(), stepMs, options.speed ?? 1);
      for (const m of models) {
        // A household day needs a charge limit of about 0.4 C: the factory 25 A would never fill a 280 Ah pack.
        if (bank.profile) m.applySettings({ ...m.settings, maxChargeCurrent: Math.min(MODELS[m.model].maxCurrentA, Math.max(10, Math.round((0.4 * m.settings.nominalCapacityAh) / 10) * 10)) });
        m.bank = this.simBank;
      }
    }
  }

  /** The parallel bank (option `bank`), or null when every pack runs on its own. */
  get bank(): SimBank | null {
    return this.simBank;
  }

  /** Addresses simulated (0 first when there is a master). */
  get addresses(): number[] {
    return [...this.packs.keys()];
  }

  get isRunning(): boolean {
    return this.running;
  }

  /** Packs start listening, the master starts its cycle, timed faults start. Idempotent. */
  start(): void {
    if (this.running) return;
    this.running = true;
    for (const pack of this.packs.values()) if (pack.address !== 0) this.wire.attach(pack);
    if (this.master) {
      this.wire.attach(this.master);
      this.master.start();
    }
    this.scheduleFaults();
  }

  /** Stop everything and release the TCP servers, ptys and host endpoints. */
  async stop(): Promise<void> {
    this.running = false;
    this.clock.clearTimeout(this.faultTimer);
    this.faultTimer = undefined;
    this.master?.stop();
    for (const pack of this.packs.values()) {
      pack.reset();
      this.wire.detach(pack);
    }
    if (this.master) this.wire.detach(this.master);
    this.wire.clear();
    await Promise.all([
      ...this.gateways.splice(0).map((g) => g.close()),
      ...this.ptys.splice(0).map((p) => p.close()),
      ...this.endpoints.splice(0).map((e) => e.close()),
    ]);
  }

  pack(address: number): SimPack {
    const p = this.packs.get(address);
    if (!p) throw new RangeError(`no simulated pack at address ${address}; simulated: ${this.addresses.join(', ')}`);
    return p;
  }

  /**
   * Swap the slave at `address` for another board, as when a pack is replaced: a new serial
   * number, cells and state (its own random stream), the same options unless others are given.
   * Pending answers of the old pack are dropped. Returns the new pack.
   */
  replacePack(address: number, options?: SimPackOptions): SimPack {
    const old = this.pack(address);
    if (address === 0) throw new RangeError("the JK master's own pack (address 0) cannot be replaced");
    const n = (this.replaced.get(address) ?? 0) + 1;
    const pack = new SimPack(this.ctx, address, options ?? this.packOptions(address), this.rng.fork(`pack${address}#${n}`));
    this.replaced.set(address, n);
    if (this.simBank) {
      pack.model.bank = this.simBank;
      this.simBank.replace(old.model, pack.model);
    }
    old.reset();
    this.packs.set(address, pack);
    if (this.running) {
      this.wire.detach(old);
      this.wire.attach(pack);
    }
    return pack;
  }

  /** Replace the fault set (validated; throws a RangeError naming a bad entry). */
  setFaults(faults: SimFaults): void {
    this.faults.set(faults);
    this.scheduleFaults();
  }

  get currentFaults(): SimFaults {
    return this.faults.current;
  }

  /** An in-process host adapter (Transport kind 'sim'); call open() on it like any transport. */
  createHostEndpoint(opts: HostEndpointOptions = {}): SimHostEndpoint {
    const ep = new SimEndpoint(this.ctx, this.endpoints.length + 1, opts, this.rng.fork(`host${this.endpoints.length + 1}`), this.baud);
    this.endpoints.push(ep);
    return ep;
  }

  /** A transparent TCP gateway; port 0 picks a free one. */
  async listenTcp(port = 0, host = '127.0.0.1'): Promise<TcpListener> {
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`TCP port must be an integer 0–65535, got ${JSON.stringify(port)}`);
    const gw = new TcpGateway(this.ctx);
    await gw.listen(port, host);
    this.gateways.push(gw);
    return gw;
  }

  /** Open the simulator's end of a pty pair (the host opens the other end). */
  async attachPty(path: string): Promise<void> {
    const pty = new PtyPort(this.ctx, path, this.baud);
    await pty.open();
    this.ptys.push(pty);
  }

  stats(): SimStats {
    const packs: Record<string, SimPackStats> = {};
    const sum = { framesSent: 0, requestsReceived: 0, writesApplied: 0, exceptions: 0 };
    for (const [address, pack] of this.packs) {
      packs[String(address)] = { ...pack.counters };
      for (const k of Object.keys(sum) as (keyof typeof sum)[]) sum[k] += pack.counters[k];
    }
    const w = this.wire.stats();
    return {
      packs,
      ...sum,
      collisions: w.collisions,
      bytesOnWire: w.bytes,
      transmissions: w.transmissions,
      faults: { ...this.faults.counts },
      master: this.master?.stats() ?? null,
    };
  }

  private transmit(sender: WireNode, bytes: Uint8Array, opts?: TransmitOptions): void {
    const data = Buffer.from(bytes);
    if (sender !== NOISE && this.faults.roll('bitflip')) this.faults.flipBit(data);
    const tx = this.wire.transmit(sender, data, opts);
    if (this.listenerCount('transmit')) {
      const e: TransmitEvent = { sender: sender.name, start: tx.start, end: tx.end, bytes: data };
      try {
        this.emit('transmit', e);
      } catch (err) {
        this.error(err);
      }
    }
  }

  private error(err: unknown): void {
    if (this.errors.length < MAX_ERRORS) this.errors.push(err);
    try {
      this.emit('error', err instanceof Error ? err : new Error(String(err)));
    } catch {
      // a throwing 'error' listener must not take the timer down
    }
  }

  /** Timed faults (noise bursts, pack silences) tick once per second while enabled. */
  private scheduleFaults(): void {
    const active = this.faults.rate('noise') > 0 || this.faults.rate('silence') > 0;
    if (!this.running || !active) {
      this.clock.clearTimeout(this.faultTimer);
      this.faultTimer = undefined;
      return;
    }
    if (this.faultTimer) return;
    this.faultTimer = this.clock.setTimeout(() => {
      this.faultTimer = undefined;
      try {
        this.faultTick();
      } catch (err) {
        this.error(err);
      }
      this.scheduleFaults();
    }, FAULT_TICK_MS);
  }

  private faultTick(): void {
    const rng = this.faults.random;
    const noise = this.faults.rate('noise');
    const bursts = Math.floor(noise) + (rng.chance(noise % 1) ? 1 : 0);
    for (let i = 0; i < bursts; i++) {
      const at = this.clock.now() + rng.range(0, FAULT_TICK_MS);
      const bytes = Buffer.from(Array.from({ length: rng.int(1, 16) }, () => rng.int(0, 255)));
      this.faults.count('noise');
      this.wire.transmit(NOISE, bytes, { at, noise: true });
    }
    const silence = this.faults.rate('silence');
    if (silence > 0) {
      for (const pack of this.packs.values()) {
        if (pack.address !== 0 && !pack.silent && this.faults.roll('silence', silence / 60)) pack.silenceFor(this.faults.silenceMs);
      }
    }
  }
}

import type { EventEmitter } from 'node:events';
import type { DecodedFrame, FrameKind, InfoPayload, LivePayload, SettingsPayload } from '../protocol/types';

/**
 * Public contract of the bus engine (src/bus/engine.ts). The Node-RED nodes, the CLI
 * `jkbms monitor`, the bank node and the tests depend on exactly this.
 */

/** What the user configured. */
export type BusMode = 'auto' | 'master' | 'listen';

/**
 * What the engine is doing right now:
 *  - 'listening': not transmitting, no JK master heard yet (auto mode start, or listen mode)
 *  - 'sniffing' : a JK master polls the bus; we decode everything and only speak in its quiet gaps
 *  - 'master'   : no JK master; we poll the packs ourselves
 *  - 'stopped'  : not started / stopped
 */
export type BusRole = 'listening' | 'sniffing' | 'master' | 'stopped';

export interface BusOptions {
  mode: BusMode;
  /** Minimum gap between the end of one bus exchange and our next command, ms (default 100). */
  minGapMs: number;
  /** How long to wait for a pack's answer, ms (default 300). */
  responseTimeoutMs: number;
  /** Auto mode: no JK-master traffic for this long → we become master, ms (default 2000). */
  masterSilenceMs: number;
  /** Master mode: settings re-read period per pack, s (default 30). */
  settingsIntervalS: number;
  /** Device-info re-read period per pack, s (default 3600). */
  infoIntervalS: number;
  /** A pack silent for this long is offline, s (default 30). */
  offlineAfterS: number;
  /** Settings writes allowed at all (default false). */
  allowWrites: boolean;
  /** Addresses to scan as master (default 1–15). */
  addresses?: number[];
}

export const DEFAULT_BUS_OPTIONS: BusOptions = {
  mode: 'auto',
  minGapMs: 100,
  responseTimeoutMs: 300,
  masterSilenceMs: 2000,
  settingsIntervalS: 30,
  infoIntervalS: 3600,
  offlineAfterS: 30,
  allowWrites: false,
};

/** A decoded data frame as the engine emits it ('frame' event). */
export interface FrameEvent {
  /** 'sniff' = seen on the wire (JK master's traffic or unsolicited), 'poll' = answer to our own request. */
  source: 'sniff' | 'poll';
  kind: FrameKind;
  address: number | null;
  payload: DecodedFrame;
  /** Clock time (ms) when the frame's last byte arrived. */
  at: number;
  /** Wall-clock timestamp (epoch ms). */
  ts: number;
  /** The frame bytes as received (300-byte payload plus its tail when present). */
  raw: Buffer;
}

export interface PackState {
  address: number;
  /** True for address 0 (the JK master's own frames). */
  isMaster: boolean;
  online: boolean;
  /** Epoch ms of the last frame from this pack, or null. */
  lastSeen: number | null;
  /** Decoded frames from this pack. */
  frames: number;
  /** Timeouts, exceptions and rejected frames attributed to this pack. */
  errors: number;
  /** Latency of our last answered request, ms (request sent → last byte), or null. */
  latencyMs: number | null;
  live?: LivePayload;
  settings?: SettingsPayload;
  info?: InfoPayload;
}

/**
 * The bus's health counters: one snapshot from `engine.stats()` (also `status().stats`).
 * Counters start at 0 when the engine is created and only grow; they survive reconnects.
 */
export interface BusStats {
  /** Epoch ms when counting started (the engine was created). */
  since: number;
  bytesReceived: number;
  /** Bytes dropped by the framer or the checks (not counting our own echo). */
  bytesDiscarded: number;
  /** Valid frames decoded and emitted (live data, settings, device info; sniffed or answers to us). */
  framesDecoded: number;
  /**
   * Dropped messages by reason, counted once per run of dropped bytes: noise, bad-sum8 (a
   * 300-byte frame whose checksum fails), bad-crc (a request, write or acknowledgement whose
   * CRC fails), truncated, bad-frame (passed the checksum, failed to decode), implausible
   * (decoded, but failed the plausibility checks of src/protocol/plausibility.ts). Our own
   * echo is not counted here.
   */
  badFrames: Record<string, number>;
  /** Dropped byte counts by reason: the reasons of badFrames, plus echo (our own bytes, not in bytesDiscarded). */
  discards: Record<string, number>;
  /** Our transmissions (requests, polls, writes). */
  requestsSent: number;
  /** Of requestsSent: requests we placed into a JK master's quiet gap. */
  requestsInjected: number;
  /**
   * Injections not sent because at the moment of sending the planned gap no longer held (a
   * late timer after a busy event loop, bytes that arrived meanwhile): we waited for the next
   * gap instead of risking a collision.
   */
  injectionsDeferred: number;
  /** Exchanges of ours that got no valid answer in time (probes of absent addresses not counted). */
  timeouts: number;
  /**
   * Exchanges of ours that someone else talked over, as far as we can tell: a foreign message
   * while we waited for the answer, or — while a JK master polls — garbled bytes instead of it.
   */
  collisions: number;
  /** The link came back after it was lost (adapter replugged, gateway back, watchdog reopen). */
  reconnects: number;
  /** The watchdog reopened a link that delivered nothing while packs should have been talking. */
  watchdogReopens: number;
  /** Requests and writes waiting for a moment we may talk (a state, not a counter). */
  queued: number;
  /**
   * How late the engine's timers ran lately, ms: the 90th percentile of the last 64 (capped at
   * 30). A busy Node-RED shows here; it is added to the safety margin of every injection.
   */
  loopLagMs: number;
}

export interface BusStatus {
  mode: BusMode;
  role: BusRole;
  /** Transport link up. */
  connected: boolean;
  masterPresent: boolean;
  packsOnline: number;
  packs: PackState[];
  stats: BusStats;
}

export interface WriteResult {
  ok: boolean;
  address: number;
  setting: string;
  requested: number | boolean;
  before: number | boolean | null;
  after: number | boolean | null;
  /** write('all'): why this pack's write failed (ok is false). */
  error?: { code: string; message: string };
}

/**
 * Progress of write(), pack by pack ('all': one pack after another, each confirmed before the
 * next starts). A callback that throws is reported on the 'error' event and changes nothing.
 */
export interface WriteOptions {
  /** The write to `address` (the `index`-th of `count`, from 0) starts now. */
  onStart?(address: number, index: number, count: number): void;
  /** Its result, as soon as it is known (before the next pack's write); a failed one has ok false and `error`. */
  onResult?(result: WriteResult, index: number, count: number): void;
}

/** Error codes carried by BusError.code. */
export type BusErrorCode =
  | 'TIMEOUT'
  | 'LISTEN_ONLY'
  | 'UNKNOWN_PACK'
  | 'PACK_OFFLINE'
  | 'NOT_CONNECTED'
  | 'STOPPED'
  | 'WRITES_DISABLED'
  | 'INVALID_SETTING'
  | 'OUT_OF_RANGE'
  | 'PACK_EXCEPTION'
  | 'READBACK_MISMATCH'
  | 'BUSY';

export class BusError extends Error {
  constructor(
    readonly code: BusErrorCode,
    message: string,
    readonly address?: number,
  ) {
    super(message);
    this.name = 'BusError';
  }
}

/**
 * Events:
 *  - 'frame'      (e: FrameEvent)
 *  - 'pack'       (e: { address: number; online: boolean; pack: PackState })   online/offline transitions
 *  - 'role'       (e: { role: BusRole; previous: BusRole; reason: string })
 *  - 'connection' (e: { connected: boolean; error?: string })
 *  - 'discard'    (e: { reason: string; bytes: number })
 *  - 'error'      (err: Error)   (a default listener is installed; never crashes the host)
 */
export interface BusEngineApi extends EventEmitter {
  readonly options: BusOptions;
  start(): void;
  stop(): Promise<void>;
  status(): BusStatus;
  /** The health counters (a copy; the same as status().stats). */
  stats(): BusStats;
  pack(address: number): PackState | undefined;
  /** One pack: resolves with its decoded frame. 'all': one frame per known pack (rejects only if none answered). */
  request(target: number, kind: FrameKind, opts?: { timeoutMs?: number }): Promise<DecodedFrame>;
  request(target: 'all', kind: FrameKind, opts?: { timeoutMs?: number }): Promise<DecodedFrame[]>;
  /**
   * Validated before queueing (throws nothing: the promise rejects with a BusError); the
   * settings are read first when not known yet; sent when we may talk; confirmed by reading the
   * settings back. 'all': every online slave, one after another; resolves with one result per
   * pack (a failed pack has ok false and `error`) — the one write orchestration, used by the
   * jkbms-write node. Rejects only for the whole request (writes off, listen mode, a bad
   * setting or value, not connected, no pack online); a single pack's failure rejects with a
   * WriteError carrying its result.
   */
  write(target: number, setting: string, value: number | boolean, opts?: WriteOptions): Promise<WriteResult>;
  write(target: 'all', setting: string, value: number | boolean, opts?: WriteOptions): Promise<WriteResult[]>;
}

import type { TimerHandle } from '../common/clock';
import type { EngineContext } from './context';
import type { BusRole } from './types';

/** What the arbiter needs to know about the rest of the engine. */
export interface ArbiterHost {
  /** The role changed (already set; timers of the old role are the host's to stop). */
  roleChanged(role: BusRole, previous: BusRole, reason: string): void;
}

/** What a foreign message means for us. */
export type ForeignVerdict =
  /** Listen mode, or listening without master evidence yet: nothing to do. */
  | 'none'
  /** A JK master just proved itself: we stopped talking on our own (role is now 'sniffing'). */
  | 'yielded'
  /** Sniffing: the message may open a quiet gap of the master. */
  | 'gap';

/**
 * The role arbiter: decides who may talk, from what is heard on the wire.
 *
 *  - A message that proves a JK master (its trigger, a write, or its own frame) makes us
 *    'sniffing' — from 'listening' at start, and from 'master' at once (two masters only collide).
 *  - `masterSilenceMs` without foreign traffic ends the master's presence; in auto and master
 *    mode we then become 'master' ourselves. Listen mode never leaves 'listening'.
 *  - As master, bytes we did not cause make us hold off: we stay quiet until the line has been
 *    quiet for the hold-off time (`holdOffMs`), and let the traffic tell who it is.
 *
 * Owns: the role, the master's presence, the time of the last foreign message, the hold-off
 * flag and the silence timer. Pure decisions on the engine's clock: unit-testable without a bus.
 */
export class RoleArbiter {
  readonly holdOffMs: number;
  private current: BusRole = 'stopped';
  private master = false;
  private lastForeignAt = -Infinity;
  private holding = false;
  private silenceTimer: TimerHandle | null = null;

  constructor(
    private readonly ctx: EngineContext,
    private readonly host: ArbiterHost,
  ) {
    const o = ctx.options;
    this.holdOffMs = Math.min(o.masterSilenceMs, Math.max(o.minGapMs, 500));
  }

  get role(): BusRole {
    return this.current;
  }

  /** JK master traffic was heard within the last masterSilenceMs. */
  get masterPresent(): boolean {
    return this.master;
  }

  /** Master role: we hold off because foreign bytes were heard. */
  get held(): boolean {
    return this.holding;
  }

  setRole(role: BusRole, reason: string): void {
    const previous = this.current;
    if (role === previous) return;
    this.current = role;
    this.ctx.log('info', `role ${previous} → ${role} (${reason})`);
    if (role === 'master') this.master = false;
    this.host.roleChanged(role, previous, reason);
  }

  /** The engine started (listening) or stopped. */
  started(): void {
    this.setRole('listening', 'started');
  }

  stopped(): void {
    this.ctx.cancel(this.silenceTimer);
    this.silenceTimer = null;
    this.setRole('stopped', 'stopped');
  }

  linkUp(now: number): void {
    this.lastForeignAt = now;
    if (this.ctx.options.mode === 'master') {
      // Listen briefly before the first transmission: a JK master may already be talking.
      this.holding = true;
      this.setRole('master', 'link up (master mode)');
    } else {
      this.setRole('listening', this.ctx.options.mode === 'listen' ? 'link up (listen mode)' : 'link up: listening for a JK master');
      this.armSilence();
    }
  }

  linkDown(): void {
    this.setRole('listening', 'link down');
  }

  /**
   * A valid message we did not cause arrived. `fromMaster`: it proves a master is polling (a
   * trigger, a write, or the JK master's own frame).
   */
  foreign(fromMaster: boolean): ForeignVerdict {
    this.lastForeignAt = this.ctx.clock.now();
    if (fromMaster && !this.master) {
      this.master = true;
      this.ctx.log('info', 'JK master traffic heard');
    }
    this.armSilence();
    if (this.ctx.options.mode === 'listen') return 'none';
    if (fromMaster && (this.current === 'master' || this.current === 'listening')) {
      this.setRole('sniffing', this.current === 'master' ? 'a JK master started polling: we stopped transmitting' : 'JK master traffic heard');
      return 'yielded';
    }
    return this.current === 'sniffing' ? 'gap' : 'none';
  }

  /** Master role: someone else is talking — stop at once and listen. */
  holdOff(): void {
    this.holding = true;
  }

  /** Master role: the earliest time we may talk after the last byte heard at `lastRxAt`. */
  mayTalkFrom(lastRxAt: number): number {
    return this.holding ? lastRxAt + this.holdOffMs : -Infinity;
  }

  /** Master role: we talk again (the hold-off is over). */
  talking(): void {
    this.holding = false;
  }

  /** Arm the timer that notices the master going quiet (lazy: re-armed only when it fires early). */
  private armSilence(): void {
    if (this.silenceTimer || !this.ctx.link.started) return;
    const due = this.lastForeignAt + this.ctx.options.masterSilenceMs - this.ctx.clock.now();
    this.silenceTimer = this.ctx.after(Math.max(1, due), () => {
      this.silenceTimer = null;
      this.checkSilence();
    });
  }

  private checkSilence(): void {
    const silenceMs = this.ctx.options.masterSilenceMs;
    if (this.ctx.clock.now() - this.lastForeignAt < silenceMs - 1e-6) {
      this.armSilence();
      return;
    }
    if (this.master) {
      this.master = false;
      this.ctx.log('info', `no JK master traffic for ${silenceMs} ms`);
    }
    if (this.ctx.options.mode !== 'listen' && this.ctx.link.connected && (this.current === 'listening' || this.current === 'sniffing')) {
      this.setRole('master', `no JK master traffic for ${silenceMs} ms`);
    }
  }
}

import assert from 'node:assert/strict';
import { RoleArbiter } from '../../src/bus/arbiter';
import type { BusOptions, BusRole } from '../../src/bus/types';
import { partContext, type PartContext } from '../helpers/engine-context';

/** The role arbiter alone: a FakeClock, no engine, no bus. */
function arbiter(options: Partial<BusOptions> = {}): PartContext & { a: RoleArbiter; roles: { role: BusRole; previous: BusRole; reason: string; at: number }[] } {
  const pc = partContext(options);
  const roles: { role: BusRole; previous: BusRole; reason: string; at: number }[] = [];
  const a = new RoleArbiter(pc.ctx, { roleChanged: (role, previous, reason) => roles.push({ role, previous, reason, at: pc.clock.now() }) });
  return { ...pc, a, roles };
}

describe('bus engine parts: the role arbiter (no bus)', () => {
  it('auto mode: listening, sniffing at the first master message, master after masterSilenceMs of silence', () => {
    const t = arbiter({ mode: 'auto', masterSilenceMs: 2000 });
    t.a.started();
    t.a.linkUp(t.clock.now());
    assert.equal(t.a.role, 'listening');
    t.clock.advance(500);
    // A slave's frame proves nothing about a master.
    assert.equal(t.a.foreign(false), 'none');
    assert.equal(t.a.role, 'listening');
    assert.equal(t.a.masterPresent, false);
    t.clock.advance(500);
    assert.equal(t.a.foreign(true), 'yielded');
    assert.equal(t.a.role, 'sniffing');
    assert.equal(t.a.masterPresent, true);
    // While sniffing, every foreign message may open a gap.
    assert.equal(t.a.foreign(false), 'gap');
    assert.equal(t.a.foreign(true), 'gap');
    // Traffic every second keeps it sniffing for as long as it goes on.
    for (let i = 0; i < 60; i++) {
      t.clock.advance(1000);
      t.a.foreign(i % 2 === 0);
    }
    assert.equal(t.a.role, 'sniffing');
    const lastAt = t.clock.now();
    t.clock.advance(1999);
    assert.equal(t.a.role, 'sniffing');
    t.clock.advance(1);
    assert.equal(t.a.role, 'master');
    assert.equal(t.a.masterPresent, false);
    assert.deepEqual(
      t.roles.map((r) => [r.previous, r.role, r.reason]),
      [
        ['stopped', 'listening', 'started'],
        ['listening', 'sniffing', 'JK master traffic heard'],
        ['sniffing', 'master', 'no JK master traffic for 2000 ms'],
      ],
    );
    assert.equal(t.roles.at(-1)!.at, lastAt + 2000);
    assert.deepEqual(t.errors, []);
  });

  it('master mode: holds off after link up, talks after the hold-off, yields to a JK master at once and takes over when it is gone', () => {
    const t = arbiter({ mode: 'master', minGapMs: 100, masterSilenceMs: 2000 });
    t.a.started();
    t.a.linkUp(t.clock.now());
    assert.equal(t.a.role, 'master');
    assert.equal(t.a.held, true, 'listens before the first transmission');
    assert.equal(t.a.holdOffMs, 500);
    assert.equal(t.a.mayTalkFrom(1000), 1500);
    t.a.talking();
    assert.equal(t.a.held, false);
    assert.equal(t.a.mayTalkFrom(1000), -Infinity);
    // Someone else's bytes: hold off again.
    t.a.holdOff();
    assert.equal(t.a.mayTalkFrom(2000), 2500);
    // A JK master's trigger: stop being master at once.
    t.clock.advance(100);
    assert.equal(t.a.foreign(true), 'yielded');
    assert.equal(t.a.role, 'sniffing');
    assert.match(t.roles.at(-1)!.reason, /a JK master started polling: we stopped transmitting/);
    t.clock.advance(2000);
    assert.equal(t.a.role, 'master');
  });

  it('hold-off: max(minGap, 500 ms), never longer than masterSilenceMs', () => {
    assert.equal(arbiter({ minGapMs: 100 }).a.holdOffMs, 500);
    assert.equal(arbiter({ minGapMs: 800 }).a.holdOffMs, 800);
    assert.equal(arbiter({ minGapMs: 800, masterSilenceMs: 600 }).a.holdOffMs, 600);
  });

  it('listen mode: notices the master come and go, never takes a talking role', () => {
    const t = arbiter({ mode: 'listen' });
    t.a.started();
    t.a.linkUp(t.clock.now());
    assert.equal(t.a.foreign(true), 'none');
    assert.equal(t.a.role, 'listening');
    assert.equal(t.a.masterPresent, true);
    t.clock.advance(10_000);
    assert.equal(t.a.role, 'listening');
    assert.equal(t.a.masterPresent, false);
    assert.deepEqual(
      t.roles.map((r) => r.role),
      ['listening'],
    );
  });

  it('no link: silence does not make us master; link down returns to listening', () => {
    const t = arbiter({ mode: 'auto', masterSilenceMs: 1000 });
    t.a.started();
    t.a.linkUp(t.clock.now());
    t.a.foreign(true);
    t.link.connected = false;
    t.a.linkDown();
    assert.equal(t.a.role, 'listening');
    t.clock.advance(5000);
    assert.equal(t.a.role, 'listening', 'not connected: no master role');
    t.link.connected = true;
    t.a.linkUp(t.clock.now());
    t.clock.advance(1000);
    assert.equal(t.a.role, 'master');
  });

  it('stopped: the silence timer is gone, the role is stopped', () => {
    const t = arbiter({ mode: 'auto', masterSilenceMs: 1000 });
    t.a.started();
    t.a.linkUp(t.clock.now());
    t.link.started = false;
    t.a.stopped();
    assert.equal(t.a.role, 'stopped');
    assert.equal(t.clock.pending, 0);
    t.clock.advance(5000);
    assert.equal(t.a.role, 'stopped');
  });
});

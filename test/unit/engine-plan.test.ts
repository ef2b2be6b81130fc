import assert from 'node:assert/strict';
import { GapLearner, planInjection } from '../../src/bus/gap-learner';
import { PollPlan, type PollJob } from '../../src/bus/poll-plan';

const live = () => 'live' as const;

function take(plan: PollPlan, now: number, n: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const j = plan.next(now, live);
    out.push('waitUntil' in j ? `wait ${j.waitUntil}` : `${(j as PollJob).probe ? 'probe' : 'poll'} ${(j as PollJob).address}`);
  }
  return out;
}

describe('bus engine: poll plan', () => {
  it('scans every address once, then cycles over present packs with at most one probe per cycle', () => {
    const plan = new PollPlan([1, 2, 3, 4, 5]);
    assert.deepEqual(take(plan, 0, 5), ['probe 1', 'probe 2', 'probe 3', 'probe 4', 'probe 5']);
    plan.answered(2);
    plan.answered(4);
    for (const a of [1, 3, 5]) plan.failed(a, 0, true);
    // Not due yet (5 s backoff): the cycle is just the present packs.
    assert.deepEqual(take(plan, 1_000, 4), ['poll 2', 'poll 4', 'poll 2', 'poll 4']);
    // All three due at 5 s: one per cycle, round robin.
    assert.deepEqual(take(plan, 5_000, 9), ['probe 1', 'poll 2', 'poll 4', 'probe 3', 'poll 2', 'poll 4', 'probe 5', 'poll 2', 'poll 4']);
  });

  it('re-probes an absent address with backoff 5 s doubling to 5 min', () => {
    const plan = new PollPlan([7]);
    let now = 0;
    const due: number[] = [];
    assert.deepEqual(take(plan, now, 1), ['probe 7']);
    for (let i = 0; i < 9; i++) {
      plan.failed(7, now, true);
      const j = plan.next(now, live) as { waitUntil: number };
      due.push((j.waitUntil - now) / 1000);
      now = j.waitUntil;
      assert.deepEqual(take(plan, now, 1), ['probe 7']);
    }
    assert.deepEqual(due, [5, 10, 20, 40, 80, 160, 300, 300, 300]);
  });

  it('a present pack becomes absent after 3 unanswered live polls; unanswered settings/info reads do not count', () => {
    const plan = new PollPlan([1, 2]);
    take(plan, 0, 2);
    plan.answered(1);
    plan.answered(2);
    assert.equal(plan.failed(1, 10, false), false);
    assert.equal(plan.failed(1, 10, true), false);
    assert.equal(plan.failed(1, 10, true), false);
    assert.equal(plan.failed(1, 10, true), true);
    assert.deepEqual(plan.presentAddresses(), [2]);
    assert.deepEqual(take(plan, 100, 2), ['poll 2', 'poll 2']);
    assert.deepEqual(take(plan, 5_010, 2), ['probe 1', 'poll 2']);
  });

  it('a new session with known packs polls them at once and probes the rest one per cycle', () => {
    const plan = new PollPlan([1, 2, 3]);
    plan.begin([2]);
    assert.deepEqual(take(plan, 0, 4), ['probe 1', 'poll 2', 'probe 3', 'poll 2']);
    plan.failed(1, 0, true);
    plan.failed(3, 0, true);
    assert.deepEqual(take(plan, 0, 2), ['poll 2', 'poll 2']);
  });

  it('asks the engine which kind to read from a present pack', () => {
    const plan = new PollPlan([1]);
    take(plan, 0, 1);
    plan.answered(1);
    const j = plan.next(0, () => 'settings') as PollJob;
    assert.deepEqual(j, { address: 1, kind: 'settings', probe: false });
  });
});

describe('bus engine: gap learner', () => {
  it('learns the silence after each kind of message and keeps the minimum of recent samples', () => {
    const g = new GapLearner();
    // Cycle 1: probe of 5 (no answer, 220 ms), trigger to 2 answered after 8 ms, 180 ms after the answer.
    g.message('t:5:live', 0, 1);
    g.message('t:2:live', 221, 222);
    g.message('f:2:live', 230, 257);
    g.message('t:3:live', 437, 438);
    assert.equal(g.quietAfter('t:5:live', 500), 220);
    assert.equal(g.quietAfter('t:2:live', 500), 8);
    assert.equal(g.quietAfter('f:2:live', 500), 180);
    assert.equal(g.quietAfter('t:3:live', 500), undefined);
    assert.equal(g.turnaroundMs(), 8);
    // Cycle 2: a shorter wait after the probe of 5 wins.
    g.message('t:5:live', 4400, 4401);
    g.message('t:6:live', 4611, 4612);
    assert.equal(g.quietAfter('t:5:live', 5000), 210);
  });

  it('forgets old samples, ignores silences beyond the cap, and resets', () => {
    const g = new GapLearner({ maxAgeMs: 10_000, capMs: 1000 });
    g.message('f:0:live', 0, 27);
    g.message('f:0:settings', 247, 274);
    assert.equal(g.quietAfter('f:0:live', 1_000), 220);
    assert.equal(g.quietAfter('f:0:live', 20_000), undefined, 'older than maxAgeMs');
    g.message('t:1:live', 5000, 5001);
    assert.equal(g.quietAfter('f:0:settings', 5001), undefined, 'a 4.7 s silence is not a wait inside the cycle');
    g.reset();
    assert.equal(g.quietAfter('t:1:live', 5001), undefined);
    assert.equal(g.keys, 0);
  });
});

describe('bus engine: injection into a gap', () => {
  const byteMs = 10_000 / 115200;
  const base = { end: 1000, turnaroundMs: 8, byteMs, minGapMs: 100 };

  it('after an answered exchange (180 ms): starts minGap after it, done with ≥ 20 ms to spare', () => {
    const p = planInjection({ ...base, afterTrigger: false, quiet: 180 })!;
    assert.equal(p.sendAt, 1100);
    assert.equal(p.windowEnd, 1000 + 180 - 10);
    const done = p.sendAt + 321 * byteMs + 8;
    assert.ok(1180 - done > 20, `${1180 - done} ms left`);
  });

  it('a short gap shrinks the lead; too short a gap, or too little lead after a trigger, is refused', () => {
    const p = planInjection({ ...base, afterTrigger: false, quiet: 90 })!;
    // 90 − (321 bytes + 12 ms) − 20 = 30.1 ms lead.
    assert.ok(Math.abs(p.sendAt - 1000 - (90 - 321 * byteMs - 12 - 20)) < 1e-9);
    assert.equal(planInjection({ ...base, afterTrigger: false, quiet: 60 }), null);
    assert.equal(planInjection({ ...base, afterTrigger: true, quiet: 90 }), null, 'after a trigger the lead must be ≥ 40 ms');
    assert.equal(planInjection({ ...base, afterTrigger: true, quiet: 220 })!.sendAt, 1100);
  });
});

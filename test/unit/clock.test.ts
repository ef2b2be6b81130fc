import assert from 'node:assert/strict';
import { FakeClock } from '../../src/common/clock';

describe('FakeClock', () => {
  it('fires timers in due order, ties in creation order, with now() at the due time', () => {
    const c = new FakeClock(1000);
    const seen: string[] = [];
    c.setTimeout(() => seen.push(`b@${c.now()}`), 20);
    c.setTimeout(() => seen.push(`a@${c.now()}`), 10);
    c.setTimeout(() => seen.push(`c@${c.now()}`), 20);
    c.advance(15);
    assert.deepEqual(seen, ['a@1010']);
    assert.equal(c.now(), 1015);
    c.advance(100);
    assert.deepEqual(seen, ['a@1010', 'b@1020', 'c@1020']);
    assert.equal(c.now(), 1115);
  });

  it('cancels, chains timers set from timers, and collects errors without stopping', () => {
    const c = new FakeClock();
    const seen: number[] = [];
    const h = c.setTimeout(() => seen.push(-1), 5);
    c.clearTimeout(h);
    c.setTimeout(() => {
      throw new Error('boom');
    }, 1);
    const tick = () => {
      seen.push(c.now());
      if (seen.length < 3) c.setTimeout(tick, 0.5);
    };
    c.setTimeout(tick, 2);
    c.runAll();
    assert.deepEqual(seen, [2, 2.5, 3]);
    assert.equal(c.errors.length, 1);
    assert.equal(c.pending, 0);
  });
});

import assert from 'node:assert/strict';
import { SendThrottle } from '../../src/common/throttle';
import { FakeClock } from '../../src/common/clock';

describe('send throttle (HA state publishing, bank messages)', () => {
  /** Records the clock time of every send: immediate (request() true) and deferred (onDue). */
  function setup(intervalMs: number) {
    const clock = new FakeClock(0);
    const sent: number[] = [];
    const t = new SendThrottle(clock, intervalMs, () => sent.push(clock.now()));
    const request = () => {
      if (t.request()) sent.push(clock.now());
    };
    return { clock, sent, t, request };
  }

  it('sends the first request at once and folds the rest of the interval into one send at its end', () => {
    const { clock, sent, request } = setup(1000);
    request();
    clock.advance(100);
    request();
    clock.advance(500);
    request();
    assert.deepEqual(sent, [0]);
    clock.advance(400);
    assert.deepEqual(sent, [0, 1000]);
    clock.advance(1500);
    request();
    assert.deepEqual(sent, [0, 1000, 2500]);
  });

  it('interval 0 sends every request', () => {
    const { sent, request } = setup(0);
    request();
    request();
    assert.deepEqual(sent, [0, 0]);
  });

  it('a request arriving when the deferred send is due but has not run yet (late timer) folds into it: one send, not two', () => {
    const { clock, sent, request } = setup(1000);
    clock.setTimeout(request, 1000); // created first: runs before the throttle's timer due at the same time
    request();
    clock.advance(100);
    request(); // deferred to t = 1000
    clock.advance(900);
    assert.deepEqual(sent, [0, 1000]);
    clock.advance(5000);
    assert.deepEqual(sent, [0, 1000]);
  });

  it('cancel() drops the deferred send', () => {
    const { clock, sent, t, request } = setup(1000);
    request();
    request();
    t.cancel();
    clock.advance(2000);
    assert.deepEqual(sent, [0]);
  });
});

describe('send throttle: period restart and cancel', () => {
  it('passes the first request, folds the rest into one call at the end of the period', () => {
    const clock = new FakeClock(100);
    let due = 0;
    const t = new SendThrottle(clock, 1000, () => due++);
    assert.equal(t.request(), true);
    assert.equal(t.request(), false);
    assert.equal(t.request(), false);
    clock.advance(999);
    assert.equal(due, 0);
    clock.advance(1);
    assert.equal(due, 1);
    assert.equal(t.request(), false); // the period restarted when onDue ran
    t.cancel();
    clock.advance(5000);
    assert.equal(due, 1);
    assert.equal(t.request(), true);
    const zero = new SendThrottle(clock, 0, () => due++);
    assert.equal(zero.request() && zero.request(), true);
  });

  it('markSent: something sent outside the throttle drops the pending send and restarts the period', () => {
    const clock = new FakeClock(0);
    let due = 0;
    const t = new SendThrottle(clock, 1000, () => due++);
    assert.equal(t.request(), true);
    clock.advance(300);
    assert.equal(t.request(), false); // pending for t = 1000
    clock.advance(300);
    t.markSent(); // an urgent message at t = 600
    clock.advance(400);
    assert.equal(due, 0, 'the pending send was dropped');
    assert.equal(t.request(), false); // 400 ms after the urgent one: deferred to t = 1600
    clock.advance(599);
    assert.equal(due, 0);
    clock.advance(1);
    assert.equal(due, 1);
  });
});

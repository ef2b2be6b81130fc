import assert from 'node:assert/strict';
import { SendThrottle } from '../../src/bank/throttle';
import { FakeClock } from '../../src/bus/clock';

describe('bank send throttle', () => {
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

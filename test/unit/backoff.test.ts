import assert from 'node:assert/strict';
import { Backoff } from '../../src/transport/backoff';

/** A random() that returns the given values in turn (repeating the last). */
function seq(...values: number[]): () => number {
  let i = 0;
  return () => values[Math.min(i++, values.length - 1)]!;
}

describe('Backoff', () => {
  it('doubles from initialMs without jitter: 500, 1000, 2000, 4000, ...', () => {
    const b = new Backoff({ jitter: 0 });
    const got = Array.from({ length: 7 }, () => b.next());
    assert.deepEqual(got, [500, 1000, 2000, 4000, 8000, 16000, 30000]);
    assert.equal(b.attempts, 7);
  });

  it('caps at maxMs and stays there, even after very many attempts', () => {
    const b = new Backoff({ initialMs: 100, maxMs: 1000, factor: 3, jitter: 0 });
    const got = Array.from({ length: 5 }, () => b.next());
    assert.deepEqual(got, [100, 300, 900, 1000, 1000]);
    for (let i = 0; i < 5000; i++) b.next();
    assert.equal(b.next(), 1000);
  });

  it('applies jitter symmetrically: r=0 → −20 %, r=0.5 → exact, r→1 → +20 %', () => {
    const b = new Backoff({ random: seq(0, 0.5, 0.999999, 0.25) });
    assert.deepEqual([b.next(), b.next(), b.next(), b.next()], [400, 1000, 2400, 3600]);
  });

  it('never exceeds maxMs with jitter and stays within ±jitter of the base', () => {
    const b = new Backoff({ initialMs: 500, maxMs: 30000, jitter: 0.2, random: seq(0.999999) });
    const high = Array.from({ length: 10 }, () => b.next());
    assert.deepEqual(high, [600, 1200, 2400, 4800, 9600, 19200, 30000, 30000, 30000, 30000]);
    const low = new Backoff({ random: seq(0) });
    const lows = Array.from({ length: 8 }, () => low.next());
    assert.deepEqual(lows, [400, 800, 1600, 3200, 6400, 12800, 24000, 24000]);
    // Math.random stays within the same bounds.
    const real = new Backoff();
    for (let i = 0; i < 200; i++) {
      const base = Math.min(30000, 500 * 2 ** i);
      const d = real.next();
      assert.ok(d >= Math.round(base * 0.8) && d <= Math.min(30000, Math.round(base * 1.2)), `attempt ${i}: ${d}`);
    }
  });

  it('clamps a misbehaving random() into [0, 1]', () => {
    const b = new Backoff({ random: seq(-5, 7) });
    assert.deepEqual([b.next(), b.next()], [400, 1200]);
  });

  it('reset() starts again from initialMs', () => {
    const b = new Backoff({ jitter: 0 });
    b.next();
    b.next();
    b.next();
    b.reset();
    assert.equal(b.attempts, 0);
    assert.deepEqual([b.next(), b.next()], [500, 1000]);
  });

  it('rejects nonsense options with a clear RangeError', () => {
    assert.throws(() => new Backoff({ initialMs: 0 }), /initialMs must be a positive number of ms, got 0/);
    assert.throws(() => new Backoff({ initialMs: Number.NaN }), /initialMs must be a positive/);
    assert.throws(() => new Backoff({ initialMs: 1000, maxMs: 999 }), /maxMs must be at least initialMs \(1000\), got 999/);
    assert.throws(() => new Backoff({ factor: 0.5 }), /factor must be at least 1, got 0.5/);
    assert.throws(() => new Backoff({ jitter: 1.5 }), /jitter must be between 0 and 1, got 1.5/);
    assert.throws(() => new Backoff({ jitter: -0.1 }), RangeError);
  });
});

import assert from 'node:assert/strict';
import { runBusyLoop, type BusyLoopResult } from '../bench/busy-loop';
import { requireTool } from '../helpers/tools';

/**
 * Issue 15: a busy Node-RED must never make us talk over a JK master. The simulated bus (JK
 * master + slaves 1–3) runs in a child process on the real clock; this process — the engine's —
 * blocks its own event loop for 50, 200, 100, 150 ms in turn every 1.17 s while it asks for a
 * slave's device info every 2 s (the master never asks for it: each answer needs one of our
 * requests in its quiet gaps). Over TCP loopback and over a pty (socat).
 */
const SECONDS = 45;

function summary(r: BusyLoopResult): string {
  return (
    `      ${r.link}: ${r.stalls} stalls, ${r.requests} requests, ${r.answered} answered (median ${r.latencyMedianMs} ms, p95 ${r.latencyP95Ms} ms, ` +
    `max ${r.latencyMaxMs} ms), ${r.injected} injected, ${r.deferred} deferred, ${r.failed} given up and asked again, ` +
    `${r.collisions} collisions (${r.collisionsSimStalled} while the simulator itself stalled; ${r.simStalls} simulator stalls, longest ${r.simStallMaxMs} ms)` +
    (r.collisions ? `\n      ${JSON.stringify(r.collisionDetails)}` : '')
  );
}

describe('bus engine with a busy event loop: the JK master simulated in a child process', function () {
  this.timeout((SECONDS + 120) * 1000);

  for (const link of ['tcp', 'pty'] as const) {
    it(`${link}: the loop blocked 50–200 ms every 1.17 s for ${SECONDS} s — no collision caused by us, every device info answered`, async function () {
      if (link === 'pty') requireTool(this, 'socat');
      const r = await runBusyLoop({ link, stallMs: [50, 200, 100, 150], seconds: SECONDS });
      console.log(summary(r));
      assert.deepEqual(r.roles, ['listening', 'sniffing', 'stopped']);
      assert.ok(r.stalls >= SECONDS - 8, `the loop was blocked ${r.stalls} times`);
      // Every collision on the wire involves us (the master and its slaves alone never collide);
      // one while the simulator process itself was frozen is the test machine's, not ours.
      assert.equal(r.collisions - r.collisionsSimStalled, 0, `collisions: ${JSON.stringify(r.collisionDetails)}`);
      assert.equal(r.answered, r.requests, `answered ${r.answered} of ${r.requests}: ${r.errors.join('; ')}`);
      assert.ok(r.injected >= r.requests / 3, `injected ${r.injected}`);
    });
  }
});

'use strict';
// Mocha reporter: the usual Spec output, then one closing line that CI reads:
//   "N passed, N failed, N skipped"
// With JKBMS_COUNTS_FILE set, the counts are also written there as JSON (scripts/test.mjs adds
// up the runs of the test matrix).
const { writeFileSync } = require('node:fs');
const Mocha = require('mocha');
const { EVENT_RUN_END, EVENT_TEST_PENDING } = Mocha.Runner.constants;

class CountingSpec extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    let skipped = 0;
    runner.on(EVENT_TEST_PENDING, () => { skipped += 1; });
    runner.once(EVENT_RUN_END, () => {
      const s = runner.stats || {};
      // Printed after Spec's epilogue (registered first), so it is the last line.
      process.nextTick(() => {
        console.log(`${s.passes || 0} passed, ${s.failures || 0} failed, ${skipped} skipped`);
        if (process.env.JKBMS_COUNTS_FILE) {
          writeFileSync(process.env.JKBMS_COUNTS_FILE, JSON.stringify({ passed: s.passes || 0, failed: s.failures || 0, skipped }));
        }
      });
    });
  }
}
module.exports = CountingSpec;

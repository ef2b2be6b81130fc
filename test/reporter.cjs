'use strict';
// Mocha reporter: the usual Spec output, then one closing line that CI reads:
//   "N passed, N failed, N skipped"
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
      });
    });
  }
}
module.exports = CountingSpec;

/**
 * `npm run bench`: measured figures, printed (no thresholds — performance is measured, not
 * asserted by timers). Protocol costs first, then the bus engine on the simulator.
 */
import { benchProtocol, printProtocolBench } from './protocol';

async function main(): Promise<void> {
  console.log(`node ${process.version}, ${process.platform}/${process.arch}`);
  const p = benchProtocol();
  printProtocolBench(p);
  const { benchBus } = require('./bus') as typeof import('./bus');
  await benchBus();
  const { benchHa } = require('./ha') as typeof import('./ha');
  await benchHa();
  console.log(JSON.stringify({ protocol: p }));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});

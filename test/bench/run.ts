/**
 * `npm run bench`: measured figures, printed (no thresholds — performance is measured, not
 * asserted by timers). Protocol costs first, the health analysis per live frame, the bus engine
 * on the simulator, the Home Assistant bridge, then the engine with a busy event loop against
 * the simulator in a child process.
 */
import { benchProtocol, printProtocolBench } from './protocol';

async function main(): Promise<void> {
  console.log(`node ${process.version}, ${process.platform}/${process.arch}`);
  const p = benchProtocol();
  printProtocolBench(p);
  const { benchHealth, printHealthBench } = require('./health') as typeof import('./health');
  const h = benchHealth();
  printHealthBench(h);
  const { benchBus } = require('./bus') as typeof import('./bus');
  await benchBus();
  const { benchHa } = require('./ha') as typeof import('./ha');
  await benchHa();
  const { benchBusyLoop } = require('./busy-loop') as typeof import('./busy-loop');
  await benchBusyLoop();
  console.log(JSON.stringify({ protocol: p, health: h }));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});

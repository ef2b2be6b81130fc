import { BusSimulator, type BusSimulatorOptions, type TcpListener } from '../../src/sim';

/**
 * A started simulator with its transparent TCP gateway on 127.0.0.1, for a bus node with
 * transport "tcp". `prepare` runs before the simulator starts (e.g. to fix the packs' currents).
 */
export async function simGateway(options: BusSimulatorOptions, prepare?: (sim: BusSimulator) => void): Promise<{ sim: BusSimulator; gw: TcpListener }> {
  const sim = new BusSimulator(options);
  prepare?.(sim);
  sim.start();
  return { sim, gw: await sim.listenTcp(0, '127.0.0.1') };
}

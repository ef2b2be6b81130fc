import helper from 'node-red-node-test-helper';
import type { Transport } from '../../src/transport/transport';
import { busFactories, type BusFactories } from '../../nodes/lib/bus-registry';
import type { BusSimulator, TransmitEvent } from '../../src/sim';

/**
 * Flows for the node tests in node-red-node-test-helper: a jkbms-bus config node whose
 * transport is the in-process simulator, the nodes under test on tab "t1", their output into
 * helper "out" and their errors through a Catch node into helper "caught".
 *
 *   nodeTestHooks(() => sim);                            // in describe()
 *   useSimulator(sim);                                   // in load(), after sim.start()
 *   const { got, errors } = await loadWithCatch([busNode, packNode], [busConfig(), pack]);
 *
 * exampleFlow() puts a shipped example into such a test, collect() listens to any helper node.
 */

export type Msg = Record<string, any>;
/** A flow node as test-helper takes it. */
export type FlowNode = { id: string; type: string; z?: string; name?: string; wires?: string[][]; [k: string]: any };

export const catchNode = require('@node-red/nodes/core/common/25-catch.js');

/** A jkbms-bus "bus1" named "bank" on /dev/ttyJK, as the editor saves it; `over` changes fields. */
export function busConfig(over: Partial<FlowNode> = {}): FlowNode {
  return { id: 'bus1', type: 'jkbms-bus', name: 'bank', transport: 'serial', path: '/dev/ttyJK', baud: 115200, mode: 'auto', minGap: 100,
    responseTimeout: 300, masterSilence: 500, settingsInterval: 30, infoInterval: 3600, offlineAfter: 30, allowWrites: false, ...over };
}

/** `nodes` on tab t1, with helper "out", a Catch node for t1 and its helper "caught". */
export function withCatch(nodes: FlowNode[]): FlowNode[] {
  return [
    { id: 't1', type: 'tab' },
    ...nodes,
    { id: 'out', type: 'helper', z: 't1' },
    { id: 'c1', type: 'catch', z: 't1', scope: null, uncaught: false, wires: [['caught']] },
    { id: 'caught', type: 'helper', z: 't1' },
  ];
}

/** A shipped example on tab "tab1": its bus config node changed by `bus`, its debug nodes turned into helper nodes. */
export function exampleFlow(example: FlowNode[], bus: Partial<FlowNode>): FlowNode[] {
  return [
    { id: 'tab1', type: 'tab' },
    ...example.map((n): FlowNode => {
      if (n.type === 'jkbms-bus') return { ...n, ...bus };
      if (n.type === 'debug') return { id: n.id, type: 'helper', z: 'tab1' };
      return { ...n, z: 'tab1' };
    }),
  ];
}

/** Messages arriving at helper node `id` from now on. */
export function collect(id: string): Msg[] {
  const got: Msg[] = [];
  helper.getNode(id).on('input', (m: Msg) => got.push(m));
  return got;
}

/** What arrives at "out" and at "caught" from now on. */
export function outputs(): { got: Msg[]; errors: Msg[] } {
  return { got: collect('out'), errors: collect('caught') };
}

/** helper.load() the node modules (and the Catch node) with withCatch(nodes). */
export async function loadWithCatch(modules: unknown[], nodes: FlowNode[]): Promise<{ got: Msg[]; errors: Msg[] }> {
  await helper.load([...modules, catchNode] as Parameters<typeof helper.load>[0], withCatch(nodes));
  return outputs();
}

/** The status calls of `node` itself (test-helper's spy on Node.prototype.status is shared by every node). */
export function ownStatuses(node: any): Record<string, any>[] {
  return node.status.getCalls().filter((c: any) => c.thisValue === node).map((c: any) => c.args[0]);
}

/** The last of ownStatuses(node). */
export const lastStatus = (node: any): Record<string, any> | undefined => ownStatuses(node).at(-1);

/** What getBus() needs from RED, from test-helper. */
export const RED = { nodes: { getNode: (id: string) => helper.getNode(id) } } as any;

const original: BusFactories = { ...busFactories };

/** Bus nodes connect to `sim` (a fresh host endpoint each, also pushed to `made`) instead of a port. */
export function useSimulator(sim: BusSimulator, made?: Transport[]): void {
  busFactories.createTransport = () => {
    const t = sim.createHostEndpoint();
    made?.push(t);
    return t;
  };
}

/** Undo useSimulator() and every other change to busFactories. */
export function restoreBusFactories(): void {
  Object.assign(busFactories, original);
}

/**
 * The hooks of a node test: test-helper's server for each test; after it, the flows unloaded,
 * the server stopped, busFactories restored and the test's simulator (if any) stopped.
 */
export function nodeTestHooks(simulator: () => BusSimulator | null | undefined): void {
  beforeEach(async () => {
    await helper.startServer();
  });
  afterEach(async () => {
    await helper.unload();
    await helper.stopServer();
    restoreBusFactories();
    await simulator()?.stop();
  });
}

/**
 * A filter for the simulator's transmissions: the settings writes (function 0x10 below the
 * 0x161C..0x1620 read triggers) from senders whose name starts with `sender` ("host": its host
 * endpoints, "tcp": clients of its TCP gateway).
 */
export function settingsWriteFrom(sender: string): (t: TransmitEvent) => boolean {
  return (t) => t.sender.startsWith(sender) && t.bytes[1] === 0x10 && t.bytes.length >= 11 && t.bytes.readUInt16BE(2) < 0x161c;
}

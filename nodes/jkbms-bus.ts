import type { Node, NodeAPI } from 'node-red';
import { BusController } from './lib/bus-registry';
import { busLabel, EDITOR_SETTINGS, parseBusConfig, type BusNodeDef } from './lib/config';
import { registerAdminEndpoints } from './lib/admin';
import { busStatus } from './lib/status';
import { plainMessage, registerInvalidBus } from './lib/bus-reporting';

/**
 * `jkbms-bus`: the config node that owns one RS485 bus (a USB adapter, a TCP gateway, the
 * simulator or the replay of a capture file) and its bus engine. Other nodes reach it through
 * getBus() (nodes/lib/bus-registry.ts).
 */

export = function (RED: NodeAPI): void {
  function JkbmsBusNode(this: Node, def: BusNodeDef): void {
    RED.nodes.createNode(this, def);
    const node = this as Node & { users?: Record<string, Node> };
    const t = (key: string, params?: Record<string, string | number>): string => RED._(key, params);
    let bus: BusController | null = null;
    try {
      const cfg = parseBusConfig(def, { userDir: (RED.settings as { userDir?: string }).userDir });
      bus = new BusController({
        id: node.id,
        name: busLabel(def),
        allowWrites: cfg.allowWrites,
        transport: cfg.transport,
        engine: cfg.engine,
        record: cfg.record,
        node,
        onPhase: (phase) => node.status(busStatus(phase, t)),
        onError: (err) => node.error(err, { topic: `${busLabel(def)}/error`, payload: err.message }),
        log: (level, msg) => {
          if (level === 'info') node.log(msg);
          else node.debug(msg);
        },
      });
    } catch (err) {
      // Reported once the flows have started, to the flows of the nodes using this bus, which show it too.
      registerInvalidBus(node, busLabel(def), plainMessage(err), { fill: 'red', shape: 'dot', text: t('jkbms-bus.status.invalid') });
    }

    node.on('close', (_removed: boolean, done: () => void) => {
      const finished = bus ? bus.close() : Promise.resolve();
      finished.catch(() => undefined).finally(() => done());
    });
  }

  // The limits of its properties go to the edit dialog as RED.settings.jkbmsBusLimits.
  RED.nodes.registerType('jkbms-bus', JkbmsBusNode, { settings: EDITOR_SETTINGS });
  registerAdminEndpoints(RED);
};

import type { NodeStatus } from 'node-red';
import type { BusPhase } from './bus-registry';

/** Translation function (RED._ of the calling node set). */
export type Translate = (key: string, params?: Record<string, string | number>) => string;

/**
 * The bus node's status, from its phase (one mapping, used for the config node and shown in
 * the Status nodes of every flow that uses the bus).
 */
export function busStatus(phase: BusPhase, t: Translate): NodeStatus {
  const k = (key: string, params?: Record<string, string | number>): string => t(`jkbms-bus.status.${key}`, params);
  const base = phaseStatus(phase, k);
  // Nobody must take a simulated or replayed bus for their battery: say so first.
  let text = String(base.text ?? '');
  if (phase.connection === 'replay' && phase.replayEnded && phase.phase === 'up') text = k('replay-ended');
  else if (phase.connection === 'replay') text = k('replay', { status: text });
  else if (phase.connection === 'sim') text = k('simulated', { status: text });
  if (phase.recording === 'recording' || phase.recording === 'opening') text = k('recording', { status: text });
  else if (phase.recording === 'failed') text = k('recording-failed', { status: text });
  return { ...base, text };
}

function phaseStatus(phase: BusPhase, k: (key: string, params?: Record<string, string | number>) => string): NodeStatus {
  switch (phase.phase) {
    case 'stopped':
      return { fill: 'grey', shape: 'ring', text: k('stopped') };
    case 'connecting':
      return { fill: 'yellow', shape: 'ring', text: k('connecting') };
    case 'in-use':
      return { fill: 'red', shape: 'dot', text: k('in-use') };
    case 'down':
      return phase.retryMs === null
        ? { fill: 'red', shape: 'ring', text: k('disconnected') }
        : { fill: 'red', shape: 'ring', text: k('retry', { s: Math.max(1, Math.round(phase.retryMs / 1000)) }) };
    case 'up':
      if (phase.role === 'sniffing') return { fill: 'green', shape: 'dot', text: k('sniffing', { count: phase.packsOnline }) };
      if (phase.role === 'master') {
        return { fill: 'green', shape: 'dot', text: k('master', { online: phase.packsOnline, known: phase.packsKnown }) };
      }
      if (phase.role === 'stopped') return { fill: 'grey', shape: 'ring', text: k('stopped') };
      return { fill: 'green', shape: 'ring', text: k('listening', { count: phase.packsOnline }) };
  }
}

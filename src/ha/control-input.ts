/**
 * Control messages `jkbms-ha` accepts besides the jkbms data (src/ha/input.ts): an HA command
 * from an `mqtt in` node, a jkbms-write result wired back, or a refused / failed write request
 * from a Catch node. See src/ha/controls.ts for what becomes of them.
 */
import type { BmsIdentity } from '../messages/message';
import { checkBms, isObj, type Obj } from './check';

/** What a `jkbms-write` node reports (its output payload). */
export interface WrittenResult {
  ok: boolean;
  setting: string;
  after: number | boolean | null;
}

export type ControlInput =
  /**
   * An HA command from an `mqtt in` node on `<base>/+/+/set/+`. `retained`: delivered from the
   * broker's store (msg.retain), not sent now; refused, or every restart would write it again.
   */
  | { kind: 'command'; topic: string; text: string; retained: boolean }
  /** A jkbms-write result (its output wired back). */
  | { kind: 'written'; bms: BmsIdentity; result: WrittenResult }
  /** A refused or failed write request, from a Catch node (msg.error). */
  | { kind: 'write-failed'; bms: BmsIdentity; setting: string }
  /**
   * Not ours to act on, and never an error: anything else a Catch node delivers (an error here
   * would be caught again), and an empty command payload (how MQTT deletes a retained message).
   */
  | { kind: 'ignored' };

const COMMAND_TOPIC = /\/set\/[^/]+$/;

const scalarText = (p: unknown): string | null =>
  typeof p === 'string' ? p : Buffer.isBuffer(p) ? p.toString('utf8') : typeof p === 'number' || typeof p === 'boolean' ? String(p) : null;

function result(p: Obj): WrittenResult {
  const after = p.after;
  return { ok: p.ok as boolean, setting: p.setting as string, after: typeof after === 'number' || typeof after === 'boolean' ? after : null };
}

/**
 * Classify a control message, or null when it is none (then it is jkbms data, a birth or a
 * remove command: parseInput). Throws HaInputError for a malformed result or `msg.bms`.
 */
export function parseControl(msg: { topic?: unknown; payload?: unknown; bms?: unknown; error?: unknown; retain?: unknown }): ControlInput | null {
  const p = msg.payload;
  const isResult = isObj(p) && typeof p.ok === 'boolean' && typeof p.setting === 'string' && 'requested' in p;
  if (msg.error !== undefined && msg.error !== null) {
    // From a Catch node: never throw (an error here would be caught again).
    let bms: BmsIdentity;
    try {
      bms = checkBms(msg.bms);
    } catch {
      return { kind: 'ignored' };
    }
    if (isResult) return { kind: 'written', bms, result: result(p) };
    if (isObj(p) && typeof p.setting === 'string') return { kind: 'write-failed', bms, setting: p.setting };
    return { kind: 'ignored' };
  }
  if (isResult) return { kind: 'written', bms: checkBms(msg.bms), result: result(p) };
  if (msg.bms === undefined && typeof msg.topic === 'string' && COMMAND_TOPIC.test(msg.topic)) {
    const text = scalarText(p);
    if (text !== null && text.trim() === '') return { kind: 'ignored' };
    if (text !== null) return { kind: 'command', topic: msg.topic, text, retained: msg.retain === true };
  }
  return null;
}

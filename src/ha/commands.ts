/**
 * What the bridge does with a control message (src/ha/control-input.ts): an HA command becomes
 * a write request for the pack whose command topic it is (for a jkbms-write node); a confirmed
 * write result updates the pack's settings and publishes its state at once; a refused command
 * or a failed write re-publishes the real state, so HA's switch or number snaps back.
 */
import type { BmsIdentity } from '../messages/message';
import type { ControlInput } from './control-input';
import { commandValue, controlSettings } from './controls';
import { parseCommandTopic } from './ids';
import type { PackSlot } from './pack-slot';
import type { HaOptions, MqttMessage, WriteRequest } from './types';

export type ControlErrorCode = 'bad-command-topic' | 'unknown-pack' | 'controls-off' | 'not-a-control' | 'retained-command';

/** What a control message produced: states for the first output, a write request for the second, an error to report. */
export interface ControlOutcome {
  publish: MqttMessage[];
  request: WriteRequest | null;
  error: { code: ControlErrorCode; topic: string; setting: string } | null;
}

export interface PackLookup {
  slotFor(bms: BmsIdentity): PackSlot | undefined;
  /** The announced pack whose command topics start with this prefix. */
  slotWithPrefix(prefix: string): PackSlot | undefined;
}

export function handleCommand(input: ControlInput, opts: HaOptions, packs: PackLookup): ControlOutcome {
  const none: ControlOutcome = { publish: [], request: null, error: null };
  switch (input.kind) {
    case 'ignored':
      return none;
    case 'command':
      return command(input.topic, input.text, input.retained, opts, packs);
    case 'written': {
      const slot = packs.slotFor(input.bms);
      if (!slot) return none;
      slot.confirmed(input.result.setting, input.result.after);
      return { ...none, publish: slot.stateNow() };
    }
    case 'write-failed':
      return { ...none, publish: packs.slotFor(input.bms)?.stateNow() ?? [] };
  }
}

function command(topic: string, text: string, retained: boolean, opts: HaOptions, packs: PackLookup): ControlOutcome {
  const parsed = parseCommandTopic(opts.baseTopic, topic);
  const refuse = (code: ControlErrorCode, publish: MqttMessage[] = []): ControlOutcome => ({ publish, request: null, error: { code, topic, setting: parsed?.setting ?? '' } });
  if (!parsed) return refuse('bad-command-topic');
  const slot = packs.slotWithPrefix(parsed.prefix);
  // A retained command is deleted from the broker (an empty retained message, which is never a
  // command) so it is not replayed again; the real state is published (HA snaps back).
  if (retained) return refuse('retained-command', [{ topic, payload: '', retain: true, qos: opts.qos }, ...(slot?.stateNow() ?? [])]);
  if (!slot) return refuse('unknown-pack');
  if (opts.controls !== true) return refuse('controls-off', slot.stateNow());
  const def = slot.hasControls() ? controlSettings(opts.protection === true).find((d) => d.name === parsed.setting) : undefined;
  if (!def) return refuse('not-a-control', slot.stateNow());
  return {
    publish: [],
    request: { topic, payload: { address: slot.address, setting: def.name, value: commandValue(def, text) }, bms: { ...slot.identity, bus: slot.busName, busId: slot.busId, address: slot.address } },
    error: null,
  };
}

import assert from 'node:assert/strict';
import { FakeClock } from '../../src/common/clock';
import { HaBridge } from '../../src/ha/bridge';
import { parseControl } from '../../src/ha/control-input';
import { applyConfirmed, commandValue, controlEntities, controlSettings } from '../../src/ha/controls';
import { parseCommandTopic } from '../../src/ha/ids';
import { parseInput } from '../../src/ha/input';
import type { HaOptions, MqttMessage } from '../../src/ha/types';
import { findSetting } from '../../src/protocol/settings';
import { ALL_GROUPS, BUS_ID, bms, live, msg, SERIAL, settings } from './ha-fixtures';

const SER = `jkbms_${SERIAL}`;
const STATE = `jkbms/bus1/${SERIAL}/state`;
const SET = `jkbms/bus1/${SERIAL}/set`;
const OPTS: HaOptions = {
  discoveryPrefix: 'homeassistant',
  baseTopic: 'jkbms',
  mode: 'entity',
  groups: ALL_GROUPS,
  expireAfter: 120,
  qos: 1,
  rateLimit: 0,
  serialWait: 60,
  energyMaxGap: 60,
  origin: { name: '@jkpb/node-red-jkbms', version: '0.1.0' },
  controls: true,
};

const DEFAULT_CONTROLS = [
  'smartSleepVoltage', 'balanceTriggerVoltage', 'cellSoc100Voltage', 'cellSoc0Voltage', 'cellRequestChargeVoltage', 'cellRequestFloatVoltage',
  'maxBalanceCurrent', 'nominalCapacityAh', 'balanceStartVoltage', 'prechargeTime',
  'chargingEnabled', 'dischargingEnabled', 'balancingEnabled',
  'heatingEnabled', 'gpsHeartbeat', 'displayAlwaysOn', 'specialCharger', 'smartSleep', 'timedStoredData', 'chargingFloatMode', 'emergencyButton', 'dryContactIntermittent',
];
const PROTECTION_CONTROLS = [
  'cellUvp', 'cellUvpRecovery', 'cellOvp', 'cellOvpRecovery', 'powerOffVoltage', 'maxChargeCurrent', 'chargeOcpDelay', 'chargeOcpRecoveryTime',
  'maxDischargeCurrent', 'dischargeOcpDelay', 'dischargeOcpRecoveryTime', 'scpRecoveryTime', 'chargeOtp', 'chargeOtpRecovery', 'dischargeOtp',
  'dischargeOtpRecovery', 'chargeUtp', 'chargeUtpRecovery', 'mosOtp', 'mosOtpRecovery', 'cellCount',
  'disableTemperatureSensors', 'portRs485', 'disablePclModule', 'dischargeOcp2', 'dischargeOcp3', 'gpsLockedCharging', 'gpsLockedDischarging',
];

function setup(over: Partial<HaOptions> = {}, writable: (busId: string) => boolean = () => true) {
  const clock = new FakeClock(0);
  const bridge = new HaBridge({ ...OPTS, ...over }, { clock, wallNow: () => 1_700_000_000_000 + clock.now(), publish: () => undefined, persist: () => undefined, writable });
  bridge.restore({});
  const send = (m: unknown) => bridge.handle(parseInput(m as Parameters<typeof parseInput>[0]));
  const control = (m: Parameters<typeof parseControl>[0]) => {
    const c = parseControl(m);
    assert.ok(c, `a control message: ${JSON.stringify(m)}`);
    return bridge.control(c);
  };
  return { bridge, send, control };
}

const configs = (out: MqttMessage[]) => out.filter((m) => m.topic.endsWith('/config') && m.payload !== '');
const deletions = (out: MqttMessage[]) => out.filter((m) => m.payload === '').map((m) => m.topic);
const stateOf = (out: MqttMessage[]) => JSON.parse(out.find((m) => m.topic === STATE)!.payload) as Record<string, any>;
const controlConfigs = (out: MqttMessage[]) => configs(out).filter((m) => /^homeassistant\/(switch|number)\//.test(m.topic));
const cfg = (out: MqttMessage[], topic: string) => JSON.parse(out.filter((m) => m.topic === topic).at(-1)!.payload) as Record<string, unknown>;

/** A pack with live data, device info (serial) and settings. */
function known(s: ReturnType<typeof setup>, over: Parameters<typeof settings>[1] = {}): MqttMessage[] {
  return [...s.send(msg(live(), bms(2, true))), ...s.send(msg(settings(2, over), bms(2, true)))];
}

describe('HA controls: which settings', () => {
  it('default: the non-protection settings; with protection also the thresholds; never the µs short-circuit delay', () => {
    assert.deepEqual(controlSettings(false).map((d) => d.name), DEFAULT_CONTROLS);
    assert.deepEqual(controlSettings(true).map((d) => d.name).sort(), [...DEFAULT_CONTROLS, ...PROTECTION_CONTROLS].sort());
    assert.ok(!controlSettings(true).some((d) => d.name === 'scpDelay'), 'HA number steps are at least 0.001');
  });

  it('numbers carry the register table range, step and unit; every number/switch is a config entity with a command', () => {
    for (const e of controlEntities(true)) {
      const d = findSetting(e.command!.setting)!;
      assert.equal(e.config, true);
      assert.equal(e.key, `set_${d.name.replace(/[A-Z]/g, (c) => '_' + c.toLowerCase()).replace(/(\D)(\d)/g, '$1_$2')}`);
      assert.deepEqual(e.path, ['controls', d.name]);
      assert.equal(e.name, d.label);
      if (d.kind === 'number') {
        assert.equal(e.component, 'number');
        assert.deepEqual(e.command, { setting: d.name, min: d.min, max: d.max, step: d.step });
        assert.equal(e.unit, d.unit);
        assert.ok(d.step >= 0.001 && d.min < d.max);
      } else {
        assert.equal(e.component, 'switch');
        assert.deepEqual(e.command, { setting: d.name });
      }
    }
  });
});

describe('HA controls: discovery and state', () => {
  it('announces switches and numbers once the settings are known, with command topics and box mode', () => {
    const s = setup();
    const first = s.send(msg(live(), bms(2, true)));
    assert.deepEqual(controlConfigs(first), [], 'no controls before the settings');
    const out = s.send(msg(settings(), bms(2, true)));
    const ctl = controlConfigs(out);
    assert.equal(ctl.length, DEFAULT_CONTROLS.length);
    assert.deepEqual(cfg(out, `homeassistant/switch/${SER}_set_charging_enabled/config`), {
      name: 'Charging enabled',
      unique_id: `${SER}_set_charging_enabled`,
      default_entity_id: `switch.${SER}_set_charging_enabled`,
      state_topic: STATE,
      value_template: "{{ 'ON' if value_json.controls.chargingEnabled else 'OFF' }}",
      command_topic: `${SET}/chargingEnabled`,
      payload_on: 'ON',
      payload_off: 'OFF',
      icon: 'mdi:battery-arrow-up',
      entity_category: 'config',
      availability: [{ topic: `jkbms/bus1/${SERIAL}/availability` }, { topic: 'jkbms/bridge/availability' }],
      availability_mode: 'all',
      device: { identifiers: [SER], name: 'JK-PB Battery 2', manufacturer: 'Jikong', model: 'JK_PB2A16S20P', sw_version: '15.38', hw_version: '15A', serial_number: SERIAL },
      origin: { name: '@jkpb/node-red-jkbms', sw_version: '0.1.0' },
    });
    const rcv = cfg(out, `homeassistant/number/${SER}_set_cell_request_charge_voltage/config`);
    assert.deepEqual(
      { ...rcv, device: undefined, origin: undefined, availability: undefined },
      {
        name: 'Request charge voltage (per cell)',
        unique_id: `${SER}_set_cell_request_charge_voltage`,
        default_entity_id: `number.${SER}_set_cell_request_charge_voltage`,
        state_topic: STATE,
        value_template: '{{ value_json.controls.cellRequestChargeVoltage }}',
        command_topic: `${SET}/cellRequestChargeVoltage`,
        min: 1.2,
        max: 4.35,
        step: 0.001,
        mode: 'box',
        device_class: 'voltage',
        unit_of_measurement: 'V',
        entity_category: 'config',
        enabled_by_default: false, // numbers are there for who wants them; the main switches are enabled
        availability_mode: 'all',
        device: undefined,
        origin: undefined,
        availability: undefined,
      },
    );
    for (const m of ctl) {
      const c = JSON.parse(m.payload) as Record<string, unknown>;
      assert.ok(!('expire_after' in c) && !('state_class' in c), `${m.topic}: switches and numbers have neither expire_after nor state_class`);
    }
    // The state has every control's value, inside the announced ranges.
    const state = stateOf(s.send(msg(live(), bms(2, true))));
    assert.equal(Object.keys(state.controls).length, DEFAULT_CONTROLS.length);
    assert.equal(state.controls.chargingEnabled, true);
    assert.equal(state.controls.cellRequestChargeVoltage, 3.45);
    assert.equal(state.controls.chargingFloatMode, true);
    for (const m of ctl.filter((x) => x.topic.includes('/number/'))) {
      const c = JSON.parse(m.payload) as { min: number; max: number; value_template: string };
      const name = /controls\.(\w+)/.exec(c.value_template)![1]!;
      assert.ok(state.controls[name] >= c.min && state.controls[name] <= c.max, `${name} = ${state.controls[name]} in ${c.min}–${c.max}`);
    }
  });

  it('the protection option adds the thresholds', () => {
    const s = setup({ protection: true });
    const out = known(s);
    assert.equal(controlConfigs(out).length, DEFAULT_CONTROLS.length + PROTECTION_CONTROLS.length);
    const ovp = cfg(out, `homeassistant/number/${SER}_set_cell_ovp/config`);
    assert.deepEqual([ovp.min, ovp.max, ovp.step, ovp.command_topic], [1.2, 4.35, 0.001, `${SET}/cellOvp`]);
    assert.equal(cfg(out, `homeassistant/number/${SER}_set_charge_utp/config`).min, -45);
  });

  it('no controls: option off, bus not writable, or the JK master at address 0', () => {
    assert.deepEqual(controlConfigs(known(setup({ controls: false }))), []);
    const asked: string[] = [];
    const s = setup({}, (busId) => (asked.push(busId), false));
    const out = known(s);
    assert.deepEqual(controlConfigs(out), []);
    assert.ok(asked.length > 0 && asked.every((b) => b === BUS_ID));
    assert.equal(stateOf(s.send(msg(live(), bms(2, true)))).controls, undefined);
    const m = setup();
    m.send(msg(live(0), bms(0)));
    const master = m.send(msg(settings(0), bms(0)));
    assert.deepEqual(controlConfigs(master), []);
  });

  it('controls disappear (empty retained configs) when the bus stops allowing writes, and come back', () => {
    let allowed = true;
    const s = setup({}, () => allowed);
    const topics = controlConfigs(known(s)).map((m) => m.topic);
    allowed = false;
    const off = s.send(msg(live(), bms(2, true)));
    assert.deepEqual(deletions(off), topics);
    allowed = true;
    assert.deepEqual(controlConfigs(s.send(msg(live(), bms(2, true)))).map((m) => m.topic), topics);
  });

  it('device-based discovery: switches and numbers are components with command topics; dropped ones are sent with their platform', () => {
    let allowed = true;
    const s = setup({ mode: 'device' }, () => allowed);
    const out = known(s);
    const dev = cfg(out, `homeassistant/device/${SER}/config`) as { cmps: Record<string, Record<string, unknown>> };
    assert.deepEqual(dev.cmps.set_discharging_enabled, {
      p: 'switch',
      name: 'Discharging enabled',
      unique_id: `${SER}_set_discharging_enabled`,
      default_entity_id: `switch.${SER}_set_discharging_enabled`,
      icon: 'mdi:battery-arrow-down',
      entity_category: 'config',
      value_template: "{{ 'ON' if value_json.controls.dischargingEnabled else 'OFF' }}",
      command_topic: `${SET}/dischargingEnabled`,
      payload_on: 'ON',
      payload_off: 'OFF',
    });
    assert.equal(dev.cmps.set_balance_trigger_voltage!.p, 'number');
    assert.equal(dev.cmps.set_balance_trigger_voltage!.mode, 'box');
    allowed = false;
    const off = cfg(s.send(msg(live(), bms(2, true))), `homeassistant/device/${SER}/config`) as { cmps: Record<string, Record<string, unknown>> };
    assert.deepEqual(off.cmps.set_discharging_enabled, { p: 'switch' });
    assert.deepEqual(off.cmps.set_balance_trigger_voltage, { p: 'number' });
  });
});

describe('HA controls: commands, results and failures', () => {
  it('an HA command becomes a write request for the pack whose topic it is', () => {
    const s = setup();
    known(s);
    const r = s.control({ topic: `${SET}/chargingEnabled`, payload: 'OFF' });
    assert.deepEqual(r, {
      publish: [],
      request: {
        topic: `${SET}/chargingEnabled`,
        payload: { address: 2, setting: 'chargingEnabled', value: false },
        bms: { bus: 'bus1', busId: BUS_ID, address: 2, serialNumber: SERIAL, model: 'JK_PB2A16S20P', hardwareVersion: '15A', softwareVersion: '15.38', name: 'JK_PB2A16S20P' },
      },
      error: null,
    });
    assert.deepEqual(s.control({ topic: `${SET}/cellRequestChargeVoltage`, payload: Buffer.from('3.42') }).request!.payload, { address: 2, setting: 'cellRequestChargeVoltage', value: 3.42 });
    // Values jkbms-write must refuse are passed on as they are (it names the valid range).
    assert.deepEqual(s.control({ topic: `${SET}/cellRequestChargeVoltage`, payload: 'high' }).request!.payload.value, 'high');
    assert.deepEqual(s.control({ topic: `${SET}/heatingEnabled`, payload: 'ON' }).request!.payload, { address: 2, setting: 'heatingEnabled', value: true });
  });

  it('refused commands: an error code, and the real state again so HA snaps back', () => {
    const s = setup();
    known(s);
    const r1 = s.control({ topic: 'other/bus1/x/set/chargingEnabled', payload: 'OFF' });
    assert.deepEqual(r1, { publish: [], request: null, error: { code: 'bad-command-topic', topic: 'other/bus1/x/set/chargingEnabled', setting: '' } });
    const r2 = s.control({ topic: 'jkbms/bus1/999/set/chargingEnabled', payload: 'OFF' });
    assert.deepEqual(r2, { publish: [], request: null, error: { code: 'unknown-pack', topic: 'jkbms/bus1/999/set/chargingEnabled', setting: 'chargingEnabled' } });
    for (const setting of ['cellOvp', 'scpDelay', 'deviceAddress']) {
      const r = s.control({ topic: `${SET}/${setting}`, payload: '1' });
      assert.equal(r.request, null);
      assert.deepEqual(r.error, { code: 'not-a-control', topic: `${SET}/${setting}`, setting });
      assert.equal(stateOf(r.publish).controls.chargingEnabled, true, 'the real state');
    }
    const off = setup({ controls: false });
    known(off);
    const r3 = off.control({ topic: `${SET}/chargingEnabled`, payload: 'OFF' });
    assert.equal(r3.error!.code, 'controls-off');
    assert.deepEqual(r3.publish.map((m) => m.topic), [STATE]);
    // A retained command (delivered again on every reconnect) is never written, and is deleted from the broker.
    const r4 = s.control({ topic: `${SET}/chargingEnabled`, payload: 'OFF', retain: true });
    assert.equal(r4.request, null);
    assert.deepEqual(r4.error, { code: 'retained-command', topic: `${SET}/chargingEnabled`, setting: 'chargingEnabled' });
    assert.deepEqual(r4.publish[0], { topic: `${SET}/chargingEnabled`, payload: '', retain: true, qos: 1 });
    assert.deepEqual(r4.publish.map((m) => m.topic), [`${SET}/chargingEnabled`, STATE]);
    // That deletion comes back to the mqtt in node as an empty command: ignored, never an error.
    assert.deepEqual(s.control({ topic: `${SET}/chargingEnabled`, payload: '' }), { publish: [], request: null, error: null });
    assert.deepEqual(s.control({ topic: `${SET}/chargingEnabled`, payload: Buffer.alloc(0) }), { publish: [], request: null, error: null });
    assert.equal(s.control({ topic: 'jkbms/bus1/999/set/chargingEnabled', payload: 'OFF', retain: true }).error!.code, 'retained-command');
    let allowed = true;
    const gone = setup({}, () => allowed);
    known(gone);
    allowed = false;
    assert.equal(gone.control({ topic: `${SET}/chargingEnabled`, payload: 'OFF' }).error!.code, 'not-a-control');
  });

  it('a confirmed result is published at once; a switch-word bit updates the raw word too', () => {
    const s = setup();
    known(s, { switchMask: 0x0210, heatingEnabled: false, displayAlwaysOn: true, chargingFloatMode: true });
    const r = s.control({ payload: { ok: true, address: 2, setting: 'chargingEnabled', requested: false, before: true, after: false }, bms: bms(2, true) });
    assert.equal(r.request, null);
    assert.equal(r.error, null);
    const st = stateOf(r.publish);
    assert.equal(st.controls.chargingEnabled, false);
    assert.equal(st.settings.charging_enabled, undefined, 'a control is not also a settings sensor');
    const h = s.control({ payload: { ok: true, address: 2, setting: 'heatingEnabled', requested: true, before: false, after: true }, bms: bms(2, true) });
    assert.equal(stateOf(h.publish).controls.heatingEnabled, true);
    // The next live frame keeps the confirmed values.
    const next = stateOf(s.send(msg(live(), bms(2, true))));
    assert.equal(next.controls.chargingEnabled, false);
    assert.equal(next.controls.heatingEnabled, true);
    assert.equal(applyConfirmed(settings(2, { switchMask: 0x0210 }), 'heatingEnabled', true).switchMask, 0x0211);
    assert.equal(applyConfirmed(settings(2, { switchMask: 0x0211 }), 'chargingFloatMode', false).switchMask, 0x0011);
    assert.equal(applyConfirmed(settings(2), 'cellOvp', 'x' as unknown as number).cellOvp, 3.65, 'a value of the wrong type is ignored');
  });

  it('a failed write: the result (ok false, value read back) or a caught request re-publishes the real state', () => {
    const s = setup();
    known(s);
    const mismatch = s.control({ payload: { ok: false, address: 2, setting: 'maxBalanceCurrent', requested: 1.2, before: 2, after: 2, error: { code: 'READBACK_MISMATCH', message: 'x' } }, bms: bms(2, true) });
    assert.equal(stateOf(mismatch.publish).controls.maxBalanceCurrent, 2);
    const caught = s.control({ payload: { address: 2, setting: 'chargingEnabled', value: false }, bms: bms(2, true), error: { message: 'Error: refused' } });
    assert.deepEqual(caught.publish.map((m) => m.topic), [STATE]);
    assert.equal(stateOf(caught.publish).controls.chargingEnabled, true);
    assert.equal(caught.error, null, 'already reported by jkbms-write');
  });

  it('other caught messages are ignored, never an error (no Catch loop)', () => {
    const s = setup();
    known(s);
    for (const m of [
      { payload: live(), bms: bms(2, true), error: { message: 'other node' } },
      { payload: { setting: 'chargingEnabled', value: false }, bms: { nonsense: true }, error: { message: 'x' } },
      { payload: 'text', error: { message: 'x' } },
    ]) {
      assert.deepEqual(parseControl(m), { kind: 'ignored' });
      assert.deepEqual(s.bridge.control({ kind: 'ignored' }), { publish: [], request: null, error: null });
    }
  });

  it('parseControl leaves jkbms data, HA status and remove commands to parseInput', () => {
    assert.equal(parseControl(msg(live(), bms(2, true))), null);
    assert.equal(parseControl({ topic: 'homeassistant/status', payload: 'online' }), null);
    assert.equal(parseControl({ payload: { command: 'remove', address: 2 } }), null);
    assert.equal(parseControl({ topic: `${SET}/chargingEnabled`, payload: { on: true } }), null, 'an object is no HA command');
    assert.deepEqual(parseControl({ topic: `${SET}/chargingEnabled`, payload: 1 }), { kind: 'command', topic: `${SET}/chargingEnabled`, text: '1', retained: false });
    assert.deepEqual(parseControl({ topic: `${SET}/chargingEnabled`, payload: 'ON', retain: true }), { kind: 'command', topic: `${SET}/chargingEnabled`, text: 'ON', retained: true });
    assert.throws(() => parseControl({ payload: { ok: true, setting: 'chargingEnabled', requested: true }, bms: { address: 2 } }), /bad-field: msg\.bms\.busId/);
  });

  it('command topics and values', () => {
    assert.deepEqual(parseCommandTopic('jkbms', `${SET}/cellOvp`), { prefix: SET, setting: 'cellOvp' });
    assert.deepEqual(parseCommandTopic('home/bms', 'home/bms/bus1/abc/set/chargingEnabled'), { prefix: 'home/bms/bus1/abc/set', setting: 'chargingEnabled' });
    for (const t of ['jkbms/bus1/abc/set', 'jkbms/bus1/abc/state/x', 'jkbms/bus1/abc/set/a/b', 'jkbmsx/bus1/abc/set/a', 'jkbms//abc/set/a']) {
      assert.equal(parseCommandTopic('jkbms', t), null, t);
    }
    const sw = findSetting('chargingEnabled')!;
    const num = findSetting('cellOvp')!;
    assert.deepEqual(['ON', 'off', 'true', 'False', '1', '0', ' on ', 'maybe'].map((t) => commandValue(sw, t)), [true, false, true, false, true, false, true, 'maybe']);
    assert.deepEqual(['3.6', ' 3.65 ', '', 'NaN', '1e3'].map((t) => commandValue(num, t)), [3.6, 3.65, '', 'NaN', 1000]);
  });
});

import assert from 'node:assert/strict';
import { BANK_ENTITIES, bankState } from '../../src/ha/bank';
import { SETTING_SENSORS } from '../../src/ha/pack-fields';
import { findSetting } from '../../src/protocol/settings';
import { type Announcement, deviceConfigPayload, entityConfig, entityConfigs } from '../../src/ha/discovery';
import { buildEntities, type EntityDef, jsonRef } from '../../src/ha/entities';
import { HA_ALARMS, isoManufacturingDate, PACK_ENTITIES, type PackView, packDevice, packDeviceName, packState } from '../../src/ha/pack';
import type { EntityGroups } from '../../src/ha/types';
import { ALL_GROUPS, bankPayload, bms, info, live, SERIAL, settings } from './ha-fixtures';
import { checkConfig, PREFIX, resolve } from './ha-rules';

function view(over: Partial<PackView> = {}): PackView {
  return {
    address: 2,
    identity: bms(2, true),
    live: live(),
    settings: settings(),
    info: info(),
    energy: { chargedKWh: 1.5, dischargedKWh: 0.25 },
    ...over,
  };
}

function announcement(v: PackView, deviceId = `jkbms_${SERIAL}`): Announcement {
  return {
    discoveryPrefix: PREFIX,
    deviceId,
    device: packDevice(deviceId, v),
    origin: { name: '@jkpb/node-red-jkbms', version: '0.1.0', url: 'https://github.com/jkpb/node-red-jkbms' },
    stateTopic: `jkbms/bus1/${SERIAL}/state`,
    availability: [`jkbms/bus1/${SERIAL}/availability`, 'jkbms/bridge/availability'],
    expireAfter: 120,
    qos: 1,
  };
}

describe('HA entity table and discovery configs', () => {
  it('a full pack (live + settings + info, all groups) gives valid, unique per-entity configs whose templates read the state', () => {
    const v = view();
    const defs = buildEntities(PACK_ENTITIES, v, ALL_GROUPS);
    const state = packState(v);
    const msgs = entityConfigs(announcement(v), defs);
    const ids = msgs.map((m) => {
      assert.equal(m.retain, true);
      assert.equal(m.qos, 1);
      return checkConfig(m.topic, JSON.parse(m.payload) as Record<string, unknown>, state);
    });
    assert.equal(new Set(ids).size, ids.length, 'unique ids');
    assert.equal(new Set(msgs.map((m) => m.topic)).size, msgs.length, 'unique topics');
    const count = (re: RegExp) => ids.filter((id) => re.test(id)).length;
    assert.equal(count(/_cell_\d\d$/), 16);
    assert.equal(count(/_cell_\d\d_resistance$/), 16);
    assert.deepEqual(
      ids.filter((id) => /_temperature_(mos|\d)$/.test(id)),
      [`jkbms_${SERIAL}_temperature_mos`, `jkbms_${SERIAL}_temperature_1`, `jkbms_${SERIAL}_temperature_2`],
    );
    assert.equal(count(/_alarm_/), 29);
    assert.equal(count(/_setting_/), 15);
    // 20 core + 16 cells + 16 resistances + 3 temperatures + 2 energy + (7 + 29 + 15) details + 10 device info
    assert.equal(ids.length, 118);
  });

  it('matches the reference voltage, SOC and cell payloads exactly (plus bridge availability)', () => {
    const v = view();
    const a = announcement(v);
    const byKey = (k: string) => buildEntities(PACK_ENTITIES, v, ALL_GROUPS).find((d) => d.key === k)!;
    const device = {
      identifiers: [`jkbms_${SERIAL}`],
      name: 'JK-PB Battery 2',
      manufacturer: 'Jikong',
      model: 'JK_PB2A16S20P',
      sw_version: '15.38',
      hw_version: '15A',
      serial_number: SERIAL,
    };
    const origin = { name: '@jkpb/node-red-jkbms', sw_version: '0.1.0', support_url: 'https://github.com/jkpb/node-red-jkbms' };
    const availability = [{ topic: `jkbms/bus1/${SERIAL}/availability` }, { topic: 'jkbms/bridge/availability' }];
    assert.deepEqual(entityConfig(a, byKey('voltage')), {
      name: 'Voltage',
      unique_id: `jkbms_${SERIAL}_voltage`,
      default_entity_id: `sensor.jkbms_${SERIAL}_voltage`,
      state_topic: `jkbms/bus1/${SERIAL}/state`,
      value_template: '{{ value_json.voltage }}',
      device_class: 'voltage',
      unit_of_measurement: 'V',
      state_class: 'measurement',
      suggested_display_precision: 2,
      availability,
      availability_mode: 'all',
      expire_after: 120,
      device,
      origin,
    });
    const soc = entityConfig(a, byKey('soc'));
    assert.deepEqual(
      [soc.name, soc.unique_id, soc.default_entity_id, soc.value_template, soc.device_class, soc.unit_of_measurement, soc.state_class, soc.suggested_display_precision],
      ['State of charge', `jkbms_${SERIAL}_soc`, `sensor.jkbms_${SERIAL}_soc`, '{{ value_json.soc }}', 'battery', '%', 'measurement', 0],
    );
    const cell = entityConfig(a, byKey('cell_01'));
    assert.deepEqual(
      [cell.name, cell.unique_id, cell.default_entity_id, cell.value_template, cell.device_class, cell.unit_of_measurement, cell.state_class, cell.suggested_display_precision],
      ['Cell 1 voltage', `jkbms_${SERIAL}_cell_01`, `sensor.jkbms_${SERIAL}_cell_01`, '{{ value_json.cells[0] }}', 'voltage', 'V', 'measurement', 3],
    );
    const energy = entityConfig(a, byKey('energy_charged'));
    assert.deepEqual([energy.device_class, energy.unit_of_measurement, energy.state_class], ['energy', 'kWh', 'total_increasing']);
    const alarm = entityConfig(a, byKey('alarm'));
    assert.deepEqual([alarm.device_class, alarm.value_template], ['problem', "{{ 'ON' if value_json.alarm else 'OFF' }}"]);
    // The lean default: cell delta is a regular, enabled sensor; resistances are diagnostic and disabled.
    const delta = entityConfig(a, byKey('cell_delta'));
    assert.deepEqual([delta.entity_category, delta.enabled_by_default], [undefined, undefined]);
    const res = entityConfig(a, byKey('cell_01_resistance'));
    assert.deepEqual([res.entity_category, res.enabled_by_default], ['diagnostic', false]);
  });

  it('the state JSON carries the values the entities read, in the documented units', () => {
    const s = packState(view());
    assert.equal(s.voltage, 52.822);
    assert.equal(s.current, -12.345);
    assert.equal(s.soc, 47);
    assert.deepEqual(s.temps, { mos: 25.3, t1: 21.5, t2: -3.5 });
    assert.equal((s.cells as number[]).length, 16);
    assert.equal((s.cell_resistances as number[])[0], 74); // mΩ
    assert.equal(s.stored_energy, 6.951); // 131.6 Ah × 52.822 V = 6951.4 Wh
    assert.equal(s.alarm, true);
    const alarms = s.alarms as Record<string, boolean>;
    assert.deepEqual(
      Object.keys(alarms).filter((k) => alarms[k]),
      ['cellUvp', 'dischargeMos'], // 0x00020800
    );
    assert.equal(s.energy_charged, 1.5);
    assert.equal(s.energy_discharged, 0.25);
    assert.deepEqual(s.device, {
      model: 'JK_PB2A16S20P',
      firmware: '15.38',
      hardware: '15A',
      serial: SERIAL,
      bms_name: 'JK_PB2A16S20P',
      manufacturing_date: '2023-11-18',
      power_on_count: 12,
      uart1_protocol: 1,
      uart2_protocol: 0,
      can_protocol: 0,
    });
  });

  it('never publishes passcodes', () => {
    const v = view({ info: info(2, { devicePasscode: '987123', setupPasscode: '555111' }) });
    const text = JSON.stringify(packState(v)) + entityConfigs(announcement(v), buildEntities(PACK_ENTITIES, v, ALL_GROUPS)).map((m) => m.payload).join('');
    assert.ok(!text.includes('987123') && !text.includes('555111'));
    assert.ok(!/passcode/i.test(text));
  });

  it('follows the pack: present cells and temperature sensors only', () => {
    const v = view({ live: live(2, { cells: [3.3, 3.31, 3.32, 3.33, 3.34, 3.35, 3.36, 3.37], temperatures: { mos: 30, t1: null, t2: null, t3: null, t4: 20, t5: null } }) });
    const keys = buildEntities(PACK_ENTITIES, v, ALL_GROUPS).map((d) => d.key);
    assert.equal(keys.filter((k) => /^cell_\d\d$/.test(k)).length, 8);
    assert.equal(keys.filter((k) => /^cell_\d\d_resistance$/.test(k)).length, 8);
    assert.deepEqual(
      keys.filter((k) => k.startsWith('temperature_')),
      ['temperature_mos', 'temperature_4'],
    );
    assert.deepEqual(packState(v).temps, { mos: 30, t4: 20 });
  });

  it('groups switch entities off; core entities stay; settings and device info only once known', () => {
    const none: EntityGroups = { cells: false, resistances: false, temperatures: false, details: false, device: false, energy: false };
    const core = buildEntities(PACK_ENTITIES, view(), none).map((d) => d.key);
    assert.deepEqual(core, [
      'voltage', 'current', 'power', 'soc', 'soh', 'remaining_capacity', 'full_capacity', 'stored_energy', 'cycles',
      'cell_min', 'cell_max', 'cell_delta', 'cell_avg', 'balancing_current', 'balancing', 'charging_mos', 'discharging_mos',
      'precharging', 'heating', 'alarm',
    ]);
    const early = view({ identity: bms(2), settings: null, info: null });
    const keys = buildEntities(PACK_ENTITIES, early, ALL_GROUPS).map((d) => d.key);
    assert.equal(keys.filter((k) => k.startsWith('setting_')).length, 0);
    assert.deepEqual(keys.filter((k) => ['model', 'firmware', 'serial', 'manufacturing_date'].includes(k)), []);
    assert.ok(!('settings' in packState(early)));
    assert.deepEqual(packState(early).device, {});
  });

  it('Ah sensors have no device class; every enum has options; alarm entities cover bits 0–28', () => {
    const defs = buildEntities(PACK_ENTITIES, view(), ALL_GROUPS);
    for (const d of defs.filter((x: EntityDef) => x.unit === 'Ah')) assert.equal(d.deviceClass, undefined, d.key);
    for (const d of defs.filter((x) => x.deviceClass === 'enum')) assert.ok(d.options && d.options.length > 0);
    assert.deepEqual(HA_ALARMS.map((a) => a.bit), Array.from({ length: 29 }, (_, i) => i));
    assert.ok(defs.some((d) => d.key === 'alarm_discharge_ocp_2' && jsonRef(d.path) === 'value_json.alarms.dischargeOcp2'));
  });

  it('device-based form: one payload with dev/o abbreviations, shared topics and cmps', () => {
    const v = view();
    const defs = buildEntities(PACK_ENTITIES, v, ALL_GROUPS);
    const p = deviceConfigPayload(announcement(v), defs, { cell_17: 'sensor' });
    assert.deepEqual(p.dev, { ids: [`jkbms_${SERIAL}`], name: 'JK-PB Battery 2', mf: 'Jikong', mdl: 'JK_PB2A16S20P', sw: '15.38', hw: '15A', sn: SERIAL });
    assert.deepEqual(p.o, { name: '@jkpb/node-red-jkbms', sw: '0.1.0', url: 'https://github.com/jkpb/node-red-jkbms' });
    assert.equal(p.state_topic, `jkbms/bus1/${SERIAL}/state`);
    assert.equal(p.availability_mode, 'all');
    assert.equal(p.qos, 1);
    const cmps = p.cmps as Record<string, Record<string, unknown>>;
    assert.equal(Object.keys(cmps).length, defs.length + 1);
    assert.deepEqual(cmps.voltage, {
      p: 'sensor',
      name: 'Voltage',
      unique_id: `jkbms_${SERIAL}_voltage`,
      default_entity_id: `sensor.jkbms_${SERIAL}_voltage`,
      device_class: 'voltage',
      unit_of_measurement: 'V',
      state_class: 'measurement',
      suggested_display_precision: 2,
      value_template: '{{ value_json.voltage }}',
      expire_after: 120,
    });
    assert.deepEqual(cmps.cell_17, { p: 'sensor' }); // a dropped component is removed with its platform only
    assert.ok(!('object_id' in cmps.voltage!));
  });

  it('lowercases default_entity_id for serials with capitals, keeps unique_id as is', () => {
    const v = view();
    const a = announcement(v, 'jkbms_506177F49000674');
    const c = entityConfig(a, buildEntities(PACK_ENTITIES, v, ALL_GROUPS)[0]!);
    assert.equal(c.unique_id, 'jkbms_506177F49000674_voltage');
    assert.equal(c.default_entity_id, 'sensor.jkbms_506177f49000674_voltage');
  });

  it('names the device after its own BMS name, never after its model or serial', () => {
    const id = (name: string | null) => ({ ...bms(2), serialNumber: SERIAL, model: 'JK_PB2A16S20P', name });
    assert.equal(packDeviceName(view({ identity: id('Garage rack 1'), info: null })), 'JK-PB Garage rack 1');
    assert.equal(packDeviceName(view({ identity: id('JK_PB2A16S20P'), info: null })), 'JK-PB Battery 2');
    assert.equal(packDeviceName(view({ identity: id(SERIAL), info: null })), 'JK-PB Battery 2');
    assert.equal(packDeviceName(view({ identity: id('  '), info: null })), 'JK-PB Battery 2');
    const provisional = packDevice('jkbms_bus_2', view({ identity: bms(2), info: null }));
    assert.deepEqual(provisional, { identifiers: ['jkbms_bus_2'], name: 'JK-PB Battery 2', manufacturer: 'Jikong' });
  });

  it('converts the YYMMDD manufacturing date to ISO, or null', () => {
    assert.equal(isoManufacturingDate('231118'), '2023-11-18');
    assert.equal(isoManufacturingDate(' 251101 '), '2025-11-01');
    assert.equal(isoManufacturingDate('231318'), null);
    assert.equal(isoManufacturingDate('230230'), null);
    assert.equal(isoManufacturingDate('abc'), null);
  });
});

describe('HA entities as users live with them: one name per thing, a lean default, state classes', () => {
  const withControls = (protection: boolean) => view({ controls: { protection } });
  const enabled = (defs: EntityDef[]) => defs.filter((d) => !d.disabled).map((d) => d.key);

  it('no two entities of a device share a name (controls with and without protection, every group)', () => {
    for (const v of [view(), withControls(false), withControls(true)]) {
      const names = buildEntities(PACK_ENTITIES, v, ALL_GROUPS).map((d) => d.name);
      const twice = names.filter((n, i) => names.indexOf(n) !== i);
      assert.deepEqual(twice, [], `names used twice: ${twice.join(', ')}`);
    }
  });

  it('a setting exposed as a control is not also a sensor, and every setting has one name: its register-table label', () => {
    for (const protection of [false, true]) {
      const defs = buildEntities(PACK_ENTITIES, withControls(protection), ALL_GROUPS);
      const controlled = new Set(defs.filter((d) => d.command).map((d) => d.command!.setting));
      const sensors = defs.filter((d) => d.key.startsWith('setting_'));
      for (const s of sensors) {
        const setting = (d: EntityDef) => findSetting(SETTING_SENSORS.find((x) => `setting_${x.key}` === d.key)!.field)!;
        assert.ok(!controlled.has(setting(s).name), `${s.key} is also a control`);
        assert.equal(s.name, setting(s).label);
      }
      for (const c of defs.filter((d) => d.command)) assert.equal(c.name, findSetting(c.command!.setting)!.label);
    }
    // Without controls every settings sensor is there, named like the control would be.
    const plain = buildEntities(PACK_ENTITIES, view(), ALL_GROUPS).filter((d) => d.key.startsWith('setting_'));
    assert.deepEqual(plain.map((d) => d.name), SETTING_SENSORS.map((s) => findSetting(s.field)!.label));
  });

  it('the lean default: exactly the documented entities are enabled, the rest announced with enabled_by_default false', () => {
    const cells = Array.from({ length: 16 }, (_, i) => `cell_${String(i + 1).padStart(2, '0')}`);
    const lean = [
      'voltage', 'current', 'power', 'soc', 'soh', 'remaining_capacity', 'full_capacity', 'cycles', 'cell_min', 'cell_max', 'cell_delta', 'cell_avg',
      'balancing', 'charging_mos', 'discharging_mos', 'alarm', ...cells, 'temperature_mos', 'temperature_1', 'temperature_2', 'energy_charged', 'energy_discharged',
    ];
    const all = buildEntities(PACK_ENTITIES, view(), ALL_GROUPS);
    assert.deepEqual(enabled(all).sort(), [...lean].sort());
    assert.deepEqual([enabled(all).length, all.length - enabled(all).length], [37, 81]);
    const main = ['set_charging_enabled', 'set_discharging_enabled', 'set_balancing_enabled', 'set_heating_enabled'];
    const c = buildEntities(PACK_ENTITIES, withControls(false), ALL_GROUPS);
    assert.deepEqual(enabled(c).sort(), [...lean, ...main].sort());
    assert.deepEqual([enabled(c).length, c.length - enabled(c).length], [41, 89]);
    const p = buildEntities(PACK_ENTITIES, withControls(true), ALL_GROUPS);
    assert.deepEqual([enabled(p).length, p.length - enabled(p).length], [41, 112]);
    // In the configs: the key is there exactly for the disabled ones.
    const a = announcement(view());
    for (const d of all) assert.equal(entityConfig(a, d).enabled_by_default, d.disabled ? false : undefined, d.key);
  });

  it('every numeric sensor has a state class, except the device-info protocol codes (README says why)', () => {
    const v = withControls(false);
    const state = packState(v);
    const missing = buildEntities(PACK_ENTITIES, v, ALL_GROUPS)
      .filter((d) => d.component === 'sensor' && typeof resolve(state, [...d.path]) === 'number' && d.stateClass === undefined)
      .map((d) => d.key);
    assert.deepEqual(missing, ['uart1_protocol', 'uart2_protocol', 'can_protocol']);
    const bank = bankState({ busName: 'bus1', summary: bankPayload() });
    assert.deepEqual(
      buildEntities(BANK_ENTITIES, { busName: 'bus1', summary: bankPayload() }, ALL_GROUPS).filter((d) => d.component === 'sensor' && typeof resolve(bank, [...d.path]) === 'number' && !d.stateClass),
      [],
    );
  });

  it('the Alarm problem sensor carries the active alarms as an attribute', () => {
    const v = view();
    const a = entityConfig(announcement(v), buildEntities(PACK_ENTITIES, v, ALL_GROUPS).find((d) => d.key === 'alarm')!);
    assert.equal(a.json_attributes_template, '{{ value_json.attributes.alarm | tojson }}');
    assert.deepEqual((packState(v).attributes as Record<string, unknown>).alarm, {
      alarms: [
        { alarm: 'cellUvp', label: 'Cell under-voltage' },
        { alarm: 'dischargeMos', label: 'Discharge MOS abnormal' },
      ],
    });
  });
});

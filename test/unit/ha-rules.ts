/**
 * Home Assistant's discovery rules as test assertions, shared by the pack and bank tests.
 * The rules (core sensor/const.py DEVICE_CLASS_STATE_CLASSES and DEVICE_CLASS_UNITS,
 * binary_sensor device classes) are written out independently of our entity tables, for the
 * device classes a BMS can use.
 */
import assert from 'node:assert/strict';

export const PREFIX = 'homeassistant';

const HA_SENSOR_RULES: Record<string, { units: (string | undefined)[]; stateClasses: (string | undefined)[] }> = {
  voltage: { units: ['V', 'mV'], stateClasses: ['measurement', undefined] },
  current: { units: ['A', 'mA'], stateClasses: ['measurement', undefined] },
  power: { units: ['W', 'kW'], stateClasses: ['measurement', undefined] },
  battery: { units: ['%'], stateClasses: ['measurement', undefined] },
  temperature: { units: ['°C', '°F', 'K'], stateClasses: ['measurement', undefined] },
  energy: { units: ['Wh', 'kWh', 'MWh'], stateClasses: ['total', 'total_increasing'] },
  energy_storage: { units: ['Wh', 'kWh', 'MWh'], stateClasses: ['measurement', undefined] },
  duration: { units: ['s', 'min', 'h', 'd'], stateClasses: ['measurement', 'total', 'total_increasing', undefined] },
  enum: { units: [undefined], stateClasses: [undefined] },
  date: { units: [undefined], stateClasses: [undefined] },
};
const HA_BINARY_CLASSES = ['battery', 'battery_charging', 'connectivity', 'heat', 'plug', 'power', 'problem', 'running', 'safety'];

/** The `value_json...` references of a template, as paths. */
export function templateRefs(template: string): (string | number)[][] {
  const refs: (string | number)[][] = [];
  for (const m of template.matchAll(/value_json((?:\.[A-Za-z_][A-Za-z0-9_]*|\[\d+\])+)/g)) {
    refs.push([...m[1]!.matchAll(/\.([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]/g)].map((x) => (x[1] !== undefined ? x[1] : Number(x[2]))));
  }
  return refs;
}

export function resolve(state: unknown, path: (string | number)[]): unknown {
  let cur: unknown = state;
  for (const p of path) {
    if (cur === null || typeof cur !== 'object' || !(p in (cur as object))) return undefined;
    cur = (cur as Record<string | number, unknown>)[p];
  }
  return cur;
}

/** The one path a template reads (a nullable binary template names it twice). */
function onePath(uid: string, template: string): (string | number)[] {
  const refs = templateRefs(template);
  assert.ok(refs.length >= 1, `${uid}: template ${template}`);
  for (const r of refs) assert.deepEqual(r, refs[0], `${uid}: template ${template} reads several values`);
  return refs[0]!;
}

const BINARY = /^\{\{ 'ON' if (value_json\S+) else 'OFF' \}\}$/;
const NULLABLE_BINARY = /^\{\{ 'None' if (value_json\S+) is none else \('ON' if (value_json\S+) else 'OFF'\) \}\}$/;

/** Check one per-entity config against HA's rules and our id policy (sensors and binary sensors). Returns its unique id. */
export function checkConfig(topic: string, cfg: Record<string, unknown>, state: Record<string, unknown>): string {
  const uid = cfg.unique_id as string;
  const component = topic.split('/')[1]!;
  for (const k of ['name', 'unique_id', 'default_entity_id', 'state_topic', 'value_template', 'availability', 'device', 'origin']) {
    assert.ok(k in cfg, `${uid}: missing ${k}`);
  }
  assert.ok(!('object_id' in cfg), `${uid}: object_id is deprecated`);
  assert.match(uid, /^[a-zA-Z0-9_-]+$/);
  assert.equal(topic, `${PREFIX}/${component}/${uid}/config`);
  assert.ok(component === 'sensor' || component === 'binary_sensor');
  assert.match(cfg.default_entity_id as string, new RegExp(`^${component}\\.[a-z0-9_]+$`));
  assert.deepEqual((cfg.origin as Record<string, unknown>).name, '@jkpb/node-red-jkbms');
  assert.equal(cfg.availability_mode, 'all');
  if ('entity_category' in cfg) assert.equal(cfg.entity_category, 'diagnostic', uid);

  const dc = cfg.device_class as string | undefined;
  const unit = cfg.unit_of_measurement as string | undefined;
  const sc = cfg.state_class as string | undefined;
  const template = cfg.value_template as string;
  if (component === 'binary_sensor') {
    if (dc !== undefined) assert.ok(HA_BINARY_CLASSES.includes(dc), `${uid}: binary device_class ${dc}`);
    assert.equal(unit, undefined);
    assert.equal(sc, undefined);
    assert.ok(BINARY.test(template) || NULLABLE_BINARY.test(template), `${uid}: binary template ${template}`);
  } else if (dc !== undefined) {
    const rule = HA_SENSOR_RULES[dc];
    assert.ok(rule, `${uid}: unexpected device_class ${dc}`);
    assert.ok(rule.units.includes(unit), `${uid}: unit ${unit} not allowed for ${dc}`);
    assert.ok(rule.stateClasses.includes(sc), `${uid}: state_class ${sc} not allowed for ${dc}`);
    if (dc === 'enum') {
      assert.ok(Array.isArray(cfg.options) && (cfg.options as unknown[]).length > 0, `${uid}: enum without options`);
    }
  } else {
    // No device class: Ah, %, counters, text. Still a valid state class if any.
    assert.ok(sc === undefined || ['measurement', 'total', 'total_increasing'].includes(sc), `${uid}: state_class ${sc}`);
  }
  if (unit === 'Ah') assert.equal(dc, undefined, `${uid}: no device class exists for Ah`);
  if (dc === 'battery') assert.equal(unit, '%');
  if ('suggested_display_precision' in cfg) assert.ok(unit !== undefined || sc !== undefined, `${uid}: display precision on a non-numeric sensor`);

  // value_template keys exist in the state JSON; numeric sensors read numbers (or null = unknown).
  const value = resolve(state, onePath(uid, template));
  assert.notEqual(value, undefined, `${uid}: ${template} not in the state`);
  if (component === 'binary_sensor') {
    if (NULLABLE_BINARY.test(template)) assert.ok(value === null || typeof value === 'boolean', uid);
    else assert.equal(typeof value, 'boolean', uid);
  } else if (unit !== undefined || sc !== undefined) assert.ok(value === null || typeof value === 'number', `${uid}: non-numeric ${String(value)}`);
  if (dc === 'enum') assert.ok(value === null || (cfg.options as unknown[]).includes(value), `${uid}: ${String(value)} not an option`);

  // Attributes: read from the state topic, a JSON object (HA wants a dictionary).
  if ('json_attributes_template' in cfg) {
    assert.equal(cfg.json_attributes_topic, cfg.state_topic, `${uid}: attributes from the state topic`);
    const at = cfg.json_attributes_template as string;
    assert.match(at, /^\{\{ value_json\S+ \| tojson \}\}$/, `${uid}: ${at}`);
    const attrs = resolve(state, onePath(uid, at));
    assert.ok(attrs !== null && typeof attrs === 'object' && !Array.isArray(attrs), `${uid}: attributes ${JSON.stringify(attrs)} are not an object`);
  } else {
    assert.ok(!('json_attributes_topic' in cfg), uid);
  }
  return uid;
}

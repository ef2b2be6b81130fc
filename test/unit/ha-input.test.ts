import assert from 'node:assert/strict';
import { HaInputError, parseInput } from '../../src/ha/input';
import { availability, BUS_ID, bankMsg, bankPayload, bms, info, live, msg, SERIAL, settings } from './ha-fixtures';

const busIdOf = (name: string) => (name === 'bus1' ? BUS_ID : null);

function fails(m: unknown, code: string, field?: string): void {
  assert.throws(
    () => parseInput(m as Parameters<typeof parseInput>[0], { busIdOf }),
    (e: unknown) => {
      assert.ok(e instanceof HaInputError);
      assert.equal(e.code, code);
      assert.equal(e.field, field);
      return true;
    },
  );
}

const clone = <T>(x: T): T => structuredClone(x);

describe('HA node input checks', () => {
  it('classifies jkbms messages, with the identity from msg.bms and the frame time', () => {
    const m = { ...msg(live()), frame: { source: 'sniff', ts: 1_700_000_000_000 } };
    const r = parseInput(m);
    assert.equal(r.kind, 'live');
    if (r.kind !== 'live') return;
    assert.equal(r.at, 1_700_000_000_000);
    // msg.bms is the jkbms node's BmsIdentity, checked and copied.
    assert.deepEqual(r.bms, { bus: 'bus1', busId: 'a1b2c3d4e5f60718', address: 2, serialNumber: null, model: null, hardwareVersion: null, softwareVersion: null, name: null });
    const plain = parseInput(msg(live()));
    assert.ok(plain.kind === 'live' && plain.at === null);
    assert.equal(parseInput(msg(settings(), bms(2, true))).kind, 'settings');
    const i = parseInput(msg(info(), bms(2, true)));
    assert.ok(i.kind === 'info' && i.bms.serialNumber === SERIAL);
    assert.deepEqual(parseInput(msg(availability(2, false))), { kind: 'availability', bms: r.bms, online: false });
  });

  it("recognises HA's status message (string or Buffer) on a topic ending in /status", () => {
    assert.deepEqual(parseInput({ topic: 'homeassistant/status', payload: 'online' }), { kind: 'birth', online: true });
    assert.deepEqual(parseInput({ topic: 'ha/status', payload: Buffer.from('online\n') }), { kind: 'birth', online: true });
    assert.deepEqual(parseInput({ topic: 'homeassistant/status', payload: 'offline' }), { kind: 'birth', online: false });
    fails({ topic: 'homeassistant/status', payload: 'hello' }, 'unknown-input');
    fails({ topic: 'homeassistant/state', payload: 'online' }, 'unknown-input');
  });

  it('parses remove commands', () => {
    assert.deepEqual(parseInput({ payload: { command: 'remove', address: 3 } }), { kind: 'remove', target: { address: 3 } });
    assert.deepEqual(parseInput({ payload: { command: 'remove', serialNumber: ' 123 ' } }), { kind: 'remove', target: { serialNumber: '123' } });
    assert.deepEqual(parseInput({ payload: { command: 'remove', address: 'all' } }), { kind: 'remove', target: { all: true } });
    fails({ payload: { command: 'remove' } }, 'bad-command', 'msg.payload');
    fails({ payload: { command: 'remove', address: 16 } }, 'bad-command', 'msg.payload.address');
    fails({ payload: { command: 'remove', serialNumber: '' } }, 'bad-command', 'msg.payload.serialNumber');
    fails({ payload: { command: 'purge', address: 1 } }, 'bad-command', 'msg.payload.command');
    assert.deepEqual(parseInput({ payload: { command: 'remove', bank: true } }), { kind: 'remove', target: { bank: true } });
    assert.deepEqual(parseInput({ payload: { command: 'remove', bank: true, address: 2 } }), { kind: 'remove', target: { bank: true, address: 2 } });
    fails({ payload: { command: 'remove', bank: 'yes' } }, 'bad-command', 'msg.payload.bank');
    fails({ payload: { command: 'remove', bank: false } }, 'bad-command', 'msg.payload.bank');
  });

  it('takes a jkbms-bank summary: the bus from msg.topic "<bus name>/bank", its id from the deployed buses, the bank id from the bus name, only the fields HA uses', () => {
    const p = bankPayload();
    const r = parseInput(bankMsg(p), { busIdOf });
    assert.equal(r.kind, 'bank');
    if (r.kind !== 'bank') return;
    assert.deepEqual(r.bank, { bus: 'bus1', busId: BUS_ID, bankId: 'bus1' });
    const { type, packs, ts, ...used } = p;
    assert.deepEqual([type, packs.length, ts], ['bank', 3, 1_700_000_000_000]);
    assert.deepEqual(r.summary, used);
    // A bus name with a slash: only the last level is "bank".
    const slash = parseInput({ topic: 'house/rack A/bank', payload: p }, { busIdOf: (n) => (n === 'house/rack A' ? 'x1' : null) });
    assert.ok(slash.kind === 'bank' && slash.bank.bus === 'house/rack A' && slash.bank.busId === 'x1' && slash.bank.bankId === 'house_rack_a');
    // No single bus of that name (none, several, or no way to look it up): refused with the name.
    fails(bankMsg(p, 'attic'), 'unknown-bus', 'attic');
    assert.throws(() => parseInput(bankMsg(p)), (e: unknown) => e instanceof HaInputError && e.code === 'unknown-bus' && e.field === 'bus1');
  });

  it('takes the bus and the bank id of a bank summary from msg.bms when jkbms-bank sets it (no lookup by name)', () => {
    const p = bankPayload();
    const r = parseInput({ topic: 'renamed/bank', payload: p, bms: { bus: 'bus1', busId: 'b42', bankId: 'house' } }, { busIdOf: () => null });
    assert.ok(r.kind === 'bank');
    if (r.kind === 'bank') assert.deepEqual(r.bank, { bus: 'bus1', busId: 'b42', bankId: 'house' });
    // Without a bank id (an older jkbms-bank): derived from the bus name, as jkbms-bank does.
    const old = parseInput({ topic: 'x/bank', payload: p, bms: { bus: 'Garage Rack', busId: 'b42' } });
    assert.ok(old.kind === 'bank' && old.bank.bankId === 'garage_rack');
    fails({ topic: 'x/bank', payload: p, bms: { bus: 'bus1', busId: 'b42', bankId: 'a b' } }, 'bad-field', 'msg.bms.bankId');
    // An incomplete msg.bms falls back to the topic.
    fails({ topic: 'attic/bank', payload: p, bms: { bus: 'x' } }, 'unknown-bus', 'attic');
  });

  it('names the first bad field of a malformed bank summary', () => {
    const bad = (patch: Record<string, unknown>, field: string, topic = 'bus1/bank') => fails({ topic, payload: { ...bankPayload(), ...patch } }, 'bad-field', field);
    bad({}, 'msg.topic', 'bus1/summary');
    bad({}, 'msg.topic', '/bank');
    fails({ payload: bankPayload() }, 'bad-field', 'msg.topic');
    bad({ packsOnline: -1 }, 'msg.payload.packsOnline');
    bad({ packsExpected: 1.5 }, 'msg.payload.packsExpected');
    bad({ stale: [3, 16] }, 'msg.payload.stale[1]');
    bad({ stale: '3' }, 'msg.payload.stale');
    bad({ soc: '68' }, 'msg.payload.soc');
    bad({ current: Number.NaN }, 'msg.payload.current');
    bad({ alarm: 1 }, 'msg.payload.alarm');
    bad({ chargingEnabled: 'yes' }, 'msg.payload.chargingEnabled');
    bad({ energyChargedKwh: -0.1 }, 'msg.payload.energyChargedKwh');
    bad({ energyDischargedKwh: null }, 'msg.payload.energyDischargedKwh');
    bad({ cellMin: { voltage: 3.3, address: 1, cell: 0 } }, 'msg.payload.cellMin.cell');
    bad({ cellMax: { voltage: '3.3', address: 1, cell: 2 } }, 'msg.payload.cellMax.voltage');
    bad({ cellMax: 3.3 }, 'msg.payload.cellMax');
    bad({ maxPackDelta: { delta: 0.01, address: 20 } }, 'msg.payload.maxPackDelta.address');
    bad({ temperatureMin: { value: 20, address: 1, sensor: 't6' } }, 'msg.payload.temperatureMin.sensor');
    bad({ alarms: [{ address: 2, alarm: 'cellUvp' }] }, 'msg.payload.alarms[0].label');
    bad({ alarms: ['cellUvp'] }, 'msg.payload.alarms[0]');
    // Null where the contract allows it (no pack counted) is fine.
    const none = bankPayload({ one: false, two: false });
    assert.equal(parseInput(bankMsg(none), { busIdOf }).kind, 'bank');
  });

  it('names the first bad field of a malformed message', () => {
    fails({ payload: 'hello' }, 'unknown-input');
    fails({ payload: live() }, 'unknown-input'); // no msg.bms
    fails({ ...msg(live()), payload: { ...live(), type: 'trigger' } }, 'unsupported-type', 'msg.payload.type');
    fails({ ...msg(live()), bms: 'x' }, 'bad-field', 'msg.bms');
    fails({ ...msg(live()), bms: { ...bms(), address: 16 } }, 'bad-field', 'msg.bms.address');
    fails({ ...msg(live()), bms: { ...bms(), busId: '' } }, 'bad-field', 'msg.bms.busId');
    fails({ ...msg(live()), bms: { ...bms(), serialNumber: 42 } }, 'bad-field', 'msg.bms.serialNumber');
    fails(msg(live(3), bms(2)), 'bad-field', 'msg.payload.address'); // payload says 3, msg.bms says 2

    const nanCell = clone(live());
    nanCell.cells[3] = Number.NaN;
    fails(msg(nanCell), 'bad-field', 'msg.payload.cells[3]');
    fails(msg({ ...live(), cellCount: 15 }), 'bad-field', 'msg.payload.cellCount');
    const many = Array.from({ length: 33 }, () => 3.3);
    fails(msg({ ...live(), cells: many, cellCount: 33, cellResistances: many }), 'bad-field', 'msg.payload.cells');
    fails(msg({ ...live(), cellResistances: [0.07] }), 'bad-field', 'msg.payload.cellResistances');
    fails(msg({ ...live(), voltage: '53' as unknown as number }), 'bad-field', 'msg.payload.voltage');
    fails(msg({ ...live(), temperatures: { ...live().temperatures, t2: Number.POSITIVE_INFINITY } }), 'bad-field', 'msg.payload.temperatures.t2');
    fails(msg({ ...live(), balancing: 'both' as 'off' }), 'bad-field', 'msg.payload.balancing');
    fails(msg({ ...live(), alarmMask: -1 }), 'bad-field', 'msg.payload.alarmMask');
    fails(msg({ ...settings(), chargingEnabled: 1 as unknown as boolean }), 'bad-field', 'msg.payload.chargingEnabled');
    fails(msg({ ...info(), serialNumber: null as unknown as string }), 'bad-field', 'msg.payload.serialNumber');
    fails(msg({ ...availability(2, true), online: 'yes' as unknown as boolean }), 'bad-field', 'msg.payload.online');
  });

  it('accepts a payload whose address is null (unknown), a live frame without msg.frame, and a frame with no cells', () => {
    const r = parseInput(msg(live(2, { address: null })));
    assert.equal(r.kind, 'live');
    assert.equal(parseInput(msg(live(2, { cells: [], cellCount: 0, cellResistances: [], cellMin: null, cellMax: null }))).kind, 'live');
  });
});

/**
 * Real frames captured from real packs (fw 11–19), decoded by an independent decoder: our
 * decoder must agree on every field (1e-6), and our framer must find every message in every
 * raw bus stream identically whatever the chunking. Skipped cleanly when ../shared is absent.
 */
import assert from 'node:assert/strict';
import { Framer, type FramerEvent } from '../../src/protocol/framer';
import { decodeFrame } from '../../src/protocol/decode';
import { encodeFrame } from '../../src/protocol/encode';
import type { DecodedFrame } from '../../src/protocol/types';
import { loadExpected, loadSources, noteVectorsMissing, vectorsAvailable, type ExpectedEntry } from '../helpers/vectors';
import { splitAt, summarize } from '../helpers/framing';

/** Oracle key → our payload path. Keys not listed are converted snake_case → camelCase. */
const LIVE_MAP: Record<string, string> = {
  cell_enabled_mask: 'cellMask',
  cell_count: 'cellCount',
  cell_voltage_average_v: 'cellAvg',
  cell_voltage_delta_v: 'cellDelta',
  cell_voltage_max_cell: 'cellMaxIndex',
  cell_voltage_min_cell: 'cellMinIndex',
  wire_resistance_warning_mask: 'wireResistanceAlarmMask',
  total_voltage_v: 'voltage',
  current_a: 'current',
  alarm_mask: 'alarmMask',
  balance_current_a: 'balancingCurrent',
  state_of_charge_pct: 'soc',
  capacity_remaining_ah: 'remainingAh',
  capacity_full_ah: 'fullChargeAh',
  cycle_count: 'cycles',
  cycle_capacity_total_ah: 'cycleAh',
  state_of_health_pct: 'soh',
  precharge_status: 'precharging',
  user_alarm_mask: 'userAlarm',
  user_alarm_2_mask: 'userAlarm2',
  total_runtime_s: 'runtime',
  charging_mosfet: 'chargingMos',
  discharging_mosfet: 'dischargingMos',
  discharge_ocp_release_time_s: 'dischargeOcpReleaseTime',
  discharge_scp_release_time_s: 'dischargeScpReleaseTime',
  charge_ocp_release_time_s: 'chargeOcpReleaseTime',
  charge_scp_release_time_s: 'chargeScpReleaseTime',
  cell_uvp_release_time_s: 'cellUvpReleaseTime',
  cell_ovp_release_time_s: 'cellOvpReleaseTime',
  temperature_sensor_present_mask: 'temperatureSensorMask',
  heating: 'heating',
  emergency_time_remaining_s: 'emergencyTime',
  discharge_current_correction_factor: 'dischargeCurrentCorrection',
  charge_current_sensor_voltage_v: 'chargeCurrentSensorVoltage',
  discharge_current_sensor_voltage_v: 'dischargeCurrentSensorVoltage',
  battery_voltage_correction_factor: 'voltageCorrection',
  total_voltage_2_v: 'voltageLowRes',
  heating_current_a: 'heatingCurrent',
  charger_plugged: 'chargerPlugged',
  system_ticks_s: 'systemUptime',
  rtc_ticks_s: 'rtcTime',
  time_enter_sleep_s: 'sleepCountdown',
  pcl_module_status: 'pclActive',
  charge_status_time_s: 'chargeStageTime',
};

const SETTINGS_MAP: Record<string, string> = {
  soc_100_voltage_v: 'cellSoc100Voltage',
  soc_0_voltage_v: 'cellSoc0Voltage',
  power_off_voltage_v: 'powerOffVoltage',
  mosfet_otp_c: 'mosOtp',
  mosfet_otp_recovery_c: 'mosOtpRecovery',
  nominal_capacity_ah: 'nominalCapacityAh',
  scp_delay_s: 'scpDelay',
  precharge_time_s: 'prechargeTime',
  controls_mask: 'switchMask',
  port_switch_rs485: 'portRs485',
  smart_sleep_time_s: 'smartSleepDelay',
  data_field_enable_control_0: 'dataFieldEnable0',
  heating_start_temperature_c: 'heatingStartTemperature',
  heating_stop_temperature_c: 'heatingStopTemperature',
  discharge_utp_c: 'dischargeUtp',
  discharge_utp_recovery_c: 'dischargeUtpRecovery',
  mosfet_temperature_c: 'mos',
};

const INFO_MAP: Record<string, string> = {
  uptime_s: 'uptime',
  rcv_time_s: 'rcvTime',
  rfv_time_s: 'rfvTime',
};

/** Oracle keys that describe the capture, not a field. */
const META = new Set(['frame_type', 'frame_counter', 'checksum', 'checksum_ok', 'ack_offset', 'ack_address', 'ack_register', 'ack_crc_ok', 'ack_register_matches_type', 'trailing_bytes']);

const camel = (k: string) =>
  k
    .replace(/_(v|a|w|c|ah|s|pct|ohm)$/, '')
    .replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());

const close = (a0: unknown, b: unknown, what: string) => {
  const a = typeof a0 === 'boolean' && typeof b === 'number' ? (a0 ? 1 : 0) : a0;
  if (typeof a === 'number' && typeof b === 'number') {
    assert.ok(Math.abs(a - b) <= 1e-6, `${what}: ours ${a}, expected ${b}`);
  } else {
    assert.deepEqual(a, b, what);
  }
};

/** Our value for an oracle key, or undefined when the key is not one we map generically. */
function ours(p: Record<string, unknown>, key: string, expected: unknown): { path: string; value: unknown } | undefined {
  let m: RegExpMatchArray | null;
  const cellMask = p.cellMask as number;
  const present = (n: number) => (cellMask >>> (n - 1)) & 1;
  const idx = (n: number) => {
    let k = 0;
    for (let i = 0; i < n - 1; i++) if ((cellMask >>> i) & 1) k++;
    return k;
  };
  if (p.type === 'live') {
    if ((m = key.match(/^cell_voltage_(\d+)_v$/))) {
      const n = Number(m[1]);
      return { path: `cells[${n}]`, value: present(n) ? (p.cells as number[])[idx(n)] : undefined };
    }
    if ((m = key.match(/^cell_resistance_(\d+)_ohm$/))) {
      const n = Number(m[1]);
      return { path: `cellResistances[${n}]`, value: present(n) ? (p.cellResistances as number[])[idx(n)] : undefined };
    }
    const temps = p.temperatures as Record<string, number | null>;
    const sensorBit = (bit: number) => ((p.temperatureSensorMask as number) >>> bit) & 1;
    if (key === 'mosfet_temperature_c') return { path: 'temperatures.mos', value: sensorBit(0) && expected !== -200 ? temps.mos : expected };
    if ((m = key.match(/^temperature_sensor_(\d)_c$/))) {
      const n = Number(m[1]);
      const t = temps[`t${n}`];
      // An absent sensor is null in our payload; the oracle prints the raw number.
      if (!sensorBit(n) || expected === -200) {
        assert.equal(t, null, `t${n} must be null when its presence bit is clear or it reads −200 °C (unplugged)`);
        return { path: `temperatures.t${n}`, value: expected };
      }
      return { path: `temperatures.t${n}`, value: t };
    }
    if (key === 'power_w') return { path: '|power|', value: Math.abs(p.power as number) };
    if (key === 'balancing_action') return { path: 'balancing', value: ['off', 'charge', 'discharge'].indexOf(p.balancing as string) };
    if (key === 'charge_status') return { path: 'chargeStage', value: p.chargeStage === null ? expected : ['bulk', 'absorption', 'float'].indexOf(p.chargeStage as string) };
    if (key === 'dry_contact_mask') return { path: 'dry1/dry2', value: ((expected as number) & ~6) | (p.dry1 ? 2 : 0) | (p.dry2 ? 4 : 0) };
    const k = LIVE_MAP[key] ?? camel(key);
    return { path: k, value: p[k] };
  }
  if (p.type === 'settings') {
    if ((m = key.match(/^connection_wire_resistance_(\d+)_ohm$/))) {
      const n = Number(m[1]);
      const wires = p.wireResistances as number[];
      return { path: `wireResistances[${n}]`, value: n <= wires.length ? wires[n - 1] : expected };
    }
    const k = SETTINGS_MAP[key] ?? camel(key);
    return { path: k, value: p[k] };
  }
  const k = INFO_MAP[key] ?? camel(key);
  return { path: k, value: p[k] };
}

function checkAgainstOracle(entry: ExpectedEntry, p: DecodedFrame): number {
  let checked = 0;
  const bag = p as unknown as Record<string, unknown>;
  for (const [key, expected] of Object.entries(entry.decoded)) {
    if (META.has(key)) continue;
    const got = ours(bag, key, expected);
    assert.ok(got, `${entry.id}: no mapping for oracle key ${key}`);
    assert.notEqual(got.value, undefined, `${entry.id}: ${key} → ${got.path} is missing from our payload`);
    close(got.value, expected, `${entry.id}: ${key} → ${got.path}`);
    checked++;
  }
  return checked;
}

if (!vectorsAvailable()) {
  noteVectorsMissing();
} else {
  describe('protocol against captured vectors (../shared/vectors)', () => {
    const expected = loadExpected();
    const sources = loadSources();

    it(`decodes every captured frame to the reference values (${expected.length} frames, 1e-6)`, () => {
      let fields = 0;
      for (const e of expected) {
        const bytes = Buffer.from(e.hex, 'hex');
        const p = decodeFrame(bytes);
        assert.equal(p.type, ['settings', 'live', 'info'][e.frame_type - 1], e.id);
        fields += checkAgainstOracle(e, p);
      }
      assert.ok(fields > 15000, `only ${fields} field checks`);
    });

    it('takes the responder address from the ack tail of every RS485 response', () => {
      let n = 0;
      for (const e of expected.filter((x) => x.kind === 'rs485-response')) {
        const f = new Framer();
        const events = [...f.push(Buffer.from(e.hex, 'hex')), ...f.flush()];
        const frames = events.filter((x) => x.type === 'frame');
        assert.equal(frames.length, 1, `${e.id}: ${JSON.stringify(summarize(events))}`);
        const fr = frames[0]!;
        const ackAddress = e.decoded.ack_address as number | undefined;
        if (ackAddress !== undefined && e.decoded.ack_crc_ok) {
          assert.equal(fr.address, ackAddress, e.id);
          assert.equal(fr.addressFrom, 'tail', e.id);
          n++;
        }
        // Every byte is accounted for: the frame, its tail, and (309-byte capture) one stray byte.
        const consumed = events.reduce((s, x) => s + (x.type === 'frame' ? x.bytes.length : x.bytes.length), 0);
        assert.equal(consumed, e.hex.length / 2, e.id);
      }
      assert.ok(n >= 100, `only ${n} responses with an ack`);
    });

    it('re-encodes every captured frame byte for byte from its decoded payload', () => {
      for (const e of expected) {
        const bytes = Buffer.from(e.hex, 'hex').subarray(0, 300);
        const again = encodeFrame(decodeFrame(bytes), { base: bytes });
        assert.ok(again.equals(bytes), `${e.id}: differs at byte ${again.findIndex((b, i) => b !== bytes[i])}`);
        // And from a blank template, every decoded field survives.
        assert.deepEqual(decodeFrame(encodeFrame(decodeFrame(bytes))), decodeFrame(bytes), e.id);
      }
    });

    it('recognises every captured request as a read trigger for its address and register', () => {
      const reqs = sources.filter((s) => s.kind === 'rs485-request');
      assert.ok(reqs.length >= 20, `only ${reqs.length} requests`);
      for (const r of reqs) {
        const events = new Framer().push(Buffer.from(r.hex, 'hex'));
        assert.equal(events.length, 1, r.id);
        const ev = events[0]!;
        assert.equal(ev.type, 'trigger', r.id);
        if (ev.type !== 'trigger') continue;
        assert.equal(ev.address, r.request_address, r.id);
        assert.equal(`0x${ev.register.toString(16).toUpperCase().replace('X', 'x')}`.toLowerCase(), String(r.register).toLowerCase(), r.id);
      }
    });

    const streams = sources.filter((s) => s.kind === 'rs485-stream');
    for (const s of streams) {
      it(`stream ${s.id}: same events whole, byte by byte and at random split points; counts match the capture`, () => {
        const bytes = Buffer.from(s.hex, 'hex');
        const whole = run([bytes]);
        const byByte = run(Array.from(bytes, (b) => Buffer.of(b)));
        assert.deepEqual(byByte, whole);
        for (let seed = 1; seed <= 5; seed++) assert.deepEqual(run(splitAt(bytes, seed)), whole, `seed ${seed}`);

        const counts = s.token_counts as Record<string, number> | undefined;
        const framer = new Framer();
        const sum = summarize([...framer.push(bytes), ...framer.flush()]);
        if (counts) {
          assert.equal(sum.trigger, counts.requests ?? 0, 'requests');
          assert.equal(sum.live, counts.frame_type_2 ?? 0, 'type 2 frames');
          assert.equal(sum.settings, counts.frame_type_1 ?? 0, 'type 1 frames');
          assert.equal(sum.info, counts.frame_type_3 ?? 0, 'type 3 frames');
        }
        if (s.checksum_ok) assert.equal(sum.discarded, 0, `discarded ${JSON.stringify(sum.reasons)}`);
        const responders = s.responder_addresses as number[] | undefined;
        if (responders) assert.deepEqual([...new Set(sum.addresses)].sort((a, b) => a - b), [...responders].sort((a, b) => a - b));
      });
    }
  });
}

/** Events of a chunked stream, normalised for comparison (bytes as hex). */
function run(chunks: Buffer[]): unknown[] {
  const f = new Framer();
  const out: FramerEvent[] = [];
  for (const c of chunks) out.push(...f.push(c));
  out.push(...f.flush());
  return out.map((e) => JSON.parse(JSON.stringify({ ...e, bytes: e.bytes.toString('hex'), frame: e.type === 'frame' ? e.frame.toString('hex') : undefined })));
}

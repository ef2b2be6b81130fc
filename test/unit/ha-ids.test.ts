import assert from 'node:assert/strict';
import {
  bridgeAvailabilityTopic,
  entitySlug,
  packDeviceId,
  packTopics,
  provisionalDeviceId,
  sanitizeId,
  serialDeviceId,
  topicLevel,
  topicPrefixProblem,
  usableSerial,
} from '../../src/ha/ids';

describe('HA id and topic policy', () => {
  it('ids keep only [a-zA-Z0-9_-]', () => {
    assert.equal(sanitizeId('a1b2.c3d4'), 'a1b2_c3d4');
    assert.equal(sanitizeId('SN 12/34+#é'), 'SN_12_34___');
    assert.equal(sanitizeId('Ab-9_z'), 'Ab-9_z');
  });

  it('device id from the serial when known, else bus id + address', () => {
    assert.equal(packDeviceId('a1b2c3d4e5f60718', 3, '4062840158'), 'jkbms_4062840158');
    assert.equal(packDeviceId('a1b2c3d4e5f60718', 3, null), 'jkbms_a1b2c3d4e5f60718_3');
    assert.equal(packDeviceId('a1b2c3d4e5f60718', 3, '   '), 'jkbms_a1b2c3d4e5f60718_3');
    assert.equal(packDeviceId('old.style', 0, undefined), 'jkbms_old_style_0');
    assert.equal(provisionalDeviceId('x', 15), 'jkbms_x_15');
    assert.equal(serialDeviceId('506177F4 9000'), 'jkbms_506177F4_9000');
    assert.equal(usableSerial(' 123 '), '123');
    assert.equal(usableSerial(''), null);
  });

  it('entity slugs are lowercase [a-z0-9_]', () => {
    assert.equal(entitySlug('jkbms_506177F4-90_voltage'), 'jkbms_506177f4_90_voltage');
  });

  it('topics: <base>/<bus>/<id>/state|availability and <base>/bridge/availability', () => {
    assert.deepEqual(packTopics('jkbms', 'bus1', 'jkbms_4062840158'), {
      state: 'jkbms/bus1/4062840158/state',
      availability: 'jkbms/bus1/4062840158/availability',
    });
    assert.deepEqual(packTopics('home/bms', 'bus1', 'jkbms_abc_1').state, 'home/bms/bus1/abc_1/state');
    assert.equal(bridgeAvailabilityTopic('jkbms'), 'jkbms/bridge/availability');
  });

  it('a bus name becomes one safe topic level (no /, +, #, blanks), falling back to the bus id', () => {
    assert.equal(topicLevel('Garage bus/2 +#', 'id1'), 'Garage_bus_2___');
    assert.equal(topicLevel('Bus-ä.1', 'id1'), 'Bus-ä.1');
    assert.equal(topicLevel('', 'a1.b2'), 'a1_b2');
    assert.equal(topicLevel('///', 'a1b2'), 'a1b2');
    assert.equal(topicLevel(null, 'a1b2'), 'a1b2');
  });

  it('rejects unusable topic prefixes', () => {
    assert.equal(topicPrefixProblem('homeassistant'), null);
    assert.equal(topicPrefixProblem('home/jkbms'), null);
    assert.equal(topicPrefixProblem(''), 'empty');
    assert.equal(topicPrefixProblem('a/+/b'), 'wildcard');
    assert.equal(topicPrefixProblem('a/#'), 'wildcard');
    assert.equal(topicPrefixProblem('/jkbms'), 'empty-level');
    assert.equal(topicPrefixProblem('jkbms/'), 'empty-level');
    assert.equal(topicPrefixProblem('a//b'), 'empty-level');
  });
});

// Topic config validation and description, as Kafka's CreateTopics / DescribeConfigs see them.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  describeConfig,
  describeTopicConfig,
  effectiveTopicConfig,
  resolveTopicConfig,
  topicSettings,
  TOPIC_CONFIG_NAMES,
} from '../../src/metadata/topic-config.ts';

test('Kafka defaults', () => {
  const c = effectiveTopicConfig({});
  assert.is(c['retention.ms'], '604800000');
  assert.is(c['retention.bytes'], '-1');
  assert.is(c['segment.bytes'], '1073741824');
  assert.is(c['segment.ms'], '604800000');
  assert.is(c['cleanup.policy'], 'delete');
  assert.is(c['min.insync.replicas'], '1');
  assert.is(c['max.message.bytes'], '1048588');
  assert.is(c['unclean.leader.election.enable'], 'false');
  assert.is(c['message.timestamp.type'], 'CreateTime');
  assert.is(c['compression.type'], 'producer');
  assert.is(c['flush.messages'], '9223372036854775807');
  assert.is(c['flush.ms'], '9223372036854775807');
});

test('valid overrides are kept, normalized', () => {
  const { config, errors } = resolveTopicConfig({
    'retention.ms': ' 1000 ',
    'cleanup.policy': 'compact, delete',
    'unclean.leader.election.enable': 'TRUE',
    'min.insync.replicas': '2',
    'retention.bytes': '-1',
    'flush.messages': '9223372036854775807',
    'min.cleanable.dirty.ratio': '0.25',
  });
  assert.equal(errors, []);
  assert.equal(config, {
    'retention.ms': '1000',
    'cleanup.policy': 'compact,delete',
    'unclean.leader.election.enable': 'true',
    'min.insync.replicas': '2',
    'retention.bytes': '-1',
    'flush.messages': '9223372036854775807',
    'min.cleanable.dirty.ratio': '0.25',
  });
  const s = topicSettings(config);
  assert.is(s.retentionMs, 1000);
  assert.equal(s.cleanupPolicy, ['compact', 'delete']);
  assert.is(s.uncleanLeaderElection, true);
  assert.is(s.minInsyncReplicas, 2);
  assert.is(s.segmentBytes, 1073741824);
});

test('unknown keys and bad values become error entries naming the key and the value', () => {
  const { config, errors } = resolveTopicConfig({
    'retention.ms': 'soon',
    'no.such.config': '1',
    'min.insync.replicas': '0',
    'cleanup.policy': 'delete,shred',
    'segment.bytes': '99999999999',
    'message.timestamp.type': 'WallClock',
    'unclean.leader.election.enable': 'yes',
    'retention.bytes': '9223372036854775808',
    'segment.ms': '100',
  });
  assert.equal(config, { 'segment.ms': '100' });
  const by = Object.fromEntries(errors.map((e) => [e.name, e.message]));
  assert.is(Object.keys(by).length, 8);
  assert.match(by['no.such.config'], /Unknown topic config name: no\.such\.config/);
  assert.match(by['retention.ms'], /Invalid value soon for configuration retention\.ms: not a number/);
  assert.match(by['min.insync.replicas'], /at least 1/);
  assert.match(by['cleanup.policy'], /shred/);
  assert.match(by['segment.bytes'], /out of range for type INT/);
  assert.match(by['message.timestamp.type'], /CreateTime, LogAppendTime/);
  assert.match(by['unclean.leader.election.enable'], /true or false/);
  assert.match(by['retention.bytes'], /out of range for type LONG/);
  // Errors print as their message, so a joined list reads well in an error response.
  assert.match(errors.join('; '), /Unknown topic config name/);
});

test('describeConfig lists every known key with value, isDefault, readOnly, sensitive', () => {
  const entries = describeConfig({ config: { 'retention.ms': '1000' } });
  assert.equal(entries.map((e) => e.name), [...TOPIC_CONFIG_NAMES]);
  const r = entries.find((e) => e.name === 'retention.ms')!;
  assert.equal([r.value, r.isDefault, r.source, r.readOnly, r.sensitive, r.type], ['1000', false, 'TOPIC', false, false, 'LONG']);
  const s = entries.find((e) => e.name === 'segment.bytes')!;
  assert.equal([s.value, s.isDefault, s.source], ['1073741824', true, 'DEFAULT']);
  assert.ok(entries.every((e) => e.documentation.length > 0));
  assert.equal(describeTopicConfig({ 'retention.ms': '1000' }), entries);
  for (const n of ['retention.ms', 'retention.bytes', 'segment.bytes', 'segment.ms', 'cleanup.policy', 'min.insync.replicas', 'max.message.bytes', 'unclean.leader.election.enable', 'message.timestamp.type', 'compression.type', 'flush.messages', 'flush.ms']) {
    assert.ok(TOPIC_CONFIG_NAMES.includes(n), `${n} known`);
  }
});

test.run();

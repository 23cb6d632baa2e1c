// Changing configs at runtime, the pure part: IncrementalAlterConfigs' SET/DELETE/APPEND/SUBTRACT and
// AlterConfigs' whole-set replacement with Kafka's checks and error codes (config-alter.ts), and where each
// effective value comes from, layer by layer, with its synonyms (config-layers.ts, and the log cleaner's dynamic
// broker configs in reconfigurable-config.ts, and those Kafka accepts that Kastor only stores: inert-broker-config.ts), as
// DescribeConfigs reports it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AlterOp, applyIncremental, ConfigRefused, replaceAll } from '../../src/metadata/config-alter.ts';
import { brokerConfigEntries, ConfigSource, effectiveOverrides, topicConfigEntries } from '../../src/metadata/config-layers.ts';
import { ErrorCode } from '../../src/protocol/generated/errors.ts';
import { parseAddConfig } from '../../src/cli/kafka-tools/configs.ts';
import { reconfigurableConfigEntries, reconfigurableSettings } from '../../src/metadata/reconfigurable-config.ts';
import { inertBrokerConfigEntries } from '../../src/metadata/inert-broker-config.ts';

function refusal(fn: () => unknown): ConfigRefused {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigRefused) return err;
    throw err;
  }
  throw new Error('expected a ConfigRefused');
}

const op = (name: string, operation: number, value: string | null) => ({ name, op: operation, value });

test('SET, DELETE, APPEND and SUBTRACT on a topic, values normalized', () => {
  const next = applyIncremental('topic', { 'retention.ms': '1000', 'segment.bytes': '16384' }, [
    { name: 'retention.ms', op: AlterOp.SET, value: ' 5000 ' },
    { name: 'segment.bytes', op: AlterOp.DELETE, value: null },
    { name: 'cleanup.policy', op: AlterOp.APPEND, value: 'compact' },
  ]);
  assert.equal(next, { 'retention.ms': '5000', 'cleanup.policy': 'delete,compact' }, 'APPEND starts from the default (delete)');
  const appendedTwice = applyIncremental('topic', next, [{ name: 'cleanup.policy', op: AlterOp.APPEND, value: 'compact' }]);
  assert.is(appendedTwice['cleanup.policy'], 'delete,compact', 'an element already there is not added again');
  const subtracted = applyIncremental('topic', next, [{ name: 'cleanup.policy', op: AlterOp.SUBTRACT, value: 'delete' }]);
  assert.is(subtracted['cleanup.policy'], 'compact');
  assert.equal(applyIncremental('topic', { 'retention.ms': '1' }, [{ name: 'nope.not.there', op: AlterOp.DELETE, value: null }]), { 'retention.ms': '1' }, 'deleting an absent key is fine');
});

test('unknown keys and bad values: INVALID_CONFIG naming the key', () => {
  const cases: Array<[ReturnType<typeof op>, string]> = [
    [op('retention.mss', AlterOp.SET, '1'), 'retention.mss'],
    [op('min.insync.replicas', AlterOp.SET, 'two'), 'Invalid value two for configuration min.insync.replicas'],
    [op('cleanup.policy', AlterOp.APPEND, 'shred'), 'cleanup.policy'],
    [op('no.such.list', AlterOp.APPEND, 'x'), 'no.such.list'],
  ];
  for (const [o, message] of cases) {
    const r = refusal(() => applyIncremental('topic', {}, [o]));
    assert.is(r.errorCode, ErrorCode.INVALID_CONFIG, message);
    assert.match(r.message, message);
  }
});

test('Kafka refuses duplicates, nulls, APPEND on a non-list and unknown operations with INVALID_REQUEST', () => {
  const cases: Array<[() => unknown, string]> = [
    [() => applyIncremental('topic', {}, [{ name: 'retention.ms', op: AlterOp.SET, value: '1' }, { name: 'retention.ms', op: AlterOp.DELETE, value: null }]), 'duplicate config keys'],
    [() => applyIncremental('topic', {}, [{ name: 'retention.ms', op: AlterOp.SET, value: null }]), 'Null value'],
    [() => applyIncremental('topic', {}, [{ name: 'retention.ms', op: AlterOp.APPEND, value: '1' }]), 'append is not allowed for config key: retention.ms'],
    [() => applyIncremental('topic', {}, [{ name: 'retention.ms', op: 9, value: '1' }]), 'Unknown config operation 9'],
    [() => replaceAll('topic', [{ name: 'retention.ms', value: '1' }, { name: 'retention.ms', value: '2' }]), 'duplicate config keys'],
  ];
  for (const [fn, message] of cases) {
    const r = refusal(fn);
    assert.is(r.errorCode, ErrorCode.INVALID_REQUEST, message);
    assert.match(r.message, message);
  }
});

test('AlterConfigs replaces the whole set: a key left out returns to its default', () => {
  assert.equal(replaceAll('topic', [{ name: 'retention.ms', value: '100' }, { name: 'message.format.version', value: '0.10.0.0' }]), {
    'retention.ms': '100',
    'message.format.version': '0.10.0.0',
  });
  assert.equal(replaceAll('topic', []), {});
});

test('broker configs: only the dynamic ones, a static one refused as Kafka refuses it', () => {
  assert.equal(applyIncremental('broker', {}, [{ name: 'log.retention.ms', op: AlterOp.SET, value: '60000' }, { name: 'min.insync.replicas', op: AlterOp.SET, value: '2' }]), {
    'log.retention.ms': '60000',
    'min.insync.replicas': '2',
  });
  const fixed = refusal(() => applyIncremental('broker', {}, [{ name: 'num.partitions', op: AlterOp.SET, value: '3' }]));
  assert.is(fixed.errorCode, ErrorCode.INVALID_REQUEST);
  assert.is(fixed.message, 'Cannot update these configs dynamically: Set(num.partitions)');
  const bad = refusal(() => applyIncremental('broker', {}, [{ name: 'log.retention.ms', op: AlterOp.SET, value: '-5' }]));
  assert.is(bad.errorCode, ErrorCode.INVALID_CONFIG);
  assert.match(bad.message, 'configuration log.retention.ms');
  const unknown = refusal(() => replaceAll('broker', [{ name: 'log.retention.weeks', value: '1' }]));
  assert.is(unknown.errorCode, ErrorCode.INVALID_CONFIG);
  assert.match(unknown.message, 'log.retention.weeks');
  assert.is(applyIncremental('broker', {}, [{ name: 'log.cleanup.policy', op: AlterOp.APPEND, value: 'compact' }])['log.cleanup.policy'], 'delete,compact', 'APPEND on a broker list config');
});

test("the dynamic broker configs taken up at runtime (the log cleaner's, producer.id.expiration.ms): validated, layered, log.cleaner.enable static as in Kafka", () => {
  const set = (name: string, value: string) => ({ name, op: AlterOp.SET, value });
  assert.equal(applyIncremental('broker', {}, [set('log.cleaner.io.max.bytes.per.second', ' 1048576 '), set('log.cleaner.backoff.ms', '250'), set('producer.id.expiration.ms', '60000')]), {
    'log.cleaner.io.max.bytes.per.second': '1048576',
    'log.cleaner.backoff.ms': '250',
    'producer.id.expiration.ms': '60000',
  });
  for (const [name, value, why] of [
    ['log.cleaner.io.max.bytes.per.second', 'fast', 'Not a number of type DOUBLE'],
    ['log.cleaner.io.max.bytes.per.second', '0', 'Value must be above 0'],
    ['log.cleaner.backoff.ms', '-1', 'Value must be at least 0'],
    ['log.cleaner.backoff.ms', '1.5', 'Not a number of type LONG'],
    ['producer.id.expiration.ms', '0', 'Value must be at least 1'],
    ['producer.id.expiration.ms', '2147483648', 'Not a number of type INT'],
  ] as const) {
    const bad = refusal(() => applyIncremental('broker', {}, [set(name, value)]));
    assert.is(bad.errorCode, ErrorCode.INVALID_CONFIG, `${name}=${value}`);
    assert.is(bad.message, `Invalid value ${value} for configuration ${name}: ${why}`);
  }
  const append = refusal(() => applyIncremental('broker', {}, [{ name: 'log.cleaner.backoff.ms', op: AlterOp.APPEND, value: '5' }]));
  assert.is(append.errorCode, ErrorCode.INVALID_REQUEST);
  const enable = refusal(() => replaceAll('broker', [{ name: 'log.cleaner.enable', value: 'false' }]));
  assert.is(enable.message, 'Cannot update these configs dynamically: Set(log.cleaner.enable)');
  // This broker's value over the cluster's over the static one over Kafka's default (unbounded, 15 s, 1 day).
  assert.equal(reconfigurableSettings({}), { cleanerIoMaxBytesPerSecond: Infinity, cleanerBackoffMs: 15_000, producerIdExpirationMs: 86_400_000 });
  assert.equal(reconfigurableSettings({ static: { 'log.cleaner.backoff.ms': '100', 'producer.id.expiration.ms': '5000' } }), { cleanerIoMaxBytesPerSecond: Infinity, cleanerBackoffMs: 100, producerIdExpirationMs: 5000 });
  const layers = { broker: { 'log.cleaner.io.max.bytes.per.second': '5000' }, clusterDefault: { 'log.cleaner.io.max.bytes.per.second': '9000', 'log.cleaner.backoff.ms': '2000', 'producer.id.expiration.ms': '7000' }, static: { 'log.cleaner.backoff.ms': '100' } };
  assert.equal(reconfigurableSettings(layers), { cleanerIoMaxBytesPerSecond: 5000, cleanerBackoffMs: 2000, producerIdExpirationMs: 7000 });
  const entries = Object.fromEntries(reconfigurableConfigEntries(layers, false).map((e) => [e.name, e]));
  assert.is(entries['log.cleaner.io.max.bytes.per.second']!.source, ConfigSource.DYNAMIC_BROKER_CONFIG);
  assert.equal(entries['log.cleaner.io.max.bytes.per.second']!.synonyms.map((x) => [x.value, x.source]), [
    ['5000', ConfigSource.DYNAMIC_BROKER_CONFIG], ['9000', ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG], ['1.7976931348623157E308', ConfigSource.DEFAULT_CONFIG],
  ]);
  assert.is(entries['log.cleaner.backoff.ms']!.source, ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG);
  assert.equal(reconfigurableConfigEntries({ static: { 'log.cleaner.backoff.ms': '100' } }, false).map((e) => [e.name, e.value, e.source]), [
    ['log.cleaner.io.max.bytes.per.second', '1.7976931348623157E308', ConfigSource.DEFAULT_CONFIG], ['log.cleaner.backoff.ms', '100', ConfigSource.STATIC_BROKER_CONFIG],
    ['producer.id.expiration.ms', '86400000', ConfigSource.DEFAULT_CONFIG],
  ]);
  // The cluster-wide resource shows only what is set there.
  assert.equal(reconfigurableConfigEntries(layers, true).map((e) => [e.name, e.value]), [['log.cleaner.io.max.bytes.per.second', '9000'], ['log.cleaner.backoff.ms', '2000'], ['producer.id.expiration.ms', '7000']]);
});

test('dynamic broker configs Kafka accepts for features Kastor lacks: checked, stored, described, per-broker ones refused cluster-wide', () => {
  const set = (name: string, value: string) => ({ name, op: AlterOp.SET, value });
  // What librdkafka's 0081 sets: a Kerberos key by AlterConfigs, background.threads by IncrementalAlterConfigs.
  assert.equal(replaceAll('broker', [{ name: 'sasl.kerberos.min.time.before.relogin', value: '58000' }]), { 'sasl.kerberos.min.time.before.relogin': '58000' });
  const withThreads = applyIncremental('broker', {}, [set('background.threads', '9'), { name: 'log.cleanup.policy', op: AlterOp.APPEND, value: 'compact' }]);
  assert.equal(withThreads, { 'background.threads': '9', 'log.cleanup.policy': 'delete,compact' });
  assert.equal(applyIncremental('broker', withThreads, [{ name: 'background.threads', op: AlterOp.DELETE, value: '' }, { name: 'log.cleanup.policy', op: AlterOp.SUBTRACT, value: 'compact' }]), { 'log.cleanup.policy': 'delete' });
  assert.is(applyIncremental('broker', {}, [{ name: 'sasl.kerberos.principal.to.local.rules', op: AlterOp.APPEND, value: 'RULE:[1:$1]' }])['sasl.kerberos.principal.to.local.rules'], 'DEFAULT,RULE:[1:$1]', 'APPEND on a list starts from Kafka\'s default');
  assert.equal(applyIncremental('broker-default', {}, [set('num.io.threads', '16'), set('transaction.partition.verification.enable', 'FALSE')]), { 'num.io.threads': '16', 'transaction.partition.verification.enable': 'false' });
  for (const [name, value, why] of [
    ['background.threads', '0', 'Value must be at least 1'],
    ['background.threads', 'many', 'Not a number of type INT'],
    ['sasl.kerberos.min.time.before.relogin', '1.5', 'Not a number of type LONG'],
    ['sasl.login.refresh.buffer.seconds', '3601', 'Value must be no more than 3600'],
    ['sasl.login.refresh.window.factor', '0.1', 'Value must be at least 0.5'],
    ['transaction.partition.verification.enable', 'yes', 'Expected value to be either true or false'],
  ] as const) {
    const bad = refusal(() => applyIncremental('broker', {}, [set(name, value)]));
    assert.is(bad.errorCode, ErrorCode.INVALID_CONFIG, `${name}=${value}`);
    assert.is(bad.message, `Invalid value ${value} for configuration ${name}: ${why}`);
  }
  // Kafka's PerBrokerConfigs (listener and SASL keys) need a broker id.
  const clusterWide = refusal(() => applyIncremental('broker-default', {}, [set('sasl.kerberos.min.time.before.relogin', '58000')]));
  assert.is(clusterWide.errorCode, ErrorCode.INVALID_REQUEST);
  assert.is(clusterWide.message, 'Cannot update these configs at default cluster level, broker id must be specified: Set(sasl.kerberos.min.time.before.relogin)');
  // DescribeConfigs: a broker id shows every key (Kafka's default where nothing is set), the cluster default only its own.
  const layers = { broker: { 'sasl.kerberos.min.time.before.relogin': '58000' }, clusterDefault: { 'background.threads': '12' } };
  const entries = new Map(inertBrokerConfigEntries(layers, false).map((e) => [e.name, e]));
  assert.equal([entries.get('sasl.kerberos.min.time.before.relogin')!.value, entries.get('sasl.kerberos.min.time.before.relogin')!.source], ['58000', ConfigSource.DYNAMIC_BROKER_CONFIG]);
  assert.equal(entries.get('sasl.kerberos.min.time.before.relogin')!.synonyms.map((x) => [x.value, x.source]), [['58000', ConfigSource.DYNAMIC_BROKER_CONFIG], ['60000', ConfigSource.DEFAULT_CONFIG]]);
  assert.equal([entries.get('background.threads')!.value, entries.get('background.threads')!.source], ['12', ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG]);
  assert.equal([entries.get('num.io.threads')!.value, entries.get('num.io.threads')!.source], ['8', ConfigSource.DEFAULT_CONFIG]);
  assert.equal([entries.get('sasl.kerberos.service.name')!.value, entries.get('sasl.kerberos.service.name')!.synonyms], [null, []], 'no default in Kafka: a null value');
  assert.match(entries.get('background.threads')!.documentation, 'no effect in Kastor');
  assert.equal(inertBrokerConfigEntries(layers, true).map((e) => [e.name, e.value]), [['background.threads', '12']]);
});

test('sources and synonyms: topic override, this broker, the cluster default, static, default', () => {
  const layers = {
    topic: { 'retention.ms': '1000' },
    broker: { 'log.retention.ms': '2000', 'min.insync.replicas': '2' },
    clusterDefault: { 'log.retention.ms': '3000', 'min.insync.replicas': '3', 'log.segment.bytes': '65536' },
    static: { 'retention.ms': '4000', 'max.message.bytes': '2000000' },
  };
  const byName = new Map(topicConfigEntries(layers).map((e) => [e.name, e]));
  const retention = byName.get('retention.ms')!;
  assert.is(retention.value, '1000');
  assert.is(retention.source, ConfigSource.DYNAMIC_TOPIC_CONFIG);
  assert.equal(retention.synonyms, [
    { name: 'retention.ms', value: '1000', source: ConfigSource.DYNAMIC_TOPIC_CONFIG },
    { name: 'log.retention.ms', value: '2000', source: ConfigSource.DYNAMIC_BROKER_CONFIG },
    { name: 'log.retention.ms', value: '3000', source: ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG },
    { name: 'log.retention.ms', value: '4000', source: ConfigSource.STATIC_BROKER_CONFIG },
    { name: 'log.retention.ms', value: '604800000', source: ConfigSource.DEFAULT_CONFIG },
  ]);
  assert.equal([byName.get('min.insync.replicas')!.value, byName.get('min.insync.replicas')!.source], ['2', ConfigSource.DYNAMIC_BROKER_CONFIG]);
  assert.equal([byName.get('segment.bytes')!.value, byName.get('segment.bytes')!.source], ['65536', ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG]);
  assert.equal([byName.get('max.message.bytes')!.value, byName.get('max.message.bytes')!.source], ['2000000', ConfigSource.STATIC_BROKER_CONFIG]);
  assert.equal([byName.get('flush.ms')!.source, byName.get('flush.ms')!.synonyms.length], [ConfigSource.DEFAULT_CONFIG, 1]);
  assert.equal(effectiveOverrides(layers), { 'retention.ms': '1000', 'min.insync.replicas': '2', 'segment.bytes': '65536', 'max.message.bytes': '2000000' });

  const broker = new Map(brokerConfigEntries(layers, false).map((e) => [e.name, e]));
  assert.equal([broker.get('log.retention.ms')!.value, broker.get('log.retention.ms')!.source], ['2000', ConfigSource.DYNAMIC_BROKER_CONFIG]);
  assert.equal([broker.get('message.max.bytes')!.value, broker.get('message.max.bytes')!.source], ['2000000', ConfigSource.STATIC_BROKER_CONFIG]);
  assert.equal([broker.get('log.roll.ms')!.value, broker.get('log.roll.ms')!.source], ['604800000', ConfigSource.DEFAULT_CONFIG]);
  const clusterWide = brokerConfigEntries(layers, true);
  assert.equal(clusterWide.map((e) => [e.name, e.value, e.source]), [
    ['log.retention.ms', '3000', ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG],
    ['log.segment.bytes', '65536', ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG],
    ['min.insync.replicas', '3', ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG],
  ], 'the cluster-wide default resource shows only what is set there');
});

test("kafka-configs.sh's --add-config: commas inside square brackets belong to a list value", () => {
  assert.equal(parseAddConfig('retention.ms=1000,cleanup.policy=[compact,delete],segment.ms=5'), [
    ['retention.ms', '1000'],
    ['cleanup.policy', 'compact,delete'],
    ['segment.ms', '5'],
  ]);
  assert.throws(() => parseAddConfig('retention.ms'), /key=val/);
});

test.run();

// Changing configs at runtime with the tools users have, against a real 3-broker Kastor cluster: KafkaJS 2.2.4's
// admin (alterConfigs, then describeConfigs sees the value and its source), confluent-kafka-python 1.7.0's
// AdminClient (Debian's python3-confluent-kafka: alter_configs of a topic and of a broker, describe_configs
// with sources, an unknown key refused with INVALID_CONFIG), and `kastor topic config` (prints the resulting
// configs, a bad key is one line and a non-zero exit). A broker-level config survives a restart of the broker
// it was set for (it lives in the cluster metadata).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fileURLToPath } from 'node:url';
import kafkajsModule, { Kafka as KafkaJS, logLevel } from 'kafkajs';
import { startTestCluster, type TestCluster } from '../../src/testing/index.ts';
import { run } from '../helpers/single-broker.ts';
import { runProcess } from '../helpers/run-process.ts';

const PYTHON = '/usr/bin/python3';
const BIN = fileURLToPath(new URL('../../bin/kastor.js', import.meta.url));
let cluster: TestCluster;
let kafkajs: KafkaJS;
// KafkaJS is CommonJS: its enums are on the default export only.
const { ConfigResourceTypes } = kafkajsModule;

test.before(async () => {
  cluster = await startTestCluster({
    brokers: 3,
    topics: [
      { name: 'cfg-js', partitions: 2, replicationFactor: 3 },
      { name: 'cfg-py', partitions: 1, replicationFactor: 3 },
      { name: 'cfg-cli', partitions: 1, replicationFactor: 2 },
    ],
  });
  kafkajs = new KafkaJS({ clientId: 'alter-configs', brokers: cluster.bootstrapServers.split(','), logLevel: logLevel.NOTHING, retry: { retries: 5, initialRetryTime: 100 } });
});
test.after(async () => {
  await cluster?.close();
});

test('KafkaJS: alterConfigs, then describeConfigs shows the new value with its source', async () => {
  const admin = kafkajs.admin();
  await admin.connect();
  try {
    await admin.alterConfigs({
      validateOnly: false,
      resources: [{ type: ConfigResourceTypes.TOPIC, name: 'cfg-js', configEntries: [{ name: 'retention.ms', value: '3600000' }, { name: 'cleanup.policy', value: 'compact,delete' }] }],
    });
    const described = await admin.describeConfigs({ includeSynonyms: true, resources: [{ type: ConfigResourceTypes.TOPIC, name: 'cfg-js', configNames: ['retention.ms', 'cleanup.policy', 'segment.bytes'] }] });
    const entries = new Map(described.resources[0]!.configEntries.map((e) => [e.configName, e]));
    assert.equal([entries.get('retention.ms')!.configValue, entries.get('retention.ms')!.configSource, entries.get('retention.ms')!.isDefault], ['3600000', 1, false]);
    assert.equal(entries.get('retention.ms')!.configSynonyms.map((s) => [s.configName, s.configSource]), [['retention.ms', 1], ['log.retention.ms', 5]]);
    assert.is(entries.get('cleanup.policy')!.configValue, 'compact,delete');
    assert.equal([entries.get('segment.bytes')!.configValue, entries.get('segment.bytes')!.configSource, entries.get('segment.bytes')!.isDefault], ['1073741824', 5, true]);
    // Every broker applies it to its replicas: the metadata holds the override.
    assert.equal(cluster.metadata().topics['cfg-js']!.config, { 'retention.ms': '3600000', 'cleanup.policy': 'compact,delete' });
    const refused = await admin.alterConfigs({ validateOnly: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: 'cfg-js', configEntries: [{ name: 'min.insync.replicas', value: 'zero' }] }] }).then(
      () => null,
      (err: { type?: string; message: string }) => err,
    );
    assert.ok(refused, 'a bad value is refused');
    assert.is(refused!.type, 'INVALID_CONFIG');
  } finally {
    await admin.disconnect();
  }
});

const PY_SCRIPT = `
import json, sys
from confluent_kafka.admin import AdminClient, ConfigResource, ConfigSource
from confluent_kafka import KafkaException
admin = AdminClient({'bootstrap.servers': sys.argv[1]})
def alter(res):
    return admin.alter_configs([res])[res].result(timeout=30)
def describe(res, keys):
    entries = admin.describe_configs([res])[res].result(timeout=30)
    return {k: [entries[k].value, ConfigSource(entries[k].source).name, entries[k].is_default] for k in keys}
out = {}
alter(ConfigResource('topic', 'cfg-py', set_config={'retention.ms': '120000', 'max.message.bytes': '2000000'}))
out['topic'] = describe(ConfigResource('topic', 'cfg-py'), ['retention.ms', 'max.message.bytes', 'segment.ms'])
try:
    alter(ConfigResource('topic', 'cfg-py', set_config={'no.such.config': '1'}))
    out['unknown'] = 'accepted'
except KafkaException as e:
    out['unknown'] = [e.args[0].name(), e.args[0].str()]
alter(ConfigResource('broker', '2', set_config={'log.retention.ms': '5400000'}))
out['broker'] = describe(ConfigResource('broker', '2'), ['log.retention.ms', 'broker.id'])
print(json.dumps(out))
`;

test('confluent-kafka-python: alter_configs and describe_configs of a topic and a broker, which keeps it over a restart', async () => {
  const { stdout } = await run(PYTHON, ['-c', PY_SCRIPT, cluster.bootstrapServers], { timeoutMs: 90_000 });
  const out = JSON.parse(stdout.trim().split('\n').pop()!);
  assert.equal(out.topic, {
    'retention.ms': ['120000', 'DYNAMIC_TOPIC_CONFIG', false],
    'max.message.bytes': ['2000000', 'DYNAMIC_TOPIC_CONFIG', false],
    'segment.ms': ['604800000', 'DEFAULT_CONFIG', true],
  });
  assert.is(out.unknown[0], 'INVALID_CONFIG');
  assert.match(out.unknown[1], 'no.such.config');
  assert.equal(out.broker, { 'log.retention.ms': ['5400000', 'DYNAMIC_BROKER_CONFIG', false], 'broker.id': ['2', 'STATIC_BROKER_CONFIG', false] });
  // AlterConfigs replaced the topic's whole set; the metadata holds exactly it.
  assert.equal(cluster.metadata().topics['cfg-py']!.config, { 'retention.ms': '120000', 'max.message.bytes': '2000000' });

  await cluster.restartBroker(2);
  await cluster.waitForInSync();
  const again = await run(PYTHON, ['-c', `
import json, sys
from confluent_kafka.admin import AdminClient, ConfigResource, ConfigSource
admin = AdminClient({'bootstrap.servers': sys.argv[1]})
res = ConfigResource('broker', '2')
e = admin.describe_configs([res])[res].result(timeout=30)['log.retention.ms']
print(json.dumps([e.value, ConfigSource(e.source).name]))
`, cluster.bootstrapServers], { timeoutMs: 60_000 });
  assert.equal(JSON.parse(again.stdout.trim().split('\n').pop()!), ['5400000', 'DYNAMIC_BROKER_CONFIG'], 'the restarted broker still has its dynamic config');
});

test('kastor topic config: --set and --delete, prints the resulting configs; a bad key is one line and exit 1', async () => {
  const kastor = (...args: string[]) => runProcess(process.execPath, [BIN, 'topic', 'config', 'cfg-cli', '--bootstrap', cluster.bootstrapServers, ...args], { timeoutMs: 60_000 });
  const set = await kastor('--set', 'retention.ms=86400000', '--set', 'min.insync.replicas=2');
  assert.is(set.code, 0, set.stderr);
  assert.is(set.stdout, 'min.insync.replicas=2\t(topic)\nretention.ms=86400000\t(topic)\n');
  const json = await kastor('--delete', 'min.insync.replicas', '--json');
  assert.is(json.code, 0, json.stderr);
  assert.equal(JSON.parse(json.stdout), { topic: 'cfg-cli', configs: { 'retention.ms': { value: '86400000', source: 'DYNAMIC_TOPIC_CONFIG' } } });
  const bad = await kastor('--set', 'retention.mss=1');
  assert.is(bad.code, 1);
  const lines = bad.stderr.split('\n').filter((l) => l.trim() !== '');
  assert.is(lines.length, 1, bad.stderr);
  assert.match(lines[0]!, 'INVALID_CONFIG');
  assert.match(lines[0]!, 'retention.mss');
  assert.equal(cluster.metadata().topics['cfg-cli']!.config, { 'retention.ms': '86400000' }, 'the refused change changed nothing');
});

test.run();

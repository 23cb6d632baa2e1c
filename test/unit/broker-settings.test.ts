// `kastor broker`'s settings (src/cli/broker-settings.ts): Kafka's server.properties keys become flags, the
// broker-level topic defaults become --topic-default, kastor.<flag> keys are Kastor's own; flags override the
// file, KASTOR_* variables override both; an unknown key is a one-line error naming it and its line.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BROKER_FLAGS } from '../../src/cli/broker-command.ts';
import { parseProperties, resolveBrokerFlags } from '../../src/cli/broker-settings.ts';

const FILE = `# a Kafka server.properties
node.id=3
listeners=PLAINTEXT://:9093
advertised.listeners=PLAINTEXT://kafka-3.example:9093
log.dirs=/var/lib/kastor
num.partitions=6
default.replication.factor=3
min.insync.replicas=2
log.retention.hours=48
log.segment.bytes=104857600
auto.create.topics.enable=false
producer.id.expiration.ms=3600000
kastor.nats=nats://n1:4222,nats://n2:4222
kastor.http : 0.0.0.0:8081
`;

const read = (files: Record<string, string>) => (path: string) => {
  if (!(path in files)) throw Object.assign(new Error('missing'), { code: 'ENOENT' });
  return files[path]!;
};

test('Kafka keys, topic defaults and kastor.* keys from the file', () => {
  const { flags: f, topicDefaults } = resolveBrokerFlags(BROKER_FLAGS, ['--config', 'server.properties'], {}, read({ 'server.properties': FILE }));
  assert.is(f.id, 3);
  assert.is(f.listeners, 'PLAINTEXT://:9093');
  assert.is(f['advertised-listeners'], 'PLAINTEXT://kafka-3.example:9093');
  // --listen on the command line replaces the file's listeners, as a flag overrides the file.
  const byFlag = resolveBrokerFlags(BROKER_FLAGS, ['--config', 'server.properties', '--listen', '127.0.0.1:9999'], {}, read({ 'server.properties': FILE })).flags;
  assert.is(byFlag.listeners, undefined);
  assert.is(byFlag['advertised-listeners'], undefined);
  assert.is(byFlag.listen, '127.0.0.1:9999');
  assert.is(f.data, '/var/lib/kastor');
  assert.is(f['num-partitions'], 6);
  assert.is(f['default-replication-factor'], 3);
  assert.is(f['auto-create-topics'], false);
  assert.is(f['producer-id-expiration-ms'], 3_600_000);
  assert.is(f.nats, 'nats://n1:4222,nats://n2:4222');
  assert.is(f.http, '0.0.0.0:8081');
  assert.equal(topicDefaults, { 'min.insync.replicas': '2', 'retention.ms': String(48 * 3_600_000), 'segment.bytes': '104857600' });
});

test('flags override the file; KASTOR_* variables override both; unrelated KASTOR_* variables are ignored', () => {
  const files = read({ f: FILE });
  const byFlag = resolveBrokerFlags(BROKER_FLAGS, ['--config', 'f', '--num-partitions', '8', '--topic-default', 'retention.ms=1000'], {}, files);
  assert.is(byFlag.flags['num-partitions'], 8);
  assert.is(byFlag.flags.id, 3);
  assert.is(byFlag.topicDefaults['retention.ms'], '1000');
  const byEnv = resolveBrokerFlags(BROKER_FLAGS, ['--config', 'f', '--num-partitions', '8'], { KASTOR_NUM_PARTITIONS: '12', KASTOR_ID: '9', KASTOR_CACHE_DIR: '/x', KASTOR_NATS_SERVER: '/bin/nats-server' }, files);
  assert.is(byEnv.flags['num-partitions'], 12);
  assert.is(byEnv.flags.id, 9);
  assert.is(byEnv.flags.nats, 'nats://n1:4222,nats://n2:4222');
  // The file may come from KASTOR_CONFIG too.
  assert.is(resolveBrokerFlags(BROKER_FLAGS, [], { KASTOR_CONFIG: 'f' }, files).flags.id, 3);
  // broker.id is Kafka's older name for node.id.
  assert.is(resolveBrokerFlags(BROKER_FLAGS, ['--config', 'g'], {}, read({ g: 'broker.id=4\nlog.dir=/d\n' })).flags.id, 4);
});

test('an unknown key, a bad value or an unreadable file is one error naming it', () => {
  const fails = (text: string, says: RegExp) => {
    try {
      resolveBrokerFlags(BROKER_FLAGS, ['--config', 's.properties'], {}, read({ 's.properties': text }));
    } catch (err) {
      assert.match((err as Error).message, says);
      assert.not.match((err as Error).message, /\n/);
      return;
    }
    assert.unreachable(`accepted: ${text}`);
  };
  fails('node.id=1\nlog.dirs=/d\nzookeeper.connect=localhost:2181\n', /^s\.properties line 3: unknown key "zookeeper\.connect"/);
  fails('kastor.no-such-flag=1\n', /unknown key "kastor\.no-such-flag"/);
  fails('ssl.keystore.type=JKS\n', /line 1: ssl\.keystore\.type: Kastor reads PEM files only, got "JKS"/);
  fails('log.dirs=/a,/b\n', /Kastor uses one data directory/);
  fails('node.id=1\nlog.dirs=/d\nnum.partitions=many\n', /--num-partitions must be a number, got "many"/);
  fails('node.id=1\nlog.dirs=/d\nmin.insync.replicas=0\n', /topic default .*min\.insync\.replicas/);
  assert.throws(() => resolveBrokerFlags(BROKER_FLAGS, ['--config', 'nope'], {}, read({})), /--config nope: cannot read it \(ENOENT\)/);
});

test('properties syntax: comments, colons, continuations', () => {
  assert.equal(parseProperties('# c\n! c\na=1\nb: 2\nc = x\\\n  y\n\n', 'p'), [
    { key: 'a', value: '1', line: 3 },
    { key: 'b', value: '2', line: 4 },
    { key: 'c', value: 'xy', line: 5 },
  ]);
});

test.run();

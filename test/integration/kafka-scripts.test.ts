// Kafka's command-line scripts (bin/kafka/kafka-*.sh) against a live broker, run as librdkafka's test suite
// runs them: $KAFKA_PATH/bin/kafka-topics.sh with KAFKA_PATH=<repo>/bin/kafka (through the bin -> .
// symlink), from a working directory outside the repository, some through /bin/sh -c with a quoted topic.
// Checks Kafka's output and exit codes: topics created with configs and broker defaults, described, listed and
// deleted; partitions added with --alter (and a decrease refused with Kafka's message); configs described; a
// KafkaJS group's offsets and lag described, reset and the group deleted; configs altered (topic and broker
// defaults); ACLs added, listed and removed (the broker runs Kafka's ACL authorizer, open where no ACL names a
// resource, as librdkafka's test clusters do) and enforced on a KafkaJS producer; ZooKeeper, --authorizer-properties
// and unknown flags refused with one line and exit 1.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runProcess, type ProcessResult } from '../helpers/run-process.ts';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Kafka as KafkaJS, logLevel, type Consumer } from 'kafkajs';
import { startSingleBroker, type SingleBroker } from '../helpers/single-broker.ts';
import { until } from '../helpers/until.ts';

const KAFKA_PATH = fileURLToPath(new URL('../../bin/kafka', import.meta.url));
let env: SingleBroker;
let cwd: string;
let kafkajs: KafkaJS;
const consumers: Consumer[] = [];

type Result = ProcessResult;

/** Runs `file args...` in the scratch directory; resolves with its exit code and output, never rejects on exit codes. */
function exec(file: string, args: string[], extraEnv: NodeJS.ProcessEnv = {}, timeoutMs = 60_000): Promise<Result> {
  return runProcess(file, args, { cwd, env: { ...process.env, ...extraEnv }, timeoutMs });
}

/** $KAFKA_PATH/bin/kafka-TOOL.sh --bootstrap-server B ARGS (the path librdkafka's tests build). */
const kafka = (tool: string, args: string[]) => exec(join(KAFKA_PATH, 'bin', `kafka-${tool}.sh`), ['--bootstrap-server', env.bootstrap, ...args]);

async function ok(tool: string, args: string[]): Promise<Result> {
  const r = await kafka(tool, args);
  assert.is(r.code, 0, `kafka-${tool}.sh ${args.join(' ')} exited ${r.code}:\n${r.stdout}${r.stderr}`);
  return r;
}

/** A failure: exit code 1 and exactly one non-empty line of explanation on stderr, matching `expected`. */
function assertRefused(r: Result, expected: string | RegExp, what: string): void {
  assert.is(r.code, 1, `${what} should exit 1:\n${r.stdout}${r.stderr}`);
  const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
  assert.is(lines.length, 1, `${what} should explain in one line: ${r.stderr}`);
  assert.match(lines[0]!, expected, what);
}

const topicLines = (stdout: string) => stdout.split('\n').filter((l) => l.startsWith('Topic: '));
const partitionLines = (stdout: string) => stdout.split('\n').filter((l) => l.startsWith('\tTopic: '));

test.before(async () => {
  // num.partitions 2 so that a topic created without --partitions (sent as -1) is told apart from one partition.
  env = await startSingleBroker(['--auto-create-topics=false', '--num-partitions', '2', '--authorizer', 'acl', '--allow-everyone-if-no-acl-found']);
  cwd = mkdtempSync(join(tmpdir(), 'kastor-kafka-scripts-'));
  kafkajs = new KafkaJS({ clientId: 'scripts-test', brokers: [env.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 10, initialRetryTime: 100, maxRetryTime: 1000 } });
});

test.after(async () => {
  for (const c of consumers) await c.disconnect().catch(() => {});
  await env?.close();
  if (cwd) rmSync(cwd, { recursive: true, force: true });
});

test('kafka-topics.sh: create with configs and defaults, describe, list, exists / not-exists, delete', async () => {
  // Kafka's tool sends -1 for what is not given: the broker's num.partitions (2) and replication factor.
  const [created, createdDefaults] = await Promise.all([
    ok('topics', ['--create', '--topic', 'events', '--partitions', '3', '--replication-factor', '1', '--config', 'message.timestamp.type=LogAppendTime', '--config', 'retention.ms=3600000']),
    ok('topics', ['--create', '--topic', 'defaults']),
  ]);
  assert.is(created.stdout, 'Created topic events.\n');
  assert.is(createdDefaults.stdout, 'Created topic defaults.\n');

  const [described, describedDefaults, listed, listedPattern, again, idempotent, overrides, underReplicated] = await Promise.all([
    ok('topics', ['--describe', '--topic', 'events']),
    ok('topics', ['--describe', '--topic', 'defaults']),
    ok('topics', ['--list']),
    ok('topics', ['--list', '--topic', 'ev.*']),
    kafka('topics', ['--create', '--topic', 'events', '--partitions', '1']),
    ok('topics', ['--create', '--if-not-exists', '--topic', 'events', '--partitions', '1']),
    ok('topics', ['--describe', '--topics-with-overrides']),
    ok('topics', ['--describe', '--under-replicated-partitions']),
  ]);
  const [head] = topicLines(described.stdout);
  assert.match(head!, /^Topic: events\tTopicId: [A-Za-z0-9_-]{22}\tPartitionCount: 3\tReplicationFactor: 1\tConfigs: /);
  const configs = head!.slice(head!.indexOf('Configs: ') + 9).split(',').sort();
  assert.equal(configs, ['message.timestamp.type=LogAppendTime', 'retention.ms=3600000'], 'only the overrides, as Kafka shows them');
  assert.equal(partitionLines(described.stdout), [0, 1, 2].map((p) => `\tTopic: events\tPartition: ${p}\tLeader: 1\tReplicas: 1\tIsr: 1\tElr: N/A\tLastKnownElr: N/A`));
  assert.match(topicLines(describedDefaults.stdout)[0]!, /\tPartitionCount: 2\tReplicationFactor: 1\tConfigs: $/);
  assert.equal(listed.stdout.split('\n').filter(Boolean), ['defaults', 'events']);
  assert.equal(listedPattern.stdout, 'events\n', '--topic is a regular expression with --list');
  assertRefused(again, "Error while executing topic command : Topic 'events' already exists.", 'creating an existing topic');
  assert.is(idempotent.stdout, '', '--if-not-exists on an existing topic succeeds and creates nothing');
  assert.equal(overrides.stdout.split('\n').filter(Boolean), [head], '--topics-with-overrides: the topic lines of topics with overrides only');
  assert.is(underReplicated.stdout, '', 'a single broker has no under-replicated partitions');

  await ok('topics', ['--delete', '--topic', 'defaults']);
  await until('defaults is gone from --list', async () => !(await ok('topics', ['--list'])).stdout.split('\n').includes('defaults'), 20_000, 200);
  const [deleteMissing, deleteIfExists, describeMissing] = await Promise.all([
    kafka('topics', ['--delete', '--topic', 'defaults']),
    kafka('topics', ['--delete', '--topic', 'defaults', '--if-exists']),
    kafka('topics', ['--describe', '--topic', 'defaults']),
  ]);
  assertRefused(deleteMissing, "Topic 'defaults' does not exist as expected", 'deleting a missing topic');
  assert.is(deleteIfExists.code, 0, deleteIfExists.stderr);
  assertRefused(describeMissing, "Topic 'defaults' does not exist as expected", 'describing a missing topic');
});

test('kafka-topics.sh through /bin/sh with a quoted name, through PATH and a symlink, with --command-config', async () => {
  const script = join(KAFKA_PATH, 'bin', 'kafka-topics.sh');
  const viaShell = await exec('/bin/sh', ['-c', `"${script}" --bootstrap-server ${env.bootstrap} --create --topic 'quoted.name-1' --partitions 1`]);
  assert.is(viaShell.code, 0, viaShell.stderr);
  assert.match(viaShell.stdout, 'Created topic quoted.name-1.');
  assert.match(viaShell.stdout, 'WARNING: Due to limitations in metric names', "Kafka's warning for '.' and '_'");

  const links = join(cwd, 'links');
  mkdirSync(links, { recursive: true });
  symlinkSync(script, join(links, 'kafka-topics.sh'));
  const plain = join(cwd, 'plain.properties');
  writeFileSync(plain, '# an admin client config\nsecurity.protocol=PLAINTEXT\nclient.id = scripts-test\nrequest.timeout.ms: 20000\nsasl.mechanism=PLAIN\n');
  const sasl = join(cwd, 'sasl.properties');
  writeFileSync(sasl, 'security.protocol=SASL_SSL\n');
  const [onPath, viaLink, withPlain, withSasl] = await Promise.all([
    // On PATH, from another directory: `kafka-topics.sh` finds the repository through its own real path.
    exec('kafka-topics.sh', ['--bootstrap-server', env.bootstrap, '--list', '--topic', '"quoted.name-1"'], { PATH: `${KAFKA_PATH}:${process.env.PATH}` }),
    exec(join(links, 'kafka-topics.sh'), ['--bootstrap-server', env.bootstrap, '--describe', '--topic', 'quoted.name-1']),
    ok('topics', ['--list', '--command-config', plain]),
    kafka('topics', ['--list', '--command-config', sasl]),
  ]);
  assert.is(onPath.code, 0, onPath.stderr);
  assert.is(onPath.stdout, 'quoted.name-1\n', 'surrounding quotes are dropped from the pattern, as Kafka does');
  assert.is(viaLink.code, 0, viaLink.stderr);
  assert.match(viaLink.stdout, 'Topic: quoted.name-1\t');
  assert.match(withPlain.stdout, 'quoted.name-1');
  assertRefused(withSasl, /security\.protocol=SASL_SSL .*not supported.*PLAINTEXT only/, 'a SASL_SSL --command-config');
});

test('kafka-configs.sh: --describe of a topic (dynamic, --all) and of a broker; --alter of a topic and of the broker defaults', async () => {
  await ok('topics', ['--create', '--topic', 'conf', '--partitions', '1', '--config', 'message.timestamp.type=LogAppendTime']);
  const [dynamic, all, shorthand, broker] = await Promise.all([
    ok('configs', ['--describe', '--entity-type', 'topics', '--entity-name', 'conf']),
    ok('configs', ['--describe', '--entity-type', 'topics', '--entity-name', 'conf', '--all']),
    ok('configs', ['--describe', '--topic', 'conf']),
    ok('configs', ['--describe', '--entity-type', 'brokers', '--entity-name', '1', '--all']),
  ]);
  const expected = 'Dynamic configs for topic conf are:\n  message.timestamp.type=LogAppendTime sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:message.timestamp.type=LogAppendTime, DEFAULT_CONFIG:log.message.timestamp.type=CreateTime}\n';
  assert.is(dynamic.stdout, expected);
  assert.is(shorthand.stdout, expected, '--topic X is --entity-type topics --entity-name X');
  assert.match(all.stdout, /^All configs for topic conf are:\n/);
  assert.match(all.stdout, '\n  retention.ms=604800000 sensitive=false synonyms={DEFAULT_CONFIG:log.retention.ms=604800000}\n');
  assert.match(all.stdout, '\n  message.timestamp.type=LogAppendTime sensitive=false');
  assert.match(broker.stdout, /^All configs for broker 1 are:\n/);
  assert.match(broker.stdout, '\n  broker.id=1 sensitive=false synonyms={STATIC_BROKER_CONFIG:broker.id=1}\n');
  assert.match(broker.stdout, '\n  num.partitions=2 ');

  // --alter as Kafka 3.9's ConfigCommand: brackets group a list value; --delete-config of a key not set is refused.
  const altered = await ok('configs', ['--alter', '--entity-type', 'topics', '--entity-name', 'conf', '--add-config', 'retention.ms=1000,cleanup.policy=[compact,delete]', '--delete-config', 'message.timestamp.type']);
  assert.is(altered.stdout, 'Completed updating config for topic conf.\n');
  assert.is((await ok('configs', ['--describe', '--topic', 'conf'])).stdout, [
    'Dynamic configs for topic conf are:',
    '  cleanup.policy=compact,delete sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:cleanup.policy=compact,delete, DEFAULT_CONFIG:log.cleanup.policy=delete}',
    '  retention.ms=1000 sensitive=false synonyms={DYNAMIC_TOPIC_CONFIG:retention.ms=1000, DEFAULT_CONFIG:log.retention.ms=604800000}',
    '',
  ].join('\n'));
  // Refusals as Kafka prints them: "Error while executing config command with args ..." and the error's line.
  const failed = async (args: string[], expected: RegExp) => {
    const r = await kafka('configs', args);
    assert.is(r.code, 1, `${args.join(' ')}:\n${r.stdout}${r.stderr}`);
    assert.match(r.stderr, /^Error while executing config command with args /);
    assert.match(r.stderr, expected);
  };
  await failed(['--alter', '--topic', 'conf', '--delete-config', 'segment.ms'], /Invalid config\(s\): segment.ms/);
  await failed(['--alter', '--topic', 'conf', '--add-config', 'retention.mss=5'], /INVALID_CONFIG.*retention.mss/);
  const defaults = await ok('configs', ['--alter', '--entity-type', 'brokers', '--entity-default', '--add-config', 'log.retention.ms=7200000']);
  assert.is(defaults.stdout, 'Completed updating default config for brokers in the cluster.\n');
  assert.is((await ok('configs', ['--describe', '--entity-type', 'brokers', '--entity-default'])).stdout, [
    'Default configs for brokers in the cluster are:',
    '  log.retention.ms=7200000 sensitive=false synonyms={DYNAMIC_DEFAULT_BROKER_CONFIG:log.retention.ms=7200000, DEFAULT_CONFIG:log.retention.ms=604800000}',
    '',
  ].join('\n'));
  await failed(['--alter', '--broker', '1', '--add-config', 'num.partitions=3'], /Cannot update these configs dynamically: Set\(num.partitions\)/);
  await ok('configs', ['--alter', '--entity-type', 'brokers', '--entity-default', '--delete-config', 'log.retention.ms']);
});

test('kafka-consumer-groups.sh: list and describe a group with committed offsets and lag, reset its offsets, delete it', async () => {
  await ok('topics', ['--create', '--topic', 'orders', '--partitions', '1']);
  const producer = kafkajs.producer();
  await producer.connect();
  await producer.send({ topic: 'orders', acks: -1, messages: Array.from({ length: 5 }, (_, i) => ({ value: `o-${i}` })) });
  const consumer = kafkajs.consumer({ groupId: 'billing', sessionTimeout: 6000, heartbeatInterval: 500, maxWaitTimeInMs: 200 });
  consumers.push(consumer);
  let committed = 0;
  await consumer.connect();
  await consumer.subscribe({ topic: 'orders', fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ topic, partition, message }) => {
      const next = Number(message.offset) + 1;
      await consumer.commitOffsets([{ topic, partition, offset: String(next) }]);
      committed = next;
    },
  });
  await until('the group consumed and committed all 5 records', () => committed === 5, 30_000);

  const [list, stable, listStates, members, state] = await Promise.all([
    ok('consumer-groups', ['--list']),
    ok('consumer-groups', ['--describe', '--group', 'billing']),
    ok('consumer-groups', ['--list', '--state']),
    ok('consumer-groups', ['--describe', '--group', 'billing', '--members']),
    ok('consumer-groups', ['--describe', '--group', 'billing', '--state']),
  ]);
  assert.is(list.stdout, 'billing\n');
  const [header, row] = stable.stdout.split('\n').filter(Boolean);
  assert.equal(header!.split(/\s+/), ['GROUP', 'TOPIC', 'PARTITION', 'CURRENT-OFFSET', 'LOG-END-OFFSET', 'LAG', 'CONSUMER-ID', 'HOST', 'CLIENT-ID']);
  const cols = row!.split(/\s+/);
  assert.equal(cols.slice(0, 6), ['billing', 'orders', '0', '5', '5', '0']);
  assert.match(cols[6]!, /^scripts-test-/, 'the KafkaJS member owns the partition');
  assert.is(cols[8], 'scripts-test');
  assert.match(listStates.stdout, /^GROUP\s+STATE\nbilling\s+Stable\n$/);
  const memberRows = members.stdout.split('\n').filter(Boolean).map((l) => l.split(/\s+/).filter(Boolean));
  assert.equal(memberRows[0], ['GROUP', 'CONSUMER-ID', 'HOST', 'CLIENT-ID', '#PARTITIONS']);
  assert.equal([memberRows[1]![0], memberRows[1]![1], memberRows[1]![3], memberRows[1]![4]], ['billing', cols[6], 'scripts-test', '1']);
  const stateRows = state.stdout.split('\n').filter(Boolean);
  assert.match(stateRows[0]!, /^GROUP\s+COORDINATOR \(ID\)\s+ASSIGNMENT-STRATEGY\s+STATE\s+#MEMBERS$/);
  assert.match(stateRows[1]!, new RegExp(`^billing\\s+${env.bootstrap}  \\(1\\)\\s+\\S+\\s+Stable\\s+1$`));

  await consumer.disconnect();
  await producer.send({ topic: 'orders', acks: -1, messages: [{ value: 'o-5' }, { value: 'o-6' }, { value: 'o-7' }] });
  await producer.disconnect();
  const [empty, dryRun] = await Promise.all([
    ok('consumer-groups', ['--describe', '--group', 'billing']),
    ok('consumer-groups', ['--reset-offsets', '--group', 'billing', '--topic', 'orders', '--to-earliest', '--dry-run']),
  ]);
  assert.match(empty.stderr, "Consumer group 'billing' has no active members.");
  assert.equal(empty.stdout.split('\n').filter(Boolean)[1]!.split(/\s+/), ['billing', 'orders', '0', '5', '8', '3', '-', '-', '-']);
  assert.equal(dryRun.stdout.split('\n').filter(Boolean).map((l) => l.split(/\s+/).filter(Boolean)), [['GROUP', 'TOPIC', 'PARTITION', 'NEW-OFFSET'], ['billing', 'orders', '0', '0']]);
  assert.match((await ok('consumer-groups', ['--describe', '--group', 'billing'])).stdout, /billing\s+orders\s+0\s+5\s+8\s+3/, 'a dry run writes nothing');
  await ok('consumer-groups', ['--reset-offsets', '--group', 'billing', '--topic', 'orders:0', '--shift-by', '-2', '--execute']);
  assert.match((await ok('consumer-groups', ['--describe', '--group', 'billing'])).stdout, /billing\s+orders\s+0\s+3\s+8\s+5/, '--execute commits 5 - 2');

  assert.is((await ok('consumer-groups', ['--delete', '--group', 'billing'])).stdout, "Deletion of requested consumer groups ('billing') was successful.\n");
  const [listAfter, gone] = await Promise.all([ok('consumer-groups', ['--list']), kafka('consumer-groups', ['--describe', '--group', 'billing'])]);
  assert.is(listAfter.stdout, '');
  assertRefused(gone, "Error: Consumer group 'billing' does not exist.", 'describing a deleted group');
});

test('kafka-topics.sh --alter --partitions: grows the topic silently, refuses a decrease, an equal count and a missing topic', async () => {
  await ok('topics', ['--create', '--topic', 'grown', '--partitions', '2', '--replication-factor', '1']);
  const altered = await ok('topics', ['--alter', '--topic', 'grown', '--partitions', '5']);
  assert.is(altered.stdout + altered.stderr, '', 'Kafka 3.9 prints nothing when partitions were added');
  const described = (await ok('topics', ['--describe', '--topic', 'grown'])).stdout;
  assert.match(topicLines(described)[0]!, /\tPartitionCount: 5\t/);
  assert.equal(partitionLines(described).map((l) => l.match(/Partition: (\d+)\tLeader: (\d+)/)?.slice(1)), [0, 1, 2, 3, 4].map((p) => [String(p), '1']));
  const [lower, same, missing] = await Promise.all([
    kafka('topics', ['--alter', '--topic', 'grown', '--partitions', '3']),
    kafka('topics', ['--alter', '--topic', 'grown', '--partitions', '5']),
    kafka('topics', ['--alter', '--topic', 'no-such-topic', '--partitions', '5']),
  ]);
  assertRefused(lower, 'Error while executing topic command : Topic currently has 5 partitions, which is higher than the requested 3.', 'a decrease');
  assertRefused(same, 'Error while executing topic command : Topic already has 5 partitions.', 'an equal count');
  assertRefused(missing, "Topic 'no-such-topic' does not exist as expected", 'a missing topic');
  assert.match(topicLines((await ok('topics', ['--describe', '--topic', 'grown'])).stdout)[0]!, /\tPartitionCount: 5\t/, 'the refusals changed nothing');
});

test('kafka-acls.sh: a deny ACL added as librdkafka adds it is listed and enforced, then removed with --force', async () => {
  await ok('topics', ['--create', '--topic', 'guarded', '--partitions', '1']);
  const producer = kafkajs.producer({ retry: { retries: 0 } });
  await producer.connect();
  try {
    await producer.send({ topic: 'guarded', messages: [{ value: 'before' }] });
    const added = await exec('/bin/sh', ['-c', `"${KAFKA_PATH}/bin/kafka-acls.sh" --bootstrap-server ${env.bootstrap} --add --deny-principal 'User:*' --operation All --deny-host '*' --topic 'guarded'`]);
    assert.is(added.code, 0, added.stderr);
    assert.match(added.stdout, 'Adding ACLs for resource `ResourcePattern(resourceType=TOPIC, name=guarded, patternType=LITERAL)`: \n\t(principal=User:*, host=*, operation=ALL, permissionType=DENY)');
    const listed = await ok('acls', ['--list', '--topic', 'guarded']);
    assert.match(listed.stdout, 'Current ACLs for resource `ResourcePattern(resourceType=TOPIC, name=guarded, patternType=LITERAL)`: \n\t(principal=User:*, host=*, operation=ALL, permissionType=DENY)');
    const denied = await producer.send({ topic: 'guarded', messages: [{ value: 'denied' }] }).then(() => null, (err: { type?: string }) => err);
    assert.is(denied?.type, 'TOPIC_AUTHORIZATION_FAILED', 'the deny ACL is enforced');
    assertRefused(await kafka('acls', ['--remove', '--deny-principal', 'User:*', '--topic', 'guarded']), /needs --force/, 'kafka-acls.sh --remove without --force');
    await ok('acls', ['--remove', '--force', '--deny-principal', 'User:*', '--operation', 'All', '--deny-host', '*', '--topic', 'guarded']);
    assert.not.match((await ok('acls', ['--list'])).stdout, 'guarded');
    await until('producing after the ACL is removed', () => producer.send({ topic: 'guarded', messages: [{ value: 'after' }] }).then(() => true, () => false), 10_000, 200);
  } finally {
    await producer.disconnect();
  }
});

test('refusals: ZooKeeper, --authorizer-properties, unknown and missing options exit 1 with one line', async () => {
  const cases: Array<[string, string[], string | RegExp]> = [
    ['acls', ['--list', '--authorizer-properties', 'zookeeper.connect=x:2181'], /--authorizer-properties is not supported/],
    ['acls', ['--add', '--operation', 'All', '--topic', '*'], /You must specify one of: --allow-principal, --deny-principal/],
    ['topics', ['--list', '--frobnicate'], 'Error while executing topic command : --frobnicate is not a recognized option'],
    ['topics', ['--create', '--topic', 'x', '--partitions', 'many'], "Cannot parse argument 'many' of option partitions"],
    ['topics', ['--create', '--partitions', '1'], 'Missing required argument "[topic]"'],
    ['topics', ['--list', '--describe'], 'Command must include exactly one action'],
    ['configs', ['--describe', '--topic', 'events', '--frobnicate'], '--frobnicate is not a recognized option'],
    ['configs', ['--describe', '--entity-type', 'users'], /--entity-type users is not supported/],
    ['consumer-groups', ['--list', '--frobnicate', 'x'], '--frobnicate is not a recognized option'],
  ];
  const results = await Promise.all(cases.map(([tool, args]) => kafka(tool, args)));
  results.forEach((r, i) => assertRefused(r, cases[i]![2], `kafka-${cases[i]![0]}.sh ${cases[i]![1].join(' ')}`));
  const zk = await exec(join(KAFKA_PATH, 'bin', 'kafka-topics.sh'), ['--zookeeper', '127.0.0.1:2181', '--list']);
  assertRefused(zk, /--zookeeper is not supported: Kastor has no ZooKeeper/, 'kafka-topics.sh --zookeeper');
});

test.run();

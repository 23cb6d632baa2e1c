// Configs changed at runtime take effect on running partitions: three whole brokers in one process on the
// memory runtime (simulated clock, in-memory bus, metadata bucket and disks), requests through each broker's
// router as the Kafka listener hands them over. IncrementalAlterConfigs on a topic lowers retention.ms and the
// next retention pass deletes the old segments on every replica; min.insync.replicas raised above the ISR
// refuses acks=all produces with NOT_ENOUGH_REPLICAS, and deleting the override (or a cluster-wide broker
// default set by a broker resource) moves it again; DescribeConfigs reports each value's source and synonyms;
// broker configs are stored in the cluster metadata (a fresh store replays them, as a restarted broker does);
// AlterConfigs replaces the whole set; validate_only writes nothing; unknown topics and keys get Kafka's codes.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createBroker, type Broker } from '../../actors/broker-actor.ts';
import { defaultBrokerConfig } from '../../src/broker/broker-config.ts';
import { memoryCluster, type MemoryCluster } from '../../src/runtime/memory/memory-runtime.ts';
import { decodeResponse, encodeRequest } from '../../src/protocol/frames.ts';
import { ApiKey } from '../../src/protocol/generated/api-keys.ts';
import { ErrorCode } from '../../src/protocol/generated/errors.ts';
import { silentLogger } from '../../src/util/logger.ts';
import { AlterOp } from '../../src/metadata/config-alter.ts';
import { ConfigSource } from '../../src/metadata/config-layers.ts';
import { MetadataStore } from '../../src/metadata/metadata-store.ts';
import { batchOf } from '../helpers/log-fixtures.ts';

const RETENTION_CHECK_MS = 1_000;

/** The simulated clock moves `stepMs` per turn of the event loop until `cond` holds (a real-time deadline stops a hang). */
async function until(cluster: MemoryCluster, cond: () => boolean, what: string, stepMs = 10): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setImmediate(r));
    cluster.clock.advance(stepMs);
  }
}

/** One request through a broker's router, the clock moving until it is answered; the decoded response body. */
async function request<K extends number>(cluster: MemoryCluster, broker: Broker, apiKey: K, version: number, body: Parameters<typeof encodeRequest<K>>[4]) {
  let answer: Buffer | null | undefined;
  void Promise.resolve(broker.requestHandler!(encodeRequest(apiKey, version, 1, 'config-test', body).subarray(4), { id: 1, remote: 'sim:1', closed: false })).then((r) => (answer = r));
  await until(cluster, () => answer !== undefined, `the answer to API key ${apiKey}`);
  return decodeResponse(apiKey, version, answer!.subarray(4)).body;
}

const cluster = memoryCluster({ seed: 18 });
const brokers = [1, 2, 3].map((id) =>
  createBroker(cluster.runtimeFor(id), defaultBrokerConfig({ brokerId: id, dataDir: `/data/b${id}`, natsServers: [], port: 9190 + id, retentionCheckIntervalMs: RETENTION_CHECK_MS }), { logger: silentLogger }),
);
const b1 = brokers[0]!;

test.before(async () => {
  let up = false;
  void Promise.all(brokers.map((b) => b.start())).then(() => (up = true));
  await until(cluster, () => up, 'the brokers to start');
  await until(cluster, () => brokers.every((b) => Object.keys(b.services!.metadata.snapshot().brokers).length === 3 && b.services!.metadata.snapshot().controller !== null), 'registrations and a controller');
});

test.after(async () => {
  let down = false;
  void Promise.all(brokers.map((b) => b.stop())).then(() => (down = true));
  await until(cluster, () => down, 'the brokers to stop', 50);
});

async function createTopic(name: string, configs: Array<{ name: string; value: string }> = []) {
  const created = await request(cluster, b1, ApiKey.CreateTopics, 4, { topics: [{ name, numPartitions: 1, replicationFactor: 3, assignments: [], configs }], timeoutMs: 10_000, validateOnly: false });
  assert.is(created.topics[0]!.errorCode, ErrorCode.NONE, created.topics[0]!.errorMessage ?? '');
  await until(cluster, () => brokers.every((b) => b.services!.registry.get(name, 0)?.log != null && b.services!.registry.get(name, 0)?.role !== 'recovering'), `every replica of ${name} open`);
  await until(cluster, () => b1.services!.metadata.snapshot().topics[name]!.partitions[0]!.isr.length === 3, `${name}'s ISR complete`);
  return brokers[b1.services!.metadata.snapshot().topics[name]!.partitions[0]!.leader - 1]!;
}

async function produce(leader: Broker, topic: string, valueBytes = 0): Promise<number> {
  const r = await request(cluster, leader, ApiKey.Produce, 7, {
    transactionalId: null,
    acks: -1,
    timeoutMs: 5_000,
    topicData: [{ name: topic, partitionData: [{ index: 0, records: batchOf('v', 2, cluster.clock.wall(), valueBytes) }] }],
  });
  return r.responses[0]!.partitionResponses[0]!.errorCode;
}

function incremental(resourceType: number, resourceName: string, configs: Array<{ name: string; configOperation: number; value: string | null }>, validateOnly = false) {
  return request(cluster, b1, ApiKey.IncrementalAlterConfigs, 1, { resources: [{ resourceType, resourceName, configs }], validateOnly }).then((r) => r.responses[0]!);
}

async function describe(topic: string, keys: string[]) {
  const r = await request(cluster, b1, ApiKey.DescribeConfigs, 4, { resources: [{ resourceType: 2, resourceName: topic, configurationKeys: keys }], includeSynonyms: true, includeDocumentation: false });
  return new Map(r.results[0]!.configs.map((c) => [c.name, c]));
}

test('a lower retention.ms set at runtime deletes the old segments of a running topic on every replica', async () => {
  const leader = await createTopic('live-retention', [{ name: 'segment.bytes', value: '1024' }]);
  for (let i = 0; i < 8; i++) assert.is(await produce(leader, 'live-retention', 300), ErrorCode.NONE);
  const logs = () => brokers.map((b) => b.services!.registry.get('live-retention', 0)!.log!);
  await until(cluster, () => logs().every((l) => l.logEndOffset === 16), 'every replica to have every batch');
  assert.ok(logs()[0]!.segmentInfos().length >= 4, 'the 1 KiB segments rolled');
  cluster.clock.advance(3 * RETENTION_CHECK_MS);
  await until(cluster, () => true, 'a turn');
  assert.ok(logs().every((l) => l.logStartOffset === 0), 'the default retention (7 days) keeps everything');

  const done = await incremental(2, 'live-retention', [{ name: 'retention.ms', configOperation: AlterOp.SET, value: '1000' }]);
  assert.is(done.errorCode, ErrorCode.NONE, done.errorMessage ?? '');
  await until(cluster, () => logs().every((l) => l.logStartOffset > 0), 'retention to delete the old segments on every replica', 50);
  for (const l of logs()) assert.is(l.segmentInfos().length, 1, 'only the active segment is left');
  const described = await describe('live-retention', ['retention.ms', 'segment.bytes', 'retention.bytes']);
  assert.equal([described.get('retention.ms')!.value, described.get('retention.ms')!.configSource], ['1000', ConfigSource.DYNAMIC_TOPIC_CONFIG]);
  assert.equal(described.get('retention.ms')!.synonyms!.map((s) => [s.name, s.source]), [['retention.ms', ConfigSource.DYNAMIC_TOPIC_CONFIG], ['log.retention.ms', ConfigSource.DEFAULT_CONFIG]]);
  assert.equal([described.get('retention.bytes')!.value, described.get('retention.bytes')!.configSource], ['-1', ConfigSource.DEFAULT_CONFIG]);
});

test('min.insync.replicas changed at runtime, on the topic and as the cluster-wide broker default', async () => {
  const leader = await createTopic('live-isr');
  assert.is(await produce(leader, 'live-isr'), ErrorCode.NONE);

  const bad = await incremental(2, 'live-isr', [{ name: 'min.insync.replicas', configOperation: AlterOp.SET, value: 'four' }]);
  assert.is(bad.errorCode, ErrorCode.INVALID_CONFIG);
  assert.match(bad.errorMessage!, 'min.insync.replicas');
  const dry = await incremental(2, 'live-isr', [{ name: 'min.insync.replicas', configOperation: AlterOp.SET, value: '4' }], true);
  assert.is(dry.errorCode, ErrorCode.NONE);
  assert.is(await produce(leader, 'live-isr'), ErrorCode.NONE, 'validate_only changed nothing');

  assert.is((await incremental(2, 'live-isr', [{ name: 'min.insync.replicas', configOperation: AlterOp.SET, value: '4' }])).errorCode, ErrorCode.NONE);
  await until(cluster, () => leader.services!.registry.get('live-isr', 0)!.opts.minInsyncReplicas === 4, 'the leader to see the change');
  assert.is(await produce(leader, 'live-isr'), ErrorCode.NOT_ENOUGH_REPLICAS, 'ISR 3 is below min.insync.replicas 4');

  assert.is((await incremental(2, 'live-isr', [{ name: 'min.insync.replicas', configOperation: AlterOp.DELETE, value: null }])).errorCode, ErrorCode.NONE);
  await until(cluster, () => leader.services!.registry.get('live-isr', 0)!.opts.minInsyncReplicas === 1, 'the override to go');
  assert.is(await produce(leader, 'live-isr'), ErrorCode.NONE);

  // The cluster-wide default (broker resource, empty name) reaches every topic without an override.
  const fixed = await incremental(4, '', [{ name: 'num.partitions', configOperation: AlterOp.SET, value: '3' }]);
  assert.equal([fixed.errorCode, fixed.errorMessage], [ErrorCode.INVALID_REQUEST, 'Cannot update these configs dynamically: Set(num.partitions)']);
  assert.is((await incremental(4, '', [{ name: 'min.insync.replicas', configOperation: AlterOp.SET, value: '4' }])).errorCode, ErrorCode.NONE);
  await until(cluster, () => leader.services!.registry.get('live-isr', 0)!.opts.minInsyncReplicas === 4, 'the cluster default to reach the leader');
  assert.is(await produce(leader, 'live-isr'), ErrorCode.NOT_ENOUGH_REPLICAS);
  let d = (await describe('live-isr', ['min.insync.replicas'])).get('min.insync.replicas')!;
  assert.equal([d.value, d.configSource], ['4', ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG]);
  // This broker's own setting wins over the cluster's.
  assert.is((await incremental(4, '1', [{ name: 'min.insync.replicas', configOperation: AlterOp.SET, value: '2' }])).errorCode, ErrorCode.NONE);
  await until(cluster, () => b1.services!.metadata.snapshot().brokerConfigs?.['1']?.['min.insync.replicas'] === '2', 'broker 1 to see its config');
  d = (await describe('live-isr', ['min.insync.replicas'])).get('min.insync.replicas')!;
  assert.equal([d.value, d.configSource], ['2', ConfigSource.DYNAMIC_BROKER_CONFIG]);
  assert.equal(d.synonyms!.map((s) => [s.name, s.value, s.source]), [
    ['min.insync.replicas', '2', ConfigSource.DYNAMIC_BROKER_CONFIG],
    ['min.insync.replicas', '4', ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG],
    ['min.insync.replicas', '1', ConfigSource.DEFAULT_CONFIG],
  ]);
  // Stored in the cluster metadata: a store opened afresh (a restarted broker) replays it.
  const runtime = cluster.runtimeFor(9);
  let fresh: MetadataStore | undefined;
  void MetadataStore.open(runtime.kv, { clock: cluster.clock, ids: runtime.ids }).then((s) => (fresh = s));
  await until(cluster, () => fresh !== undefined, 'a fresh metadata store');
  assert.equal(fresh!.snapshot().brokerConfigs, { '': { 'min.insync.replicas': '4' }, '1': { 'min.insync.replicas': '2' } });
  void fresh!.close();
  const brokerView = await request(cluster, b1, ApiKey.DescribeConfigs, 4, { resources: [{ resourceType: 4, resourceName: '', configurationKeys: null }], includeSynonyms: false, includeDocumentation: false });
  assert.equal(brokerView.results[0]!.configs.map((c) => [c.name, c.value, c.configSource]), [['min.insync.replicas', '4', ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG]]);
  assert.is((await incremental(4, '', [{ name: 'min.insync.replicas', configOperation: AlterOp.DELETE, value: null }])).errorCode, ErrorCode.NONE);
  assert.is((await incremental(4, '1', [{ name: 'min.insync.replicas', configOperation: AlterOp.DELETE, value: null }])).errorCode, ErrorCode.NONE);
  await until(cluster, () => leader.services!.registry.get('live-isr', 0)!.opts.minInsyncReplicas === 1, 'the defaults to go');
  assert.is(await produce(leader, 'live-isr'), ErrorCode.NONE);
});

test('AlterConfigs replaces the whole set; unknown topics and keys get Kafka codes, each resource on its own', async () => {
  await createTopic('live-replace', [{ name: 'retention.ms', value: '5000' }]);
  const r = await request(cluster, b1, ApiKey.AlterConfigs, 2, {
    resources: [
      { resourceType: 2, resourceName: 'live-replace', configs: [{ name: 'segment.ms', value: '60000' }, { name: 'message.format.version', value: '0.10.0.0' }] },
      { resourceType: 2, resourceName: 'no-such-topic', configs: [{ name: 'retention.ms', value: '1' }] },
      { resourceType: 2, resourceName: 'live-isr', configs: [{ name: 'retention.mss', value: '1' }] },
    ],
    validateOnly: false,
  });
  assert.equal(r.responses.map((x) => x.errorCode), [ErrorCode.NONE, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ErrorCode.INVALID_CONFIG]);
  assert.match(r.responses[2]!.errorMessage!, 'retention.mss');
  assert.equal(b1.services!.metadata.snapshot().topics['live-replace']!.config, { 'segment.ms': '60000', 'message.format.version': '0.10.0.0' }, 'retention.ms left out: back to its default');
});

test('a broker takes the dynamic configs Kafka accepts for features Kastor lacks, stores and describes them', async () => {
  // librdkafka's 0081: AlterConfigs on a broker id with a Kerberos key, next to a topic resource.
  const r = await request(cluster, b1, ApiKey.AlterConfigs, 2, {
    resources: [{ resourceType: 4, resourceName: '2', configs: [{ name: 'sasl.kerberos.min.time.before.relogin', value: '58000' }] }],
    validateOnly: false,
  });
  assert.equal([r.responses[0]!.errorCode, r.responses[0]!.errorMessage], [ErrorCode.NONE, null]);
  await until(cluster, () => brokers[1]!.services!.metadata.snapshot().brokerConfigs?.['2']?.['sasl.kerberos.min.time.before.relogin'] === '58000', 'broker 2 to see its config');
  const view = await request(cluster, brokers[1]!, ApiKey.DescribeConfigs, 4, { resources: [{ resourceType: 4, resourceName: '2', configurationKeys: ['sasl.kerberos.min.time.before.relogin', 'background.threads'] }], includeSynonyms: false, includeDocumentation: true });
  assert.equal(view.results[0]!.configs.map((c) => [c.name, c.value, c.configSource, c.readOnly]), [
    ['background.threads', '10', ConfigSource.DEFAULT_CONFIG, false],
    ['sasl.kerberos.min.time.before.relogin', '58000', ConfigSource.DYNAMIC_BROKER_CONFIG, false],
  ]);
  assert.match(view.results[0]!.configs[1]!.documentation!, 'no effect in Kastor');
  const clusterWide = await incremental(4, '', [{ name: 'sasl.kerberos.min.time.before.relogin', configOperation: AlterOp.SET, value: '58000' }]);
  assert.is(clusterWide.errorCode, ErrorCode.INVALID_REQUEST, 'a per-broker key needs a broker id, as in Kafka');
  const threads = await incremental(4, '2', [{ name: 'background.threads', configOperation: AlterOp.SET, value: '9' }]);
  assert.is(threads.errorCode, ErrorCode.NONE, threads.errorMessage ?? '');
  assert.is((await incremental(4, '2', [{ name: 'background.threads', configOperation: AlterOp.DELETE, value: '' }, { name: 'sasl.kerberos.min.time.before.relogin', configOperation: AlterOp.DELETE, value: '' }])).errorCode, ErrorCode.NONE);
  await until(cluster, () => Object.keys(b1.services!.metadata.snapshot().brokerConfigs?.['2'] ?? {}).length === 0, 'broker 2 back to no dynamic configs');
});

test.run();

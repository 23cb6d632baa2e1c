// CreatePartitions (API key 37) against three real `kastor broker` processes: a topic grown from 2 to 5
// partitions over the Kafka protocol (v3, flexible) gets leaders that continue the round robin of the
// existing ones, ISR = its 3 replicas, and takes acks=all writes (min.insync.replicas 3, so every replica
// must fetch them) that a consumer reads back. Per-topic errors in one request leave the other topics'
// results alone: an equal or lower count is INVALID_PARTITIONS with Kafka's message, an unknown topic
// UNKNOWN_TOPIC_OR_PARTITION, a topic named twice INVALID_REQUEST, a bad manual assignment
// INVALID_REPLICA_ASSIGNMENT; validate_only changes nothing. KafkaJS's admin.createPartitions (v1) and
// Kastor's admin client grow topics too.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Kafka as KafkaJS, logLevel } from 'kafkajs';
import { startTestCluster, fetchMetadata, type TestCluster } from '../../src/testing/index.ts';
import { roundTrip } from '../../src/testing/kafka-request.ts';
import { encodeRequest, decodeResponse } from '../../src/protocol/frames.ts';
import { ApiKey } from '../../src/protocol/generated/api-keys.ts';
import { ErrorCode } from '../../src/protocol/generated/errors.ts';
import type { CreatePartitionsRequest, CreatePartitionsResponse } from '../../src/protocol/generated/create-partitions.ts';
import { Kafka } from '../../src/client/index.ts';

let cluster: TestCluster;

test.before(async () => {
  cluster = await startTestCluster({
    brokers: 3,
    topics: [
      { name: 'grow', partitions: 2, replicationFactor: 3, config: { 'min.insync.replicas': '3' } },
      { name: 'other', partitions: 1, replicationFactor: 3 },
      { name: 'kjs', partitions: 1, replicationFactor: 3 },
      { name: 'own', partitions: 1, replicationFactor: 3 },
    ],
  });
});

test.after(async () => {
  await cluster?.close();
});

let correlationId = 100;
async function createPartitions(broker: number, version: number, topics: CreatePartitionsRequest['topics'], validateOnly = false): Promise<Map<string, { errorCode: number; errorMessage: string | null }>> {
  const req = encodeRequest(ApiKey.CreatePartitions, version, correlationId++, 'create-partitions-test', { topics, timeoutMs: 15_000, validateOnly });
  const frame = await roundTrip(cluster.addressOf(broker), ApiKey.CreatePartitions, req, 20_000);
  const body: CreatePartitionsResponse = decodeResponse(ApiKey.CreatePartitions, version, frame).body;
  assert.is(body.results.length, new Set(topics.map((t) => t.name)).size, 'one result per distinct topic');
  return new Map(body.results.map((r) => [r.name, { errorCode: r.errorCode, errorMessage: r.errorMessage }]));
}

const grow = (name: string, count: number, assignments: number[][] | null = null) => ({ name, count, assignments: assignments && assignments.map((brokerIds) => ({ brokerIds })) });
const partitionCount = (topic: string) => cluster.metadata().topics[topic]?.partitions.length;

test('grows a topic 2 -> 5 through the protocol: leaders continue the round robin, ISR of 3, every broker sees it', async () => {
  const results = await createPartitions(2, 3, [grow('grow', 5), grow('other', 1), grow('missing', 3)]);
  assert.equal(results.get('grow'), { errorCode: ErrorCode.NONE, errorMessage: null });
  assert.equal(results.get('other'), { errorCode: ErrorCode.INVALID_PARTITIONS, errorMessage: 'Topic already has 1 partitions.' });
  assert.equal(results.get('missing'), { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: "The topic 'missing' does not exist." });
  await cluster.waitForInSync('grow');
  for (const id of cluster.brokers) {
    const t = (await fetchMetadata(cluster.addressOf(id), ['grow'])).topics[0]!;
    assert.is(t.errorCode, 0);
    assert.equal(t.partitions.map((p) => p.partitionIndex).sort(), [0, 1, 2, 3, 4], `broker ${id}'s Metadata`);
  }
  const parts = cluster.metadata().topics.grow!.partitions;
  for (const p of parts.slice(2)) {
    assert.is(new Set(p.replicas).size, 3, `grow-${p.partition} replicas ${p.replicas}`);
    assert.is(p.leader, p.replicas[0], `grow-${p.partition} is led by its first replica`);
    assert.equal([...p.isr].sort(), [...p.replicas].sort(), `grow-${p.partition} ISR`);
  }
  // Round robin over 3 brokers: partitions p and p + 3 have the same preferred leader, 0..2 all differ.
  const leaders = parts.map((p) => p.replicas[0]);
  assert.is(new Set(leaders.slice(0, 3)).size, 3, `preferred leaders ${leaders}`);
  assert.equal(leaders.slice(3), leaders.slice(0, 2), `preferred leaders ${leaders}`);
  assert.is(partitionCount('other'), 1);
});

test('a new partition takes acks=all writes (min.insync.replicas 3) and a consumer reads them back', async () => {
  const kafka = new Kafka({ bootstrap: cluster.bootstrapServers, clientId: 'create-partitions-test', retry: { retries: 10, initialBackoffMs: 100, maxBackoffMs: 1000 } });
  const producer = kafka.producer({ acks: 'all' });
  const consumer = kafka.consumer({ maxWaitMs: 100 });
  try {
    const sent = await producer.send({ topic: 'grow', messages: [0, 1, 2].map((i) => ({ value: `new-${i}`, partition: 4 })) });
    assert.equal(sent.map((r) => [r.partition, r.offset]), [[4, 0n], [4, 1n], [4, 2n]]);
    consumer.assign([{ topic: 'grow', partition: 4, offset: 'earliest' }]);
    const values: string[] = [];
    const deadline = Date.now() + 15_000;
    while (values.length < 3 && Date.now() < deadline) {
      const r = await consumer.next();
      if (r.done) break;
      for (const rec of r.value.records) values.push(String(rec.value));
    }
    assert.equal(values, ['new-0', 'new-1', 'new-2']);
  } finally {
    await consumer.close();
    await producer.close();
  }
});

test('a decrease or equal count is INVALID_PARTITIONS while another topic in the same request grows (v0)', async () => {
  const results = await createPartitions(1, 0, [grow('grow', 3), grow('other', 3)]);
  assert.equal(results.get('grow'), { errorCode: ErrorCode.INVALID_PARTITIONS, errorMessage: 'Topic currently has 5 partitions, which is higher than the requested 3.' });
  assert.equal(results.get('other'), { errorCode: ErrorCode.NONE, errorMessage: null });
  const again = await createPartitions(3, 1, [grow('grow', 5)]);
  assert.equal(again.get('grow'), { errorCode: ErrorCode.INVALID_PARTITIONS, errorMessage: 'Topic already has 5 partitions.' });
  await cluster.waitForInSync('other');
  assert.is(partitionCount('other'), 3);
  assert.is(partitionCount('grow'), 5);
});

test('validate_only answers as the real thing would and changes nothing', async () => {
  const results = await createPartitions(3, 2, [grow('grow', 8), grow('other', 2)], true);
  assert.equal(results.get('grow'), { errorCode: ErrorCode.NONE, errorMessage: null });
  assert.is(results.get('other')!.errorCode, ErrorCode.INVALID_PARTITIONS);
  for (const id of cluster.brokers) {
    const t = (await fetchMetadata(cluster.addressOf(id), ['grow'])).topics[0]!;
    assert.is(t.partitions.length, 5, `broker ${id} still shows 5 partitions`);
  }
  assert.is(partitionCount('grow'), 5);
});

test('manual assignments: bad ones are INVALID_REPLICA_ASSIGNMENT, a topic named twice INVALID_REQUEST, a good one is used', async () => {
  const bad: Array<[number[][], RegExp]> = [
    [[[1, 1, 2]], /Duplicate brokers/],
    [[[1, 2]], /Inconsistent replication factor/],
    [[[1, 2, 9]], /Unknown broker\(s\) in replica assignment: 9/],
    [[[1, 2, 3], [2, 3, 1]], /Increasing the number of partitions by 1 but 2 assignments provided/],
  ];
  for (const [assignments, message] of bad) {
    const r = (await createPartitions(1, 3, [grow('grow', 6, assignments)])).get('grow')!;
    assert.is(r.errorCode, ErrorCode.INVALID_REPLICA_ASSIGNMENT, JSON.stringify(assignments));
    assert.match(r.errorMessage ?? '', message);
  }
  const twice = await createPartitions(2, 3, [grow('grow', 6), grow('grow', 7), grow('other', 4)]);
  assert.equal(twice.get('grow'), { errorCode: ErrorCode.INVALID_REQUEST, errorMessage: 'Duplicate topic in request.' });
  assert.is(twice.get('other')!.errorCode, ErrorCode.NONE);
  assert.is(partitionCount('grow'), 5);

  const good = await createPartitions(1, 3, [grow('grow', 6, [[3, 1, 2]])]);
  assert.equal(good.get('grow'), { errorCode: ErrorCode.NONE, errorMessage: null });
  await cluster.waitForInSync('grow');
  const p5 = cluster.metadata().topics.grow!.partitions[5]!;
  assert.equal([p5.replicas, p5.leader, p5.leaderEpoch], [[3, 1, 2], 3, 0]);
});

test("KafkaJS's admin.createPartitions and Kastor's admin client grow topics", async () => {
  const kafkajs = new KafkaJS({ clientId: 'create-partitions-test', brokers: [cluster.bootstrapServers.split(',')[0]!], logLevel: logLevel.NOTHING });
  const admin = kafkajs.admin();
  await admin.connect();
  try {
    await admin.createPartitions({ topicPartitions: [{ topic: 'kjs', count: 4 }] });
    await cluster.waitForInSync('kjs');
    const meta = await admin.fetchTopicMetadata({ topics: ['kjs'] });
    assert.is(meta.topics[0]!.partitions.length, 4);
    try {
      await admin.createPartitions({ topicPartitions: [{ topic: 'kjs', count: 2 }] });
      assert.unreachable('a decrease must fail');
    } catch (err) {
      assert.is((err as { type?: string }).type, 'INVALID_PARTITIONS');
    }
  } finally {
    await admin.disconnect();
  }
  const own = new Kafka({ bootstrap: cluster.bootstrapServers, clientId: 'create-partitions-test' }).admin();
  try {
    await own.createPartitions('own', 3);
    const [t] = await own.describeTopics(['own']);
    assert.is(t!.partitions.length, 3);
    assert.ok(t!.partitions.every((p) => p.leader >= 0 && p.isr.length === 3), JSON.stringify(t!.partitions));
  } finally {
    await own.close();
  }
});

test.run();

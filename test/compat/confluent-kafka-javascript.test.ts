// Confluent's JavaScript client, @confluentinc/kafka-javascript (librdkafka 2.15 underneath, through its
// KafkaJS-style promise API), against a real 3-broker cluster: an acks=all producer and a consumer reading from
// the beginning, a consumer group of two members sharing a 4-partition topic that commits its offsets (and a
// later member resumes after them), and an idempotent producer (enable.idempotence=true, KIP-98) with several
// requests in flight whose records arrive once each and in order.
//
// The client is not an npm devDependency (see test/helpers/confluent-kafka-javascript.ts): it is built into a
// cache by scripts/build-confluent-kafka-javascript.ts, and this file fails when that build is missing.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startTestCluster, listLatestOffsets, type TestCluster } from '../../src/testing/index.ts';
import { until } from '../helpers/until.ts';
import { loadConfluentKafkaJavascript, type ConfluentConsumer, type ConfluentMessage, type ConfluentProducer } from '../helpers/confluent-kafka-javascript.ts';
import { storedProducerIds } from '../helpers/stored-batches.ts';

const { lib, version, dir } = loadConfluentKafkaJavascript();
const { Kafka, logLevel } = lib.KafkaJS;
console.log(`@confluentinc/kafka-javascript ${version}, librdkafka ${lib.librdkafkaVersion} (${lib.features.join(',')}), from ${dir}`);

const TOPICS = [
  { name: 'ckjs-basic', partitions: 3, replicationFactor: 3 },
  { name: 'ckjs-group', partitions: 4, replicationFactor: 3 },
  { name: 'ckjs-idem', partitions: 3, replicationFactor: 3 },
];

let cluster: TestCluster;
let kafka: InstanceType<typeof Kafka>;
/** Every client a test connected, disconnected in after.each even when the test failed. */
const open: Array<ConfluentProducer | ConfluentConsumer> = [];

test.before(async () => {
  cluster = await startTestCluster({ brokers: 3, topics: TOPICS });
  kafka = new Kafka({ kafkaJS: { brokers: cluster.bootstrapServers.split(','), clientId: 'kastor-ckjs', logLevel: logLevel.WARN } });
});
test.after.each(async () => {
  await Promise.allSettled(open.splice(0).map((c) => c.disconnect()));
});
test.after(async () => {
  await cluster?.close();
});

async function producer(config: Record<string, unknown>): Promise<ConfluentProducer> {
  const p = kafka.producer(config);
  open.push(p);
  await p.connect();
  return p;
}

interface Got {
  partition: number;
  offset: number;
  key: string;
  value: string;
  headers: Record<string, string>;
}

const decode = (partition: number, m: ConfluentMessage): Got => ({
  partition,
  offset: Number(m.offset),
  key: m.key?.toString() ?? '',
  value: m.value?.toString() ?? '',
  headers: Object.fromEntries(Object.entries(m.headers ?? {}).map(([k, v]) => [k, String(v)])),
});

/** A group member that records what it consumes and, when `commit` is set, commits after every record. */
async function member(groupId: string, topic: string, opts: { commit?: boolean } = {}): Promise<{ consumer: ConfluentConsumer; got: Got[] }> {
  const consumer = kafka.consumer({
    kafkaJS: { groupId, fromBeginning: true, autoCommit: false },
    'session.timeout.ms': 10_000,
    'heartbeat.interval.ms': 500,
    'fetch.wait.max.ms': 100,
  });
  open.push(consumer);
  const got: Got[] = [];
  await consumer.connect();
  await consumer.subscribe({ topics: [topic] });
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      got.push(decode(partition, message));
      if (opts.commit) await consumer.commitOffsets([{ topic, partition, offset: String(Number(message.offset) + 1) }]);
    },
  });
  return { consumer, got };
}

/** Reads a whole topic from its beginning with a fresh group, waiting until `n` records have arrived. */
async function readAll(topic: string, n: number): Promise<Got[]> {
  const { consumer, got } = await member(`ckjs-reader-${topic}`, topic);
  await until(`${n} records of ${topic} (have ${got.length})`, () => got.length >= n, 60_000);
  await consumer.disconnect();
  return got;
}

const byPartition = (got: Got[], p: number) => got.filter((g) => g.partition === p);

async function highWatermark(topic: string, partition: number): Promise<number> {
  const leader = cluster.partitionState(topic, partition).leader;
  const r = (await listLatestOffsets(cluster.addressOf(leader), topic, [partition])).get(partition)!;
  assert.is(r.errorCode, 0, `ListOffsets ${topic}-${partition} on its leader ${leader}`);
  return r.offset;
}

test('an acks=all producer writes keyed records with headers; a consumer reads them from the beginning', async () => {
  const p = await producer({ acks: 'all', 'linger.ms': 5 });
  const messages = Array.from({ length: 60 }, (_, i) => ({ key: `k${i}`, value: `v${i}`, partition: i % 3, headers: { n: String(i) } }));
  const meta = await p.send({ topic: 'ckjs-basic', messages });
  assert.equal(
    meta.map((m) => [m.partition, m.errorCode, Number(m.baseOffset)]).sort(),
    [
      [0, 0, 0],
      [1, 0, 0],
      [2, 0, 0],
    ],
  );
  // acks=all: once send() resolved, every in-sync replica has the records and the high watermark is past them.
  for (const part of [0, 1, 2]) assert.is(await highWatermark('ckjs-basic', part), 20, `high watermark of partition ${part}`);

  const got = await readAll('ckjs-basic', 60);
  assert.is(got.length, 60);
  for (const part of [0, 1, 2]) {
    assert.equal(
      byPartition(got, part),
      Array.from({ length: 20 }, (_, j) => {
        const i = 3 * j + part;
        return { partition: part, offset: j, key: `k${i}`, value: `v${i}`, headers: { n: String(i) } };
      }),
      `partition ${part}: every record in offset order, with its key and headers`,
    );
  }
});

test('a consumer group of two members shares a 4-partition topic, commits, and a later member resumes after the commits', async () => {
  const topic = 'ckjs-group';
  const groupId = 'ckjs-group-app';
  const a = await member(groupId, topic, { commit: true });
  const b = await member(groupId, topic, { commit: true });
  const owned = () => [a, b].map((m) => m.consumer.assignment().filter((tp) => tp.topic === topic).map((tp) => tp.partition).sort());
  await until(`both members to own two partitions each (have ${JSON.stringify(owned())})`, () => owned().every((ps) => ps.length === 2), 60_000);
  const [ownedA, ownedB] = owned();
  assert.equal([...ownedA!, ...ownedB!].sort(), [0, 1, 2, 3], 'the members split the partitions between them');

  // Produced after the group settled, so no rebalance moves a partition in the middle and each record is consumed once.
  const p = await producer({ acks: 'all', 'linger.ms': 5 });
  const first = Array.from({ length: 200 }, (_, i) => ({ key: `g${i}`, value: `first-${i}`, partition: i % 4 }));
  await p.send({ topic, messages: first.map((m) => ({ ...m })) });
  await until(`200 records consumed by the group (have ${a.got.length + b.got.length})`, () => a.got.length + b.got.length >= 200, 60_000);
  for (const [m, mine] of [
    [a, ownedA!],
    [b, ownedB!],
  ] as const) {
    assert.equal([...new Set(m.got.map((g) => g.partition))].sort(), mine, 'a member consumes only its own partitions');
    for (const part of mine) {
      assert.equal(
        byPartition(m.got, part).map((g) => [g.offset, g.value]),
        Array.from({ length: 50 }, (_, j) => [j, `first-${4 * j + part}`]),
        `partition ${part}: once each, in order`,
      );
    }
  }

  const admin = kafka.admin();
  await admin.connect();
  try {
    const committed = async () => (await admin.fetchOffsets({ groupId, topics: [topic] }))[0]?.partitions.map((x) => [x.partition, Number(x.offset)]).sort() ?? [];
    await until('the group to have committed offset 50 on every partition', async () => JSON.stringify(await committed()) === JSON.stringify([0, 1, 2, 3].map((x) => [x, 50])), 30_000);
  } finally {
    await admin.disconnect();
  }
  await a.consumer.disconnect();
  await b.consumer.disconnect();

  const second = Array.from({ length: 20 }, (_, i) => ({ key: `h${i}`, value: `second-${i}`, partition: i % 4 }));
  await p.send({ topic, messages: second.map((m) => ({ ...m })) });
  const c = await member(groupId, topic);
  await until(`20 records for the resumed member (have ${c.got.length})`, () => c.got.length >= 20, 60_000);
  assert.equal(
    c.got.map((g) => g.value).sort(),
    second.map((m) => m.value).sort(),
    'only what was produced after the committed offsets',
  );
  for (const part of [0, 1, 2, 3]) assert.equal(byPartition(c.got, part).map((g) => g.offset), [50, 51, 52, 53, 54], `partition ${part} resumes at 50`);
});


test('an idempotent producer (enable.idempotence=true): every record once, in order per partition', async () => {
  const topic = 'ckjs-idem';
  // Small batches and no waiting between sends: librdkafka keeps up to 5 requests in flight per partition, each
  // with its own base sequence, so the broker has to accept them in sequence order.
  const p = await producer({ 'enable.idempotence': true, 'linger.ms': 1, 'batch.num.messages': 40 });
  const expected: string[][] = [[], [], []];
  const sends: Array<Promise<unknown>> = [];
  for (let s = 0; s < 60; s++) {
    const messages = Array.from({ length: 50 }, (_, i) => ({ value: `idem-${s}-${i}`, partition: (s + i) % 3 }));
    for (const m of messages) expected[m.partition]!.push(m.value);
    sends.push(p.send({ topic, messages }));
  }
  await Promise.all(sends);
  await p.flush({ timeout: 10_000 });
  for (const part of [0, 1, 2]) assert.is(await highWatermark(topic, part), 1000, `partition ${part} holds each record once`);

  const got = await readAll(topic, 3000);
  for (const part of [0, 1, 2]) {
    const values = byPartition(got, part).map((g) => g.value);
    assert.is(values.length, 1000, `partition ${part}`);
    values.forEach((v, i) => v !== expected[part]![i] && assert.unreachable(`partition ${part} offset ${i} is ${v}, expected ${expected[part]![i]}`));
  }
  for (const part of [0, 1, 2]) {
    const ids = await storedProducerIds(cluster.addressOf(cluster.partitionState(topic, part).leader), topic, part);
    assert.ok(ids.length > 1 && ids.every((id) => id >= 0 && id === ids[0]), `partition ${part}: batches carry one producer id: ${ids.slice(0, 5).join(',')}`);
  }
});

test.run();

// Fetch from follower (KIP-392) across three real `kastor broker` processes on racks RACK1-3 with
// `--replica-selector rack-aware`: a KafkaJS consumer with rackId = a follower's rack reads every record in
// order, its Fetch requests after the first going to that follower (the leader named it preferred read replica);
// a KafkaJS consumer without a rack and Kastor's own client read from the leader as before. The broker-level
// details (errors, high watermark bound, the selector off) are in test/unit/fetch-from-follower.test.ts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Kafka as KafkaJS, logLevel, type Consumer as KafkaJSConsumer } from 'kafkajs';
import { startTestCluster, fetchMetadata, type TestCluster } from '../../src/testing/index.ts';
import { Kafka } from '../../src/client/index.ts';

const TOPIC = 'fff';
const COUNT = 200;
let cluster: TestCluster;
let leaderId: number;
let followerId: number;
let addressOf: Map<number, string>;

test.before(async () => {
  cluster = await startTestCluster({
    brokers: 3,
    racks: { 1: 'RACK1', 2: 'RACK2', 3: 'RACK3' },
    brokerArgs: ['--replica-selector', 'rack-aware'],
    topics: [{ name: TOPIC, partitions: 1, replicationFactor: 3 }],
  });
  const meta = await fetchMetadata(cluster.addressOf(1), [TOPIC]);
  addressOf = new Map(meta.brokers.map((b) => [b.nodeId, `${b.host}:${b.port}`]));
  const p = meta.topics[0]!.partitions[0]!;
  leaderId = p.leaderId;
  followerId = p.replicaNodes.find((id) => id !== leaderId)!;
  const producer = new KafkaJS({ clientId: 'fff-producer', brokers: [cluster.bootstrapServers.split(',')[0]!], logLevel: logLevel.NOTHING }).producer();
  await producer.connect();
  try {
    for (let i = 0; i < COUNT; i += 50) {
      await producer.send({ topic: TOPIC, acks: -1, messages: Array.from({ length: 50 }, (_, k) => ({ value: `m-${i + k}` })) });
    }
  } finally {
    await producer.disconnect();
  }
});

test.after(async () => {
  await cluster?.close();
});

/** Runs a KafkaJS consumer until it has COUNT records (20 s at most); returns them and the brokers its Fetch requests went to. */
async function consumeWithKafkaJS(group: string, rackId?: string): Promise<{ values: string[]; fetchedFrom: string[] }> {
  const kafka = new KafkaJS({ clientId: group, brokers: [cluster.bootstrapServers.split(',')[0]!], logLevel: logLevel.NOTHING });
  const consumer: KafkaJSConsumer = kafka.consumer({ groupId: group, maxWaitTimeInMs: 200, ...(rackId ? { rackId } : {}) });
  const fetchedFrom: string[] = [];
  consumer.on(consumer.events.REQUEST, (e) => {
    if (e.payload.apiName === 'Fetch') fetchedFrom.push(e.payload.broker);
  });
  const values: string[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic: TOPIC, fromBeginning: true });
    let done!: () => void;
    const all = new Promise<void>((resolve) => (done = resolve));
    await consumer.run({
      eachMessage: async ({ message }) => {
        values.push(message.value!.toString());
        if (values.length >= COUNT) done();
      },
    });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([all, new Promise<void>((resolve) => (timer = setTimeout(resolve, 20_000)))]);
    clearTimeout(timer);
  } finally {
    await consumer.disconnect();
  }
  return { values, fetchedFrom };
}

const expected = Array.from({ length: COUNT }, (_, i) => `m-${i}`);

test("a KafkaJS consumer in a follower's rack reads everything, in order, from that follower", async () => {
  const { values, fetchedFrom } = await consumeWithKafkaJS('fff-rack', `RACK${followerId}`);
  assert.equal(values, expected);
  const toFollower = fetchedFrom.filter((b) => b === addressOf.get(followerId)).length;
  assert.ok(toFollower > 0, `Fetch requests went to ${[...new Set(fetchedFrom)].join(', ')}, not to follower ${followerId} (${addressOf.get(followerId)})`);
  assert.is(fetchedFrom[0], addressOf.get(leaderId), 'the first Fetch goes to the leader, which names the follower');
});

test('a KafkaJS consumer without a rack reads everything from the leader', async () => {
  const { values, fetchedFrom } = await consumeWithKafkaJS('fff-norack');
  assert.equal(values, expected);
  assert.equal([...new Set(fetchedFrom)], [addressOf.get(leaderId)]);
});

test("Kastor's own client reads everything as before", async () => {
  const kafka = new Kafka({ bootstrap: cluster.bootstrapServers, clientId: 'fff-own' });
  const consumer = kafka.consumer({ maxWaitMs: 100 });
  consumer.assign([{ topic: TOPIC, partition: 0, offset: 'earliest' }]);
  const values: string[] = [];
  const deadline = Date.now() + 20_000;
  try {
    while (values.length < COUNT && Date.now() < deadline) {
      const r = await consumer.next();
      if (r.done) break;
      for (const rec of r.value.records) values.push(rec.value!.toString());
    }
  } finally {
    await consumer.close();
  }
  assert.equal(values, expected);
});

test.run();

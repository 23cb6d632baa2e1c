// KafkaJS 2.2.4 against a live broker process: admin (createTopics, fetchTopicMetadata, fetchTopicOffsets,
// fetchTopicOffsetsByTimestamp, deleteTopics) and the producer with acks 0, 1 and -1; what it wrote is read
// back with kcat, record by record.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Kafka, logLevel, type Admin, type Producer } from 'kafkajs';
import { startSingleBroker, run, type SingleBroker } from '../helpers/single-broker.ts';

let env: SingleBroker;
let kafka: Kafka;
let admin: Admin;
let producer: Producer;

test.before(async () => {
  env = await startSingleBroker();
  kafka = new Kafka({ clientId: 'kastor-compat', brokers: [env.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 5, initialRetryTime: 100 } });
  admin = kafka.admin();
  await admin.connect();
  producer = kafka.producer({ allowAutoTopicCreation: false });
  await producer.connect();
});
test.after(async () => {
  await producer?.disconnect().catch(() => {});
  await admin?.disconnect().catch(() => {});
  await env?.close();
});

test('admin creates topics and reads their metadata', async () => {
  const created = await admin.createTopics({ topics: [{ topic: 'js-orders', numPartitions: 3 }, { topic: 'js-acks', numPartitions: 1 }], waitForLeaders: true });
  assert.is(created, true);
  const again = await admin.createTopics({ topics: [{ topic: 'js-orders', numPartitions: 3 }] });
  assert.is(again, false, 'an existing topic is not created twice');
  const meta = await admin.fetchTopicMetadata({ topics: ['js-orders'] });
  assert.is(meta.topics[0].name, 'js-orders');
  assert.equal(meta.topics[0].partitions.map((p) => p.partitionId).sort(), [0, 1, 2]);
  for (const p of meta.topics[0].partitions) {
    assert.is(p.leader, 1);
    assert.equal(p.replicas, [1]);
    assert.equal(p.isr, [1]);
  }
  const topics = await admin.listTopics();
  assert.ok(topics.includes('js-orders') && topics.includes('js-acks'));
});

test('producer with acks 0, 1 and -1: every record arrives, in order, with keys and headers', async () => {
  const sent: string[] = [];
  for (const acks of [1, -1, 0]) {
    for (let batch = 0; batch < 5; batch++) {
      const messages = Array.from({ length: 20 }, (_, i) => {
        const value = `acks${acks}-b${batch}-m${i}`;
        sent.push(value);
        return { key: `k${i}`, value, headers: { origin: 'kafkajs' } };
      });
      const result = await producer.send({ topic: 'js-acks', acks, messages });
      if (acks !== 0) {
        assert.is(result[0].errorCode, 0);
        assert.is(result[0].partition, 0);
      }
    }
  }
  // acks=0 has no response; wait until the broker has them all.
  const deadline = Date.now() + 10_000;
  for (;;) {
    const offsets = await admin.fetchTopicOffsets('js-acks');
    if (Number(offsets[0].high) === sent.length) break;
    if (Date.now() > deadline) assert.unreachable(`high watermark ${offsets[0].high}, expected ${sent.length}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const { stdout } = await run('kcat', ['-C', '-b', env.bootstrap, '-t', 'js-acks', '-p', '0', '-o', 'beginning', '-e', '-q', '-f', '%o|%k|%s|%h\n']);
  const rows = stdout.trimEnd().split('\n');
  assert.is(rows.length, sent.length);
  rows.forEach((row, i) => {
    const [offset, key, value, headers] = row.split('|');
    assert.is(Number(offset), i);
    assert.is(value, sent[i]);
    assert.is(key, `k${i % 20}`);
    assert.is(headers, 'origin=kafkajs');
  });
});

test('fetchTopicOffsets and fetchTopicOffsetsByTimestamp', async () => {
  await admin.createTopics({ topics: [{ topic: 'js-time', numPartitions: 1 }], waitForLeaders: true });
  const t0 = Date.now() - 100_000;
  for (let i = 0; i < 10; i++) {
    await producer.send({ topic: 'js-time', acks: -1, messages: [{ value: `v${i}`, timestamp: String(t0 + i * 1000) }] });
  }
  const offsets = await admin.fetchTopicOffsets('js-time');
  assert.equal(offsets.map((o) => [o.partition, o.low, o.high]), [[0, '0', '10']]);
  const byTime = await admin.fetchTopicOffsetsByTimestamp('js-time', t0 + 4500);
  assert.equal(byTime, [{ partition: 0, offset: '5' }]);
  const early = await admin.fetchTopicOffsetsByTimestamp('js-time', t0 - 1);
  assert.equal(early, [{ partition: 0, offset: '0' }]);
});

test('deleteTopics removes the topic from metadata', async () => {
  await admin.createTopics({ topics: [{ topic: 'js-doomed' }], waitForLeaders: true });
  await producer.send({ topic: 'js-doomed', messages: [{ value: 'x' }] });
  await admin.deleteTopics({ topics: ['js-doomed'] });
  const topics = await admin.listTopics();
  assert.not.ok(topics.includes('js-doomed'));
  try {
    await admin.deleteTopics({ topics: ['js-doomed'] });
    assert.unreachable('deleting a missing topic must fail');
  } catch (err) {
    // KafkaJS reports the broker's UNKNOWN_TOPIC_OR_PARTITION by its type and Kafka's message for it.
    assert.match((err as Error).message, /does not host this topic-partition/);
  }
});

test.run();

// An application's integration test with `kastor/testing` and node:test: a real 3-broker cluster, the
// partition leader killed mid-stream, and the consumer must still see every record the producer sent.
// Run it with: node --import tsx --test examples/kill-leader.node-test.ts
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Kafka, logLevel } from 'kafkajs';
import { startTestCluster } from '../src/testing/index.ts'; // in your project: from 'kastor/testing'

test('the consumer sees every record although the leader dies mid-stream', async () => {
  await using cluster = await startTestCluster({
    brokers: 3,
    topics: [{ name: 'orders', partitions: 1, replicationFactor: 3, config: { 'min.insync.replicas': '2' } }],
  });
  const kafka = new Kafka({ brokers: cluster.bootstrapServers.split(','), logLevel: logLevel.NOTHING, retry: { retries: 20, initialRetryTime: 100 } });
  const producer = kafka.producer();
  // A short fetch wait: KafkaJS notices a dead group coordinator between fetches, so with its default 5 s wait a
  // consumer whose coordinator died with the leader takes tens of seconds to find the new one.
  const consumer = kafka.consumer({ groupId: 'orders-app', sessionTimeout: 10_000, heartbeatInterval: 500, maxWaitTimeInMs: 500 });
  await Promise.all([producer.connect(), consumer.connect()]);
  const seen = new Set<string>();
  await consumer.subscribe({ topic: 'orders', fromBeginning: true });
  await consumer.run({ eachMessage: async ({ message }) => void seen.add(message.value!.toString()) });
  try {
    for (let i = 0; i < 200; i++) {
      if (i === 100) await cluster.killLeader('orders', 0); // mid-stream
      await producer.send({ topic: 'orders', acks: -1, messages: [{ value: `order-${i}` }] });
    }
    const deadline = Date.now() + 30_000;
    while (seen.size < 200 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    for (let i = 0; i < 200; i++) assert.ok(seen.has(`order-${i}`), `order-${i} was not consumed`);
  } finally {
    await consumer.disconnect();
    await producer.disconnect();
  }
});

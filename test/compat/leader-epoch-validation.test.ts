// KIP-320 with a real client: librdkafka (2.15, under @confluentinc/kafka-javascript) validates its fetch position
// with OffsetForLeaderEpoch once it sees a new leader epoch. A group consumer reads a replicated partition, its
// leader is SIGKILLed, more records go to the new leader: the consumer asks the new leader for the end of the
// epoch of the last record it read (librdkafka's protocol debug shows the request and its answer) and reads on
// from there, every record once and in order.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startTestCluster, type TestCluster } from '../../src/testing/index.ts';
import { Kafka as KastorKafka } from '../../src/client/index.ts';
import { until } from '../helpers/until.ts';
import { loadConfluentKafkaJavascript, type ConfluentConsumer } from '../helpers/confluent-kafka-javascript.ts';

const { lib } = loadConfluentKafkaJavascript();
const TOPIC = 'epochs';

test('after a leader failover librdkafka validates its position with OffsetForLeaderEpoch and loses or repeats nothing', async () => {
  let cluster: TestCluster | undefined;
  let consumer: ConfluentConsumer | undefined;
  const kastor = { producer: null as ReturnType<InstanceType<typeof KastorKafka>['producer']> | null };
  try {
    cluster = await startTestCluster({ brokers: 3, topics: [{ name: TOPIC, partitions: 1, replicationFactor: 3, config: { 'min.insync.replicas': '2' } }] });
    const client = new KastorKafka({ bootstrap: cluster.bootstrapServers, clientId: 'epochs', retry: { retries: 30, initialBackoffMs: 100, maxBackoffMs: 1000 } });
    kastor.producer = client.producer({ acks: 'all', deliveryTimeoutMs: 60_000 });
    const send = (from: number) => kastor.producer!.send({ topic: TOPIC, messages: Array.from({ length: 30 }, (_, i) => ({ partition: 0, value: `r${from + i}` })) });
    await send(0);

    const protocol: string[] = [];
    const keep = (message: string) => {
      if (/OffsetForLeaderEpoch/i.test(message)) protocol.push(message);
    };
    const logger = { info: keep, warn: keep, error: keep, debug: keep, setLogLevel: () => {}, namespace() { return this; } };
    const { Kafka } = lib.KafkaJS;
    const kafka = new Kafka({ kafkaJS: { brokers: cluster.bootstrapServers.split(','), clientId: 'epochs-consumer', logger } });
    consumer = kafka.consumer({ kafkaJS: { groupId: 'epochs-group', fromBeginning: true, autoCommit: false }, debug: 'protocol,fetch', 'fetch.wait.max.ms': 100 });
    const got: number[] = [];
    await consumer.connect();
    await consumer.subscribe({ topics: [TOPIC] });
    await consumer.run({ eachMessage: async ({ message }) => void got.push(Number(message.value!.toString().slice(1))) });
    await until('the first 30 records', () => got.length >= 30, 30_000);

    const killed = await cluster.killLeader(TOPIC, 0);
    await cluster.waitForLeader(TOPIC, 0, { notBroker: killed });
    await send(30);
    await until('the 30 records written after the failover', () => got.length >= 60, 30_000);
    assert.equal(got, Array.from({ length: 60 }, (_, i) => i), 'every record once, in order');
    await until('an OffsetForLeaderEpoch answer in the client log', () => protocol.some((l) => /Recv.*OffsetForLeaderEpoch|OffsetForLeaderEpochResponse/i.test(l)), 10_000);
    assert.ok(protocol.some((l) => /Sent OffsetForLeaderEpochRequest/i.test(l)), `the consumer asked the new leader (${protocol.slice(0, 3).join(' | ')})`);
  } finally {
    await consumer?.disconnect().catch(() => {});
    await kastor.producer?.close().catch(() => {});
    await cluster?.close();
  }
});

test.run();

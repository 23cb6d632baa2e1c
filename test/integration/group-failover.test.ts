// SIGKILL the group coordinator's broker in a 3-broker cluster: the __consumer_offsets partition of the group
// (RF 3) gets a new leader, which loads the group's committed offsets from its replica of the log; the running
// KafkaJS consumer finds the new coordinator, rejoins, and consumes what is produced next, never re-reading
// a record it had committed before the crash.
import { mkdirSync, writeFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { until } from '../helpers/until.ts';
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { startTestCluster, type TestCluster } from '../../src/testing/index.ts';
import { OFFSETS_TOPIC, partitionForGroup } from '../../src/group/offsets-topic.ts';

const TOPIC = 'failover-orders';
const GROUP = 'failover-app';
let cluster: TestCluster | undefined;
let consumer: Consumer | undefined;
const brokerLog: string[] = [];

test.after(async () => {
  await consumer?.disconnect().catch(() => {});
  await cluster?.close();
});

test('the coordinator\'s broker dies: a new coordinator serves the committed offsets and the group carries on', async () => {
  try {
    await scenario();
  } catch (err) {
    // The brokers' logs tell which broker coordinated, what it loaded and when leadership moved.
    mkdirSync('test-artifacts', { recursive: true });
    writeFileSync('test-artifacts/group-failover-brokers.log', brokerLog.join('\n'));
    throw err;
  }
});

async function scenario(): Promise<void> {
  cluster = await startTestCluster({
    brokers: 3,
    topics: [{ name: TOPIC, partitions: 3, replicationFactor: 3 }],
    onBrokerLog: (id, line) => void brokerLog.push(`${id} ${line}`),
  });
  const c = cluster;
  const kafka = new Kafka({ clientId: 'failover', brokers: c.bootstrapServers.split(','), logLevel: logLevel.NOTHING, retry: { retries: 50, initialRetryTime: 100, maxRetryTime: 1000 } });
  const producer = kafka.producer();
  await producer.connect();
  const produce = async (round: string) => {
    for (let partition = 0; partition < 3; partition++) {
      await producer.send({ topic: TOPIC, acks: -1, messages: Array.from({ length: 10 }, (_, i) => ({ partition, value: `${round}-${partition}-${i}` })) });
    }
  };
  const delivered: string[] = [];
  consumer = kafka.consumer({ groupId: GROUP, sessionTimeout: 6000, heartbeatInterval: 500, maxWaitTimeInMs: 200 });
  await consumer.connect();
  await consumer.subscribe({ topics: [TOPIC], fromBeginning: true });
  const cons = consumer;
  await cons.run({
    autoCommit: false,
    eachMessage: async ({ partition, message }) => {
      delivered.push(message.value!.toString());
      await cons.commitOffsets([{ topic: TOPIC, partition, offset: String(Number(message.offset) + 1) }]);
    },
  });
  await produce('before');
  await until('the first 30 records', () => delivered.length >= 30, 30_000);
  // Let the last commit's acknowledgement land before the crash.
  const admin = kafka.admin();
  await admin.connect();
  await until('all 30 committed', async () => (await admin.fetchOffsets({ groupId: GROUP, topics: [TOPIC] }))[0].partitions.every((p) => p.offset === '10'), 10_000);

  const offsetsPartition = partitionForGroup(GROUP, c.metadata().topics[OFFSETS_TOPIC]!.partitions.length);
  const coordinator = c.partitionState(OFFSETS_TOPIC, offsetsPartition).leader;
  await c.killBroker(coordinator);
  const next = await c.waitForLeader(OFFSETS_TOPIC, offsetsPartition, { notBroker: coordinator, timeoutMs: 20_000 });
  assert.is.not(next, coordinator);

  // KafkaJS's admin does not retry OffsetFetch on COORDINATOR_LOAD_IN_PROGRESS / NOT_COORDINATOR: the test does.
  let fetched: string[] = [];
  await until('OffsetFetch at the new coordinator', async () => {
    try {
      fetched = (await admin.fetchOffsets({ groupId: GROUP, topics: [TOPIC] }))[0].partitions.map((p) => p.offset);
      return true;
    } catch (err) {
      if (!/coordinator/i.test(String(err))) throw err;
      return false;
    }
  }, 15_000);
  assert.equal(fetched, ['10', '10', '10'], 'the new coordinator loaded the committed offsets');
  await admin.disconnect();

  await produce('after');
  // Distinct values: a record consumed while the group rebalanced after the crash, before its commit went
  // through, is delivered again (at least once), and must not count twice towards the 30.
  await until('the records produced after the crash', () => new Set(delivered.filter((v) => v.startsWith('after-'))).size >= 30, 40_000);
  assert.is(delivered.filter((v) => v.startsWith('before-')).length, 30, 'nothing committed before the crash is read again');
  assert.equal(new Set(delivered).size, 60);
  await producer.disconnect();
}

test.run();

// KafkaJS 2.2.4's transactional producer against a 3-broker cluster (KIP-98): `producer.transaction()` commit and
// abort, read back by a `readUncommitted: false` consumer (read_committed: committed records only, in order,
// none of the aborted) and by kcat at read_uncommitted (which sees both, and the markers' offsets between);
// `sendOffsets` in a consume-transform-produce step commits the input's offsets with the output; a second producer
// with the same transactional id fences the first (its next send fails with a fencing error).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { startTestCluster, type TestCluster } from '../../src/testing/index.ts';
import { run } from '../helpers/single-broker.ts';
import { until } from '../helpers/until.ts';

let cluster: TestCluster;
let kafka: Kafka;
let admin: Admin;

test.before(async () => {
  cluster = await startTestCluster({
    brokers: 3,
    topics: [
      { name: 'tx-out', partitions: 3, replicationFactor: 3 },
      { name: 'tx-in', partitions: 1, replicationFactor: 3 },
      // The fencing test's own: its reader expects exactly the one record committed there.
      { name: 'tx-fence', partitions: 3, replicationFactor: 3 },
    ],
  });
  kafka = new Kafka({ clientId: 'kastor-tx-compat', brokers: cluster.bootstrapServers.split(','), logLevel: logLevel.NOTHING, retry: { retries: 10, initialRetryTime: 100 } });
  admin = kafka.admin();
  await admin.connect();
});
test.after(async () => {
  await admin?.disconnect().catch(() => {});
  await cluster?.close();
});

/** Everything a read_committed KafkaJS consumer gets from the topic, until `expected` values arrived (bounded). */
async function readCommitted(topic: string, groupId: string, expected: number): Promise<string[]> {
  const consumer = kafka.consumer({ groupId, readUncommitted: false, maxWaitTimeInMs: 200 });
  const got: string[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({ eachMessage: async ({ message, partition }) => void got.push(`${partition}:${message.value?.toString()}`) });
    await until(`${expected} committed records of ${topic} (got ${got.length})`, () => got.length >= expected, 30_000);
    // Anything aborted that slipped through would arrive with the rest: give the consumer one more round of fetches.
    const end = got.length;
    await until('a committed offset', async () => (await admin.fetchOffsets({ groupId, topics: [topic] }))[0]!.partitions.some((p) => Number(p.offset) > 0), 15_000);
    assert.is(got.length, end);
  } finally {
    await consumer.disconnect();
  }
  return got;
}

test('KafkaJS transactions: committed records are read by read_committed consumers, aborted ones never', async () => {
  const producer = kafka.producer({ transactionalId: 'tx-js-1', idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    const commit1 = await producer.transaction();
    await commit1.send({ topic: 'tx-out', messages: [0, 1, 2, 3, 4, 5].map((i) => ({ value: `c1-${i}`, partition: i % 3 })) });
    await commit1.commit();

    const aborted = await producer.transaction();
    await aborted.send({ topic: 'tx-out', messages: [0, 1, 2].map((i) => ({ value: `ab-${i}`, partition: i % 3 })) });
    await aborted.abort();

    const commit2 = await producer.transaction();
    await commit2.send({ topic: 'tx-out', messages: [0, 1, 2].map((i) => ({ value: `c2-${i}`, partition: i % 3 })) });
    await commit2.commit();
  } finally {
    await producer.disconnect();
  }
  const got = await readCommitted('tx-out', 'tx-reader', 9);
  const byPartition = (p: number) => got.filter((g) => g.startsWith(`${p}:`)).map((g) => g.slice(2));
  assert.equal(byPartition(0), ['c1-0', 'c1-3', 'c2-0']);
  assert.equal(byPartition(1), ['c1-1', 'c1-4', 'c2-1']);
  assert.equal(byPartition(2), ['c1-2', 'c1-5', 'c2-2']);
  assert.ok(!got.some((g) => g.includes('ab-')), `no aborted record is read: ${got.join(' ')}`);

  // read_uncommitted (librdkafka's default is read_committed) sees the aborted records too, and offsets skip the markers.
  const { stdout } = await run('kcat', ['-C', '-b', cluster.bootstrapServers, '-t', 'tx-out', '-p', '0', '-o', 'beginning', '-e', '-q', '-X', 'isolation.level=read_uncommitted', '-f', '%o:%s\n']);
  assert.equal(stdout.trim().split('\n'), ['0:c1-0', '1:c1-3', '3:ab-0', '5:c2-0']);
});

test('KafkaJS sendOffsets: the input offsets commit with the transaction, and an aborted one leaves them', async () => {
  const seed = kafka.producer();
  await seed.connect();
  await seed.send({ topic: 'tx-in', messages: [{ value: 'in-0' }, { value: 'in-1' }, { value: 'in-2' }] });
  await seed.disconnect();
  const producer = kafka.producer({ transactionalId: 'tx-js-2', idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const committedOffset = async () => Number((await admin.fetchOffsets({ groupId: 'tx-app', topics: ['tx-in'] }))[0]!.partitions[0]!.offset);
  try {
    const t1 = await producer.transaction();
    await t1.send({ topic: 'tx-out', messages: [{ value: 'out-0', partition: 0 }] });
    await t1.sendOffsets({ consumerGroupId: 'tx-app', topics: [{ topic: 'tx-in', partitions: [{ partition: 0, offset: '1' }] }] });
    assert.is(await committedOffset(), -1, 'offsets of an open transaction are not visible');
    await t1.commit();
    await until('the offset committed with the transaction', async () => (await committedOffset()) === 1, 10_000);

    const t2 = await producer.transaction();
    await t2.send({ topic: 'tx-out', messages: [{ value: 'out-1', partition: 0 }] });
    await t2.sendOffsets({ consumerGroupId: 'tx-app', topics: [{ topic: 'tx-in', partitions: [{ partition: 0, offset: '3' }] }] });
    await t2.abort();
    // The abort's marker on __consumer_offsets is written after EndTxn is answered: wait until the coordinator
    // could take the next transaction (which needs the markers written), then check the offset stayed.
    const t3 = await producer.transaction();
    await t3.send({ topic: 'tx-out', messages: [{ value: 'out-2', partition: 0 }] });
    await t3.commit();
    assert.is(await committedOffset(), 1, 'the aborted transaction did not move the offset');
  } finally {
    await producer.disconnect();
  }
});

test('a second producer with the same transactional id fences the first', async () => {
  const first = kafka.producer({ transactionalId: 'tx-js-fence', idempotent: true, maxInFlightRequests: 1, retry: { retries: 2, initialRetryTime: 100 } });
  await first.connect();
  const open = await first.transaction();
  await open.send({ topic: 'tx-fence', messages: [{ value: 'zombie-1', partition: 1 }] });

  const second = kafka.producer({ transactionalId: 'tx-js-fence', idempotent: true, maxInFlightRequests: 1 });
  await second.connect();
  try {
    // KafkaJS initializes a transactional producer's id at its first transaction(): InitProducerId bumps the
    // epoch and aborts the first producer's open transaction (CONCURRENT_TRANSACTIONS until done, retried).
    const t = await second.transaction();
    let fenced: Error | null = null;
    try {
      await open.send({ topic: 'tx-fence', messages: [{ value: 'zombie-2', partition: 1 }] });
      await open.commit();
    } catch (err) {
      fenced = err as Error;
    }
    assert.ok(fenced, 'the fenced producer must not commit');
    const said = `${fenced!.name} ${fenced!.message} ${(fenced as { type?: string }).type ?? ''}`;
    assert.match(said, /PRODUCER_FENCED|INVALID_PRODUCER_EPOCH|fenced|epoch/i);
    await t.send({ topic: 'tx-fence', messages: [{ value: 'fresh', partition: 1 }] });
    await t.commit();
  } finally {
    await first.disconnect().catch(() => {});
    await second.disconnect();
  }
  const got = await readCommitted('tx-fence', 'tx-fence-reader', 1);
  assert.ok(got.includes('1:fresh'), `the new producer's record is read: ${got.join(' ')}`);
  assert.ok(!got.some((g) => g.includes('zombie')), `none of the fenced producer's records is read: ${got.join(' ')}`);
});

test.run();

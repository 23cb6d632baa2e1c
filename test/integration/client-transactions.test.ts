// Kastor's own transactional producer and read_committed consumer (KIP-98) against 3 broker processes:
// initTransactions, commit and abort across partitions, sendOffsets committing a group's offsets with the
// transaction (visible after commit only), a read_committed consumer that reads every committed record once and in
// order and no aborted one (it filters the aborted transactions the Fetch answer names), a read_uncommitted one
// that sees them all, and fencing: a second producer with the same transactional id makes the first one's next
// send fail with the fencing error for good.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startTestCluster, type TestCluster } from '../../src/testing/test-cluster.ts';
import { Kafka, type Consumer } from '../../src/client/index.ts';
import { KafkaProtocolError } from '../../src/client/errors.ts';
import { ApiKey } from '../../src/protocol/generated/api-keys.ts';

let cluster: TestCluster;
let kafka: Kafka;

test.before(async () => {
  cluster = await startTestCluster({ brokers: 3, topics: [{ name: 'ktx', partitions: 2, replicationFactor: 3 }] });
  kafka = new Kafka({ bootstrap: cluster.bootstrapServers, clientId: 'ktx-test', retry: { retries: 20, initialBackoffMs: 50, maxBackoffMs: 500 } });
});
test.after(async () => {
  await cluster?.close();
});

/** Reads both partitions until each reaches `ends` (bounded), as partition:value. */
async function readAll(isolationLevel: 'read_committed' | 'read_uncommitted', ends: bigint[]): Promise<string[]> {
  const consumer: Consumer = kafka.consumer({ maxWaitMs: 100, isolationLevel });
  consumer.assign([0, 1].map((partition) => ({ topic: 'ktx', partition, offset: 'earliest' as const })));
  const got: string[] = [];
  const reading = (async () => {
    for await (const batch of consumer) for (const r of batch.records) got.push(`${batch.partition}:${r.value!.toString()}`);
  })();
  const deadline = Date.now() + 30_000;
  while (!ends.every((end, p) => (consumer.position({ topic: 'ktx', partition: p }) ?? -1n) >= end)) {
    if (Date.now() > deadline) throw new Error(`the ${isolationLevel} consumer did not reach ${ends} within 30 s (got ${got.join(' ')})`);
    await new Promise((r) => setTimeout(r, 50));
  }
  await consumer.close();
  await reading;
  return got;
}

test('commit, abort and sendOffsets; read_committed reads committed records only, in order', async () => {
  const producer = kafka.producer({ transactionalId: 'ktx-1' });
  await producer.initTransactions();
  producer.beginTransaction();
  await Promise.all([producer.send({ topic: 'ktx', messages: [{ value: 'c1-a', partition: 0 }, { value: 'c1-b', partition: 1 }] }), producer.send({ topic: 'ktx', messages: [{ value: 'c1-c', partition: 0 }] })]);
  await producer.commitTransaction();

  producer.beginTransaction();
  await producer.send({ topic: 'ktx', messages: [{ value: 'ab-a', partition: 0 }, { value: 'ab-b', partition: 1 }] });
  await producer.sendOffsets('ktx-app', [{ topic: 'ktx', partition: 0, offset: 2n }]);
  await producer.abortTransaction();

  producer.beginTransaction();
  await producer.send({ topic: 'ktx', messages: [{ value: 'c2-a', partition: 0 }] });
  await producer.sendOffsets('ktx-app', [{ topic: 'ktx', partition: 0, offset: 1n }]);
  // Outside a transaction nothing may be sent; a second begin is refused too.
  assert.throws(() => producer.beginTransaction(), /not allowed while the transactional producer is in-transaction/);
  await producer.commitTransaction();
  await rejects(producer.send({ topic: 'ktx', messages: [{ value: 'stray' }] }), /send is not allowed while the transactional producer is ready/);
  await producer.close();

  const admin = kafka.admin();
  const ends = (await admin.fetchOffsets('ktx')).map((e) => e.latest);
  const committed = await groupOffset('ktx-app');
  await admin.close();
  const committedRead = await readAll('read_committed', ends);
  assert.equal(committedRead.filter((g) => g.startsWith('0:')), ['0:c1-a', '0:c1-c', '0:c2-a']);
  assert.equal(committedRead.filter((g) => g.startsWith('1:')), ['1:c1-b']);
  const everything = await readAll('read_uncommitted', ends);
  assert.equal(everything.filter((g) => g.startsWith('0:')), ['0:c1-a', '0:c1-c', '0:ab-a', '0:c2-a'], 'read_uncommitted sees the aborted record too');
  assert.is(committed, 1n, "the committed transaction's offset, not the aborted one's");
});

test('a second producer with the same transactional id fences the first for good', async () => {
  const first = kafka.producer({ transactionalId: 'ktx-fence' });
  await first.initTransactions();
  first.beginTransaction();
  await first.send({ topic: 'ktx', messages: [{ value: 'zombie-1', partition: 1 }] });
  const second = kafka.producer({ transactionalId: 'ktx-fence' });
  await second.initTransactions(); // aborts the first one's open transaction and bumps the epoch
  const fenced = await first.send({ topic: 'ktx', messages: [{ value: 'zombie-2', partition: 0 }] }).then(
    () => null,
    (err: unknown) => err,
  );
  assert.ok(fenced instanceof KafkaProtocolError, `the fenced producer's send fails: ${String(fenced)}`);
  assert.ok(['INVALID_PRODUCER_EPOCH', 'PRODUCER_FENCED'].includes((fenced as KafkaProtocolError).errorName), (fenced as Error).message);
  await rejects(first.commitTransaction(), /INVALID_PRODUCER_EPOCH|PRODUCER_FENCED/);
  second.beginTransaction();
  await second.send({ topic: 'ktx', messages: [{ value: 'fresh', partition: 1 }] });
  await second.commitTransaction();
  await Promise.all([first.close().catch(() => {}), second.close()]);
  const admin = kafka.admin();
  const ends = (await admin.fetchOffsets('ktx')).map((e) => e.latest);
  await admin.close();
  const read = await readAll('read_committed', ends);
  assert.ok(read.includes('1:fresh'));
  assert.ok(!read.some((r) => r.includes('zombie')), read.join(' '));
});

async function rejects(p: Promise<unknown>, message: RegExp): Promise<void> {
  const err = await p.then(
    () => null,
    (e: unknown) => e as Error,
  );
  assert.ok(err, `expected a rejection matching ${message}`);
  assert.match(err!.message, message);
}

/** The group's committed offset of ktx-0 (OffsetFetch v1 at the group coordinator). */
async function groupOffset(groupId: string): Promise<bigint> {
  const { BrokerConnection } = await import('../../src/client/broker-connection.ts');
  const at = cluster.bootstrapServers.split(',')[0]!.split(':');
  const conn = await BrokerConnection.connect({ host: at[0]!, port: Number(at[1]), clientId: 'ktx-test' });
  try {
    const found = await conn.request(ApiKey.FindCoordinator, 1, { key: groupId, keyType: 0 });
    const coord = await BrokerConnection.connect({ host: found.host!, port: found.port!, clientId: 'ktx-test' });
    try {
      const r = await coord.request(ApiKey.OffsetFetch, 1, { groupId, topics: [{ name: 'ktx', partitionIndexes: [0] }] });
      return r.topics![0]!.partitions[0]!.committedOffset;
    } finally {
      coord.close();
    }
  } finally {
    conn.close();
  }
}

test.run();

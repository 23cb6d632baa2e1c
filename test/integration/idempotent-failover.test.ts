// The idempotent producer across a leader failover (KIP-98): followers keep the producer state from the
// batches they replicate, so after the leader is SIGKILLed the new leader recognises a retry of a batch the
// old leader acknowledged (acks=all) and answers with its original offset instead of storing it again.
// Kastor's producer with `idempotent: true` across the same failure stores every record exactly once.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startTestCluster, type TestCluster } from '../../src/testing/test-cluster.ts';
import { listLatestOffsets } from '../../src/testing/kafka-request.ts';
import { BrokerConnection } from '../../src/client/broker-connection.ts';
import { ApiKey } from '../../src/protocol/generated/api-keys.ts';
import { ErrorCode } from '../../src/protocol/generated/errors.ts';
import { buildRecordBatch } from '../../src/protocol/record-batch.ts';
import { Kafka, type RecordMetadata } from '../../src/client/index.ts';

function batch(producerId: number, baseSequence: number, values: string[]): Buffer {
  return buildRecordBatch({ records: values.map((value) => ({ value })), producerId, producerEpoch: 0, baseSequence, timestamp: Date.now() });
}

async function produce(c: BrokerConnection, records: Buffer) {
  const res = await c.request(ApiKey.Produce, 7, { transactionalId: null, acks: -1, timeoutMs: 5_000, topicData: [{ name: 'idem-fo', partitionData: [{ index: 0, records }] }] });
  const p = res.responses[0]!.partitionResponses[0]!;
  return { errorCode: p.errorCode, baseOffset: Number(p.baseOffset) };
}

test('the new leader detects the duplicate of a batch the old leader acknowledged', async () => {
  let cluster: TestCluster | undefined;
  const conns: BrokerConnection[] = [];
  try {
    cluster = await startTestCluster({ brokers: 3, topics: [{ name: 'idem-fo', partitions: 1, replicationFactor: 3, config: { 'min.insync.replicas': '2' } }] });
    const connectTo = async (id: number) => {
      const a = cluster!.addressOf(id);
      const c = await BrokerConnection.connect({ host: a.host, port: a.port });
      conns.push(c);
      return c;
    };
    const oldLeader = await cluster.waitForLeader('idem-fo', 0);
    const c1 = await connectTo(oldLeader);
    const init = await c1.request(ApiKey.InitProducerId, 1, { transactionalId: null, transactionTimeoutMs: 60_000 });
    assert.is(init.errorCode, ErrorCode.NONE);
    const pid = Number(init.producerId);
    assert.equal(await produce(c1, batch(pid, 0, ['a', 'b'])), { errorCode: ErrorCode.NONE, baseOffset: 0 });
    assert.equal(await produce(c1, batch(pid, 2, ['c'])), { errorCode: ErrorCode.NONE, baseOffset: 2 });
    // acks=all: every in-sync follower holds both batches, and with them the producer's state.
    await cluster.waitForInSync('idem-fo');

    await cluster.killLeader('idem-fo', 0);
    const newLeader = await cluster.waitForLeader('idem-fo', 0, { notBroker: oldLeader });
    const c2 = await connectTo(newLeader);
    const deadline = Date.now() + 30_000;
    let retry = await produce(c2, batch(pid, 2, ['c']));
    while (retry.errorCode !== ErrorCode.NONE && Date.now() < deadline) {
      // The new leader may not have taken over yet (NOT_LEADER_OR_FOLLOWER, NOT_ENOUGH_REPLICAS): poll.
      await new Promise((r) => setTimeout(r, 50));
      retry = await produce(c2, batch(pid, 2, ['c']));
    }
    assert.equal(retry, { errorCode: ErrorCode.NONE, baseOffset: 2 }, 'the retry gets the original offset');
    assert.equal(await produce(c2, batch(pid, 0, ['a', 'b'])), { errorCode: ErrorCode.NONE, baseOffset: 0 });
    assert.is((await produce(c2, batch(pid, 5, ['gap']))).errorCode, ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
    assert.equal(await produce(c2, batch(pid, 3, ['d'])), { errorCode: ErrorCode.NONE, baseOffset: 3 });
    const end = (await listLatestOffsets(cluster.addressOf(newLeader), 'idem-fo', [0])).get(0)!;
    assert.equal(end, { errorCode: ErrorCode.NONE, offset: 4 }, 'no copy of a retried batch was stored');
  } finally {
    for (const c of conns) c.close();
    await cluster?.close();
  }
});

test("Kastor's idempotent producer across a leader SIGKILL: every record stored exactly once, in order", async () => {
  let cluster: TestCluster | undefined;
  try {
    cluster = await startTestCluster({ brokers: 3, topics: [{ name: 'idem-once', partitions: 1, replicationFactor: 3, config: { 'min.insync.replicas': '2' } }] });
    const kafka = new Kafka({ bootstrap: cluster.bootstrapServers, clientId: 'idem-failover', retry: { retries: 30, initialBackoffMs: 100, maxBackoffMs: 1000 } });
    const producer = kafka.producer({ idempotent: true, deliveryTimeoutMs: 60_000, timeoutMs: 10_000 });
    const acked: Array<RecordMetadata & { value: string }> = [];
    const TOTAL = 90;
    let killed = -1;
    const sends: Array<Promise<void>> = [];
    for (let i = 0; i < TOTAL; i++) {
      if (i === 30) {
        await Promise.all(sends.splice(0)); // some acknowledged before the kill
        // Kill while the next sends are in flight.
        const messages = Array.from({ length: 10 }, (_, j) => ({ value: `m-${i}-${j}`, partition: 0 }));
        sends.push(producer.send({ topic: 'idem-once', messages }).then((meta) => meta.forEach((m, j) => acked.push({ ...m, value: messages[j]!.value }))));
        killed = await cluster.killLeader('idem-once', 0);
        continue;
      }
      const messages = Array.from({ length: 10 }, (_, j) => ({ value: `m-${i}-${j}`, partition: 0 }));
      sends.push(producer.send({ topic: 'idem-once', messages }).then((meta) => meta.forEach((m, j) => acked.push({ ...m, value: messages[j]!.value }))));
      if (sends.length >= 5) await Promise.all(sends.splice(0));
    }
    await Promise.all(sends);
    await producer.close();
    assert.ok(killed > 0);
    assert.is(acked.length, TOTAL * 10, 'every send was acknowledged');

    const consumer = kafka.consumer({ maxWaitMs: 200 });
    consumer.assign([{ topic: 'idem-once', partition: 0, offset: 'earliest' as const }]);
    const stored: string[] = [];
    const deadline = Date.now() + 30_000;
    // The iteration ends when the consumer closes: a deadline that closes it turns a shortfall into a failed assertion.
    const guard = setTimeout(() => void consumer.close(), 30_000);
    for await (const batch of consumer) {
      for (const rec of batch.records) {
        assert.is(rec.offset, BigInt(stored.length), 'offsets are dense');
        stored.push(rec.value!.toString());
      }
      if (stored.length >= TOTAL * 10 || Date.now() > deadline) break;
    }
    clearTimeout(guard);
    await consumer.close();
    const expected = Array.from({ length: TOTAL }, (_, i) => Array.from({ length: 10 }, (_, j) => `m-${i}-${j}`)).flat();
    assert.equal(stored, expected, 'each record exactly once, in send order');
    for (const a of acked) assert.is(stored[Number(a.offset)], a.value, `acknowledged offset of ${a.value}`);
  } finally {
    await cluster?.close();
  }
});

test.run();

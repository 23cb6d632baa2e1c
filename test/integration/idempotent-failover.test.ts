// The idempotent producer across a leader failover (KIP-98): followers keep the producer state from the
// batches they replicate, so after the leader is SIGKILLed the new leader recognises a retry of a batch the
// old leader acknowledged (acks=all) and answers with its original offset instead of storing it again.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startTestCluster, type TestCluster } from '../../src/testing/test-cluster.ts';
import { listLatestOffsets } from '../../src/testing/kafka-request.ts';
import { BrokerConnection } from '../../src/client/broker-connection.ts';
import { ApiKey } from '../../src/protocol/generated/api-keys.ts';
import { ErrorCode } from '../../src/protocol/generated/errors.ts';
import { buildRecordBatch } from '../../src/protocol/record-batch.ts';

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

test.run();

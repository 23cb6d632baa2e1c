// KIP-664's operator APIs through three whole brokers (memory runtime): DescribeTransactions is answered by the
// transactional id's coordinator only (NOT_COORDINATOR at the others), ListTransactions lists a transaction at
// its coordinator's broker and nowhere else, and DescribeProducers is answered by the partition's leader (the
// producer's open transaction's first offset) and refused at a follower with NOT_LEADER_OR_FOLLOWER.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Broker } from '../../actors/broker-actor.ts';
import { memoryCluster } from '../../src/runtime/memory/memory-runtime.ts';
import { ApiKey } from '../../src/protocol/generated/api-keys.ts';
import { ErrorCode } from '../../src/protocol/generated/errors.ts';
import { buildRecordBatch } from '../../src/protocol/record-batch-builder.ts';
import { ask, createOrdersEverywhere, findTxnCoordinator, startBrokers } from '../helpers/memory-brokers.ts';

const TXN_ID = 'tx-admin';

test('DescribeTransactions at the coordinator only, ListTransactions per coordinator, DescribeProducers at the leader only', async () => {
  const cluster = memoryCluster({ seed: 41 });
  const { brokers, stop } = await startBrokers(cluster);
  try {
    const orders = await createOrdersEverywhere(cluster, brokers);
    const byId = (id: number) => brokers.find((b) => b.config.brokerId === id)!;

    const coordinator: Broker | undefined = await findTxnCoordinator(cluster, brokers, TXN_ID);
    const others = brokers.filter((b) => b !== coordinator);

    const init = await ask(cluster, coordinator!, ApiKey.InitProducerId, 3, { transactionalId: TXN_ID, transactionTimeoutMs: 60_000, producerId: -1n, producerEpoch: -1 });
    assert.is(init.errorCode, ErrorCode.NONE);
    const added = await ask(cluster, coordinator!, ApiKey.AddPartitionsToTxn, 3, {
      v3AndBelowTransactionalId: TXN_ID,
      v3AndBelowProducerId: init.producerId,
      v3AndBelowProducerEpoch: init.producerEpoch,
      v3AndBelowTopics: [{ name: 'orders', partitions: [0] }],
    });
    assert.is(added.resultsByTopicV3AndBelow[0]!.resultsByPartition[0]!.partitionErrorCode, ErrorCode.NONE);

    // An id this coordinator would coordinate but has never seen; one coordinated elsewhere.
    const ids = Array.from({ length: 100 }, (_, i) => `nobody-${i}`);
    const unseen = ids.find((id) => coordinator!.services!.txn!.route(id).shard)!;
    const foreign = ids.find((id) => coordinator!.services!.txn!.route(id).errorCode === ErrorCode.NOT_COORDINATOR)!;
    assert.ok(unseen && foreign, 'ids coordinated here and elsewhere');
    const described = await ask(cluster, coordinator!, ApiKey.DescribeTransactions, 0, { transactionalIds: [TXN_ID, unseen, foreign] });
    const [mine, nobody, notHere] = described.transactionStates;
    assert.is(mine!.errorCode, ErrorCode.NONE);
    assert.is(mine!.transactionState, 'Ongoing');
    assert.is(mine!.producerId, init.producerId);
    assert.is(mine!.producerEpoch, init.producerEpoch);
    assert.is(mine!.transactionTimeoutMs, 60_000);
    assert.ok(mine!.transactionStartTimeMs >= 0n);
    assert.equal(mine!.topics.map((t) => [t.topic, t.partitions]), [['orders', [0]]]);
    assert.is(nobody!.errorCode, ErrorCode.TRANSACTIONAL_ID_NOT_FOUND);
    assert.is(notHere!.errorCode, ErrorCode.NOT_COORDINATOR);
    for (const b of others) {
      const elsewhere = await ask(cluster, b, ApiKey.DescribeTransactions, 0, { transactionalIds: [TXN_ID] });
      assert.is(elsewhere.transactionStates[0]!.errorCode, ErrorCode.NOT_COORDINATOR, `broker ${b.config.brokerId}`);
    }
    for (const b of brokers) {
      const listed = await ask(cluster, b, ApiKey.ListTransactions, 1, { stateFilters: [], producerIdFilters: [], durationFilter: -1n });
      assert.is(listed.errorCode, ErrorCode.NONE);
      assert.equal(listed.transactionStates.map((t) => [t.transactionalId, t.transactionState]), b === coordinator ? [[TXN_ID, 'Ongoing']] : [], `broker ${b.config.brokerId}`);
    }

    // The transaction's first batch at the partition's leader (verified with the coordinator, KIP-890).
    const leader = byId(orders.leader);
    const batch = buildRecordBatch({ records: [{ value: 'a' }, { value: 'b' }], producerId: Number(init.producerId), producerEpoch: init.producerEpoch, baseSequence: 0, isTransactional: true, timestamp: 1000 });
    const produced = await ask(cluster, leader, ApiKey.Produce, 7, { transactionalId: TXN_ID, acks: -1, timeoutMs: 10_000, topicData: [{ name: 'orders', partitionData: [{ index: 0, records: batch }] }] });
    assert.is(produced.responses[0]!.partitionResponses[0]!.errorCode, ErrorCode.NONE);

    const atLeader = await ask(cluster, leader, ApiKey.DescribeProducers, 0, { topics: [{ name: 'orders', partitionIndexes: [0, 5] }] });
    const [p0, p5] = atLeader.topics[0]!.partitions;
    assert.is(p0!.errorCode, ErrorCode.NONE);
    assert.equal(
      p0!.activeProducers.map((p) => [p.producerId, p.producerEpoch, p.lastSequence, p.lastTimestamp, p.currentTxnStartOffset]),
      [[init.producerId, init.producerEpoch, 1, 1000n, 0n]],
    );
    assert.is(p5!.errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    for (const b of brokers.filter((x) => x !== leader)) {
      const atFollower = await ask(cluster, b, ApiKey.DescribeProducers, 0, { topics: [{ name: 'orders', partitionIndexes: [0] }] });
      assert.is(atFollower.topics[0]!.partitions[0]!.errorCode, ErrorCode.NOT_LEADER_OR_FOLLOWER, `broker ${b.config.brokerId}`);
      assert.equal(atFollower.topics[0]!.partitions[0]!.activeProducers, []);
    }
  } finally {
    await stop();
  }
});

test.run();

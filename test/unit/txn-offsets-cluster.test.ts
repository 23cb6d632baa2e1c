// TxnOffsetCommit through whole brokers (memory runtime, three replicas of __consumer_offsets): the handler
// writes the offsets as the producer's transactional batch, OffsetFetch does not show them (requireStable
// answers UNSTABLE_OFFSET_COMMIT) until writeTxnMarkers appends the COMMIT marker on the group's partition,
// and an ABORT leaves the committed offset as it was. A transaction left open when the coordinator stops is
// still pending at the new coordinator, which loaded it from the replicated log, and commits there.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Broker } from '../../actors/broker-actor.ts';
import { memoryCluster, type MemoryCluster } from '../../src/runtime/memory/memory-runtime.ts';
import { ApiKey } from '../../src/protocol/generated/api-keys.ts';
import { ErrorCode } from '../../src/protocol/generated/errors.ts';
import { writeTxnMarkers } from '../../src/broker/txn-markers.ts';
import type { TxnMarkerType } from '../../src/log/txn-marker.ts';
import { txnOffsetCommit } from '../../src/broker/handlers/txn-offset-commit.ts';
import type { TxnOffsetCommitRequest } from '../../src/protocol/generated/txn-offset-commit.ts';
import { OFFSETS_TOPIC } from '../../src/group/offsets-topic.ts';
import { ask, createOrdersEverywhere, drive, startBrokers, stopBroker } from '../helpers/memory-brokers.ts';

const GROUP = 'g-txn';

/** The clock moves until the promise resolves. */
async function until<T>(cluster: MemoryCluster, p: Promise<T>, what: string): Promise<T> {
  const box: { value?: T; error?: unknown; done: boolean } = { done: false };
  p.then(
    (value) => Object.assign(box, { value, done: true }),
    (error) => Object.assign(box, { error, done: true }),
  );
  await drive(cluster, () => box.done, what);
  if (box.error !== undefined) throw box.error;
  return box.value as T;
}

function coordinatorOf(brokers: Broker[]): { broker: Broker; partition: number } {
  const svc = brokers.find((b) => b.services)!.services!;
  const partition = svc.groups!.partitionFor(GROUP);
  const leader = svc.metadata.snapshot().topics[OFFSETS_TOPIC]!.partitions[partition]!.leader;
  return { broker: brokers.find((b) => b.config.brokerId === leader)!, partition };
}

function commitRequest(producerId: number, producerEpoch: number, partitions: Array<[number, number, string?]>, member: Partial<TxnOffsetCommitRequest> = {}): TxnOffsetCommitRequest {
  return {
    transactionalId: `tx-${producerId}`,
    groupId: GROUP,
    producerId: BigInt(producerId),
    producerEpoch,
    generationId: -1,
    memberId: '',
    groupInstanceId: null,
    ...member,
    topics: [{ name: 'orders', partitions: partitions.map(([p, o, metadata]) => ({ partitionIndex: p, committedOffset: BigInt(o), committedLeaderEpoch: -1, committedMetadata: metadata ?? '' })) }],
  };
}

async function txnCommit(cluster: MemoryCluster, broker: Broker, req: TxnOffsetCommitRequest): Promise<number[]> {
  const r = await until(cluster, txnOffsetCommit(broker.services!, req, 3), 'the TxnOffsetCommit');
  return r.topics[0]!.partitions.map((p) => p.errorCode);
}

/** OffsetFetch v7 for orders-0: [errorCode, committed offset]. */
async function fetched(cluster: MemoryCluster, broker: Broker, requireStable: boolean): Promise<[number, number]> {
  const r = await ask(cluster, broker, ApiKey.OffsetFetch, 7, { groupId: GROUP, topics: [{ name: 'orders', partitionIndexes: [0] }], requireStable });
  const p = r.topics![0]!.partitions[0]!;
  return [p.errorCode, Number(p.committedOffset)];
}

async function endTxn(cluster: MemoryCluster, broker: Broker, partition: number, producerId: number, producerEpoch: number, result: TxnMarkerType, coordinatorEpoch = 0) {
  const answer = await until(
    cluster,
    writeTxnMarkers(broker.services!, [{ producerId, producerEpoch, coordinatorEpoch, result, topics: [{ name: OFFSETS_TOPIC, partitions: [partition] }] }], 10_000),
    `the ${result} marker`,
  );
  assert.is(answer[0]!.topics[0]!.partitions[0]!.errorCode, ErrorCode.NONE);
}

test('TxnOffsetCommit: invisible until the COMMIT marker, dropped at ABORT, still pending at a new coordinator', async () => {
  const cluster = memoryCluster({ seed: 23 });
  const { brokers, stop } = await startBrokers(cluster);
  try {
    await createOrdersEverywhere(cluster, brokers);
    const found = await ask(cluster, brokers[0]!, ApiKey.FindCoordinator, 2, { key: GROUP, keyType: 0 });
    assert.is(found.errorCode, ErrorCode.NONE, 'the first FindCoordinator creates the offsets topic');
    let coordinator = coordinatorOf(brokers);
    await drive(cluster, () => coordinator.broker.services!.groups!.route(GROUP).shard !== undefined, 'the group coordinator to load');
    const { broker, partition } = coordinator;

    // Per-partition checks and a fenced member (KIP-447 v3 fields), before anything is written.
    assert.equal(await txnCommit(cluster, broker, commitRequest(5000, 0, [[0, 1, 'x'.repeat(5000)], [7, 1]])), [ErrorCode.OFFSET_METADATA_TOO_LARGE, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]);
    assert.equal(await txnCommit(cluster, broker, commitRequest(5000, 0, [[0, 1]], { memberId: 'nobody' })), [ErrorCode.UNKNOWN_MEMBER_ID]);
    assert.equal(await txnCommit(cluster, broker, commitRequest(5000, 0, [[0, 1]], { generationId: 4 })), [ErrorCode.ILLEGAL_GENERATION]);
    assert.equal(await fetched(cluster, broker, true), [ErrorCode.NONE, -1], 'a refused commit leaves nothing pending');

    assert.equal(await txnCommit(cluster, broker, commitRequest(5000, 0, [[0, 42]])), [ErrorCode.NONE]);
    assert.equal(await fetched(cluster, broker, false), [ErrorCode.NONE, -1], 'an open transaction\'s offset is not visible');
    assert.equal(await fetched(cluster, broker, true), [ErrorCode.UNSTABLE_OFFSET_COMMIT, -1], 'requireStable: unstable');
    await endTxn(cluster, broker, partition, 5000, 0, 'COMMIT');
    assert.equal(await fetched(cluster, broker, true), [ErrorCode.NONE, 42], 'committed');

    // Another producer's transaction is aborted; a stale epoch of it is fenced by the partition.
    assert.equal(await txnCommit(cluster, broker, commitRequest(6000, 2, [[0, 60]])), [ErrorCode.NONE]);
    assert.equal(await txnCommit(cluster, broker, commitRequest(6000, 1, [[0, 61]])), [ErrorCode.INVALID_PRODUCER_EPOCH]);
    await endTxn(cluster, broker, partition, 6000, 2, 'ABORT');
    assert.equal(await fetched(cluster, broker, true), [ErrorCode.NONE, 42], 'an aborted transaction changes nothing');

    // A third transaction is open when the coordinator stops: the new one loaded it as pending.
    assert.equal(await txnCommit(cluster, broker, commitRequest(7000, 0, [[0, 77]])), [ErrorCode.NONE]);
    await stopBroker(cluster, broker);
    const others = brokers.filter((b) => b !== broker);
    await drive(cluster, () => {
      const next = coordinatorOf(others);
      return next.broker !== undefined && next.broker.services!.groups!.route(GROUP).shard !== undefined;
    }, 'a new group coordinator');
    coordinator = coordinatorOf(others);
    assert.is.not(coordinator.broker, broker);
    assert.equal(await fetched(cluster, coordinator.broker, true), [ErrorCode.UNSTABLE_OFFSET_COMMIT, -1]);
    assert.equal(await fetched(cluster, coordinator.broker, false), [ErrorCode.NONE, 42]);
    await endTxn(cluster, coordinator.broker, partition, 7000, 0, 'COMMIT', 1);
    assert.equal(await fetched(cluster, coordinator.broker, true), [ErrorCode.NONE, 77]);
  } finally {
    await stop();
  }
});

test.run();

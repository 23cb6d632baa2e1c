// DeleteRecords, DescribeLogDirs and OffsetForLeaderEpoch through the brokers' request routers, three whole
// brokers on the memory runtime (one partition, three replicas): the deletion moves every replica's log start
// and is answered with the ISR's low watermark, consumers below it get OFFSET_OUT_OF_RANGE and ListOffsets
// earliest answers it, the next leader starts there too, a compacted topic refuses it; DescribeLogDirs lists each replica's bytes; and
// OffsetForLeaderEpoch answers from the leader's epoch history once the partition has had two leader epochs,
// with KIP-320's fencing errors.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { memoryCluster } from '../../src/runtime/memory/memory-runtime.ts';
import { ApiKey } from '../../src/protocol/generated/api-keys.ts';
import { ErrorCode } from '../../src/protocol/generated/errors.ts';
import { recordsIn } from '../helpers/log-fixtures.ts';
import { ask, createOrdersEverywhere, drive, produceBatch, startBrokers, stopBroker } from '../helpers/memory-brokers.ts';
import type { Broker } from '../../actors/broker-actor.ts';
import type { MemoryCluster } from '../../src/runtime/memory/memory-runtime.ts';

const fetchAt = (cluster: MemoryCluster, b: Broker, offset: number) =>
  ask(cluster, b, ApiKey.Fetch, 11, {
    replicaId: -1, maxWaitMs: 0, minBytes: 1, maxBytes: 1 << 20, isolationLevel: 0, sessionId: 0, sessionEpoch: -1, rackId: '', forgottenTopicsData: [],
    topics: [{ topic: 'orders', partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: BigInt(offset), logStartOffset: -1n, partitionMaxBytes: 1 << 20 }] }],
  }).then((r) => r.responses[0]!.partitions[0]!);

const earliest = (cluster: MemoryCluster, b: Broker) =>
  ask(cluster, b, ApiKey.ListOffsets, 5, { replicaId: -1, isolationLevel: 0, topics: [{ name: 'orders', partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -2n }] }] }).then((r) => r.topics[0]!.partitions[0]!);

const deleteBefore = (cluster: MemoryCluster, b: Broker, offset: number, topic = 'orders') =>
  ask(cluster, b, ApiKey.DeleteRecords, 2, { topics: [{ name: topic, partitions: [{ partitionIndex: 0, offset: BigInt(offset) }] }], timeoutMs: 5_000 }).then((r) => r.topics[0]!.partitions[0]!);

const epochEnd = (cluster: MemoryCluster, b: Broker, leaderEpoch: number, currentLeaderEpoch = -1, topic = 'orders') =>
  ask(cluster, b, ApiKey.OffsetForLeaderEpoch, 4, { replicaId: -1, topics: [{ topic, partitions: [{ partition: 0, currentLeaderEpoch, leaderEpoch }] }] }).then((r) => r.topics[0]!.partitions[0]!);

test('DeleteRecords, DescribeLogDirs and OffsetForLeaderEpoch over two leader epochs', async () => {
  const cluster = memoryCluster({ seed: 18 });
  const { brokers, stop } = await startBrokers(cluster);
  try {
    const first = await createOrdersEverywhere(cluster, brokers);
    const leader = brokers[first.leader - 1]!;
    const follower = brokers.find((b) => b !== leader)!;
    for (const tag of ['a', 'b', 'c']) assert.is((await produceBatch(cluster, leader, tag)).errorCode, ErrorCode.NONE);

    const dirs = await ask(cluster, follower, ApiKey.DescribeLogDirs, 4, { topics: null });
    assert.is(dirs.results.length, 1);
    assert.is(dirs.results[0]!.logDir, `/data/b${follower.config.brokerId}`);
    const orders = dirs.results[0]!.topics.find((t) => t.name === 'orders')!;
    assert.is(orders.partitions.length, 1);
    assert.ok(orders.partitions[0]!.partitionSize > 0n, 'the replica has bytes on disk');
    assert.is(orders.partitions[0]!.offsetLag, 0n);
    assert.is(orders.partitions[0]!.isFutureKey, false);
    assert.is(dirs.results[0]!.totalBytes, -1n, 'the memory storage cannot tell its size');
    const listed = await ask(cluster, follower, ApiKey.DescribeLogDirs, 1, { topics: [{ topic: 'nope', partitions: [0] }] });
    assert.equal(listed.results[0]!.topics, [{ name: 'nope', partitions: [] }]);

    assert.is((await deleteBefore(cluster, follower, 4)).errorCode, ErrorCode.NOT_LEADER_OR_FOLLOWER);
    assert.is((await deleteBefore(cluster, leader, 4, 'nope')).errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);
    assert.is((await deleteBefore(cluster, leader, 10)).errorCode, ErrorCode.OFFSET_OUT_OF_RANGE, 'past the high watermark');
    assert.is((await deleteBefore(cluster, leader, -7)).errorCode, ErrorCode.OFFSET_OUT_OF_RANGE);
    const compacted = await ask(cluster, leader, ApiKey.CreateTopics, 4, {
      topics: [{ name: 'table', numPartitions: -1, replicationFactor: -1, assignments: [{ partitionIndex: 0, brokerIds: [leader.config.brokerId] }], configs: [{ name: 'cleanup.policy', value: 'compact' }] }],
      timeoutMs: 10_000,
      validateOnly: false,
    });
    assert.is(compacted.topics[0]!.errorCode, ErrorCode.NONE);
    await drive(cluster, () => leader.services!.registry.get('table', 0)?.role === 'leader', 'the compacted topic led');
    assert.is((await deleteBefore(cluster, leader, 0, 'table')).errorCode, ErrorCode.POLICY_VIOLATION, 'a compacted topic keeps its records');
    const deleted = await deleteBefore(cluster, leader, 4);
    assert.equal([deleted.errorCode, deleted.lowWatermark], [ErrorCode.NONE, 4n]);
    for (const b of brokers) assert.is(b.services!.registry.get('orders', 0)!.log!.logStartOffset, 4, `broker ${b.config.brokerId} moved its log start`);
    assert.is((await fetchAt(cluster, leader, 3)).errorCode, ErrorCode.OFFSET_OUT_OF_RANGE);
    const from4 = await fetchAt(cluster, leader, 4);
    assert.is(from4.logStartOffset, 4n);
    assert.ok(recordsIn(from4.records!).some(([o]) => o === 4));
    assert.is((await earliest(cluster, leader)).offset, 4n);

    // OffsetForLeaderEpoch on the first leader: one epoch, ending at the log end.
    const e0 = first.leaderEpoch;
    assert.equal(await epochEnd(cluster, leader, e0), { errorCode: ErrorCode.NONE, partition: 0, leaderEpoch: e0, endOffset: 9n });
    assert.is((await epochEnd(cluster, follower, e0)).errorCode, ErrorCode.NOT_LEADER_OR_FOLLOWER);
    assert.is((await epochEnd(cluster, leader, e0, 0, 'nope')).errorCode, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION);

    // The leader stops (controlled shutdown): the next leader, epoch e1, keeps the log start and writes more.
    await stopBroker(cluster, leader);
    const rest = brokers.filter((b) => b !== leader);
    const second = () => rest[0]!.services!.metadata.snapshot().topics['orders']!.partitions[0]!;
    await drive(cluster, () => second().leader !== first.leader && second().leader > 0 && brokers[second().leader - 1]!.services!.registry.get('orders', 0)?.role === 'leader', 'a new leader');
    const next = brokers[second().leader - 1]!;
    const e1 = second().leaderEpoch;
    assert.ok(e1 > e0);
    assert.is(next.services!.registry.get('orders', 0)!.log!.logStartOffset, 4);
    assert.is((await earliest(cluster, next)).offset, 4n);
    assert.is((await fetchAt(cluster, next, 2)).errorCode, ErrorCode.OFFSET_OUT_OF_RANGE);
    assert.is((await produceBatch(cluster, next, 'd')).errorCode, ErrorCode.NONE);

    assert.equal(await epochEnd(cluster, next, e0, e1), { errorCode: ErrorCode.NONE, partition: 0, leaderEpoch: e0, endOffset: 9n }, 'the old epoch ends where the new one starts');
    assert.equal(await epochEnd(cluster, next, e1, e1), { errorCode: ErrorCode.NONE, partition: 0, leaderEpoch: e1, endOffset: 12n }, 'the current epoch ends at the log end');
    assert.equal(await epochEnd(cluster, next, e1 + 5), { errorCode: ErrorCode.NONE, partition: 0, leaderEpoch: -1, endOffset: -1n }, 'an epoch past the history');
    assert.is((await epochEnd(cluster, next, e0, e0)).errorCode, ErrorCode.FENCED_LEADER_EPOCH);
    assert.is((await epochEnd(cluster, next, e1, e1 + 1)).errorCode, ErrorCode.UNKNOWN_LEADER_EPOCH);
    const v0 = await ask(cluster, next, ApiKey.OffsetForLeaderEpoch, 0, { topics: [{ topic: 'orders', partitions: [{ partition: 0, leaderEpoch: e0 }] }] });
    assert.is(v0.topics[0]!.partitions[0]!.endOffset, 9n, 'v0 carries the end offset only');
  } finally {
    await stop();
  }
});

test.run();

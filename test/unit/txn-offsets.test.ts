// Offsets committed inside a transaction (TxnOffsetCommit, KIP-98) on a __consumer_offsets log in memory: the
// loader applies a transaction's offsets at its COMMIT marker, drops them at ABORT, keeps those of a producer
// with no marker yet pending, and lets a commit later in the log win over a transaction committed after it; the
// coordinator shard writes one transactional batch of the producer, keeps its offsets invisible until
// completeTransaction, and a new leader's load of what the shard wrote gives the same state.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PartitionLog } from '../../src/log/partition-log.ts';
import { MemoryStorage } from '../../src/log/memory-storage.ts';
import { buildTxnMarkerBatch, type TxnMarkerType } from '../../src/log/txn-marker.ts';
import { buildRecordBatch, readBatchHeader, TRANSACTIONAL_FLAG } from '../../src/protocol/record-batch.ts';
import { encodeOffset, offsetKey } from '../../src/group/offsets-record-format.ts';
import { loadOffsetsPartition, topicPartitionKey, type GroupOffsets } from '../../src/group/offsets-loader.ts';
import { CoordinatorShard } from '../../src/group/coordinator-shard.ts';
import type { PartitionReplica, ProduceOptions } from '../../src/broker/partition-replica.ts';
import { SimulatedClock } from '../../src/runtime/memory/simulated-clock.ts';
import { ErrorCode } from '../../src/protocol/generated/errors.ts';
import { KafkaError } from '../../src/broker/kafka-error.ts';
import { silentLogger } from '../../src/util/logger.ts';

const clock = new SimulatedClock();

async function openLog(): Promise<PartitionLog> {
  return PartitionLog.open({ dir: '/data/__consumer_offsets-0', storage: new MemoryStorage(), config: {}, clock, onWarning: () => {} });
}

const commitValue = (offset: number) => encodeOffset({ offset: BigInt(offset), leaderEpoch: -1, metadata: '', commitTimestamp: 1 });

/** One batch of offset records `[group, topic, partition, offset]`; transactional for `producerId`. */
function offsetsBatch(commits: Array<[string, string, number, number]>, producerId?: number): Buffer {
  const records = commits.map(([g, t, p, o]) => ({ key: offsetKey(g, t, p), value: commitValue(o) }));
  if (producerId === undefined) return buildRecordBatch({ records, timestamp: 1 });
  return buildRecordBatch({ records, timestamp: 1, producerId, producerEpoch: 0, baseSequence: -1, isTransactional: true });
}

const marker = (producerId: number, type: TxnMarkerType) => buildTxnMarkerBatch(producerId, 0, { type, coordinatorEpoch: 0 }, 1);

/** group → "topic:partition" → offset, for comparing. */
function plain(offsets: GroupOffsets): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const [group, byTp] of offsets) {
    out[group] = {};
    for (const [tp, o] of byTp) out[group][tp.replace('\u0000', ':')] = Number(o.offset);
  }
  return out;
}

function plainPending(pending: Map<number, GroupOffsets>): Record<number, Record<string, Record<string, number>>> {
  return Object.fromEntries([...pending].map(([producerId, byGroup]) => [producerId, plain(byGroup)]));
}

test('loader: a committed transaction\'s offsets apply, an aborted one\'s are dropped, an open one\'s stay pending', async () => {
  const log = await openLog();
  await log.append(offsetsBatch([['g', 'orders', 0, 5], ['g', 'orders', 1, 7]]), 0); // 0-1 plain commits
  await log.append(offsetsBatch([['g', 'orders', 0, 10], ['h', 'orders', 0, 3]], 100), 0); // 2-3 producer 100
  await log.append(offsetsBatch([['g', 'orders', 1, 20]], 200), 0); // 4 producer 200
  await log.append(offsetsBatch([['g', 'orders', 2, 30]], 300), 0); // 5 producer 300, never ended
  await log.append(marker(200, 'ABORT'), 0); // 6
  await log.append(marker(100, 'COMMIT'), 0); // 7
  await log.append(offsetsBatch([['g', 'orders', 1, 40]], 200), 0); // 8 producer 200's next transaction, open

  const loaded = await loadOffsetsPartition(log);
  assert.equal(plain(loaded.offsets), { g: { 'orders:0': 10, 'orders:1': 7 }, h: { 'orders:0': 3 } });
  assert.equal(plainPending(loaded.pendingTxnOffsets), { 200: { g: { 'orders:1': 40 } }, 300: { g: { 'orders:2': 30 } } });
  assert.is(loaded.skipped, 0);
});

test('loader: a plain commit later in the log wins over a transaction committed after it (Kafka\'s appendedBatchOffset)', async () => {
  const log = await openLog();
  await log.append(offsetsBatch([['g', 'orders', 0, 10], ['g', 'orders', 1, 11]], 100), 0); // 0-1
  await log.append(offsetsBatch([['g', 'orders', 0, 50]]), 0); // 2
  await log.append(marker(100, 'COMMIT'), 0); // 3
  const loaded = await loadOffsetsPartition(log);
  assert.equal(plain(loaded.offsets), { g: { 'orders:0': 50, 'orders:1': 11 } });
  assert.equal(loaded.pendingTxnOffsets.size, 0);
});

/** A replica stand-in that appends to the log and remembers how it was asked. */
function fakeReplica(log: PartitionLog) {
  const calls: Array<{ acks: number; opts: ProduceOptions | undefined; attributes: number; producerId: number; producerEpoch: number; baseSequence: number }> = [];
  let failWith: Error | null = null;
  const replica = {
    async produce(batch: Buffer, acks: number, _timeoutMs: number, opts?: ProduceOptions) {
      const h = readBatchHeader(batch, 0);
      calls.push({ acks, opts, attributes: h.attributes, producerId: h.producerId, producerEpoch: h.producerEpoch, baseSequence: h.baseSequence });
      if (failWith) throw failWith;
      const r = await log.append(batch, 0);
      return { baseOffset: r.baseOffset, logStartOffset: 0, logAppendTime: -1 };
    },
  };
  return { replica: replica as unknown as PartitionReplica, calls, fail: (e: Error | null) => (failWith = e) };
}

function shardOn(replica: PartitionReplica): CoordinatorShard {
  return new CoordinatorShard({ partition: 0, replica, leaderEpoch: 0, initialRebalanceDelayMs: 0, writeTimeoutMs: 1000, clock, logger: silentLogger });
}

const entry = (topic: string, partition: number, offset: number) => ({ topic, partition, value: { offset: BigInt(offset), leaderEpoch: -1, metadata: '', commitTimestamp: 1 } });

test('shard: transactional offsets are one transactional batch, invisible until COMMIT; ABORT drops them; a new leader loads the same', async () => {
  const log = await openLog();
  const { replica, calls, fail } = fakeReplica(log);
  const shard = shardOn(replica);
  assert.is(await shard.commit('g', [entry('orders', 0, 5)]), ErrorCode.NONE);

  assert.is(await shard.commitTxn('g', 100, 3, [entry('orders', 0, 10), entry('orders', 1, 11)]), ErrorCode.NONE);
  const txnCall = calls.at(-1)!;
  assert.equal([txnCall.acks, txnCall.opts?.origin, (txnCall.attributes & TRANSACTIONAL_FLAG) !== 0, txnCall.producerId, txnCall.producerEpoch, txnCall.baseSequence], [-1, 'coordinator', true, 100, 3, -1]);
  assert.is(calls[0]!.attributes & TRANSACTIONAL_FLAG, 0, 'a plain commit is not transactional');
  assert.equal(plain(shard.offsets), { g: { 'orders:0': 5 } }, 'pending offsets are not visible');
  assert.ok(shard.hasPendingTxnOffset('g', 'orders', 1));
  assert.not.ok(shard.hasPendingTxnOffset('g', 'orders', 2));
  assert.not.ok(shard.hasPendingTxnOffset('other', 'orders', 1));

  assert.is(await shard.commitTxn('h', 200, 0, [entry('orders', 0, 99)]), ErrorCode.NONE);
  shard.completeTransaction(200, false);
  assert.not.ok(shard.hasPendingTxnOffset('h', 'orders', 0));
  assert.is(shard.offsets.get('h'), undefined, 'an aborted transaction leaves nothing visible');

  // Producer 300's transaction stays open; its write's failure leaves no pending offset.
  assert.is(await shard.commitTxn('g', 300, 0, [entry('orders', 2, 30)]), ErrorCode.NONE);
  fail(new KafkaError(ErrorCode.INVALID_PRODUCER_EPOCH, 'stale'));
  assert.is(await shard.commitTxn('g', 400, 0, [entry('orders', 3, 40)]), ErrorCode.INVALID_PRODUCER_EPOCH, 'the producer check\'s error as the append gave it');
  assert.not.ok(shard.hasPendingTxnOffset('g', 'orders', 3));
  fail(null);

  await log.append(marker(200, 'ABORT'), 0);
  await log.append(marker(100, 'COMMIT'), 0);
  shard.completeTransaction(100, true);
  assert.equal(plain(shard.offsets), { g: { 'orders:0': 10, 'orders:1': 11 } });
  assert.equal(plainPending(shard.pendingTxnOffsets), { 300: { g: { 'orders:2': 30 } } });

  // What a new leader reads back is what this shard holds.
  const loaded = await loadOffsetsPartition(log);
  assert.equal(plain(loaded.offsets), plain(shard.offsets));
  assert.equal(plainPending(loaded.pendingTxnOffsets), plainPending(shard.pendingTxnOffsets));
  const next = shardOn(replica);
  next.adopt(loaded);
  assert.ok(next.hasPendingTxnOffset('g', 'orders', 2));
  assert.ok(next.group('g'), 'the group is loaded');
  next.completeTransaction(300, true);
  assert.equal(plain(next.offsets), { g: { 'orders:0': 10, 'orders:1': 11, 'orders:2': 30 } });
  shard.unload();
  next.unload();
});

test('shard: a plain commit written after a transactional one is kept when the transaction commits later', async () => {
  const log = await openLog();
  const shard = shardOn(fakeReplica(log).replica);
  assert.is(await shard.commitTxn('g', 100, 0, [entry('orders', 0, 10)]), ErrorCode.NONE);
  assert.is(await shard.commit('g', [entry('orders', 0, 50)]), ErrorCode.NONE);
  shard.completeTransaction(100, true);
  assert.equal(shard.offsets.get('g')?.get(topicPartitionKey('orders', 0))?.offset, 50n);
  shard.unload();
});

test.run();

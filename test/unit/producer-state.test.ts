// The idempotent producer's per-partition rules (KIP-98, Kafka's ProducerStateManager): stale epochs,
// new epochs from sequence 0, duplicates of the last five batches answered with their original offsets,
// gaps refused, sequences wrapping at Int32.MAX; non-idempotent batches (producerId -1) untouched; the
// table rebuilt from a log and from replicated batches.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ProducerStateTable, lastSequence, inSequence, PRODUCER_BATCH_HISTORY, type ProducerBatch } from '../../src/producer-state/producer-state.ts';
import { PartitionProducers, scanLog } from '../../src/producer-state/partition-producers.ts';
import { ErrorCode } from '../../src/protocol/generated/errors.ts';
import { buildRecordBatch } from '../../src/protocol/record-batch-builder.ts';
import { PartitionLog } from '../../src/log/partition-log.ts';
import { MemoryStorage } from '../../src/log/memory-storage.ts';

const INT32_MAX = 0x7fff_ffff;

function batch(producerId: number, producerEpoch: number, baseSequence: number, count = 1): ProducerBatch {
  return { producerId, producerEpoch, baseSequence, lastOffsetDelta: count - 1, maxTimestamp: 1000 };
}

/** Checks and, when allowed, applies at the table's next offset (what the leader does). */
function produce(t: ProducerStateTable, b: ProducerBatch) {
  const v = t.check(b);
  if (v.kind === 'append') t.apply(b, t.nextOffset);
  return v;
}

function errorOf(v: ReturnType<ProducerStateTable['check']>): number {
  return v.kind === 'error' ? v.errorCode : ErrorCode.NONE;
}

test('a new producer starts at sequence 0; otherwise UNKNOWN_PRODUCER_ID', () => {
  const t = new ProducerStateTable();
  assert.is(errorOf(t.check(batch(7, 0, 5))), ErrorCode.UNKNOWN_PRODUCER_ID);
  assert.equal(produce(t, batch(7, 0, 0, 3)), { kind: 'append' });
  assert.equal(t.entry(7)!.batches, [{ firstSeq: 0, lastSeq: 2, firstOffset: 0, lastOffset: 2, timestamp: 1000 }]);
  assert.equal(produce(t, batch(7, 0, 3, 2)), { kind: 'append' });
  assert.is(t.nextOffset, 5);
});

test('a gap in sequence is OUT_OF_ORDER_SEQUENCE_NUMBER and nothing is recorded', () => {
  const t = new ProducerStateTable();
  produce(t, batch(1, 0, 0, 2));
  assert.is(errorOf(t.check(batch(1, 0, 3))), ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
  assert.is(errorOf(t.check(batch(1, 0, 1))), ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, 'overlapping but not an exact duplicate');
  assert.is(t.entry(1)!.batches.length, 1);
});

test('a duplicate of one of the last five batches answers with its original offsets', () => {
  const t = new ProducerStateTable();
  produce(t, batch(99, 0, 0)); // offset 0 from another producer first
  for (let i = 0; i < 7; i++) produce(t, batch(1, 0, i * 2, 2));
  // Batches of producer 1: seq 0-1 @1, 2-3 @3, ..., 12-13 @13; only the last five are kept.
  assert.is(t.entry(1)!.batches.length, PRODUCER_BATCH_HISTORY);
  assert.equal(t.check(batch(1, 0, 12, 2)), { kind: 'duplicate', firstOffset: 13, lastOffset: 14 });
  assert.equal(t.check(batch(1, 0, 4, 2)), { kind: 'duplicate', firstOffset: 5, lastOffset: 6 });
  assert.is(errorOf(t.check(batch(1, 0, 2, 2))), ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, 'older than the kept history');
  assert.is(t.nextOffset, 15, 'a duplicate appends nothing');
});

test('an older epoch is INVALID_PRODUCER_EPOCH; a new epoch must start at 0', () => {
  const t = new ProducerStateTable();
  produce(t, batch(5, 2, 0, 4));
  assert.is(errorOf(t.check(batch(5, 1, 4))), ErrorCode.INVALID_PRODUCER_EPOCH);
  assert.is(errorOf(t.check(batch(5, 3, 4))), ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER);
  assert.equal(produce(t, batch(5, 3, 0)), { kind: 'append' });
  assert.is(t.entry(5)!.epoch, 3);
  assert.is(t.entry(5)!.batches.length, 1, 'a new epoch forgets the old batches');
  assert.is(errorOf(t.check(batch(5, 2, 4))), ErrorCode.INVALID_PRODUCER_EPOCH);
});

test('sequences wrap at Int32.MAX', () => {
  assert.is(lastSequence(INT32_MAX - 1, 0), INT32_MAX - 1);
  assert.is(lastSequence(INT32_MAX - 1, 1), INT32_MAX);
  assert.is(lastSequence(INT32_MAX - 1, 3), 1);
  assert.ok(inSequence(INT32_MAX, 0));
  assert.not.ok(inSequence(INT32_MAX, 1));
  const t = new ProducerStateTable();
  t.apply(batch(3, 0, INT32_MAX - 2, 2), 0); // as if read from the log: seq MAX-2 .. MAX-1
  assert.equal(t.check(batch(3, 0, INT32_MAX, 3)), { kind: 'append' });
  t.apply(batch(3, 0, INT32_MAX, 3), 2); // MAX, 0, 1
  assert.equal(t.entry(3)!.batches[1], { firstSeq: INT32_MAX, lastSeq: 1, firstOffset: 2, lastOffset: 4, timestamp: 1000 });
  assert.equal(t.check(batch(3, 0, 2)), { kind: 'append' });
  assert.equal(t.check(batch(3, 0, INT32_MAX, 3)), { kind: 'duplicate', firstOffset: 2, lastOffset: 4 });
});

test('producerId -1 batches skip every rule; a producer id without a sequence is INVALID_RECORD', () => {
  const t = new ProducerStateTable();
  assert.equal(t.check(batch(-1, 0, 0)), { kind: 'append' });
  assert.equal(t.check(batch(-1, -1, -1)), { kind: 'append' });
  t.apply(batch(-1, 0, 0, 10), 0);
  assert.is(t.size, 0);
  assert.is(t.nextOffset, 10);
  assert.is(errorOf(t.check(batch(4, 0, -1))), ErrorCode.INVALID_RECORD);
});

test('apply ignores batches below the applied offset (a batch seen twice counts once)', () => {
  const t = new ProducerStateTable();
  t.apply(batch(1, 0, 0, 2), 0);
  t.apply(batch(1, 0, 0, 2), 0);
  assert.is(t.entry(1)!.batches.length, 1);
});

test('the table is rebuilt from a log and from replicated batches', async () => {
  const storage = new MemoryStorage();
  const log = await PartitionLog.open({ dir: '/p/t-0', storage, clock: { wall: () => 1000 } });
  const b = (pid: number, seq: number, n: number) =>
    buildRecordBatch({ records: Array.from({ length: n }, (_, i) => ({ value: `v${seq + i}` })), producerId: pid, producerEpoch: 1, baseSequence: seq, timestamp: 1000 });
  await log.append(b(10, 0, 3), 0);
  await log.append(buildRecordBatch({ records: [{ value: 'plain' }], timestamp: 1000 }), 0);
  await log.append(b(10, 3, 2), 0);
  await log.append(b(11, 0, 1), 0);
  const t = await scanLog(log);
  assert.is(t.nextOffset, 7);
  assert.equal(t.check(batch(10, 1, 3, 2)), { kind: 'duplicate', firstOffset: 4, lastOffset: 5 });
  assert.equal(t.check(batch(10, 1, 5, 1)), { kind: 'append' });
  assert.equal(t.check(batch(11, 1, 0, 1)), { kind: 'duplicate', firstOffset: 6, lastOffset: 6 });

  // A follower applies what it replicated: the same bytes, read back with their offsets.
  const follower = new PartitionProducers();
  const all = await log.read(0, 1 << 20);
  follower.applyBatches(all.data, 4);
  assert.equal(follower.table.check(batch(10, 1, 3, 2)), { kind: 'duplicate', firstOffset: 4, lastOffset: 5 });
  assert.is(follower.table.entry(11)!.batches[0]!.firstOffset, 6);
  await log.close();
});

test('exclusive sections run one at a time', async () => {
  const p = new PartitionProducers();
  const order: string[] = [];
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const a = p.exclusive(async () => {
    order.push('a-start');
    await gate;
    order.push('a-end');
  });
  const b = p.exclusive(() => void order.push('b'));
  await Promise.resolve();
  release();
  await Promise.all([a, b]);
  assert.equal(order, ['a-start', 'a-end', 'b']);
});

test('producer.id.expiration.ms: producers idle that long leave the table, unless a transaction of theirs is open', () => {
  const t = new ProducerStateTable();
  const at = (b: ProducerBatch, maxTimestamp: number, attributes = 0) => t.apply({ ...b, maxTimestamp, attributes }, t.nextOffset);
  at(batch(1, 0, 0), 1_000);
  at(batch(2, 0, 0), 1_000);
  at(batch(2, 0, 1), 4_000);
  at(batch(3, 0, 0), 1_000, 0x10); // transactional: opens a transaction
  assert.equal(t.entries().map((e) => [e.producerId, e.lastTimestamp]), [[1, 1_000], [2, 4_000], [3, 1_000]], 'the last batch counts');
  assert.is(t.expireProducers(5_000, 5_000), 0, 'none idle 5 s yet');
  assert.is(t.expireProducers(6_000, 5_000), 1);
  assert.equal(t.entries().map((e) => e.producerId), [2, 3], 'producer 1 went; producer 3 stays while its transaction is open');
  assert.is(errorOf(t.check(batch(1, 0, 1))), ErrorCode.UNKNOWN_PRODUCER_ID, 'an expired producer is unknown again');
  assert.is(t.expireProducers(1_000_000, 5_000), 1);
  assert.equal(t.entries().map((e) => e.producerId), [3]);
});

test.run();

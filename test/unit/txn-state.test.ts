// Transactions on the log side (KIP-98): the EndTransactionMarker control batch, open transactions and the last
// stable offset in the producer state, the aborted-transaction index and its overlap query, and all of it
// rebuilt from a PartitionLog after a crash (MemoryStorage) and after a follower truncation.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ProducerStateTable } from '../../src/producer-state/producer-state.ts';
import { scanLog } from '../../src/producer-state/partition-producers.ts';
import { AbortedTxnIndex } from '../../src/log/txn-index.ts';
import { buildTxnMarkerBatch, readTxnMarker, type TxnMarkerType } from '../../src/log/txn-marker.ts';
import { buildRecordBatch } from '../../src/protocol/record-batch-builder.ts';
import { readBatchHeader, CONTROL_FLAG, TRANSACTIONAL_FLAG } from '../../src/protocol/record-batch-layout.ts';
import { readRecords } from '../../src/protocol/record-batch-reader.ts';
import { validateBatch } from '../../src/protocol/record-batch-validate.ts';
import { ErrorCode } from '../../src/protocol/generated/errors.ts';
import { PartitionLog } from '../../src/log/partition-log.ts';
import { MemoryStorage } from '../../src/log/memory-storage.ts';
import { nodeClock } from '../../src/runtime/node/node-clock.ts';

const DIR = '/data/txn-0';

function txnBatch(producerId: number, baseSequence: number, count: number): Buffer {
  const records = Array.from({ length: count }, (_, i) => ({ value: `p${producerId}-${baseSequence + i}` }));
  return buildRecordBatch({ records, producerId, producerEpoch: 0, baseSequence, isTransactional: true, timestamp: 1000 });
}

function plainBatch(count: number): Buffer {
  return buildRecordBatch({ records: Array.from({ length: count }, (_, i) => ({ value: `x${i}` })), timestamp: 1000 });
}

function marker(producerId: number, type: TxnMarkerType, coordinatorEpoch = 0): Buffer {
  return buildTxnMarkerBatch(producerId, 0, { type, coordinatorEpoch }, 1000);
}

/** Applies a batch to a table at the table's next offset, as a leader append does. */
function apply(t: ProducerStateTable, buf: Buffer): number {
  const at = t.nextOffset;
  const h = readBatchHeader(buf, 0);
  t.apply(h, at, (h.attributes & CONTROL_FLAG) !== 0 ? readTxnMarker(buf, 0) : null);
  return at;
}

test('the marker is a valid control batch in Kafka\'s EndTransactionMarker format', () => {
  const buf = marker(42, 'COMMIT', 7);
  assert.ok(validateBatch(buf, 0, buf.length).ok, 'CRC and layout are valid');
  const h = readBatchHeader(buf, 0);
  assert.is(h.attributes & (CONTROL_FLAG | TRANSACTIONAL_FLAG), CONTROL_FLAG | TRANSACTIONAL_FLAG);
  assert.equal([h.producerId, h.producerEpoch, h.baseSequence, h.recordsCount], [42, 0, -1, 1]);
  const [r] = readRecords(buf, 0);
  assert.equal([...r!.key!], [0, 0, 0, 1], 'key: version 0, type 1 (COMMIT)');
  assert.equal([...r!.value!], [0, 0, 0, 0, 0, 7], 'value: version 0, coordinator epoch 7');
  assert.equal(readTxnMarker(marker(1, 'ABORT', 3), 0), { type: 'ABORT', coordinatorEpoch: 3 });
});

test('the last stable offset: the first offset of the earliest open transaction, held until the marker is below the high watermark', () => {
  const t = new ProducerStateTable();
  apply(t, plainBatch(2)); // 0-1
  apply(t, txnBatch(1, 0, 3)); // 2-4, producer 1 opens at 2
  apply(t, txnBatch(2, 0, 1)); // 5, producer 2 opens at 5
  assert.is(t.lastStableOffset(1), 1, 'never past the high watermark');
  assert.is(t.lastStableOffset(6), 2);
  assert.is(t.openTransaction(1), 2);
  apply(t, txnBatch(1, 3, 1)); // 6: still producer 1's transaction
  const commitAt = apply(t, marker(1, 'COMMIT')); // 7
  assert.is(commitAt, 7);
  assert.is(t.openTransaction(1), null);
  assert.is(t.lastStableOffset(7), 2, 'the COMMIT at 7 is not below the high watermark yet: unstable');
  assert.is(t.lastStableOffset(8), 5, 'now the earliest open transaction is producer 2\'s');
  apply(t, marker(2, 'ABORT')); // 8
  assert.is(t.lastStableOffset(8), 5);
  assert.is(t.lastStableOffset(9), 9, 'nothing open: the high watermark');
  assert.equal(t.aborted.all(), [{ producerId: 2, firstOffset: 5, lastOffset: 8, lastStableOffset: 9 }]);
  assert.is(t.aborted.size, 1, 'a COMMIT is not indexed');
});

test('a producer with an open transaction may not write outside it; old epochs and coordinators are fenced', () => {
  const t = new ProducerStateTable();
  apply(t, txnBatch(1, 0, 2));
  const plainFromSameProducer = { ...readBatchHeader(buildRecordBatch({ records: [{ value: 'v' }], producerId: 1, producerEpoch: 0, baseSequence: 2 }), 0) };
  const v = t.check(plainFromSameProducer);
  assert.is(v.kind === 'error' && v.errorCode, ErrorCode.INVALID_TXN_STATE);
  assert.equal(t.check(readBatchHeader(txnBatch(1, 2, 1), 0)), { kind: 'append' });
  apply(t, marker(1, 'ABORT', 5));
  const older = t.checkMarker(1, 0, 4);
  assert.is(older.kind === 'error' && older.errorCode, ErrorCode.TRANSACTION_COORDINATOR_FENCED);
  const stale = buildTxnMarkerBatch(1, 1, { type: 'COMMIT', coordinatorEpoch: 5 }, 1000);
  apply(t, stale); // epoch 1 now
  const fenced = t.checkMarker(1, 0, 5);
  assert.is(fenced.kind === 'error' && fenced.errorCode, ErrorCode.INVALID_PRODUCER_EPOCH);
  assert.equal(t.checkMarker(1, 1, 5), { kind: 'append' });
});

test('an ABORT with no records of its producer is indexed at the marker itself', () => {
  const t = new ProducerStateTable();
  apply(t, plainBatch(3));
  apply(t, marker(9, 'ABORT'));
  assert.equal(t.aborted.all(), [{ producerId: 9, firstOffset: 3, lastOffset: 3, lastStableOffset: 4 }]);
});

test('the index answers the aborted transactions overlapping [from, to) and stops at the first whose last stable offset reaches to', () => {
  const idx = new AbortedTxnIndex();
  idx.append({ producerId: 1, firstOffset: 0, lastOffset: 10, lastStableOffset: 5 }); // producer 2 open from 5
  idx.append({ producerId: 2, firstOffset: 5, lastOffset: 20, lastStableOffset: 21 });
  idx.append({ producerId: 3, firstOffset: 30, lastOffset: 40, lastStableOffset: 41 });
  idx.append({ producerId: 4, firstOffset: 45, lastOffset: 50, lastStableOffset: 51 });
  const ids = (from: number, to: number) => idx.overlapping(from, to).map((e) => e.producerId);
  assert.equal(ids(0, 3), [1]);
  assert.equal(ids(8, 12), [1, 2]);
  assert.equal(ids(11, 30), [2], 'producer 3 begins at 30: outside [11, 30)');
  assert.equal(ids(21, 30), []);
  assert.equal(ids(35, 100), [3, 4]);
  assert.equal(ids(51, 100), []);
  assert.throws(() => idx.append({ producerId: 5, firstOffset: 1, lastOffset: 50, lastStableOffset: 51 }), /does not follow/);
  idx.dropBelow(21);
  assert.equal(idx.all().map((e) => e.producerId), [3, 4]);
});

async function openLog(storage: MemoryStorage) {
  return PartitionLog.open({ clock: nodeClock, dir: DIR, storage, config: { segmentBytes: 300 } });
}

/** What a table holds about transactions, to compare a rebuilt one with the original. */
function txnFacts(t: ProducerStateTable, hw: number) {
  return { open: [1, 2, 3].map((p) => t.openTransaction(p)), aborted: t.aborted.all(), lso: t.lastStableOffset(hw), next: t.nextOffset };
}

/** A log with: plain 0-1, p1 txn 2-3, p2 txn 4, p1 ABORT 5, p3 txn 6-7, p2 COMMIT 8, p3 txn 9, over several segments. */
async function writeTxnLog(log: PartitionLog, live: ProducerStateTable): Promise<void> {
  for (const b of [plainBatch(2), txnBatch(1, 0, 2), txnBatch(2, 0, 1), marker(1, 'ABORT'), txnBatch(3, 0, 2), marker(2, 'COMMIT'), txnBatch(3, 2, 1)]) {
    const r = await log.append(b, 0);
    const h = readBatchHeader(b, 0);
    live.apply(h, r.baseOffset, (h.attributes & CONTROL_FLAG) !== 0 ? readTxnMarker(b, 0) : null);
  }
}

test('recovery: a reopened log rebuilds the open transactions, the LSO and the aborted index exactly', async () => {
  const storage = new MemoryStorage();
  const log = await openLog(storage);
  const live = new ProducerStateTable();
  await writeTxnLog(log, live);
  assert.ok(log.segmentInfos().length > 1, 'the transactions span segments');
  log.setHighWatermark(10);
  await log.flush();
  storage.crash();
  const again = await openLog(storage);
  assert.is(again.logEndOffset, 10);
  const rebuilt = await scanLog(again);
  assert.equal(txnFacts(rebuilt, 10), txnFacts(live, 10));
  assert.equal(rebuilt.aborted.all(), [{ producerId: 1, firstOffset: 2, lastOffset: 5, lastStableOffset: 4 }]);
  assert.equal(rebuilt.openTransaction(3), 6);
  assert.is(rebuilt.lastStableOffset(10), 6, 'p3\'s transaction is still open');
  assert.equal(rebuilt.aborted.overlapping(0, 10).map((e) => e.producerId), [1]);
  await again.close();
});

test('recovery: a crash that loses the unsynced markers leaves their transactions open and unindexed', async () => {
  const storage = new MemoryStorage();
  const log = await openLog(storage);
  const live = new ProducerStateTable();
  for (const b of [txnBatch(1, 0, 2), txnBatch(2, 0, 1)]) {
    const r = await log.append(b, 0);
    live.apply(readBatchHeader(b, 0), r.baseOffset);
  }
  await log.flush();
  await log.checkpoint();
  await log.append(marker(1, 'ABORT'), 0); // 3, never synced
  storage.crash();
  const again = await openLog(storage);
  assert.is(again.logEndOffset, 3, 'the marker was lost');
  const rebuilt = await scanLog(again);
  assert.is(rebuilt.openTransaction(1), 0, 'producer 1\'s transaction is open again');
  assert.is(rebuilt.aborted.size, 0);
  assert.is(rebuilt.lastStableOffset(3), 0);
  await again.close();
});

test('a follower truncation below a marker reopens its transaction once the table is rebuilt', async () => {
  const storage = new MemoryStorage();
  const log = await openLog(storage);
  await writeTxnLog(log, new ProducerStateTable());
  await log.truncateTo(5); // drops p1's ABORT at 5 and all after
  const rebuilt = await scanLog(log);
  assert.equal([rebuilt.openTransaction(1), rebuilt.openTransaction(2), rebuilt.openTransaction(3)], [2, 4, null]);
  assert.is(rebuilt.aborted.size, 0);
  assert.is(rebuilt.lastStableOffset(5), 2);
  await log.close();
});

test.run();

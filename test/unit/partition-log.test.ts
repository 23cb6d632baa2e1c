// PartitionLog on MemoryStorage: offsets, reads (mid-batch, maxBytes, maxOffset), segment rolls by size
// and time, index lookups over many segments, truncation, retention, timestamps, replicated appends.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PartitionLog, type LogConfig } from '../../src/log/partition-log.ts';
import { MemoryStorage } from '../../src/log/memory-storage.ts';
import { InvalidAppendError, OffsetOutOfRangeError } from '../../src/log/errors.ts';
import { readBatchHeader, validateBatch, buildRecordBatch, setBaseOffset, setPartitionLeaderEpoch } from '../../src/protocol/record-batch.ts';
import { batchOf, countLogReads, recordsIn, rejects } from '../helpers/log-fixtures.ts';
import type { Clock } from '../../src/runtime/clock.ts';
import { readOffsetCheckpoint } from '../../src/log/checkpoint.ts';
import { nodeClock } from '../../src/runtime/node/node-clock.ts';

const DIR = '/data/orders-0';

async function openLog(config: Partial<LogConfig> = {}, storage = new MemoryStorage(), clock: Pick<Clock, 'wall'> = nodeClock) {
  const warnings: string[] = [];
  const log = await PartitionLog.open({ dir: DIR, storage, config, clock, onWarning: (m) => warnings.push(m) });
  return { log, storage, warnings };
}

test('append assigns contiguous offsets, rewrites baseOffset and leader epoch, keeps the CRC valid', async () => {
  const { log } = await openLog();
  assert.is(log.logEndOffset, 0);
  const a = await log.append(batchOf('a', 3, 500), 4);
  const b = await log.append(batchOf('b', 2, 900), 4);
  assert.equal(a, { baseOffset: 0, lastOffset: 2, maxTimestamp: 500 });
  assert.equal(b, { baseOffset: 3, lastOffset: 4, maxTimestamp: 900 });
  assert.is(log.logEndOffset, 5);
  const { data, firstOffset, nextOffset } = await log.read(0, 1 << 20);
  assert.is(firstOffset, 0);
  assert.is(nextOffset, 5);
  assert.equal(recordsIn(data), [[0, 'a-0'], [1, 'a-1'], [2, 'a-2'], [3, 'b-0'], [4, 'b-1']]);
  const h = readBatchHeader(data, 0);
  assert.is(h.partitionLeaderEpoch, 4);
  assert.ok(validateBatch(data, 0, data.length, { deep: true }).ok, 'CRC still valid after in-place edits');
  assert.equal(log.epochs.entries(), [{ epoch: 4, startOffset: 0 }]);
});

test('several batches in one append buffer each get their offsets', async () => {
  const { log } = await openLog();
  const r = await log.append(Buffer.concat([batchOf('x', 2), batchOf('y', 3)]), 0);
  assert.equal([r.baseOffset, r.lastOffset], [0, 4]);
  assert.equal(recordsIn((await log.read(0, 1 << 20)).data).map((x) => x[0]), [0, 1, 2, 3, 4]);
  await rejects(() => log.append(batchOf('z', 1).subarray(0, 30), 0), (e: unknown) => e instanceof InvalidAppendError);
  assert.is(log.logEndOffset, 5, 'a rejected append changes nothing');
});

test('read from the middle of a batch returns the whole batch; at least one batch past maxBytes; maxOffset bound', async () => {
  const { log } = await openLog();
  for (let i = 0; i < 10; i++) await log.append(batchOf(`b${i}`, 10), 0);
  const mid = await log.read(45, 1);
  assert.is(mid.firstOffset, 40);
  assert.is(mid.nextOffset, 50);
  assert.equal(recordsIn(mid.data)[0], [40, 'b4-0']);
  const one = batchOf('b0', 10).length;
  const two = await log.read(45, one * 2);
  assert.is(two.nextOffset, 60, 'exactly two batches fit');
  const bounded = await log.read(45, 1 << 20, 70);
  assert.is(bounded.nextOffset, 70, 'stops before the batch holding offset 70');
  const midHw = await log.read(45, 1 << 20, 65);
  assert.is(midHw.nextOffset, 60, 'a batch straddling maxOffset is not returned');
  const none = await log.read(45, 1 << 20, 45);
  assert.is(none.data.length, 0);
  const atEnd = await log.read(100, 100);
  assert.is(atEnd.data.length, 0);
  assert.is(atEnd.nextOffset, 100);
  await rejects(() => log.read(101, 100), (e: unknown) => e instanceof OffsetOutOfRangeError && e.code === 'OFFSET_OUT_OF_RANGE');
});

test('without minOneBatch a read returns nothing rather than a batch past maxBytes, and never reads such a batch whole', async () => {
  const storage = new MemoryStorage();
  const logBytesRead = countLogReads(storage);
  // One index entry per MiB: a read from offset 1,000 starts its scan at the big batch before it.
  const { log } = await openLog({ indexIntervalBytes: 1 << 20 }, storage);
  await log.append(batchOf('big', 1000, 1_000, 300), 0);
  const big = (await log.read(0, 1)).data.length;
  assert.ok(big > 256 * 1024, `a batch of ${big} bytes, more than a read's first chunk`);
  for (let i = 0; i < 3; i++) await log.append(batchOf(`s${i}`, 2), 0);
  let before = logBytesRead();
  const past = await log.read(0, 1000, Number.MAX_SAFE_INTEGER, false);
  assert.is(past.data.length, 0, 'the first batch does not fit and minOneBatch is off');
  assert.ok(logBytesRead() - before < big / 2, `read ${logBytesRead() - before} bytes to find that out, not the ${big}-byte batch`);
  before = logBytesRead();
  const after = await log.read(1000, 1 << 20, Number.MAX_SAFE_INTEGER, false);
  assert.equal(recordsIn(after.data).map(([o]) => o), [1000, 1001, 1002, 1003, 1004, 1005]);
  assert.ok(logBytesRead() - before < big / 2, `stepped over the big batch before offset 1,000 (read ${logBytesRead() - before} bytes)`);
  assert.equal(recordsIn((await log.read(1000, 1)).data).map(([o]) => o), [1000, 1001], 'with minOneBatch: one batch past maxBytes');
  assert.is((await log.read(0, 1)).data.length, big);
});

test('a walk over batches larger than its chunk steps over them by their headers (ListOffsets by timestamp, truncation)', async () => {
  const storage = new MemoryStorage();
  const logBytesRead = countLogReads(storage);
  // No index entry inside the segment: a lookup by timestamp walks from its start.
  const { log } = await openLog({ indexIntervalBytes: 1 << 30 }, storage);
  for (let i = 0; i < 8; i++) await log.append(batchOf(`big${i}`, 2000, 1_000 + i, 1000), 0);
  const size = log.segmentInfos()[0]!.size;
  assert.ok(size > 8 * 2_000_000, `${size} bytes in 2 MB batches`);
  let before = logBytesRead();
  assert.equal(await log.offsetForTimestamp(1_007), { offset: 14_000, timestamp: 1_007 });
  const found = logBytesRead() - before;
  // The last batch is read whole for its records; the seven before it only for their headers (a first chunk of
  // 1 MiB, then less past a big batch).
  assert.ok(found < size / 8 + (1 << 20) + 7 * 128 * 1024, `read ${found} of ${size} bytes`);
  before = logBytesRead();
  await log.truncateTo(13_000);
  assert.ok(logBytesRead() - before < 2 * ((1 << 20) + 8 * 128 * 1024), `the truncation read ${logBytesRead() - before} of ${size} bytes`);
  assert.is(log.logEndOffset, 12_000);
});

test('segments roll by size and by time (injected clock)', async () => {
  let now = 1_000_000;
  const one = batchOf('s', 5).length;
  const { log } = await openLog({ segmentBytes: one * 3, segmentMs: 60_000 }, new MemoryStorage(), { wall: () => now });
  for (let i = 0; i < 7; i++) await log.append(batchOf('s', 5), 0);
  assert.equal(log.segmentInfos().map((s) => s.baseOffset), [0, 15, 30]);
  assert.is(log.segmentInfos()[2]!.size, one);
  now += 59_999;
  await log.append(batchOf('s', 5), 0);
  assert.is(log.segmentInfos().length, 3, 'not yet');
  now += 1;
  await log.append(batchOf('s', 5), 0);
  assert.equal(log.segmentInfos().map((s) => s.baseOffset), [0, 15, 30, 40], 'rolled by segment.ms');
  const names = await log['storage'].list(DIR);
  assert.ok(names.includes('00000000000000000040.log') && names.includes('00000000000000000040.index') && names.includes('00000000000000000040.timeindex'));
  assert.equal(recordsIn((await log.read(38, 1 << 20)).data).map((r) => r[0]), [35, 36, 37, 38, 39]);
});

test('index lookups are right for every offset of a big log over many segments', async () => {
  const { log } = await openLog({ segmentBytes: 16 * 1024, indexIntervalBytes: 512 });
  let next = 0;
  const sizes = [1, 7, 3, 20, 2];
  for (let i = 0; i < 600; i++) {
    const n = sizes[i % sizes.length]!;
    await log.append(batchOf(`g${i}`, n, 1000 + i, 40), 0);
    next += n;
  }
  assert.is(log.logEndOffset, next);
  const segs = log.segmentInfos();
  assert.ok(segs.length >= 5, `expected many segments, got ${segs.length}`);
  assert.ok(segs.slice(0, -1).every((s) => s.indexEntries > 10), 'each sealed segment has a sparse index');
  for (let o = 0; o < next; o += 3) {
    const r = await log.read(o, 1);
    const recs = recordsIn(r.data);
    assert.ok(r.firstOffset <= o && o < r.nextOffset, `offset ${o} in [${r.firstOffset}, ${r.nextOffset})`);
    assert.ok(recs.some(([off]) => off === o), `offset ${o} returned`);
  }
  // Timestamps: batch i has timestamp 1000 + i.
  const t = await log.offsetForTimestamp(1000 + 301);
  let expected = 0;
  for (let i = 0; i < 301; i++) expected += sizes[i % sizes.length]!;
  assert.equal(t, { offset: expected, timestamp: 1301 });
  assert.is(await log.offsetForTimestamp(99_999), null);
  assert.equal(await log.offsetForTimestamp(0), { offset: 0, timestamp: 1000 });
});

test('offsetForTimestamp finds the first record at or after ts inside a batch', async () => {
  const { log } = await openLog();
  await log.append(buildRecordBatch({ records: [10, 20, 30].map((t) => ({ value: `t${t}`, timestamp: t })) }), 0);
  await log.append(buildRecordBatch({ records: [25, 40].map((t) => ({ value: `t${t}`, timestamp: t })) }), 0);
  assert.equal(await log.offsetForTimestamp(15), { offset: 1, timestamp: 20 });
  assert.equal(await log.offsetForTimestamp(31), { offset: 4, timestamp: 40 });
  assert.equal(await log.offsetForTimestamp(25), { offset: 2, timestamp: 30 });
});

test('truncateTo removes everything from the batch holding the offset, across segments', async () => {
  const one = batchOf('t0', 4).length;
  const { log } = await openLog({ segmentBytes: one * 2 });
  for (let i = 0; i < 6; i++) await log.append(batchOf(`t${i}`, 4), i < 3 ? 1 : 2);
  assert.equal(log.epochs.entries(), [{ epoch: 1, startOffset: 0 }, { epoch: 2, startOffset: 12 }]);
  log.setHighWatermark(24);
  await log.truncateTo(14);
  assert.is(log.logEndOffset, 12, 'the batch holding 14 starts at 12 and is removed whole');
  assert.is(log.highWatermark, 12);
  assert.equal(log.epochs.entries(), [{ epoch: 1, startOffset: 0 }]);
  assert.equal(log.segmentInfos().map((s) => [s.baseOffset, s.nextOffset]), [[0, 8], [8, 12]]);
  await log.truncateTo(8);
  assert.equal(log.segmentInfos().map((s) => [s.baseOffset, s.nextOffset]), [[0, 8]]);
  const r = await log.append(batchOf('new', 2), 3);
  assert.is(r.baseOffset, 8);
  assert.equal(recordsIn((await log.read(6, 1 << 20)).data).slice(-1), [[7, 't1-3']], 'a read stays within one segment');
  assert.equal(recordsIn((await log.read(8, 1 << 20)).data), [[8, 'new-0'], [9, 'new-1']]);
  await log.truncateTo(0);
  assert.is(log.logEndOffset, 0);
  assert.is((await log.append(batchOf('z', 1), 3)).baseOffset, 0);
});

test('retention by time and by bytes deletes whole old segments and advances the log start', async () => {
  const one = batchOf('r0', 2).length;
  const { log, storage } = await openLog({ segmentBytes: one * 2, retentionMs: 1000, retentionBytes: -1 });
  for (let i = 0; i < 8; i++) await log.append(batchOf(`r${i}`, 2, 10_000 + i * 1000), 0);
  assert.is(log.segmentInfos().length, 4);
  // Segment max timestamps: 11000, 13000, 15000, 17000 (active).
  assert.equal(await log.applyRetention(12_500), { deletedSegments: 1 });
  assert.is(log.logStartOffset, 4);
  assert.equal(await log.applyRetention(100_000), { deletedSegments: 2 }, 'never the active segment');
  assert.is(log.logStartOffset, 12);
  assert.ok(!(await storage.exists(`${DIR}/00000000000000000000.log`)));
  await rejects(() => log.read(3, 100), (e: unknown) => e instanceof OffsetOutOfRangeError);
  assert.equal(recordsIn((await log.read(12, 1 << 20)).data)[0], [12, 'r6-0']);

  const bytes = await openLog({ segmentBytes: one * 2, retentionMs: -1, retentionBytes: one * 3 }, new MemoryStorage());
  for (let i = 0; i < 8; i++) await bytes.log.append(batchOf(`r${i}`, 2), 0);
  assert.equal(await bytes.log.applyRetention(), { deletedSegments: 2 }, '8 batches, keep >= 3 batches worth: drop 2 segments of 2');
  assert.is(bytes.log.logStartOffset, 8);
  assert.is(bytes.log.segmentInfos().reduce((a, s) => a + s.size, 0), one * 4);
});

test('appendReplicated requires offsets from the log end on (gaps allowed: a compacted leader) and records epochs from batches', async () => {
  const { log } = await openLog();
  const b1 = batchOf('f', 3);
  setBaseOffset(b1, 0, 0);
  setPartitionLeaderEpoch(b1, 0, 5);
  const b2 = batchOf('g', 2);
  setBaseOffset(b2, 0, 3);
  setPartitionLeaderEpoch(b2, 0, 6);
  assert.equal(await log.appendReplicated(Buffer.concat([b1, b2])), { lastOffset: 4 });
  assert.equal(log.epochs.entries(), [{ epoch: 5, startOffset: 0 }, { epoch: 6, startOffset: 3 }]);
  const back = batchOf('h', 1);
  setBaseOffset(back, 0, 4);
  setPartitionLeaderEpoch(back, 0, 6);
  await rejects(() => log.appendReplicated(back), (e: unknown) => e instanceof InvalidAppendError && e.facts.expected === 5);
  assert.is(log.logEndOffset, 5);
  // A leader's cleaner removed offsets 5 and 6: the follower's log has the same gap (Kafka's follower append).
  const gap = batchOf('i', 1);
  setBaseOffset(gap, 0, 7);
  setPartitionLeaderEpoch(gap, 0, 6);
  assert.equal(await log.appendReplicated(gap), { lastOffset: 7 });
  assert.is(log.logEndOffset, 8);
  assert.equal(recordsIn((await log.read(5, 100)).data), [[7, 'i-0']]);
});

test('high watermark and recovery point survive close and reopen via checkpoints', async () => {
  const storage = new MemoryStorage();
  const { log } = await openLog({}, storage);
  for (let i = 0; i < 4; i++) await log.append(batchOf(`c${i}`, 2), 0);
  log.setHighWatermark(6);
  await log.close();
  const again = await openLog({}, storage);
  assert.is(again.log.logEndOffset, 8);
  assert.is(again.log.highWatermark, 6);
  assert.is(again.log.recoveryPoint, 8);
  assert.equal(again.warnings, []);
  assert.equal(recordsIn((await again.log.read(7, 10)).data).slice(-1), [[7, 'c3-1']]);
  await again.log.delete();
  assert.ok(!(await storage.exists(DIR)));
});

test('offset checkpoints are written one at a time: a periodic checkpoint racing a truncation neither fails nor leaves the old recovery point', async () => {
  const { log, storage } = await openLog();
  for (let i = 0; i < 5; i++) await log.append(batchOf(`r${i}`, 1, 100 + i), 4);
  await log.flush();
  log.setHighWatermark(2);
  // The broker's flush pass and a follower's truncation, at once: both used to write recovery-point-checkpoint
  // through one temp file, and the second rename failed (ENOENT), or the old recovery point (5) won.
  for (let round = 0; round < 3; round++) {
    await Promise.all([log.checkpoint(), log.truncateTo(2), log.checkpoint()]);
    assert.is(await readOffsetCheckpoint(storage, `${DIR}/recovery-point-checkpoint`), 2);
    await log.append(batchOf('again', 3, 200), 4);
    await log.flush();
  }
});

test.run();

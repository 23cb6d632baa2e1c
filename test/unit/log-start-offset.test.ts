// The log start offset as DeleteRecords moves it (Kafka's maybeIncrementLogStartOffset): inside a segment,
// never past the high watermark, whole segments below it deleted, the epoch cache trimmed, and durable — a
// crash or a clean reopen never brings deleted records back; truncation and retention keep it consistent.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PartitionLog, LOG_START_OFFSET_CHECKPOINT, type LogConfig } from '../../src/log/partition-log.ts';
import { MemoryStorage } from '../../src/log/memory-storage.ts';
import { OffsetOutOfRangeError } from '../../src/log/errors.ts';
import { batchOf, recordsIn, rejects } from '../helpers/log-fixtures.ts';
import { nodeClock } from '../../src/runtime/node/node-clock.ts';

const DIR = '/data/events-0';

async function openLog(storage = new MemoryStorage(), config: Partial<LogConfig> = {}) {
  return PartitionLog.open({ dir: DIR, storage, config: { segmentBytes: 200, ...config }, clock: nodeClock });
}

/** 10 batches of 5 records (offsets 0..49), epoch 1 for the first 25 offsets and epoch 2 after; HW at the end. */
async function filled(storage = new MemoryStorage(), config: Partial<LogConfig> = {}) {
  const log = await openLog(storage, config);
  for (let i = 0; i < 10; i++) await log.append(batchOf(`b${i}`, 5), i < 5 ? 1 : 2);
  log.setHighWatermark(log.logEndOffset);
  await log.flush();
  return log;
}

test('advancing inside a segment: reads below it are out of range, whole segments below it are deleted', async () => {
  const log = await filled();
  const before = log.segmentInfos();
  assert.ok(before.length >= 4, `several segments (${before.length})`);
  const target = 23;
  assert.is(await log.advanceLogStartOffset(target), target);
  assert.is(log.logStartOffset, target);
  const after = log.segmentInfos();
  assert.ok(after[0]!.baseOffset <= target && after[0]!.nextOffset > target, 'the segment holding the new start is kept');
  assert.ok(after.length < before.length, 'segments wholly below the start are gone');
  assert.ok(after.reduce((a, s) => a + s.size, 0) < before.reduce((a, s) => a + s.size, 0), 'bytes on disk shrank');
  await rejects(() => log.read(22, 1 << 20), (e) => e instanceof OffsetOutOfRangeError);
  const r = await log.read(target, 1 << 20);
  assert.ok(recordsIn(r.data).some(([o]) => o === target));
  assert.equal(log.epochs.entries(), [{ epoch: 1, startOffset: 23 }, { epoch: 2, startOffset: 25 }]);
  assert.is(await log.advanceLogStartOffset(10), target, 'an offset below the start changes nothing');
});

test('never past the high watermark; up to it is allowed (everything committed deleted)', async () => {
  const log = await filled();
  log.setHighWatermark(30);
  await rejects(() => log.advanceLogStartOffset(31), (e) => e instanceof OffsetOutOfRangeError);
  assert.is(log.logStartOffset, 0);
  assert.is(await log.advanceLogStartOffset(30), 30);
  assert.is(log.logEndOffset, 50, 'the log end does not move');
});

test('the new start survives a crash and a clean reopen (the checkpoint is written before it resolves)', async () => {
  const storage = new MemoryStorage();
  const log = await filled(storage);
  await log.advanceLogStartOffset(37);
  storage.crash();
  const again = await openLog(storage);
  assert.is(again.logStartOffset, 37, 'after a crash');
  assert.ok(storage.contents(`${DIR}/${LOG_START_OFFSET_CHECKPOINT}`).toString().includes('37'));
  await rejects(() => again.read(36, 1 << 20), (e) => e instanceof OffsetOutOfRangeError);
  await again.close();
  const third = await openLog(storage);
  assert.is(third.logStartOffset, 37, 'after a clean close');
});

test('a truncation below the start brings the start down with it, durably', async () => {
  const storage = new MemoryStorage();
  const log = await filled(storage, { flush: 'interval', flushIntervalMs: 1e9 });
  await log.advanceLogStartOffset(20);
  await log.close();
  // Truncate as a follower would, below the start: the start follows the end down, and persists.
  const reopened = await openLog(storage);
  await reopened.truncateTo(12);
  assert.ok(reopened.logEndOffset <= 12);
  assert.is(reopened.logStartOffset, reopened.logEndOffset);
  const end = reopened.logEndOffset;
  storage.crash();
  const third = await openLog(storage);
  assert.is(third.logStartOffset, end);
  assert.is(third.logEndOffset, end);
});

test('retention keeps a start that DeleteRecords moved past the first remaining segment base', async () => {
  const log = await filled(new MemoryStorage(), { retentionBytes: 1 });
  await log.advanceLogStartOffset(48);
  await log.applyRetention();
  assert.is(log.logStartOffset, 48);
});

test.run();

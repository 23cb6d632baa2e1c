// The producer-free checkpoint: below it a log holds no idempotent, transactional or control batch, so the
// producer state is rebuilt on open by reading only from there (a restart of a broker holding gigabytes of plain
// producers' data read all of it before). It survives a reopen, and a truncation or reset lowers it first.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PartitionLog, PRODUCER_FREE_CHECKPOINT } from '../../src/log/partition-log.ts';
import { MemoryStorage } from '../../src/log/memory-storage.ts';
import { buildRecordBatch } from '../../src/protocol/record-batch-builder.ts';
import { scanLog } from '../../src/producer-state/partition-producers.ts';
import { readOffsetCheckpoint } from '../../src/log/checkpoint.ts';
import { batchOf, countLogReads } from '../helpers/log-fixtures.ts';
import { nodeClock } from '../../src/runtime/node/node-clock.ts';

const DIR = '/data/p-0';

function openLog(storage: MemoryStorage): Promise<PartitionLog> {
  return PartitionLog.open({ clock: nodeClock, dir: DIR, storage });
}

const idempotent = (seq: number) =>
  buildRecordBatch({ records: [{ value: `i${seq}` }, { value: `i${seq + 1}` }], producerId: 7, producerEpoch: 0, baseSequence: seq, timestamp: 1000 });

test('the producer state is rebuilt from the producer-free checkpoint on, with the same table', async () => {
  const storage = new MemoryStorage();
  const log = await openLog(storage);
  for (let i = 0; i < 100; i++) await log.append(batchOf(`plain${i}`, 5, 1000, 200), 0);
  log.markProducerFree(log.logEndOffset);
  assert.is(log.producerFreeBelow, 500);
  await log.checkpoint();
  assert.is(await readOffsetCheckpoint(storage, `${DIR}/${PRODUCER_FREE_CHECKPOINT}`), 500);
  await log.append(idempotent(0), 0);
  await log.append(idempotent(2), 0);
  // What a scan of the whole log finds, for comparison.
  log.producerFreeBelow = 0;
  const full = await scanLog(log);
  log.producerFreeBelow = 500;
  await log.close();

  const read = countLogReads(storage);
  const again = await openLog(storage);
  assert.is(again.producerFreeBelow, 500);
  const before = read();
  const table = await scanLog(again);
  const scanned = read() - before;
  assert.ok(scanned < 1000, `the rebuild read ${scanned} bytes: only the batches from offset 500 on`);
  assert.equal(table.entries(), full.entries(), 'the same producers as a scan of the whole log');
  assert.equal(table.entry(7)!.batches.map((b) => b.firstOffset), [500, 502]);
});

test('markProducerFree never passes the log end, and a truncation or reset lowers the checkpoint before new data', async () => {
  const storage = new MemoryStorage();
  const log = await openLog(storage);
  for (let i = 0; i < 10; i++) await log.append(batchOf(`p${i}`, 2), 0);
  log.markProducerFree(1_000);
  assert.is(log.producerFreeBelow, 20, 'bounded by the log end');
  await log.checkpoint();
  await log.truncateTo(8);
  assert.is(log.producerFreeBelow, 8);
  assert.is(await readOffsetCheckpoint(storage, `${DIR}/${PRODUCER_FREE_CHECKPOINT}`), 8, 'written by the truncation itself');
  // A producer's batch now fills the truncated range: the checkpoint must not claim it is plain.
  await log.append(idempotent(0), 0);
  await log.close();
  const again = await openLog(storage);
  assert.is(again.producerFreeBelow, 8);
  assert.equal((await scanLog(again)).entry(7)!.batches.map((b) => b.firstOffset), [8]);
  await again.resetTo(50);
  assert.is(again.producerFreeBelow, 50);
  assert.is(await readOffsetCheckpoint(storage, `${DIR}/${PRODUCER_FREE_CHECKPOINT}`), 50);
  await again.close();
});

test('a checkpoint past the log end after a crash is bounded by the recovered end', async () => {
  const storage = new MemoryStorage();
  const log = await openLog(storage);
  for (let i = 0; i < 10; i++) await log.append(batchOf(`c${i}`, 2), 0);
  await log.flush();
  await log.checkpoint();
  for (let i = 10; i < 20; i++) await log.append(batchOf(`c${i}`, 2), 0);
  log.markProducerFree(log.logEndOffset);
  await log.checkpoint();
  storage.crash();
  const again = await openLog(storage);
  assert.is(again.logEndOffset, 20, 'the unsynced appends are gone');
  assert.is(again.producerFreeBelow, 20);
});

test.run();

// Producer-state snapshots (Kafka's `<offset>.snapshot`): the table (idempotent producers, open transactions,
// markers, aborted transactions) written beside the log once the log is synced past it, and read back on open
// or after a truncation so only the batches after it are scanned. A snapshot is never ahead of synced data, a
// truncation or reset below it removes it first, and one that does not fit the log is ignored, never trusted.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PartitionLog, PRODUCER_SNAPSHOT } from '../../src/log/partition-log.ts';
import { MemoryStorage } from '../../src/log/memory-storage.ts';
import { CheckpointFormatError } from '../../src/log/errors.ts';
import { writeCheckpoint } from '../../src/log/checkpoint.ts';
import { buildRecordBatch } from '../../src/protocol/record-batch-builder.ts';
import { buildTxnMarkerBatch, type TxnMarkerType } from '../../src/log/txn-marker.ts';
import { PartitionProducers, scanLog } from '../../src/producer-state/partition-producers.ts';
import { decodeProducerState, encodeProducerState } from '../../src/producer-state/producer-snapshot.ts';
import { batchOf, countLogReads } from '../helpers/log-fixtures.ts';
import { nodeClock } from '../../src/runtime/node/node-clock.ts';

const DIR = '/data/p-0';
const PATH = `${DIR}/${PRODUCER_SNAPSHOT}`;

function openLog(storage: MemoryStorage, warnings: string[] = []): Promise<PartitionLog> {
  return PartitionLog.open({ clock: nodeClock, dir: DIR, storage, onWarning: (msg) => warnings.push(msg) });
}

const idempotent = (producerId: number, seq: number) =>
  buildRecordBatch({ records: [{ value: `i${seq}` }, { value: `i${seq + 1}` }], producerId, producerEpoch: 0, baseSequence: seq, timestamp: 1000 });
const transactional = (producerId: number, seq: number) =>
  buildRecordBatch({ records: [{ value: `t${seq}` }], producerId, producerEpoch: 1, baseSequence: seq, isTransactional: true, timestamp: 1000 });
const marker = (producerId: number, type: TxnMarkerType) => buildTxnMarkerBatch(producerId, 1, { type, coordinatorEpoch: 3 }, 1000);

/** Appends a mix of everything the table holds: plain, idempotent and transactional batches, both markers. */
async function fill(log: PartitionLog, round: number): Promise<void> {
  await log.append(batchOf(`plain${round}`, 3, 1000, 100), 0);
  await log.append(idempotent(7, round * 2), 0);
  await log.append(transactional(8, round * 2), 0);
  await log.append(transactional(9, round * 2), 0);
  await log.append(marker(8, 'ABORT'), 0);
  await log.append(transactional(8, round * 2 + 1), 0);
  await log.append(marker(9, 'COMMIT'), 0);
  await log.append(batchOf(`more${round}`, 3, 1000, 100), 0);
}

/** The producer state at the log end, captured and written as the broker's periodic checkpoint does. */
async function snapshot(log: PartitionLog): Promise<boolean> {
  const producers = new PartitionProducers();
  await producers.rebuild(log);
  const s = producers.capture(log);
  await log.flush();
  return log.writeProducerSnapshot(s.offset, s.lines, s.truncationCount);
}

test('a table survives its snapshot lines: producers, open transactions, markers and aborted transactions', async () => {
  const log = await openLog(new MemoryStorage());
  for (let round = 0; round < 3; round++) await fill(log, round);
  const table = await scanLog(log);
  assert.ok(table.entries().length === 3 && table.aborted.size === 3 && table.openTransaction(8) !== null, 'the table holds every kind of item');
  const lines = encodeProducerState(table);
  const back = decodeProducerState(PATH, lines, log.logEndOffset);
  assert.equal(back.state(), table.state());
  assert.equal(encodeProducerState(back), lines);
  assert.is(back.nextOffset, log.logEndOffset);
  assert.is(back.lastStableOffset(log.logEndOffset), table.lastStableOffset(log.logEndOffset));
});

test('a capture forgets the transactions decided below the high watermark and those aborted below the log start', async () => {
  const log = await openLog(new MemoryStorage());
  await fill(log, 0);
  await fill(log, 1);
  const producers = new PartitionProducers();
  await producers.rebuild(log);
  const count = (lines: string[], tag: string) => lines.filter((l) => l.startsWith(`${tag} `)).length;
  let lines = producers.capture(log).lines;
  assert.equal([count(lines, 'u'), count(lines, 'a')], [4, 2], 'high watermark 0: every marker could still be lost');
  log.setHighWatermark(log.logEndOffset);
  await log.advanceLogStartOffset(13);
  lines = producers.capture(log).lines;
  assert.equal([count(lines, 'u'), count(lines, 'a')], [0, 1], 'a replica nobody reads from does not carry them forever');
});

test('malformed snapshot lines are a CheckpointFormatError naming the file', () => {
  for (const line of ['p 7 0', 'p 7 0 -1 1,2,3', 'o 7', 'q 1 2', 'a 1 2 x 4', 'u 1.5 2']) {
    try {
      decodeProducerState(PATH, [line], 0);
      assert.unreachable(`accepted ${line}`);
    } catch (e) {
      assert.instance(e, CheckpointFormatError, line);
      assert.is((e as CheckpointFormatError).path, PATH);
    }
  }
  // Aborted transactions out of marker order cannot be an index.
  assert.throws(() => decodeProducerState(PATH, ['a 1 5 9 10', 'a 1 2 3 4'], 0), (e: unknown) => e instanceof CheckpointFormatError);
});

test('a reopened log rebuilds from its snapshot and reads only the batches after it, to the same table', async () => {
  const storage = new MemoryStorage();
  const log = await openLog(storage);
  for (let round = 0; round < 20; round++) await fill(log, round);
  assert.ok(await snapshot(log), 'written');
  const at = log.logEndOffset;
  assert.is(log.producerSnapshot.offset, at);
  await fill(log, 20);
  const full = await scanLog(log);
  await log.close();

  const read = countLogReads(storage);
  const again = await openLog(storage);
  assert.is(again.producerSnapshot.offset, at);
  const before = read();
  const table = await scanLog(again);
  const scanned = read() - before;
  const size = again.segmentInfos().reduce((n, seg) => n + seg.size, 0);
  assert.ok(scanned > 0 && scanned < size / 4, `the rebuild read ${scanned} of ${size} bytes: from the index entry below offset ${at} on`);
  assert.equal(table.state(), full.state(), 'the same table as a scan of the whole log');
  assert.is(table.lastStableOffset(again.logEndOffset), full.lastStableOffset(again.logEndOffset));
});

test('a snapshot is written only over synced data and never when a truncation came after its capture', async () => {
  const storage = new MemoryStorage();
  const log = await openLog(storage);
  await fill(log, 0);
  await log.flush();
  await fill(log, 1);
  const producers = new PartitionProducers();
  await producers.rebuild(log);
  const s = producers.capture(log);
  assert.ok(s.offset > log.recoveryPoint);
  assert.not.ok(await log.writeProducerSnapshot(s.offset, s.lines, s.truncationCount), 'ahead of the synced data: a crash could lose what it describes');
  assert.not.ok(await storage.exists(PATH));
  await log.flush();
  await log.truncateTo(5);
  await fill(log, 2);
  await fill(log, 3);
  await log.flush();
  assert.ok(log.recoveryPoint >= s.offset, 'synced past the old capture again');
  assert.not.ok(await log.writeProducerSnapshot(s.offset, s.lines, s.truncationCount), 'captured before a truncation: it describes batches gone since');
  assert.is(log.producerSnapshot.offset, null);
  assert.ok(await snapshot(log), 'a capture after the truncation is written');
  const fresh = await PartitionLog.open({ clock: nodeClock, dir: '/data/fresh-0', storage });
  assert.not.ok(await snapshot(fresh), 'an empty state at the log start says nothing: not written');
  await fresh.append(batchOf('plain', 2), 0);
  assert.ok(await snapshot(fresh), 'an empty state past the log start is: a restart reads the log from there');
  await fresh.close();
  assert.not.ok(await snapshot(log), 'the same offset again: nothing to write');
  await log.close();
});

test('a truncation below the snapshot removes it before new data, and a reset removes it too', async () => {
  const storage = new MemoryStorage();
  const log = await openLog(storage);
  await fill(log, 0);
  await fill(log, 1);
  assert.ok(await snapshot(log));
  const at = log.producerSnapshot.offset!;
  await fill(log, 2);
  await log.truncateTo(at);
  assert.is(log.producerSnapshot.offset, at, 'a truncation to the snapshot leaves it: every batch it describes is kept');
  await log.truncateTo(at - 1);
  assert.is(log.producerSnapshot.offset, null);
  assert.not.ok(await storage.exists(PATH), 'removed by the truncation itself');
  // Other producers' batches fill the truncated range; a crash now must not bring back the old table.
  await log.append(idempotent(11, 0), 0);
  await log.flush();
  storage.crash();
  const again = await openLog(storage);
  const table = await scanLog(again);
  assert.equal(table.entries().map((e) => e.producerId).sort((a, b) => a - b), [7, 8, 9, 11], 'read from the log: producer 11 is there');

  assert.ok(await snapshot(again));
  await again.resetTo(again.logEndOffset + 10);
  assert.not.ok(await storage.exists(PATH), 'a reset removes it');
  assert.is((await scanLog(again)).entries().length, 0);
  await again.close();
});

test('after a crash the snapshot over synced data is used; one that does not fit the log is removed with a warning', async () => {
  const storage = new MemoryStorage();
  const log = await openLog(storage);
  await fill(log, 0);
  assert.ok(await snapshot(log));
  const at = log.producerSnapshot.offset!;
  await fill(log, 1); // never synced
  storage.crash();
  const warnings: string[] = [];
  const again = await openLog(storage, warnings);
  assert.is(again.logEndOffset, at, 'the unsynced batches are gone');
  assert.is(again.producerSnapshot.offset, at, 'the snapshot is not past the recovered log');
  const fromSnapshot = await scanLog(again);
  again.producerSnapshot.offset = null;
  assert.equal(fromSnapshot.state(), (await scanLog(again)).state(), 'the same table as a scan of the whole log');
  await again.close();

  // Past the log end (written by hand: a snapshot is never ahead of synced data) and malformed: both removed.
  for (const entries of [[String(at + 100)], ['7', 'p 1 x']]) {
    await writeCheckpoint(storage, PATH, entries);
    const w: string[] = [];
    const log3 = await openLog(storage, w);
    if (entries.length === 1) {
      assert.is(log3.producerSnapshot.offset, null);
      assert.not.ok(await storage.exists(PATH));
    }
    const table = await scanLog(log3);
    assert.equal(table.entries().map((e) => e.producerId).sort((a, b) => a - b), [7, 8, 9], 'rebuilt from the whole log');
    assert.ok(w.some((m) => m.includes('producer snapshot')), `warned: ${w.join('; ')}`);
    await log3.close();
  }
  assert.equal(warnings, [], 'a crash alone warns about no snapshot');
});

test('a snapshot the log start has passed is not used: the state is rebuilt from the log start', async () => {
  const storage = new MemoryStorage();
  const log = await openLog(storage);
  await fill(log, 0);
  assert.ok(await snapshot(log));
  await fill(log, 1);
  log.setHighWatermark(log.logEndOffset);
  await log.advanceLogStartOffset(log.producerSnapshot.offset! + 2);
  const table = await scanLog(log);
  assert.is(log.logStartOffset, 15);
  assert.equal(table.entry(7)!.batches.map((b) => b.firstOffset), [16], 'only the batches from the log start (the one at 3 is below it)');
  await log.close();
});

test.run();

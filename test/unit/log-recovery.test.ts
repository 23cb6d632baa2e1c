// Recovery on open: torn tails after a crash are cut at the last valid batch (with a warning), missing or
// inconsistent indexes are rebuilt, and corruption in already-flushed data is a CorruptSegmentError.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PartitionLog, type LogConfig } from '../../src/log/partition-log.ts';
import { MemoryStorage } from '../../src/log/memory-storage.ts';
import { CorruptSegmentError } from '../../src/log/errors.ts';
import { batchOf, countLogReads, recordsIn, rejects } from '../helpers/log-fixtures.ts';
import { nodeClock } from '../../src/runtime/node/node-clock.ts';

const DIR = '/data/t-0';
const seg = (base: number, ext: string) => `${DIR}/${String(base).padStart(20, '0')}${ext}`;

async function open(storage: MemoryStorage, config: Partial<LogConfig> = {}) {
  const warnings: Array<{ msg: string; facts: any }> = [];
  const log = await PartitionLog.open({ clock: nodeClock, dir: DIR, storage, config, onWarning: (msg, facts) => warnings.push({ msg, facts }) });
  return { log, warnings };
}

async function overwrite(storage: MemoryStorage, path: string, position: number, bytes: Buffer): Promise<void> {
  const f = await storage.open(path);
  await f.write(bytes, position);
  await f.sync();
  await f.close();
}

test('crash loses unsynced appends; a torn tail is cut at the last valid batch and reported', async () => {
  const storage = new MemoryStorage();
  const { log } = await open(storage);
  for (let i = 0; i < 5; i++) await log.append(batchOf(`a${i}`, 3), 0);
  await log.flush();
  await log.checkpoint();
  for (let i = 5; i < 8; i++) await log.append(batchOf(`a${i}`, 3), 0);
  // Keep part of the unsynced tail: 2 whole batches and a fragment of the third.
  const one = batchOf('a0', 3).length;
  storage.crash({ keepUnsynced: (path) => (path.endsWith('.log') ? one * 2 + 17 : 0) });
  const { log: again, warnings } = await open(storage);
  assert.is(again.logEndOffset, 21, 'the two whole unsynced batches survived, the torn third did not');
  const torn = warnings.find((w) => w.msg.includes('torn'));
  assert.ok(torn, 'the truncation is reported');
  assert.is(torn!.facts.position, one * 7);
  assert.is(torn!.facts.bytesDropped, 17);
  assert.equal(recordsIn((await again.read(18, 1 << 20)).data), [[18, 'a6-0'], [19, 'a6-1'], [20, 'a6-2']]);
  const r = await again.append(batchOf('after', 1), 0);
  assert.is(r.baseOffset, 21);
  await again.close();
  const third = await open(storage);
  assert.is(third.log.logEndOffset, 22);
  assert.equal(third.warnings, []);
});

test('garbage after the last batch is cut; later segments past the cut are deleted', async () => {
  const storage = new MemoryStorage();
  const one = batchOf('g0', 2).length;
  const { log } = await open(storage, { segmentBytes: one * 2 });
  for (let i = 0; i < 6; i++) await log.append(batchOf(`g${i}`, 2), 0);
  await log.close();
  // Recovery point is 12 after a clean close; pretend the checkpoint is older to force a rescan.
  await overwrite(storage, `${DIR}/recovery-point-checkpoint`, 0, Buffer.from('0\n1\n4\n'));
  // Corrupt a byte inside segment 4's second batch (offsets 6-7): CRC fails there.
  await overwrite(storage, seg(4, '.log'), one + 70, Buffer.from([0xff]));
  const { log: again, warnings } = await open(storage, { segmentBytes: one * 2 });
  assert.is(again.logEndOffset, 6);
  assert.equal(again.segmentInfos().map((s) => s.baseOffset), [0, 4]);
  assert.ok(!(await storage.exists(seg(8, '.log'))), 'segment past the cut deleted');
  assert.ok(warnings.some((w) => w.msg.includes('torn') && /CRC/.test(w.facts.reason)));
});

test('corruption before the recovery point is a CorruptSegmentError naming file and position', async () => {
  const storage = new MemoryStorage();
  const one = batchOf('c0', 2).length;
  const { log } = await open(storage, { segmentBytes: one * 2 });
  for (let i = 0; i < 6; i++) await log.append(batchOf(`c${i}`, 2), 0);
  await log.close();
  await overwrite(storage, seg(4, '.log'), one + 70, Buffer.from([0xff]));
  // Recovery point 12 covers segment 4 wholly; its index also needs rebuilding for the scan to see it.
  await storage.unlink(seg(4, '.index'));
  await rejects(
    () => PartitionLog.open({ clock: nodeClock, dir: DIR, storage }),
    (e) => e instanceof CorruptSegmentError && e.code === 'CORRUPT_SEGMENT' && e.file === seg(4, '.log') && e.position === one,
  );
  // Same inside the segment holding the recovery point, below the point.
  const s2 = new MemoryStorage();
  const l2 = (await open(s2)).log;
  for (let i = 0; i < 4; i++) await l2.append(batchOf(`d${i}`, 2), 0);
  await l2.close();
  await overwrite(s2, seg(0, '.log'), 70, Buffer.from([0xee]));
  await rejects(() => PartitionLog.open({ clock: nodeClock, dir: DIR, storage: s2 }), (e) => e instanceof CorruptSegmentError && e.position === 0);
});

test('a missing or inconsistent index is rebuilt and lookups work', async () => {
  const storage = new MemoryStorage();
  const config = { segmentBytes: 4096, indexIntervalBytes: 256 };
  const { log } = await open(storage, config);
  for (let i = 0; i < 200; i++) await log.append(batchOf(`i${i}`.padStart(4, "0"), 3, 5000 + i), 0);
  const before = log.segmentInfos();
  await log.close();
  assert.ok(before.length >= 4, `${before.length} segments`);
  await storage.unlink(seg(before[0]!.baseOffset, '.index'));
  await storage.unlink(seg(before[1]!.baseOffset, '.timeindex'));
  await overwrite(storage, seg(before[2]!.baseOffset, '.index'), 8, Buffer.from([0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]));
  const { log: again, warnings } = await open(storage, config);
  assert.is(warnings.filter((w) => w.msg.includes('rebuilding')).length, 3);
  assert.equal(again.segmentInfos(), before, 'rebuilt indexes match the originals');
  for (let o = 0; o < 300; o += 7) {
    const r = await again.read(o, 1);
    assert.ok(recordsIn(r.data).some(([off]) => off === o), `offset ${o}`);
  }
  assert.equal(await again.offsetForTimestamp(5050), { offset: 150, timestamp: 5050 });
  await again.close();
  // Rebuilt files were written back: the next open trusts them.
  const third = await open(storage, config);
  assert.equal(third.warnings, []);
});

test('a malformed checkpoint falls back to a full scan with a warning', async () => {
  const storage = new MemoryStorage();
  const { log } = await open(storage);
  await log.append(batchOf('m', 2), 0);
  await log.close();
  await overwrite(storage, `${DIR}/recovery-point-checkpoint`, 0, Buffer.from('garbage'));
  const { log: again, warnings } = await open(storage);
  assert.is(again.logEndOffset, 2);
  assert.ok(warnings.some((w) => w.msg.includes('malformed')));
});

/** 300 batches with rising timestamps, flushed and checkpointed, 20 more written but not synced, then a SIGKILL
 *  (the page cache keeps what was written: every unsynced byte survives). Same bytes every call. */
async function killedAfterFlush(config: Partial<LogConfig>): Promise<MemoryStorage> {
  const storage = new MemoryStorage();
  const { log } = await open(storage, config);
  for (let i = 0; i < 300; i++) await log.append(batchOf(`k${i}`, 3, 10_000 + (i % 7 === 0 ? i * 10 : i), 40), 0);
  await log.flush();
  await log.checkpoint();
  for (let i = 300; i < 320; i++) await log.append(batchOf(`k${i}`, 3, 20_000 + i, 40), 0);
  storage.crash({ keepUnsynced: (_path, unsynced) => unsynced });
  return storage;
}

async function describeLog(log: PartitionLog) {
  const timestamps = [];
  for (const ts of [0, 10_005, 10_700, 12_000, 20_310, 99_999]) timestamps.push(await log.offsetForTimestamp(ts));
  return { end: log.logEndOffset, segments: log.segmentInfos(), records: recordsIn((await log.read(0, 1 << 24)).data), timestamps };
}

test('a restart reads the segment holding the recovery point from its last indexed batch below the point', async () => {
  const config = { indexIntervalBytes: 512 };
  // The same log opened twice: resumed from its index files, and scanned whole (its .index removed).
  const resumedStorage = await killedAfterFlush(config);
  const scannedStorage = await killedAfterFlush(config);
  await scannedStorage.unlink(seg(0, '.index'));
  const resumed = countLogReads(resumedStorage);
  const scanned = countLogReads(scannedStorage);
  const a = await PartitionLog.open({ clock: nodeClock, dir: DIR, storage: resumedStorage, config });
  const b = await PartitionLog.open({ clock: nodeClock, dir: DIR, storage: scannedStorage, config });
  const size = a.segmentInfos()[0]!.size;
  assert.ok(resumed() < size / 5, `the resumed open read ${resumed()} of ${size} bytes`);
  assert.ok(scanned() >= size, `the full scan read ${scanned()} of ${size} bytes`);
  assert.is(a.logEndOffset, 960, 'the unsynced batches after the recovery point are validated and kept');
  assert.equal(await describeLog(a), await describeLog(b), 'same log, indexes and timestamps either way');
  assert.is(a.recoveryPoint, 900, 'the tail it kept past the recovery point is not fsynced by the open');
  // The running state (bytes since the last index entry, the max timestamp) carries on as a full scan leaves it.
  for (const log of [a, b]) for (let i = 0; i < 30; i++) await log.append(batchOf(`m${i}`, 2, 15_000 + i, 40), 0);
  assert.equal(await describeLog(a), await describeLog(b), 'same after more appends');
  await a.close();
  await b.close();
});

test('the tail a resumed recovery kept without an fsync is synced by the next flush', async () => {
  const config = { indexIntervalBytes: 512 };
  const storage = await killedAfterFlush(config);
  const log = await PartitionLog.open({ clock: nodeClock, dir: DIR, storage, config });
  assert.is(log.logEndOffset, 960);
  assert.is(log.recoveryPoint, 900);
  // flush() syncs only what its group-commit round finds dirty: the recovery point moves only if that includes the tail.
  await log.flush();
  assert.is(log.recoveryPoint, 960);
  await log.close();
});

test('an index entry that does not point at its batch: the segment holding the recovery point is scanned whole', async () => {
  const config = { indexIntervalBytes: 512 };
  const storage = await killedAfterFlush(config);
  const bytes = countLogReads(storage);
  const index = storage.contents(seg(0, '.index'));
  // Every entry's position moved 8 bytes on: still increasing and inside the log, but not at a batch.
  for (let p = 4; p < index.length; p += 8) index.writeUInt32BE(index.readUInt32BE(p) + 8, p);
  await overwrite(storage, seg(0, '.index'), 0, index);
  const log = await PartitionLog.open({ clock: nodeClock, dir: DIR, storage, config });
  assert.ok(bytes() >= log.segmentInfos()[0]!.size, 'scanned whole');
  assert.is(log.logEndOffset, 960);
  assert.equal(recordsIn((await log.read(450, 200)).data)[0], [450, 'k150-0'.padEnd(40, '.')], 'lookups use the rebuilt index');
  await log.close();
});

test.run();

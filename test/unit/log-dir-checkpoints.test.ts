// The data directory's offset checkpoints (src/log/log-dir-checkpoints.ts, Kafka's recovery-point-offset-checkpoint
// and replication-offset-checkpoint): many logs' checkpoints coalesce into a few writes of two files; values come
// back on reopen, only for the topic they were written for; a truncation's lowered recovery point is on disk
// before truncateTo resolves; a partition directory of the older layout is read from its own files, which go once
// the directory files hold its values; lines of directories that are gone, or malformed, are dropped at load.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PartitionLog } from '../../src/log/partition-log.ts';
import { MemoryStorage } from '../../src/log/memory-storage.ts';
import { DIR_HIGH_WATERMARKS, DIR_RECOVERY_POINTS, LogDirCheckpoints } from '../../src/log/log-dir-checkpoints.ts';
import { readCheckpoint, writeOffsetCheckpoint } from '../../src/log/checkpoint.ts';
import { OffsetCheckpoints } from '../../src/log/log-checkpoints.ts';
import { batchOf } from '../helpers/log-fixtures.ts';
import { nodeClock } from '../../src/runtime/node/node-clock.ts';
import type { Storage } from '../../src/log/storage.ts';

const DATA = '/data';

/** Counts renames onto `name` (each checkpoint write ends with one). */
function countWrites(storage: Storage, name: string): () => number {
  let n = 0;
  const rename = storage.rename.bind(storage);
  storage.rename = async (from, to) => {
    if (to.endsWith(`/${name}`)) n++;
    return rename(from, to);
  };
  return () => n;
}

async function openAll(storage: MemoryStorage, files: LogDirCheckpoints, names: string[], topicId = 'T1'): Promise<PartitionLog[]> {
  return Promise.all(names.map((name) => PartitionLog.open({ dir: `${DATA}/${name}`, storage, clock: nodeClock, dirCheckpoints: { files, name, topicId } })));
}

test('a hundred logs checkpointing at once write the directory files a few times, and none of their own', async () => {
  const storage = new MemoryStorage();
  await storage.mkdir(DATA);
  const files = await LogDirCheckpoints.load(storage, DATA, () => {});
  const names = Array.from({ length: 100 }, (_, i) => `t-${i}`);
  const logs = await openAll(storage, files, names);
  for (const [i, log] of logs.entries()) {
    await log.append(batchOf(`p${i}`, 1 + (i % 3)), 0);
    await log.flush();
    log.setHighWatermark(1);
  }
  const writes = countWrites(storage, DIR_RECOVERY_POINTS);
  await Promise.all(logs.map((l) => l.checkpoint()));
  assert.ok(writes() >= 1 && writes() <= 3, `${writes()} writes of ${DIR_RECOVERY_POINTS} for 100 logs`);
  const rp = await readCheckpoint(storage, `${DATA}/${DIR_RECOVERY_POINTS}`);
  assert.is(rp!.length, 100);
  assert.ok(rp!.includes('t-5 T1 3') && rp!.includes('t-7 T1 2'), 'each log its own recovery point, with its topic id');
  const hw = await readCheckpoint(storage, `${DATA}/${DIR_HIGH_WATERMARKS}`);
  assert.ok(hw!.includes('t-5 T1 1'));
  assert.not.ok(await storage.exists(`${DATA}/t-5/recovery-point-checkpoint`));
  assert.not.ok(await storage.exists(`${DATA}/t-5/high-watermark-checkpoint`));
  await Promise.all(logs.map((l) => l.close()));

  // Reopened by a new broker process: values come back for the same topic only.
  const again = await LogDirCheckpoints.load(storage, DATA, () => {});
  const [same] = await openAll(storage, again, ['t-5']);
  assert.is(same!.recoveryPoint, 3);
  assert.is(same!.highWatermark, 1);
  await same!.close();
  const other = again.view('t-7', 'T2', { read: async () => null, write: async () => {} } as never);
  assert.is(await other.read('recovery-point-checkpoint'), null, 'a directory of another topic of that name starts from nothing');
});

test("a truncation's lowered recovery point is in the directory file before truncateTo resolves", async () => {
  const storage = new MemoryStorage();
  await storage.mkdir(DATA);
  const files = await LogDirCheckpoints.load(storage, DATA, () => {});
  const [log] = await openAll(storage, files, ['t-0']);
  await log!.append(batchOf('a', 4), 0);
  await log!.append(batchOf('a2', 6), 0);
  await log!.flush();
  await log!.checkpoint();
  assert.ok((await readCheckpoint(storage, `${DATA}/${DIR_RECOVERY_POINTS}`))!.includes('t-0 T1 10'));
  await log!.truncateTo(4);
  assert.equal(await readCheckpoint(storage, `${DATA}/${DIR_RECOVERY_POINTS}`), ['t-0 T1 4']);
  // A crash now: recovery validates what was appended past 4 instead of trusting it as synced.
  await log!.append(batchOf('b', 3), 0);
  storage.crash();
  const after = await LogDirCheckpoints.load(storage, DATA, () => {});
  const [reopened] = await openAll(storage, after, ['t-0']);
  assert.is(reopened!.recoveryPoint, 4);
  assert.is(reopened!.logEndOffset, 4, 'the unsynced batch after the truncation is gone, not taken as synced');
  await reopened!.close();
});

test('a deleted log leaves the files before its directory goes: the topic placed here again starts from nothing', async () => {
  const storage = new MemoryStorage();
  await storage.mkdir(DATA);
  const files = await LogDirCheckpoints.load(storage, DATA, () => {});
  const [log] = await openAll(storage, files, ['t-0']);
  await log!.append(batchOf('a', 10), 0);
  await log!.flush();
  await log!.checkpoint();
  await log!.delete();
  assert.equal(await readCheckpoint(storage, `${DATA}/${DIR_RECOVERY_POINTS}`), [], 'gone from the file once delete() resolved');
  // Reassigned back (the same topic id): a new empty log, whose unsynced data a crash must not take as synced.
  const [back] = await openAll(storage, files, ['t-0']);
  assert.is(back!.recoveryPoint, 0);
  await back!.append(batchOf('b', 3), 0);
  storage.crash();
  const [after] = await openAll(storage, await LogDirCheckpoints.load(storage, DATA, () => {}), ['t-0']);
  assert.is(after!.recoveryPoint, 0);
  await after!.close();
  // forget(), for a directory removed while no log of it is open (a stray), does the same.
  await files.view('s-0', 'T1', { read: async () => null, write: async () => {} } as never).write('recovery-point-checkpoint', () => 5);
  assert.ok((await readCheckpoint(storage, `${DATA}/${DIR_RECOVERY_POINTS}`))!.includes('s-0 T1 5'));
  await files.forget('s-0');
  assert.not.ok((await readCheckpoint(storage, `${DATA}/${DIR_RECOVERY_POINTS}`))!.some((l) => l.startsWith('s-0 ')));
});

test('an older partition directory is read from its own files, which go once the directory files hold its values', async () => {
  const storage = new MemoryStorage();
  await storage.mkdir(DATA);
  // Written by a Kastor that kept the checkpoints per partition directory.
  const old = await PartitionLog.open({ dir: `${DATA}/t-0`, storage, clock: nodeClock });
  await old.append(batchOf('a', 6), 0);
  old.setHighWatermark(5);
  await old.close();
  assert.ok(await storage.exists(`${DATA}/t-0/recovery-point-checkpoint`));

  const files = await LogDirCheckpoints.load(storage, DATA, () => {});
  const [log] = await openAll(storage, files, ['t-0']);
  assert.is(log!.recoveryPoint, 6, "read from the partition's own file");
  assert.is(log!.highWatermark, 5);
  await log!.checkpoint();
  assert.equal(await readCheckpoint(storage, `${DATA}/${DIR_RECOVERY_POINTS}`), ['t-0 T1 6']);
  assert.equal(await readCheckpoint(storage, `${DATA}/${DIR_HIGH_WATERMARKS}`), ['t-0 T1 5']);
  assert.not.ok(await storage.exists(`${DATA}/t-0/recovery-point-checkpoint`), 'the stale per-partition file is gone');
  assert.not.ok(await storage.exists(`${DATA}/t-0/high-watermark-checkpoint`));
  await log!.close();
});

test("once the directory files exist, a partition's own files are not read: one left by a crash may be stale", async () => {
  const storage = new MemoryStorage();
  await storage.mkdir(DATA);
  await storage.mkdir(`${DATA}/t-0`);
  await storage.mkdir(`${DATA}/t-1`);
  const { writeCheckpoint } = await import('../../src/log/checkpoint.ts');
  await writeCheckpoint(storage, `${DATA}/${DIR_RECOVERY_POINTS}`, ['t-0 T1 7']);
  // Left beside the directory file, with a value the log may since have truncated below.
  await writeOffsetCheckpoint(storage, `${DATA}/t-1/recovery-point-checkpoint`, 9);
  await writeOffsetCheckpoint(storage, `${DATA}/t-1/high-watermark-checkpoint`, 9);
  const files = await LogDirCheckpoints.load(storage, DATA, () => {});
  const own = (name: string) => new OffsetCheckpoints(storage, `${DATA}/${name}`, () => {});
  assert.is(await files.view('t-0', 'T1', own('t-0')).read('recovery-point-checkpoint'), 7);
  assert.is(await files.view('t-1', 'T1', own('t-1')).read('recovery-point-checkpoint'), null, 'the stale own file is not read');
  // No high-watermark directory file yet: that one is still read from the partition's own file.
  assert.is(await files.view('t-1', 'T1', own('t-1')).read('high-watermark-checkpoint'), 9);
});

test('load drops the lines of directories that are gone, and malformed lines, with a warning', async () => {
  const storage = new MemoryStorage();
  await storage.mkdir(DATA);
  await storage.mkdir(`${DATA}/t-0`);
  const { writeCheckpoint } = await import('../../src/log/checkpoint.ts');
  await writeCheckpoint(storage, `${DATA}/${DIR_RECOVERY_POINTS}`, ['t-0 T1 7', 'gone-0 T1 9', 't-0 T1', 'x y -1']);
  await writeOffsetCheckpoint(storage, `${DATA}/ignored`, 1);
  const warnings: string[] = [];
  const files = await LogDirCheckpoints.load(storage, DATA, (msg) => warnings.push(msg));
  const own = { read: async () => null, write: async () => {} } as never;
  assert.is(await files.view('t-0', 'T1', own).read('recovery-point-checkpoint'), 7);
  assert.is(await files.view('gone-0', 'T1', own).read('recovery-point-checkpoint'), null);
  assert.is(warnings.filter((w) => w.includes('malformed line')).length, 2);
  // The next write carries only what is here.
  await files.view('t-0', 'T1', own).write('recovery-point-checkpoint', () => 8);
  assert.equal(await readCheckpoint(storage, `${DATA}/${DIR_RECOVERY_POINTS}`), ['t-0 T1 8']);
});

test.run();

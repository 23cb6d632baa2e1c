// Durability: flush 'always' shares fsyncs between concurrent appends (group commit), a failing fsync or
// torn write rejects the append and fails the log, and nothing acknowledged was unsynced. A new leader epoch
// is written with the log's next sync, before the recovery point passes it, and rebuilt from the batches when a
// crash kept it out of the file.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PartitionLog } from '../../src/log/partition-log.ts';
import { MemoryStorage } from '../../src/log/memory-storage.ts';
import { FaultyStorage } from '../../src/log/faulty-storage.ts';
import { LogFailedError } from '../../src/log/errors.ts';
import { batchOf, recordsIn, rejects } from '../helpers/log-fixtures.ts';
import { nodeClock } from '../../src/runtime/node/node-clock.ts';
import { setBaseOffset, setPartitionLeaderEpoch } from '../../src/protocol/record-batch.ts';

const DIR = '/data/d-0';

test('group commit: N concurrent appends with flush=always share fewer than N fsyncs, each resolves after one', async () => {
  const mem = new MemoryStorage();
  const faulty = new FaultyStorage(mem);
  // Hold each fsync until released, so appends pile up behind the one in flight.
  const held: Array<() => void> = [];
  faulty.plan.delay = (op) => (op === 'sync' ? new Promise<void>((r) => held.push(r)) : undefined);
  const log = await PartitionLog.open({ clock: nodeClock, dir: DIR, storage: faulty, config: { flush: 'always' } });
  const N = 40;
  const settled: number[] = [];
  const appends = Array.from({ length: N }, (_, i) =>
    log.append(batchOf(`p${i}`, 2), 0).then((r) => (settled.push(i), r)),
  );
  // Release fsyncs one by one until everything resolved.
  let rounds = 0;
  while (settled.length < N) {
    await new Promise((r) => setImmediate(r));
    const release = held.shift();
    if (release) {
      rounds++;
      release();
    }
  }
  const results = await Promise.all(appends);
  assert.equal(results.map((r) => r.baseOffset), Array.from({ length: N }, (_, i) => i * 2));
  const logSyncs = faulty.syncsByPath.get(`${DIR}/00000000000000000000.log`) ?? 0;
  assert.ok(logSyncs < N / 4, `${logSyncs} fsyncs for ${N} appends`);
  assert.ok(logSyncs >= 1);
  assert.is(log.recoveryPoint, 2 * N);
  // Everything acknowledged survives a crash.
  mem.crash();
  faulty.plan.delay = undefined;
  const again = await PartitionLog.open({ clock: nodeClock, dir: DIR, storage: mem });
  assert.is(again.logEndOffset, 2 * N);
  void rounds;
});

test('a failing fsync rejects every waiting append, fails the log, and acknowledges nothing unsynced', async () => {
  const mem = new MemoryStorage();
  const faulty = new FaultyStorage(mem);
  const log = await PartitionLog.open({ clock: nodeClock, dir: DIR, storage: faulty, config: { flush: 'always' } });
  const ok = await log.append(batchOf('ok', 2), 0);
  assert.is(ok.lastOffset, 1);
  faulty.plan.failSync = (path) => path.endsWith('.log');
  const results = await Promise.allSettled(Array.from({ length: 5 }, (_, i) => log.append(batchOf(`x${i}`, 1), 0)));
  assert.ok(results.every((r) => r.status === 'rejected' && r.reason instanceof LogFailedError), JSON.stringify(results.map((r) => r.status)));
  faulty.plan.failSync = undefined;
  await rejects(() => log.append(batchOf('later', 1), 0), (e) => e instanceof LogFailedError && e.code === 'LOG_FAILED', 'a failed log refuses appends');
  mem.crash();
  const again = await PartitionLog.open({ clock: nodeClock, dir: DIR, storage: mem });
  assert.is(again.logEndOffset, 2, 'only the acknowledged append is guaranteed, and nothing else survived');
  assert.equal(recordsIn((await again.read(0, 1 << 20)).data), [[0, 'ok-0'], [1, 'ok-1']]);
});

test('a torn write rejects the append; reopening cuts the fragment', async () => {
  const mem = new MemoryStorage();
  const faulty = new FaultyStorage(mem);
  const warnings: string[] = [];
  const log = await PartitionLog.open({ clock: nodeClock, dir: DIR, storage: faulty, config: { flush: 'interval' } });
  await log.append(batchOf('a', 3), 0);
  faulty.plan.tearWrite = (path, data) => (path.endsWith('.log') ? Math.floor(data.length / 2) : null);
  await rejects(() => log.append(batchOf('torn', 3), 0), (e) => e instanceof LogFailedError);
  assert.is(log.logEndOffset, 3);
  faulty.plan.tearWrite = undefined;
  const again = await PartitionLog.open({ clock: nodeClock, dir: DIR, storage: mem, onWarning: (m) => warnings.push(m) });
  assert.is(again.logEndOffset, 3);
  assert.ok(warnings.some((w) => w.includes('torn')));
  assert.is((await again.append(batchOf('b', 1), 0)).baseOffset, 3);
});

test('flush=interval: appends resolve after the write; an interval flush or flush() makes them durable', async () => {
  let now = 0;
  const mem = new MemoryStorage();
  const faulty = new FaultyStorage(mem);
  const log = await PartitionLog.open({ dir: DIR, storage: faulty, clock: { wall: () => now }, config: { flush: 'interval', flushIntervalMs: 1000 } });
  await log.append(batchOf('a', 1), 0);
  await log.append(batchOf('b', 1), 0);
  const logSyncs = () => faulty.syncsByPath.get(`${DIR}/00000000000000000000.log`) ?? 0;
  assert.is(logSyncs(), 0, 'no fsync of the log on the interval path');
  now = 1000;
  await log.append(batchOf('c', 1), 0);
  await log.flush();
  assert.ok(logSyncs() >= 1);
  await log.append(batchOf('d', 1), 0);
  mem.crash();
  const again = await PartitionLog.open({ clock: nodeClock, dir: DIR, storage: mem });
  assert.is(again.logEndOffset, 3, 'flushed appends survive, the unflushed one is lost');
});

const EPOCH_TMP = `${DIR}/leader-epoch-checkpoint.tmp`;

/** A log whose epoch 0 (offsets 0-1) is flushed and checkpointed, then epoch 3 begun and written at 2-3, unsynced. */
async function epochThreeUnsynced(mem: MemoryStorage): Promise<PartitionLog> {
  const log = await PartitionLog.open({ clock: nodeClock, dir: DIR, storage: mem, config: { flushIntervalMs: 600_000 } });
  await log.append(batchOf('a', 2), 0);
  await log.flush();
  await log.checkpoint();
  await log.beginEpoch(3);
  await log.append(batchOf('b', 2), 3);
  return log;
}

test('a new leader epoch is synced with the log, not on its own, and before the recovery point passes it', async () => {
  const mem = new MemoryStorage();
  const faulty = new FaultyStorage(mem);
  const log = await PartitionLog.open({ clock: nodeClock, dir: DIR, storage: faulty, config: { flushIntervalMs: 600_000 } });
  await log.append(batchOf('a', 2), 0);
  await log.beginEpoch(1);
  await log.append(batchOf('b', 2), 1);
  await log.beginEpoch(2);
  // A failover begins epochs in thousands of partitions at once: none of them waits for a file sync.
  assert.is(faulty.syncsByPath.get(EPOCH_TMP) ?? 0, 0);
  assert.equal(log.epochs.entries(), [{ epoch: 0, startOffset: 0 }, { epoch: 1, startOffset: 2 }, { epoch: 2, startOffset: 4 }]);
  // The flush syncs the segment, then the epoch file, and only then moves the recovery point.
  let release: (() => void) | null = null;
  faulty.plan.delay = (op, path) => (op === 'sync' && path === EPOCH_TMP ? new Promise<void>((r) => (release = r)) : undefined);
  const flushing = log.flush();
  for (let i = 0; i < 1000 && !release; i++) await new Promise((r) => setImmediate(r));
  assert.ok(release, 'the epoch file is synced by the flush');
  assert.is(log.recoveryPoint, 0, 'the recovery point waits for the epoch file');
  release!();
  await flushing;
  assert.is(log.recoveryPoint, 4);
  assert.is(faulty.syncsByPath.get(EPOCH_TMP), 1, 'one sync for the three epochs');
  await log.checkpoint();
  // A flush with no new epoch writes no epoch file.
  faulty.plan.delay = undefined;
  await log.append(batchOf('c', 1), 2);
  await log.flush();
  assert.is(faulty.syncsByPath.get(EPOCH_TMP), 1);
  mem.crash();
  const again = await PartitionLog.open({ clock: nodeClock, dir: DIR, storage: mem });
  assert.equal(again.epochs.entries(), [{ epoch: 0, startOffset: 0 }, { epoch: 1, startOffset: 2 }, { epoch: 2, startOffset: 4 }]);
});

test('a crash that kept a new epoch\'s batches but not its entry: reopening rebuilds the entry from the batches', async () => {
  const mem = new MemoryStorage();
  const log = await epochThreeUnsynced(mem);
  await log.append(batchOf('c', 1), 3);
  // A follower's append of the next leader's first batch (epoch 4 at offset 5).
  const d = batchOf('d', 1);
  setBaseOffset(d, 0, 5);
  setPartitionLeaderEpoch(d, 0, 4);
  await log.appendReplicated(d);
  // The page cache reached the disk for the segment; the epoch file was last written with epoch 0 alone.
  mem.crash({ keepUnsynced: (path, n) => (path.endsWith('.log') ? n : 0) });
  const again = await PartitionLog.open({ clock: nodeClock, dir: DIR, storage: mem });
  assert.is(again.logEndOffset, 6);
  assert.equal(again.epochs.entries(), [{ epoch: 0, startOffset: 0 }, { epoch: 3, startOffset: 2 }, { epoch: 4, startOffset: 5 }]);
  // What a follower of epoch 3 is told: its epoch ends where epoch 4 begins.
  assert.equal(again.epochs.endOffsetFor(3), { epoch: 3, endOffset: 5 });
  // Rebuilt entries are persisted at once: a second crash finds them in the file.
  mem.crash();
  const third = await PartitionLog.open({ clock: nodeClock, dir: DIR, storage: mem });
  assert.equal(third.epochs.entries(), again.epochs.entries());

  // Batches lost with the crash take their epochs with them.
  const mem2 = new MemoryStorage();
  await epochThreeUnsynced(mem2);
  mem2.crash();
  const after = await PartitionLog.open({ clock: nodeClock, dir: DIR, storage: mem2 });
  assert.is(after.logEndOffset, 2);
  assert.equal(after.epochs.entries(), [{ epoch: 0, startOffset: 0 }]);
});

test.run();

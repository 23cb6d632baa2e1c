// Durability: flush 'always' shares fsyncs between concurrent appends (group commit), a failing fsync or
// torn write rejects the append and fails the log, and nothing acknowledged was unsynced.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PartitionLog } from '../../src/log/partition-log.ts';
import { MemoryStorage } from '../../src/log/memory-storage.ts';
import { FaultyStorage } from '../../src/log/faulty-storage.ts';
import { LogFailedError } from '../../src/log/errors.ts';
import { batchOf, recordsIn, rejects } from '../helpers/log-fixtures.ts';
import { nodeClock } from '../../src/runtime/node/node-clock.ts';

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

test.run();

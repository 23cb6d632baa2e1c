// The broker's log cleaner: a pass cleans the compacted local log most in need (leader or follower alike) and
// leaves topics without cleanup.policy=compact alone; log.cleaner.io.max.bytes.per.second holds a cleaning to
// that rate on the runtime's clock, and a rate changed at runtime holds the next cleaning; the broker machine's `cleaner` region runs a pass after the backoff, the
// next at once after a pass that cleaned a log, and none with the cleaner off, its later waits following a changed
// log.cleaner.backoff.ms; the broker's metrics show its totals.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createActor, fromPromise, SimulatedClock as XStateClock } from 'xstate';
import { brokerMachine } from '../../machines/broker.ts';
import { LogCleanerManager, compactionConfigOf, type CleanerReplica } from '../../src/broker/log-cleaner-manager.ts';
import { PartitionLog } from '../../src/log/partition-log.ts';
import { cleanLog } from '../../src/log/log-cleaner.ts';
import { MemoryStorage } from '../../src/log/memory-storage.ts';
import { SimulatedClock } from '../../src/runtime/memory/simulated-clock.ts';
import { buildRecordBatch, forEachBatch, readRecords } from '../../src/protocol/record-batch.ts';
import { silentLogger } from '../../src/util/logger.ts';
import { BrokerMetrics } from '../../src/metrics/broker-metrics.ts';
import type { ClusterSnapshot } from '../../src/metadata/types.ts';

async function logWith(dir: string, clock: SimulatedClock, keys: number, rounds: number): Promise<PartitionLog> {
  const log = await PartitionLog.open({ dir, storage: new MemoryStorage(), clock, config: { segmentBytes: 1_000 } });
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < keys; k++) await log.append(buildRecordBatch({ timestamp: clock.wall(), records: [{ key: `k${k}`, value: `v${r}`.padEnd(40, '.') }] }), 0);
  }
  log.setHighWatermark(log.logEndOffset);
  return log;
}

async function count(log: PartitionLog): Promise<number> {
  let n = 0;
  const { data } = await log.read(log.logStartOffset, 1 << 24);
  forEachBatch(data, (pos) => (n += readRecords(data, pos).length));
  return n;
}

const replica = (topic: string, log: PartitionLog, role = 'leader'): CleanerReplica => ({ topic, partition: 0, log, role, producers: { table: { entries: () => [], lastStableOffset: (hw: number) => hw, aborted: { all: () => [], removeMarkers: () => {} } } } });

test('compaction configs come from the topic config; only compact policies are cleaned', () => {
  assert.is(compactionConfigOf({}), null);
  assert.is(compactionConfigOf({ 'cleanup.policy': 'delete' }), null);
  assert.equal(compactionConfigOf({ 'cleanup.policy': 'compact,delete', 'min.cleanable.dirty.ratio': '0.1', 'delete.retention.ms': '5' }), {
    minCleanableDirtyRatio: 0.1, minCompactionLagMs: 0, maxCompactionLagMs: Number.MAX_SAFE_INTEGER, deleteRetentionMs: 5,
  });
});

test('a pass cleans the dirtiest compacted log, followers too; a topic without compact is left alone', async () => {
  const clock = new SimulatedClock();
  const configs: Record<string, Record<string, string>> = { a: { 'cleanup.policy': 'compact', 'min.cleanable.dirty.ratio': '0.1' }, b: { 'cleanup.policy': 'compact' }, plain: {} };
  // a: cleaned once, then written again: about half of it is dirty. b: never cleaned, all dirty.
  const a = await logWith('/a-0', clock, 40, 1);
  await cleanLog(a, { now: clock.wall(), config: compactionConfigOf(configs.a!)!, force: true });
  for (let k = 0; k < 40; k++) await a.append(buildRecordBatch({ timestamp: clock.wall(), records: [{ key: `k${k}`, value: 'again'.padEnd(40, '.') }] }), 0);
  a.setHighWatermark(a.logEndOffset);
  const b = await logWith('/b-0', clock, 5, 12);
  const plain = await logWith('/plain-0', clock, 5, 12);
  const manager = new LogCleanerManager({ clock, logger: silentLogger, ioMaxBytesPerSecond: Infinity, topicConfig: (t) => configs[t] ?? null });
  const replicas = [replica('a', a), replica('b', b, 'follower'), replica('plain', plain), replica('a', a, 'offline')];
  const before = { a: await count(a), b: await count(b), plain: await count(plain) };
  const first = await manager.pass(replicas);
  assert.ok(first);
  assert.is(first.topic, 'b', 'the follower log with the higher dirty ratio goes first');
  assert.is(first.dirtyRatio, 1);
  assert.ok((await count(b)) < before.b);
  assert.is(await count(a), before.a);
  const second = await manager.pass(replicas);
  assert.is(second?.topic, 'a');
  assert.ok((await count(a)) < before.a);
  assert.is(await manager.pass(replicas), null, 'nothing dirty left');
  assert.is(await count(plain), before.plain, 'cleanup.policy=delete is never compacted');
  assert.is(manager.stats.cleanings, 2);
  assert.ok(manager.stats.recordsRemoved > 0 && manager.stats.bytesWritten > 0);
  // The broker's /metrics read the cleaner's totals.
  const metrics = new BrokerMetrics({ brokerId: 1, snapshot: () => ({ topics: {}, brokers: {} }) as unknown as ClusterSnapshot, replicas: () => [], processMetrics: false, cleaner: () => manager.stats });
  const body = (await metrics.exposition()).body;
  assert.match(body, /kastor_log_cleaner_cleanings\{broker="1"\} 2/);
  assert.match(body, new RegExp(`kastor_log_cleaner_removed_records\\{broker="1"\\} ${manager.stats.recordsRemoved}`));
  assert.match(body, /kastor_log_cleaner_max_dirty_ratio\{broker="1"\} 0/);
});

/** One pass of `manager` over a fresh dirty log, driving the simulated clock (each throttle wait is a timer): its bytes moved and the clock time it took. */
async function cleanOnce(manager: LogCleanerManager, clock: SimulatedClock, dir: string): Promise<{ moved: number; took: number }> {
  const log = await logWith(dir, clock, 20, 10);
  const started = clock.monotonic();
  let done = false;
  const pass = manager.pass([replica('t', log)]).finally(() => (done = true));
  for (let i = 0; i < 10_000 && !done; i++) {
    await new Promise<void>((r) => setImmediate(r));
    if (clock.nextDue() !== null) clock.step();
  }
  const report = await pass;
  assert.ok(report, `${dir} was cleaned`);
  return { moved: report.result.bytesRead + report.result.bytesWritten, took: clock.monotonic() - started };
}

/** A cleaning that moved `moved` bytes in `took` ms of clock time kept to `rate` bytes/s. */
function keptTo(rate: number, { moved, took }: { moved: number; took: number }): void {
  const expected = (moved / rate) * 1000;
  assert.ok(took >= expected * 0.8 && took <= expected * 1.2 + 50, `moved ${moved} B in ${took} ms of clock time, expected ~${expected.toFixed(0)} ms`);
}

test('log.cleaner.io.max.bytes.per.second holds a cleaning to its rate on the runtime clock', async () => {
  const clock = new SimulatedClock();
  const manager = new LogCleanerManager({ clock, logger: silentLogger, ioMaxBytesPerSecond: 20_000, topicConfig: () => ({ 'cleanup.policy': 'compact' }) });
  keptTo(20_000, await cleanOnce(manager, clock, '/t-0'));
});

test('a rate changed at runtime holds the next cleaning to the new rate', async () => {
  const clock = new SimulatedClock();
  let rate = Infinity;
  const manager = new LogCleanerManager({ clock, logger: silentLogger, ioMaxBytesPerSecond: () => rate, topicConfig: () => ({ 'cleanup.policy': 'compact' }) });
  const unbounded = await cleanOnce(manager, clock, '/u-0');
  assert.is(unbounded.took, 0, 'unbounded: no throttle wait on the clock');
  assert.is(manager.ioMaxBytesPerSecond, Infinity);
  rate = 10_000;
  const bounded = await cleanOnce(manager, clock, '/b-0');
  assert.is(manager.ioMaxBytesPerSecond, 10_000, 'the pass read the new rate');
  keptTo(10_000, bounded);
  rate = 40_000;
  keptTo(40_000, await cleanOnce(manager, clock, '/f-0'));
});

function startMachine(cleanerBackoffMs: number | null, passes: boolean[]) {
  const clock = new XStateClock();
  let runs = 0;
  const machine = brokerMachine.provide({
    actors: {
      flushPass: fromPromise(async () => {}),
      retentionPass: fromPromise(async () => {}),
      cleanerPass: fromPromise(async () => passes[runs++] ?? false),
    },
  });
  const actor = createActor(machine, {
    clock,
    input: { brokerId: 1, incarnation: 'i', flushIntervalMs: null, retentionCheckIntervalMs: 1_000_000, cleanerBackoffMs },
  }).start();
  return { actor, clock, runs: () => runs };
}

const settle = async () => {
  for (let i = 0; i < 5; i++) await new Promise<void>((r) => setImmediate(r));
};

test("the broker machine's cleaner region: after the backoff, at once after a pass that cleaned, never when off", async () => {
  const m = startMachine(500, [true, true, false, false]);
  await settle();
  assert.ok(m.actor.getSnapshot().matches({ running: { cleaner: 'waiting' } }), JSON.stringify(m.actor.getSnapshot().value));
  m.clock.increment(499);
  await settle();
  assert.is(m.runs(), 0);
  m.clock.increment(1);
  await settle();
  assert.is(m.runs(), 3, 'two passes that cleaned are followed at once; the third found nothing');
  assert.ok(m.actor.getSnapshot().matches({ running: { cleaner: 'waiting' } }));
  m.clock.increment(500);
  await settle();
  assert.is(m.runs(), 4);
  const off = startMachine(null, [true]);
  await settle();
  off.clock.increment(100_000);
  await settle();
  assert.ok(off.actor.getSnapshot().matches({ running: { cleaner: 'off' } }));
  assert.is(off.runs(), 0);
});

test('CLEANER_BACKOFF (log.cleaner.backoff.ms changed at runtime) sets the waits that follow; ignored with the cleaner off', async () => {
  const m = startMachine(500, []);
  await settle();
  m.clock.increment(500);
  await settle();
  assert.is(m.runs(), 1);
  m.actor.send({ type: 'CLEANER_BACKOFF', ms: 2_000 });
  assert.is(m.actor.getSnapshot().context.cleanerBackoffMs, 2_000);
  // The wait already begun keeps its length; the next one is the new backoff.
  m.clock.increment(500);
  await settle();
  assert.is(m.runs(), 2);
  m.clock.increment(1_999);
  await settle();
  assert.is(m.runs(), 2, 'not after the old 500 ms');
  m.clock.increment(1);
  await settle();
  assert.is(m.runs(), 3);
  const off = startMachine(null, []);
  await settle();
  off.actor.send({ type: 'CLEANER_BACKOFF', ms: 100 });
  off.clock.increment(10_000);
  await settle();
  assert.is(off.actor.getSnapshot().context.cleanerBackoffMs, null);
  assert.is(off.runs(), 0);
});

test.run();

// The log cleaner on PartitionLog over MemoryStorage: the latest record per key survives at its offset, batches
// keep their base and last offsets and get valid CRCs, tombstones live until delete.retention.ms after the
// cleaning that first kept them, min/max.compaction.lag.ms and min.cleanable.dirty.ratio decide what is cleaned,
// the high watermark and the last stable offset bound it, aborted transactions are removed and never supersede
// a committed value, transaction markers go delete.retention.ms after their transaction's last batch, gzip batches and kcat's snappy, lz4 and zstd batches are compressed again, an idempotent producer's last sequence
// survives as an empty batch, reads and replication cross the gaps, the offset map is exact, segments larger
// than the cleaner's read chunk are cleaned alike, and a crash at every storage step of a
// cleaning leaves the old log or the new one after recovery, never a mix.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PartitionLog, type LogConfig } from '../../src/log/partition-log.ts';
import { MemoryStorage } from '../../src/log/memory-storage.ts';
import { FaultyStorage } from '../../src/log/faulty-storage.ts';
import type { Storage } from '../../src/log/storage.ts';
import { cleanLog, cleanableState, readCleanerCheckpoint, DEFAULT_COMPACTION_CONFIG, type CompactionConfig } from '../../src/log/log-cleaner.ts';
import { DELETE_HORIZON_FLAG, deleteHorizonOf } from '../../src/log/batch-filter.ts';
import { OffsetMap } from '../../src/log/offset-map.ts';
import { buildRecordBatch, forEachBatch, readBatchHeader, readRecords, setBaseOffset, setPartitionLeaderEpoch, validateBatch, type RecordInput } from '../../src/protocol/record-batch.ts';
import { scanLog } from '../../src/producer-state/partition-producers.ts';
import { buildTxnMarkerBatch } from '../../src/log/txn-marker.ts';

const DIR = '/data/table-0';

function clockAt(t: { now: number }) {
  return { wall: () => t.now };
}

async function openLog(storage: Storage, t: { now: number }, config: Partial<LogConfig> = {}) {
  return PartitionLog.open({ dir: DIR, storage, clock: clockAt(t), config: { segmentBytes: 400, indexIntervalBytes: 64, ...config } });
}

type Rec = [key: string | null, value: string | null];

function batch(records: Rec[], opts: { timestamp?: number; gzip?: boolean; producerId?: number; baseSequence?: number } = {}): Buffer {
  return buildRecordBatch({
    records: records.map(([key, value]): RecordInput => ({ key, value })),
    timestamp: opts.timestamp ?? 1_000,
    compression: opts.gzip ? 'gzip' : 'none',
    producerId: opts.producerId,
    producerEpoch: opts.producerId === undefined ? undefined : 0,
    baseSequence: opts.baseSequence,
  });
}

interface Seen {
  offset: number;
  key: string | null;
  value: string | null;
  timestamp: number;
}

/** Every record of the log, checking every batch (CRC, counts) on the way. */
async function contents(log: PartitionLog): Promise<{ records: Seen[]; batches: ReturnType<typeof readBatchHeader>[] }> {
  const records: Seen[] = [];
  const batches: ReturnType<typeof readBatchHeader>[] = [];
  let offset = log.logStartOffset;
  while (offset < log.logEndOffset) {
    const r = await log.read(offset, 1 << 20);
    if (r.data.length === 0) break;
    forEachBatch(r.data, (pos, h) => {
      const v = validateBatch(r.data, pos, r.data.length, { deep: true, allowEmpty: true });
      assert.ok(v.ok, `batch at ${h.baseOffset} is valid: ${v.ok ? '' : v.reason}`);
      batches.push(h);
      for (const rec of readRecords(r.data, pos)) {
        records.push({ offset: rec.offset, key: rec.key?.toString() ?? null, value: rec.value?.toString() ?? null, timestamp: rec.timestamp });
      }
    });
    offset = r.nextOffset;
  }
  return { records, batches };
}

function latestPerKey(records: Seen[]): Seen[] {
  const last = new Map<string | null, Seen>();
  for (const r of records) if (r.key !== null) last.set(r.key, r);
  return [...last.values()].sort((a, b) => a.offset - b.offset);
}

const compaction = (c: Partial<CompactionConfig> = {}): CompactionConfig => ({ ...DEFAULT_COMPACTION_CONFIG, ...c });

/** Ten keys written five times each, one record per batch, then a batch that rolls a fresh active segment. */
async function fillKeys(log: PartitionLog, t: { now: number }): Promise<void> {
  for (let round = 0; round < 5; round++) {
    for (let k = 0; k < 10; k++) await log.append(batch([[`k${k}`, `v${round}-${k}`]], { timestamp: t.now }), 0);
  }
}

test('cleaning keeps the latest record per key at its offset, and the batches keep their offsets and valid CRCs', async () => {
  const t = { now: 10_000 };
  const log = await openLog(new MemoryStorage(), t);
  await fillKeys(log, t);
  await log.append(batch([['k0', 'tail']]), 0);
  log.setHighWatermark(log.logEndOffset);
  const before = await contents(log);
  const activeBase = log.segmentInfos().at(-1)!.baseOffset;
  const r = await cleanLog(log, { now: t.now, config: compaction() });
  assert.ok(r && !r.aborted);
  assert.is(r.endOffset, activeBase, 'cleaned up to the active segment');
  const after = await contents(log);
  const cleanedPart = before.records.filter((x) => x.offset < activeBase);
  const expected = [
    ...latestPerKey(cleanedPart).filter((x) => !before.records.some((y) => y.key === x.key && y.offset > x.offset && y.offset < activeBase)),
    ...before.records.filter((x) => x.offset >= activeBase),
  ].sort((a, b) => a.offset - b.offset);
  assert.equal(after.records, expected);
  assert.ok(after.records.length < before.records.length);
  for (const h of after.batches) {
    const orig = before.batches.find((b) => b.baseOffset === h.baseOffset)!;
    assert.ok(orig, `batch ${h.baseOffset} existed`);
    assert.is(h.lastOffsetDelta, orig.lastOffsetDelta, 'last offset kept');
  }
  assert.equal((await readCleanerCheckpoint(log)).firstDirtyOffset, activeBase);
  assert.is(log.logEndOffset, before.records.at(-1)!.offset + 1);
  // Reads from every offset, gaps included, return the next batch at or after it.
  for (let o = 0; o < log.logEndOffset; o++) {
    const got = await log.read(o, 1);
    const first = readRecords(got.data)[0]!;
    assert.is(first.offset, after.records.find((x) => x.offset >= o)!.offset, `read from ${o}`);
  }
  // Reopened from scratch (no recovery point: every segment scanned), the log is the same.
  await log.close();
  const storage = (log as unknown as { storage: MemoryStorage }).storage;
  await storage.unlink(`${DIR}/recovery-point-checkpoint`);
  const again = await openLog(storage, t);
  assert.equal((await contents(again)).records, after.records);
  assert.is(again.logEndOffset, log.logEndOffset);
});

test('a second cleaning with few dirty bytes waits for min.cleanable.dirty.ratio; max.compaction.lag.ms forces it', async () => {
  const t = { now: 10_000 };
  const log = await openLog(new MemoryStorage(), t);
  await fillKeys(log, t);
  log.setHighWatermark(log.logEndOffset);
  assert.ok(await cleanLog(log, { now: t.now, config: compaction() }));
  // The next cleaning merges the shrunken segments (groups of up to segment.bytes); after that, nothing changes.
  const merged = await cleanLog(log, { now: t.now, config: compaction(), force: true });
  assert.equal(merged!.recordsRemoved, 0);
  assert.ok(log.sealedSegments().length < merged!.segmentsReplaced, 'small cleaned segments merged');
  const again = await cleanLog(log, { now: t.now, config: compaction(), force: true });
  assert.equal([again!.bytesWritten, again!.segmentsReplaced, again!.recordsRemoved], [0, 0, 0], 'a cleaning that changes nothing writes nothing');
  for (let k = 0; k < 12; k++) await log.append(batch([[`k${k % 3}`, `late-${k}`]], { timestamp: t.now }), 0);
  log.setHighWatermark(log.logEndOffset);
  const cp = await readCleanerCheckpoint(log);
  const state = await cleanableState(log, compaction({ minCleanableDirtyRatio: 0.9 }), t.now, cp);
  assert.ok(state.dirtyBytes > 0 && state.dirtyRatio < 0.9, `ratio ${state.dirtyRatio}`);
  assert.is(await cleanLog(log, { now: t.now, config: compaction({ minCleanableDirtyRatio: 0.9 }) }), null);
  t.now += 5_000;
  assert.is(await cleanLog(log, { now: t.now, config: compaction({ minCleanableDirtyRatio: 0.9, maxCompactionLagMs: 10_000 }) }), null, 'not yet past the lag');
  t.now += 6_000;
  const forced = await cleanLog(log, { now: t.now, config: compaction({ minCleanableDirtyRatio: 0.9, maxCompactionLagMs: 10_000 }) });
  assert.ok(forced && forced.recordsRemoved > 0, 'past max.compaction.lag.ms the log is cleaned whatever its dirty ratio');
});

test('min.compaction.lag.ms and the high watermark bound the cleanable part', async () => {
  const t = { now: 10_000 };
  const log = await openLog(new MemoryStorage(), t);
  await fillKeys(log, t);
  t.now = 20_000;
  for (let k = 0; k < 30; k++) await log.append(batch([[`k${k % 10}`, `new-${k}`]], { timestamp: t.now }), 0);
  log.setHighWatermark(log.logEndOffset);
  const newStart = (await contents(log)).records.find((r) => r.timestamp === 20_000)!.offset;
  const lagged = await cleanableState(log, compaction({ minCompactionLagMs: 5_000 }), 21_000, await readCleanerCheckpoint(log));
  assert.ok(lagged.firstUncleanableOffset <= newStart, 'segments younger than the lag are not cleanable');
  const r = await cleanLog(log, { now: 21_000, config: compaction({ minCompactionLagMs: 5_000 }) });
  assert.ok(r);
  const after = await contents(log);
  assert.equal(after.records.filter((x) => x.timestamp === 20_000).length, 30, 'the recent records all stay');
  // The high watermark: nothing at or above it is cleaned.
  const t2 = { now: 10_000 };
  const log2 = await openLog(new MemoryStorage(), t2);
  await fillKeys(log2, t2);
  log2.setHighWatermark(5);
  const s2 = await cleanableState(log2, compaction(), t2.now, await readCleanerCheckpoint(log2));
  assert.ok(s2.firstUncleanableOffset <= 5);
  await cleanLog(log2, { now: t2.now, config: compaction(), force: true });
  assert.equal((await contents(log2)).records.filter((x) => x.offset >= 5).length, 45, 'nothing above the high watermark removed');
});

test('tombstones are kept with a delete horizon, then removed after delete.retention.ms; keyless records go', async () => {
  const t = { now: 100_000 };
  const log = await openLog(new MemoryStorage(), t);
  await log.append(batch([['a', 'a1'], ['b', 'b1'], [null, 'nokey']], { timestamp: 50_000 }), 0);
  await log.append(batch([['a', null], ['c', 'c1']], { timestamp: 60_000 }), 0);
  for (let i = 0; i < 12; i++) await log.append(batch([[`f${i}`, 'x'.repeat(20)]], { timestamp: 70_000 }), 0);
  log.setHighWatermark(log.logEndOffset);
  const config = compaction({ deleteRetentionMs: 1_000 });
  await cleanLog(log, { now: t.now, config, force: true });
  let after = await contents(log);
  const tomb = after.records.find((r) => r.key === 'a')!;
  assert.equal([tomb.offset, tomb.value, tomb.timestamp], [3, null, 60_000], 'the tombstone stays, with its timestamp');
  assert.not.ok(after.records.some((r) => r.value === 'a1' || r.value === 'nokey'));
  const h = after.batches.find((b) => b.baseOffset === 3)!;
  assert.ok(h.attributes & DELETE_HORIZON_FLAG, 'the batch carries its delete horizon');
  assert.is(h.baseTimestamp, 101_000);
  assert.is((await readCleanerCheckpoint(log)).tombstoneHorizon, 101_000);
  assert.is(await cleanLog(log, { now: 100_999, config }), null, 'nothing due before the horizon');
  const r = await cleanLog(log, { now: 101_000, config });
  assert.ok(r, 'the horizon passing makes the log cleanable');
  after = await contents(log);
  assert.not.ok(after.records.some((r) => r.key === 'a'), 'the tombstone is gone');
  assert.ok(after.records.some((r) => r.key === 'c' && r.offset === 4), 'its batch-mate stays at its offset');
  assert.ok(after.records.some((r) => r.key === 'b' && r.value === 'b1' && r.offset === 1), 'the unchanged batch before it is copied over');
  assert.is((await readCleanerCheckpoint(log)).tombstoneHorizon, -1);
});

test('gzip batches are compressed again; an idempotent producer keeps its last sequence as an empty batch', async () => {
  const t = { now: 10_000 };
  const log = await openLog(new MemoryStorage(), t);
  await log.append(batch([['a', '1'], ['b', '1'], ['c', '1']], { gzip: true }), 0);
  await log.append(batch([['p', '1'], ['q', '1']], { producerId: 7, baseSequence: 0 }), 0);
  await log.append(batch([['p', '2'], ['q', '2']], { producerId: 7, baseSequence: 2 }), 0);
  await log.append(batch([['a', '2'], ['b', '2'], ['p', '3'], ['q', '3']]), 0);
  for (let i = 0; i < 10; i++) await log.append(batch([[`f${i}`, 'x'.repeat(30)]]), 0);
  log.setHighWatermark(log.logEndOffset);
  const producers = await scanLog(log);
  const last = new Map(producers.entries().map((e) => [e.producerId, e.batches.at(-1)!.lastOffset]));
  assert.equal([...last], [[7, 6]]);
  await cleanLog(log, { now: t.now, config: compaction(), producerLastOffsets: last, force: true });
  const after = await contents(log);
  const gz = after.batches.find((b) => b.baseOffset === 0)!;
  assert.is(gz.attributes & 7, 1, 'still gzip');
  assert.equal([gz.recordsCount, gz.lastOffsetDelta], [1, 2]);
  assert.equal(after.records.filter((r) => r.offset < 3).map((r) => [r.offset, r.key, r.value]), [[2, 'c', '1']]);
  assert.not.ok(after.batches.some((b) => b.baseOffset === 3), "the producer's earlier batch, emptied, is gone");
  const kept = after.batches.find((b) => b.baseOffset === 5)!;
  assert.equal([kept.recordsCount, kept.lastOffsetDelta, kept.producerId, kept.baseSequence], [0, 1, 7, 2], 'its last batch stays empty with its sequence');
  const rebuilt = await scanLog(log);
  assert.equal(rebuilt.entry(7)!.batches.at(-1), { firstSeq: 2, lastSeq: 3, firstOffset: 5, lastOffset: 6, timestamp: 1_000 });
  assert.is(rebuilt.check({ producerId: 7, producerEpoch: 0, baseSequence: 4, lastOffsetDelta: 0, maxTimestamp: 0 }).kind, 'append', 'the next sequence is still in order');
});

for (const [codec, id] of [['snappy', 2], ['lz4', 3], ['zstd', 4]] as const) {
  test(`a ${codec} batch from kcat is compacted: its keys supersede older records, and it stays ${codec}`, async () => {
    const t = { now: 10_000 };
    const log = await openLog(new MemoryStorage(), t);
    await log.append(batch([['c1', 'old'], ['c2', 'old'], ['d', 'kept']]), 0);
    // kcat's batch: c1 ('a' x 200), c2 ('b' x 200), c1 ('c' x 200) at offsets 3-5.
    await log.append(readFileSync(fileURLToPath(new URL(`../fixtures/record-batches/kcat-${codec}.bin`, import.meta.url))), 0);
    for (let i = 0; i < 10; i++) await log.append(batch([[`f${i}`, 'x'.repeat(30)]]), 0);
    log.setHighWatermark(log.logEndOffset);
    await cleanLog(log, { now: t.now, config: compaction(), force: true });
    const after = await contents(log);
    const early = after.records.filter((r) => r.offset < 6).map((r) => [r.offset, r.key, r.value?.slice(0, 1)]);
    assert.equal(early, [[2, 'd', 'k'], [4, 'c2', 'b'], [5, 'c1', 'c']]);
    const h = after.batches.find((b) => b.baseOffset === 3)!;
    assert.equal([h.attributes & 7, h.recordsCount, h.lastOffsetDelta], [id, 2, 2], `still ${codec}, two records, last offset kept`);
  });
}

test('a follower replicates a cleaned log across its gaps; ListOffsets by time finds records past a gap', async () => {
  const t = { now: 10_000 };
  const leader = await openLog(new MemoryStorage(), t);
  for (let round = 0; round < 5; round++) {
    for (let k = 0; k < 10; k++) await leader.append(batch([[`k${k}`, `v${round}`]], { timestamp: 1_000 + round * 100 + k }), 0);
  }
  leader.setHighWatermark(leader.logEndOffset);
  await cleanLog(leader, { now: t.now, config: compaction(), force: true });
  const expected = await contents(leader);
  const follower = await openLog(new MemoryStorage(), t);
  let offset = 0;
  while (offset < leader.logEndOffset) {
    const r = await leader.read(offset, 300);
    await follower.appendReplicated(Buffer.from(r.data));
    offset = r.nextOffset;
  }
  assert.equal((await contents(follower)).records, expected.records);
  assert.is(follower.logEndOffset, leader.logEndOffset);
  const hit = await leader.offsetForTimestamp(1_105);
  const firstAtOrAfter = expected.records.find((r) => r.timestamp >= 1_105)!;
  assert.equal(hit, { offset: firstAtOrAfter.offset, timestamp: firstAtOrAfter.timestamp });
});

test('the offset map keeps the latest offset of every key exactly, through growth', () => {
  const map = new OffsetMap();
  const keys = Array.from({ length: 50_000 }, (_, i) => Buffer.from(`key-${i}`));
  const arena = Buffer.concat([Buffer.from('xx'), ...keys]);
  let at = 2;
  const spans = keys.map((k) => {
    const span = [at, k.length] as const;
    at += k.length;
    return span;
  });
  spans.forEach(([start, len], i) => map.set(arena, start, len, i));
  spans.forEach(([start, len], i) => i % 3 === 0 && map.set(arena, start, len, 100_000 + i));
  assert.is(map.size, keys.length);
  spans.forEach(([start, len], i) => assert.is(map.get(arena, start, len), i % 3 === 0 ? 100_000 + i : i));
  assert.is(map.get(Buffer.from('key-50000'), 0, 9), -1, 'an unknown key');
  assert.is(map.get(Buffer.from('key-1'), 0, 4), -1, 'a prefix of a key is another key');
  const sorted = map.sortedOffsets();
  assert.is(sorted.length, keys.length);
  assert.ok(sorted.every((v, i) => i === 0 || sorted[i - 1]! < v));
});

test('records appended after a truncation below the cleaner checkpoint are dirty again', async () => {
  const t = { now: 10_000 };
  const log = await openLog(new MemoryStorage(), t);
  for (let i = 0; i < 40; i++) await log.append(batch([[`u${i}`, `unique-${i}`]]), 0);
  log.setHighWatermark(log.logEndOffset);
  await cleanLog(log, { now: t.now, config: compaction(), force: true });
  const cp = (await readCleanerCheckpoint(log)).firstDirtyOffset;
  assert.ok(cp > 20, `checkpoint ${cp}`);
  // A follower cut back to 20 and given other records there by its new leader.
  await log.truncateTo(20);
  for (let i = 0; i < 40; i++) {
    // u0..u4 again below the old checkpoint only; other keys past it.
    const b = batch([20 + i < cp ? [`u${i % 5}`, `replaced-${i}`] : [`z${i}`, 'other']]);
    setBaseOffset(b, 0, 20 + i);
    setPartitionLeaderEpoch(b, 0, 0);
    await log.appendReplicated(b);
  }
  log.setHighWatermark(log.logEndOffset);
  assert.ok(log.logEndOffset > cp);
  await cleanLog(log, { now: t.now, config: compaction(), force: true });
  const after = (await contents(log)).records;
  const activeBase = log.segmentInfos().at(-1)!.baseOffset;
  for (const key of ['u0', 'u1', 'u2', 'u3', 'u4']) {
    assert.ok(after.filter((r) => r.key === key && r.offset < activeBase).length <= 1, `${key} once below the active segment`);
    assert.not.ok(after.some((r) => r.key === key && r.value!.startsWith('unique')), `the old ${key} is superseded`);
  }
});

test('compact,delete: segments the cleaner emptied do not hold back time retention', async () => {
  const t = { now: 10_000 };
  const log = await openLog(new MemoryStorage(), t, { retentionMs: 5_000 });
  await fillKeys(log, t);
  t.now = 20_000;
  for (let k = 0; k < 10; k++) await log.append(batch([[`k${k}`, 'new'.padEnd(40, '.')]], { timestamp: t.now }), 0);
  log.setHighWatermark(log.logEndOffset);
  await cleanLog(log, { now: t.now, config: compaction(), force: true });
  assert.is(log.segmentInfos()[0]!.size, 0, 'the first segments were emptied');
  t.now = 21_000;
  const { deletedSegments } = await log.applyRetention(t.now);
  assert.ok(deletedSegments > 0);
  assert.ok(log.segmentInfos()[0]!.size > 0, 'retention went past the empty segments to the first that holds records');
});

test('segments larger than the read chunk: batches cut between chunks are cleaned like the others', async () => {
  const t = { now: 10_000 };
  const log = await openLog(new MemoryStorage(), t, { segmentBytes: 3 << 20 });
  const value = 'x'.repeat(700);
  for (let b = 0; b < 60; b++) {
    await log.append(batch(Array.from({ length: 100 }, (_, i): Rec => [`k${(b * 100 + i) % 37}`, `${b}-${i}-${value}`])), 0);
  }
  await log.append(batch([['last', 'roll']]), 0);
  log.setHighWatermark(log.logEndOffset);
  assert.ok(log.segmentInfos()[0]!.size > 2 << 20, 'a segment of more than two read chunks');
  const before = await contents(log);
  const activeBase = log.segmentInfos().at(-1)!.baseOffset;
  await cleanLog(log, { now: t.now, config: compaction(), force: true });
  const after = await contents(log);
  const sealedPart = before.records.filter((r) => r.offset < activeBase);
  const expected = [...latestPerKey(sealedPart), ...before.records.filter((r) => r.offset >= activeBase)].sort((a, b) => a.offset - b.offset);
  assert.equal(after.records, expected);
});

test('a crash at every storage step of a cleaning recovers to the old log or the cleaned one, never a mix', async () => {
  const build = async (failAt: number) => {
    const mem = new MemoryStorage();
    const faulty = new FaultyStorage(mem);
    const t = { now: 10_000 };
    const log = await openLog(faulty, t, { segmentBytes: 300 });
    for (let round = 0; round < 3; round++) {
      for (let k = 0; k < 6; k++) await log.append(batch([[`k${k}`, round === 2 && k === 1 ? null : `v${round}-${k}`]], { timestamp: t.now }), 0);
    }
    await log.append(batch([['k0', 'tail']]), 0);
    log.setHighWatermark(log.logEndOffset);
    await log.flush();
    await log.checkpoint();
    const before = (await contents(log)).records;
    const bases = log.segmentInfos().map((x) => x.baseOffset);
    let ops = 0;
    faulty.plan.failOp = () => ops++ >= failAt;
    let failed = false;
    try {
      await cleanLog(log, { now: t.now, config: compaction(), force: true });
    } catch {
      failed = true;
    }
    const after = failed ? null : (await contents(log)).records;
    mem.crash();
    const reopened = await openLog(mem, t, { segmentBytes: 300 });
    const recovered = (await contents(reopened)).records;
    const leftovers = (await mem.list(DIR)).filter((n) => /\.(cleaned|swap|swapend|tmp)$/.test(n));
    return { before, bases, after, recovered, failed, leftovers, ops, reopened };
  };
  const clean = await build(Number.MAX_SAFE_INTEGER);
  assert.not.ok(clean.failed);
  const cleaned = clean.after!;
  assert.ok(cleaned.length < clean.before.length);
  assert.equal(clean.recovered, cleaned);
  let sawOld = 0;
  let sawNew = 0;
  for (let n = 0; n < clean.ops; n++) {
    const r = await build(n);
    assert.ok(r.failed, `step ${n} failed`);
    assert.equal(r.leftovers, [], `no cleaner files left after recovery (step ${n})`);
    // Each group of segments is swapped on its own (as Kafka does): the groups before the crash are cleaned,
    // the one it hit is wholly old or wholly new, the later ones are old.
    const same = (a: Seen[], b: Seen[]) => JSON.stringify(a) === JSON.stringify(b);
    const split = r.bases.find((x) => same(r.recovered, [...cleaned.filter((c) => c.offset < x), ...r.before.filter((c) => c.offset >= x)]));
    if (split === undefined) assert.unreachable(`crash at step ${n} recovered a mix: ${JSON.stringify(r.recovered.map((x) => x.offset))}`);
    else if (split === r.bases[0]) sawOld++;
    else if (same(r.recovered, cleaned)) sawNew++;
    // The recovered log cleans to the same result.
    r.reopened.setHighWatermark(r.reopened.logEndOffset);
    await cleanLog(r.reopened, { now: 10_000, config: compaction(), force: true });
    assert.equal((await contents(r.reopened)).records, cleaned, `cleaning again after a crash at step ${n}`);
  }
  assert.ok(sawOld > 0 && sawNew > 0, `both whole outcomes met (old ${sawOld}, new ${sawNew} of ${clean.ops} steps)`);
});


test('transactions: aborted records go and never supersede a committed value; nothing at or past the last stable offset is cleaned', async () => {
  const txn = (producerId: number, records: Rec[]) =>
    buildRecordBatch({ records: records.map(([key, value]) => ({ key, value })), producerId, producerEpoch: 0, baseSequence: 0, isTransactional: true, timestamp: 1_000 });
  const marker = (producerId: number, type: 'COMMIT' | 'ABORT') => buildTxnMarkerBatch(producerId, 0, { type, coordinatorEpoch: 0 }, 1_000);
  const filler = async (log: PartitionLog) => {
    for (let i = 0; i < 12; i++) await log.append(batch([[`f${i}`, 'x'.repeat(30)]]), 0);
  };
  const clean = async (log: PartitionLog) => {
    log.setHighWatermark(log.logEndOffset);
    const producers = await scanLog(log);
    return cleanLog(log, { now: 10_000, config: compaction(), force: true, abortedTxns: producers.aborted.all(), lastStableOffset: producers.lastStableOffset(log.highWatermark) });
  };
  const valuesOf = (records: Seen[], key: string) => records.filter((r) => r.key === key).map((r) => r.value);

  const log = await openLog(new MemoryStorage(), { now: 10_000 });
  await log.append(batch([['a', 'a-plain'], ['b', 'b-plain']]), 0);
  await log.append(txn(7, [['c', 'c-committed']]), 0);
  await log.append(marker(7, 'COMMIT'), 0);
  await log.append(txn(8, [['a', 'a-aborted'], ['c', 'c-aborted']]), 0);
  await log.append(marker(8, 'ABORT'), 0);
  await filler(log);
  assert.ok(await clean(log));
  const after = await contents(log);
  assert.equal(valuesOf(after.records, 'a'), ['a-plain'], 'the aborted write did not supersede the committed value');
  assert.equal(valuesOf(after.records, 'c'), ['c-committed']);
  assert.not.ok(after.records.some((r) => r.value?.endsWith('-aborted')), 'aborted records are removed');
  assert.is(after.batches.filter((h) => (h.attributes & 0x20) !== 0).length, 2, 'both markers stay');

  // An open transaction holds the last stable offset: a later write of a key past it does not remove the
  // earlier value (the open transaction's own records, and everything after them, are not cleaned yet).
  const open = await openLog(new MemoryStorage(), { now: 10_000 });
  await open.append(batch([['a', 'a1'], ['b', 'b1']]), 0);
  await filler(open);
  const openAt = open.logEndOffset;
  await open.append(txn(9, [['b', 'b-open']]), 0);
  await open.append(batch([['a', 'a2']]), 0);
  await filler(open);
  await clean(open);
  const kept = await contents(open);
  assert.equal(valuesOf(kept.records, 'a'), ['a1', 'a2'], 'a1 stays: a2 is past the last stable offset');
  assert.equal(valuesOf(kept.records, 'b'), ['b1', 'b-open']);
  assert.ok(kept.records.filter((r) => r.offset >= openAt).length >= 14, 'nothing at or past the last stable offset removed');
});

test('transactions: a marker stays while its transaction has a batch, then goes delete.retention.ms after the cleaning that found it alone', async () => {
  const txn = (producerId: number, records: Rec[], baseSequence = 0) =>
    buildRecordBatch({ records: records.map(([key, value]) => ({ key, value })), producerId, producerEpoch: 0, baseSequence, isTransactional: true, timestamp: 1_000 });
  const marker = (producerId: number, type: 'COMMIT' | 'ABORT') => buildTxnMarkerBatch(producerId, 0, { type, coordinatorEpoch: 0 }, 1_000);
  const isMarker = (h: { attributes: number }) => (h.attributes & 0x20) !== 0;
  // What the broker's cleaner manager passes: the producer state as the log holds it.
  const forgotten: number[] = [];
  const cleanAt = async (log: PartitionLog, now: number) => {
    log.setHighWatermark(log.logEndOffset);
    const producers = await scanLog(log);
    const producerLastOffsets = new Map<number, number>();
    const markerOnlyProducers = new Map<number, number>();
    for (const e of producers.entries()) {
      if (e.batches.length > 0) producerLastOffsets.set(e.producerId, e.batches.at(-1)!.lastOffset);
      else markerOnlyProducers.set(e.producerId, e.epoch);
    }
    const r = await cleanLog(log, {
      now, config: compaction({ deleteRetentionMs: 1_000 }), force: true, producerLastOffsets, markerOnlyProducers,
      abortedTxns: producers.aborted.all(), lastStableOffset: producers.lastStableOffset(log.highWatermark),
      forgetAbortedTxns: (markers) => forgotten.push(...markers),
    });
    assert.ok(r && !r.aborted);
    return r;
  };
  const filler = async (log: PartitionLog) => {
    for (let i = 0; i < 12; i++) await log.append(batch([[`f${i}`, 'x'.repeat(30)]]), 0);
  };

  const log = await openLog(new MemoryStorage(), { now: 10_000 });
  await log.append(txn(7, [['c', 'c-committed']]), 0);
  const commitAt = log.logEndOffset;
  await log.append(marker(7, 'COMMIT'), 0);
  await log.append(txn(8, [['a', 'a-aborted']]), 0);
  const abortAt = log.logEndOffset;
  await log.append(marker(8, 'ABORT'), 0);
  await log.append(txn(9, [['d', 'd-committed']]), 0);
  const keptCommitAt = log.logEndOffset;
  await log.append(marker(9, 'COMMIT'), 0);
  // A producer's last data batch carries its sequence and stays (as an empty header), and with it its
  // transaction's marker: later batches of producers 7 and 8, outside any transaction, take that over, so the
  // transactions' batches can go.
  await log.append(batch([['c', 'c-plain']], { producerId: 7, baseSequence: 1 }), 0);
  await log.append(batch([['e', 'e-plain']], { producerId: 8, baseSequence: 1 }), 0);
  await filler(log);

  const first = await cleanAt(log, 10_000);
  let after = await contents(log);
  const markerAt = (offset: number) => after.batches.find((h) => isMarker(h) && h.baseOffset === offset);
  assert.equal([first.markersRemoved, forgotten], [0, []]);
  assert.ok(markerAt(commitAt) && deleteHorizonOf(markerAt(commitAt)!) === 11_000, 'a commit marker whose transaction is gone gets its delete horizon');
  assert.ok(markerAt(abortAt) && deleteHorizonOf(markerAt(abortAt)!) === 11_000, 'so does an abort marker once the aborted records are gone');
  assert.ok(markerAt(keptCommitAt) && deleteHorizonOf(markerAt(keptCommitAt)!) === null, 'a marker whose transaction has a record left stays as it is');
  assert.equal(after.records.find((r) => r.key === 'd')?.value, 'd-committed');

  await cleanAt(log, 10_999);
  after = await contents(log);
  assert.ok(markerAt(commitAt) && markerAt(abortAt), 'both stay until their horizon');

  const last = await cleanAt(log, 11_000);
  after = await contents(log);
  assert.is(markerAt(commitAt), undefined, 'the commit marker went at its horizon');
  assert.is(markerAt(abortAt), undefined, 'the abort marker went at its horizon');
  assert.equal(forgotten, [abortAt], 'and its aborted-transaction index entry must go');
  assert.is(last.markersRemoved, 2);
  assert.ok(markerAt(keptCommitAt), 'the marker of a transaction with a record left stays');
  // The log rebuilds to the same state: no transaction left open (the last stable offset is the high
  // watermark), no aborted transaction without its marker.
  const rebuilt = await scanLog(log);
  assert.is(rebuilt.lastStableOffset(log.highWatermark), log.highWatermark);
  assert.equal(rebuilt.aborted.all(), []);

  // A coordinator's transactional write carries no sequence: its producer state has no data batch, and the
  // marker is what the state knows of the producer (its epoch), so it stays as an empty control batch.
  const coord = await openLog(new MemoryStorage(), { now: 10_000 });
  await coord.append(txn(5, [['g', 'offset-1']], -1), 0);
  const coordMarkerAt = coord.logEndOffset;
  await coord.append(marker(5, 'COMMIT'), 0);
  await coord.append(batch([['g', 'offset-2']]), 0);
  await filler(coord);
  await cleanAt(coord, 10_000);
  await cleanAt(coord, 20_000);
  const c = await contents(coord);
  const kept = c.batches.find((h) => h.baseOffset === coordMarkerAt);
  assert.ok(kept && isMarker(kept) && kept.recordsCount === 0, 'emptied, not removed');
  const state = await scanLog(coord);
  assert.is(state.lastStableOffset(coord.highWatermark), coord.highWatermark, 'an empty control batch opens no transaction');
  assert.equal(state.entries().map((e) => [e.producerId, e.epoch]), [[5, 0]]);
});

test.run();

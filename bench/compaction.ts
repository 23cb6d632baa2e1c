// Log compaction, measured against the file system in the same run so the ratio holds on a noisy machine:
//   clean          a log of --mb MiB in --batch-kib batches of --record-bytes records over --keys keys (most
//                  records superseded), cleaned once (src/log/log-cleaner.ts: offset map over the dirty part,
//                  then every segment rewritten and swapped); MB/s = the log's bytes / time. raw = the same
//                  segment files read sequentially in 1 MiB chunks and the same bytes written to a new file
//                  and fsynced. ratio = clean MB/s / raw MB/s (target >= 0.5).
//   clean-nothing-superseded   the same with every key distinct: nothing removed, everything read and rewritten.
//   offsets-load   a __consumer_offsets partition after --commits offset commits (--groups groups, each
//                  committing --partitions partitions at a time, as OffsetCommit does): the time a new group
//                  coordinator takes to load it (src/group/offsets-loader.ts), before and after compaction.
//
//   npx tsx bench/run.ts compaction [--mb 128] [--keys 1000] [--batch-kib 16] [--record-bytes 100]
//                                   [--commits 1000000] [--groups 100] [--partitions 10] [--rounds 3]
//
// Data lives under os.tmpdir() and is removed afterwards. One JSON line per result on stdout.
import { mkdtemp, open, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PartitionLog } from '../src/log/partition-log.ts';
import { NodeStorage } from '../src/runtime/node/node-storage.ts';
import { nodeClock } from '../src/runtime/node/node-clock.ts';
import { buildRecordBatch } from '../src/protocol/record-batch-builder.ts';
import { cleanLog, DEFAULT_COMPACTION_CONFIG } from '../src/log/log-cleaner.ts';
import { loadOffsetsPartition } from '../src/group/offsets-loader.ts';
import { encodeOffset, offsetKey } from '../src/group/offsets-record-format.ts';
import { parseNumberFlags } from './log.ts';

interface Args {
  mb: number;
  keys: number;
  batchKib: number;
  recordBytes: number;
  commits: number;
  groups: number;
  partitions: number;
  rounds: number;
}

function parseArgs(args: string[]): Args {
  return parseNumberFlags(args, { mb: 128, keys: 1000, batchKib: 16, recordBytes: 100, commits: 1_000_000, groups: 100, partitions: 10, rounds: 3 }, {
    '--mb': 'mb', '--keys': 'keys', '--batch-kib': 'batchKib', '--record-bytes': 'recordBytes', '--commits': 'commits', '--groups': 'groups', '--partitions': 'partitions', '--rounds': 'rounds',
  });
}

const MB = 1024 * 1024;
const round = (n: number, d = 2) => Math.round(n * 10 ** d) / 10 ** d;
const emit = (o: object) => process.stdout.write(JSON.stringify({ bench: 'compaction', ...o }) + '\n');
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function openLog(dir: string, segmentBytes: number): Promise<PartitionLog> {
  return PartitionLog.open({ dir, storage: new NodeStorage(), clock: nodeClock, config: { segmentBytes, flush: 'interval' } });
}

/** Appends batches until the log holds `bytes`; then a last batch so every written one is in a sealed segment. */
async function fillKeyed(log: PartitionLog, a: Args, bytes: number): Promise<void> {
  const perRecord = a.recordBytes + 20;
  const n = Math.max(1, Math.floor((a.batchKib * 1024 - 61) / perRecord));
  let k = 0;
  let size = 0;
  for (let b = 0; size < bytes; b++) {
    const batch = buildRecordBatch({
      timestamp: 1_700_000_000_000 + b,
      records: Array.from({ length: n }, (_, i) => ({ key: `key-${(k++ % a.keys).toString().padStart(6, '0')}`, value: Buffer.alloc(a.recordBytes, (b + i) & 0xff) })),
    });
    await log.append(batch, 0);
    size += batch.length;
  }
}

async function segmentFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((f) => f.endsWith('.log')).sort().map((f) => join(dir, f));
}

/** Reads the files sequentially in 1 MiB chunks and writes the same bytes to one new file, fsynced: ms. */
async function rawReadWrite(files: string[], out: string): Promise<{ ms: number; bytes: number }> {
  const t0 = performance.now();
  const w = await open(out, 'w');
  let written = 0;
  for (const f of files) {
    const r = await open(f, 'r');
    for (let pos = 0; ; ) {
      const buf = Buffer.allocUnsafe(MB);
      const { bytesRead } = await r.read(buf, 0, MB, pos);
      if (bytesRead === 0) break;
      await w.write(buf, 0, bytesRead, written);
      written += bytesRead;
      pos += bytesRead;
    }
    await r.close();
  }
  await w.sync();
  await w.close();
  return { ms: performance.now() - t0, bytes: written };
}

async function benchClean(root: string, a: Args, label: string): Promise<void> {
  const results: Array<{ cleanMs: number; rawMs: number; bytes: number; written: number; removed: number; read: number; records: number }> = [];
  for (let r = 0; r < a.rounds; r++) {
    const dir = join(root, `clean-${r}`);
    // About eight segments whatever the size (at most 16 MiB each), so the log is cleanable below its active one.
    const log = await openLog(dir, Math.min(16 * MB, Math.max(MB, Math.floor((a.mb * MB) / 8))));
    await fillKeyed(log, a, a.mb * MB);
    await log.append(buildRecordBatch({ timestamp: 1, records: [{ key: 'last', value: 'roll' }] }), 0);
    log.setHighWatermark(log.logEndOffset);
    await log.flush();
    const sealed = log.segmentInfos().slice(0, -1).reduce((s, x) => s + x.size, 0);
    // Raw first, on the files the cleaner is about to read (the page cache is warm for both alike).
    const files = (await segmentFiles(dir)).slice(0, -1);
    const raw = await rawReadWrite(files, join(root, `raw-${r}.bin`));
    await rm(join(root, `raw-${r}.bin`));
    const t0 = performance.now();
    const res = await cleanLog(log, { now: Date.now(), config: DEFAULT_COMPACTION_CONFIG, force: true });
    const cleanMs = performance.now() - t0;
    results.push({ cleanMs, rawMs: raw.ms, bytes: sealed, written: res!.bytesWritten, removed: res!.recordsRemoved, read: res!.bytesRead, records: res!.recordsRead });
    await log.close();
    await rm(dir, { recursive: true, force: true });
  }
  const cleanMs = median(results.map((x) => x.cleanMs));
  const rawMs = median(results.map((x) => x.rawMs));
  const bytes = results[0]!.bytes;
  const mbPerS = bytes / MB / (cleanMs / 1000);
  const rawMbPerS = bytes / MB / (rawMs / 1000);
  emit({
    case: label, log_mb: round(bytes / MB), keys: Math.min(a.keys, results[0]!.records), record_bytes: a.recordBytes, rounds: a.rounds,
    mb_per_s: round(mbPerS), raw_read_write_mb_per_s: round(rawMbPerS), ratio: round(mbPerS / rawMbPerS, 3),
    clean_ms: round(cleanMs, 1), raw_ms: round(rawMs, 1), cleaner_read_mb: round(results[0]!.read / MB), written_mb: round(results[0]!.written / MB, 3), records_removed: results[0]!.removed,
  });
}

async function benchOffsetsLoad(root: string, a: Args): Promise<void> {
  const dir = join(root, '__consumer_offsets-0');
  // Small segments, so that all but the last are cleanable (Kafka's offsets.topic.segment.bytes is 100 MiB).
  const log = await openLog(dir, MB);
  let commits = 0;
  let offset = 0n;
  for (let g = 0; commits < a.commits; g = (g + 1) % a.groups) {
    // One OffsetCommit: a group commits its partitions in one batch, as the coordinator appends it.
    offset++;
    const group = `group-${g}`;
    const records = Array.from({ length: a.partitions }, (_, p) => ({
      key: offsetKey(group, 'orders', p),
      value: encodeOffset({ offset: offset * 100n + BigInt(p), leaderEpoch: 0, metadata: '', commitTimestamp: 1_700_000_000_000 + commits }),
    }));
    await log.append(buildRecordBatch({ timestamp: 1_700_000_000_000 + commits, records }), 0);
    commits += records.length;
  }
  await log.append(buildRecordBatch({ timestamp: 1, records: [{ key: offsetKey('last', 'orders', 0), value: encodeOffset({ offset: 0n, leaderEpoch: 0, metadata: '', commitTimestamp: 1 }) }] }), 0);
  log.setHighWatermark(log.logEndOffset);
  await log.flush();
  const size = () => log.segmentInfos().reduce((s, x) => s + x.size, 0);
  const load = async () => {
    const times: number[] = [];
    let keys = 0;
    for (let r = 0; r < a.rounds; r++) {
      const t0 = performance.now();
      const loaded = await loadOffsetsPartition(log);
      times.push(performance.now() - t0);
      keys = [...loaded.offsets.values()].reduce((s, m) => s + m.size, 0);
    }
    return { ms: median(times), keys };
  };
  const before = await load();
  const bytesBefore = size();
  const t0 = performance.now();
  await cleanLog(log, { now: Date.now(), config: DEFAULT_COMPACTION_CONFIG, force: true });
  const cleanMs = performance.now() - t0;
  const after = await load();
  if (after.keys !== before.keys) throw new Error(`compaction changed the loaded offsets: ${before.keys} keys before, ${after.keys} after`);
  emit({
    case: 'offsets-load', commits, groups: a.groups, partitions_per_group: a.partitions, committed_keys: after.keys,
    load_ms_without_compaction: round(before.ms, 1), load_ms_with_compaction: round(after.ms, 1), speedup: round(before.ms / after.ms, 1),
    log_mb_without: round(bytesBefore / MB), log_mb_with: round(size() / MB, 3), clean_ms: round(cleanMs, 1),
  });
  await log.close();
}

export async function run(args: string[]): Promise<void> {
  const a = parseArgs(args);
  const root = await mkdtemp(join(tmpdir(), 'kastor-bench-compaction-'));
  try {
    await benchClean(root, a, 'clean');
    // The other end: every key distinct, so every record stays and every byte is read twice and written.
    await benchClean(root, { ...a, keys: Number.MAX_SAFE_INTEGER }, 'clean-nothing-superseded');
    await benchOffsetsLoad(root, a);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

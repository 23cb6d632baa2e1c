// Log compaction of one partition log, as Kafka's LogCleaner (Cleaner.doClean) does it.
//
// The log splits at the cleaner checkpoint (where the last cleaning ended) into a clean part and a dirty part.
// Only sealed segments wholly below the last stable offset (so below the high watermark, and no open
// transaction's records are cleaned: one that later aborts must not supersede a committed value) and older than
// min.compaction.lag.ms can be cleaned: the first segment that is not bounds the dirty part (Kafka's first
// uncleanable offset). A log is worth cleaning when dirty bytes / (clean + dirty) reaches
// min.cleanable.dirty.ratio, when its oldest dirty record is older than max.compaction.lag.ms, or when a kept
// tombstone's delete horizon has passed.
//
// A cleaning builds the offset map (latest offset per key) over the dirty part, then rewrites every segment
// from the log start to the end of the mapped part, in groups of consecutive segments whose sizes add up to at
// most segment.bytes, each group into one new segment swapped in crash-safe (segment-swap.ts). A record stays
// when it is the latest for its key (and, for a tombstone, its batch's delete horizon has not passed: the
// first cleaning that keeps a tombstone stamps now + delete.retention.ms on its batch, KIP-534). Keyless
// records go, as Kafka drops them. Records of aborted transactions (the aborted-transaction index) never enter
// the map and go, as Kafka's cleaner discards them, so a read_committed reader of the cleaned log sees every
// key's latest committed value. A transaction marker stays while a batch of its transaction does, and goes
// delete.retention.ms after the cleaning that found its transaction gone (cleaned-txns.ts). A batch emptied of
// records stays as an empty header when it ends an active idempotent producer's history (its last sequence),
// and goes otherwise.
// batch-filter.ts rewrites batches, compressed again with their own codec (gzip, snappy, lz4 or zstd); only a
// batch whose attributes name no codec is kept as written, and its keys do not enter the map.
//
// The offset map (offset-map.ts) holds the key bytes themselves, at most maxMapKeys of them (Kafka bounds its
// MD5-keyed map by log.cleaner.dedupe.buffer.size): a dirty part with more keys is cleaned in several passes,
// each ending at the segment where the map filled. The rewrite reads only the batches of the dirty part that
// keep a record (their headers are noted during the map pass; segment-batches.ts reads segments).

import { join } from 'node:path';
import type { PartitionLog } from './partition-log.ts';
import { Segment } from './segment.ts';
import { readCheckpoint, writeCheckpoint } from './checkpoint.ts';
import { CheckpointFormatError } from './errors.ts';
import { discardCleaned } from './segment-swap.ts';
import { OffsetMap } from './offset-map.ts';
import { BatchRefs, forEachSegmentBatch, READ_CHUNK } from './segment-batches.ts';
import { cleanerRecords, deleteHorizonOf, isControlBatch, isFilterable, rebuildBatch, scanRecordKeys } from './batch-filter.ts';
import { recordsBody } from '../protocol/record-batch-reader.ts';
import { BATCH_HEADER_SIZE, BATCH_OVERHEAD, readBatchHeader, TRANSACTIONAL_FLAG, type BatchHeader } from '../protocol/record-batch-layout.ts';
import type { AbortedTxn } from './txn-index.ts';
import { CleanedTxns } from './cleaned-txns.ts';
import { readTxnMarker } from './txn-marker.ts';

export const CLEANER_CHECKPOINT = 'cleaner-offset-checkpoint';

/** The topic configs compaction follows (Kafka's names, typed). */
export interface CompactionConfig {
  minCleanableDirtyRatio: number;
  minCompactionLagMs: number;
  maxCompactionLagMs: number;
  deleteRetentionMs: number;
}

export const DEFAULT_COMPACTION_CONFIG: Readonly<CompactionConfig> = Object.freeze({
  minCleanableDirtyRatio: 0.5,
  minCompactionLagMs: 0,
  maxCompactionLagMs: Number.MAX_SAFE_INTEGER,
  deleteRetentionMs: 86_400_000,
});

/** What the cleaner checkpoint keeps per log. */
export interface CleanerCheckpoint {
  /** The first offset not cleaned yet: where the dirty part starts. */
  firstDirtyOffset: number;
  /** The earliest delete horizon among the tombstones the last cleaning kept, -1 if none. */
  tombstoneHorizon: number;
}

/** Where a log stands for the cleaner: the cleanable range and why (or whether) it needs cleaning. */
export interface CleanableState {
  firstDirtyOffset: number;
  firstUncleanableOffset: number;
  cleanBytes: number;
  dirtyBytes: number;
  /** dirtyBytes / (cleanBytes + dirtyBytes), 0 for an empty range. */
  dirtyRatio: number;
  /** The oldest dirty record is past max.compaction.lag.ms (Kafka's needCompactionNow). */
  pastMaxLag: boolean;
  /** A kept tombstone's delete horizon has passed. */
  tombstonesDue: boolean;
  /** Whether a cleaning now would do anything the configs ask for. */
  needsCleaning: boolean;
}

export interface CleanOptions {
  now: number;
  config: CompactionConfig;
  /** The last offset of each active idempotent producer's last batch, by producer id (the producer state). */
  producerLastOffsets?: ReadonlyMap<number, number>;
  /**
   * The active producers with no data batch in their state, by producer id, with their epoch (a coordinator's
   * transactional writes carry no sequence): their markers of that epoch carry what the state knows of them
   * and stay, emptied once they may go (Kafka's LastRecord without a lastDataOffset).
   */
  markerOnlyProducers?: ReadonlyMap<number, number>;
  /** The partition's last stable offset: nothing at or past it is cleaned (default: the high watermark). */
  lastStableOffset?: number;
  /** The aborted transactions of the log (its aborted-transaction index): their records are removed. */
  abortedTxns?: readonly AbortedTxn[];
  /**
   * Called with the offsets of the ABORT markers a cleaned group of segments no longer holds, before the group
   * is swapped in: their aborted-transaction index entries must go no later than the markers do (a reader told
   * of an aborted transaction whose marker it never meets skips its producer's later transactions). Earlier is
   * harmless: such a transaction has no batch left to skip.
   */
  forgetAbortedTxns?: (markerOffsets: number[]) => void;
  /** Called with the bytes read or written so far, awaited: log.cleaner.io.max.bytes.per.second. */
  throttle?: (bytes: number) => Promise<void>;
  maxMapKeys?: number;
  /** Clean even when the state says it is not needed (tests, a forced cleaning). */
  force?: boolean;
}

export interface CleanResult {
  /** Where the dirty part started and where this cleaning ended (the new checkpoint). */
  firstDirtyOffset: number;
  endOffset: number;
  bytesRead: number;
  bytesWritten: number;
  recordsRead: number;
  recordsRemoved: number;
  segmentsReplaced: number;
  /** The earliest delete horizon of the tombstones kept, -1 if none (the checkpoint's). */
  tombstoneHorizon: number;
  /** The swap was refused because the log changed meanwhile (retention, truncation): try again later. */
  aborted: boolean;
  /** The transaction markers removed (or emptied, when they carry their producer's state). */
  markersRemoved: number;
}

const WRITE_CHUNK = 1 << 20;
const DEFAULT_MAX_MAP_KEYS = 4_000_000;
/** Batch headers kept between the two passes at most (about 60 bytes each); past it, segments are read whole. */
const MAX_BATCH_REFS = 2_000_000;

export async function readCleanerCheckpoint(log: PartitionLog): Promise<CleanerCheckpoint> {
  let entries: string[] | null = null;
  try {
    entries = await readCheckpoint(log.storage, join(log.dir, CLEANER_CHECKPOINT));
  } catch (e) {
    if (!(e instanceof CheckpointFormatError)) throw e;
  }
  const [dirty, horizon] = (entries ?? []).map(Number);
  return {
    firstDirtyOffset: Number.isSafeInteger(dirty) && dirty! >= 0 ? dirty! : 0,
    tombstoneHorizon: Number.isSafeInteger(horizon) ? horizon! : -1,
  };
}

export function writeCleanerCheckpoint(log: PartitionLog, cp: CleanerCheckpoint): Promise<void> {
  return writeCheckpoint(log.storage, join(log.dir, CLEANER_CHECKPOINT), [String(cp.firstDirtyOffset), String(cp.tombstoneHorizon)]);
}

/** The cleanable range of a log and whether it needs cleaning now (Kafka's LogCleanerManager.cleanableOffsets). */
export async function cleanableState(log: PartitionLog, config: CompactionConfig, now: number, cp: CleanerCheckpoint, lastStableOffset = Infinity): Promise<CleanableState> {
  const sealed = log.sealedSegments();
  const stableEnd = Math.min(log.highWatermark, lastStableOffset);
  // The active segment is never cleaned: it starts where the last sealed one ends.
  let firstUncleanable = sealed.length === 0 ? log.logStartOffset : log.segmentInfos()[sealed.length]!.baseOffset;
  for (const s of sealed) {
    const tooRecent = config.minCompactionLagMs > 0 && s.maxTimestamp >= 0 && now - s.maxTimestamp < config.minCompactionLagMs;
    if (s.nextOffset > stableEnd || tooRecent) {
      firstUncleanable = s.baseOffset;
      break;
    }
  }
  // A checkpoint outside the log (retention moved its start, a truncation cut below it) starts again at the start;
  // one above a truncation point starts there (the records appended since are new).
  let firstDirty = Math.min(cp.firstDirtyOffset, log.truncatedTo);
  if (firstDirty < log.logStartOffset || firstDirty > log.logEndOffset) firstDirty = log.logStartOffset;
  let cleanBytes = 0;
  let dirtyBytes = 0;
  let firstDirtySegment: Segment | undefined;
  for (const s of sealed) {
    if (s.baseOffset >= firstUncleanable) break;
    if (s.nextOffset <= firstDirty) cleanBytes += s.size;
    else {
      dirtyBytes += s.size;
      firstDirtySegment ??= s;
    }
  }
  const total = cleanBytes + dirtyBytes;
  const dirtyRatio = total === 0 ? 0 : dirtyBytes / total;
  let pastMaxLag = false;
  if (firstDirtySegment && firstDirtySegment.size > 0 && config.maxCompactionLagMs < Number.MAX_SAFE_INTEGER) {
    const header = await firstDirtySegment.log.read(0, BATCH_HEADER_SIZE);
    const earliest = header.length === BATCH_HEADER_SIZE ? readBatchHeader(header).maxTimestamp : -1;
    pastMaxLag = earliest >= 0 && now - earliest > config.maxCompactionLagMs;
  }
  const tombstonesDue = cp.tombstoneHorizon >= 0 && now >= cp.tombstoneHorizon;
  const needsCleaning = (dirtyBytes > 0 && (dirtyRatio >= config.minCleanableDirtyRatio || pastMaxLag)) || (tombstonesDue && total > 0);
  return { firstDirtyOffset: firstDirty, firstUncleanableOffset: firstUncleanable, cleanBytes, dirtyBytes, dirtyRatio, pastMaxLag, tombstonesDue, needsCleaning };
}

/** Consecutive segments whose sizes add up to at most maxBytes (at least one each): Kafka's groupSegmentsBySize. */
function groupBySize(segments: readonly Segment[], maxBytes: number): Segment[][] {
  const groups: Segment[][] = [];
  let group: Segment[] = [];
  let bytes = 0;
  for (const s of segments) {
    const spanTooWide = group.length > 0 && s.nextOffset - group[0]!.baseOffset > 0x7fff_ffff;
    if (group.length > 0 && (bytes + s.size > maxBytes || spanTooWide)) {
      groups.push(group);
      group = [];
      bytes = 0;
    }
    group.push(s);
    bytes += s.size;
  }
  if (group.length > 0) groups.push(group);
  return groups;
}

/**
 * One cleaning of the log, or null when it needs none (unless forced). Throws on I/O failure (the log failed);
 * a cleaning whose swap found the log changed ends early with aborted set.
 */
export async function cleanLog(log: PartitionLog, opts: CleanOptions): Promise<CleanResult | null> {
  const { now, config } = opts;
  const cp = await readCleanerCheckpoint(log);
  if (log.truncatedTo < cp.firstDirtyOffset) {
    // Persisted before the truncation is forgotten, so a cleaning cut short still starts from it next time.
    cp.firstDirtyOffset = log.truncatedTo;
    await writeCleanerCheckpoint(log, cp);
  }
  log.truncatedTo = Infinity;
  const state = await cleanableState(log, config, now, cp, opts.lastStableOffset);
  if (!opts.force && !state.needsCleaning) return null;
  const aborted = abortedBatchTest(opts.abortedTxns ?? []);
  const result: CleanResult = {
    firstDirtyOffset: state.firstDirtyOffset, endOffset: state.firstDirtyOffset,
    bytesRead: 0, bytesWritten: 0, recordsRead: 0, recordsRemoved: 0, segmentsReplaced: 0, tombstoneHorizon: -1, aborted: false,
    markersRemoved: 0,
  };
  const io = async (bytes: number) => {
    await opts.throttle?.(bytes);
  };
  const sealed = log.sealedSegments().filter((s) => s.baseOffset < state.firstUncleanableOffset);

  // The offset map over the dirty part, whole segments at a time.
  const map = new OffsetMap();
  const maxKeys = opts.maxMapKeys ?? DEFAULT_MAX_MAP_KEYS;
  let end = state.firstDirtyOffset;
  // The batch headers of the segments wholly in the dirty part, so the rewrite reads only the batches that keep something.
  const headers = new Map<Segment, BatchRefs>();
  let refsLeft = MAX_BATCH_REFS;
  for (let i = 0; i < sealed.length; i++) {
    const seg = sealed[i]!;
    if (seg.nextOffset <= state.firstDirtyOffset) continue;
    const refs = seg.baseOffset >= state.firstDirtyOffset && refsLeft > 0 ? new BatchRefs() : null;
    const read = await forEachSegmentBatch(seg, (chunk, pos, h, filePos) => {
      refs?.add(filePos, h);
      if (isControlBatch(h.attributes) || !isFilterable(h.attributes) || h.recordsCount === 0 || aborted(h)) return;
      const body = recordsBody(chunk, pos);
      scanRecordKeys(body, h.recordsCount, (r) => {
        const offset = h.baseOffset + r.offsetDelta;
        if (r.keyLength >= 0 && offset >= state.firstDirtyOffset) map.set(body, r.keyStart, r.keyLength, offset);
      });
    });
    result.bytesRead += read;
    await io(read);
    if (refs) {
      headers.set(seg, refs);
      refsLeft -= refs.length;
    }
    end = i + 1 < sealed.length ? sealed[i + 1]!.baseOffset : state.firstUncleanableOffset;
    if (map.size >= maxKeys) break;
  }

  // The records of the dirty part that stay are exactly the map's offsets (the latest of each key): a batch
  // wholly in the dirty part holding none of them goes without reading its records.
  const keptDirty = map.sortedOffsets();
  const dirtyFrom = state.firstDirtyOffset;

  // Rewrite everything from the log start to the end of the mapped part.
  const producerLast = opts.producerLastOffsets ?? new Map<number, number>();
  const markerOnly = opts.markerOnlyProducers ?? new Map<number, number>();
  const txns = new CleanedTxns();
  let tombstoneHorizon = -1;
  const noteHorizon = (h: number) => {
    if (tombstoneHorizon < 0 || h < tombstoneHorizon) tombstoneHorizon = h;
  };
  const toClean = sealed.filter((s) => s.baseOffset < end);
  for (const group of groupBySize(toClean, log.config.segmentBytes)) {
    const base = group[0]!.baseOffset;
    await discardCleaned(log.storage, log.dir, base);
    const cleaned = await Segment.open(log.storage, log.dir, base, now, '.cleaned');
    let changed = group.length > 1;
    // A lone segment is written out only from its first change on: until then its kept batches are the file's
    // own leading bytes (their sizes noted here), copied over only if a change comes; an unchanged segment
    // (most of a compacted log's clean part, at most cleanings) costs no write at all.
    let unchangedPrefix: number[] | null = changed ? null : [];
    const copyUnchangedPrefix = async () => {
      const sizes = unchangedPrefix ?? [];
      unchangedPrefix = null;
      for (let i = 0, pos = 0; i < sizes.length; ) {
        let bytes = 0;
        let j = i;
        while (j < sizes.length && (j === i || bytes + sizes[j]! <= WRITE_CHUNK)) bytes += sizes[j++]!;
        const buf = await group[0]!.log.read(pos, bytes);
        await cleaned.append(buf, log.config.indexIntervalBytes);
        result.bytesRead += bytes;
        result.bytesWritten += bytes;
        await io(2 * bytes);
        pos += bytes;
        i = j;
      }
    };
    try {
      let pending: Buffer[] = [];
      let pendingBytes = 0;
      const flushPending = async () => {
        if (changed && unchangedPrefix) await copyUnchangedPrefix();
        if (pendingBytes === 0) return;
        await cleaned.append(pending.length === 1 ? pending[0]! : Buffer.concat(pending), log.config.indexIntervalBytes);
        result.bytesWritten += pendingBytes;
        await io(pendingBytes);
        pending = [];
        pendingBytes = 0;
      };
      const handle = (chunk: Buffer, pos: number, h: BatchHeader) => {
        const marker = isControlBatch(h.attributes);
        const out = marker
          ? filterMarker(chunk, pos, h, txns, markerOnly.get(h.producerId) === h.producerEpoch, now, config.deleteRetentionMs, result, noteHorizon)
          : aborted(h) || (h.baseOffset >= dirtyFrom && isFilterable(h.attributes) && !holdsAny(keptDirty, h.baseOffset, h.baseOffset + h.lastOffsetDelta))
            ? dropWhole(chunk, pos, h, producerLast, result)
            : filterBatch(chunk, pos, h, map, producerLast, now, config.deleteRetentionMs, result, noteHorizon);
        if (out === null || out.rewritten) changed = true;
        if (out === null) return;
        // Kept, even as an empty header: on a rebuild of the producer state it would open a transaction again.
        if (!marker) txns.kept(h);
        if (!changed) {
          unchangedPrefix!.push(h.batchLength + BATCH_OVERHEAD);
          return;
        }
        // Each chunk is a buffer of its own: a kept batch is a view of it, not a copy.
        const bytes = out.rewritten ?? chunk.subarray(pos, pos + h.batchLength + BATCH_OVERHEAD);
        pending.push(bytes);
        pendingBytes += bytes.length;
      };
      for (const seg of group) {
        const refs = headers.get(seg);
        if (refs) {
          // Wholly dirty: only the runs of batches that keep a record (or must stay) are read.
          const needed = (i: number) =>
            refs.mustRead(i) || holdsAny(keptDirty, refs.base[i]!, refs.last[i]!) || (refs.producerId[i]! >= 0 && producerLast.get(refs.producerId[i]!) === refs.last[i]);
          for (let i = 0; i < refs.length; ) {
            if (!needed(i)) {
              result.recordsRead += refs.count[i]!;
              result.recordsRemoved += refs.count[i]!;
              changed = true;
              i++;
              continue;
            }
            let j = i;
            let bytes = 0;
            while (j < refs.length && needed(j) && (j === i || bytes + refs.size[j]! <= READ_CHUNK) && refs.pos[j] === refs.pos[i]! + bytes) bytes += refs.size[j++]!;
            const chunk = await seg.log.read(refs.pos[i]!, bytes);
            result.bytesRead += chunk.length;
            await io(chunk.length);
            for (let k = i, p = 0; k < j; p += refs.size[k++]!) handle(chunk, p, readBatchHeader(chunk, p));
            if (pendingBytes >= WRITE_CHUNK) await flushPending();
            i = j;
          }
          continue;
        }
        const read = await forEachSegmentBatch(seg, handle, async () => {
          if (pendingBytes >= WRITE_CHUNK) await flushPending();
        });
        result.bytesRead += read;
        await io(read);
      }
      await flushPending();
      if (!changed) {
        await cleaned.close();
        await discardCleaned(log.storage, log.dir, base);
        continue;
      }
      cleaned.seal();
      await cleaned.persistIndexes();
      await cleaned.syncAll();
    } catch (e) {
      await cleaned.close();
      await discardCleaned(log.storage, log.dir, base).catch(() => {});
      throw e;
    }
    const removedAborts = txns.takeRemovedAborts();
    if (removedAborts.length > 0) opts.forgetAbortedTxns?.(removedAborts);
    if (!(await log.replaceSegments(group, cleaned))) {
      result.aborted = true;
      return result;
    }
    result.segmentsReplaced += group.length;
  }
  result.endOffset = end;
  result.tombstoneHorizon = tombstoneHorizon;
  await writeCleanerCheckpoint(log, { firstDirtyOffset: end, tombstoneHorizon });
  return result;
}

/**
 * Whether a batch belongs to an aborted transaction: a transactional batch of a producer whose aborted
 * transaction began at or before it and whose ABORT marker follows it.
 */
function abortedBatchTest(abortedTxns: readonly AbortedTxn[]): (h: BatchHeader) => boolean {
  const byProducer = new Map<number, AbortedTxn[]>();
  for (const t of abortedTxns) byProducer.set(t.producerId, [...(byProducer.get(t.producerId) ?? []), t]);
  return (h) => {
    if ((h.attributes & TRANSACTIONAL_FLAG) === 0 || isControlBatch(h.attributes)) return false;
    const txns = byProducer.get(h.producerId);
    return txns !== undefined && txns.some((t) => t.firstOffset <= h.baseOffset && h.baseOffset < t.lastOffset);
  };
}

/** Whether the sorted offsets hold one in [from, to]. */
function holdsAny(sorted: Float64Array, from: number, to: number): boolean {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < from) lo = mid + 1;
    else hi = mid;
  }
  return lo < sorted.length && sorted[lo]! <= to;
}

/** A batch none of whose records stays: dropped, or kept as an empty header when it holds an active producer's last sequence. */
function dropWhole(chunk: Buffer, pos: number, h: BatchHeader, producerLast: ReadonlyMap<number, number>, stats: CleanResult): { rewritten: Buffer | null } | null {
  stats.recordsRead += h.recordsCount;
  stats.recordsRemoved += h.recordsCount;
  const holdsProducerState = h.producerId >= 0 && producerLast.get(h.producerId) === h.baseOffset + h.lastOffsetDelta;
  if (!holdsProducerState) return null;
  return h.recordsCount === 0 ? { rewritten: null } : { rewritten: rebuildBatch(chunk, pos, [], null) };
}

/**
 * The cleaner's verdict on one batch (Kafka's checkBatchRetention + shouldRetainRecord): null to drop it,
 * { rewritten: null } to keep it as it is, or its rewritten bytes.
 */
function filterBatch(
  chunk: Buffer,
  pos: number,
  h: BatchHeader,
  map: OffsetMap,
  producerLast: ReadonlyMap<number, number>,
  now: number,
  deleteRetentionMs: number,
  stats: CleanResult,
  noteHorizon: (h: number) => void,
): { rewritten: Buffer | null } | null {
  // Batches whose records cannot be read stay.
  if (!isFilterable(h.attributes)) return { rewritten: null };
  const lastOffset = h.baseOffset + h.lastOffsetDelta;
  const holdsProducerState = h.producerId >= 0 && producerLast.get(h.producerId) === lastOffset;
  if (h.recordsCount === 0) return holdsProducerState ? { rewritten: null } : null;
  const horizon = deleteHorizonOf(h);
  const tombstonesExpired = horizon !== null && now >= horizon;
  // Decided on the raw records first (no allocation per record): most batches are kept or dropped whole.
  const body = recordsBody(chunk, pos);
  const keep = new Uint8Array(h.recordsCount);
  let keptCount = 0;
  let keptTombstone = false;
  scanRecordKeys(body, h.recordsCount, (r) => {
    if (r.keyLength < 0) return;
    // A key the map does not hold (-1) was last written in the clean part: its record stays.
    if (h.baseOffset + r.offsetDelta < map.get(body, r.keyStart, r.keyLength)) return;
    if (r.isTombstone) {
      if (tombstonesExpired) return;
      keptTombstone = true;
    }
    keep[r.index] = 1;
    keptCount++;
  });
  stats.recordsRead += h.recordsCount;
  stats.recordsRemoved += h.recordsCount - keptCount;
  const newHorizon = keptTombstone && horizon === null ? now + deleteRetentionMs : null;
  if (keptTombstone) noteHorizon(horizon ?? newHorizon!);
  if (keptCount === h.recordsCount && newHorizon === null) return { rewritten: null };
  if (keptCount === 0 && !holdsProducerState) return null;
  const kept = cleanerRecords(chunk, pos).filter((_, i) => keep[i] === 1);
  return { rewritten: rebuildBatch(chunk, pos, kept, newHorizon) };
}

/**
 * The cleaner's verdict on a transaction marker (a control batch), as filterBatch's: it stays while its
 * transaction has a batch in the log; then the first cleaning stamps its delete horizon and a cleaning past that
 * horizon removes it, or empties it when it carries its producer's state (`keepsProducer`).
 */
function filterMarker(
  chunk: Buffer,
  pos: number,
  h: BatchHeader,
  txns: CleanedTxns,
  keepsProducer: boolean,
  now: number,
  deleteRetentionMs: number,
  stats: CleanResult,
  noteHorizon: (h: number) => void,
): { rewritten: Buffer | null } | null {
  stats.recordsRead += h.recordsCount;
  if (!txns.markerMayGo(h) || !isFilterable(h.attributes)) return { rewritten: null };
  if (h.recordsCount === 0) return keepsProducer ? { rewritten: null } : null;
  const horizon = deleteHorizonOf(h);
  if (horizon === null) {
    noteHorizon(now + deleteRetentionMs);
    return { rewritten: rebuildBatch(chunk, pos, cleanerRecords(chunk, pos), now + deleteRetentionMs) };
  }
  if (now < horizon) {
    noteHorizon(horizon);
    return { rewritten: null };
  }
  stats.recordsRemoved += h.recordsCount;
  stats.markersRemoved++;
  if (readTxnMarker(chunk, pos)?.type === 'ABORT') txns.removedAbort(h.baseOffset + h.lastOffsetDelta);
  return keepsProducer ? { rewritten: rebuildBatch(chunk, pos, [], null) } : null;
}

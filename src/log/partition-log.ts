// The partition log: one replica's append-only sequence of RecordBatch v2 batches in Kafka's on-disk
// layout (segments + sparse indexes + checkpoints), with recovery on open, group-committed durability,
// follower truncation, retention, and the leader epoch cache.
//
// Writes (append, truncation, retention, roll) are serialized through one promise chain, as Kafka holds
// the log lock for them; fsyncs run beside that chain (GroupCommit) so writes continue while a sync is in
// flight. Reads run concurrently and only see completed writes. Any write or fsync failure fails the
// whole log (like Kafka taking a log dir offline): the on-disk state is unknown until reopen recovers it.

import { join } from 'node:path';
import type { Clock } from '../runtime/clock.ts';
import type { Storage } from './storage.ts';
import { Segment } from './segment.ts';
import { GroupCommit } from './group-commit.ts';
import { LeaderEpochCache } from './leader-epoch-cache.ts';
import { recoverSegments } from './log-recovery.ts';
import { commitSwap, discardCleaned, finishSwap } from './segment-swap.ts';
import { resolveLogConfig, type LogConfig } from './log-config.ts';
import {
  HIGH_WATERMARK_CHECKPOINT,
  LEADER_EPOCH_CHECKPOINT,
  LOG_START_OFFSET_CHECKPOINT,
  OffsetCheckpoints,
  ProducerSnapshotFile,
  RECOVERY_POINT_CHECKPOINT,
} from './log-checkpoints.ts';
import { InvalidAppendError, LogClosedError, LogFailedError, OffsetOutOfRangeError } from './errors.ts';
import type { LogDirCheckpoints, OffsetCheckpointStore } from './log-dir-checkpoints.ts';
import {
  BATCH_HEADER_SIZE,
  BATCH_LENGTH_OFFSET,
  BATCH_OVERHEAD,
  LAST_OFFSET_DELTA_OFFSET,
  MIN_BATCH_LENGTH,
  PARTITION_LEADER_EPOCH_OFFSET,
  readBaseOffset,
  readMaxTimestamp,
  setBaseOffset,
  setPartitionLeaderEpoch,
} from '../protocol/record-batch-layout.ts';

export { DEFAULT_LOG_CONFIG, type LogConfig } from './log-config.ts';

export {
  HIGH_WATERMARK_CHECKPOINT,
  LEADER_EPOCH_CHECKPOINT,
  LOG_START_OFFSET_CHECKPOINT,
  PRODUCER_SNAPSHOT,
  RECOVERY_POINT_CHECKPOINT,
} from './log-checkpoints.ts';

export interface PartitionLogOptions {
  dir: string;
  storage: Storage;
  config?: Partial<LogConfig>;
  clock: Pick<Clock, 'wall'>;
  onWarning?: (msg: string, facts: object) => void;
  /**
   * The log failed on I/O (the first failure only; every later operation throws LogFailedError): its
   * replica goes offline until a restart reopens and recovers it.
   */
  onFailure?: (cause: unknown) => void;
  /**
   * The data directory's checkpoints (log-dir-checkpoints.ts) and this log's directory name and topic id there: the
   * recovery point and high watermark go to the directory's files. Absent: to files in the log's own directory.
   */
  dirCheckpoints?: { files: LogDirCheckpoints; name: string; topicId: string };
}

export interface SegmentInfo {
  baseOffset: number;
  nextOffset: number;
  size: number;
  maxTimestamp: number;
  indexEntries: number;
  timeIndexEntries: number;
}

const EMPTY = Buffer.alloc(0);

export class PartitionLog {
  logStartOffset: number;
  logEndOffset: number;
  highWatermark: number;
  /** Everything below it is synced, and every sealed segment below it has synced indexes. */
  recoveryPoint: number;
  readonly epochs: LeaderEpochCache;

  private chain: Promise<unknown> = Promise.resolve();
  private readonly dirty = new Set<Segment>();
  /** Segments the cleaner replaced, their files still open for reads that began before the swap. */
  private readonly retired: Segment[] = [];
  /**
   * The lowest offset a truncation cut the log to since the log cleaner last looked (Infinity: none): records
   * appended there since are new to the cleaner even below its checkpoint (Kafka's maybeTruncateCheckpoint).
   */
  truncatedTo = Infinity;
  private readonly commit: GroupCommit;
  private failure: unknown = null;
  private closed = false;
  private lastFlushAt: number;
  private readonly checkpoints: OffsetCheckpointStore;
  /** The producer-state snapshot beside the log: never past the synced data, removed by a truncation below it. */
  readonly producerSnapshot: ProducerSnapshotFile;
  /** Truncations and resets so far: a producer snapshot captured before one describes batches gone since. */
  truncationCount = 0;
  readonly dir: string;
  readonly storage: Storage;
  readonly config: LogConfig;
  private readonly clock: Pick<Clock, 'wall'>;
  private readonly warn: (msg: string, facts: object) => void;
  private readonly onFailure: (cause: unknown) => void;
  private segments: Segment[];

  private constructor(o: {
    opts: PartitionLogOptions;
    checkpoints: OffsetCheckpointStore;
    config: LogConfig;
    segments: Segment[];
    epochs: LeaderEpochCache;
    highWatermark: number;
    logStartCheckpoint: number;
    /** Where fsynced data ends when the active segment holds more that recovery kept without syncing it. */
    syncedTo: number | null;
  }) {
    this.dir = o.opts.dir;
    this.storage = o.opts.storage;
    this.config = o.config;
    this.clock = o.opts.clock;
    this.warn = o.opts.onWarning ?? (() => {});
    this.onFailure = o.opts.onFailure ?? (() => {});
    this.checkpoints = o.checkpoints;
    this.producerSnapshot = new ProducerSnapshotFile(this.storage, this.dir, this.warn);
    this.segments = o.segments;
    this.logEndOffset = this.active.nextOffset;
    // A checkpoint past the log end (a crash lost unsynced data below it) starts the log at its end.
    this.logStartOffset = Math.min(Math.max(o.segments[0]!.baseOffset, o.logStartCheckpoint), this.logEndOffset);
    this.recoveryPoint = o.syncedTo === null ? this.logEndOffset : Math.min(o.syncedTo, this.logEndOffset);
    // The next group-commit round (a flush, or an append under flush=always) syncs what recovery kept unsynced.
    if (o.syncedTo !== null) this.dirty.add(this.active);
    this.highWatermark = Math.min(Math.max(o.highWatermark, this.logStartOffset), this.logEndOffset);
    this.epochs = o.epochs;
    this.commit = new GroupCommit(() => this.syncDirty(), this.recoveryPoint);
    this.lastFlushAt = this.clock.wall();
  }

  static async open(opts: PartitionLogOptions): Promise<PartitionLog> {
    const { dir, storage } = opts;
    const config = resolveLogConfig(opts.config);
    const clock = opts.clock;
    const warn = opts.onWarning ?? (() => {});
    await storage.mkdir(dir);
    const own = new OffsetCheckpoints(storage, dir, warn);
    const d = opts.dirCheckpoints;
    const checkpoints = d ? d.files.view(d.name, d.topicId, own) : own;
    const recoveryPoint = (await checkpoints.read(RECOVERY_POINT_CHECKPOINT)) ?? 0;
    const hw = (await checkpoints.read(HIGH_WATERMARK_CHECKPOINT)) ?? 0;
    const logStart = (await checkpoints.read(LOG_START_OFFSET_CHECKPOINT)) ?? 0;
    const { segments, unsyncedTail, epochStarts } = await recoverSegments({ storage, dir, recoveryPoint, indexIntervalBytes: config.indexIntervalBytes, now: clock.wall(), warn });
    let log: PartitionLog | undefined;
    const epochs = await LeaderEpochCache.load(storage, join(dir, LEADER_EPOCH_CHECKPOINT), () => log!.logEndOffset, warn);
    log = new PartitionLog({ opts, checkpoints, config, segments, epochs, highWatermark: hw, logStartCheckpoint: logStart, syncedTo: unsyncedTail ? recoveryPoint : null });
    let changed = epochs.truncateFromEnd(log.logEndOffset);
    // The epochs a crash kept out of the file (written with the next sync), from the batches recovery re-read:
    // only those newer than the file's latest (Kafka's segment recovery assigns the same way).
    for (const [epoch, start] of epochStarts) if (epoch > epochs.latestEpoch()) changed = epochs.assign(epoch, start) || changed;
    if (epochs.truncateFromStart(log.logStartOffset) || changed) await epochs.persist();
    await log.producerSnapshot.open(log.logEndOffset);
    return log;
  }

  private get active(): Segment {
    return this.segments[this.segments.length - 1]!;
  }

  /** What each segment holds, oldest first (for tests, metrics and the dashboard). */
  segmentInfos(): SegmentInfo[] {
    return this.segments.map((s) => ({
      baseOffset: s.baseOffset, nextOffset: s.nextOffset, size: s.size, maxTimestamp: s.maxTimestamp,
      indexEntries: s.index.length, timeIndexEntries: s.timeIndex.length,
    }));
  }

  private serialize<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(() => {
      if (this.closed) throw new LogClosedError(this.dir);
      return fn();
    });
    this.chain = run.catch(() => {});
    return run;
  }

  private ensureWritable(): void {
    if (this.failure) throw new LogFailedError(this.dir, { cause: this.failure });
  }

  private fail(cause: unknown): LogFailedError {
    if (!this.failure) {
      this.failure = cause;
      this.warn('partition log failed on I/O; it must be reopened', { dir: this.dir, error: String(cause) });
      this.onFailure(cause);
    }
    return new LogFailedError(this.dir, { cause });
  }

  /**
   * Leader append of one or more validated batches: assigns offsets from the log end by rewriting
   * baseOffset and partitionLeaderEpoch in place (both outside the CRC). Resolves per the flush policy.
   */
  async append(buf: Buffer, leaderEpoch: number): Promise<{ baseOffset: number; lastOffset: number; maxTimestamp: number }> {
    const result = await this.serialize(async () => {
      this.ensureWritable();
      if (leaderEpoch < this.epochs.latestEpoch()) {
        throw new InvalidAppendError(`leader epoch ${leaderEpoch} is older than ${this.epochs.latestEpoch()}`, { dir: this.dir });
      }
      const baseOffset = this.logEndOffset;
      let next = baseOffset;
      let maxTimestamp = -1;
      let p = 0;
      while (p < buf.length) {
        const size = this.checkedBatchSize(buf, p);
        setBaseOffset(buf, p, next);
        setPartitionLeaderEpoch(buf, p, leaderEpoch);
        next += buf.readInt32BE(p + LAST_OFFSET_DELTA_OFFSET) + 1;
        const ts = readMaxTimestamp(buf, p);
        if (ts > maxTimestamp) maxTimestamp = ts;
        p += size;
      }
      // Written to the epoch file by the next sync, before the recovery point passes it (leader-epoch-cache.ts).
      if (leaderEpoch > this.epochs.latestEpoch()) this.epochs.assign(leaderEpoch, baseOffset);
      await this.write(buf, next - 1);
      return { baseOffset, lastOffset: next - 1, maxTimestamp };
    });
    await this.durable(result.lastOffset + 1);
    return result;
  }

  /**
   * A new leader's epoch begins at the log end, after the writes already queued (a follower append still in
   * flight when this replica was made leader); the epoch file has it after the next sync (an epoch that wrote
   * nothing before a crash is not needed after it). Nothing when the epoch is not newer.
   */
  async beginEpoch(epoch: number): Promise<void> {
    await this.serialize(async () => {
      if (this.epochs.latestEpoch() < epoch) this.epochs.assign(epoch, this.logEndOffset);
    });
  }

  /** Follower append: batches already carry offsets, starting at the log end and contiguous. */
  async appendReplicated(buf: Buffer): Promise<{ lastOffset: number }> {
    const lastOffset = await this.serialize(async () => {
      this.ensureWritable();
      let expected = this.logEndOffset;
      let p = 0;
      const epochStarts: Array<[number, number]> = [];
      let latest = this.epochs.latestEpoch();
      // The epoch this log already began at its end (this replica was made leader while the fetch that brought
      // these batches was on its way): an older epoch's batch may not follow it, or the epoch history would
      // say the new epoch starts where an old one's record sits. Kafka's partition lock keeps the two apart.
      const begun = this.epochs.entries().at(-1);
      while (p < buf.length) {
        const size = this.checkedBatchSize(buf, p);
        const base = readBaseOffset(buf, p);
        // The leader's log may be compacted: offsets increase, with gaps (Kafka checks only that they do not go back).
        if (base < expected) {
          throw new InvalidAppendError(`replicated batch starts at ${base}, expected at least ${expected}`, { dir: this.dir, offset: base, expected });
        }
        const epoch = buf.readInt32BE(p + PARTITION_LEADER_EPOCH_OFFSET);
        if (begun && epoch < begun.epoch && base >= begun.startOffset) {
          throw new InvalidAppendError(`replicated batch of leader epoch ${epoch} at ${base} follows the start of epoch ${begun.epoch} at ${begun.startOffset}`, { dir: this.dir, offset: base });
        }
        if (epoch > latest) {
          epochStarts.push([epoch, base]);
          latest = epoch;
        }
        expected = base + buf.readInt32BE(p + LAST_OFFSET_DELTA_OFFSET) + 1;
        p += size;
      }
      for (const [e, o] of epochStarts) this.epochs.assign(e, o);
      await this.write(buf, expected - 1);
      return expected - 1;
    });
    await this.durable(lastOffset + 1);
    return { lastOffset };
  }

  private checkedBatchSize(buf: Buffer, p: number): number {
    if (buf.length - p < BATCH_HEADER_SIZE) {
      throw new InvalidAppendError(`${buf.length - p} trailing bytes are not a whole batch`, { dir: this.dir });
    }
    const length = buf.readInt32BE(p + BATCH_LENGTH_OFFSET);
    if (length < MIN_BATCH_LENGTH || p + length + BATCH_OVERHEAD > buf.length) {
      throw new InvalidAppendError(`batch at byte ${p} has length ${length} past the ${buf.length} bytes given`, { dir: this.dir });
    }
    return length + BATCH_OVERHEAD;
  }

  /** Rolls if needed, then one write of the whole buffer to the active segment. */
  private async write(buf: Buffer, lastOffset: number): Promise<void> {
    if (buf.length === 0) throw new InvalidAppendError('nothing to append', { dir: this.dir });
    try {
      let seg = this.active;
      if (
        seg.size > 0 &&
        (seg.size + buf.length > this.config.segmentBytes ||
          this.clock.wall() - seg.createdAt >= this.config.segmentMs ||
          lastOffset - seg.baseOffset > 0x7fff_ffff)
      ) {
        seg = await this.roll();
      }
      await seg.append(buf, this.config.indexIntervalBytes);
      this.dirty.add(seg);
      this.logEndOffset = seg.nextOffset;
    } catch (e) {
      throw this.fail(e);
    }
  }

  private async roll(): Promise<Segment> {
    const old = this.active;
    old.seal();
    const seg = await Segment.open(this.storage, this.dir, this.logEndOffset, this.clock.wall());
    this.segments.push(seg);
    // The sealed segment's indexes are persisted and synced by the next group-commit or flush round.
    this.dirty.add(old);
    return seg;
  }

  private async durable(upTo: number): Promise<void> {
    if (this.config.flush === 'always') {
      try {
        await this.commit.wait(upTo);
      } catch (e) {
        throw e instanceof LogFailedError ? e : this.fail(e);
      }
      return;
    }
    const now = this.clock.wall();
    if (now - this.lastFlushAt >= this.config.flushIntervalMs) {
      this.lastFlushAt = now;
      this.commit.wait(this.logEndOffset).catch((e) => this.warn('interval flush failed', { dir: this.dir, error: String(e) }));
    }
  }

  /** One group-commit round: sync every segment written since the last round. */
  private async syncDirty(): Promise<number> {
    this.ensureWritable();
    const target = this.logEndOffset;
    const segs = [...this.dirty];
    this.dirty.clear();
    try {
      await Promise.all(
        segs.map(async (s) => {
          if (s.sealed) {
            await s.persistIndexes();
            await s.syncAll();
          } else await s.log.sync();
        }),
      );
      // The epochs begun below the new recovery point are on disk before it moves: a restart rebuilds only
      // those starting past it, from the batches it re-validates.
      await this.epochs.flush();
    } catch (e) {
      throw this.fail(e);
    }
    if (target > this.recoveryPoint) this.recoveryPoint = target;
    return target;
  }

  /** Syncs everything written so far and persists the active segment's index too. */
  async flush(): Promise<void> {
    this.ensureWritable();
    this.dirty.add(this.active);
    await this.commit.wait(this.logEndOffset);
    // An epoch begun at the log end after the last sync (no batch of it yet) is written too.
    try {
      await this.epochs.flush();
    } catch (e) {
      throw this.fail(e);
    }
    await this.commit.exclusive(async () => {
      try {
        await this.active.persistIndexes();
      } catch (e) {
        throw this.fail(e);
      }
    });
    this.lastFlushAt = this.clock.wall();
  }

  /** Writes the recovery-point and high-watermark checkpoint files. */
  async checkpoint(): Promise<void> {
    await Promise.all([
      this.checkpoints.write(RECOVERY_POINT_CHECKPOINT, () => this.recoveryPoint),
      this.checkpoints.write(HIGH_WATERMARK_CHECKPOINT, () => this.highWatermark),
    ]);
  }

  /**
   * Writes the producer-state snapshot `lines` (producer-snapshot.ts), captured when every batch below `offset`
   * was applied and the log had seen `truncationCount` truncations, in place of the last one. Skipped (false)
   * when a truncation came since (the batches it describes may be gone), when the data below `offset` is not
   * synced yet (a crash could lose it and leave the snapshot ahead of the log), when it holds the same offset, or
   * when it says nothing a rebuild from the log start would not find (an empty state there: every new partition's
   * first checkpoint would write one, ten thousand files at once when ten thousand partitions are created).
   */
  writeProducerSnapshot(offset: number, lines: readonly string[], truncationCount: number): Promise<boolean> {
    if (lines.length === 0 && offset <= this.logStartOffset) return Promise.resolve(false);
    return this.producerSnapshot.write(offset, lines, () => truncationCount === this.truncationCount && offset <= this.recoveryPoint);
  }

  /**
   * The producer-state snapshot with its lines decoded by `decode`; null when there is none, when the log start
   * has passed it (retention removed batches it does not hold) or when it is malformed (with a warning).
   */
  readProducerSnapshot<T>(decode: (path: string, lines: string[], offset: number) => T): Promise<{ offset: number; state: T } | null> {
    return this.producerSnapshot.read(decode, this.logStartOffset, this.logEndOffset);
  }

  setHighWatermark(hw: number): void {
    this.highWatermark = Math.min(Math.max(hw, this.logStartOffset), this.logEndOffset);
  }

  private segmentFor(offset: number): number {
    let lo = 0;
    let hi = this.segments.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (this.segments[mid]!.baseOffset <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /**
   * Whole batches from the one containing offset within maxBytes, and with minOneBatch (Kafka's minOneMessage,
   * for the first partition of a response) at least one even past it; never a batch whose lastOffset >= maxOffset
   * (e.g. the high watermark). Reads within one segment, as Kafka does.
   */
  async read(offset: number, maxBytes: number, maxOffset = Number.MAX_SAFE_INTEGER, minOneBatch = true): Promise<{ data: Buffer; firstOffset: number; nextOffset: number }> {
    if (this.closed) throw new LogClosedError(this.dir);
    if (offset < this.logStartOffset || offset > this.logEndOffset) {
      throw new OffsetOutOfRangeError({ dir: this.dir, offset, logStartOffset: this.logStartOffset, logEndOffset: this.logEndOffset });
    }
    const segments = this.segments;
    for (let i = this.segmentFor(offset); i < segments.length && offset < maxOffset; i++) {
      const seg = segments[i]!;
      if (offset >= seg.nextOffset) continue;
      const r = await seg.read(offset, maxBytes, maxOffset, this.config.indexIntervalBytes, minOneBatch);
      if (r.data.length > 0 || r.stopped) return r;
      // Nothing at or past offset in this segment (the cleaner removed its last batches, or all of them): the
      // next segment holds the next batch.
    }
    return { data: EMPTY, firstOffset: offset, nextOffset: offset };
  }

  /** Kafka's ListOffsets by timestamp: the first offset whose record timestamp >= ts, via the time index. */
  async offsetForTimestamp(ts: number): Promise<{ offset: number; timestamp: number } | null> {
    const seg = this.segments.find((s) => s.size > 0 && s.maxTimestamp >= ts);
    return seg ? seg.offsetForTimestamp(ts, this.logStartOffset) : null;
  }

  /** Removes every batch holding offsets >= offset (followers truncating to the leader's epoch end). */
  truncateTo(offset: number): Promise<void> {
    return this.serialize(() =>
      this.commit.exclusive(async () => {
        this.ensureWritable();
        if (offset >= this.logEndOffset) return;
        this.truncationCount++;
        this.truncatedTo = Math.min(this.truncatedTo, offset);
        try {
          if (offset <= this.segments[0]!.baseOffset) {
            await this.startEmptyAt(offset);
          } else {
            while (this.active.baseOffset >= offset) {
              const seg = this.segments.pop()!;
              this.dirty.delete(seg);
              await seg.delete();
            }
            await this.active.truncateTo(offset);
            this.active.sealed = false;
          }
        } catch (e) {
          throw this.fail(e);
        }
        // Deleted segments left the dirty set as they went; earlier ones may still hold unsynced bytes.
        this.logEndOffset = this.active.nextOffset;
        // Kafka lowers the log start with a truncation below it (DeleteRecords had moved it inside a segment).
        if (this.logStartOffset > this.logEndOffset) {
          this.logStartOffset = this.logEndOffset;
          await this.persistLogStart();
        }
        this.commit.lowerTo(this.logEndOffset);
        this.recoveryPoint = Math.min(this.recoveryPoint, this.logEndOffset);
        this.highWatermark = Math.min(this.highWatermark, this.logEndOffset);
        if (this.epochs.truncateFromEnd(this.logEndOffset)) await this.epochs.persist();
        // A recovery-point checkpoint past the new end would make recovery treat the unsynced data that
        // replaces the truncated range as flushed (and its loss in a crash as corruption).
        await this.checkpoints.write(RECOVERY_POINT_CHECKPOINT, () => this.recoveryPoint);
        // Likewise a producer snapshot past it: it describes batches that are gone.
        if ((this.producerSnapshot.offset ?? -1) > this.logEndOffset) await this.producerSnapshot.drop();
      }),
    );
  }

  /**
   * Empties the log and starts it again at `offset` (Kafka's truncateFullyAndStartAt). A follower whose log
   * ends before the leader's log start cannot fetch what the leader's retention deleted, so it drops what it
   * holds and fetches from the leader's start; its epoch history goes too (the batches it fetches bring theirs).
   */
  resetTo(offset: number): Promise<void> {
    return this.serialize(() =>
      this.commit.exclusive(async () => {
        this.ensureWritable();
        this.truncationCount++;
        try {
          await this.producerSnapshot.drop();
          await this.startEmptyAt(offset);
          this.logEndOffset = offset;
          this.recoveryPoint = offset;
          this.highWatermark = offset;
          this.commit.lowerTo(offset);
          if (this.epochs.truncateFromEnd(-Infinity)) await this.epochs.persist();
          await this.checkpoint();
        } catch (e) {
          throw this.fail(e);
        }
      }),
    );
  }

  /** Deletes every segment and opens an empty one at `offset`, where the log now starts (callers hold the log lock). */
  private async startEmptyAt(offset: number): Promise<void> {
    // Persisted first: a crash midway leaves a checkpoint that the next open bounds by the log end.
    if (offset !== this.logStartOffset) await this.checkpoints.write(LOG_START_OFFSET_CHECKPOINT, () => offset);
    for (const seg of this.segments.splice(0)) {
      this.dirty.delete(seg);
      await seg.delete();
    }
    this.segments.push(await Segment.open(this.storage, this.dir, offset, this.clock.wall()));
    this.logStartOffset = offset;
  }

  private persistLogStart(): Promise<void> {
    return this.checkpoints.write(LOG_START_OFFSET_CHECKPOINT, () => this.logStartOffset);
  }

  /**
   * Moves the log start up to `offset` (Kafka's maybeIncrementLogStartOffset: DeleteRecords on a leader, the
   * leader's log start on a follower), never past the high watermark (OffsetOutOfRangeError). The new start is
   * checkpointed before this resolves, so a restart never brings the records below it back; whole segments
   * below it are deleted (never the active one), as Kafka's deleteLogStartOffsetBreachedSegments. An offset at
   * or below the current start changes nothing. Resolves with the log start offset.
   */
  advanceLogStartOffset(offset: number): Promise<number> {
    return this.serialize(() =>
      this.commit.exclusive(async () => {
        this.ensureWritable();
        if (offset <= this.logStartOffset) return this.logStartOffset;
        if (offset > this.highWatermark) {
          throw new OffsetOutOfRangeError({ dir: this.dir, offset, logStartOffset: this.logStartOffset, logEndOffset: this.highWatermark });
        }
        try {
          this.logStartOffset = offset;
          await this.persistLogStart();
          let n = 0;
          while (n < this.segments.length - 1 && this.segments[n + 1]!.baseOffset <= offset) n++;
          for (const seg of this.segments.splice(0, n)) {
            this.dirty.delete(seg);
            await seg.delete();
          }
          this.recoveryPoint = Math.max(this.recoveryPoint, this.segments[0]!.baseOffset);
          if (this.epochs.truncateFromStart(offset)) await this.epochs.persist();
        } catch (e) {
          throw this.fail(e);
        }
        return this.logStartOffset;
      }),
    );
  }

  /** Deletes whole old segments past retention.ms / retention.bytes (never the active one). */
  applyRetention(now: number = this.clock.wall()): Promise<{ deletedSegments: number }> {
    return this.serialize(() =>
      this.commit.exclusive(async () => {
        const { retentionMs, retentionBytes } = this.config;
        const candidates = this.segments.length - 1;
        let n = 0;
        if (retentionMs >= 0) {
          // Segments without timestamps (-1) are never aged out; one the log cleaner emptied (compact,delete)
          // holds nothing to keep and must not hold back the ones after it.
          while (n < candidates) {
            const seg = this.segments[n]!;
            if (seg.size > 0 && (seg.maxTimestamp < 0 || now - seg.maxTimestamp <= retentionMs)) break;
            n++;
          }
        }
        if (retentionBytes >= 0) {
          let total = this.segments.reduce((a, s) => a + s.size, 0);
          for (let i = 0; i < n; i++) total -= this.segments[i]!.size;
          while (n < candidates && total - this.segments[n]!.size >= retentionBytes) total -= this.segments[n++]!.size;
        }
        if (n === 0) return { deletedSegments: 0 };
        const doomed = this.segments.splice(0, n);
        this.logStartOffset = Math.max(this.logStartOffset, this.segments[0]!.baseOffset);
        this.highWatermark = Math.max(this.highWatermark, this.logStartOffset);
        this.recoveryPoint = Math.max(this.recoveryPoint, this.logStartOffset);
        try {
          for (const seg of doomed) {
            this.dirty.delete(seg);
            await seg.delete();
          }
          if (this.epochs.truncateFromStart(this.logStartOffset)) await this.epochs.persist();
        } catch (e) {
          throw this.fail(e);
        }
        return { deletedSegments: n };
      }),
    );
  }

  /** The segments below the active one, oldest first: what the log cleaner may rewrite. */
  sealedSegments(): readonly Segment[] {
    return this.segments.slice(0, -1);
  }

  /**
   * Puts the log cleaner's segment (written and synced as `<base>.*.cleaned` files) in place of `group`, a run of
   * sealed segments starting at its base, crash-safe (segment-swap.ts). Returns false, discarding the cleaned
   * files, when the run is no longer what it was (retention, a truncation or the log start moved meanwhile).
   * Reads already under way keep the old segments' open files; they are closed at the next swap or at close.
   */
  replaceSegments(group: readonly Segment[], cleaned: Segment): Promise<boolean> {
    return this.serialize(() =>
      this.commit.exclusive(async () => {
        this.ensureWritable();
        const at = this.segments.indexOf(group[0]!);
        const intact = at >= 0 && at + group.length < this.segments.length && group.every((g, i) => this.segments[at + i] === g);
        const base = group[0]!.baseOffset;
        if (!intact || cleaned.baseOffset !== base) {
          await cleaned.close();
          await discardCleaned(this.storage, this.dir, cleaned.baseOffset);
          return false;
        }
        const end = this.segments[at + group.length]!.baseOffset;
        await cleaned.close();
        for (const r of this.retired.splice(0)) await r.close();
        try {
          await commitSwap(this.storage, this.dir, base, end);
          await finishSwap(this.storage, this.dir, base, group.map((g) => g.baseOffset));
          const seg = await Segment.open(this.storage, this.dir, base, this.clock.wall());
          const bad = await seg.loadIndexes(end);
          if (bad) throw new Error(`cleaned segment ${seg.logPath} has bad indexes: ${bad}`);
          // A new array: a read iterating the old one finishes on the old segments.
          this.segments = [...this.segments.slice(0, at), seg, ...this.segments.slice(at + group.length)];
        } catch (e) {
          throw this.fail(e);
        }
        for (const g of group) this.dirty.delete(g);
        this.retired.push(...group);
        return true;
      }),
    );
  }

  /** Flushes (unless the log failed), writes checkpoints, closes every file. */
  async close(): Promise<void> {
    if (this.closed) return;
    if (!this.failure) {
      await this.flush();
      await this.serialize(() =>
        this.commit.exclusive(async () => {
          for (const s of this.segments) await s.persistIndexes();
          for (const s of this.segments) await s.syncAll();
        }),
      );
      await this.checkpoint();
    }
    await this.chain;
    this.closed = true;
    void this.checkpoints.release?.(false);
    for (const s of [...this.segments, ...this.retired.splice(0)]) await s.close();
  }

  /** Closes the log and removes its directory. */
  async delete(): Promise<void> {
    await this.chain;
    await this.commit.exclusive(async () => {});
    this.closed = true;
    for (const s of [...this.segments, ...this.retired.splice(0)]) await s.close();
    await this.checkpoints.release?.(true);
    await this.storage.removeDir(this.dir);
  }
}

// One log segment: `<baseOffset:020d>.log` holding whole RecordBatch v2 batches back to back, with its
// `.index` and `.timeindex`. The segment tracks what it holds (size, next offset, max timestamp) in memory;
// only completed writes count, so readers never see bytes still in flight.

import { join } from 'node:path';
import type { Storage, StorageFile } from './storage.ts';
import { OffsetIndex } from './offset-index.ts';
import { TimeIndex } from './time-index.ts';
import {
  BATCH_HEADER_SIZE,
  BATCH_LENGTH_OFFSET,
  BATCH_OVERHEAD,
  MIN_BATCH_LENGTH,
  readBaseOffset,
  readLastOffset,
  readMaxTimestamp,
} from '../protocol/record-batch-layout.ts';
import { validateBatch } from '../protocol/record-batch-validate.ts';
import { readRecords } from '../protocol/record-batch-reader.ts';
import { UnsupportedCompressionError } from '../protocol/record-batch-errors.ts';

export const LOG_SUFFIX = '.log';
export const INDEX_SUFFIX = '.index';
export const TIME_INDEX_SUFFIX = '.timeindex';

export function segmentName(baseOffset: number, suffix: string): string {
  return String(baseOffset).padStart(20, '0') + suffix;
}

/** Header facts of one batch, as header walks report them. */
export interface BatchPosition {
  pos: number;
  size: number;
  baseOffset: number;
  lastOffset: number;
  maxTimestamp: number;
}

const SCAN_CHUNK = 1 << 20;
/** The least a read asks for first: a batch header and usually a few batches after it. */
const FIRST_CHUNK = 64 * 1024;

export class Segment {
  size = 0;
  nextOffset: number;
  maxTimestamp = -1;
  offsetOfMaxTimestamp: number;
  sealed = false;
  private bytesSinceIndex = 0;

  private constructor(
    private readonly storage: Storage,
    readonly dir: string,
    readonly baseOffset: number,
    readonly log: StorageFile,
    readonly index: OffsetIndex,
    readonly timeIndex: TimeIndex,
    /** Clock time the segment was created or opened: segment.ms rolls count from it. */
    readonly createdAt: number,
    /** Appended to every file name: '.cleaned' while the log cleaner writes a segment's replacement. */
    readonly suffix = '',
  ) {
    this.nextOffset = baseOffset;
    this.offsetOfMaxTimestamp = baseOffset;
  }

  get logPath(): string {
    return join(this.dir, segmentName(this.baseOffset, LOG_SUFFIX + this.suffix));
  }

  static async open(storage: Storage, dir: string, baseOffset: number, now: number, suffix = ''): Promise<Segment> {
    const path = (s: string) => join(dir, segmentName(baseOffset, s + suffix));
    // Opened together: a storage that fsyncs the directory after creating a file does it once for the three.
    const opened = await Promise.allSettled([LOG_SUFFIX, INDEX_SUFFIX, TIME_INDEX_SUFFIX].map((s) => storage.open(path(s), { create: true })));
    const files = opened.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const failed = opened.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      await Promise.allSettled(files.map((f) => f.close()));
      throw failed.reason;
    }
    const [log, indexFile, timeFile] = files as [StorageFile, StorageFile, StorageFile];
    const index = new OffsetIndex(baseOffset, indexFile, path(INDEX_SUFFIX));
    const time = new TimeIndex(baseOffset, timeFile, path(TIME_INDEX_SUFFIX));
    return new Segment(storage, dir, baseOffset, log, index, time, now, suffix);
  }

  /**
   * Appends whole batches that already carry their final offsets: one write, then the in-memory index
   * entries (every indexIntervalBytes) from the batch headers.
   */
  async append(buf: Buffer, indexIntervalBytes: number): Promise<void> {
    const start = this.size;
    await this.log.write(buf, start);
    let p = 0;
    while (p < buf.length) {
      const size = buf.readInt32BE(p + BATCH_LENGTH_OFFSET) + BATCH_OVERHEAD;
      this.noteBatch(start + p, size, readBaseOffset(buf, p), readLastOffset(buf, p), readMaxTimestamp(buf, p), indexIntervalBytes);
      p += size;
    }
    this.size = start + buf.length;
  }

  private noteBatch(pos: number, size: number, baseOffset: number, lastOffset: number, maxTs: number, interval: number): void {
    const indexed = this.bytesSinceIndex >= interval;
    if (indexed) {
      this.index.append(baseOffset, pos);
      this.bytesSinceIndex = 0;
    }
    this.bytesSinceIndex += size;
    if (maxTs > this.maxTimestamp || pos === 0) {
      this.maxTimestamp = maxTs;
      this.offsetOfMaxTimestamp = baseOffset;
    }
    // Kafka adds time index entries at the same interval as offset index entries.
    if (indexed) this.timeIndex.maybeAppend(this.maxTimestamp, this.offsetOfMaxTimestamp);
    this.nextOffset = lastOffset + 1;
  }

  /** Marks the segment read-only and records its final max timestamp in the time index. */
  seal(): void {
    this.sealed = true;
    if (this.size > 0) this.timeIndex.maybeAppend(this.maxTimestamp, this.offsetOfMaxTimestamp);
  }

  /**
   * Calls fn for each batch header from position `from` (a batch boundary) up to `to`, reading in chunks; a
   * batch larger than a chunk is stepped over by its header, never read whole. fn returns false to stop. Only
   * sizes are checked: use on bytes already validated.
   */
  async walk(from: number, to: number, fn: (b: BatchPosition) => boolean | void): Promise<void> {
    let pos = from;
    let want = SCAN_CHUNK;
    while (pos < to) {
      const chunk = await this.log.read(pos, Math.min(want, to - pos));
      let p = 0;
      while (chunk.length - p >= BATCH_HEADER_SIZE) {
        const size = chunk.readInt32BE(p + BATCH_LENGTH_OFFSET) + BATCH_OVERHEAD;
        if (size - BATCH_OVERHEAD < MIN_BATCH_LENGTH || pos + p + size > to) return;
        const b = { pos: pos + p, size, baseOffset: readBaseOffset(chunk, p), lastOffset: readLastOffset(chunk, p), maxTimestamp: readMaxTimestamp(chunk, p) };
        if (fn(b) === false) return;
        p += size;
      }
      // Fewer bytes than a batch header before `to`: no batch starts here.
      if (p === 0) return;
      pos += p;
      // Past a batch larger than the chunk, the next may be large too: a smaller read finds its header.
      want = p > chunk.length ? FIRST_CHUNK : SCAN_CHUNK;
    }
  }

  /** The batch containing offset (or the first after it), found via the offset index then a short walk. */
  async locate(offset: number): Promise<BatchPosition | null> {
    let found: BatchPosition | null = null;
    await this.walk(this.index.lookup(offset), this.size, (b) => {
      if (b.lastOffset < offset) return true;
      found = b;
      return false;
    });
    return found;
  }

  /**
   * Kafka's ListOffsets by timestamp within this segment: the first record at or past `logStart` whose timestamp
   * is at or past ts, found from the time index; the first batch whose max timestamp reaches ts when its records
   * cannot be read (a compression Kastor does not read). Null when no batch reaches ts.
   */
  async offsetForTimestamp(ts: number, logStart: number): Promise<{ offset: number; timestamp: number } | null> {
    let hit: BatchPosition | null = null;
    await this.walk(this.index.lookup(this.timeIndex.lookup(ts)), this.size, (b) => {
      if (b.maxTimestamp < ts) return true;
      hit = b;
      return false;
    });
    const h = hit as BatchPosition | null;
    if (!h) return null;
    const batch = await this.log.read(h.pos, h.size);
    try {
      for (const r of readRecords(batch)) if (r.timestamp >= ts && r.offset >= logStart) return { offset: r.offset, timestamp: r.timestamp };
    } catch (e) {
      if (!(e instanceof UnsupportedCompressionError)) throw e;
    }
    return { offset: h.baseOffset, timestamp: h.maxTimestamp };
  }

  /**
   * Whole batches from the one containing offset, while they fit in maxBytes; with minOneBatch (Kafka's
   * minOneMessage) the first one even past maxBytes, so one large batch never blocks a reader. Never a batch
   * whose lastOffset >= maxOffset. A batch is judged by its header: one that ends before offset, or that
   * cannot be returned, is never read whole. `stopped`: a batch at or past offset is here but was not returned.
   */
  async read(offset: number, maxBytes: number, maxOffset: number, indexIntervalBytes: number, minOneBatch = true): Promise<{ data: Buffer; firstOffset: number; nextOffset: number; stopped: boolean }> {
    const limit = this.size;
    const startPos = this.index.lookup(offset);
    // Without minOneBatch the first batch may not fit at all: its header is looked at before more is read.
    let want = minOneBatch ? Math.max(maxBytes + indexIntervalBytes + BATCH_HEADER_SIZE, FIRST_CHUNK) : FIRST_CHUNK;
    let pos = startPos;
    const parts: Buffer[] = [];
    let total = 0;
    let firstOffset = -1;
    let nextOffset = offset;
    let stopped = false;
    outer: while (pos < limit) {
      const chunk = await this.log.read(pos, Math.min(want, limit - pos));
      let p = 0;
      let from = -1;
      /** The size of the batch at p when this chunk holds only its start. */
      let partial = -1;
      while (chunk.length - p >= BATCH_HEADER_SIZE) {
        const size = chunk.readInt32BE(p + BATCH_LENGTH_OFFSET) + BATCH_OVERHEAD;
        const last = readLastOffset(chunk, p);
        if (last >= offset && (last >= maxOffset || ((firstOffset >= 0 || !minOneBatch) && total + size > maxBytes))) {
          if (from >= 0) parts.push(chunk.subarray(from, p));
          stopped = true;
          break outer;
        }
        if (size > chunk.length - p) {
          partial = size;
          break;
        }
        if (last >= offset) {
          if (firstOffset < 0) firstOffset = readBaseOffset(chunk, p);
          if (from < 0) from = p;
          total += size;
          nextOffset = last + 1;
        }
        p += size;
      }
      if (from >= 0) parts.push(chunk.subarray(from, p));
      if (p === 0) {
        if (partial < 0) break;
        // A batch larger than the chunk: one that ends before offset is stepped over, the one to return read whole.
        if (readLastOffset(chunk, 0) < offset) pos += partial;
        else want = partial;
        continue;
      }
      if (firstOffset >= 0) {
        // Only whole batches within the remaining budget can follow: stop without another read when the
        // next one (its header is often already in this chunk) cannot fit.
        const budget = maxBytes - total;
        if (budget < BATCH_HEADER_SIZE) break;
        if (chunk.length - p >= BATCH_HEADER_SIZE && chunk.readInt32BE(p + BATCH_LENGTH_OFFSET) + BATCH_OVERHEAD > budget) break;
        want = budget;
      }
      pos += p;
    }
    const data = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
    return { data, firstOffset: firstOffset < 0 ? offset : firstOffset, nextOffset, stopped };
  }

  /**
   * Recovery scan from position `from` (a batch boundary whose batch should start at expectedOffset):
   * validates CRCs and offset contiguity, rebuilding this segment's state and indexes as it goes.
   * Returns where valid data ends and, if it stopped early, why. `onBatch` hears of each valid batch in order
   * (its base offset and leader epoch: the log rebuilds the epoch entries a crash kept out of its epoch file).
   */
  async recover(from: number, expectedOffset: number, indexIntervalBytes: number, onBatch?: (baseOffset: number, leaderEpoch: number) => void): Promise<{ validEnd: number; invalid: { pos: number; reason: string } | null }> {
    const fileSize = await this.log.size();
    if (from === 0) {
      this.index.clear();
      this.timeIndex.clear();
      this.bytesSinceIndex = 0;
      this.maxTimestamp = -1;
    }
    let pos = from;
    let expected = expectedOffset;
    this.nextOffset = expectedOffset;
    let want = SCAN_CHUNK;
    while (pos < fileSize) {
      const chunk = await this.log.read(pos, Math.min(want, fileSize - pos));
      let p = 0;
      while (p < chunk.length) {
        if (chunk.length - p >= BATCH_HEADER_SIZE) {
          const size = chunk.readInt32BE(p + BATCH_LENGTH_OFFSET) + BATCH_OVERHEAD;
          if (size - BATCH_OVERHEAD >= MIN_BATCH_LENGTH && size > chunk.length - p && pos + p + size <= fileSize) break; // next chunk
        } else if (pos + chunk.length < fileSize) break;
        const v = validateBatch(chunk, p, chunk.length, { allowEmpty: true });
        if (!v.ok) return this.stopAt(pos + p, v.reason);
        // A compacted log has gaps (Kafka's cleaner keeps offsets): offsets only have to move forward.
        if (v.header.baseOffset < expected) return this.stopAt(pos + p, `batch baseOffset ${v.header.baseOffset}, expected at least ${expected}`);
        this.noteBatch(pos + p, v.size, v.header.baseOffset, v.header.baseOffset + v.header.lastOffsetDelta, v.header.maxTimestamp, indexIntervalBytes);
        onBatch?.(v.header.baseOffset, v.header.partitionLeaderEpoch);
        expected = this.nextOffset;
        p += v.size;
      }
      if (p === 0) {
        want = Math.max(want, chunk.readInt32BE(BATCH_LENGTH_OFFSET) + BATCH_OVERHEAD);
        continue;
      }
      pos += p;
    }
    this.size = pos;
    return { validEnd: pos, invalid: null };
  }

  private stopAt(pos: number, reason: string): { validEnd: number; invalid: { pos: number; reason: string } } {
    this.size = pos;
    return { validEnd: pos, invalid: { pos, reason } };
  }

  /**
   * Loads a sealed segment's indexes without scanning the log. Returns a reason when they cannot be
   * trusted; the caller then rebuilds them with recover().
   */
  async loadIndexes(nextOffset: number): Promise<string | null> {
    this.size = await this.log.size();
    this.nextOffset = nextOffset;
    const bad = (await this.index.load(this.size)) ?? (await this.timeIndex.load(nextOffset - this.baseOffset));
    if (bad) return bad;
    const last = this.index.last();
    if (last && !(await this.pointsAtBatch(last))) return `last index entry (offset ${last.offset} at ${last.position}) does not point at that batch`;
    const ts = this.timeIndex.lastTimestamp();
    if (this.size > 0 && ts === null) return 'time index is empty for a non-empty segment';
    this.maxTimestamp = ts ?? -1;
    this.sealed = true;
    return null;
  }

  /** Whether an index entry's position holds the header of a batch starting at the entry's offset. */
  private async pointsAtBatch(entry: { offset: number; position: number }): Promise<boolean> {
    const header = await this.log.read(entry.position, BATCH_HEADER_SIZE);
    return header.length >= BATCH_HEADER_SIZE && readBaseOffset(header, 0) === entry.offset;
  }

  /** Removes every batch whose lastOffset >= offset (Kafka truncates at a batch boundary). */
  async truncateTo(offset: number): Promise<void> {
    const at = await this.locate(offset);
    if (!at) return;
    await this.log.truncate(at.pos);
    this.size = at.pos;
    this.nextOffset = at.baseOffset;
    await this.cutIndexesAt(at.pos, at.baseOffset);
    this.sealed = false;
    await this.persistIndexes();
    await this.syncAll();
  }

  /**
   * Drops the index entries of the batches from position `pos` (offset `offset`) on and works out the running
   * max timestamp and the bytes since the last offset entry as appends up to `pos` left them: at every offset
   * entry the time index got the max so far (noteBatch), so only the batches from the last offset entry on are
   * read.
   */
  private async cutIndexesAt(pos: number, offset: number): Promise<void> {
    this.index.truncateToPosition(pos);
    this.timeIndex.truncateToOffset(offset);
    const lastTimestamp = this.timeIndex.lastTimestamp();
    this.maxTimestamp = lastTimestamp ?? -1;
    this.offsetOfMaxTimestamp = lastTimestamp === null ? this.baseOffset : this.timeIndex.lookup(Number.MAX_SAFE_INTEGER);
    const lastIndexed = this.index.last();
    this.bytesSinceIndex = 0;
    await this.walk(lastIndexed?.position ?? 0, pos, (b) => {
      if (b.maxTimestamp > this.maxTimestamp || b.pos === 0) {
        this.maxTimestamp = b.maxTimestamp;
        this.offsetOfMaxTimestamp = b.baseOffset;
      }
      if (!lastIndexed || b.pos >= lastIndexed.position) this.bytesSinceIndex += b.size;
    });
  }

  /**
   * Recovery of the segment holding the recovery point without reading what was flushed: its index files
   * (written at every flush) name the last indexed batch at or below `flushedTo`; everything before that batch
   * was fsynced and checked on its way in. Returns that batch's position and offset, for recover() to validate
   * the rest from, or null when the index files cannot be trusted (recover() then scans the whole segment).
   */
  async resumeAt(flushedTo: number): Promise<{ pos: number; offset: number } | null> {
    this.size = await this.log.size();
    if ((await this.index.load(this.size)) !== null || (await this.timeIndex.load(2 ** 32)) !== null) return null;
    const entry = this.index.floorEntry(flushedTo);
    if (entry === null || entry.position === 0 || !(await this.pointsAtBatch(entry))) return null;
    await this.cutIndexesAt(entry.position, entry.offset);
    return { pos: entry.position, offset: entry.offset };
  }

  async persistIndexes(): Promise<void> {
    await this.index.persist();
    await this.timeIndex.persist();
  }

  async syncAll(): Promise<void> {
    await this.log.sync();
    await this.index.file.sync();
    await this.timeIndex.file.sync();
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.log.close(), this.index.file.close(), this.timeIndex.file.close()]);
  }

  async delete(): Promise<void> {
    await this.close();
    for (const s of [LOG_SUFFIX, INDEX_SUFFIX, TIME_INDEX_SUFFIX]) {
      const p = join(this.dir, segmentName(this.baseOffset, s + this.suffix));
      if (await this.storage.exists(p)) await this.storage.unlink(p);
    }
  }
}

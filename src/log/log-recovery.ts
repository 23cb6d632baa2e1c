// Opening a partition directory: find the segments, trust the ones wholly before the recovery point
// (loading their indexes, rebuilding any that are missing or inconsistent), and re-validate everything
// from the segment holding the recovery point onwards, cutting a torn or corrupt tail at the last valid
// batch; a log cleaner's segment swap cut short by a crash is finished or undone first. In the segment
// holding the recovery point, validation starts at its last indexed batch below the point when the index
// files hold one that checks out (Segment.resumeAt): a restart then reads seconds of data, not the whole
// active segment. Corruption in flushed data that is read (below the recovery point) is never dropped: it is a
// CorruptSegmentError naming the file and byte position. Offsets must increase, with gaps allowed (a
// compacted log keeps its offsets).

import { join } from 'node:path';
import type { Storage } from './storage.ts';
import { INDEX_SUFFIX, Segment, TIME_INDEX_SUFFIX, segmentName } from './segment.ts';
import { CorruptSegmentError } from './errors.ts';
import { completeSwaps } from './segment-swap.ts';

export interface RecoveryContext {
  storage: Storage;
  dir: string;
  recoveryPoint: number;
  indexIntervalBytes: number;
  now: number;
  warn: (msg: string, facts: object) => void;
}

export interface RecoveredSegments {
  segments: Segment[];
  /** The active segment holds data past the recovery point that was validated but not fsynced yet. */
  unsyncedTail: boolean;
  /**
   * Where each leader epoch seen in the re-validated batches starts, in log order (an epoch that rises), up to the
   * recovered log end: the log rebuilds from them the entries its epoch file lacks (written lazily).
   */
  epochStarts: Array<[epoch: number, startOffset: number]>;
}

export async function recoverSegments(ctx: RecoveryContext): Promise<RecoveredSegments> {
  const { storage, dir, warn } = ctx;
  // A log cleaner's swap cut short: undone before its commit, completed after (segment-swap.ts).
  await completeSwaps(storage, dir, warn);
  const names = await storage.list(dir);
  const bases = names
    .filter((n) => /^\d{20}\.log$/.test(n))
    .map((n) => Number(n.slice(0, 20)))
    .sort((a, b) => a - b);
  const logNames = new Set(bases.map((b) => segmentName(b, '')));
  for (const n of names) {
    const orphanIndex = (n.endsWith(INDEX_SUFFIX) || n.endsWith(TIME_INDEX_SUFFIX)) && !logNames.has(n.slice(0, 20));
    if (orphanIndex || n.endsWith('.tmp')) await storage.unlink(join(dir, n));
  }
  if (bases.length === 0) return { segments: [await Segment.open(storage, dir, 0, ctx.now)], unsyncedTail: false, epochStarts: [] };

  // The segment holding the recovery point and all later ones are re-validated.
  let k = 0;
  while (k + 1 < bases.length && bases[k + 1]! <= ctx.recoveryPoint) k++;

  const segments: Segment[] = [];
  const rescanned: Segment[] = [];
  /** The last segment, read from its last indexed batch below the recovery point and found whole. */
  let resumedWhole: Segment | null = null;
  const epochStarts: Array<[number, number]> = [];
  const noteEpoch = (baseOffset: number, epoch: number) => {
    if (epoch > (epochStarts.at(-1)?.[0] ?? -1)) epochStarts.push([epoch, baseOffset]);
  };
  // Deletes every segment from bases[i] on (opening those not opened yet).
  const dropFrom = async (i: number, reason: string) => {
    while (segments.length < bases.length) segments.push(await Segment.open(storage, dir, bases[segments.length]!, ctx.now));
    for (const seg of segments.splice(i)) {
      warn('deleting segment past the recovered log end', { file: seg.logPath, reason });
      await seg.delete();
    }
  };
  for (let i = 0; i < bases.length; i++) {
    const base = bases[i]!;
    const missing: string[] = [];
    for (const s of [INDEX_SUFFIX, TIME_INDEX_SUFFIX]) {
      if (!(await storage.exists(join(dir, segmentName(base, s))))) missing.push(segmentName(base, s));
    }
    const seg = await Segment.open(storage, dir, base, ctx.now);
    segments.push(seg);
    if (i < k) {
      const nextBase = bases[i + 1]!;
      const reason = missing.length > 0 ? `missing ${missing.join(', ')}` : await seg.loadIndexes(nextBase);
      if (reason === null) continue;
      warn('rebuilding segment indexes', { file: seg.logPath, reason });
      const r = await seg.recover(0, base, ctx.indexIntervalBytes, noteEpoch);
      if (r.invalid) throw new CorruptSegmentError(seg.logPath, r.invalid.pos, r.invalid.reason);
      // A cleaned segment may end before the next begins (its last batches removed), never after.
      if (seg.nextOffset > nextBase) {
        throw new CorruptSegmentError(seg.logPath, seg.size, `segment ends at offset ${seg.nextOffset} but the next starts at ${nextBase}`);
      }
      rescanned.push(seg);
      continue;
    }
    const expected = i === 0 ? base : segments[i - 1]!.nextOffset;
    // Compaction leaves gaps between segments too; only an overlap is wrong.
    if (base < expected) {
      if (expected < ctx.recoveryPoint) {
        throw new CorruptSegmentError(seg.logPath, 0, `segment starts at ${base} but flushed data ends at ${expected}`);
      }
      await dropFrom(i, `segment starts at ${base}, previous data ends at ${expected}`);
      break;
    }
    // The segment holding the recovery point is read from its last indexed batch below the point when it can be.
    const resumed = i === k && ctx.recoveryPoint > base ? await seg.resumeAt(ctx.recoveryPoint) : null;
    const r = resumed ? await seg.recover(resumed.pos, resumed.offset, ctx.indexIntervalBytes, noteEpoch) : await seg.recover(0, base, ctx.indexIntervalBytes, noteEpoch);
    rescanned.push(seg);
    if (resumed && !r.invalid && i === bases.length - 1) resumedWhole = seg;
    if (r.invalid) {
      if (seg.nextOffset < ctx.recoveryPoint) throw new CorruptSegmentError(seg.logPath, r.invalid.pos, r.invalid.reason);
      const fileSize = await seg.log.size();
      warn('truncating torn or corrupt log tail', {
        file: seg.logPath, position: r.invalid.pos, bytesDropped: fileSize - r.invalid.pos, reason: r.invalid.reason, nextOffset: seg.nextOffset,
      });
      await seg.log.truncate(r.invalid.pos);
      if (i + 1 < bases.length) await dropFrom(i + 1, 'follows a truncated tail');
      break;
    }
  }
  const active = segments[segments.length - 1]!;
  for (const seg of segments) if (seg !== active && !seg.sealed) seg.seal();
  active.sealed = false;
  // Rebuilt indexes replace the old files; the recovered state becomes the new durable baseline. A resumed last
  // segment that needed no cut is left to the log's next flush (its recovery point stays where the checkpoint
  // had it until then): a restart of thousands of partitions does not wait on an fsync for each.
  for (const seg of rescanned) {
    await seg.persistIndexes();
    if (seg !== resumedWhole) await seg.syncAll();
  }
  // Only kept batches were noted: a scan stops at the first bad batch, and the segments dropped after it were not read.
  return { segments, unsyncedTail: resumedWhole !== null, epochStarts };
}

// What a follower does with one partition of a replica fetch response (Kafka's ReplicaFetcherThread
// processPartitionData and truncateOnFetchResponse, KIP-595): truncate where the leader says the logs
// diverge, else append the leader's batches as they are and take the leader's high watermark.
//
// A follower whose log ends before the leader's log start (OFFSET_OUT_OF_RANGE) empties its log and starts it
// again there, as Kafka's fetcher does when the leader's retention deleted what it would fetch next. Otherwise
// its log start follows the leader's (DeleteRecords), bounded by its own high watermark, as Kafka's
// processPartitionData does with maybeIncrementLogStartOffset(leaderLogStartOffset).
//
// Truncation follows Kafka's OffsetsForLeaderEpoch rules (KIP-101/KIP-279): the follower cuts at the end of
// the diverging epoch on whichever side ends first; when its own history has no entry for that epoch it cuts
// at the end of its largest earlier epoch and fetches again, so the leader checks once more. Callers
// serialize calls per log (one at a time, never beside another append or truncation).
import type { PartitionLog } from '../log/partition-log.ts';
import { ErrorCode } from '../protocol/generated/errors.ts';
import { UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET } from '../log/leader-epoch-cache.ts';
import { BATCH_LENGTH_OFFSET, BATCH_OVERHEAD, LAST_OFFSET_DELTA_OFFSET, readBaseOffset } from '../protocol/record-batch-layout.ts';
import type { DivergingEpoch, ReplicaFetchPartitionResponse } from './replication-codec.ts';

export type ApplyOutcome = { kind: 'truncated'; to: number } | { kind: 'reset'; to: number } | { kind: 'appended'; lastOffset: number } | { kind: 'idle' };

export class ReplicaDataError extends Error {
  readonly code = 'REPLICA_DATA_MISMATCH';
  constructor(
    message: string,
    readonly facts: { topic?: string; partition?: number; offset: number; logEndOffset: number },
  ) {
    super(message);
    this.name = 'ReplicaDataError';
  }
}

/** Where a follower must cut its log for a leader-reported divergence. */
export function truncationOffset(log: PartitionLog, diverging: DivergingEpoch): number {
  const leo = log.logEndOffset;
  // No epoch to compare (the leader knows no end for the epoch, or this log reports none): fall back to the
  // high watermark, as Kafka did before KIP-101, and never past the leader's end when it gave one.
  if (diverging.endOffset === UNDEFINED_EPOCH_OFFSET) return Math.min(log.highWatermark, leo);
  if (diverging.epoch === UNDEFINED_EPOCH) return Math.min(log.highWatermark, diverging.endOffset, leo);
  const mine = log.epochs.endOffsetFor(diverging.epoch);
  if (mine.endOffset === UNDEFINED_EPOCH_OFFSET) return Math.min(diverging.endOffset, leo);
  if (mine.epoch !== diverging.epoch) return Math.min(mine.endOffset, leo);
  return Math.min(diverging.endOffset, mine.endOffset, leo);
}

/**
 * Whether a response says the follower's log ends before the leader's log start (the leader's retention
 * deleted what it would fetch next): the follower then starts over at the leader's log start.
 */
export function behindLeaderStart(res: ReplicaFetchPartitionResponse, fetchOffset: number): boolean {
  return res.errorCode === ErrorCode.OFFSET_OUT_OF_RANGE && res.logStartOffset > fetchOffset;
}

/** Applies one partition's response to the follower's log. */
export async function applyFetchedPartition(log: PartitionLog, res: ReplicaFetchPartitionResponse): Promise<ApplyOutcome> {
  if (res.errorCode === ErrorCode.OFFSET_OUT_OF_RANGE) {
    if (!behindLeaderStart(res, log.logEndOffset)) {
      throw new ReplicaDataError(`the leader refused offset ${log.logEndOffset} as out of range, but its log starts at ${res.logStartOffset}`, { offset: log.logEndOffset, logEndOffset: log.logEndOffset });
    }
    await log.resetTo(res.logStartOffset);
    return { kind: 'reset', to: res.logStartOffset };
  }
  if (res.divergingEpoch) {
    const to = truncationOffset(log, res.divergingEpoch);
    await log.truncateTo(to);
    // truncateTo trims the epoch cache only when it removed data; an epoch this replica started without
    // writing (it led briefly) must go too, or the next fetch would report it again.
    if (log.epochs.truncateFromEnd(to)) await log.epochs.persist();
    return { kind: 'truncated', to };
  }
  let outcome: ApplyOutcome = { kind: 'idle' };
  const records = skipBelow(res.records, log.logEndOffset);
  if (records.length > 0) {
    const { lastOffset } = await log.appendReplicated(records);
    outcome = { kind: 'appended', lastOffset };
  }
  // A follower's HW is the leader's, never past what it holds itself.
  const hw = Math.min(res.highWatermark, log.logEndOffset);
  if (hw > log.highWatermark) log.setHighWatermark(hw);
  const start = Math.min(res.logStartOffset, log.highWatermark);
  if (start > log.logStartOffset) await log.advanceLogStartOffset(start);
  return outcome;
}

/** Drops whole batches that end before `from` (already held); a batch straddling it means the logs differ. */
function skipBelow(records: Buffer, from: number): Buffer {
  let p = 0;
  while (p < records.length && p + BATCH_OVERHEAD <= records.length) {
    const base = readBaseOffset(records, p);
    if (base >= from) break;
    const last = base + records.readInt32BE(p + LAST_OFFSET_DELTA_OFFSET);
    if (last >= from) throw new ReplicaDataError(`leader batch ${base}..${last} straddles the follower's log end ${from}`, { offset: base, logEndOffset: from });
    p += records.readInt32BE(p + BATCH_LENGTH_OFFSET) + BATCH_OVERHEAD;
  }
  return p === 0 ? records : records.subarray(p);
}

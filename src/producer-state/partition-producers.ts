// One partition replica's producer state (producer-state.ts: idempotence, open transactions, the last stable
// offset and the aborted-transaction index) with what the replica needs around it: a lock that makes the leader's check-then-append atomic per partition (Kafka holds the log lock
// for both), the rebuild of the table from its snapshot and the log (on open, and after a follower truncation),
// the snapshots themselves, and applying the batches a follower replicated.
import type { PartitionLog } from '../log/partition-log.ts';
import { forEachBatch, type BatchHeader } from '../protocol/record-batch-layout.ts';
import { ProducerStateTable } from './producer-state.ts';
import { decodeProducerState, encodeProducerState } from './producer-snapshot.ts';
import { isControlBatch, readTxnMarker } from '../log/txn-marker.ts';

const SCAN_CHUNK_BYTES = 4 * 1024 * 1024;

export class PartitionProducers {
  table = new ProducerStateTable();
  private lock: Promise<unknown> = Promise.resolve();

  /** Runs fn with no other exclusive section (check+append, rebuild, follower apply) of this partition. */
  exclusive<T>(fn: () => Promise<T> | T): Promise<T> {
    const run = this.lock.then(fn);
    this.lock = run.catch(() => {});
    return run;
  }

  /** Applies every whole batch of buf whose base offset is at or past `from` (a follower's appended records). */
  applyBatches(buf: Buffer, from = 0): void {
    forEachBatch(buf, (pos, h) => {
      if (h.baseOffset >= from) applyBatch(this.table, buf, pos, h);
    });
  }

  /** Replaces the table with one built from the log's snapshot and batches. Callers hold exclusive(). */
  async rebuild(log: PartitionLog): Promise<void> {
    this.table = await scanLog(log);
  }

  /**
   * The table as a snapshot of the log at its end, with the log's truncation count (for
   * PartitionLog.writeProducerSnapshot). Callers hold exclusive() and have applied every batch the log holds.
   * What no longer matters goes first, or snapshots would carry it forever: transactions whose marker is below the
   * high watermark, aborted transactions that ended below the log start (retention removed them).
   */
  capture(log: PartitionLog): ProducerSnapshot {
    this.table.forgetReplicated(log.highWatermark);
    this.table.aborted.dropBelow(log.logStartOffset);
    return { offset: log.logEndOffset, lines: encodeProducerState(this.table), truncationCount: log.truncationCount };
  }
}

/** A producer-state snapshot captured at `offset`, to be written once the log is synced that far. */
export interface ProducerSnapshot {
  offset: number;
  lines: string[];
  truncationCount: number;
}

/** Applies the batch at pos of buf, with its transaction marker when it is a control batch. */
export function applyBatch(table: ProducerStateTable, buf: Buffer, pos: number, h: BatchHeader): void {
  table.apply(h, h.baseOffset, isControlBatch(h.attributes) ? readTxnMarker(buf, pos) : null);
}

/**
 * The producer state of a log, as Kafka rebuilds it: from the latest producer-state snapshot (producer-snapshot.ts;
 * none, or one the log start has passed, means from the log start) plus every batch after it, which brings the
 * open transactions and the aborted-transaction index up to date with the rest. Aborted transactions that ended
 * below the log start are dropped.
 */
export async function scanLog(log: PartitionLog): Promise<ProducerStateTable> {
  const snapshot = await log.readProducerSnapshot(decodeProducerState);
  const table = snapshot?.state ?? new ProducerStateTable();
  let offset = snapshot?.offset ?? log.logStartOffset;
  const end = log.logEndOffset;
  while (offset < end) {
    const r = await log.read(offset, SCAN_CHUNK_BYTES);
    if (r.data.length === 0) break;
    let next = offset;
    forEachBatch(r.data, (pos, h: BatchHeader) => {
      applyBatch(table, r.data, pos, h);
      next = h.baseOffset + h.lastOffsetDelta + 1;
    });
    if (next <= offset) break;
    offset = next;
  }
  table.aborted.dropBelow(log.logStartOffset);
  return table;
}

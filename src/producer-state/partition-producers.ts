// One partition replica's producer state (producer-state.ts: idempotence, open transactions, the last stable
// offset and the aborted-transaction index) with what the replica needs around it: a lock that makes the leader's check-then-append atomic per partition (Kafka holds the log lock
// for both), the scan that rebuilds the table from the log (on open, and after a follower truncation), and
// applying the batches a follower replicated.
import type { PartitionLog } from '../log/partition-log.ts';
import { forEachBatch, type BatchHeader } from '../protocol/record-batch-layout.ts';
import { ProducerStateTable } from './producer-state.ts';
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

  /** Replaces the table with one built from every batch of the log. Callers hold exclusive(). */
  async rebuild(log: PartitionLog): Promise<void> {
    this.table = await scanLog(log);
  }
}

/** Applies the batch at pos of buf, with its transaction marker when it is a control batch. */
export function applyBatch(table: ProducerStateTable, buf: Buffer, pos: number, h: BatchHeader): void {
  table.apply(h, h.baseOffset, isControlBatch(h.attributes) ? readTxnMarker(buf, pos) : null);
}

/**
 * Kafka rebuilds producer state from its snapshot plus the log, and recovers each segment's .txnindex from its
 * markers; Kastor keeps no snapshot and reads it all, which rebuilds the open transactions and the
 * aborted-transaction index with the rest, except the prefix the log's producer-free checkpoint says holds no
 * producer or control batch (a log of plain producers is then read only from its last checkpoint). Entries
 * below the log start are dropped.
 */
export async function scanLog(log: PartitionLog): Promise<ProducerStateTable> {
  const table = new ProducerStateTable();
  // Below producerFreeBelow the log holds no batch that changes the table: reading it would leave it empty.
  let offset = Math.max(log.logStartOffset, log.producerFreeBelow);
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

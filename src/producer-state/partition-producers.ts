// One partition replica's idempotent-producer state (producer-state.ts) with what the replica needs around
// it: a lock that makes the leader's check-then-append atomic per partition (Kafka holds the log lock
// for both), the scan that rebuilds the table from the log (on open, and after a follower truncation), and
// applying the batches a follower replicated.
import type { PartitionLog } from '../log/partition-log.ts';
import { forEachBatch, type BatchHeader } from '../protocol/record-batch-layout.ts';
import { ProducerStateTable } from './producer-state.ts';

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
    forEachBatch(buf, (_pos, h) => {
      if (h.baseOffset >= from) this.table.apply(h, h.baseOffset);
    });
  }

  /** Replaces the table with one built from every batch of the log. Callers hold exclusive(). */
  async rebuild(log: PartitionLog): Promise<void> {
    this.table = await scanLog(log);
  }
}

/** Kafka rebuilds producer state from its snapshot plus the log; Kastor keeps no snapshot and reads it all. */
export async function scanLog(log: PartitionLog): Promise<ProducerStateTable> {
  const table = new ProducerStateTable();
  let offset = log.logStartOffset;
  const end = log.logEndOffset;
  while (offset < end) {
    const r = await log.read(offset, SCAN_CHUNK_BYTES);
    if (r.data.length === 0) break;
    let next = offset;
    forEachBatch(r.data, (_pos, h: BatchHeader) => {
      table.apply(h, h.baseOffset);
      next = h.baseOffset + h.lastOffsetDelta + 1;
    });
    if (next <= offset) break;
    offset = next;
  }
  return table;
}

// What the log cleaner decides about transaction markers (Kafka's CleanedTransactionMetadata and the control-batch
// half of LogCleaner's checkBatchRetention). A COMMIT or ABORT marker is only needed while some batch of its
// transaction is still in the log: read_committed readers skip an aborted transaction's records until its ABORT
// marker, and a rebuilt producer state takes a transactional batch without a following marker for an open
// transaction (which would hold the last stable offset forever). So a marker may go once the cleaning keeps no
// batch of its transaction, and, like a tombstone (KIP-534), only delete.retention.ms after the first cleaning
// that found it so: that cleaning stamps the horizon on the marker's batch, a later one past it removes the
// batch. A reader that fetched the transaction's records before they were cleaned has that long to read its
// marker. A marker that carries producer state (the producer has no data batch left) stays as an empty batch.
//
// The cleaner walks every batch from the log start in offset order; a transaction's batches come before its
// marker, so one pass sees whether any of them is kept.
import type { BatchHeader } from '../protocol/record-batch-layout.ts';
import { isControlBatch, isTransactionalBatch } from './txn-marker.ts';

export class CleanedTxns {
  /** Producers with a kept transactional batch since their last marker in this cleaning. */
  private readonly keptOpen = new Set<number>();
  /** Offsets of the ABORT markers removed since takeRemovedAborts (their aborted-transaction index entries go too). */
  private removedAborts: number[] = [];

  /** A data batch the cleaning keeps (in part or whole). */
  kept(h: BatchHeader): void {
    if (h.producerId >= 0 && isTransactionalBatch(h.attributes) && !isControlBatch(h.attributes)) this.keptOpen.add(h.producerId);
  }

  /**
   * A marker (control batch) read in offset order: whether its transaction left no batch in the cleaned log, so
   * that it may go once its delete horizon has passed. A control batch already emptied by an earlier cleaning
   * ends nothing and may go.
   */
  markerMayGo(h: BatchHeader): boolean {
    const none = !this.keptOpen.has(h.producerId);
    this.keptOpen.delete(h.producerId);
    return none || h.recordsCount === 0;
  }

  removedAbort(lastOffset: number): void {
    this.removedAborts.push(lastOffset);
  }

  takeRemovedAborts(): number[] {
    const out = this.removedAborts;
    this.removedAborts = [];
    return out;
  }
}

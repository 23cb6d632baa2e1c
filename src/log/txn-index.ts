// The aborted-transaction index (Kafka's .txnindex, TransactionIndex): one entry per ABORT marker in the log,
// in marker order: the producer, the first offset of its aborted transaction, the marker's offset (lastOffset)
// and the partition's last stable offset once that transaction ended (the first offset of the earliest
// transaction still open then, else the marker's offset + 1). A read_committed fetch asks which aborted
// transactions overlap the range it returns, and the consumer drops their records.
//
// Kastor keeps it in memory beside the producer state, and with it in the producer-state snapshot, and rebuilds
// both from the latest snapshot and the log after it (on open, after a follower truncation: partition-producers.ts),
// so after any crash it holds the markers the log holds. Pure.

export interface AbortedTxn {
  producerId: number;
  firstOffset: number;
  lastOffset: number;
  lastStableOffset: number;
}

export class AbortedTxnIndex {
  private readonly entries: AbortedTxn[] = [];

  get size(): number {
    return this.entries.length;
  }

  all(): readonly AbortedTxn[] {
    return this.entries;
  }

  /** Appended in marker order (lastOffset increasing), as the log holds them. */
  append(e: AbortedTxn): void {
    const last = this.entries.at(-1);
    if (last && e.lastOffset <= last.lastOffset) throw new Error(`aborted transaction ending at ${e.lastOffset} does not follow ${last.lastOffset}`);
    this.entries.push(e);
  }

  /**
   * The aborted transactions with records in [from, to): lastOffset >= from and firstOffset < to. Found from the
   * first marker at or past `from` by binary search; the walk stops at the first entry whose lastStableOffset is
   * at or past `to`, since every later transaction began at or after it (Kafka's collectAbortedTxns).
   */
  overlapping(from: number, to: number): AbortedTxn[] {
    let lo = 0;
    let hi = this.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.entries[mid]!.lastOffset < from) lo = mid + 1;
      else hi = mid;
    }
    const out: AbortedTxn[] = [];
    for (let i = lo; i < this.entries.length; i++) {
      const e = this.entries[i]!;
      if (e.firstOffset < to) out.push(e);
      if (e.lastStableOffset >= to) break;
    }
    return out;
  }

  /** Forgets the transactions whose ABORT markers (at these offsets) the log cleaner removed. */
  removeMarkers(lastOffsets: readonly number[]): void {
    if (lastOffsets.length === 0) return;
    const gone = new Set(lastOffsets);
    for (let i = this.entries.length - 1; i >= 0; i--) if (gone.has(this.entries[i]!.lastOffset)) this.entries.splice(i, 1);
  }

  /** Forgets the transactions that ended below the log start (retention or DeleteRecords removed them). */
  dropBelow(logStartOffset: number): void {
    let n = 0;
    while (n < this.entries.length && this.entries[n]!.lastOffset < logStartOffset) n++;
    if (n > 0) this.entries.splice(0, n);
  }
}

// The idempotent and transactional producers' state on one partition replica (KIP-98; Kafka's
// ProducerStateManager / ProducerAppendInfo): for each producer id seen in the log, its epoch and the
// metadata of its last five batches; the first offset of each producer's open transaction (a transactional
// batch opens one, a COMMIT or ABORT marker closes it), from which the last stable offset follows; and the
// aborted-transaction index (src/log/txn-index.ts), an entry per ABORT marker. The leader checks every idempotent batch against it before appending
// (stale epoch, sequence gap, or a retry of a batch already stored, which is answered with the original
// offsets and not appended again); leader and followers alike apply every appended batch to it, so a new
// leader already holds the state when it takes over. It is rebuilt by scanning the log on open and after a
// follower truncation, from its latest snapshot (producer-snapshot.ts) on.
//
// Pure: no I/O, no clock. Batches with producerId -1 (non-idempotent producers) never touch it.
import { ErrorCode } from '../protocol/generated/errors.ts';
import { AbortedTxnIndex, type AbortedTxn } from '../log/txn-index.ts';
import type { TxnMarker } from '../log/txn-marker.ts';
import { CONTROL_FLAG, TRANSACTIONAL_FLAG } from '../protocol/record-batch-layout.ts';

/** Kafka keeps the metadata of this many recent batches per producer (the client's max in-flight limit). */
export const PRODUCER_BATCH_HISTORY = 5;
const INT32_MAX = 0x7fff_ffff;

/** What the state needs from a batch header. */
export interface ProducerBatch {
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  lastOffsetDelta: number;
  maxTimestamp: number;
  /** The batch attributes (bit 4: transactional); absent counts as 0. */
  attributes?: number;
}

export interface BatchMetadata {
  firstSeq: number;
  lastSeq: number;
  firstOffset: number;
  lastOffset: number;
  timestamp: number;
}

export interface ProducerEntry {
  producerId: number;
  epoch: number;
  /** Oldest first, at most PRODUCER_BATCH_HISTORY. */
  batches: BatchMetadata[];
  /** The coordinator epoch of the last marker written for this producer (-1: none). */
  coordinatorEpoch: number;
  /** The max timestamp of its last batch or marker (Kafka's lastTimestamp): producer.id.expiration.ms counts from it. */
  lastTimestamp: number;
}

/** Everything a table holds, as plain data: what a producer-state snapshot stores (producer-snapshot.ts). */
export interface ProducerTableState {
  producers: ProducerEntry[];
  /** [producerId, first offset of its open transaction], earliest first. */
  ongoing: Array<[number, number]>;
  unreplicated: Array<{ firstOffset: number; lastOffset: number }>;
  /** [producerId, markers applied]. */
  markers: Array<[number, number]>;
  aborted: AbortedTxn[];
}

export type ProducerCheck =
  | { kind: 'append' }
  | { kind: 'duplicate'; firstOffset: number; lastOffset: number }
  | { kind: 'error'; errorCode: number; message: string };

/** The last sequence of a batch: sequences wrap from Int32.MAX to 0, as Kafka's DefaultRecordBatch.incrementSequence. */
export function lastSequence(baseSequence: number, lastOffsetDelta: number): number {
  if (baseSequence > INT32_MAX - lastOffsetDelta) return lastOffsetDelta - (INT32_MAX - baseSequence) - 1;
  return baseSequence + lastOffsetDelta;
}

/** Kafka's ProducerStateEntry inSequence rule: the next sequence, or 0 after Int32.MAX. */
export function inSequence(lastSeq: number, nextSeq: number): boolean {
  return nextSeq === lastSeq + 1 || (nextSeq === 0 && lastSeq === INT32_MAX);
}

export class ProducerStateTable {
  private readonly producers = new Map<number, ProducerEntry>();
  /**
   * Each producer's open transaction: its first offset. Offsets are applied in log order, so the map's
   * insertion order is first-offset order and its first value is the earliest open transaction.
   */
  private readonly ongoing = new Map<number, number>();
  /** Transactions whose marker the high watermark has not passed yet (marker order): still unstable. */
  private unreplicated: Array<{ firstOffset: number; lastOffset: number }> = [];
  /** Markers applied per producer. */
  private readonly markers = new Map<number, number>();
  /** One entry per ABORT marker applied. */
  readonly aborted = new AbortedTxnIndex();
  /** Batches below this offset have been applied; applying them again changes nothing. */
  nextOffset = 0;

  get size(): number {
    return this.producers.size;
  }

  /** The table as plain data (copies: later applies do not change it). */
  state(): ProducerTableState {
    return {
      producers: [...this.producers.values()].map((e) => ({ ...e, batches: e.batches.map((b) => ({ ...b })) })),
      ongoing: [...this.ongoing],
      unreplicated: this.unreplicated.map((t) => ({ ...t })),
      markers: [...this.markers],
      aborted: this.aborted.all().map((a) => ({ ...a })),
    };
  }

  /** A table holding `state`, with every batch below `nextOffset` counted as applied. */
  static fromState(state: ProducerTableState, nextOffset: number): ProducerStateTable {
    const t = new ProducerStateTable();
    for (const e of state.producers) t.producers.set(e.producerId, e);
    for (const [producerId, firstOffset] of state.ongoing) t.ongoing.set(producerId, firstOffset);
    t.unreplicated = state.unreplicated;
    for (const [producerId, count] of state.markers) t.markers.set(producerId, count);
    for (const a of state.aborted) t.aborted.append(a);
    t.nextOffset = nextOffset;
    return t;
  }

  entry(producerId: number): ProducerEntry | undefined {
    return this.producers.get(producerId);
  }

  entries(): ProducerEntry[] {
    return [...this.producers.values()];
  }

  /** The first offset of the earliest open transaction, or null. */
  private earliestOpen(): number | null {
    const first = this.ongoing.values().next();
    return first.done ? null : first.value;
  }

  /** How many markers of this producer were applied (KIP-890's verification guard: a change voids a verification). */
  markerCount(producerId: number): number {
    return this.markers.get(producerId) ?? 0;
  }

  /** The first offset of the producer's open transaction, or null. */
  openTransaction(producerId: number): number | null {
    return this.ongoing.get(producerId) ?? null;
  }

  /**
   * The last stable offset (Kafka's firstUnstableOffset bounded by the high watermark): the first offset of the
   * earliest transaction still open, or of one whose marker is not yet below the high watermark (a marker a
   * leader change could still lose), else the high watermark. The high watermark only rises between rebuilds,
   * so transactions whose marker it passed are forgotten here.
   */
  lastStableOffset(highWatermark: number): number {
    this.forgetReplicated(highWatermark);
    let lso = Math.min(highWatermark, this.earliestOpen() ?? Infinity);
    for (const t of this.unreplicated) lso = Math.min(lso, t.firstOffset);
    return lso;
  }

  /**
   * Forgets the transactions whose marker is below the high watermark (no leader change can lose it): they no
   * longer hold the last stable offset back. lastStableOffset does it; a replica nobody reads from does it before
   * a snapshot, or the list would grow with every marker.
   */
  forgetReplicated(highWatermark: number): void {
    let i = 0;
    while (i < this.unreplicated.length && this.unreplicated[i]!.lastOffset < highWatermark) i++;
    if (i > 0) this.unreplicated = this.unreplicated.slice(i);
  }

  /**
   * The leader's verdict on a transaction marker before it is appended (Kafka's appendEndTxnMarker checks): an
   * epoch older than the producer's is fenced, and so is a coordinator epoch older than the last marker's.
   */
  checkMarker(producerId: number, producerEpoch: number, coordinatorEpoch: number): ProducerCheck {
    const e = this.producers.get(producerId);
    if (!e) return { kind: 'append' };
    if (producerEpoch < e.epoch) {
      return fail(ErrorCode.INVALID_PRODUCER_EPOCH, `marker of producer ${producerId} has epoch ${producerEpoch}, older than the current epoch ${e.epoch}`);
    }
    if (coordinatorEpoch < e.coordinatorEpoch) {
      return fail(ErrorCode.TRANSACTION_COORDINATOR_FENCED, `marker of producer ${producerId} comes from coordinator epoch ${coordinatorEpoch}, older than ${e.coordinatorEpoch}`);
    }
    return { kind: 'append' };
  }

  /**
   * The leader's verdict on a produced batch, before it is appended. A coordinator's write (TxnOffsetCommit's
   * offsets, which carry no sequence) is checked for its epoch only, as Kafka's AppendOrigin.COORDINATOR.
   */
  check(b: ProducerBatch, origin: 'client' | 'coordinator' = 'client'): ProducerCheck {
    if (b.producerId < 0) return { kind: 'append' };
    if (!isTransactional(b) && this.ongoing.has(b.producerId)) {
      return fail(ErrorCode.INVALID_TXN_STATE, `producer ${b.producerId} has an open transaction: its batches must be transactional`);
    }
    if (origin === 'coordinator') {
      const current = this.producers.get(b.producerId)?.epoch ?? -1;
      if (b.producerEpoch < current) return fail(ErrorCode.INVALID_PRODUCER_EPOCH, `producer ${b.producerId} epoch ${b.producerEpoch} is older than the current epoch ${current}`);
      return { kind: 'append' };
    }
    if (b.baseSequence < 0) {
      return fail(ErrorCode.INVALID_RECORD, `batch of producer ${b.producerId} carries a producer id but no sequence number (${b.baseSequence})`);
    }
    if (b.producerEpoch < 0) return fail(ErrorCode.INVALID_RECORD, `batch of producer ${b.producerId} has a negative epoch ${b.producerEpoch}`);
    const e = this.producers.get(b.producerId);
    if (!e) {
      // The pre-KIP-360 rule: a producer this partition does not know must start at sequence 0.
      if (b.baseSequence !== 0) {
        return fail(ErrorCode.UNKNOWN_PRODUCER_ID, `producer ${b.producerId} is unknown to this partition and its batch starts at sequence ${b.baseSequence}, not 0`);
      }
      return { kind: 'append' };
    }
    if (b.producerEpoch < e.epoch) {
      return fail(ErrorCode.INVALID_PRODUCER_EPOCH, `producer ${b.producerId} epoch ${b.producerEpoch} is older than the current epoch ${e.epoch}`);
    }
    if (b.producerEpoch > e.epoch) {
      if (b.baseSequence !== 0) {
        return fail(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, `producer ${b.producerId} new epoch ${b.producerEpoch} must start at sequence 0, got ${b.baseSequence}`);
      }
      return { kind: 'append' };
    }
    const lastSeq = lastSequence(b.baseSequence, b.lastOffsetDelta);
    const dup = e.batches.find((m) => m.firstSeq === b.baseSequence && m.lastSeq === lastSeq);
    if (dup) return { kind: 'duplicate', firstOffset: dup.firstOffset, lastOffset: dup.lastOffset };
    const last = e.batches[e.batches.length - 1];
    // An entry with no batches (none kept) accepts any sequence; it never arises from the log, only defensively.
    if (last && !inSequence(last.lastSeq, b.baseSequence)) {
      return fail(ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, `producer ${b.producerId} epoch ${b.producerEpoch}: sequence ${b.baseSequence} does not follow ${last.lastSeq}`);
    }
    return { kind: 'append' };
  }

  /**
   * Records a batch stored at firstOffset (a leader append, a replicated batch, or the log scan on open).
   * Batches below nextOffset were applied already and are ignored, so a batch seen twice counts once.
   */
  apply(b: ProducerBatch, firstOffset: number, marker: TxnMarker | null = null): void {
    if (firstOffset < this.nextOffset) return;
    const lastOffset = firstOffset + b.lastOffsetDelta;
    this.nextOffset = lastOffset + 1;
    if (marker) {
      if (b.producerId >= 0) this.endTransaction(b, firstOffset, marker);
      return;
    }
    if (b.producerId < 0) return;
    // A control batch without a marker (the cleaner emptied it once its transaction was gone, or a control type
    // Kafka has but Kastor does not write) ends nothing and opens nothing; it still names its producer's epoch,
    // as in Kafka's ProducerAppendInfo.
    if (((b.attributes ?? 0) & CONTROL_FLAG) !== 0) return this.noteEpoch(b);
    if (isTransactional(b) && !this.ongoing.has(b.producerId)) this.ongoing.set(b.producerId, firstOffset);
    // A coordinator's transactional write carries no sequence: it opens the transaction, no batch history.
    if (b.baseSequence < 0) return this.noteEpoch(b);
    let e = this.producers.get(b.producerId);
    if (!e || e.epoch !== b.producerEpoch) {
      e = { producerId: b.producerId, epoch: b.producerEpoch, batches: [], coordinatorEpoch: e?.coordinatorEpoch ?? -1, lastTimestamp: b.maxTimestamp };
      this.producers.set(b.producerId, e);
    }
    e.lastTimestamp = b.maxTimestamp;
    e.batches.push({ firstSeq: b.baseSequence, lastSeq: lastSequence(b.baseSequence, b.lastOffsetDelta), firstOffset, lastOffset, timestamp: b.maxTimestamp });
    if (e.batches.length > PRODUCER_BATCH_HISTORY) e.batches.shift();
  }

  /** A batch that names its producer's epoch and nothing else of its history. */
  private noteEpoch(b: ProducerBatch): void {
    const known = this.producers.get(b.producerId);
    if (!known || known.epoch < b.producerEpoch) {
      this.producers.set(b.producerId, { producerId: b.producerId, epoch: b.producerEpoch, batches: [], coordinatorEpoch: known?.coordinatorEpoch ?? -1, lastTimestamp: b.maxTimestamp });
    } else known.lastTimestamp = b.maxTimestamp;
  }

  /**
   * Forgets the producers with no transaction open whose last batch or marker is `expirationMs` or more before
   * `now` (Kafka's removeExpiredProducers, producer.id.expiration.ms): such a producer's next batch is from an
   * unknown producer. Returns how many went.
   */
  expireProducers(now: number, expirationMs: number): number {
    let n = 0;
    for (const [producerId, e] of this.producers) {
      if (this.ongoing.has(producerId) || now - e.lastTimestamp < expirationMs) continue;
      this.producers.delete(producerId);
      this.markers.delete(producerId);
      n++;
    }
    return n;
  }

  /**
   * A marker at `offset` ends the producer's open transaction (one with no records ends at the marker itself, as
   * Kafka's CompletedTxn does) and records the marker's epochs; an ABORT goes into the aborted-transaction index.
   */
  private endTransaction(b: ProducerBatch, offset: number, marker: TxnMarker): void {
    this.markers.set(b.producerId, (this.markers.get(b.producerId) ?? 0) + 1);
    const e = this.producers.get(b.producerId);
    if (!e || e.epoch !== b.producerEpoch) {
      this.producers.set(b.producerId, { producerId: b.producerId, epoch: b.producerEpoch, batches: [], coordinatorEpoch: marker.coordinatorEpoch, lastTimestamp: b.maxTimestamp });
    } else Object.assign(e, { coordinatorEpoch: marker.coordinatorEpoch, lastTimestamp: b.maxTimestamp });
    const firstOffset = this.ongoing.get(b.producerId) ?? offset;
    this.ongoing.delete(b.producerId);
    this.unreplicated.push({ firstOffset, lastOffset: offset });
    if (marker.type === 'ABORT') {
      const lastStableOffset = this.earliestOpen() ?? offset + 1;
      this.aborted.append({ producerId: b.producerId, firstOffset, lastOffset: offset, lastStableOffset });
    }
  }
}

function isTransactional(b: ProducerBatch): boolean {
  return ((b.attributes ?? 0) & TRANSACTIONAL_FLAG) !== 0;
}

function fail(errorCode: number, message: string): ProducerCheck {
  return { kind: 'error', errorCode, message };
}

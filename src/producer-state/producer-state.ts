// The idempotent producer's state on one partition replica (KIP-98 without transactions; Kafka's
// ProducerStateManager / ProducerAppendInfo): for each producer id seen in the log, its epoch and the
// metadata of its last five batches. The leader checks every idempotent batch against it before appending
// (stale epoch, sequence gap, or a retry of a batch already stored, which is answered with the original
// offsets and not appended again); leader and followers alike apply every appended batch to it, so a new
// leader already holds the state when it takes over. It is rebuilt by scanning the log on open and after a
// follower truncation.
//
// Pure: no I/O, no clock. Batches with producerId -1 (non-idempotent producers) never touch it.
import { ErrorCode } from '../protocol/generated/errors.ts';

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
  /** Batches below this offset have been applied; applying them again changes nothing. */
  nextOffset = 0;

  get size(): number {
    return this.producers.size;
  }

  entry(producerId: number): ProducerEntry | undefined {
    return this.producers.get(producerId);
  }

  entries(): ProducerEntry[] {
    return [...this.producers.values()];
  }

  /** The leader's verdict on a produced batch, before it is appended. */
  check(b: ProducerBatch): ProducerCheck {
    if (b.producerId < 0) return { kind: 'append' };
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
  apply(b: ProducerBatch, firstOffset: number): void {
    if (firstOffset < this.nextOffset) return;
    const lastOffset = firstOffset + b.lastOffsetDelta;
    this.nextOffset = lastOffset + 1;
    if (b.producerId < 0 || b.baseSequence < 0) return;
    let e = this.producers.get(b.producerId);
    if (!e || e.epoch !== b.producerEpoch) {
      e = { producerId: b.producerId, epoch: b.producerEpoch, batches: [] };
      this.producers.set(b.producerId, e);
    }
    e.batches.push({ firstSeq: b.baseSequence, lastSeq: lastSequence(b.baseSequence, b.lastOffsetDelta), firstOffset, lastOffset, timestamp: b.maxTimestamp });
    if (e.batches.length > PRODUCER_BATCH_HISTORY) e.batches.shift();
  }
}

function fail(errorCode: number, message: string): ProducerCheck {
  return { kind: 'error', errorCode, message };
}

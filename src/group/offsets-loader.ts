// Loading a __consumer_offsets partition when this broker becomes its leader (Kafka's
// GroupMetadataManager.loadGroupsAndOffsets): read from the log start to the log end offset — as Kafka does: a
// new leader's high watermark may still lag, and its whole log is what the partition now holds — batch by batch,
// and keep the latest record per key; a tombstone removes what came before it. Reads whole batches through
// the partition log (the byte path stays plain functions), never through actor events.
//
// Offsets committed inside a transaction (TxnOffsetCommit, KIP-98) sit in transactional batches and are held
// per producer until that producer's marker follows: COMMIT applies them (unless a commit later in the log
// already replaced one), ABORT drops them, and those with no marker yet stay pending for the shard.
import type { PartitionLog } from '../log/partition-log.ts';
import { readTxnMarker } from '../log/txn-marker.ts';
import { CONTROL_FLAG, forEachBatch, readRecords, TRANSACTIONAL_FLAG } from '../protocol/record-batch.ts';
import type { PersistedGroup } from './group-types.ts';
import { decodeGroup, decodeKey, decodeOffset, type CommittedOffset } from './offsets-record-format.ts';

/**
 * A committed offset and the log offset of the batch that wrote it: of two commits for one partition the later
 * in the log wins, whichever became visible first (Kafka's CommitRecordMetadataAndOffset.appendedBatchOffset).
 */
export interface StoredOffset extends CommittedOffset {
  appendedAt: number;
}

/** group → "topic\0partition" → offset. */
export type GroupOffsets = Map<string, Map<string, StoredOffset>>;

export interface LoadedPartition {
  offsets: GroupOffsets;
  /** Transactional offsets whose producer has no marker yet: producerId → group → "topic\0partition" → offset. */
  pendingTxnOffsets: Map<number, GroupOffsets>;
  groups: Map<string, PersistedGroup>;
  /** Records that could not be decoded (skipped, reported by the caller). */
  skipped: number;
}

export const topicPartitionKey = (topic: string, partition: number) => `${topic}\u0000${partition}`;

export function splitTopicPartitionKey(key: string): { topic: string; partition: number } {
  const i = key.lastIndexOf('\u0000');
  return { topic: key.slice(0, i), partition: Number(key.slice(i + 1)) };
}

/** Sets a group's offset for a partition in a group → partition → offset map, creating the group's map. */
export function putOffset(into: GroupOffsets, group: string, tp: string, o: StoredOffset): void {
  let forGroup = into.get(group);
  if (!forGroup) into.set(group, (forGroup = new Map()));
  forGroup.set(tp, o);
}

/** A committed transaction's offsets become visible, except where a commit later in the log is already there. */
export function applyTxnOffsets(visible: GroupOffsets, committed: GroupOffsets): void {
  for (const [group, offsets] of committed) {
    for (const [tp, o] of offsets) {
      const current = visible.get(group)?.get(tp);
      if (!current || current.appendedAt < o.appendedAt) putOffset(visible, group, tp, o);
    }
  }
}

const READ_BYTES = 1 << 20;

export async function loadOffsetsPartition(log: PartitionLog, upTo: number = log.logEndOffset): Promise<LoadedPartition> {
  const out: LoadedPartition = { offsets: new Map(), pendingTxnOffsets: new Map(), groups: new Map(), skipped: 0 };
  let offset = log.logStartOffset;
  while (offset < upTo) {
    const { data, nextOffset } = await log.read(offset, READ_BYTES, upTo);
    if (data.length === 0 || nextOffset <= offset) break;
    forEachBatch(data, (pos, header) => {
      if ((header.attributes & CONTROL_FLAG) !== 0) {
        if (header.baseOffset < offset || header.baseOffset >= upTo) return;
        const marker = readTxnMarker(data, pos);
        if (!marker) return; // another control type ends no transaction
        const pending = out.pendingTxnOffsets.get(header.producerId);
        out.pendingTxnOffsets.delete(header.producerId);
        if (pending && marker.type === 'COMMIT') applyTxnOffsets(out.offsets, pending);
        return;
      }
      const txnProducer = (header.attributes & TRANSACTIONAL_FLAG) !== 0 ? header.producerId : null;
      for (const r of readRecords(data, pos)) {
        if (r.offset < offset || r.offset >= upTo || !r.key) continue;
        try {
          apply(out, r.key, r.value, header.baseOffset, txnProducer);
        } catch {
          out.skipped++;
        }
      }
    });
    offset = nextOffset;
  }
  return out;
}

function apply(out: LoadedPartition, keyBytes: Buffer, value: Buffer | null, appendedAt: number, txnProducer: number | null): void {
  const key = decodeKey(keyBytes);
  if (!key) return void out.skipped++;
  if (key.kind === 'group') {
    if (value === null) {
      out.groups.delete(key.group);
      return;
    }
    const g = decodeGroup(value);
    if (g) out.groups.set(key.group, g);
    else out.skipped++;
    return;
  }
  const tp = topicPartitionKey(key.topic, key.partition);
  let into = out.offsets;
  if (txnProducer !== null) {
    into = out.pendingTxnOffsets.get(txnProducer) ?? new Map();
    out.pendingTxnOffsets.set(txnProducer, into);
  }
  if (value === null) {
    into.get(key.group)?.delete(tp);
    return;
  }
  const o = decodeOffset(value);
  if (!o) return void out.skipped++;
  putOffset(into, key.group, tp, { ...o, appendedAt });
}

// Loading a __consumer_offsets partition when this broker becomes its leader (Kafka's
// GroupMetadataManager.loadGroupsAndOffsets): read from the log start to the log end offset — as Kafka does: a
// new leader's high watermark may still lag, and its whole log is what the partition now holds — batch by batch,
// and keep the latest record per key; a tombstone removes what came before it. Reads whole batches through
// the partition log (the byte path stays plain functions), never through actor events.
import type { PartitionLog } from '../log/partition-log.ts';
import { forEachBatch, readRecords } from '../protocol/record-batch.ts';
import type { PersistedGroup } from './group-types.ts';
import { decodeGroup, decodeKey, decodeOffset, type CommittedOffset } from './offsets-record-format.ts';

export interface LoadedPartition {
  /** group → "topic\0partition" → offset. */
  offsets: Map<string, Map<string, CommittedOffset>>;
  groups: Map<string, PersistedGroup>;
  /** Records that could not be decoded (skipped, reported by the caller). */
  skipped: number;
}

export const topicPartitionKey = (topic: string, partition: number) => `${topic}\u0000${partition}`;

export function splitTopicPartitionKey(key: string): { topic: string; partition: number } {
  const i = key.lastIndexOf('\u0000');
  return { topic: key.slice(0, i), partition: Number(key.slice(i + 1)) };
}

const READ_BYTES = 1 << 20;

export async function loadOffsetsPartition(log: PartitionLog, upTo: number = log.logEndOffset): Promise<LoadedPartition> {
  const out: LoadedPartition = { offsets: new Map(), groups: new Map(), skipped: 0 };
  let offset = log.logStartOffset;
  while (offset < upTo) {
    const { data, nextOffset } = await log.read(offset, READ_BYTES, upTo);
    if (data.length === 0 || nextOffset <= offset) break;
    forEachBatch(data, (pos) => {
      for (const r of readRecords(data, pos)) {
        if (r.offset < offset || r.offset >= upTo || !r.key) continue;
        try {
          apply(out, r.key, r.value);
        } catch {
          out.skipped++;
        }
      }
    });
    offset = nextOffset;
  }
  return out;
}

function apply(out: LoadedPartition, keyBytes: Buffer, value: Buffer | null): void {
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
  if (value === null) {
    out.offsets.get(key.group)?.delete(tp);
    return;
  }
  const o = decodeOffset(value);
  if (!o) return void out.skipped++;
  let forGroup = out.offsets.get(key.group);
  if (!forGroup) out.offsets.set(key.group, (forGroup = new Map()));
  forGroup.set(tp, o);
}

// The checker for crash tests: given what producers sent and what the cluster acknowledged, and what a
// consumer read back from each partition (from offset 0 to the high watermark), it lists every broken
// promise instead of stopping at the first; and compareReplicaLogs checks that every replica of a
// partition holds byte-identical RecordBatch v2 bytes below the high watermark.
//
// The promises checked are Kafka's for acks=all (DESIGN.md "acks"): an acknowledged record is never lost
// and sits at the offset it was acknowledged at; without idempotence (KIP-98) a producer retry may write a
// record twice, but nothing else may; with one request in flight per partition a producer's records keep
// their order; offsets of a partition are contiguous from its log start up to the high watermark.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  BATCH_LENGTH_OFFSET,
  BATCH_OVERHEAD,
  MIN_BATCH_LENGTH,
  PARTITION_LEADER_EPOCH_OFFSET,
  CRC_OFFSET,
  ATTRIBUTES_OFFSET,
  BASE_TIMESTAMP_OFFSET,
  PRODUCER_ID_OFFSET,
  RECORDS_OFFSET,
  readInt64,
} from '../protocol/record-batch-layout.ts';

export interface SentRecord {
  /** Unique across the whole run; found in the record value (see HistoryInput.idOf). */
  id: string;
  topic: string;
  partition: number;
  /** Which producer sent it (order is checked per producer and partition); default "". */
  producer?: string;
  /**
   * The producer's send order within (producer, partition). Records with a seq must appear in seq order;
   * only meaningful when the producer had one request in flight per partition (or was idempotent).
   */
  seq?: number;
  /** acked: the cluster acknowledged it (acks=all); failed: it reported an error; unacked: no answer came. */
  status: 'acked' | 'failed' | 'unacked';
  /** The acknowledged offset, when the producer learned it. */
  offset?: number;
  /** The producer may have sent it more than once without idempotence: a duplicate is allowed. */
  mayRetry?: boolean;
}

export interface ReadRecord {
  topic: string;
  partition: number;
  offset: number;
  value: string;
}

export interface HistoryInput {
  sent: SentRecord[];
  /** Everything read from each partition from its start to its high watermark. */
  read: ReadRecord[];
  /** `${topic}-${partition}` → the high watermark the read stopped at; checks the read reached it. */
  highWatermarks?: Record<string, number>;
  /** `${topic}-${partition}` → where the log starts (default 0). */
  logStartOffsets?: Record<string, number>;
  /** Extracts the id from a value (default: the whole value); null means "not one of ours". */
  idOf?: (value: string) => string | null;
}

export type ViolationKind =
  | 'lost' // an acknowledged record is not in the partition
  | 'wrong-offset' // an acknowledged record is there, but not at the offset it was acknowledged at
  | 'duplicate' // a record appears more than once and its producer never retried it
  | 'order' // a producer's records appear out of their send order within a partition
  | 'offset-gap' // offsets read are not contiguous (or do not start at the log start)
  | 'short-read' // the read stopped before the high watermark
  | 'unexpected' // a record nobody sent, or in a partition it was not sent to
  | 'bad-input'; // the history itself is inconsistent (e.g. two sent records with one id)

export interface Violation {
  kind: ViolationKind;
  topic: string;
  partition: number;
  id?: string;
  offset?: number;
  message: string;
}

export interface HistoryReport {
  ok: boolean;
  violations: Violation[];
  stats: {
    sent: number;
    acked: number;
    failed: number;
    unacked: number;
    read: number;
    /** Failed or unacked records that were written anyway (allowed). */
    unackedPresent: number;
    /** Allowed duplicates (retried records read more than once). */
    retryDuplicates: number;
  };
}

const key = (topic: string, partition: number) => `${topic}-${partition}`;

/** Checks a produce/consume history; see HistoryInput and ViolationKind. */
export function checkHistory(input: HistoryInput): HistoryReport {
  const idOf = input.idOf ?? ((v: string) => v);
  const violations: Violation[] = [];
  const sentById = new Map<string, SentRecord>();
  for (const s of input.sent) {
    if (sentById.has(s.id)) {
      violations.push({ kind: 'bad-input', topic: s.topic, partition: s.partition, id: s.id, message: `id ${s.id} was sent twice in the history` });
      continue;
    }
    sentById.set(s.id, s);
  }

  const byPartition = new Map<string, ReadRecord[]>();
  for (const r of input.read) {
    const k = key(r.topic, r.partition);
    let list = byPartition.get(k);
    if (!list) byPartition.set(k, (list = []));
    list.push(r);
  }
  for (const s of input.sent) if (!byPartition.has(key(s.topic, s.partition))) byPartition.set(key(s.topic, s.partition), []);

  // Where each id was seen: the offsets per partition key.
  const seen = new Map<string, { k: string; offsets: number[] }>();
  let unackedPresent = 0;
  let retryDuplicates = 0;

  for (const [k, list] of byPartition) {
    list.sort((a, b) => a.offset - b.offset);
    const topic = list[0]?.topic ?? input.sent.find((s) => key(s.topic, s.partition) === k)!.topic;
    const partition = list[0]?.partition ?? input.sent.find((s) => key(s.topic, s.partition) === k)!.partition;
    const start = input.logStartOffsets?.[k] ?? 0;
    // Contiguity: start at the log start, no holes, no offset twice.
    let expected = start;
    for (const r of list) {
      if (r.offset !== expected) {
        violations.push({
          kind: 'offset-gap',
          topic,
          partition,
          offset: r.offset,
          message: r.offset < expected ? `offset ${r.offset} read more than once in ${k}` : `offsets ${expected}..${r.offset - 1} missing in ${k} (read jumps to ${r.offset})`,
        });
      }
      expected = Math.max(expected, r.offset + 1);
    }
    const hw = input.highWatermarks?.[k];
    if (hw !== undefined && expected < hw) {
      violations.push({ kind: 'short-read', topic, partition, offset: expected, message: `read of ${k} ended at ${expected}, below the high watermark ${hw}` });
    }

    // Membership, duplicates and order per producer.
    const lastSeq = new Map<string, { seq: number; id: string; offset: number }>();
    for (const r of list) {
      const id = idOf(r.value);
      const s = id === null ? undefined : sentById.get(id);
      if (id === null || !s) {
        violations.push({ kind: 'unexpected', topic, partition, offset: r.offset, id: id ?? undefined, message: `${k}@${r.offset} holds "${r.value.slice(0, 80)}", which nobody sent` });
        continue;
      }
      if (key(s.topic, s.partition) !== k) {
        violations.push({ kind: 'unexpected', topic, partition, offset: r.offset, id, message: `${id} was sent to ${key(s.topic, s.partition)} but read from ${k}@${r.offset}` });
        continue;
      }
      let where = seen.get(id);
      if (!where) seen.set(id, (where = { k, offsets: [] }));
      where.offsets.push(r.offset);
      if (where.offsets.length > 1) {
        if (s.mayRetry) retryDuplicates++;
        else
          violations.push({
            kind: 'duplicate',
            topic,
            partition,
            offset: r.offset,
            id,
            message: `${id} appears at ${where.offsets.join(', ')} in ${k} and its producer never retried it`,
          });
        continue; // order is judged on first appearances
      }
      if (s.seq !== undefined) {
        const producer = s.producer ?? '';
        const prev = lastSeq.get(producer);
        if (prev && s.seq < prev.seq) {
          violations.push({
            kind: 'order',
            topic,
            partition,
            offset: r.offset,
            id,
            message: `${k}: producer "${producer}" sent ${id} (seq ${s.seq}) before ${prev.id} (seq ${prev.seq}) but it was read after it (offsets ${prev.offset} < ${r.offset})`,
          });
        }
        if (!prev || s.seq > prev.seq) lastSeq.set(producer, { seq: s.seq, id, offset: r.offset });
      }
    }
  }

  // Every acknowledged record is there, at its acknowledged offset.
  let acked = 0;
  let failed = 0;
  let unacked = 0;
  for (const s of sentById.values()) {
    const where = seen.get(s.id);
    if (s.status === 'acked') acked++;
    else if (s.status === 'failed') failed++;
    else unacked++;
    if (s.status !== 'acked') {
      if (where) unackedPresent++;
      continue;
    }
    if (!where) {
      violations.push({
        kind: 'lost',
        topic: s.topic,
        partition: s.partition,
        id: s.id,
        offset: s.offset,
        message: `${s.id} was acknowledged${s.offset !== undefined ? ` at ${key(s.topic, s.partition)}@${s.offset}` : ''} but is not in ${key(s.topic, s.partition)}`,
      });
    } else if (s.offset !== undefined && !where.offsets.includes(s.offset)) {
      violations.push({
        kind: 'wrong-offset',
        topic: s.topic,
        partition: s.partition,
        id: s.id,
        offset: s.offset,
        message: `${s.id} was acknowledged at ${key(s.topic, s.partition)}@${s.offset} but is at ${where.offsets.join(', ')}`,
      });
    }
  }

  return {
    ok: violations.length === 0,
    violations,
    stats: { sent: input.sent.length, acked, failed, unacked, read: input.read.length, unackedPresent, retryDuplicates },
  };
}

/** A short human summary of a report's violations (the first `max` of them). */
export function describeViolations(report: HistoryReport | ReplicaLogReport, max = 20): string {
  const lines = report.violations.slice(0, max).map((v) => `  ${v.kind}: ${v.message}`);
  if (report.violations.length > max) lines.push(`  ... and ${report.violations.length - max} more`);
  return lines.join('\n');
}

export interface ReplicaBatch {
  baseOffset: number;
  lastOffset: number;
  bytes: Buffer;
}

export interface ReplicaLogReport {
  ok: boolean;
  violations: Array<{ kind: 'missing' | 'differs' | 'torn'; dir: string; offset: number; message: string }>;
  /** Per directory: the batches below the high watermark. */
  batches: Map<string, ReplicaBatch[]>;
  /** The offset from which the replicas were compared (the highest log start among them). */
  comparedFrom: number;
}

/**
 * Reads the RecordBatch v2 batches of one replica directory (its `*.log` segments in offset order), up to
 * the first batch starting at or past `below`. A torn or garbled tail ends the walk; `tornAt` tells where.
 */
export function readReplicaBatches(dir: string, below = Number.MAX_SAFE_INTEGER): { batches: ReplicaBatch[]; tornAt: number | null } {
  const segments = readdirSync(dir)
    .filter((f) => /^\d{20}\.log$/.test(f))
    .sort();
  const batches: ReplicaBatch[] = [];
  for (const seg of segments) {
    const buf = readFileSync(join(dir, seg));
    let pos = 0;
    while (pos < buf.length) {
      if (buf.length - pos < BATCH_OVERHEAD + MIN_BATCH_LENGTH) return { batches, tornAt: readInt64Safe(buf, pos) };
      const baseOffset = readInt64(buf, pos);
      const length = buf.readInt32BE(pos + BATCH_LENGTH_OFFSET);
      const size = BATCH_OVERHEAD + length;
      if (length < MIN_BATCH_LENGTH || pos + size > buf.length) return { batches, tornAt: baseOffset };
      if (baseOffset >= below) return { batches, tornAt: null };
      const lastOffsetDelta = buf.readInt32BE(pos + 23);
      batches.push({ baseOffset, lastOffset: baseOffset + lastOffsetDelta, bytes: buf.subarray(pos, pos + size) });
      pos += size;
    }
  }
  return { batches, tornAt: null };
}

function firstDifference(a: Buffer, b: Buffer): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return n;
}

/** Names the RecordBatch v2 field a byte position falls in, so a report says what differs. */
function fieldAt(pos: number): string {
  if (pos < BATCH_LENGTH_OFFSET) return 'baseOffset';
  if (pos < PARTITION_LEADER_EPOCH_OFFSET) return 'batchLength';
  if (pos < CRC_OFFSET - 1) return 'partitionLeaderEpoch';
  if (pos < CRC_OFFSET) return 'magic';
  if (pos < ATTRIBUTES_OFFSET) return 'crc';
  if (pos < BASE_TIMESTAMP_OFFSET) return 'attributes/lastOffsetDelta';
  if (pos < PRODUCER_ID_OFFSET) return 'timestamps';
  if (pos < RECORDS_OFFSET) return 'producer id/epoch/sequence/count';
  return 'records';
}

function readInt64Safe(buf: Buffer, pos: number): number {
  return buf.length - pos >= 8 ? readInt64(buf, pos) : -1;
}

/**
 * Checks that every replica directory holds the same bytes for every batch below the high watermark
 * (only bytes of offsets at and past the HW are ignored). Replicas are compared from the highest log start
 * among them; the first directory is the reference.
 */
export function compareReplicaLogs(dirs: string[], highWatermark: number): ReplicaLogReport {
  const violations: ReplicaLogReport['violations'] = [];
  const batches = new Map<string, ReplicaBatch[]>();
  const torn = new Map<string, number | null>();
  for (const dir of dirs) {
    const r = readReplicaBatches(dir, highWatermark);
    batches.set(dir, r.batches);
    torn.set(dir, r.tornAt);
  }
  const comparedFrom = Math.max(0, ...dirs.map((d) => batches.get(d)![0]?.baseOffset ?? 0));
  const below = (list: ReplicaBatch[]) => list.filter((b) => b.baseOffset >= comparedFrom);
  const [refDir, ...others] = dirs;
  if (refDir === undefined) return { ok: true, violations, batches, comparedFrom };
  const ref = below(batches.get(refDir)!);
  for (const dir of dirs) {
    const list = below(batches.get(dir)!);
    const end = list.length ? list[list.length - 1]!.lastOffset + 1 : comparedFrom;
    if (end < highWatermark) {
      const t = torn.get(dir);
      violations.push({
        kind: t !== null && t !== undefined ? 'torn' : 'missing',
        dir,
        offset: end,
        message: `${dir} ends at offset ${end}, below the high watermark ${highWatermark}${t !== null && t !== undefined ? ' (torn or garbled batch there)' : ''}`,
      });
    }
  }
  for (const dir of others) {
    const list = below(batches.get(dir)!);
    const n = Math.min(list.length, ref.length);
    for (let i = 0; i < n; i++) {
      const a = ref[i]!;
      const b = list[i]!;
      if (a.baseOffset !== b.baseOffset || !a.bytes.equals(b.bytes)) {
        const at = firstDifference(a.bytes, b.bytes);
        violations.push({
          kind: 'differs',
          dir,
          offset: Math.min(a.baseOffset, b.baseOffset),
          message:
            `${dir} differs from ${refDir} at batch ${i} (base offsets ${b.baseOffset} vs ${a.baseOffset}, ${b.bytes.length} vs ${a.bytes.length} bytes, ` +
            `first difference at byte ${at}: ${fieldAt(at)}; partitionLeaderEpoch ${b.bytes.readInt32BE(PARTITION_LEADER_EPOCH_OFFSET)} vs ${a.bytes.readInt32BE(PARTITION_LEADER_EPOCH_OFFSET)})`,
        });
        break;
      }
    }
  }
  return { ok: violations.length === 0, violations, batches, comparedFrom };
}

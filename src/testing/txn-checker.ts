// The checker for transactional crash tests (KIP-98): given the transactions a workload attempted (its records
// per partition, the offsets it sent to the consumer group, and what it learned of the outcome) and what a
// read_committed consumer read back, it lists every broken promise instead of stopping at the first.
//
// The promises are Kafka's exactly-once ones: a transaction whose commit was acknowledged has every record
// visible to read_committed consumers, one whose abort was acknowledged has none; a transaction whose outcome the
// client never learned (EndTxn in flight when a fault hit, or the producer gave up) is all-or-nothing — and
// when all of it is visible it counts as committed for everything below. Within a partition, records keep the
// order they were produced in (transactions of one transactional id are sequential, the producer idempotent),
// and none appears twice. The group's offsets sent in a transaction (TxnOffsetCommit) move only with it: the
// offset read back at the end is the one the last committed transaction sent, never one sent by a transaction
// that did not commit.
import type { ReadRecord } from './checker.ts';

/** What the client learned: committed (commit acknowledged), aborted (abort acknowledged), unknown (anything else). */
export type TxnOutcome = 'committed' | 'aborted' | 'unknown';

export interface TxnRecordSent {
  /** Unique across the whole run; found in the record value (see TxnHistoryInput.idOf). */
  id: string;
  topic: string;
  partition: number;
}

export interface TxnGroupOffset {
  topic: string;
  partition: number;
  /** The offset committed for the group (the next one to consume); -1 for none. */
  offset: number;
}

export interface AttemptedTxn {
  /** Names the transaction in reports. */
  name: string;
  /** The records it produced, in send order within each partition. */
  records: TxnRecordSent[];
  /** The offsets it sent to the group with sendOffsets (each transaction its own, so an offset names its transaction). */
  offsets?: TxnGroupOffset[];
  outcome: TxnOutcome;
}

export interface TxnHistoryInput {
  /** Every transaction attempted, in the order they were begun (the production order within each partition). */
  transactions: AttemptedTxn[];
  /** What a read_committed consumer read from each partition, up to the last stable offset. */
  read: ReadRecord[];
  /** The group's committed offsets read back at the end (partitions the transactions sent offsets for). */
  groupOffsets?: TxnGroupOffset[];
  /** Extracts the id from a value (default: the whole value); null means "not one of ours". */
  idOf?: (value: string) => string | null;
}

export type TxnViolationKind =
  | 'lost' // a record of an acknowledged-committed transaction is not visible
  | 'aborted-visible' // a record of an acknowledged-aborted transaction is visible
  | 'partial' // a transaction of unknown outcome is partly visible: some of its records, not all
  | 'order' // records of one partition are visible out of production order
  | 'duplicate' // a record is visible more than once
  | 'unexpected' // a visible record nobody sent, or in a partition it was not sent to
  | 'offset-uncommitted' // the group's offset is one a transaction that did not commit sent
  | 'offset-lost' // the group's offset is not the one the last committed transaction sent
  | 'bad-input'; // the history itself is inconsistent

export interface TxnViolation {
  kind: TxnViolationKind;
  /** The transaction concerned, when there is one. */
  txn?: string;
  topic?: string;
  partition?: number;
  id?: string;
  offset?: number;
  message: string;
}

export interface TxnHistoryReport {
  ok: boolean;
  violations: TxnViolation[];
  stats: {
    transactions: number;
    committed: number;
    aborted: number;
    unknown: number;
    /** Unknown-outcome transactions that turned out committed (all records visible) / not (none visible). */
    unknownCommitted: number;
    unknownAborted: number;
    read: number;
  };
}

const key = (topic: string, partition: number) => `${topic}-${partition}`;

interface Placed {
  txn: AttemptedTxn;
  /** Production order within the partition. */
  seq: number;
  rec: TxnRecordSent;
}

/** Checks a transactional history; see TxnHistoryInput and TxnViolationKind. */
export function checkTxnHistory(input: TxnHistoryInput): TxnHistoryReport {
  const idOf = input.idOf ?? ((v: string) => v);
  const violations: TxnViolation[] = [];
  const sentById = new Map<string, Placed>();
  /** Ids sent twice: reported once as bad input, judged nowhere else. */
  const badIds = new Set<string>();
  const seqs = new Map<string, number>();
  for (const txn of input.transactions) {
    for (const rec of txn.records) {
      if (sentById.has(rec.id)) {
        badIds.add(rec.id);
        violations.push({ kind: 'bad-input', txn: txn.name, id: rec.id, message: `id ${rec.id} was sent twice in the history (${sentById.get(rec.id)!.txn.name}, ${txn.name})` });
        continue;
      }
      const k = key(rec.topic, rec.partition);
      const seq = seqs.get(k) ?? 0;
      seqs.set(k, seq + 1);
      sentById.set(rec.id, { txn, seq, rec });
    }
  }

  // Visible records per id, and order and duplicates per partition.
  const seen = new Map<string, number[]>();
  const byPartition = new Map<string, ReadRecord[]>();
  for (const r of input.read) {
    const k = key(r.topic, r.partition);
    let list = byPartition.get(k);
    if (!list) byPartition.set(k, (list = []));
    list.push(r);
  }
  for (const [k, list] of byPartition) {
    list.sort((a, b) => a.offset - b.offset);
    let last: { seq: number; id: string; offset: number } | null = null;
    for (const r of list) {
      const id = idOf(r.value);
      const placed = id === null ? undefined : sentById.get(id);
      if (id === null || !placed) {
        violations.push({ kind: 'unexpected', topic: r.topic, partition: r.partition, offset: r.offset, id: id ?? undefined, message: `${k}@${r.offset} holds "${r.value.slice(0, 80)}", which no transaction sent` });
        continue;
      }
      if (key(placed.rec.topic, placed.rec.partition) !== k) {
        violations.push({ kind: 'unexpected', txn: placed.txn.name, topic: r.topic, partition: r.partition, offset: r.offset, id, message: `${id} was sent to ${key(placed.rec.topic, placed.rec.partition)} but read from ${k}@${r.offset}` });
        continue;
      }
      let offsets = seen.get(id);
      if (!offsets) seen.set(id, (offsets = []));
      offsets.push(r.offset);
      if (offsets.length > 1) {
        violations.push({ kind: 'duplicate', txn: placed.txn.name, topic: r.topic, partition: r.partition, offset: r.offset, id, message: `${id} (${placed.txn.name}) is visible at ${offsets.join(', ')} in ${k}` });
        continue; // order is judged on first appearances
      }
      if (last && placed.seq < last.seq) {
        violations.push({
          kind: 'order',
          txn: placed.txn.name,
          topic: r.topic,
          partition: r.partition,
          offset: r.offset,
          id,
          message: `${k}: ${id} (${placed.txn.name}) was produced before ${last.id} but is visible after it (offsets ${last.offset} < ${r.offset})`,
        });
      }
      if (!last || placed.seq > last.seq) last = { seq: placed.seq, id, offset: r.offset };
    }
  }

  // Each transaction: all, none, or (unknown outcome) either — never part of it.
  const committed = new Set<AttemptedTxn>();
  /** Partly visible: reported as such; their group offsets are not judged again. */
  const partial = new Set<AttemptedTxn>();
  const stats = { transactions: input.transactions.length, committed: 0, aborted: 0, unknown: 0, unknownCommitted: 0, unknownAborted: 0, read: input.read.length };
  for (const txn of input.transactions) {
    const records = txn.records.filter((r) => !badIds.has(r.id));
    const visible = records.filter((r) => seen.has(r.id));
    const missing = records.filter((r) => !seen.has(r.id));
    const list = (rs: TxnRecordSent[]) => rs.slice(0, 5).map((r) => `${r.id}@${key(r.topic, r.partition)}`).join(', ') + (rs.length > 5 ? ` and ${rs.length - 5} more` : '');
    stats[txn.outcome]++;
    if (txn.outcome === 'committed') {
      committed.add(txn);
      for (const r of missing) violations.push({ kind: 'lost', txn: txn.name, topic: r.topic, partition: r.partition, id: r.id, message: `${r.id} of ${txn.name}, whose commit was acknowledged, is not visible in ${key(r.topic, r.partition)}` });
    } else if (txn.outcome === 'aborted') {
      for (const r of visible) violations.push({ kind: 'aborted-visible', txn: txn.name, topic: r.topic, partition: r.partition, id: r.id, offset: seen.get(r.id)![0], message: `${r.id} of ${txn.name}, whose abort was acknowledged, is visible at ${key(r.topic, r.partition)}@${seen.get(r.id)![0]}` });
    } else if (visible.length > 0 && missing.length > 0) {
      partial.add(txn);
      violations.push({ kind: 'partial', txn: txn.name, message: `${txn.name} (outcome unknown) is partly visible: ${list(visible)} visible but ${list(missing)} not` });
    } else if (visible.length > 0) {
      committed.add(txn);
      stats.unknownCommitted++;
    } else {
      stats.unknownAborted++;
    }
  }

  // The group's offsets moved with their transactions only.
  for (const g of input.groupOffsets ?? []) {
    const k = key(g.topic, g.partition);
    const sentFor = input.transactions.flatMap((txn) => (txn.offsets ?? []).filter((o) => key(o.topic, o.partition) === k).map((o) => ({ txn, offset: o.offset })));
    const lastCommitted = sentFor.filter((s) => committed.has(s.txn)).at(-1);
    const expected = lastCommitted?.offset ?? -1;
    if (g.offset === expected || sentFor.some((s) => s.offset === g.offset && partial.has(s.txn))) continue;
    const culprit = sentFor.find((s) => s.offset === g.offset && !committed.has(s.txn));
    if (culprit) {
      violations.push({
        kind: 'offset-uncommitted',
        txn: culprit.txn.name,
        topic: g.topic,
        partition: g.partition,
        offset: g.offset,
        message: `the group's offset of ${k} is ${g.offset}, sent by ${culprit.txn.name} (${culprit.txn.outcome}${culprit.txn.outcome === 'unknown' ? ', none of its records visible' : ''}); the last committed transaction's was ${expected}`,
      });
    } else {
      violations.push({
        kind: 'offset-lost',
        txn: lastCommitted?.txn.name,
        topic: g.topic,
        partition: g.partition,
        offset: g.offset,
        message: `the group's offset of ${k} is ${g.offset}, but the last committed transaction${lastCommitted ? ` (${lastCommitted.txn.name})` : ''} sent ${expected}`,
      });
    }
  }

  return { ok: violations.length === 0, violations, stats };
}

/** A short human summary of a report's violations (the first `max` of them). */
export function describeTxnViolations(report: TxnHistoryReport, max = 20): string {
  const lines = report.violations.slice(0, max).map((v) => `  ${v.kind}: ${v.message}`);
  if (report.violations.length > max) lines.push(`  ... and ${report.violations.length - max} more`);
  return lines.join('\n');
}

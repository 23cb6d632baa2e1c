// The transactional workload and verdict of transaction crash tests (KIP-98): one transactional id, Kastor's own
// producer, a bounded stream of transactions each writing uniquely numbered records to 2-3 partitions and sending
// the consumer group's offset of the "input" it stands for (transaction n consumed input n: offset n + 1, so an
// offset names its transaction); every `abortEvery`-th one is aborted on purpose. As a real application does, a
// failed transaction is aborted and the loop goes on; when even the abort fails (or the producer was fenced, or a
// transaction hangs past its bound) the producer is dropped and a new one with the same transactional id
// initialises — its InitProducerId fences the old one and ends whatever it left open.
//
// The verdict reads everything back with Kastor's read_committed consumer up to the last stable offset (and once at
// read_uncommitted, to count the aborted records that were written and had to be filtered), reads the
// group's committed offset (OffsetFetch with requireStable), and runs the transaction checker on the history.
// Cluster, polling and progress lines come from chaos-workload.ts; coordinator and LSO look-ups from txn-requests.ts.
import { Kafka, type Producer } from '../../src/client/index.ts';
import type { TestCluster } from '../../src/testing/test-cluster.ts';
import type { ReadRecord } from '../../src/testing/checker.ts';
import { checkTxnHistory, describeTxnViolations, type AttemptedTxn, type TxnGroupOffset, type TxnHistoryReport } from '../../src/testing/txn-checker.ts';
import { roundTrip } from '../../src/testing/kafka-request.ts';
import { encodeRequest, decodeResponse } from '../../src/protocol/frames.ts';
import { ApiKey } from '../../src/protocol/generated/api-keys.ts';
import { ErrorCode } from '../../src/protocol/generated/errors.ts';
import { pollUntil } from './chaos-workload.ts';
import { latestOffsets, waitStable } from './txn-requests.ts';

export interface TxnWorkloadOptions {
  topic: string;
  partitions: number;
  transactionalId: string;
  /** The consumer group whose offsets each transaction sends (default `${transactionalId}-group`). */
  groupId?: string;
  /** Records per partition per transaction (default 2). */
  recordsPerPartition?: number;
  /** Every abortEvery-th transaction is aborted on purpose (default 5). */
  abortEvery?: number;
  /** Upper bound on transactions attempted (default 2,000) and on the workload's run time (default 75 s). */
  maxTxns?: number;
  maxMs?: number;
  /** A transaction not ended within this time is given up with its producer (default 20 s). */
  txnBoundMs?: number;
  /** Called the moment a transaction's commit starts (its EndTxn about to go out): where a test injects its fault. */
  onCommitting?: (txn: WorkloadTxn) => void;
}

export interface WorkloadTxn extends AttemptedTxn {
  /** When the client learned the outcome (committed / aborted). */
  endedAt?: number;
}

export interface TxnWorkload {
  readonly transactions: WorkloadTxn[];
  readonly errors: string[];
  /** Producers created (1 + replacements after fatal errors). */
  producers(): number;
  /** Acknowledged commits at or after `since` (ms timestamp; default all). */
  committed(since?: number): number;
  aborted(): number;
  /** Stops after the transaction in flight; resolves when the loop and the dropped producers have ended. */
  stop(): Promise<void>;
  readonly done: Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Rejects with `what` when `p` has not settled within `ms` (p itself keeps running). */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no outcome within ${ms} ms`)), ms)))]).finally(() => clearTimeout(timer));
}

/** Partition sets transactions cycle through: 2 or 3 partitions each. */
function partitionsOf(n: number, partitions: number): number[] {
  const sets = [[0, 1], [1, 2], [0, 2], [0, 1, 2]].map((s) => s.filter((p) => p < partitions));
  return sets[n % sets.length]!;
}

export function clientFor(cluster: TestCluster, clientId: string): Kafka {
  return new Kafka({ bootstrap: cluster.bootstrapServers, clientId, connectTimeoutMs: 1_000, requestTimeoutMs: 5_000, retry: { retries: 8, initialBackoffMs: 50, maxBackoffMs: 500 } });
}

export function startTxnWorkload(cluster: TestCluster, opts: TxnWorkloadOptions): TxnWorkload {
  const kafka = clientFor(cluster, `chaos-${opts.transactionalId}`);
  const group = opts.groupId ?? `${opts.transactionalId}-group`;
  const perPartition = opts.recordsPerPartition ?? 2;
  const abortEvery = opts.abortEvery ?? 5;
  const maxTxns = opts.maxTxns ?? 2_000;
  const deadline = Date.now() + (opts.maxMs ?? 75_000);
  const bound = opts.txnBoundMs ?? 20_000;
  const transactions: WorkloadTxn[] = [];
  const errors: string[] = [];
  const retired: Promise<void>[] = [];
  let stopped = false;
  let created = 0;

  const newProducer = (): Producer => {
    created++;
    return kafka.producer({ transactionalId: opts.transactionalId, transactionTimeoutMs: 10_000, deliveryTimeoutMs: 15_000, retry: { retries: 10, initialBackoffMs: 50, maxBackoffMs: 500 } });
  };
  /** Drops a producer without waiting on it: a close that flushes may hang on a dead broker, so its connections go after 2 s. */
  const retire = (p: Producer) => retired.push(within(p.close(), 2_000, 'close').catch(() => p.cluster.close()).catch(() => {}));

  /** A producer whose initTransactions succeeded, retrying (with new producers) until the workload's deadline. */
  const initialised = async (): Promise<Producer | null> => {
    for (let attempt = 1; !stopped && Date.now() < deadline; attempt++) {
      const p = newProducer();
      try {
        await within(p.initTransactions(), bound, 'initTransactions');
        return p;
      } catch (err) {
        errors.push(`initTransactions (attempt ${attempt}): ${(err as Error).message}`);
        retire(p);
        await sleep(Math.min(1_000, 100 * attempt));
      }
    }
    return null;
  };

  const runOne = async (producer: Producer, txn: WorkloadTxn, abort: boolean) => {
    producer.beginTransaction();
    const byPartition = new Map<number, string[]>();
    for (const r of txn.records) byPartition.set(r.partition, [...(byPartition.get(r.partition) ?? []), r.id]);
    await Promise.all([...byPartition].map(([partition, ids]) => producer.send({ topic: opts.topic, messages: ids.map((value) => ({ value, partition })) })));
    await producer.sendOffsets(group, txn.offsets!.map((o) => ({ topic: o.topic, partition: o.partition, offset: BigInt(o.offset) })));
    if (abort) await producer.abortTransaction();
    else {
      const committing = producer.commitTransaction();
      opts.onCommitting?.(txn);
      await committing;
    }
    txn.outcome = abort ? 'aborted' : 'committed';
    txn.endedAt = Date.now();
  };

  const loop = async () => {
    let producer = await initialised();
    for (let n = 0; producer && !stopped && n < maxTxns && Date.now() < deadline; n++) {
      const name = `tx${n}`;
      const txn: WorkloadTxn = {
        name,
        outcome: 'unknown',
        records: partitionsOf(n, opts.partitions).flatMap((partition) => Array.from({ length: perPartition }, (_, i) => ({ id: `${opts.transactionalId}-${n}-${partition}-${i}`, topic: opts.topic, partition }))),
        offsets: [{ topic: opts.topic, partition: 0, offset: n + 1 }],
      };
      transactions.push(txn);
      const abort = n % abortEvery === abortEvery - 1;
      const began = Date.now();
      try {
        await within(runOne(producer, txn, abort), bound, name);
        continue;
      } catch (err) {
        errors.push(`${name} (after ${Date.now() - began} ms): ${(err as Error).message}`);
      }
      // An abortable error: abort and go on with the same producer. Anything worse: a new producer.
      try {
        await within(producer.abortTransaction(), bound, `${name} abort`);
        txn.outcome = 'aborted';
        txn.endedAt = Date.now();
      } catch (err) {
        errors.push(`${name} abort: ${(err as Error).message}`);
        retire(producer);
        producer = await initialised();
      }
    }
    if (producer) retire(producer);
    await Promise.all(retired);
  };
  const done = loop();
  return {
    transactions,
    errors,
    producers: () => created,
    committed: (since = 0) => transactions.filter((t) => t.outcome === 'committed' && t.endedAt! >= since).length,
    aborted: () => transactions.filter((t) => t.outcome === 'aborted').length,
    done,
    async stop() {
      stopped = true;
      await done;
    },
  };
}

/** Everything a consumer (Kastor's, read_committed by default) reads from the partitions until its position reaches `ends`. */
export async function readUpTo(kafka: Kafka, topic: string, ends: number[], timeoutMs = 30_000, isolationLevel: 'read_committed' | 'read_uncommitted' = 'read_committed'): Promise<ReadRecord[]> {
  const consumer = kafka.consumer({ maxWaitMs: 100, isolationLevel });
  consumer.assign(ends.map((_, partition) => ({ topic, partition, offset: 'earliest' as const })));
  const read: ReadRecord[] = [];
  const reading = (async () => {
    for await (const batch of consumer) for (const r of batch.records) read.push({ topic, partition: batch.partition, offset: Number(r.offset), value: r.value?.toString() ?? '' });
  })();
  try {
    await pollUntil(
      () => `the ${isolationLevel} consumer to reach ${ends} (positions ${consumer.positions().map((p) => p.offset)})`,
      () => ends.every((end, partition) => Number(consumer.position({ topic, partition }) ?? -1n) >= end),
      timeoutMs,
    );
  } finally {
    await consumer.close();
    await reading;
  }
  return read;
}

/** The group's committed offsets (OffsetFetch v7, requireStable) at its coordinator; -1 where none. */
export async function groupOffsets(cluster: TestCluster, groupId: string, topic: string, partitions: number[], timeoutMs = 20_000): Promise<TxnGroupOffset[]> {
  let out: TxnGroupOffset[] = [];
  let last = '';
  let correlation = 1;
  const call = async <K extends number>(broker: number, apiKey: K, version: number, body: Parameters<typeof encodeRequest<K>>[4]) =>
    decodeResponse(apiKey, version, await roundTrip(cluster.addressOf(broker), apiKey, encodeRequest(apiKey, version, correlation++, 'chaos-txn-check', body), 5_000)).body;
  await pollUntil(
    () => `the committed offsets of group ${groupId} (last: ${last})`,
    async () => {
      try {
        const found = await call(cluster.liveBrokers()[0]!, ApiKey.FindCoordinator, 1, { key: groupId, keyType: 0 });
        if (found.errorCode !== ErrorCode.NONE) return (last = `FindCoordinator error ${found.errorCode}`), false;
        const r = await call(found.nodeId!, ApiKey.OffsetFetch, 7, { groupId, topics: [{ name: topic, partitionIndexes: partitions }], requireStable: true });
        const answers = r.topics!.find((t) => t.name === topic)?.partitions ?? [];
        const codes = [r.errorCode ?? 0, ...answers.map((p) => p.errorCode)].filter((c) => c !== ErrorCode.NONE);
        if (codes.length > 0) return (last = `OffsetFetch errors ${codes}`), false;
        out = partitions.map((partition) => ({ topic, partition, offset: Number(answers.find((p) => p.partitionIndex === partition)?.committedOffset ?? -1n) }));
        return true;
      } catch (err) {
        last = (err as Error).message;
        return false;
      }
    },
    timeoutMs,
  );
  return out;
}

export interface TxnVerdict {
  report: TxnHistoryReport;
  /** Records of acknowledged-aborted transactions a read_uncommitted consumer reads: what read_committed filtered. */
  abortedWritten: number;
  /** The ids read at read_committed. */
  read: Set<string>;
  ends: number[];
  groupOffsets: TxnGroupOffset[];
}

/**
 * Once every broker is back and in sync and no transaction is open, reads the topic at read_committed up to the
 * last stable offset and the group's offsets, and runs the transaction checker. Throws one error listing every
 * violation (and the tail of every broker's log) when anything is wrong.
 */
export async function verifyTxns(cluster: TestCluster, w: TxnWorkload, opts: { topic: string; partitions: number; groupId: string }, timeoutMs = 30_000): Promise<TxnVerdict> {
  const parts = Array.from({ length: opts.partitions }, (_, p) => p);
  await cluster.waitForInSync(opts.topic, { timeoutMs });
  await waitStable(cluster, opts.topic, parts, timeoutMs);
  const ends = await latestOffsets(cluster, opts.topic, parts, true);
  const kafka = clientFor(cluster, 'chaos-txn-check');
  const read = await readUpTo(kafka, opts.topic, ends, timeoutMs);
  const aborted = new Set(w.transactions.filter((t) => t.outcome === 'aborted').flatMap((t) => t.records.map((r) => r.id)));
  const abortedWritten = (await readUpTo(kafka, opts.topic, ends, timeoutMs, 'read_uncommitted')).filter((r) => aborted.has(r.value)).length;
  const offsets = await groupOffsets(cluster, opts.groupId, opts.topic, [0], timeoutMs);
  const report = checkTxnHistory({ transactions: w.transactions, read, groupOffsets: offsets });
  if (!report.ok) {
    const logs = cluster.brokers.map((id) => `--- broker ${id} (last lines)\n${cluster.logs(id).slice(-20).join('\n')}`).join('\n');
    const unknown = w.transactions.filter((t) => t.outcome === 'unknown').map((t) => t.name);
    throw new Error(
      `transaction history of ${opts.topic} (${JSON.stringify(report.stats)}; read_committed ends ${ends}; group offsets ${JSON.stringify(offsets)}; unknown outcomes ${unknown.join(' ')}):\n` +
        `${describeTxnViolations(report)}\nlast workload errors:\n  ${w.errors.slice(-10).join('\n  ')}\n${logs}`,
    );
  }
  return { report, abortedWritten, read: new Set(read.map((r) => r.value)), ends, groupOffsets: offsets };
}

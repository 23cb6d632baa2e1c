// A transactional producer spelled out as raw Kafka requests (KIP-98), for crash tests that must act between two
// protocol steps — kill the coordinator the moment EndTxn is answered, or abandon a transaction half-way — which
// a client library hides. Each step is one request over a fresh loopback socket (src/testing's roundTrip), to
// the broker the test names; `coordinatorOf` finds the transaction coordinator by FindCoordinator key type 1.
// Also: the last stable offset of partitions (ListOffsets at read_committed) and a read_committed read by kcat
// (librdkafka filters aborted transactions, as every real consumer does).
import { ApiKey } from '../../src/protocol/generated/api-keys.ts';
import { ErrorCode } from '../../src/protocol/generated/errors.ts';
import { encodeRequest, decodeResponse } from '../../src/protocol/frames.ts';
import { buildRecordBatch } from '../../src/protocol/record-batch.ts';
import { roundTrip } from '../../src/testing/kafka-request.ts';
import type { TestCluster } from '../../src/testing/index.ts';
import { run } from './single-broker.ts';
import { until } from './until.ts';

/** until() with a description computed when it fails, so it can say what was seen last (a throwing `pred` fails at once). */
async function waitFor(what: () => string, pred: () => Promise<boolean>, timeoutMs: number, pollMs: number): Promise<void> {
  let timedOut = false;
  await until('', pred, timeoutMs, pollMs).catch((err: Error) => {
    if (!err.message.startsWith('timed out after')) throw err;
    timedOut = true;
  });
  if (timedOut) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what()}`);
}

const CLIENT = 'kastor-txn-crash';
let correlation = 1;

async function call<K extends number>(cluster: TestCluster, broker: number, apiKey: K, version: number, body: Parameters<typeof encodeRequest<K>>[4], timeoutMs = 10_000) {
  const frame = await roundTrip(cluster.addressOf(broker), apiKey, encodeRequest(apiKey, version, correlation++, CLIENT, body), timeoutMs);
  return decodeResponse(apiKey, version, frame).body;
}

/** FindCoordinator v1, key type 1 (transaction), asked of the live brokers in turn until one names a coordinator. */
export async function coordinatorOf(cluster: TestCluster, transactionalId: string, timeoutMs = 20_000): Promise<number> {
  let found = -1;
  let last = '';
  await waitFor(
    () => `the transaction coordinator of ${transactionalId} (last answer: ${last})`,
    async () => {
      for (const b of cluster.liveBrokers()) {
        try {
          const r = await call(cluster, b, ApiKey.FindCoordinator, 1, { key: transactionalId, keyType: 1 }, 8_000);
          last = `error ${r.errorCode} ${r.errorMessage ?? ''} node ${r.nodeId}`;
          if (r.errorCode === ErrorCode.NONE && cluster.liveBrokers().includes(r.nodeId!)) {
            found = r.nodeId!;
            return true;
          }
        } catch (err) {
          last = (err as Error).message;
        }
      }
      return false;
    },
    timeoutMs,
    100,
  );
  return found;
}

export interface RawProducer {
  transactionalId: string;
  producerId: bigint;
  producerEpoch: number;
  /** Next sequence per "topic-partition". */
  sequences: Map<string, number>;
}

/** InitProducerId v1 at the coordinator, retried (CONCURRENT_TRANSACTIONS, NOT_COORDINATOR, a dead coordinator). */
export async function initTransactions(cluster: TestCluster, transactionalId: string, transactionTimeoutMs: number, timeoutMs = 20_000): Promise<RawProducer> {
  let out: RawProducer | null = null;
  let last = '';
  await waitFor(
    () => `InitProducerId for ${transactionalId} (last: ${last})`,
    async () => {
      const at = await coordinatorOf(cluster, transactionalId);
      try {
        const r = await call(cluster, at, ApiKey.InitProducerId, 1, { transactionalId, transactionTimeoutMs });
        last = `error ${r.errorCode} from ${at}`;
        if (r.errorCode !== ErrorCode.NONE) return false;
        out = { transactionalId, producerId: r.producerId, producerEpoch: r.producerEpoch, sequences: new Map() };
        return true;
      } catch (err) {
        last = (err as Error).message;
        return false;
      }
    },
    timeoutMs,
    100,
  );
  return out!;
}

/** AddPartitionsToTxn v1 at broker `at`: the error code of each partition (one code when all agree). */
export async function addPartitions(cluster: TestCluster, at: number, p: RawProducer, topic: string, partitions: number[]): Promise<number[]> {
  const r = await call(cluster, at, ApiKey.AddPartitionsToTxn, 1, {
    v3AndBelowTransactionalId: p.transactionalId,
    v3AndBelowProducerId: p.producerId,
    v3AndBelowProducerEpoch: p.producerEpoch,
    v3AndBelowTopics: [{ name: topic, partitions }],
  });
  return r.resultsByTopicV3AndBelow.flatMap((t) => t.resultsByPartition.map((x) => x.partitionErrorCode));
}

/**
 * One transactional batch (Produce v7, acks=all) to the partition's current leader, retried while the leader
 * moves or its KIP-890 verification with the coordinator asks for a retry (NOT_ENOUGH_REPLICAS); resolves with
 * the base offset. Any other error fails.
 */
export async function sendTransactional(cluster: TestCluster, p: RawProducer, topic: string, partition: number, values: string[], timeoutMs = 20_000): Promise<number> {
  const key = `${topic}-${partition}`;
  const baseSequence = p.sequences.get(key) ?? 0;
  const records = buildRecordBatch({ records: values.map((value) => ({ value })), producerId: Number(p.producerId), producerEpoch: p.producerEpoch, baseSequence, isTransactional: true, timestamp: Date.now() });
  const retriable: number[] = [ErrorCode.NOT_ENOUGH_REPLICAS, ErrorCode.NOT_LEADER_OR_FOLLOWER, ErrorCode.LEADER_NOT_AVAILABLE, ErrorCode.REQUEST_TIMED_OUT, ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND];
  let baseOffset = -1;
  let last = '';
  await waitFor(
    () => `a transactional batch on ${key} (last: ${last})`,
    async () => {
      const leader = cluster.metadata().topics[topic]?.partitions[partition]?.leader ?? -1;
      if (leader < 0 || !cluster.liveBrokers().includes(leader)) return false;
      const r = await call(cluster, leader, ApiKey.Produce, 7, {
        transactionalId: p.transactionalId,
        acks: -1,
        timeoutMs: 5_000,
        topicData: [{ name: topic, partitionData: [{ index: partition, records }] }],
      }).catch((err: Error) => err);
      if (r instanceof Error) {
        last = r.message;
        return false;
      }
      const answer = r.responses[0]!.partitionResponses[0]!;
      last = `error ${answer.errorCode} from ${leader}`;
      if (answer.errorCode === ErrorCode.NONE || answer.errorCode === ErrorCode.DUPLICATE_SEQUENCE_NUMBER) {
        baseOffset = Number(answer.baseOffset);
        return true;
      }
      if (!retriable.includes(answer.errorCode)) throw new Error(`Produce of a transactional batch on ${key} failed: error ${answer.errorCode}`);
      return false;
    },
    timeoutMs,
    100,
  );
  p.sequences.set(key, baseSequence + values.length);
  return baseOffset;
}

/** EndTxn v1 at broker `at`: its error code. */
export async function endTxn(cluster: TestCluster, at: number, p: RawProducer, commit: boolean): Promise<number> {
  const r = await call(cluster, at, ApiKey.EndTxn, 1, { transactionalId: p.transactionalId, producerId: p.producerId, producerEpoch: p.producerEpoch, committed: commit });
  return r.errorCode;
}

/** ListOffsets v2 latest at the partitions' leaders: the high watermark (read_uncommitted) or the last stable offset (read_committed). */
export async function latestOffsets(cluster: TestCluster, topic: string, partitions: number[], readCommitted: boolean): Promise<number[]> {
  return Promise.all(
    partitions.map(async (partition) => {
      const leader = cluster.metadata().topics[topic]?.partitions[partition]?.leader ?? -1;
      if (leader < 0 || !cluster.liveBrokers().includes(leader)) return -1;
      const r = await call(cluster, leader, ApiKey.ListOffsets, 2, {
        replicaId: -1,
        isolationLevel: readCommitted ? 1 : 0,
        topics: [{ name: topic, partitions: [{ partitionIndex: partition, timestamp: -1n }] }],
      }).catch(() => null);
      const answer = r?.topics[0]?.partitions[0];
      return answer && answer.errorCode === ErrorCode.NONE ? Number(answer.offset) : -1;
    }),
  );
}

/** Waits until no transaction is open on the partitions: the last stable offset equals the high watermark on each. */
export async function waitStable(cluster: TestCluster, topic: string, partitions: number[], timeoutMs: number): Promise<void> {
  let seen = '';
  await waitFor(
    () => `the last stable offset to reach the high watermark on ${topic} ${partitions} (LSO/HW: ${seen})`,
    async () => {
      const [lso, hw] = await Promise.all([latestOffsets(cluster, topic, partitions, true), latestOffsets(cluster, topic, partitions, false)]);
      seen = partitions.map((_, i) => `${lso[i]}/${hw[i]}`).join(' ');
      return partitions.every((_, i) => lso[i]! >= 0 && lso[i] === hw[i]);
    },
    timeoutMs,
    100,
  );
}

/** Every record kcat reads at read_committed from the topic's partitions, as "partition:value", until each partition's end. */
export async function readCommittedKcat(cluster: TestCluster, topic: string): Promise<string[]> {
  const { stdout } = await run('kcat', ['-C', '-b', cluster.bootstrapServers, '-t', topic, '-o', 'beginning', '-e', '-q', '-X', 'isolation.level=read_committed', '-f', '%p:%s\n'], { timeoutMs: 30_000 });
  return stdout.split('\n').filter((l) => l.length > 0);
}

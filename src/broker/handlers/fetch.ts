// Fetch for consumers: whole batches from the leader's log, below the high watermark, honouring max_bytes,
// partition_max_bytes, min_bytes and max_wait_ms. A fetch that finds fewer than min_bytes waits (long poll)
// and is answered as soon as any of its partitions gets new data, at max_wait_ms at the latest, or at once
// when the client disconnects. The first partition with data always gets at least one whole batch, even past
// max_bytes (KIP-74), so a batch larger than the limits never blocks a consumer.
// Versions 0-3 cannot carry RecordBatch v2: their batches are down-converted to the message format the version
// implies (v0 for Fetch v0-v1, v1 for v2-v3; message-set-convert.ts), as Kafka 3.9 does, within the same limits.
// Fetch from follower (KIP-392): a consumer's Fetch v11+ may be served by a follower, below the follower's own high
// watermark; with replica.selector.class set, a leader answers a consumer in another rack than its own with
// preferred_read_replica = an in-sync follower in the consumer's rack, and no records (replica-selector.ts).
// isolation_level 1 (read_committed, KIP-98) reads below the last stable offset only and is answered the aborted
// transactions among the records returned; every answer carries the real last stable offset (the high watermark
// on a partition with no open transaction).
// v13 addresses topics by id (KIP-516). Fetch sessions (KIP-227, fetch-sessions.ts): a client that opens one
// sends only what changed afterwards and is answered only the partitions with news.
import type { FetchRequest, FetchResponse } from '../../protocol/generated/fetch.ts';
import { ErrorCode } from '../../protocol/generated/errors.ts';
import type { BrokerServices } from '../broker-services.ts';
import { errorCodeOf, KafkaError } from '../kafka-error.ts';
import { localReplica } from './local-replica.ts';
import { countRecords } from '../../metrics/batch-counts.ts';
import type { ConnectionInfo } from '../request-handler.ts';
import { recordBatchesToMessageSet } from '../../protocol/message-set-convert.ts';
import { RecordBatchError } from '../../protocol/record-batch-errors.ts';
import { preferredReadReplica } from '../replica-selector.ts';
import type { PartitionReplica } from '../partition-replica.ts';
import type { AbortedTxn } from '../../log/txn-index.ts';
import type { ClusterSnapshot } from '../../metadata/types.ts';
import { offsetsMoved, type FetchContext, type SessionPartition } from '../fetch-sessions.ts';

const ZERO_UUID = '0'.repeat(32);
const EMPTY = Buffer.alloc(0);
/** Shared by every answer without aborted transactions (the encoder only reads it). */
const NO_ABORTED: Array<{ producerId: bigint; firstOffset: bigint }> = [];

interface Target {
  topic: string | null; // null: unknown topic id
  topicId: string;
  partition: number;
  fetchOffset: number;
  partitionMaxBytes: number;
  currentLeaderEpoch: number;
  /** Read no more (an incremental session's partition the principal may no longer Read). */
  denied?: boolean;
}

interface PartitionResult {
  partitionIndex: number;
  errorCode: number;
  highWatermark: bigint;
  lastStableOffset: bigint;
  logStartOffset: bigint;
  // divergingEpoch, currentLeader and snapshotId (v12+ tagged fields) are left out: a consumer's answer always
  // has their defaults, and the encoder compares every one given with its default (a fifth of a wide fetch's cost).
  abortedTransactions: Array<{ producerId: bigint; firstOffset: bigint }> | null;
  preferredReadReplica: number;
  records: Buffer | null;
}

/** The message format a Fetch version reads: 0 and 1 for the versions before RecordBatch v2 (Fetch v4). */
function messageFormatOf(apiVersion: number): 0 | 1 | 2 {
  return apiVersion < 2 ? 0 : apiVersion < 4 ? 1 : 2;
}

/** Log bytes as the fetch's message format carries them, within maxBytes past the first batch (down-conversion). */
function inFormat(data: Buffer, format: 0 | 1 | 2, fetchOffset: number, maxBytes: number): Buffer {
  if (format === 2 || data.length === 0) return data;
  try {
    return recordBatchesToMessageSet(data, format, fetchOffset, maxBytes);
  } catch (err) {
    if (err instanceof RecordBatchError) throw new KafkaError(err.errorCode, err.message, { fetchOffset }, { cause: err });
    throw err;
  }
}

/** What a Fetch says about who asks (KIP-392): a consumer's v11+ may read from followers, and carries its rack. */
interface Reader {
  fromFollower: boolean;
  /** isolation_level 1 (Fetch v4+). */
  readCommitted: boolean;
  /** The client's rack when the leader may name a preferred read replica; null: read here. */
  clientRack: string | null;
}

/** The follower the leader sends this consumer to (KIP-392), or -1 to read here. */
function readReplicaFor(svc: BrokerServices, replica: PartitionReplica, reader: Reader, fetchOffset: number): number {
  if (reader.clientRack === null || replica.role !== 'leader') return -1;
  const brokers = svc.metadata.snapshot().brokers;
  return preferredReadReplica({
    leaderId: svc.brokerId,
    clientRack: reader.clientRack,
    fetchOffset,
    isr: replica.isr,
    followers: replica.followerStates(),
    rackOf: (id) => brokers[id]?.rack,
    now: svc.clock.monotonic(),
  });
}

async function readOnce(svc: BrokerServices, targets: Target[], maxBytes: number, format: 0 | 1 | 2, reader: Reader): Promise<{ results: PartitionResult[]; bytes: number; counts: number[] }> {
  let budget = maxBytes;
  let bytes = 0;
  const results: PartitionResult[] = [];
  const counts: number[] = [];
  for (const t of targets) {
    let errorCode: number = ErrorCode.NONE;
    let records: Buffer | null = null;
    let count = 0;
    let highWatermark = -1;
    let lastStableOffset = -1;
    let logStartOffset = -1;
    let preferred = -1;
    let aborted: readonly AbortedTxn[] = [];
    try {
      if (t.topic === null) throw new KafkaError(ErrorCode.UNKNOWN_TOPIC_ID, `unknown topic id ${t.topicId}`);
      if (t.denied) throw new KafkaError(ErrorCode.TOPIC_AUTHORIZATION_FAILED, `not authorized to read topic ${t.topic}`);
      const replica = localReplica(svc, t.topic, t.partition, t.currentLeaderEpoch);
      // Each partition reads up to the smaller of its own limit and what is left of the response's max_bytes;
      // only the first batch of the response may exceed them (KIP-74), so a large batch never blocks a consumer
      // and the response stays within max_bytes otherwise (a 1 MB fetch.max.bytes with 20 MB
      // max.partition.fetch.bytes gets about 1 MB, not 20).
      const limit = Math.min(t.partitionMaxBytes, budget);
      preferred = readReplicaFor(svc, replica, reader, t.fetchOffset);
      if (preferred >= 0) {
        // Kafka skips the read and answers the leader's offsets with the replica to go to.
        const log = replica.leaderLog();
        highWatermark = log.highWatermark;
        lastStableOffset = replica.lastStableOffset(log);
        logStartOffset = log.logStartOffset;
      } else if (limit > 0 || bytes === 0) {
        const read = replica.fetch(t.fetchOffset, Math.max(limit, 1), reader.fromFollower, reader.readCommitted, bytes === 0);
        const r = read instanceof Promise ? await read : read;
        highWatermark = r.highWatermark;
        lastStableOffset = r.lastStableOffset;
        logStartOffset = r.logStartOffset;
        const data = inFormat(r.data, format, t.fetchOffset, Math.max(limit, 1));
        if (data.length > 0 && (bytes === 0 || data.length <= budget)) {
          records = data;
          aborted = r.abortedTransactions;
          count = countRecords(r.data);
          bytes += data.length;
          budget = Math.max(0, budget - data.length);
        }
      } else {
        const log = replica.log;
        highWatermark = log?.highWatermark ?? -1;
        lastStableOffset = log ? replica.lastStableOffset(log) : -1;
        logStartOffset = log?.logStartOffset ?? -1;
      }
    } catch (err) {
      errorCode = errorCodeOf(err);
      if (!(err instanceof KafkaError)) svc.logger.error('fetch failed', { topic: t.topic, partition: t.partition, error: err as Error });
    }
    results.push({
      partitionIndex: t.partition,
      errorCode,
      highWatermark: BigInt(highWatermark),
      lastStableOffset: BigInt(lastStableOffset),
      logStartOffset: BigInt(logStartOffset),
      abortedTransactions: aborted.length === 0 ? NO_ABORTED : aborted.map((a) => ({ producerId: BigInt(a.producerId), firstOffset: BigInt(a.firstOffset) })),
      preferredReadReplica: preferred,
      records: records ?? EMPTY,
    });
    counts.push(count);
  }
  return { results, bytes, counts };
}

export async function fetch(svc: BrokerServices, req: FetchRequest, apiVersion: number, conn: ConnectionInfo): Promise<FetchResponse> {
  const snapshot = svc.metadata.snapshot();
  const byId = new Map(Object.values(snapshot.topics).map((t) => [t.id, t.name]));
  const byTopicId = apiVersion >= 13;
  const requested: SessionPartition[] = [];
  for (const ft of req.topics) {
    const topic = byTopicId ? '' : (ft.topic ?? '');
    const topicId = byTopicId ? (ft.topicId ?? ZERO_UUID) : (snapshot.topics[topic]?.id ?? ZERO_UUID);
    for (const p of ft.partitions) {
      requested.push({ topic, topicId, partition: p.partition, fetchOffset: Number(p.fetchOffset), partitionMaxBytes: p.partitionMaxBytes, currentLeaderEpoch: p.currentLeaderEpoch ?? -1 });
    }
  }
  const ctx = sessionContext(svc, req, apiVersion, conn, requested, snapshot);
  if (ctx.kind === 'error') return { throttleTimeMs: 0, errorCode: ctx.errorCode, sessionId: 0, responses: [], nodeEndpoints: [] } as FetchResponse;
  // A fetch in a session reads every partition of it, in the session's order (a full one: the request's).
  const sessionParts = ctx.session ? [...ctx.session.partitions.values()] : requested;
  const targets: Target[] = sessionParts.map((p) => ({ ...p, topic: byTopicId ? (byId.get(p.topicId) ?? null) : p.topic }));
  // The authorization gate checked the partitions the request names; a session's others were checked when they
  // joined it, and are checked again here, as Kafka authorizes every fetch (ACLs may have changed since).
  const authz = svc.authorizer;
  if (ctx.kind === 'incremental' && authz) for (const t of targets) t.denied = t.topic !== null && !authz.allowed(conn, 'Fetch', 'Read', 'Topic', t.topic, true);
  const maxBytes = req.maxBytes ?? 0x7fffffff;
  const minBytes = Math.max(0, req.minBytes);
  const deadline = svc.clock.wall() + Math.max(0, req.maxWaitMs);

  const format = messageFormatOf(apiVersion);
  // Kafka's FetchParams: a consumer's Fetch v11+ carries client metadata, which lets followers serve it.
  const consumerV11 = apiVersion >= 11 && req.replicaId < 0;
  const reader: Reader = {
    fromFollower: consumerV11,
    readCommitted: (req.isolationLevel ?? 0) === 1,
    clientRack: consumerV11 && svc.config.replicaSelector !== null ? (req.rackId ?? '') : null,
  };
  let outcome = await readOnce(svc, targets, maxBytes, format, reader);
  // Errors and preferred read replicas are answered at once: the client must learn of them (a moved leader,
  // say) without waiting. In an incremental session, so is any other news (a new high watermark).
  const answerNow = () => outcome.results.some((r, k) => r.errorCode !== ErrorCode.NONE || r.preferredReadReplica >= 0 || (ctx.kind === 'incremental' && offsetsMoved(sessionParts[k]!, r)));
  while (outcome.bytes < minBytes && svc.clock.wall() < deadline && !conn.closed && !answerNow()) {
    await waitForData(svc, targets, deadline - svc.clock.wall(), conn);
    outcome = await readOnce(svc, targets, maxBytes, format, reader);
  }

  for (const [k, r] of outcome.results.entries()) {
    const topic = targets[k]!.topic;
    // Records as read from the log (a down-converted answer counts the batches it was made of).
    if (topic !== null && r.records && r.records.length > 0) svc.metrics.fetched(topic, r.records.length, outcome.counts[k]!);
  }
  // The answer's topics in the order their partitions come, consecutive partitions of one topic together.
  const responses: Array<{ topic: string; topicId: string; partitions: PartitionResult[] }> = [];
  const session = ctx.session;
  for (const [k, r] of outcome.results.entries()) {
    const p = sessionParts[k]!;
    if (session && !session.answer(p, r, ctx.kind === 'incremental')) continue;
    const last = responses[responses.length - 1];
    if (last && last.topic === p.topic && last.topicId === p.topicId) last.partitions.push(r);
    else responses.push({ topic: p.topic, topicId: p.topicId, partitions: [r] });
  }
  return { throttleTimeMs: 0, errorCode: ErrorCode.NONE, sessionId: session?.id ?? 0, responses, nodeEndpoints: [] } as FetchResponse;
}

/** The fetch session a request opens, continues or closes (v7+; older versions are sessionless). */
function sessionContext(svc: BrokerServices, req: FetchRequest, apiVersion: number, conn: ConnectionInfo, requested: SessionPartition[], snapshot: ClusterSnapshot): FetchContext {
  if (apiVersion < 7 || !svc.fetchSessions || req.replicaId >= 0) return { kind: 'full', session: null };
  const byTopicId = apiVersion >= 13;
  const forgotten = (req.forgottenTopicsData ?? []).flatMap((f) =>
    f.partitions.map((partition) => (byTopicId ? { topic: '', topicId: f.topicId ?? ZERO_UUID, partition } : { topic: f.topic ?? '', topicId: snapshot.topics[f.topic ?? '']?.id ?? ZERO_UUID, partition })),
  );
  return svc.fetchSessions.context({ sessionId: req.sessionId ?? 0, epoch: req.sessionEpoch ?? -1, byTopicId, connectionId: conn.id, requested, forgotten });
}


/** Resolves when any target partition may have new data, the wait runs out, or the client has gone. */
function waitForData(svc: BrokerServices, targets: Target[], waitMs: number, conn: ConnectionInfo): Promise<void> {
  return new Promise((resolve) => {
    const cancels: Array<() => void> = [];
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      svc.clock.clearTimeout(timer);
      svc.clock.clearInterval(watchdog);
      for (const c of cancels) c();
      resolve();
    };
    const timer = svc.clock.setTimeout(finish, Math.max(0, waitMs));
    // A closed connection has no 'event' here; check it cheaply while waiting.
    const watchdog = svc.clock.setInterval(() => conn.closed && finish(), 200);
    for (const t of targets) {
      const replica = t.topic === null ? undefined : svc.registry.get(t.topic, t.partition);
      if (replica) cancels.push(replica.onceData(finish));
    }
  });
}

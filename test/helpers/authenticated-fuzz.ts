// A seeded fuzzer of what an authenticated client can send: the same seed gives the same sessions with the same
// bytes. Each session logs in (PLAIN or SCRAM, as one of the target's users: the login itself is done by the
// caller) and then sends a run of request frames, each taken from real requests — the frames captured from kcat,
// KafkaJS and kafka-python (test/fixtures/frames) and requests of a score of other APIs as Kafka's clients send
// them — and possibly mutated by the SASL fuzzer's mutations (sasl-fuzz.ts: bytes flipped, truncated, an absurd
// size prefix, a random API key or version, random bytes, garbage appended, a lying client id length), with the
// frame boundaries kept: a frame ends where its size prefix says, or has a size the broker must refuse. After the
// run comes an intact sentinel request (`SENTINEL_CORRELATION_ID`), so the caller can tell that every frame before
// it was taken up: the broker answers in order, so the sentinel's answer means every earlier frame was answered
// (or was a Produce with acks=0, which Kafka never answers); otherwise the broker must have closed the connection.
// The bytes are split at random points as TCP may deliver them.
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { encodeRequest } from '../../src/protocol/frames.ts';
import { ApiKey } from '../../src/protocol/generated/api-keys.ts';
import { buildRecordBatch } from '../../src/protocol/record-batch-builder.ts';
import { mulberry32 } from './seeded-random.ts';
import { mutate, rawFrame, splitAsTcpMay, type Rand } from './sasl-fuzz.ts';

export const SENTINEL_CORRELATION_ID = 0x7ffffff0;

export interface AuthenticatedFuzzTarget {
  /** Who may log in: a session picks one and one of its mechanisms. */
  users: ReadonlyArray<{ user: string; password: string; mechanisms: ReadonlyArray<'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512'> }>;
  /** The topic the requests name (the captured frames name "golden"). */
  topic: string;
}

export interface AuthenticatedFuzzSession {
  user: string;
  password: string;
  mechanism: 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512';
  /** The fuzzed frames and then the sentinel, in the chunks to write them in. */
  chunks: Buffer[];
  /** Request frames before the sentinel. */
  frames: number;
  /** Which of them were mutated. */
  mutated: number;
}

/** The frames real clients sent (without their size prefix), captured once: test/fixtures/frames. */
function capturedFrames(): Buffer[] {
  const dir = fileURLToPath(new URL('../fixtures/frames/', import.meta.url));
  return readdirSync(dir)
    .filter((f) => f.endsWith('.bin'))
    .sort()
    .map((f) => rawFrame(readFileSync(dir + f)));
}

/** Requests of many APIs as Kafka's clients send them, each a function of the correlation id (with size prefix). */
function requestTemplates(topic: string, group: string, txn: string): Array<(corr: number) => Buffer> {
  const batch = buildRecordBatch({ records: [{ key: 'k', value: 'fuzzed after login' }, { value: 'second' }] });
  const produce = (v: number, acks: number) => (c: number) => encodeRequest(ApiKey.Produce, v, c, 'fuzz', { transactionalId: null, acks, timeoutMs: 1000, topicData: [{ name: topic, partitionData: [{ index: 0, records: batch }] }] });
  const fetch = (v: number) => (c: number) =>
    encodeRequest(ApiKey.Fetch, v, c, 'fuzz', {
      replicaId: -1,
      maxWaitMs: 100,
      minBytes: 1,
      maxBytes: 1 << 20,
      isolationLevel: 0,
      sessionId: 0,
      sessionEpoch: -1,
      topics: [{ topic, partitions: [{ partition: 0, currentLeaderEpoch: -1, fetchOffset: 0n, lastFetchedEpoch: -1, logStartOffset: -1n, partitionMaxBytes: 1 << 20 }] }],
      forgottenTopicsData: [],
      rackId: '',
    });
  const metadata = (v: number) => (c: number) => encodeRequest(ApiKey.Metadata, v, c, 'fuzz', { topics: [{ name: topic }], allowAutoTopicCreation: v < 4, includeClusterAuthorizedOperations: v >= 8 && v <= 10, includeTopicAuthorizedOperations: v >= 8 });
  const memberId = `fuzz-member-${group}`;
  return [
    produce(3, 1),
    produce(7, -1),
    produce(9, 1),
    produce(9, 0),
    fetch(4),
    fetch(11),
    fetch(12),
    metadata(1),
    metadata(9),
    metadata(12),
    (c) => encodeRequest(ApiKey.ListOffsets, 7, c, 'fuzz', { replicaId: -1, isolationLevel: 0, topics: [{ name: topic, partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1n }] }] }),
    (c) => encodeRequest(ApiKey.OffsetForLeaderEpoch, 4, c, 'fuzz', { replicaId: -1, topics: [{ topic, partitions: [{ partition: 0, currentLeaderEpoch: -1, leaderEpoch: 0 }] }] }),
    (c) => encodeRequest(ApiKey.FindCoordinator, 4, c, 'fuzz', { keyType: 0, coordinatorKeys: [group] }),
    (c) => encodeRequest(ApiKey.FindCoordinator, 1, c, 'fuzz', { key: txn, keyType: 1 }),
    (c) => encodeRequest(ApiKey.JoinGroup, 7, c, 'fuzz', { groupId: group, sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 10_000, memberId: '', groupInstanceId: null, protocolType: 'consumer', protocols: [{ name: 'range', metadata: Buffer.from([0, 1, 0, 0, 0, 1, 0, topic.length, ...Buffer.from(topic), 0, 0, 0, 0]) }], reason: null }),
    (c) => encodeRequest(ApiKey.SyncGroup, 5, c, 'fuzz', { groupId: group, generationId: 1, memberId, groupInstanceId: null, protocolType: 'consumer', protocolName: 'range', assignments: [] }),
    (c) => encodeRequest(ApiKey.Heartbeat, 4, c, 'fuzz', { groupId: group, generationId: 1, memberId, groupInstanceId: null }),
    (c) => encodeRequest(ApiKey.LeaveGroup, 4, c, 'fuzz', { groupId: group, members: [{ memberId, groupInstanceId: null }] }),
    (c) => encodeRequest(ApiKey.OffsetCommit, 8, c, 'fuzz', { groupId: group, generationIdOrMemberEpoch: -1, memberId: '', groupInstanceId: null, topics: [{ name: topic, partitions: [{ partitionIndex: 0, committedOffset: 1n, committedLeaderEpoch: -1, committedMetadata: null }] }] }),
    (c) => encodeRequest(ApiKey.OffsetFetch, 5, c, 'fuzz', { groupId: group, topics: [{ name: topic, partitionIndexes: [0] }], requireStable: false }),
    (c) => encodeRequest(ApiKey.OffsetFetch, 8, c, 'fuzz', { groups: [{ groupId: group, topics: null }], requireStable: true }),
    (c) => encodeRequest(ApiKey.DescribeGroups, 5, c, 'fuzz', { groups: [group], includeAuthorizedOperations: true }),
    (c) => encodeRequest(ApiKey.ListGroups, 4, c, 'fuzz', { statesFilter: [] }),
    (c) => encodeRequest(ApiKey.DeleteGroups, 2, c, 'fuzz', { groupsNames: [group] }),
    (c) => encodeRequest(ApiKey.InitProducerId, 4, c, 'fuzz', { transactionalId: null, transactionTimeoutMs: 60_000, producerId: -1n, producerEpoch: -1 }),
    (c) => encodeRequest(ApiKey.InitProducerId, 4, c, 'fuzz', { transactionalId: txn, transactionTimeoutMs: 60_000, producerId: -1n, producerEpoch: -1 }),
    (c) => encodeRequest(ApiKey.AddPartitionsToTxn, 3, c, 'fuzz', { v3AndBelowTransactionalId: txn, v3AndBelowProducerId: 0n, v3AndBelowProducerEpoch: 0, v3AndBelowTopics: [{ name: topic, partitions: [0] }] }),
    (c) => encodeRequest(ApiKey.EndTxn, 3, c, 'fuzz', { transactionalId: txn, producerId: 0n, producerEpoch: 0, committed: true }),
    (c) => encodeRequest(ApiKey.DescribeConfigs, 4, c, 'fuzz', { resources: [{ resourceType: 2, resourceName: topic, configurationKeys: null }], includeSynonyms: true, includeDocumentation: false }),
    (c) => encodeRequest(ApiKey.DescribeCluster, 0, c, 'fuzz', { includeClusterAuthorizedOperations: true }),
    (c) => encodeRequest(ApiKey.DescribeProducers, 0, c, 'fuzz', { topics: [{ name: topic, partitionIndexes: [0] }] }),
    (c) => encodeRequest(ApiKey.DescribeAcls, 2, c, 'fuzz', { resourceTypeFilter: 1, resourceNameFilter: null, patternTypeFilter: 1, principalFilter: null, hostFilter: null, operation: 1, permissionType: 1 }),
    (c) => encodeRequest(ApiKey.CreatePartitions, 3, c, 'fuzz', { topics: [{ name: topic, count: 2, assignments: null }], timeoutMs: 1000, validateOnly: true }),
    (c) => encodeRequest(ApiKey.DeleteRecords, 2, c, 'fuzz', { topics: [{ name: topic, partitions: [{ partitionIndex: 0, offset: 0n }] }], timeoutMs: 1000 }),
    (c) => encodeRequest(ApiKey.ApiVersions, 3, c, 'fuzz', { clientSoftwareName: 'fuzz', clientSoftwareVersion: '1' }),
    // Re-authentication (KIP-368) in the middle of a session: the handshake of a mechanism, then a wrong PLAIN login.
    (c) => encodeRequest(ApiKey.SaslHandshake, 1, c, 'fuzz', { mechanism: 'PLAIN' }),
    (c) => encodeRequest(ApiKey.SaslAuthenticate, 2, c, 'fuzz', { authBytes: Buffer.from('\0nobody\0wrong') }),
  ];
}

/** The sessions of one run, `frames` fuzzed frames in all (sentinels not counted), the same for the same seed. */
export function* authenticatedFuzzSessions(seed: number, frames: number, t: AuthenticatedFuzzTarget): Generator<AuthenticatedFuzzSession> {
  const rand: Rand = mulberry32(seed);
  const int = (n: number) => Math.floor(rand() * n);
  const captured = capturedFrames();
  let sent = 0;
  for (let n = 0; sent < frames; n++) {
    const who = t.users[int(t.users.length)]!;
    const mechanism = who.mechanisms[int(who.mechanisms.length)]!;
    const templates = requestTemplates(t.topic, `fuzz-group-${seed}-${n}`, `fuzz-txn-${seed}-${n}`);
    const count = Math.min(frames - sent, 3 + int(18));
    let mutated = 0;
    const out: Buffer[] = [];
    for (let i = 0; i < count; i++) {
      const real = rand() < 0.3 ? captured[int(captured.length)]! : templates[int(templates.length)]!(1 + i);
      const m = rand() < 0.25 ? mutate(rand, real, true) : { frame: real, mutated: false };
      if (m.mutated) mutated++;
      out.push(m.frame);
    }
    out.push(encodeRequest(ApiKey.ApiVersions, 3, SENTINEL_CORRELATION_ID, 'fuzz-sentinel', { clientSoftwareName: 'fuzz', clientSoftwareVersion: '1' }));
    sent += count;
    yield { user: who.user, password: who.password, mechanism, chunks: splitAsTcpMay(rand, Buffer.concat(out)), frames: count, mutated };
  }
}

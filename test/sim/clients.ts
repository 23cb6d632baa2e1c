// The simulation's Kafka clients: they speak the same request frames real clients send, straight into each
// broker's request router after a drawn delay (the TCP hop), and keep the history the invariants are checked
// against. Producers with acks 0, 1 and all, idempotent and not, one batch in flight per partition; consumers
// by assignment that read as records commit and check what they see as they see it.
import { decodeResponse, encodeRequest } from '../../src/protocol/frames.ts';
import { ApiKey } from '../../src/protocol/generated/api-keys.ts';
import { ErrorCode } from '../../src/protocol/generated/errors.ts';
import { buildRecordBatch } from '../../src/protocol/record-batch-builder.ts';
import { readRecords } from '../../src/protocol/record-batch-reader.ts';
import { batchPositions, readLastOffset } from '../../src/protocol/record-batch-layout.ts';
import type { SimulatedClock } from '../../src/runtime/memory/simulated-clock.ts';
import type { SentRecord, ReadRecord } from '../../src/testing/checker.ts';
import type { Rng } from './rng.ts';
import type { SimBroker } from './sim-broker.ts';
import type { Trace } from './trace.ts';

type Body<K extends number> = Parameters<typeof encodeRequest<K>>[4];
type Answer<K extends number> = ReturnType<typeof decodeResponse<K>>['body'];

/** Something a client saw that Kafka promises never happens. */
export interface ClientViolation {
  kind: string;
  message: string;
}

/** Requests from clients to brokers, as over TCP: a round trip's delay; a dead or stopped broker refuses. */
export class ClientNet {
  private correlation = 1;
  private connection = 1000;

  constructor(
    readonly clock: SimulatedClock,
    private readonly rng: Rng,
    private readonly brokers: readonly SimBroker[],
    private readonly trace: Trace,
  ) {}

  /** A line in the trace for the reader (--trace), not in its hash. */
  note(text: string): void {
    this.trace.note(text);
  }

  /** Resolves to the decoded answer, or null: refused, dropped with the broker, or no answer in `timeoutMs`. */
  request<K extends number>(brokerId: number, apiKey: K, version: number, body: Body<K>, timeoutMs = 5_000, expectAnswer = true): Promise<Answer<K> | null> {
    const node = this.brokers.find((b) => b.id === brokerId);
    const correlationId = this.correlation++;
    const frame = encodeRequest(apiKey, version, correlationId, 'sim', body);
    const conn = { id: this.connection++, remote: `client:${correlationId}`, closed: false };
    this.trace.add('client', brokerId, apiKey, correlationId);
    return new Promise((resolve) => {
      let settled = false;
      const done = (v: Answer<K> | null) => {
        if (settled) return;
        settled = true;
        this.clock.clearTimeout(timer);
        conn.closed = true;
        resolve(v);
      };
      const timer = this.clock.setTimeout(() => done(null), timeoutMs);
      const hop = () => 0.1 + this.rng.next() * 0.6;
      this.clock.setTimeout(() => {
        const life = node?.life;
        const handler = node?.broker?.requestHandler;
        if (!node || !life?.alive || !handler) return done(null);
        life.run(() => {
          if (!life.alive) return done(null);
          Promise.resolve(handler(frame.subarray(4), conn)).then(
            (reply) => {
              if (!expectAnswer) return done(null);
              if (!reply || !life.alive) return done(null);
              // The way back takes no time of its own (the way there carries the round trip's delay): one timer
              // per request instead of two keeps the simulation cheap.
              try {
                done(decodeResponse(apiKey, version, reply.subarray(4)).body);
              } catch {
                done(null);
              }
            },
            () => done(null),
          );
        });
      }, hop());
    });
  }
}

export function sleep(clock: SimulatedClock, ms: number): Promise<void> {
  return new Promise((resolve) => clock.setTimeout(resolve, ms));
}

/** Leaders and epochs of a topic's partitions as the cluster last told a client. */
export class MetadataCache {
  leaders = new Map<number, { leader: number; epoch: number }>();

  constructor(
    private readonly net: ClientNet,
    private readonly rng: Rng,
    private readonly brokerIds: number[],
    private readonly topic: string,
  ) {}

  async refresh(): Promise<void> {
    const id = this.rng.pick(this.brokerIds);
    const res = await this.net.request(id, ApiKey.Metadata, 7, { topics: [{ name: this.topic }], allowAutoTopicCreation: false }, 2_000);
    const t = res?.topics.find((x) => x.name === this.topic);
    if (!t || t.errorCode !== ErrorCode.NONE) return;
    for (const p of t.partitions) {
      if (p.leaderId >= 0) this.leaders.set(p.partitionIndex, { leader: p.leaderId, epoch: p.leaderEpoch ?? -1 });
      else this.leaders.delete(p.partitionIndex);
    }
  }

  leaderOf(partition: number): number | null {
    return this.leaders.get(partition)?.leader ?? null;
  }
}

/** Produce errors after which the same batch is sent again (the request may have been written: `ambiguous`). */
const RETRIABLE = new Set<number>([
  ErrorCode.NOT_LEADER_OR_FOLLOWER,
  ErrorCode.LEADER_NOT_AVAILABLE,
  ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
  ErrorCode.NOT_ENOUGH_REPLICAS,
  ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND,
  ErrorCode.REQUEST_TIMED_OUT,
  ErrorCode.KAFKA_STORAGE_ERROR,
  ErrorCode.NETWORK_EXCEPTION,
  ErrorCode.FENCED_LEADER_EPOCH,
  ErrorCode.UNKNOWN_LEADER_EPOCH,
  ErrorCode.COORDINATOR_LOAD_IN_PROGRESS,
]);
const AMBIGUOUS = new Set<number>([ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND, ErrorCode.REQUEST_TIMED_OUT, ErrorCode.NETWORK_EXCEPTION]);

export interface ProducerOptions {
  name: string;
  topic: string;
  partitions: number;
  acks: -1 | 0 | 1;
  idempotent: boolean;
  /** Sends nothing new after this (monotonic ms); batches in flight keep retrying a while. */
  stopAt: number;
  /** Stops after this many batches per partition (default: none, until stopAt). */
  maxBatches?: number;
}

/** A producer: per partition, one batch in flight, sent again until answered or given up. */
export class SimProducer {
  readonly sent: SentRecord[] = [];
  /** Acknowledged batches with acks=all, by the time they were acknowledged (the progress check reads it). */
  lastAckAt = 0;
  private producerId = -1n;
  private epoch = -1;
  private readonly meta: MetadataCache;
  private readonly violations: ClientViolation[];

  constructor(
    private readonly net: ClientNet,
    private readonly rng: Rng,
    private readonly brokerIds: number[],
    readonly opts: ProducerOptions,
    violations: ClientViolation[],
  ) {
    this.meta = new MetadataCache(net, rng, brokerIds, opts.topic);
    this.violations = violations;
  }

  async run(): Promise<void> {
    const clock = this.net.clock;
    if (this.opts.idempotent) {
      while (this.producerId < 0n && clock.monotonic() < this.opts.stopAt) {
        const res = await this.net.request(this.rng.pick(this.brokerIds), ApiKey.InitProducerId, 1, { transactionalId: null, transactionTimeoutMs: 60_000 }, 3_000);
        if (res && res.errorCode === ErrorCode.NONE) {
          this.producerId = res.producerId;
          this.epoch = res.producerEpoch;
        } else await sleep(clock, 200);
      }
      if (this.producerId < 0n) return;
    }
    await Promise.all(Array.from({ length: this.opts.partitions }, (_, p) => this.partitionLoop(p)));
  }

  private async partitionLoop(partition: number): Promise<void> {
    const clock = this.net.clock;
    let seq = 0;
    for (let batches = 0; clock.monotonic() < this.opts.stopAt && batches < (this.opts.maxBatches ?? Number.POSITIVE_INFINITY); batches++) {
      const count = this.rng.int(1, 3);
      const ids = Array.from({ length: count }, (_, i) => `${this.opts.name}/${partition}/${seq + i}`);
      const ok = await this.sendBatch(partition, ids, seq);
      seq += count;
      // An idempotent producer that gave up on a batch cannot go on: its next sequence would not follow.
      if (!ok && this.opts.idempotent) return;
      await sleep(clock, this.rng.int(200, 2000));
    }
  }

  /** Sends one batch until it is answered or given up; says whether it was acknowledged. */
  private async sendBatch(partition: number, ids: string[], seq: number): Promise<boolean> {
    const clock = this.net.clock;
    const { acks, idempotent, topic } = this.opts;
    const records: SentRecord[] = ids.map((id, i) => ({
      id,
      topic,
      partition,
      producer: this.opts.name,
      // Order is Kafka's promise for acks=all with one batch in flight (and idempotence); acks 0/1 may lose a prefix.
      seq: acks === -1 ? seq + i : undefined,
      status: 'unacked',
      mayRetry: !idempotent,
    }));
    this.sent.push(...records);
    const batch = buildRecordBatch({
      records: ids.map((id) => ({ key: id, value: id })),
      timestamp: clock.wall(),
      ...(idempotent ? { producerId: Number(this.producerId), producerEpoch: this.epoch, baseSequence: seq } : {}),
    });
    // Non-idempotent producers give up after a few attempts (as retries=N); idempotent ones keep trying.
    const maxAttempts = idempotent ? Number.POSITIVE_INFINITY : 8;
    const giveUpAt = this.opts.stopAt + 30_000;
    for (let attempt = 1; attempt <= maxAttempts && clock.monotonic() < giveUpAt; attempt++) {
      let leader = this.meta.leaderOf(partition);
      if (leader === null) {
        await this.meta.refresh();
        leader = this.meta.leaderOf(partition);
        if (leader === null) {
          await sleep(clock, 100);
          continue;
        }
      }
      const body = { transactionalId: null, acks, timeoutMs: 3_000, topicData: [{ name: topic, partitionData: [{ index: partition, records: batch }] }] };
      if (acks === 0) {
        void this.net.request(leader, ApiKey.Produce, 7, body, 1_000, false);
        return false;
      }
      const res = await this.net.request(leader, ApiKey.Produce, 7, body, 5_000);
      const p = res?.responses[0]?.partitionResponses[0];
      if (p && (p.errorCode === ErrorCode.NONE || (idempotent && p.errorCode === ErrorCode.DUPLICATE_SEQUENCE_NUMBER))) {
        const base = Number(p.baseOffset);
        for (const [i, r] of records.entries()) {
          r.status = acks === -1 ? 'acked' : 'unacked';
          if (acks === -1 && base >= 0) r.offset = base + i;
        }
        if (acks === -1) this.lastAckAt = clock.monotonic();
        return true;
      }
      // A zombie leader (cut off, still believing it leads) may answer OUT_OF_ORDER_SEQUENCE_NUMBER: batches
      // the real leader took never reached it. Kafka answers the same; the batch goes to the leader again. A
      // real leader that kept refusing would stop this producer, which the liveness check catches.
      const zombieAnswer = idempotent && p !== undefined && (p.errorCode === ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER || p.errorCode === ErrorCode.UNKNOWN_PRODUCER_ID);
      if (p && !RETRIABLE.has(p.errorCode) && !zombieAnswer) {
        for (const r of records) r.status = 'failed';
        return false;
      }
      await this.meta.refresh();
      await sleep(clock, this.rng.int(20, 200));
    }
    return false;
  }
}

/** A consumer by assignment: reads each partition from 0 as the high watermark moves, checking each answer. */
export class SimConsumer {
  readonly read: ReadRecord[] = [];
  private readonly meta: MetadataCache;

  constructor(
    private readonly net: ClientNet,
    private readonly rng: Rng,
    brokerIds: number[],
    private readonly topic: string,
    private readonly partitions: number,
    private readonly stopAt: number,
    private readonly violations: ClientViolation[],
  ) {
    this.meta = new MetadataCache(net, rng, brokerIds, topic);
  }

  async run(): Promise<void> {
    await Promise.all(Array.from({ length: this.partitions }, (_, p) => this.loop(p)));
  }

  private async loop(partition: number): Promise<void> {
    const clock = this.net.clock;
    let position = 0;
    while (clock.monotonic() < this.stopAt) {
      const leader = this.meta.leaderOf(partition);
      if (leader === null) {
        await this.meta.refresh();
        if (this.meta.leaderOf(partition) === null) await sleep(clock, 100);
        continue;
      }
      const res = await this.net.request(leader, ApiKey.Fetch, 11, {
        replicaId: -1,
        maxWaitMs: 500,
        minBytes: 1,
        maxBytes: 1 << 20,
        isolationLevel: 0,
        sessionId: 0,
        sessionEpoch: -1,
        topics: [{ topic: this.topic, partitions: [{ partition, currentLeaderEpoch: -1, fetchOffset: BigInt(position), logStartOffset: -1n, partitionMaxBytes: 1 << 20 }] }],
        forgottenTopicsData: [],
        rackId: '',
      }, 3_000);
      const p = res?.responses[0]?.partitions[0];
      if (!p || p.errorCode !== ErrorCode.NONE) {
        await this.meta.refresh();
        await sleep(clock, this.rng.int(20, 200));
        continue;
      }
      const hw = Number(p.highWatermark);
      const data = p.records ?? Buffer.alloc(0);
      // Whole batches only: a bounded answer may end with part of one.
      for (const { pos, size } of batchPositions(data)) {
        for (const r of readRecords(data.subarray(pos, pos + size))) {
          if (r.offset < position) continue;
          if (r.offset !== position) this.violations.push({ kind: 'consumer-gap', message: `${this.topic}-${partition}: expected offset ${position}, read ${r.offset} from broker ${leader}` });
          if (r.offset >= hw) this.violations.push({ kind: 'above-hw', message: `${this.topic}-${partition}: read offset ${r.offset} at or above the high watermark ${hw} from broker ${leader}` });
          this.read.push({ topic: this.topic, partition, offset: r.offset, value: r.value?.toString() ?? '' });
          position = r.offset + 1;
        }
      }
    }
  }
}

/** Kafka's consumer protocol (ConsumerProtocolSubscription/Assignment v0), as group members exchange it. */
function encodeSubscription(topic: string): Buffer {
  const name = Buffer.from(topic);
  const b = Buffer.alloc(2 + 4 + 2 + name.length + 4);
  b.writeInt16BE(0, 0);
  b.writeInt32BE(1, 2);
  b.writeInt16BE(name.length, 6);
  name.copy(b, 8);
  b.writeInt32BE(-1, 8 + name.length);
  return b;
}

function encodeAssignment(topic: string, partitions: number[]): Buffer {
  const name = Buffer.from(topic);
  const b = Buffer.alloc(2 + 4 + 2 + name.length + 4 + 4 * partitions.length + 4);
  let p = b.writeInt16BE(0, 0);
  p = b.writeInt32BE(1, p);
  p = b.writeInt16BE(name.length, p);
  p += name.copy(b, p);
  p = b.writeInt32BE(partitions.length, p);
  for (const x of partitions) p = b.writeInt32BE(x, p);
  b.writeInt32BE(-1, p);
  return b;
}

function decodeAssignment(b: Buffer): number[] {
  if (b.length < 6) return [];
  let p = 2;
  const topics = b.readInt32BE(p);
  p += 4;
  const out: number[] = [];
  for (let t = 0; t < topics; t++) {
    const len = b.readInt16BE(p);
    p += 2 + len;
    const n = b.readInt32BE(p);
    p += 4;
    for (let i = 0; i < n; i++, p += 4) out.push(b.readInt32BE(p));
  }
  return out;
}

/** Committed offsets as the group coordinators acknowledged them, for the invariants. */
export class CommitLog {
  /**
   * partition → the latest generation that had a commit of it acknowledged, and the highest offset acknowledged
   * in it. A later generation may commit less than an earlier one did (a zombie member's commit, accepted while
   * its generation was current, can complete after the next generation began), so this is what must survive.
   */
  readonly acknowledged = new Map<number, { generation: number; offset: number }>();
  /** coordinator → the latest generation a member joined there. */
  readonly latestGeneration = new Map<number, number>();
  /** `${coordinator}/${generation}/${partition}` → the highest offset acknowledged in that generation there. */
  readonly inGeneration = new Map<string, number>();
  commits = 0;
  rebalances = 0;
}

/**
 * A member of a consumer group (Kafka's classic protocol): finds the coordinator, joins, the leader assigns the
 * partitions round-robin, members sync, then each reads its partitions from the committed offsets, commits
 * what it read within its generation and heartbeats, rejoining when the coordinator says so. Within a
 * generation, the committed offsets it reads back never go below one acknowledged before.
 */
export class SimGroupMember {
  private memberId = '';
  private generation = -1;
  private coordinator: number | null = null;
  private readonly meta: MetadataCache;

  constructor(
    private readonly net: ClientNet,
    private readonly rng: Rng,
    private readonly brokerIds: number[],
    private readonly group: string,
    private readonly topic: string,
    private readonly partitions: number,
    private readonly stopAt: number,
    private readonly commits: CommitLog,
    private readonly violations: ClientViolation[],
  ) {
    this.meta = new MetadataCache(net, rng, brokerIds, topic);
  }

  async run(): Promise<void> {
    const clock = this.net.clock;
    while (clock.monotonic() < this.stopAt) {
      const assigned = await this.join();
      if (assigned === null) {
        await sleep(clock, this.rng.int(100, 500));
        continue;
      }
      await this.consume(assigned);
    }
  }

  private async findCoordinator(): Promise<number | null> {
    const res = await this.net.request(this.rng.pick(this.brokerIds), ApiKey.FindCoordinator, 2, { key: this.group, keyType: 0 }, 2_000);
    if (!res || res.errorCode !== ErrorCode.NONE || res.nodeId === undefined || res.nodeId < 0) return null;
    return res.nodeId;
  }

  /** Joins and syncs: the partitions this member was given in its new generation, or null to try again. */
  private async join(): Promise<number[] | null> {
    this.coordinator = await this.findCoordinator();
    if (this.coordinator === null) return null;
    let res = await this.net.request(this.coordinator, ApiKey.JoinGroup, 5, {
      groupId: this.group,
      sessionTimeoutMs: 6_000,
      rebalanceTimeoutMs: 6_000,
      memberId: this.memberId,
      groupInstanceId: null,
      protocolType: 'consumer',
      protocols: [{ name: 'roundrobin', metadata: encodeSubscription(this.topic) }],
    }, 10_000);
    if (res?.errorCode === ErrorCode.MEMBER_ID_REQUIRED) {
      this.memberId = res.memberId;
      return this.join();
    }
    if (!res || res.errorCode !== ErrorCode.NONE) {
      if (res?.errorCode === ErrorCode.UNKNOWN_MEMBER_ID) this.memberId = '';
      return null;
    }
    this.memberId = res.memberId;
    this.generation = res.generationId;
    this.net.note(`group ${this.memberId} joined gen ${this.generation} at ${this.coordinator} (leader ${res.leader})`);
    this.commits.latestGeneration.set(this.coordinator, Math.max(this.commits.latestGeneration.get(this.coordinator) ?? -1, this.generation));
    this.commits.rebalances++;
    const assignments = res.leader === res.memberId ? this.assign(res.members.map((m) => m.memberId)) : [];
    const sync = await this.net.request(this.coordinator, ApiKey.SyncGroup, 3, {
      groupId: this.group,
      generationId: this.generation,
      memberId: this.memberId,
      groupInstanceId: null,
      assignments,
    }, 10_000);
    if (!sync || sync.errorCode !== ErrorCode.NONE) return null;
    return decodeAssignment(sync.assignment);
  }

  private assign(members: string[]): Array<{ memberId: string; assignment: Buffer }> {
    const sorted = [...members].sort();
    return sorted.map((memberId, i) => ({
      memberId,
      assignment: encodeAssignment(this.topic, Array.from({ length: this.partitions }, (_, p) => p).filter((p) => p % sorted.length === i)),
    }));
  }

  /** Reads and commits the assigned partitions until the group rebalances or the run ends. */
  private async consume(assigned: number[]): Promise<void> {
    const clock = this.net.clock;
    const coordinator = this.coordinator!;
    const fetched = await this.net.request(coordinator, ApiKey.OffsetFetch, 5, { groupId: this.group, topics: [{ name: this.topic, partitionIndexes: assigned }] }, 3_000);
    if (!fetched || (fetched.errorCode ?? 0) !== ErrorCode.NONE) return;
    const positions = new Map<number, number>();
    for (const p of fetched.topics?.[0]?.partitions ?? []) {
      if (p.errorCode !== ErrorCode.NONE) return;
      positions.set(p.partitionIndex, Math.max(0, Number(p.committedOffset)));
    }
    let lastBeat = clock.monotonic();
    while (clock.monotonic() < this.stopAt) {
      // Read a little from each partition, then commit where it got to, in this generation.
      for (const partition of assigned) {
        const leader = this.meta.leaderOf(partition) ?? (await this.meta.refresh(), this.meta.leaderOf(partition));
        if (leader === null) continue;
        const res = await this.net.request(leader, ApiKey.Fetch, 11, {
          replicaId: -1, maxWaitMs: 200, minBytes: 1, maxBytes: 64 << 10, isolationLevel: 0, sessionId: 0, sessionEpoch: -1,
          topics: [{ topic: this.topic, partitions: [{ partition, currentLeaderEpoch: -1, fetchOffset: BigInt(positions.get(partition) ?? 0), logStartOffset: -1n, partitionMaxBytes: 64 << 10 }] }],
          forgottenTopicsData: [], rackId: '',
        }, 3_000);
        const p = res?.responses[0]?.partitions[0];
        if (!p || p.errorCode !== ErrorCode.NONE) {
          await this.meta.refresh();
          continue;
        }
        const data = p.records ?? Buffer.alloc(0);
        for (const { pos } of batchPositions(data)) positions.set(partition, Math.max(positions.get(partition) ?? 0, readLastOffset(data, pos) + 1));
      }
      const commit = await this.net.request(coordinator, ApiKey.OffsetCommit, 7, {
        groupId: this.group,
        generationIdOrMemberEpoch: this.generation,
        memberId: this.memberId,
        groupInstanceId: null,
        topics: [{ name: this.topic, partitions: assigned.map((partition) => ({ partitionIndex: partition, committedOffset: BigInt(positions.get(partition) ?? 0), committedLeaderEpoch: -1, committedMetadata: null })) }],
      }, 5_000);
      if (!commit) return; // the coordinator is gone or slow: find it again
      this.net.note(`group ${this.memberId} gen ${this.generation} at ${coordinator}: commit ${assigned.map((p) => `${p}=${positions.get(p)}`).join(',')} answered ${commit.topics[0]?.partitions.map((p) => p.errorCode).join(',')}`);
      for (const p of commit.topics[0]?.partitions ?? []) {
        if (p.errorCode !== ErrorCode.NONE) return; // a rebalance, a new coordinator: join again
        const at = positions.get(p.partitionIndex) ?? 0;
        const key = `${coordinator}/${this.generation}/${p.partitionIndex}`;
        const before = this.commits.acknowledged.get(p.partitionIndex);
        if (!before || before.generation < this.generation) this.commits.acknowledged.set(p.partitionIndex, { generation: this.generation, offset: at });
        else if (before.generation === this.generation) before.offset = Math.max(before.offset, at);
        this.commits.inGeneration.set(key, Math.max(this.commits.inGeneration.get(key) ?? -1, at));
        this.commits.commits++;
      }
      if (clock.monotonic() - lastBeat >= 2_000) {
        lastBeat = clock.monotonic();
        // Within a generation, a committed offset read back is never below one acknowledged before. (A zombie
        // coordinator, cut off and still serving its own generation, may answer older offsets than the new
        // coordinator took: Kafka's OffsetFetch reads a coordinator's cache too. Durability across
        // coordinators is checked once the cluster is healed.)
        const check = await this.net.request(coordinator, ApiKey.OffsetFetch, 5, { groupId: this.group, topics: [{ name: this.topic, partitionIndexes: assigned }] }, 3_000);
        this.net.note(`group ${this.memberId} gen ${this.generation} at ${coordinator}: fetched ${check?.topics?.[0]?.partitions.map((p) => `${p.partitionIndex}=${p.committedOffset}`).join(',')}`);
        // A member that has not noticed its generation is over reads what the next one committed.
        const over = (this.commits.latestGeneration.get(coordinator) ?? -1) > this.generation;
        for (const p of over ? [] : (check?.topics?.[0]?.partitions ?? [])) {
          const acked = this.commits.inGeneration.get(`${coordinator}/${this.generation}/${p.partitionIndex}`) ?? -1;
          if (p.errorCode === ErrorCode.NONE && Number(p.committedOffset) < acked) {
            this.violations.push({ kind: 'commit-went-back', message: `${this.group} ${this.topic}-${p.partitionIndex} generation ${this.generation}: committed offset ${p.committedOffset} read from broker ${coordinator}, after it acknowledged a commit of ${acked} in that generation (at ${clock.monotonic().toFixed(0)} ms)` });
          }
        }
        const beat = await this.net.request(coordinator, ApiKey.Heartbeat, 3, { groupId: this.group, generationId: this.generation, memberId: this.memberId, groupInstanceId: null }, 3_000);
        if (!beat || beat.errorCode !== ErrorCode.NONE) return;
      }
      await sleep(clock, this.rng.int(500, 1500));
    }
  }
}

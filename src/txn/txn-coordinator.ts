// Kafka's transaction coordinator on this broker (KIP-98). Transactional id T is coordinated by the leader of
// partition partitionFor(T) of `__transaction_state` (txn-topic.ts); the shards of the partitions this broker
// leads (txn-shard.ts) hold the transactions, loaded from the log when leadership arrives
// (internal-topic-shards.ts). Besides the clients' requests it serves two broker-to-broker requests over the
// runtime transport (JSON, request/reply): a partition leader's KIP-890 verification ("is this partition in
// producer P's open transaction?") and, as a partition leader, the markers other coordinators write
// (Kafka's WriteTxnMarkers, which is not a client API here).
import type { MetadataStore } from '../metadata/metadata-store.ts';
import type { Clock } from '../runtime/clock.ts';
import type { Transport, TransportSubscription } from '../runtime/transport.ts';
import type { Subjects } from '../transport/subjects.ts';
import type { PartitionRegistry } from '../broker/partition-registry.ts';
import type { TopicAdmin } from '../broker/topic-admin.ts';
import { InternalTopicShards, type Routed } from '../broker/internal-topic-shards.ts';
import type { TxnMarkerResult, WritableTxnMarker } from '../broker/txn-markers.ts';
import { ErrorCode } from '../protocol/generated/errors.ts';
import type { Logger } from '../util/logger.ts';
import type { TxnMarkerType } from '../log/txn-marker.ts';
import { loadTxnPartition } from './txn-loader.ts';
import type { LiveActor } from '../inspect/inspection-hub.ts';
import { TxnShard } from './txn-shard.ts';
import type { TxnMetadata } from './txn-metadata.ts';
import { DEFAULT_MAX_TXN_TIMEOUT_MS, DEFAULT_TXN_ID_EXPIRATION_MS, DEFAULT_TXN_STATE_PARTITIONS, partitionForTransactionalId, TXN_STATE_TOPIC } from './txn-topic.ts';

export interface TxnCoordinatorOptions {
  brokerId: number;
  metadata: MetadataStore;
  registry: PartitionRegistry;
  topics: TopicAdmin;
  logger: Logger;
  clock: Clock;
  transport: Transport;
  subjects: Pick<Subjects, 'txnMarkers' | 'txnVerify'>;
  allocateProducerId(): Promise<number>;
  /** Writes markers on this broker's partition leaders (txn-markers.ts). */
  writeLocalMarkers(markers: WritableTxnMarker[], timeoutMs: number): Promise<TxnMarkerResult[]>;
  /** transaction.state.log.num.partitions. */
  partitions?: number;
  /** transaction.max.timeout.ms. */
  maxTimeoutMs?: number;
  /** How long an acks=all write to __transaction_state may take. */
  writeTimeoutMs?: number;
  /** transactional.id.expiration.ms: an id idle this long in Empty, CompleteCommit or CompleteAbort is removed. */
  idExpirationMs?: number;
}

const MARKER_REQUEST_MS = 5_000;
const VERIFY_REQUEST_MS = 5_000;

interface VerifyRequest {
  transactionalId: string;
  producerId: number;
  producerEpoch: number;
  topic: string;
  partition: number;
}

export class TxnCoordinator {
  readonly shards: InternalTopicShards<TxnShard>;
  readonly maxTimeoutMs: number;
  private readonly writeTimeoutMs: number;
  private served: TransportSubscription[] = [];

  constructor(readonly opts: TxnCoordinatorOptions) {
    this.maxTimeoutMs = opts.maxTimeoutMs ?? DEFAULT_MAX_TXN_TIMEOUT_MS;
    this.writeTimeoutMs = opts.writeTimeoutMs ?? 5000;
    this.shards = new InternalTopicShards<TxnShard>({
      topic: TXN_STATE_TOPIC,
      what: 'transactions',
      partitions: opts.partitions ?? DEFAULT_TXN_STATE_PARTITIONS,
      configs: { 'cleanup.policy': 'compact' },
      brokerId: opts.brokerId,
      metadata: opts.metadata,
      registry: opts.registry,
      topics: opts.topics,
      logger: opts.logger,
      clock: opts.clock,
      load: (partition, replica, leaderEpoch) => this.load(partition, replica, leaderEpoch),
    });
  }

  start(): void {
    this.shards.start();
    const json = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
    this.served = [
      this.opts.transport.serve(this.opts.subjects.txnMarkers(this.opts.brokerId), async (payload) => {
        const markers = JSON.parse(payload.toString()) as WritableTxnMarker[];
        return json(await this.opts.writeLocalMarkers(markers, MARKER_REQUEST_MS));
      }),
      this.opts.transport.serve(this.opts.subjects.txnVerify(this.opts.brokerId), async (payload) => {
        const r = JSON.parse(payload.toString()) as VerifyRequest;
        return json({ errorCode: this.verifyHere(r) });
      }),
    ];
  }

  stop(): void {
    for (const s of this.served) s.stop();
    this.served = [];
    this.shards.stop();
  }

  replicaLeads(topic: string): void {
    this.shards.replicaLeads(topic);
  }

  /** The transactional ids' actors this broker runs, named `transaction-<id>@broker-<n>`, for the dashboard's actor directory. */
  liveActors(): LiveActor[] {
    return this.shards.loaded().flatMap((shard) =>
      shard.actorsById().map(([id, actor]) => ({ systemId: `transaction-${id}@broker-${this.opts.brokerId}`, kind: 'transaction' as const, actor })),
    );
  }

  partitionFor(transactionalId: string): number {
    return partitionForTransactionalId(transactionalId, this.shards.partitionCount());
  }

  /** The shard coordinating the transactional id here, or NOT_COORDINATOR / COORDINATOR_LOAD_IN_PROGRESS. */
  route(transactionalId: string): Routed<TxnShard> {
    if (!transactionalId) return { errorCode: ErrorCode.INVALID_REQUEST };
    return this.shards.route(this.partitionFor(transactionalId));
  }

  /**
   * KIP-890 part 1, asked by this broker's partition leader before a producer's first transactional batch on a
   * partition: NONE when the partition is in the producer's open transaction. The coordinator may be another
   * broker; when none answers the produce is told to retry (NOT_ENOUGH_REPLICAS, as Kafka maps coordinator
   * errors for a producer that does not know them).
   */
  async verify(r: VerifyRequest): Promise<number> {
    const p = this.opts.metadata.snapshot().topics[TXN_STATE_TOPIC]?.partitions[this.partitionFor(r.transactionalId)];
    const leader = p?.leader ?? -1;
    let code: number;
    if (leader === this.opts.brokerId) code = this.verifyHere(r);
    else if (leader < 0) code = ErrorCode.COORDINATOR_NOT_AVAILABLE;
    else {
      try {
        const reply = await this.opts.transport.request(this.opts.subjects.txnVerify(leader), new TextEncoder().encode(JSON.stringify(r)), VERIFY_REQUEST_MS);
        code = (JSON.parse(reply.toString()) as { errorCode: number }).errorCode;
      } catch {
        code = ErrorCode.COORDINATOR_NOT_AVAILABLE;
      }
    }
    const retriable: number[] = [ErrorCode.COORDINATOR_NOT_AVAILABLE, ErrorCode.NOT_COORDINATOR, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, ErrorCode.CONCURRENT_TRANSACTIONS];
    if (retriable.includes(code)) return ErrorCode.NOT_ENOUGH_REPLICAS;
    // Produce has no PRODUCER_FENCED: Kafka's AddPartitionsToTxnManager answers a fenced producer's batch with
    // INVALID_PRODUCER_EPOCH, which every client treats as fatal (KafkaJS 2.2.4 does not know code 90 at all).
    return code === ErrorCode.PRODUCER_FENCED ? ErrorCode.INVALID_PRODUCER_EPOCH : code;
  }

  private verifyHere(r: VerifyRequest): number {
    const routed = this.route(r.transactionalId);
    if (!routed.shard) return routed.errorCode;
    return routed.shard.verify(r.transactionalId, r.producerId, r.producerEpoch, r.topic, r.partition);
  }

  private async load(partition: number, replica: TxnShard['replica'], leaderEpoch: number): Promise<TxnShard> {
    const log = replica.log;
    if (!log) throw new Error('the replica has no open log');
    const loaded = await loadTxnPartition(log);
    if (loaded.skipped > 0) this.opts.logger.warn('records of __transaction_state skipped at load', { partition, skipped: loaded.skipped });
    const shard = new TxnShard({
      partition,
      replica,
      leaderEpoch,
      writeTimeoutMs: this.writeTimeoutMs,
      idExpirationMs: this.opts.idExpirationMs ?? DEFAULT_TXN_ID_EXPIRATION_MS,
      clock: this.opts.clock,
      logger: this.opts.logger,
      allocateProducerId: this.opts.allocateProducerId,
      writeMarkers: (m, result, coordinatorEpoch, abandoned) => this.writeMarkers(m, result, coordinatorEpoch, abandoned),
    });
    shard.adopt(loaded.txns);
    return shard;
  }

  /**
   * Writes the markers of a transaction on every partition it holds, each at the partition's current leader
   * (here or over the transport), retrying until each one is written. A partition that no longer exists needs
   * none; a partition whose producer moved past this epoch (INVALID_PRODUCER_EPOCH) already ended it. A newer
   * coordinator's marker (TRANSACTION_COORDINATOR_FENCED) means this one is deposed: it gives up.
   */
  private async writeMarkers(m: TxnMetadata, result: TxnMarkerType, coordinatorEpoch: number, abandoned: () => boolean): Promise<boolean> {
    let pending = Object.entries(m.partitions).flatMap(([topic, ps]) => ps.map((partition) => ({ topic, partition })));
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (abandoned()) return false;
      if (attempt > 0) await new Promise<void>((r) => this.opts.clock.setTimeout(r, Math.min(1000, 50 * 2 ** Math.min(attempt, 5))));
      const snapshot = this.opts.metadata.snapshot();
      const byLeader = new Map<number, Array<{ topic: string; partition: number }>>();
      const next: typeof pending = [];
      for (const tp of pending) {
        const topic = snapshot.topics[tp.topic];
        if (!topic || tp.partition >= topic.partitions.length) continue; // deleted: nothing to mark
        const leader = topic.partitions[tp.partition]!.leader;
        if (leader < 0) next.push(tp);
        else byLeader.set(leader, [...(byLeader.get(leader) ?? []), tp]);
      }
      const answers = await Promise.all([...byLeader].map(([leader, tps]) => this.markersAt(leader, m, result, coordinatorEpoch, tps)));
      for (const answer of answers) {
        for (const { tp, errorCode } of answer) {
          if (errorCode === ErrorCode.NONE || errorCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) continue;
          if (errorCode === ErrorCode.TRANSACTION_COORDINATOR_FENCED) {
            this.opts.logger.warn('a newer transaction coordinator wrote markers for this producer; leaving the transaction to it', { transactionalId: m.transactionalId, ...tp });
            return false;
          }
          if (errorCode === ErrorCode.INVALID_PRODUCER_EPOCH || errorCode === ErrorCode.PRODUCER_FENCED) {
            this.opts.logger.warn('a marker was refused: the partition knows a newer epoch of the producer', { transactionalId: m.transactionalId, ...tp, producerEpoch: m.producerEpoch });
            continue;
          }
          next.push(tp);
        }
      }
      if (next.length > 0 && attempt % 20 === 19) this.opts.logger.warn('transaction markers still not written; retrying', { transactionalId: m.transactionalId, partitions: next.length, attempts: attempt + 1 });
      pending = next;
    }
    return true;
  }

  private async markersAt(leader: number, m: TxnMetadata, result: TxnMarkerType, coordinatorEpoch: number, tps: Array<{ topic: string; partition: number }>) {
    const topics = new Map<string, number[]>();
    for (const tp of tps) topics.set(tp.topic, [...(topics.get(tp.topic) ?? []), tp.partition]);
    const marker: WritableTxnMarker = { producerId: m.producerId, producerEpoch: m.producerEpoch, coordinatorEpoch, result, topics: [...topics].map(([name, partitions]) => ({ name, partitions })) };
    let answers: TxnMarkerResult[];
    try {
      if (leader === this.opts.brokerId) answers = await this.opts.writeLocalMarkers([marker], MARKER_REQUEST_MS);
      else {
        const reply = await this.opts.transport.request(this.opts.subjects.txnMarkers(leader), new TextEncoder().encode(JSON.stringify([marker])), MARKER_REQUEST_MS + 1000);
        answers = JSON.parse(reply.toString()) as TxnMarkerResult[];
      }
    } catch {
      return tps.map((tp) => ({ tp, errorCode: ErrorCode.REQUEST_TIMED_OUT as number }));
    }
    return (answers[0]?.topics ?? []).flatMap((t) => t.partitions.map((p) => ({ tp: { topic: t.name, partition: p.partition }, errorCode: p.errorCode })));
  }
}

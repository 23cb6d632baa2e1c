// A broker's replication data plane in one object (DESIGN.md "Data plane"): the replica fetchers that copy
// the leaders this broker follows, the server that answers the followers of the partitions it leads, and
// Kafka's periodic ISR-expiration check. The partition registry hands it to every replica
// (ReplicaReplication): replicas call follow/unfollow as their actor enters and leaves the follower role.
//
// Everything it touches is passed in: the request/reply transport (NATS or the in-memory bus), the clock,
// the ISR proposal client.
import type { Logger } from '../util/logger.ts';
import type { Clock, TimerHandle } from '../runtime/clock.ts';
import type { ReplicaReplication, PartitionReplica } from '../broker/partition-replica.ts';
import type { ProposeIsr } from './isr-proposal.ts';
import { ReplicaFetcherManager } from './replica-fetcher-manager.ts';
import { ReplicationServer, type LeaderNews } from './replication-server.ts';
import type { Transport } from '../runtime/transport.ts';
import { maxBatchBytes } from './max-batch-bytes.ts';

export interface ReplicationSettings {
  /** replica.fetch.wait.max.ms: how long a leader holds a follower fetch that finds no data. Kafka's 500 ms
   *  would cost an idle broker with thousands of partitions a pass over all of them twice a second per
   *  follower; a held fetch is answered at once on an append, shortly after a high watermark move, and when
   *  its follower starts following another partition (a wake), so the long wait costs no latency. */
  maxWaitMs: number;
  /** Response budget per fetch; 4 MB keeps it under the 8 MB NATS max_payload (never more than half of it). */
  maxBytes: number;
  /** replica.fetch.max.bytes: per partition, past the first batch. The whole budget by default: one hot
   *  partition then moves 4 MB per round trip instead of 1 MB (in-process acks=all: 430k vs 320k records/s);
   *  the partition served first rotates per request, so others still get their turn. */
  partitionMaxBytes: number;
  /** Request timeout beyond maxWaitMs. */
  requestTimeoutMs: number;
  /** replica.fetch.backoff.ms */
  backoffMs: number;
  /** replica.lag.time.max.ms */
  replicaLagTimeMaxMs: number;
  /** Start fetch loops and the ISR check timer (false: tests drive them). */
  autoStart: boolean;
}

export const DEFAULT_REPLICATION_SETTINGS: ReplicationSettings = {
  maxWaitMs: 5_000,
  maxBytes: 4 * 1024 * 1024,
  partitionMaxBytes: 4 * 1024 * 1024,
  requestTimeoutMs: 5_000,
  backoffMs: 200,
  replicaLagTimeMaxMs: 10_000,
  autoStart: true,
};

export interface ReplicationServiceOptions {
  brokerId: number;
  incarnation: string;
  transport: Transport;
  subjectFor: (leaderBrokerId: number) => string;
  proposeIsr?: ProposeIsr;
  clock: Clock;
  logger: Logger;
  settings?: Partial<ReplicationSettings>;
}

/** The replicas the service serves and checks (PartitionRegistry). */
export interface ReplicaLookup {
  get(topic: string, partition: number): PartitionReplica | undefined;
  all(): readonly PartitionReplica[];
  /** Moves whenever a replica comes or goes (PartitionRegistry.version); absent: replicas are looked up on every fetch. */
  readonly version?: number;
}

export class ReplicationService implements ReplicaReplication {
  readonly settings: ReplicationSettings;
  readonly fetchers: ReplicaFetcherManager;
  readonly proposeIsr?: ProposeIsr;
  private server: ReplicationServer | null = null;
  private isrTimer: TimerHandle | null = null;
  private readonly stopWatchingReconnects: () => void;

  constructor(private readonly opts: ReplicationServiceOptions) {
    this.settings = { ...DEFAULT_REPLICATION_SETTINGS, ...opts.settings };
    this.proposeIsr = opts.proposeIsr;
    const s = this.settings;
    this.fetchers = new ReplicaFetcherManager({
      brokerId: opts.brokerId, incarnation: opts.incarnation, transport: opts.transport, subjectFor: opts.subjectFor,
      maxWaitMs: s.maxWaitMs, maxBytes: s.maxBytes, requestTimeoutMs: s.requestTimeoutMs, backoffMs: s.backoffMs,
      clock: opts.clock, logger: opts.logger, autoStart: s.autoStart,
    });
    // NATS does not fail a request whose connection dropped: after a reconnect the held fetches would sit
    // out their whole timeout. Send them anew instead.
    this.stopWatchingReconnects = opts.transport.onReconnect(() => this.fetchers.abandonInFlight());
  }

  /** The largest batch replication carries (maxBatchBytes in max-batch-bytes.ts). */
  get maxBatchBytes(): number {
    return maxBatchBytes(this.opts.transport);
  }

  get replicaLagTimeMaxMs(): number {
    return this.settings.replicaLagTimeMaxMs;
  }

  follow(replica: PartitionReplica, leaderId: number, leaderEpoch: number): void {
    this.fetchers.follow(replica, leaderId, leaderEpoch);
  }

  unfollow(replica: PartitionReplica): void {
    this.fetchers.unfollow(replica);
  }

  leaderNews(replicas: readonly number[], kind: LeaderNews): void {
    this.server?.news(replicas, kind);
  }

  /** Starts answering follower fetches for the replicas `lookup` finds, and the ISR-expiration check. */
  start(lookup: ReplicaLookup): void {
    const s = this.settings;
    this.server = new ReplicationServer({
      brokerId: this.opts.brokerId,
      transport: this.opts.transport,
      clock: this.opts.clock,
      subject: this.opts.subjectFor(this.opts.brokerId),
      lookup: (topic, partition) => lookup.get(topic, partition),
      lookupVersion: () => lookup.version,
      maxResponseBytes: s.maxBytes,
      partitionMaxBytes: s.partitionMaxBytes,
      maxWaitCapMs: Math.max(s.maxWaitMs, 1_000),
      logger: this.opts.logger,
    });
    this.server.start();
    if (s.autoStart) {
      // Kafka's isr-expiration task runs every replica.lag.time.max.ms / 2.
      this.isrTimer = this.opts.clock.setInterval(() => this.checkIsr(lookup), Math.max(50, Math.floor(s.replicaLagTimeMaxMs / 2)));
    }
  }

  checkIsr(lookup: ReplicaLookup): void {
    for (const r of lookup.all()) r.maybeShrinkIsr();
  }

  get replicationServer(): ReplicationServer | null {
    return this.server;
  }

  async stop(): Promise<void> {
    this.stopWatchingReconnects();
    if (this.isrTimer !== null) this.opts.clock.clearInterval(this.isrTimer);
    this.isrTimer = null;
    this.server?.stop();
    await this.fetchers.stop();
  }
}

// One broker's Prometheus metrics, in a prom-client Registry of its own (never the global default registry:
// several brokers live in one process in simulation tests). Names follow Kafka's broker metrics where one
// exists (BytesInPerSec, UnderReplicatedPartitions, LeaderCount, OfflinePartitionsCount, IsrShrinksPerSec,
// ActiveControllerCount) in Prometheus form: counters end in _total and rates are left to the query.
//
// Data-path counters are bumped once per request or per partition batch by the request router and the
// produce/fetch handlers. Partition gauges are computed at scrape time from the metadata snapshot and the
// local replicas, so nothing runs between scrapes. ISR shrinks/expands and leader elections are counted from
// successive metadata snapshots (the store calls `observe` with the next and previous snapshot).
//
// The group coordinator counts rebalances with `services.metrics.groupRebalances.inc()`.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ClusterSnapshot, PartitionState } from '../metadata/types.ts';

/** What the metrics read from a local replica at scrape time. */
export interface ReplicaFacts {
  topic: string;
  partition: number;
  role: string;
  log: { logEndOffset: number; highWatermark: number; logStartOffset: number } | null;
}

export interface BrokerMetricsSources {
  brokerId: number;
  snapshot(): ClusterSnapshot;
  replicas(): Iterable<ReplicaFacts>;
  /** Metadata changes with the previous snapshot (MetadataStore.subscribe), for the ISR and election counters. */
  subscribe?(fn: (next: ClusterSnapshot, prev: ClusterSnapshot) => void): () => void;
  /** The log cleaner's totals (src/broker/log-cleaner-manager.ts), for its metrics. */
  cleaner?(): { cleanings: number; bytesRead: number; bytesWritten: number; recordsRemoved: number; maxDirtyRatio: number; lastCleaningMs: number; uncleanable: ReadonlySet<string> };
  /** Transactions this broker coordinates, per state (Kafka's names), for kastor_transactions. */
  transactions?(): Record<string, number>;
  /** High watermark minus last stable offset of each partition this broker leads (open transactions hold it back). */
  lastStableOffsetLag?(): Array<{ topic: string; partition: number; lag: number }>;
  /** Consumers' fetch sessions (KIP-227, src/broker/fetch-sessions.ts): open, partitions they hold, evicted since start. */
  fetchSessions?(): { open: number; partitions: number; evicted: number };
  /** Process metrics (CPU, memory, event loop lag); off when several brokers share a process (default true). */
  processMetrics?: boolean;
}

/** Running totals a dashboard turns into throughput (see status-publisher.ts). */
export interface Throughput {
  bytesIn: number;
  bytesOut: number;
  recordsIn: number;
  recordsOut: number;
}

export class BrokerMetrics {
  readonly registry = new Registry();
  readonly bytesIn: Counter<'topic'>;
  readonly bytesOut: Counter<'topic'>;
  readonly recordsIn: Counter<'topic'>;
  readonly recordsOut: Counter<'topic'>;
  readonly requests: Counter<'api'>;
  readonly requestErrors: Counter<'api'>;
  readonly requestDuration: Histogram<'api'>;
  readonly isrShrinks: Counter;
  readonly isrExpands: Counter;
  readonly leaderElections: Counter;
  /** Incremented by the group coordinator at each rebalance it starts (PreparingRebalance). */
  readonly groupRebalances: Counter;
  /** Requests (or parts of one) the authorizer denied (src/security/broker-authorizer.ts). */
  readonly authorizationDenied: Counter<'operation' | 'resource_type'>;
  /** Totals since start, kept as plain numbers for the status the dashboard reads. */
  readonly throughput: Throughput = { bytesIn: 0, bytesOut: 0, recordsIn: 0, recordsOut: 0 };

  constructor(private readonly src: BrokerMetricsSources) {
    const registers = [this.registry];
    this.registry.setDefaultLabels({ broker: String(src.brokerId) });
    // prom-client samples event-loop delay with a 10 ms timer by default: a hundred wake-ups a second, most of
    // an idle broker's CPU. Every 100 ms still catches any stall worth a look.
    if (src.processMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'kastor_', eventLoopMonitoringPrecision: 100 });
    this.bytesIn = new Counter({ name: 'kastor_bytes_in_total', help: 'Record batch bytes appended by producers (Kafka BytesInPerSec)', labelNames: ['topic'], registers });
    this.bytesOut = new Counter({ name: 'kastor_bytes_out_total', help: 'Record batch bytes sent to consumers (Kafka BytesOutPerSec)', labelNames: ['topic'], registers });
    this.recordsIn = new Counter({ name: 'kastor_records_in_total', help: 'Records appended by producers, counted from batch headers (Kafka MessagesInPerSec)', labelNames: ['topic'], registers });
    this.recordsOut = new Counter({ name: 'kastor_records_out_total', help: 'Records sent to consumers, counted from batch headers', labelNames: ['topic'], registers });
    this.requests = new Counter({ name: 'kastor_requests_total', help: 'Kafka requests handled, per API', labelNames: ['api'], registers });
    this.requestErrors = new Counter({ name: 'kastor_request_failures_total', help: 'Kafka requests that closed the connection or threw, per API', labelNames: ['api'], registers });
    this.requestDuration = new Histogram({
      name: 'kastor_request_duration_seconds',
      help: 'Time from a decoded request to its encoded response, per API (Kafka TotalTimeMs; long-polled fetches included)',
      labelNames: ['api'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.isrShrinks = new Counter({ name: 'kastor_isr_shrinks_total', help: 'ISR shrinks of partitions this broker leads (Kafka IsrShrinksPerSec)', registers });
    this.isrExpands = new Counter({ name: 'kastor_isr_expands_total', help: 'ISR expansions of partitions this broker leads (Kafka IsrExpandsPerSec)', registers });
    this.leaderElections = new Counter({ name: 'kastor_leader_elections_total', help: 'Leader epoch bumps committed while this broker was the active controller (Kafka LeaderElectionRateAndTimeMs count)', registers });
    this.groupRebalances = new Counter({ name: 'kastor_group_rebalances_total', help: 'Consumer group rebalances started by this broker as group coordinator', registers });
    this.authorizationDenied = new Counter({ name: 'kastor_authorization_denied_total', help: 'Operations on a resource the authorizer denied, each also an "authorization denied" log line', labelNames: ['operation', 'resource_type'], registers });

    src.subscribe?.((next, prev) => this.observe(next, prev));
    const self = this;
    new Gauge({
      name: 'kastor_partitions',
      help: 'Partition replicas hosted by this broker',
      registers,
      collect() {
        this.set(self.hosted().length);
      },
    });
    new Gauge({
      name: 'kastor_leader_partitions',
      help: 'Partitions this broker leads (Kafka LeaderCount)',
      registers,
      collect() {
        this.set(self.led().length);
      },
    });
    new Gauge({
      name: 'kastor_under_replicated_partitions',
      help: 'Partitions this broker leads whose ISR is smaller than the replica set (Kafka UnderReplicatedPartitions)',
      registers,
      collect() {
        this.set(self.led().filter((p) => p.isr.length < p.replicas.length).length);
      },
    });
    new Gauge({
      name: 'kastor_offline_partitions',
      help: 'Partitions of the cluster without a live leader, reported by the active controller only (Kafka OfflinePartitionsCount)',
      registers,
      collect() {
        const s = src.snapshot();
        this.set(self.reportsClusterWide(s) ? offlinePartitions(s) : 0);
      },
    });
    new Gauge({
      name: 'kastor_active_controller',
      help: '1 while this broker is the active controller (Kafka ActiveControllerCount)',
      registers,
      collect() {
        this.set(src.snapshot().controller?.brokerId === src.brokerId ? 1 : 0);
      },
    });
    new Gauge({
      name: 'kastor_partition_log_end_offset',
      help: 'Log end offset of each local replica',
      labelNames: ['topic', 'partition', 'role'],
      registers,
      collect() {
        this.reset();
        for (const r of src.replicas()) if (r.log) this.set({ topic: r.topic, partition: String(r.partition), role: r.role }, r.log.logEndOffset);
      },
    });
    const cleaner = src.cleaner;
    if (cleaner) {
      // Kafka's LogCleaner and LogCleanerManager metrics (max-dirty-percent, max-clean-time-secs,
      // uncleanable-partitions-count), plus what the cleaner moved and removed.
      const gauge = (name: string, help: string, read: () => number) => readGauge(registers, name, help, read);
      gauge('kastor_log_cleaner_max_dirty_ratio', 'Highest dirty ratio among the compacted logs at the last cleaner pass (Kafka max-dirty-percent / 100)', () => cleaner().maxDirtyRatio);
      gauge('kastor_log_cleaner_last_clean_seconds', 'Duration of the last log cleaning (Kafka max-clean-time-secs)', () => cleaner().lastCleaningMs / 1000);
      gauge('kastor_log_cleaner_uncleanable_partitions', 'Local logs whose last cleaning failed (Kafka uncleanable-partitions-count)', () => cleaner().uncleanable.size);
      gauge('kastor_log_cleaner_cleanings', 'Log cleanings done since start', () => cleaner().cleanings);
      gauge('kastor_log_cleaner_read_bytes', 'Bytes the log cleaner read since start', () => cleaner().bytesRead);
      gauge('kastor_log_cleaner_written_bytes', 'Bytes the log cleaner wrote since start', () => cleaner().bytesWritten);
      gauge('kastor_log_cleaner_removed_records', 'Records the log cleaner removed since start', () => cleaner().recordsRemoved);
    }
    const transactions = src.transactions;
    if (transactions) {
      new Gauge({
        name: 'kastor_transactions',
        help: 'Transactional ids this broker coordinates, per state (Ongoing: open transactions)',
        labelNames: ['state'],
        registers,
        collect() {
          this.reset();
          for (const [state, n] of Object.entries(transactions())) this.set({ state }, n);
        },
      });
    }
    const sessions = src.fetchSessions;
    if (sessions) {
      // Kafka's FetchSessionCache metrics: NumIncrementalFetchSessions, NumIncrementalFetchPartitionsCached and the evictions.
      const gauge = (name: string, help: string, read: () => number) => readGauge(registers, name, help, read);
      gauge('kastor_fetch_sessions', 'Fetch sessions (KIP-227) consumers hold open on this broker', () => sessions().open);
      gauge('kastor_fetch_session_partitions', 'Partitions the open fetch sessions hold', () => sessions().partitions);
      gauge('kastor_fetch_sessions_evicted', 'Fetch sessions evicted for new ones since start', () => sessions().evicted);
    }
    const lsoLag = src.lastStableOffsetLag;
    if (lsoLag) {
      new Gauge({
        name: 'kastor_partition_last_stable_offset_lag',
        help: 'High watermark minus last stable offset of each partition this broker leads: records read_committed consumers wait for',
        labelNames: ['topic', 'partition'],
        registers,
        collect() {
          this.reset();
          for (const l of lsoLag()) this.set({ topic: l.topic, partition: String(l.partition) }, l.lag);
        },
      });
    }
    new Gauge({
      name: 'kastor_partition_high_watermark',
      help: 'High watermark of each local replica',
      labelNames: ['topic', 'partition', 'role'],
      registers,
      collect() {
        this.reset();
        for (const r of src.replicas()) if (r.log) this.set({ topic: r.topic, partition: String(r.partition), role: r.role }, r.log.highWatermark);
      },
    });
  }

  /** Bytes and records a producer appended to `topic` (one call per partition batch). */
  produced(topic: string, bytes: number, records: number): void {
    this.bytesIn.inc({ topic }, bytes);
    this.recordsIn.inc({ topic }, records);
    this.throughput.bytesIn += bytes;
    this.throughput.recordsIn += records;
  }

  /** Bytes and records sent to a consumer from `topic` (one call per partition in a fetch response). */
  fetched(topic: string, bytes: number, records: number): void {
    this.bytesOut.inc({ topic }, bytes);
    this.recordsOut.inc({ topic }, records);
    this.throughput.bytesOut += bytes;
    this.throughput.recordsOut += records;
  }

  /** Times one request; call the returned function when it is answered (failed: it closed the connection). */
  startRequest(api: string): (failed?: boolean) => void {
    const end = this.requestDuration.startTimer({ api });
    return (failed = false) => {
      end();
      this.requests.inc({ api });
      if (failed) this.requestErrors.inc({ api });
    };
  }

  /** Counts the ISR and leadership changes between two successive metadata snapshots. */
  observe(next: ClusterSnapshot, prev: ClusterSnapshot): void {
    // Most snapshots are controller lease renewals (twice a second) with the same topics: nothing to count.
    if (next.topics === prev.topics) return;
    const me = this.src.brokerId;
    const controlling = next.controller?.brokerId === me;
    for (const topic of Object.values(next.topics)) {
      const before = prev.topics[topic.name];
      if (!before || before.id !== topic.id || before === topic) continue;
      for (const p of topic.partitions) {
        const q = before.partitions[p.partition];
        if (!q || q === p) continue;
        if (controlling && p.leaderEpoch > q.leaderEpoch) this.leaderElections.inc();
        // Kafka counts shrinks and expands on the partition leader; an ISR change with the leader change is an election.
        if (p.leader !== me || q.leader !== me) continue;
        if (q.isr.some((b) => !p.isr.includes(b))) this.isrShrinks.inc();
        if (p.isr.some((b) => !q.isr.includes(b))) this.isrExpands.inc();
      }
    }
  }

  /** The Prometheus text exposition. */
  async exposition(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  private hosted(): PartitionState[] {
    const me = this.src.brokerId;
    return Object.values(this.src.snapshot().topics).flatMap((t) => t.partitions.filter((p) => p.replicas.includes(me)));
  }

  private led(): PartitionState[] {
    return this.hosted().filter((p) => p.leader === this.src.brokerId);
  }

  /** Cluster-wide gauges come from one broker only, so that a sum over brokers counts each partition once. */
  private reportsClusterWide(s: ClusterSnapshot): boolean {
    if (s.controller) return s.controller.brokerId === this.src.brokerId;
    const ids = Object.keys(s.brokers).map(Number);
    return ids.length > 0 && Math.min(...ids) === this.src.brokerId;
  }
}

/** Partitions whose leader is none or a broker that is not registered. */
export function offlinePartitions(s: ClusterSnapshot): number {
  let n = 0;
  for (const t of Object.values(s.topics)) for (const p of t.partitions) if (p.leader < 0 || !s.brokers[p.leader]) n++;
  return n;
}

/** A gauge without labels whose value `read` gives at each scrape. */
function readGauge(registers: Registry[], name: string, help: string, read: () => number): Gauge {
  return new Gauge({
    name,
    help,
    registers,
    collect() {
      this.set(read());
    },
  });
}

// The broker actor: machines/broker.ts given its effects — the cluster metadata, the partition replicas,
// the client listener, the periodic flush and retention passes (regions of the machine's running state), and the control plane: heartbeats, the
// controller actor every broker runs (one of them holds the lease), and controlled shutdown before the logs
// close.
//
// createBroker assembles a broker on a Runtime (src/runtime/runtime.ts) and does no I/O of its own: time,
// messaging, the metadata bucket, the disk and ids all come from the runtime, and clients reach it through
// whatever `listen` attaches in front of its request router (the Kafka TCP listener in a broker process,
// src/runtime/node/node-broker.ts; nothing, or a simulator feeding frames, in one process). So several
// brokers run in one process, on real NATS or on the memory runtime. The actor's systemId is `broker-<id>`.
import type { BrokerEndpoint } from '../src/security/listeners.ts';
import type { PartitionReplica } from '../src/broker/partition-replica.ts';
import type { PartitionLog } from '../src/log/partition-log.ts';
import { transportLivenessProbe, serveLivenessProbe } from '../src/controller/liveness-probe.ts';
import { createActor, fromPromise, type Actor, type InspectionEvent, type Observer } from 'xstate';
import { brokerMachine } from '../machines/broker.ts';
import { staticSettingsOf, type BrokerConfig } from '../src/broker/broker-config.ts';
import { MetadataStore } from '../src/metadata/metadata-store.ts';
import type { ClusterSnapshot } from '../src/metadata/types.ts';
import { PartitionRegistry } from '../src/broker/partition-registry.ts';
import { LogDirCheckpoints } from '../src/log/log-dir-checkpoints.ts';
import { LogCleanerManager, topicOverridesOf } from '../src/broker/log-cleaner-manager.ts';
import { reconfigurableSettings, staticReconfigurableConfigs, type ReconfigurableSettings } from '../src/metadata/reconfigurable-config.ts';
import { TopicAdmin } from '../src/broker/topic-admin.ts';
import { createRequestRouter } from '../src/broker/request-router.ts';
import type { RequestHandler } from '../src/broker/request-handler.ts';
import { GroupCoordinator } from '../src/group/group-coordinator.ts';
import { TxnCoordinator } from '../src/txn/txn-coordinator.ts';
import { writeTxnMarkers } from '../src/broker/txn-markers.ts';
import { PRODUCER_ID_BLOCK_SIZE, ProducerIdAllocator } from '../src/producer-state/producer-id-allocator.ts';
import type { BrokerServices } from '../src/broker/broker-services.ts';
import type { Runtime, Transport } from '../src/runtime/runtime.ts';
import type { Logger } from '../src/util/logger.ts';
import { Slots } from '../src/util/slots.ts';
import { BrokerAuthorizer } from '../src/security/broker-authorizer.ts';
import { FetchSessionCache } from '../src/broker/fetch-sessions.ts';
import { BrokerMetrics } from '../src/metrics/broker-metrics.ts';
import { ActorDirectory } from '../src/inspect/actor-directory.ts';
import { brokerActors } from '../src/inspect/broker-actors.ts';
import { ControllerActor } from './controller-actor.ts';
import { ControllerLease } from '../src/metadata/controller-lease.ts';
import { subjectsFor } from '../src/transport/subjects.ts';
import { HeartbeatPublisher } from '../src/controller/heartbeat-publisher.ts';
import { requestControlledShutdown } from '../src/controller/controlled-shutdown.ts';
import { askController } from '../src/controller/controller-request.ts';
import { REPLICA_OFFLINE_RETRY_ON, type ReplicaOfflineResponse } from '../src/controller/replica-offline.ts';
import { ReplicationService, type ReplicationSettings } from '../src/replication/replication-service.ts';
import { transportProposeIsr, type ProposeIsr } from '../src/replication/isr-proposal.ts';

/** A client front end attached to a broker's request router (the Kafka TCP listener in a broker process). */
export interface ClientListener {
  /** The port clients reach (the bound one when the config asked for port 0). */
  readonly port: number;
  /** Every listener's advertised address (bound ports resolved), registered for Metadata to answer per listener. */
  readonly endpoints?: BrokerEndpoint[];
  /** Stops taking connections; requests in flight get up to `graceMs` to be answered. */
  stop(graceMs?: number): Promise<void>;
}

export interface BrokerDeps {
  logger: Logger;
  /** Attaches the client front end once the broker can serve (before it registers): none in simulation. */
  listen?: (handler: RequestHandler) => Promise<ClientListener>;
  /** The runtime's link to the cluster when it has one to close: crash() cuts it at once, a stop drains it last. */
  link?: { cut(): Promise<void>; drain(): Promise<void> };
  /** Replication tuning (replica.lag.time.max.ms, fetch wait); proposeIsr replaces the controller client in tests. */
  replication?: Partial<ReplicationSettings> & { proposeIsr?: ProposeIsr };
  /** An inspection observer for the broker actor from its creation (`--inspect`: the Stately inspector). */
  inspect?: Observer<InspectionEvent>;
}

/** How often a changed log's checkpoints are written at most (Kafka's replica.high.watermark.checkpoint.interval.ms). */
const CHECKPOINT_INTERVAL_MS = 5_000;

/** How long a broker keeps asking the controller to move an offline replica's leadership away. */
const REPLICA_OFFLINE_REPORT_MS = 30_000;

/** Logs the periodic flush syncs at once (the thread pool has UV_THREADPOOL_SIZE threads: 16 for a broker). */
const FLUSH_PASS_LOGS_AT_ONCE = 8;

/** What the periodic flush last made durable of one log. */
interface LogPersisted {
  flushedEnd: number;
  /** The log end, high watermark and log start its checkpoints hold, and when they were written. */
  end: number;
  highWatermark: number;
  start: number;
  checkpointedAt: number;
}

/** The running parts of a broker, filled in as it starts. */
interface Parts {
  metadata?: MetadataStore;
  registry?: PartitionRegistry;
  handler?: RequestHandler;
  listener?: ClientListener;
  unsubscribe?: () => void;
  services?: BrokerServices;
  lease?: ControllerLease;
  heartbeat?: HeartbeatPublisher;
  alive?: { stop(): void };
  controller?: ControllerActor;
  replication?: ReplicationService;
}

/** A broker on `runtime`, not started yet (`start()`). */
export function createBroker(runtime: Runtime, config: BrokerConfig, deps: BrokerDeps): Broker {
  return new Broker(runtime, config, deps);
}

export class Broker {
  readonly actor: Actor<typeof brokerMachine>;
  readonly incarnation: string;
  private readonly parts: Parts = {};
  private readonly clock: Runtime['clock'];
  private readonly logger: Logger;
  private readonly replicationDeps: BrokerDeps['replication'];
  /** What the periodic flush last made durable of each log. */
  private readonly persisted = new WeakMap<PartitionLog, LogPersisted>();
  /** Set by crash(): the broker vanishes without telling the cluster anything. */
  private crashed = false;
  /** Log compaction of this broker's replicas (the `cleaner` region's passes). */
  readonly cleaner: LogCleanerManager;

  constructor(
    readonly runtime: Runtime,
    readonly config: BrokerConfig,
    private readonly deps: BrokerDeps,
  ) {
    this.clock = runtime.clock;
    this.incarnation = runtime.ids.ulid();
    this.logger = deps.logger.child({ broker: config.brokerId });
    this.replicationDeps = deps.replication;
    this.cleaner = new LogCleanerManager({
      clock: this.clock,
      logger: this.logger.child({ component: 'log-cleaner' }),
      ioMaxBytesPerSecond: () => this.settings().cleanerIoMaxBytesPerSecond,
      topicConfig: (topic) => {
        const snapshot = this.parts.metadata?.snapshot();
        return snapshot ? topicOverridesOf(snapshot, topic, config.brokerId, config.topicDefaults) : null;
      },
    });
    const machine = brokerMachine.provide({
      actors: {
        start: fromPromise(() => this.startParts()),
        register: fromPromise(() => this.register()),
        reregister: fromPromise(() => this.reregister()),
        shutdown: fromPromise(() => this.shutdownParts()),
        flushPass: fromPromise(() => this.flushPass()),
        retentionPass: fromPromise(() => this.retentionPass()),
        cleanerPass: fromPromise(() => this.cleanerPass()),
      },
      actions: {
        startServing: () => this.startControlPlane(),
        stopServing: () => void this.parts.listener?.stop(0),
      },
    });
    this.actor = createActor(machine, {
      systemId: `broker-${config.brokerId}`,
      clock: runtime.clock,
      input: {
        brokerId: config.brokerId,
        incarnation: this.incarnation,
        flushIntervalMs: config.flush === 'interval' ? config.flushIntervalMs : null,
        retentionCheckIntervalMs: config.retentionCheckIntervalMs,
        cleanerBackoffMs: config.logCleanerEnable ? config.logCleanerBackoffMs : null,
      },
      inspect: deps.inspect,
    });
  }

  /** Starts the broker and resolves once it serves clients; rejects with the reason when it cannot start. */
  async start(): Promise<void> {
    this.actor.start();
    await new Promise<void>((resolve, reject) => {
      const check = () => {
        const s = this.actor.getSnapshot();
        if (s.matches('running')) return resolve(), true;
        if (s.status === 'done' || s.matches('shuttingDown')) return reject(new Error(`broker ${this.config.brokerId} failed to start: ${s.context.error ?? 'stopped'}`)), true;
        return false;
      };
      if (check()) return;
      const sub = this.actor.subscribe(() => check() && sub.unsubscribe());
    });
  }

  /** Clean shutdown: answers in-flight requests, flushes and closes every log, leaves the cluster. */
  async stop(): Promise<void> {
    if (this.actor.getSnapshot().status === 'done') return;
    this.actor.send({ type: 'SHUTDOWN' });
    await new Promise<void>((resolve) => {
      if (this.actor.getSnapshot().status === 'done') return resolve();
      const sub = this.actor.subscribe({ complete: () => (sub.unsubscribe(), resolve()) });
    });
  }

  get port(): number {
    return this.parts.listener?.port ?? this.config.port;
  }

  /** Every listener's advertised endpoint, once listening. */
  get endpoints(): BrokerEndpoint[] | undefined {
    return this.parts.listener?.endpoints;
  }

  get services(): BrokerServices | undefined {
    return this.parts.services;
  }

  /** The runtime's transport (the dashboard's status publisher uses it). */
  get transport(): Transport {
    return this.runtime.transport;
  }

  /** The request router once started: what the client listener feeds frames to (a simulator can too). */
  get requestHandler(): RequestHandler | undefined {
    return this.parts.handler;
  }

  /** This broker's controller actor (every broker runs one; at most one is active). */
  get controller(): ControllerActor | undefined {
    return this.parts.controller;
  }

  /**
   * A crash as the cluster sees it (what SIGKILL does to a broker process): the runtime's link (the NATS
   * connection) is cut at once, so heartbeats and lease renewals stop and no controlled shutdown or
   * deregistration is sent; then local resources are released so a test can run several brokers in one process.
   */
  async crash(): Promise<void> {
    this.crashed = true;
    this.parts.heartbeat?.stop();
    this.parts.alive?.stop();
    await this.deps.link?.cut().catch(() => {});
    await this.stop();
  }

  private async startParts(): Promise<void> {
    const { config, runtime } = this;
    await runtime.storage.mkdir(config.dataDir);
    const kv = runtime.kv;
    this.parts.lease = new ControllerLease(kv, this.clock);
    const metadata = await MetadataStore.open(kv, { clock: this.clock, ids: runtime.ids, onWarning: (msg, facts) => this.logger.warn(msg, facts) });
    this.parts.metadata = metadata;
    const clusterId = await metadata.ensureClusterId();
    const { proposeIsr, ...replicationSettings } = this.replicationDeps ?? {};
    const subjects = subjectsFor(config.metadataBucket);
    const replication = new ReplicationService({
      brokerId: config.brokerId, incarnation: this.incarnation, clock: this.clock, logger: this.logger.child({ part: 'replication' }),
      transport: runtime.transport,
      subjectFor: (id) => subjects.replicaFetch(id), proposeIsr: proposeIsr ?? transportProposeIsr(runtime.transport, subjects), settings: replicationSettings,
    });
    this.parts.replication = replication;
    // Before any log opens: they read their recovery points and high watermarks from it.
    const dirCheckpoints = await LogDirCheckpoints.load(runtime.storage, config.dataDir, (msg, facts) => this.logger.warn(msg, facts as Record<string, unknown>));
    const registry = new PartitionRegistry({
      replication,
      brokerId: config.brokerId,
      dataDir: config.dataDir,
      storage: runtime.storage,
      dirCheckpoints,
      clock: this.clock,
      logger: this.logger,
      brokerLogConfig: { flush: config.flush, flushIntervalMs: config.flushIntervalMs },
      topicDefaults: config.topicDefaults,
      onLeading: (replica) => {
        this.parts.services?.groups?.replicaLeads(replica.topic);
        this.parts.services?.txn?.replicaLeads(replica.topic);
      },
      onOffline: (replica) => this.reportOfflineReplica(replica),
      mayLead: (snapshot) => this.mayLead(snapshot),
    });
    this.parts.registry = registry;
    replication.start(registry);
    const topics = new TopicAdmin({
      metadata,
      ids: runtime.ids,
      registry,
      brokerId: config.brokerId,
      numPartitions: config.numPartitions,
      defaultReplicationFactor: config.defaultReplicationFactor,
      topicDefaults: config.topicDefaults,
      clock: this.clock,
      logger: this.logger,
    });
    const services: BrokerServices = {
      config,
      brokerId: config.brokerId,
      clusterId,
      metadata,
      registry,
      topics,
      logger: this.logger,
      clock: this.clock,
      ids: runtime.ids,
      groups: new GroupCoordinator({
        brokerId: config.brokerId,
        metadata,
        registry,
        topics,
        logger: this.logger,
        clock: this.clock,
        onRebalance: () => this.parts.services?.metrics.groupRebalances.inc(),
      }),
      txn: new TxnCoordinator({
        brokerId: config.brokerId,
        metadata,
        registry,
        topics,
        logger: this.logger.child({ part: 'txn' }),
        clock: this.clock,
        transport: runtime.transport,
        subjects,
        allocateProducerId: () => services.producerIds.allocate(),
        writeLocalMarkers: (markers, timeoutMs) => writeTxnMarkers(services, markers, timeoutMs),
        maxTimeoutMs: config.transactionMaxTimeoutMs,
        idExpirationMs: config.transactionalIdExpirationMs,
      }),
      producerIds: new ProducerIdAllocator(() => metadata.reserveProducerIdBlock(config.brokerId, PRODUCER_ID_BLOCK_SIZE)),
      metrics: new BrokerMetrics({
        brokerId: config.brokerId,
        snapshot: () => metadata.snapshot(),
        replicas: () => registry.all(),
        subscribe: (fn) => metadata.subscribe(fn),
        cleaner: () => this.cleaner.stats,
        transactions: () => {
          const counts: Record<string, number> = {};
          for (const shard of this.parts.services?.txn?.shards.loaded() ?? []) for (const m of shard.txns.values()) counts[m.state] = (counts[m.state] ?? 0) + 1;
          return counts;
        },
        fetchSessions: () => this.parts.services?.fetchSessions?.stats() ?? { open: 0, partitions: 0, evicted: 0 },
        lastStableOffsetLag: () =>
          [...registry.all()].flatMap((r) => (r.role === 'leader' && r.log ? [{ topic: r.topic, partition: r.partition, lag: r.log.highWatermark - r.lastStableOffset(r.log) }] : [])),
      }),
      authorizer: config.authorizer
        ? new BrokerAuthorizer({
            settings: config.authorizer,
            metadata,
            logger: this.logger.child({ part: 'authorizer' }),
            onDenied: (operation, resourceType) => this.parts.services?.metrics.authorizationDenied.inc({ operation, resource_type: resourceType }),
          })
        : undefined,
      fetchSessions: new FetchSessionCache({ now: () => this.clock.monotonic(), randomId: () => 1 + Math.floor(runtime.ids.random() * 0x7ffffffe) }),
      actors: new ActorDirectory(() => brokerActors({ brokerId: config.brokerId, actor: this.actor, controller: () => this.parts.controller?.actor, replicas: () => registry.all() })),
      askController: (subject, request, timeoutMs) =>
        askController({ transport: runtime.transport, subject: subjects[subject], request, timeoutMs, clock: this.clock, abandoned: () => this.crashed || this.actor.getSnapshot().status !== 'active' }),
      controllerId: (s: ClusterSnapshot) => s.controller?.brokerId ?? Math.min(...Object.keys(s.brokers).map(Number), config.brokerId),
    };
    this.parts.services = services;
    // Local replicas recover their logs as soon as the metadata names them; logs of topics deleted while this
    // broker was away go, if a later look at the metadata agrees (removeStrays).
    registry.reconcile(metadata.snapshot());
    void registry.removeStrays(() => metadata.snapshot()).catch((err: unknown) => this.logger.error('removing logs of deleted topics failed', { error: err as Error }));
    services.groups?.start();
    services.txn?.start();
    services.actors.addSource(() => services.groups?.liveActors() ?? []);
    services.actors.addSource(() => services.txn?.liveActors() ?? []);
    services.actors.provideGroups(() => services.groups?.summaries() ?? []);
    this.parts.unsubscribe = metadata.subscribe((next, prev) => {
      // Every controller lease renewal is a new snapshot (its revision moved) with the same topics: only a
      // change of the topics can concern the replicas, and a pass over thousands of them twice a second would
      // be most of an idle broker's work.
      // A dynamic broker config (AlterConfigs on a broker resource) changes the settings of every topic that
      // has no override of its own.
      if (next.topics !== prev.topics || next.brokerConfigs !== prev.brokerConfigs || this.mayLead(next) !== this.mayLead(prev)) registry.reconcile(next);
      const me = next.brokers[config.brokerId];
      if (me && me.incarnation !== this.incarnation && this.actor.getSnapshot().matches('running')) {
        this.logger.error('another broker registered with this id; stopping service', { incarnation: me.incarnation });
        this.actor.send({ type: 'FENCED', by: me.incarnation });
      }
      if (!me && prev.brokers[config.brokerId]?.incarnation === this.incarnation && !this.crashed) this.actor.send({ type: 'DEREGISTERED' });
    });
    this.parts.handler = createRequestRouter(services);
    if (this.deps.listen) this.parts.listener = await this.deps.listen(this.parts.handler);
  }

  /**
   * Whether this broker may lead partitions: only once registered as this incarnation and unfenced by the
   * controller. Before that the metadata may still name it leader from its previous life, whose log a power
   * loss may have cut short; leading then would hand out offsets its followers already hold other records at.
   */
  private mayLead(snapshot: ClusterSnapshot): boolean {
    const me = snapshot.brokers[this.config.brokerId];
    return me !== undefined && me.incarnation === this.incarnation && me.fenced !== true;
  }

  private async register(): Promise<void> {
    const { config } = this;
    await this.parts.metadata!.registerBroker({
      id: config.brokerId,
      host: config.advertisedHost,
      port: config.port === 0 && this.parts.listener ? this.parts.listener.port : config.advertisedPort,
      rack: config.rack,
      endpoints: this.parts.listener?.endpoints,
      incarnation: this.incarnation,
      registeredAt: this.clock.wall(),
      // Until the controller has voided what a previous life of this broker held (BrokerInfo.fenced).
      fenced: true,
    });
    this.logger.info('broker registered and serving', { listen: `${config.host}:${this.port}`, rack: config.rack, incarnation: this.incarnation });
  }

  /**
   * The controller deleted this broker's registration while it runs: it was frozen or cut off past its
   * session timeout (a zombie) and is alive after all. It registers again with the same incarnation (the
   * machine's `reregistering` state, retried until it succeeds); its partitions stay followers because the
   * controller moved their epochs on.
   */
  private async reregister(): Promise<void> {
    if (this.parts.metadata?.snapshot().brokers[this.config.brokerId]?.incarnation === this.incarnation) return;
    this.logger.warn('this broker was deregistered by the controller while running; registering again', { incarnation: this.incarnation });
    try {
      await this.register();
    } catch (err) {
      this.logger.error('registering again failed; trying again', { error: err as Error });
      throw err;
    }
  }

  /**
   * One pass of the periodic flush (flush=interval; the machine's `flush` region runs one at a time), over the
   * logs that changed only: an idle broker with thousands of partitions must not fsync thousands of files a
   * second. A log's data is fsynced every pass it grew; its recovery-point and high-watermark checkpoints and
   * its producer-state snapshot (small files, each written, synced and renamed; the snapshot only when the log
   * end moved) at most every CHECKPOINT_INTERVAL_MS, as Kafka writes its high-watermark checkpoint every 5 s: a
   * checkpoint behind the log only makes recovery scan a little more, and a restarted replica's high watermark a
   * little older. Producers idle past producer.id.expiration.ms leave the producer state as it is snapshotted.
   * The check is synchronous and allocates nothing for an unchanged log: most of the replicas are idle. An
   * offline replica's log failed: nothing to flush.
   */
  private async flushPass(): Promise<void> {
    const registry = this.parts.registry;
    if (!registry) return;
    const seen = this.persisted;
    const now = this.clock.wall();
    const expiry = { now, ms: this.settings().producerIdExpirationMs };
    const work: Array<{ r: PartitionReplica; log: PartitionLog; flush: boolean; checkpoint: boolean }> = [];
    for (const r of registry.all()) {
      const log = r.log;
      if (!log) continue;
      let p = seen.get(log);
      if (!p) seen.set(log, (p = { flushedEnd: -1, end: -1, highWatermark: -1, start: -1, checkpointedAt: -Infinity }));
      const flush = p.flushedEnd !== log.logEndOffset;
      const checkpoint = (p.end !== log.logEndOffset || p.highWatermark !== log.highWatermark || p.start !== log.logStartOffset) && now - p.checkpointedAt >= CHECKPOINT_INTERVAL_MS;
      // The role (a look at the actor's snapshot) only for the few with work: most of 10,000 idle logs have none.
      if ((flush || checkpoint) && r.role !== 'offline') work.push({ r, log, flush, checkpoint });
    }
    // A few logs at a time: the thread pool runs file operations in arrival order, and thousands of syncs queued at
    // once (every log changed: a failover, or thousands of partitions under load) made every other file operation
    // wait behind them — a follower's truncation waits for its log's sync, and its fetcher for the truncation.
    const slots = new Slots(FLUSH_PASS_LOGS_AT_ONCE);
    await Promise.all(
      work.map(({ r, log, flush, checkpoint }) => slots.run(async () => {
        const p = seen.get(log)!;
        const end = log.logEndOffset;
        const highWatermark = log.highWatermark;
        const start = log.logStartOffset;
        try {
          // The producer state is captured before the flush, which syncs the log past the snapshot's offset.
          const snapshot = checkpoint ? await r.captureProducerState(log, expiry) : null;
          if (flush || (snapshot && snapshot.offset > log.recoveryPoint)) {
            await log.flush();
            p.flushedEnd = end;
          }
          if (checkpoint) {
            if (snapshot) await log.writeProducerSnapshot(snapshot.offset, snapshot.lines, snapshot.truncationCount);
            await log.checkpoint();
            Object.assign(p, { end, highWatermark, start, checkpointedAt: now });
          }
        } catch (err) {
          this.logger.error('periodic flush failed', { topic: r.topic, partition: r.partition, error: err as Error });
        }
      })),
    );
  }

  /** One retention pass (the machine's `retention` region): segments past retention.ms/retention.bytes go. */
  private async retentionPass(): Promise<void> {
    const now = this.clock.wall();
    await Promise.all(
      (this.parts.registry?.all() ?? []).map(async (r) => {
        if (r.role === 'offline') return;
        try {
          await r.log?.applyRetention(now);
        } catch (err) {
          this.logger.error('retention failed', { topic: r.topic, partition: r.partition, error: err as Error });
        }
      }),
    );
  }

  /** One log cleaner pass (the machine's `cleaner` region): the local compacted log most in need is cleaned. */
  private async cleanerPass(): Promise<boolean> {
    const registry = this.parts.registry;
    if (!registry) return false;
    const report = await this.cleaner.pass(registry.all());
    // log.cleaner.backoff.ms may have been changed dynamically: the waits after this pass use the current value.
    const backoffMs = this.settings().cleanerBackoffMs;
    if (backoffMs !== this.actor.getSnapshot().context.cleanerBackoffMs) {
      this.logger.info('log cleaner backoff changed', { backoffMs });
      this.actor.send({ type: 'CLEANER_BACKOFF', ms: backoffMs });
    }
    return report !== null && !report.result.aborted;
  }

  /** The settings taken up at runtime, now: this broker's and the cluster's dynamic configs over its static ones. */
  private settings(): ReconfigurableSettings {
    const { config } = this;
    const configs = this.parts.metadata?.snapshot().brokerConfigs;
    const fixed = staticReconfigurableConfigs(staticSettingsOf(config));
    return reconfigurableSettings({ broker: configs?.[String(config.brokerId)], clusterDefault: configs?.[''], static: fixed });
  }

  /** Heartbeats and the controller actor: started once the broker is registered and serving. */
  private startControlPlane(): void {
    const { config } = this;
    const transport = this.runtime.transport;
    const subjects = subjectsFor(config.metadataBucket);
    // Before the first heartbeat, on the same connection: a controller that heard one knows the probe is answered.
    this.parts.alive = serveLivenessProbe(transport, subjects.alive(config.brokerId), this.incarnation);
    this.parts.heartbeat = new HeartbeatPublisher({
      transport,
      subject: subjects.heartbeat,
      heartbeat: { brokerId: config.brokerId, incarnation: this.incarnation },
      intervalMs: config.heartbeatIntervalMs,
      clock: this.clock,
      onError: (err) => this.logger.warn('heartbeat publish failed', { error: err as Error }),
    });
    this.parts.heartbeat.start();
    this.parts.controller = new ControllerActor({
      brokerId: config.brokerId,
      incarnation: this.incarnation,
      metadata: this.parts.metadata!,
      lease: this.parts.lease!,
      transport,
      subjects,
      leaseTtlMs: config.controllerLeaseMs,
      sessionTimeoutMs: config.sessionTimeoutMs,
      heartbeatIntervalMs: config.heartbeatIntervalMs,
      clock: this.clock,
      logger: this.logger.child({ actor: 'controller' }),
      probe: config.crashProbe ? transportLivenessProbe(transport, subjects.alive, 300) : undefined,
      leaderBalance: config.autoLeaderRebalance ? { intervalMs: config.leaderImbalanceCheckIntervalMs, imbalancePercentage: config.leaderImbalancePerBrokerPercentage } : undefined,
    });
    this.parts.controller.start();
  }

  /**
   * A replica's log failed (machines/partition-replica.ts, `offline`): the controller is asked to move its
   * leadership to another ISR member and drop it from the ISR (src/controller/replica-offline.ts), asked again
   * while no controller answers or this broker is not registered yet, until the broker stops.
   */
  private reportOfflineReplica(replica: PartitionReplica): void {
    if (this.crashed) return;
    const { topic, partition } = replica;
    void askController<ReplicaOfflineResponse>({
      transport: this.runtime.transport,
      subject: subjectsFor(this.config.metadataBucket).replicaOffline,
      request: { brokerId: this.config.brokerId, incarnation: this.incarnation, topic, partition },
      timeoutMs: REPLICA_OFFLINE_REPORT_MS,
      clock: this.clock,
      retryOn: REPLICA_OFFLINE_RETRY_ON,
      abandoned: () => this.crashed || this.actor.getSnapshot().status !== 'active' || this.actor.getSnapshot().matches('shuttingDown'),
    }).then((res) => {
      if (res === null) this.logger.warn('no controller took the report of an offline replica; its leadership stays until a restart', { topic, partition });
      else if (res.errorCode !== 0) this.logger.warn('the controller refused the report of an offline replica', { topic, partition, errorCode: res.errorCode });
      else this.logger.info('offline replica reported to the controller', { topic, partition, leader: res.leader });
    });
  }

  /** Kafka's controlled shutdown: leaderships move to other ISR members while this broker still serves. */
  private async controlledShutdown(): Promise<void> {
    const me = this.parts.metadata?.snapshot().brokers[this.config.brokerId];
    if (this.crashed || me?.incarnation !== this.incarnation) return;
    const started = this.clock.monotonic();
    const res = await requestControlledShutdown({
      transport: this.runtime.transport,
      subject: subjectsFor(this.config.metadataBucket).controlledShutdown,
      request: { brokerId: this.config.brokerId, incarnation: this.incarnation },
      timeoutMs: this.config.controlledShutdownTimeoutMs,
      clock: this.clock,
    });
    const tookMs = Math.round(this.clock.monotonic() - started);
    if (res === null) this.logger.warn('controlled shutdown got no answer; shutting down anyway', { tookMs });
    else if (res.errorCode !== 0) this.logger.warn('controlled shutdown refused; shutting down anyway', { errorCode: res.errorCode, tookMs });
    else this.logger.info('controlled shutdown done', { remainingLeaderships: res.remainingLeaderships, tookMs });
  }

  private async shutdownParts(): Promise<void> {
    const step = async (what: string, fn: () => Promise<unknown> | unknown) => {
      try {
        await fn();
      } catch (err) {
        this.logger.error(`shutdown: ${what} failed`, { error: err as Error });
      }
    };
    await step('controlled shutdown', () => this.controlledShutdown());
    await step('stopping the listener', () => this.parts.listener?.stop());
    this.parts.unsubscribe?.();
    await step('stopping replication', () => this.parts.replication?.stop());
    this.parts.services?.authorizer?.stop();
    await step('stopping the group coordinator', () => this.parts.services?.groups?.stop());
    await step('stopping the transaction coordinator', () => this.parts.services?.txn?.stop());
    await step('closing logs', () => this.parts.registry?.stopAll());
    this.parts.heartbeat?.stop();
    this.parts.alive?.stop();
    // A resigning controller deletes the lease so a standby takes over at once instead of after a TTL.
    await step('stopping the controller', () => (this.crashed ? this.parts.controller?.stop() : this.parts.controller?.resign()));
    const me = this.parts.metadata?.snapshot().brokers[this.config.brokerId];
    if (me?.incarnation === this.incarnation && !this.crashed) await step('leaving the cluster', () => this.parts.metadata?.unregisterBroker(this.config.brokerId, this.incarnation));
    await step('closing the metadata store', () => this.parts.metadata?.close());
    if (!this.crashed) await step('closing the runtime\'s link', () => this.deps.link?.drain());
    this.logger.info('broker stopped');
  }
}

// Kastor's admin client: topics (create, grow, delete, list, describe with partitions, replicas, leaders, ISR
// and configs), the cluster (brokers, controller, cluster id) and partition offsets (earliest, latest, for a
// time). CreateTopics, CreatePartitions and DeleteTopics go to the controller, as Kafka requires; per-topic errors come back
// as KafkaProtocolError with the topic named, never as a lost response.
// Transactions (KIP-664, as Kafka's Admin.listTransactions / describeTransactions / describeProducers): listed
// by asking every broker for the ones it coordinates, described at each transactional id's coordinator
// (FindCoordinator key type 1), a partition's producers at its leader.
import { ApiKey } from '../protocol/generated/api-keys.ts';
import { ERRORS } from '../protocol/generated/errors.ts';
import { Cluster, type BrokerInfo, type ClusterOptions, type PartitionMetadata } from './cluster.ts';
import { KafkaClientError, KafkaProtocolError } from './errors.ts';
import { EARLIEST_TIMESTAMP, LATEST_TIMESTAMP, lookupOffsets } from './offset-lookup.ts';
import * as acls from './acls.ts';
import { MATCH_ALL, type AclBinding, type AclFilter } from '../security/acl.ts';

export interface NewTopic {
  topic: string;
  /** Default: the broker's num.partitions (-1). */
  numPartitions?: number;
  /** Default: the broker's default.replication.factor (-1). */
  replicationFactor?: number;
  configs?: Record<string, string>;
}

export interface TopicDescription {
  name: string;
  topicId: string;
  isInternal: boolean;
  partitions: PartitionMetadata[];
  /** Present when describeTopics was asked for configs (the default). */
  configs?: Record<string, { value: string | null; isDefault: boolean; readOnly: boolean; isSensitive: boolean; source?: ConfigSourceName }>;
}

/** Where a config value comes from (DescribeConfigs v1+ config_source). */
export type ConfigSourceName = 'DYNAMIC_TOPIC_CONFIG' | 'DYNAMIC_BROKER_CONFIG' | 'DYNAMIC_DEFAULT_BROKER_CONFIG' | 'STATIC_BROKER_CONFIG' | 'DEFAULT_CONFIG' | 'UNKNOWN';
const SOURCE_NAMES: Record<number, ConfigSourceName> = { 1: 'DYNAMIC_TOPIC_CONFIG', 2: 'DYNAMIC_BROKER_CONFIG', 3: 'DYNAMIC_DEFAULT_BROKER_CONFIG', 4: 'STATIC_BROKER_CONFIG', 5: 'DEFAULT_CONFIG' };

/** A topic, or a broker: its id, or '' for the cluster-wide default of every broker. */
export interface ConfigResource {
  type: 'topic' | 'broker';
  name: string;
}

/** One IncrementalAlterConfigs operation; append and subtract work on list configs (cleanup.policy). */
export interface ConfigOperation {
  name: string;
  op: 'set' | 'delete' | 'append' | 'subtract';
  value?: string;
}

const CONFIG_OPS = { set: 0, delete: 1, append: 2, subtract: 3 } as const;
const CONFIG_RESOURCE_BROKER = 4;

export interface ClusterDescription {
  clusterId: string | null;
  controllerId: number;
  brokers: BrokerInfo[];
}

export interface PartitionOffsets {
  partition: number;
  earliest: bigint;
  latest: bigint;
}

export interface TopicPartitionRef {
  topic: string;
  partition: number;
}

/** One partition's answer to electLeaders or alterPartitionReassignments (errorCode 0: done). */
export interface PartitionResult extends TopicPartitionRef {
  errorCode: number;
  errorMessage: string | null;
}

/** An ongoing reassignment (KIP-455): the whole current replica set, and the replicas being added and removed. */
export interface PartitionReassignment extends TopicPartitionRef {
  replicas: number[];
  addingReplicas: number[];
  removingReplicas: number[];
}

const CONFIG_RESOURCE_TOPIC = 2;
/** DescribeConfigs v1+ configSource DEFAULT_CONFIG (v0 had an isDefault flag instead). */
const CONFIG_SOURCE_DEFAULT = 5;

/** One log directory of one broker (describeLogDirs); sizes in bytes, -1n where unknown. */
export interface LogDirDescription {
  broker: number;
  logDir: string;
  errorCode: number;
  totalBytes: bigint;
  usableBytes: bigint;
  partitions: Array<{ topic: string; partition: number; size: bigint; offsetLag: bigint; isFuture: boolean }>;
}

/** A transaction as its coordinator lists it (listTransactions). */
export interface TransactionListing {
  transactionalId: string;
  producerId: bigint;
  /** Kafka's state name: Empty, Ongoing, PrepareCommit, PrepareAbort, CompleteCommit, CompleteAbort, ... */
  state: string;
  coordinator: number;
}

/** A transactional id's state at its coordinator (describeTransactions). */
export interface TransactionDescription {
  transactionalId: string;
  coordinator: number;
  state: string;
  producerId: bigint;
  producerEpoch: number;
  timeoutMs: number;
  /** When the open transaction started (ms since the epoch); -1 when none is open. */
  startTimeMs: number;
  /** The partitions in the open transaction. */
  topics: Array<{ topic: string; partitions: number[] }>;
}

/** A producer as a partition's leader holds it (describeProducers). */
export interface ProducerDescription {
  producerId: bigint;
  producerEpoch: number;
  lastSequence: number;
  lastTimestamp: number;
  coordinatorEpoch: number;
  /** The first offset of the producer's open transaction on the partition; -1 when none is open. */
  currentTxnStartOffset: bigint;
}

const TRANSACTION_KEY_TYPE = 1;

export class Admin {
  readonly cluster: Cluster;

  constructor(clusterOptions: ClusterOptions) {
    this.cluster = new Cluster(clusterOptions);
  }

  /** Adds ACL bindings (CreateAcls; needs Alter on the cluster). */
  createAcls(bindings: AclBinding[]): Promise<void> {
    return acls.createAcls(this.cluster, bindings);
  }

  /** The ACL bindings a filter matches (DescribeAcls; MATCH_ALL for all of them). */
  describeAcls(filter: AclFilter = MATCH_ALL): Promise<AclBinding[]> {
    return acls.describeAcls(this.cluster, filter);
  }

  /** Removes the bindings each filter matches and returns them (DeleteAcls). */
  deleteAcls(filters: AclFilter[]): Promise<AclBinding[]> {
    return acls.deleteAcls(this.cluster, filters);
  }

  /** Connects and loads the broker list (optional: every call connects on first use). */
  async connect(): Promise<void> {
    await this.cluster.withRetry('connect', () => this.cluster.refreshMetadata([]));
  }

  /**
   * Creates topics; resolves with the names created. A topic that exists already fails with
   * TOPIC_ALREADY_EXISTS unless ifNotExists. Waits until every new partition has a leader (waitForLeaders).
   */
  async createTopics(topics: NewTopic[], opts: { timeoutMs?: number; ifNotExists?: boolean; waitForLeaders?: boolean; validateOnly?: boolean } = {}): Promise<string[]> {
    const results = await this.toController('CreateTopics', async (nc) => {
      const { body } = await this.cluster.send(nc, ApiKey.CreateTopics, (v) => ({
        topics: topics.map((t) => ({
          name: t.topic,
          numPartitions: t.numPartitions ?? -1,
          replicationFactor: t.replicationFactor ?? -1,
          assignments: [],
          configs: Object.entries(t.configs ?? {}).map(([name, value]) => ({ name, value })),
        })),
        timeoutMs: opts.timeoutMs ?? 30_000,
        ...(v >= 1 ? { validateOnly: opts.validateOnly ?? false } : {}),
      }));
      return body.topics.map((t) => ({ name: t.name, errorCode: t.errorCode, message: t.errorMessage }));
    });
    const created: string[] = [];
    for (const r of results) {
      if (r.errorCode === 36 /* TOPIC_ALREADY_EXISTS */ && opts.ifNotExists) continue;
      if (r.errorCode !== 0) throw new KafkaProtocolError(r.errorCode, { topic: r.name, message: r.message });
      created.push(r.name);
    }
    if ((opts.waitForLeaders ?? true) && !opts.validateOnly && created.length > 0) await this.waitForLeaders(created, opts.timeoutMs ?? 30_000);
    return created;
  }

  /**
   * Grows a topic to `count` partitions (CreatePartitions); `assignments` gives each new partition's replicas,
   * otherwise the cluster places them. Fails with INVALID_PARTITIONS when `count` is not above the current
   * count. Waits until the topic shows `count` partitions, each with a leader (unless validateOnly).
   */
  async createPartitions(topic: string, count: number, opts: { assignments?: number[][]; validateOnly?: boolean; timeoutMs?: number } = {}): Promise<void> {
    const timeoutMs = opts.timeoutMs ?? 30_000;
    const [result] = await this.toController('CreatePartitions', async (nc) => {
      const { body } = await this.cluster.send(nc, ApiKey.CreatePartitions, () => ({
        topics: [{ name: topic, count, assignments: opts.assignments ? opts.assignments.map((brokerIds) => ({ brokerIds })) : null }],
        timeoutMs,
        validateOnly: opts.validateOnly ?? false,
      }));
      return body.results.map((r) => ({ name: r.name, errorCode: r.errorCode, message: r.errorMessage }));
    });
    if (!result) throw new KafkaClientError('RETRIES_EXHAUSTED', `CreatePartitions for ${topic} got no result`);
    if (result.errorCode !== 0) throw new KafkaProtocolError(result.errorCode, { topic, message: result.message });
    this.cluster.invalidate([topic]);
    if (!opts.validateOnly) await this.waitForLeaders([topic], timeoutMs, count);
  }

  /** Deletes topics by name; an unknown topic fails with UNKNOWN_TOPIC_OR_PARTITION. */
  async deleteTopics(topics: string[], opts: { timeoutMs?: number } = {}): Promise<void> {
    const results = await this.toController('DeleteTopics', async (nc) => {
      const { body } = await this.cluster.send(nc, ApiKey.DeleteTopics, (v) =>
        v >= 6 ? { topics: topics.map((name) => ({ name, topicId: '00000000000000000000000000000000' })), timeoutMs: opts.timeoutMs ?? 30_000 } : { topicNames: topics, timeoutMs: opts.timeoutMs ?? 30_000 },
      );
      return body.responses.map((r) => ({ name: r.name ?? '', errorCode: r.errorCode, message: r.errorMessage }));
    });
    this.cluster.invalidate(topics);
    for (const r of results) if (r.errorCode !== 0) throw new KafkaProtocolError(r.errorCode, { topic: r.name, message: r.message });
  }

  /** Topic names (internal topics left out unless asked for). */
  async listTopics(opts: { includeInternal?: boolean } = {}): Promise<string[]> {
    const body = await this.cluster.withRetry('Metadata', () => this.cluster.refreshMetadata(null));
    return body.topics
      .filter((t) => t.errorCode === 0 && t.name !== null && (opts.includeInternal || !t.isInternal))
      .map((t) => t.name!)
      .sort();
  }

  /** Partitions (leader, replicas, ISR, offline replicas) and, unless configs: false, each topic's configs. */
  async describeTopics(topics: string[] | null = null, opts: { configs?: boolean } = {}): Promise<TopicDescription[]> {
    const body = await this.cluster.withRetry('Metadata', () => this.cluster.refreshMetadata(topics));
    const out: TopicDescription[] = [];
    for (const t of body.topics) {
      if (t.name === null) continue;
      if (t.errorCode !== 0) throw new KafkaProtocolError(t.errorCode, { topic: t.name });
      const meta = this.cluster.topics.get(t.name)!;
      out.push({ name: meta.name, topicId: meta.topicId, isInternal: meta.isInternal, partitions: meta.partitions });
    }
    out.sort((a, b) => a.name.localeCompare(b.name));
    if ((opts.configs ?? true) && out.length > 0) {
      const configs = await this.describeConfigs(out.map((t) => t.name));
      for (const t of out) t.configs = configs.get(t.name);
    }
    return out;
  }

  /** Topic configs through DescribeConfigs (any broker answers for topics). */
  async describeConfigs(topics: string[]): Promise<Map<string, NonNullable<TopicDescription['configs']>>> {
    const { version, body } = await this.cluster.withRetry('DescribeConfigs', async () => {
      const nc = await this.cluster.anyConnection();
      return this.cluster.send(nc, ApiKey.DescribeConfigs, (v) => ({
        resources: topics.map((name) => ({ resourceType: CONFIG_RESOURCE_TOPIC, resourceName: name, configurationKeys: null })),
        ...(v >= 1 ? { includeSynonyms: false } : {}),
        ...(v >= 3 ? { includeDocumentation: false } : {}),
      }));
    });
    const out = new Map<string, NonNullable<TopicDescription['configs']>>();
    for (const r of body.results) {
      if (r.errorCode !== 0) throw new KafkaProtocolError(r.errorCode, { topic: r.resourceName, message: r.errorMessage });
      const configs: NonNullable<TopicDescription['configs']> = {};
      for (const c of r.configs) {
        const source = version >= 1 ? (SOURCE_NAMES[c.configSource ?? -1] ?? 'UNKNOWN') : undefined;
        configs[c.name] = { value: c.value, isDefault: version >= 1 ? c.configSource === CONFIG_SOURCE_DEFAULT : (c.isDefault ?? false), readOnly: c.readOnly, isSensitive: c.isSensitive, source };
      }
      out.set(r.resourceName, configs);
    }
    return out;
  }

  /**
   * Changes some configs of topics or brokers (IncrementalAlterConfigs, KIP-339), keeping the others; the change
   * takes effect on running partitions. The first refused resource fails with its KafkaProtocolError (INVALID_CONFIG
   * naming the key, UNKNOWN_TOPIC_OR_PARTITION, ...); the others are applied.
   */
  async incrementalAlterConfigs(resources: Array<ConfigResource & { ops: ConfigOperation[] }>, opts: { validateOnly?: boolean } = {}): Promise<void> {
    await this.alter(ApiKey.IncrementalAlterConfigs, 'IncrementalAlterConfigs', resources, opts.validateOnly ?? false, (r) =>
      r.ops.map((o) => ({ name: o.name, configOperation: CONFIG_OPS[o.op], value: o.op === 'delete' ? null : (o.value ?? '') })),
    );
  }

  /** Replaces the whole config set of topics or brokers (AlterConfigs: a key left out returns to its default). */
  async alterConfigs(resources: Array<ConfigResource & { configs: Record<string, string> }>, opts: { validateOnly?: boolean } = {}): Promise<void> {
    await this.alter(ApiKey.AlterConfigs, 'AlterConfigs', resources, opts.validateOnly ?? false, (r) => Object.entries(r.configs).map(([name, value]) => ({ name, value })));
  }

  private async alter<R extends ConfigResource, C>(apiKey: typeof ApiKey.AlterConfigs | typeof ApiKey.IncrementalAlterConfigs, what: string, resources: R[], validateOnly: boolean, configs: (r: R) => C[]): Promise<void> {
    const { body } = await this.cluster.withRetry(what, async () =>
      this.cluster.send(await this.cluster.anyConnection(), apiKey, () => ({
        resources: resources.map((r) => ({ resourceType: r.type === 'topic' ? CONFIG_RESOURCE_TOPIC : CONFIG_RESOURCE_BROKER, resourceName: r.name, configs: configs(r) as never })),
        validateOnly,
      })),
    );
    const failed = body.responses.find((r) => r.errorCode !== 0);
    if (failed) throw new KafkaProtocolError(failed.errorCode, { ...(failed.resourceType === CONFIG_RESOURCE_TOPIC ? { topic: failed.resourceName } : {}), message: failed.errorMessage });
  }

  /** Brokers, controller and cluster id (DescribeCluster, or Metadata where a broker lacks it). */
  async describeCluster(): Promise<ClusterDescription> {
    return this.cluster.withRetry('DescribeCluster', async () => {
      const nc = await this.cluster.anyConnection();
      if (!nc.versions.has(ApiKey.DescribeCluster)) {
        await this.cluster.refreshMetadata([]);
        return { clusterId: this.cluster.clusterId, controllerId: this.cluster.controllerId, brokers: [...this.cluster.brokers.values()].sort((a, b) => a.nodeId - b.nodeId) };
      }
      const { body } = await this.cluster.send(nc, ApiKey.DescribeCluster, () => ({ includeClusterAuthorizedOperations: false }));
      if (body.errorCode !== 0) throw new KafkaProtocolError(body.errorCode, { message: body.errorMessage });
      return {
        clusterId: body.clusterId,
        controllerId: body.controllerId,
        brokers: body.brokers.map((b) => ({ nodeId: b.brokerId, host: b.host, port: b.port, rack: b.rack })).sort((a, b) => a.nodeId - b.nodeId),
      };
    });
  }

  /** Earliest and latest (high watermark) offset of every partition of a topic. */
  async fetchOffsets(topic: string): Promise<PartitionOffsets[]> {
    const meta = await this.cluster.topic(topic, { refresh: true });
    const parts = meta.partitions.map((p) => p.partition);
    const [earliest, latest] = await Promise.all([
      lookupOffsets(this.cluster, parts.map((partition) => ({ topic, partition, timestamp: EARLIEST_TIMESTAMP }))),
      lookupOffsets(this.cluster, parts.map((partition) => ({ topic, partition, timestamp: LATEST_TIMESTAMP }))),
    ]);
    return parts.map((partition, i) => ({ partition, earliest: earliest[i]!.offset, latest: latest[i]!.offset }));
  }

  /** Per partition, the first offset whose timestamp is at or after `timestamp` (-1n: none yet). */
  async offsetsForTimes(topic: string, timestamp: number): Promise<Array<{ partition: number; offset: bigint; timestamp: bigint }>> {
    const meta = await this.cluster.topic(topic, { refresh: true });
    const answers = await lookupOffsets(this.cluster, meta.partitions.map((p) => ({ topic, partition: p.partition, timestamp: BigInt(timestamp) })));
    return answers.map((a) => ({ partition: a.partition, offset: a.offset, timestamp: a.timestamp }));
  }

  /**
   * Deletes the records of `topic` below each given offset (DeleteRecords, KIP-107; -1n: below the high
   * watermark), at each partition's leader, retried where leadership moved. Resolves with each partition's low
   * watermark: the log start every in-sync replica has reached.
   */
  async deleteRecords(topic: string, offsets: Array<{ partition: number; offset: bigint }>, opts: { timeoutMs?: number } = {}): Promise<Array<{ partition: number; lowWatermark: bigint }>> {
    const done = new Map<number, bigint>();
    await this.cluster.withRetry('DeleteRecords', async () => {
      const byLeader = new Map<number, Array<{ partition: number; offset: bigint }>>();
      for (const o of offsets) {
        if (done.has(o.partition)) continue;
        const leader = await this.cluster.leaderOf(topic, o.partition);
        byLeader.set(leader, [...(byLeader.get(leader) ?? []), o]);
      }
      let retriable: KafkaProtocolError | null = null;
      await Promise.all(
        [...byLeader].map(async ([leader, list]) => {
          const { body } = await this.cluster.send(await this.cluster.nodeConnection(leader), ApiKey.DeleteRecords, () => ({
            topics: [{ name: topic, partitions: list.map((o) => ({ partitionIndex: o.partition, offset: o.offset })) }],
            timeoutMs: opts.timeoutMs ?? 30_000,
          }));
          for (const p of body.topics.flatMap((t) => t.partitions)) {
            if (p.errorCode === 0) {
              done.set(p.partitionIndex, p.lowWatermark);
              continue;
            }
            const err = new KafkaProtocolError(p.errorCode, { topic, partition: p.partitionIndex, broker: leader });
            if (!err.retriable) throw err;
            this.cluster.invalidate([topic]);
            retriable = err;
          }
        }),
      );
      if (retriable) throw retriable;
    });
    return offsets.map((o) => ({ partition: o.partition, lowWatermark: done.get(o.partition)! }));
  }

  /** Every broker's log directories with each partition replica's size on disk (DescribeLogDirs, KIP-113). */
  async describeLogDirs(partitions: Array<{ topic: string; partition: number }> | null = null): Promise<LogDirDescription[]> {
    await this.cluster.refreshMetadata([]);
    const byTopic = new Map<string, number[]>();
    for (const p of partitions ?? []) byTopic.set(p.topic, [...(byTopic.get(p.topic) ?? []), p.partition]);
    const wanted = partitions && [...byTopic].map(([topic, ps]) => ({ topic, partitions: ps }));
    const perBroker = await Promise.all(
      [...this.cluster.brokers.keys()].sort((a, b) => a - b).map(async (broker) => {
        const { body } = await this.cluster.withRetry('DescribeLogDirs', async () =>
          this.cluster.send(await this.cluster.nodeConnection(broker), ApiKey.DescribeLogDirs, () => ({ topics: wanted && wanted.map((t) => ({ topic: t.topic, partitions: t.partitions })) })),
        );
        if (body.errorCode) throw new KafkaProtocolError(body.errorCode, { message: `DescribeLogDirs failed on broker ${broker}` });
        return body.results.map((r) => ({
          broker,
          logDir: r.logDir,
          errorCode: r.errorCode,
          totalBytes: r.totalBytes ?? -1n,
          usableBytes: r.usableBytes ?? -1n,
          partitions: r.topics.flatMap((t) => t.partitions.map((p) => ({ topic: t.name, partition: p.partitionIndex, size: p.partitionSize, offsetLag: p.offsetLag, isFuture: p.isFutureKey }))),
        }));
      }),
    );
    return perBroker.flat();
  }

  /**
   * Leader elections (ElectLeaders, KIP-460): 'preferred' moves leadership to each partition's first replica
   * when it is in the ISR; 'unclean' gives a partition without a leader to a live replica, even outside the
   * ISR. `partitions` null (the default): every partition, and then only those that needed an election are
   * answered. Resolves with each partition's result (ELECTION_NOT_NEEDED, PREFERRED_LEADER_NOT_AVAILABLE, ...).
   */
  async electLeaders(opts: { type?: 'preferred' | 'unclean'; partitions?: TopicPartitionRef[] | null; timeoutMs?: number } = {}): Promise<PartitionResult[]> {
    const electionType = opts.type === 'unclean' ? 1 : 0;
    const topicPartitions = groupPartitions(opts.partitions ?? null);
    const { body } = await this.cluster.withRetry('ElectLeaders', async () =>
      this.cluster.send(await this.cluster.anyConnection(), ApiKey.ElectLeaders, (v) => {
        if (v < 1 && electionType !== 0) throw new KafkaClientError('UNSUPPORTED_VERSION', 'the broker knows only preferred elections (ElectLeaders v0)');
        return { electionType, topicPartitions, timeoutMs: opts.timeoutMs ?? 60_000 };
      }),
    );
    if (body.errorCode) throw new KafkaProtocolError(body.errorCode, { message: 'ElectLeaders failed' });
    if (topicPartitions) this.cluster.invalidate(topicPartitions.map((t) => t.topic));
    return body.replicaElectionResults.flatMap((t) => t.partitionResult.map((p) => ({ topic: t.topic, partition: p.partitionId, errorCode: p.errorCode, errorMessage: p.errorMessage })));
  }

  /**
   * Starts (a replica list), changes, or cancels (null) partition reassignments (AlterPartitionReassignments,
   * KIP-455). Resolves once the controller has recorded them, with each partition's result; the data moves
   * afterwards: listPartitionReassignments shows the ones still ongoing.
   */
  async alterPartitionReassignments(reassignments: Array<TopicPartitionRef & { replicas: number[] | null }>, opts: { timeoutMs?: number } = {}): Promise<PartitionResult[]> {
    const topics = new Map<string, Array<{ partitionIndex: number; replicas: number[] | null }>>();
    for (const r of reassignments) topics.set(r.topic, [...(topics.get(r.topic) ?? []), { partitionIndex: r.partition, replicas: r.replicas }]);
    const { body } = await this.cluster.withRetry('AlterPartitionReassignments', async () =>
      this.cluster.send(await this.cluster.anyConnection(), ApiKey.AlterPartitionReassignments, () => ({
        timeoutMs: opts.timeoutMs ?? 60_000,
        topics: [...topics].map(([name, partitions]) => ({ name, partitions })),
      })),
    );
    if (body.errorCode) throw new KafkaProtocolError(body.errorCode, { message: body.errorMessage ?? 'AlterPartitionReassignments failed' });
    this.cluster.invalidate([...topics.keys()]);
    return body.responses.flatMap((t) => t.partitions.map((p) => ({ topic: t.name, partition: p.partitionIndex, errorCode: p.errorCode, errorMessage: p.errorMessage })));
  }

  /** The ongoing reassignments (ListPartitionReassignments), of the given partitions or (null) of all. */
  async listPartitionReassignments(partitions: TopicPartitionRef[] | null = null, opts: { timeoutMs?: number } = {}): Promise<PartitionReassignment[]> {
    const topics = groupPartitions(partitions);
    const { body } = await this.cluster.withRetry('ListPartitionReassignments', async () =>
      this.cluster.send(await this.cluster.anyConnection(), ApiKey.ListPartitionReassignments, () => ({
        timeoutMs: opts.timeoutMs ?? 60_000,
        topics: topics ? topics.map((t) => ({ name: t.topic, partitionIndexes: t.partitions })) : null,
      })),
    );
    if (body.errorCode) throw new KafkaProtocolError(body.errorCode, { message: body.errorMessage ?? 'ListPartitionReassignments failed' });
    return body.topics.flatMap((t) =>
      t.partitions.map((p) => ({ topic: t.name, partition: p.partitionIndex, replicas: p.replicas, addingReplicas: p.addingReplicas, removingReplicas: p.removingReplicas })),
    );
  }

  /**
   * The transactions every broker coordinates (ListTransactions, KIP-664), merged and sorted by id. Filters, as
   * Kafka's ListTransactionsOptions: states (Kafka's names, matched exactly), producer ids, and durationMs
   * (only transactions open longer than that; needs ListTransactions v1).
   */
  async listTransactions(filters: { states?: string[]; producerIds?: Array<bigint | number>; durationMs?: number } = {}): Promise<TransactionListing[]> {
    await this.cluster.refreshMetadata([]);
    const perBroker = await Promise.all(
      [...this.cluster.brokers.keys()].sort((a, b) => a - b).map(async (broker) =>
        this.cluster.withRetry(`ListTransactions at broker ${broker}`, async () => {
          const { body } = await this.cluster.send(await this.cluster.nodeConnection(broker), ApiKey.ListTransactions, (v) => {
            if (v < 1 && filters.durationMs !== undefined) throw new KafkaClientError('UNSUPPORTED_VERSION', `broker ${broker} has no duration filter (ListTransactions v0)`);
            return {
              stateFilters: filters.states ?? [],
              producerIdFilters: (filters.producerIds ?? []).map((id) => BigInt(id)),
              ...(v >= 1 ? { durationFilter: BigInt(filters.durationMs ?? -1) } : {}),
            };
          });
          if (body.errorCode) throw new KafkaProtocolError(body.errorCode, { broker, message: `ListTransactions failed on broker ${broker}` });
          return body.transactionStates.map((t) => ({ transactionalId: t.transactionalId, producerId: t.producerId, state: t.transactionState, coordinator: broker }));
        }),
      ),
    );
    return perBroker.flat().sort((a, b) => a.transactionalId.localeCompare(b.transactionalId));
  }

  /**
   * Each transactional id's state at its coordinator (FindCoordinator key type 1, then DescribeTransactions,
   * KIP-664), found again while the coordinator moves or loads. An id no coordinator holds is a
   * KafkaProtocolError TRANSACTIONAL_ID_NOT_FOUND naming it.
   */
  async describeTransactions(transactionalIds: string[]): Promise<TransactionDescription[]> {
    return Promise.all(
      transactionalIds.map((id) =>
        this.cluster.withRetry(`DescribeTransactions of ${id}`, async () => {
          const coordinator = await this.cluster.findCoordinator(id, TRANSACTION_KEY_TYPE);
          const { body } = await this.cluster.send(await this.cluster.nodeConnection(coordinator), ApiKey.DescribeTransactions, () => ({ transactionalIds: [id] }));
          const t = body.transactionStates.find((s) => s.transactionalId === id);
          if (!t) throw new KafkaProtocolError(-1, { broker: coordinator, message: `broker ${coordinator} did not describe transactional id "${id}"` });
          if (t.errorCode) throw new KafkaProtocolError(t.errorCode, { broker: coordinator, message: `transactional id "${id}": ${ERRORS[t.errorCode]?.message ?? 'refused'}` });
          return {
            transactionalId: id,
            coordinator,
            state: t.transactionState,
            producerId: t.producerId,
            producerEpoch: t.producerEpoch,
            timeoutMs: t.transactionTimeoutMs,
            startTimeMs: Number(t.transactionStartTimeMs),
            topics: t.topics.map((x) => ({ topic: x.topic, partitions: x.partitions })),
          };
        }),
      ),
    );
  }

  /** The producers a partition's leader holds (DescribeProducers, KIP-664), retried where leadership moved. */
  async describeProducers(topic: string, partition: number): Promise<ProducerDescription[]> {
    return this.cluster.withRetry(`DescribeProducers of ${topic}-${partition}`, async () => {
      const leader = await this.cluster.leaderOf(topic, partition);
      const { body } = await this.cluster.send(await this.cluster.nodeConnection(leader), ApiKey.DescribeProducers, () => ({ topics: [{ name: topic, partitionIndexes: [partition] }] }));
      const p = body.topics.find((t) => t.name === topic)?.partitions.find((x) => x.partitionIndex === partition);
      if (!p) throw new KafkaProtocolError(-1, { topic, partition, broker: leader, message: `broker ${leader} did not describe the producers of ${topic}-${partition}` });
      if (p.errorCode) {
        const err = new KafkaProtocolError(p.errorCode, { topic, partition, broker: leader, message: p.errorMessage ?? undefined });
        if (err.retriable) this.cluster.invalidate([topic]);
        throw err;
      }
      return p.activeProducers.map((a) => ({
        producerId: a.producerId,
        producerEpoch: a.producerEpoch,
        lastSequence: a.lastSequence,
        lastTimestamp: Number(a.lastTimestamp),
        coordinatorEpoch: a.coordinatorEpoch,
        currentTxnStartOffset: a.currentTxnStartOffset,
      }));
    });
  }

  async close(): Promise<void> {
    await this.cluster.close();
  }

  /** Runs a controller-only request at the current controller, following it when NOT_CONTROLLER. */
  private async toController<T extends { errorCode: number }>(what: string, fn: (nc: Awaited<ReturnType<Cluster['nodeConnection']>>) => Promise<T[]>): Promise<T[]> {
    return this.cluster.withRetry(what, async () => {
      await this.cluster.refreshMetadata([]);
      const controller = this.cluster.controllerId;
      const nc = controller >= 0 && this.cluster.brokers.has(controller) ? await this.cluster.nodeConnection(controller) : await this.cluster.anyConnection();
      const results = await fn(nc);
      const notController = results.find((r) => r.errorCode === 41 /* NOT_CONTROLLER */);
      if (notController) throw new KafkaProtocolError(41, { message: `${what} reached a broker that is not the controller` });
      return results;
    });
  }

  private async waitForLeaders(topics: string[], timeoutMs: number, minPartitions = 1): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (let attempt = 0; ; attempt++) {
      await this.cluster.refreshMetadata(topics);
      const ok = topics.every((t) => {
        const m = this.cluster.topics.get(t);
        return m && m.partitions.length >= minPartitions && m.partitions.every((p) => p.leader >= 0);
      });
      if (ok) return;
      if (Date.now() > deadline) throw new KafkaClientError('RETRIES_EXHAUSTED', `topics ${topics.join(', ')} have partitions without a leader after ${timeoutMs} ms`);
      await this.cluster.backoff(Math.min(attempt, 3));
    }
  }
}

/** Partitions grouped by topic, as the protocol carries them (null stays null: all). */
function groupPartitions(refs: TopicPartitionRef[] | null): Array<{ topic: string; partitions: number[] }> | null {
  if (refs === null) return null;
  const topics = new Map<string, number[]>();
  for (const r of refs) topics.set(r.topic, [...(topics.get(r.topic) ?? []), r.partition]);
  return [...topics].map(([topic, partitions]) => ({ topic, partitions }));
}

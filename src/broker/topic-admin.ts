// Topic administration as Kafka defines it (CreateTopics, DeleteTopics, auto-creation on Metadata):
// validation of names, partition counts, replication factors and configs, replica assignment over the live
// brokers (rack-aware when every broker has a rack), and the write to the cluster metadata (a compare-and-set
// create, so two brokers creating the same topic at once cannot both win). Results are Kafka error codes,
// never exceptions.
import { ErrorCode } from '../protocol/generated/errors.ts';
import type { Clock } from '../runtime/clock.ts';
import type { Ids } from '../runtime/ids.ts';
import type { MetadataStore } from '../metadata/metadata-store.ts';
import type { TopicInfo, ClusterSnapshot } from '../metadata/types.ts';
import { newTopicId, placeReplicas } from '../metadata/assignment.ts';
import { resolveTopicConfig } from '../metadata/topic-config.ts';
import { TopicExistsError, TopicNotFoundError } from '../metadata/errors.ts';
import type { PartitionRegistry } from './partition-registry.ts';
import type { Logger } from '../util/logger.ts';

export interface CreateTopicSpec {
  name: string;
  /** -1 = the broker default (num.partitions). */
  numPartitions: number;
  /** -1 = the broker default (default.replication.factor). */
  replicationFactor: number;
  /** Manual assignment: partition → broker ids (Kafka's ReplicaAssignment); empty = automatic. */
  assignments?: Array<{ partitionIndex: number; brokerIds: number[] }>;
  configs?: Record<string, string>;
  validateOnly?: boolean;
}

export interface TopicResult {
  errorCode: number;
  errorMessage: string | null;
  topic: TopicInfo | null;
}

const LEGAL_NAME = /^[a-zA-Z0-9._-]+$/;
const MAX_NAME_LENGTH = 249;

/** Kafka's topic name rules (Topic.validate). Returns a reason when the name is illegal. */
export function invalidTopicName(name: string): string | null {
  if (name.length === 0) return 'topic name is empty';
  if (name === '.' || name === '..') return `topic name cannot be "${name}"`;
  if (name.length > MAX_NAME_LENGTH) return `topic name is longer than ${MAX_NAME_LENGTH} characters`;
  if (!LEGAL_NAME.test(name)) return `topic name "${name}" contains a character other than ASCII letters, digits, '.', '_' and '-'`;
  return null;
}

export function liveBrokerIds(snapshot: ClusterSnapshot): number[] {
  return Object.values(snapshot.brokers)
    .map((b) => b.id)
    .sort((a, b) => a - b);
}

export interface TopicAdminOptions {
  metadata: MetadataStore;
  registry: PartitionRegistry;
  brokerId: number;
  numPartitions: number;
  defaultReplicationFactor: number;
  clock: Clock;
  /** New topic ids. */
  ids: Ids;
  logger: Logger;
}

export class TopicAdmin {
  constructor(private readonly opts: TopicAdminOptions) {}

  private fail(errorCode: number, errorMessage: string): TopicResult {
    return { errorCode, errorMessage, topic: null };
  }

  async create(spec: CreateTopicSpec): Promise<TopicResult> {
    const bad = invalidTopicName(spec.name);
    if (bad) return this.fail(ErrorCode.INVALID_TOPIC_EXCEPTION, bad);
    const snapshot = this.opts.metadata.snapshot();
    if (snapshot.topics[spec.name]) return this.fail(ErrorCode.TOPIC_ALREADY_EXISTS, `topic "${spec.name}" already exists`);
    const { errors } = resolveTopicConfig(spec.configs ?? {});
    if (errors.length > 0) return this.fail(ErrorCode.INVALID_CONFIG, errors.map((e) => e.message).join('; '));

    const brokers = liveBrokerIds(snapshot);
    let replicaSets: number[][];
    if (spec.assignments && spec.assignments.length > 0) {
      if (spec.numPartitions !== -1 || spec.replicationFactor !== -1) {
        return this.fail(ErrorCode.INVALID_REQUEST, 'numPartitions and replicationFactor must be -1 when assignments are given');
      }
      const sorted = [...spec.assignments].sort((a, b) => a.partitionIndex - b.partitionIndex);
      if (sorted.some((a, i) => a.partitionIndex !== i)) return this.fail(ErrorCode.INVALID_REPLICA_ASSIGNMENT, 'partitions must be numbered 0..N-1');
      for (const a of sorted) {
        if (a.brokerIds.length === 0 || new Set(a.brokerIds).size !== a.brokerIds.length) {
          return this.fail(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `partition ${a.partitionIndex} needs distinct brokers`);
        }
        const unknown = a.brokerIds.find((id) => !brokers.includes(id));
        if (unknown !== undefined) return this.fail(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `broker ${unknown} is not a live broker`);
      }
      replicaSets = sorted.map((a) => [...a.brokerIds]);
    } else {
      const partitions = spec.numPartitions === -1 ? this.opts.numPartitions : spec.numPartitions;
      const rf = spec.replicationFactor === -1 ? Math.min(this.opts.defaultReplicationFactor, Math.max(1, brokers.length)) : spec.replicationFactor;
      if (!Number.isInteger(partitions) || partitions < 1) return this.fail(ErrorCode.INVALID_PARTITIONS, `number of partitions must be at least 1, got ${partitions}`);
      if (partitions > 100_000) return this.fail(ErrorCode.INVALID_PARTITIONS, `number of partitions ${partitions} is above the limit of 100000`);
      if (!Number.isInteger(rf) || rf < 1) return this.fail(ErrorCode.INVALID_REPLICATION_FACTOR, `replication factor must be at least 1, got ${rf}`);
      if (rf > brokers.length) {
        return this.fail(ErrorCode.INVALID_REPLICATION_FACTOR, `replication factor ${rf} is larger than the ${brokers.length} live broker(s)`);
      }
      const placement = placeReplicas(Object.values(snapshot.brokers), partitions, rf, Object.keys(snapshot.topics).length);
      if (placement.brokersWithoutRack.length > 0) {
        // Kafka refuses to create the topic here; Kastor places it ignoring racks (see assignment.ts).
        this.opts.logger.warn('some brokers have no --rack: placing the topic without regard to racks', {
          topic: spec.name,
          brokersWithoutRack: placement.brokersWithoutRack,
        });
      }
      replicaSets = placement.replicas;
    }

    const topic: TopicInfo = {
      name: spec.name,
      id: newTopicId(this.opts.ids.ulid()),
      partitions: replicaSets.map((replicas, partition) => ({ partition, replicas, leader: replicas[0], leaderEpoch: 0, isr: [...replicas] })),
      config: spec.configs ?? {},
      createdAt: this.opts.clock.wall(),
    };
    if (spec.validateOnly) return { errorCode: ErrorCode.NONE, errorMessage: null, topic };
    try {
      await this.opts.metadata.createTopic(topic);
    } catch (err) {
      if (err instanceof TopicExistsError) return this.fail(ErrorCode.TOPIC_ALREADY_EXISTS, `topic "${spec.name}" already exists`);
      this.opts.logger.error('creating a topic failed', { topic: spec.name, error: err as Error });
      return this.fail(ErrorCode.UNKNOWN_SERVER_ERROR, `creating topic "${spec.name}" failed: ${(err as Error).message}`);
    }
    this.opts.logger.info('created topic', { topic: spec.name, partitions: replicaSets.length, replicationFactor: replicaSets[0].length });
    return { errorCode: ErrorCode.NONE, errorMessage: null, topic };
  }

  /**
   * Waits until this broker's metadata shows the topic and the partitions it leads have recovered their
   * logs, so a client told "created" can produce at once. Returns false on timeout.
   */
  async waitReady(name: string, timeoutMs: number): Promise<boolean> {
    const deadline = this.opts.clock.wall() + timeoutMs;
    try {
      await this.opts.metadata.waitFor((s) => s.topics[name] !== undefined, timeoutMs);
    } catch {
      return false;
    }
    const topic = this.opts.metadata.snapshot().topics[name];
    if (!topic) return false;
    for (const p of topic.partitions) {
      if (p.leader !== this.opts.brokerId) continue;
      const left = Math.max(0, deadline - this.opts.clock.wall());
      if (!(await this.opts.registry.waitRecovered(name, p.partition, left))) return false;
    }
    return true;
  }

  async delete(name: string): Promise<{ errorCode: number; errorMessage: string | null }> {
    try {
      await this.opts.metadata.deleteTopic(name);
      this.opts.logger.info('deleted topic', { topic: name });
      return { errorCode: ErrorCode.NONE, errorMessage: null };
    } catch (err) {
      if (err instanceof TopicNotFoundError) return { errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, errorMessage: `topic "${name}" does not exist` };
      return { errorCode: ErrorCode.UNKNOWN_SERVER_ERROR, errorMessage: (err as Error).message };
    }
  }
}

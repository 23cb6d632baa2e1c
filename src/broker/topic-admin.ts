// Topic administration as Kafka defines it (CreateTopics, CreatePartitions, DeleteTopics, auto-creation on
// Metadata): validation of names, partition counts, replication factors and configs, replica assignment over
// the live brokers (rack-aware when every broker has a rack), and the write to the cluster metadata (a
// compare-and-set create, so two brokers creating the same topic at once cannot both win; a compare-and-set
// update of the topic to add partitions, so a concurrent change is read again, never overwritten). Results
// are Kafka error codes, never exceptions.
import { ErrorCode } from '../protocol/generated/errors.ts';
import type { Clock } from '../runtime/clock.ts';
import type { Ids } from '../runtime/ids.ts';
import type { MetadataStore } from '../metadata/metadata-store.ts';
import type { TopicInfo, ClusterSnapshot, PartitionState } from '../metadata/types.ts';
import { newTopicId, placeAddedPartitions, placeReplicas } from '../metadata/assignment.ts';
import { resolveTopicConfig } from '../metadata/topic-config.ts';
import { TopicExistsError, TopicNotFoundError, UpdateConflictError } from '../metadata/errors.ts';
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

export interface AddPartitionsSpec {
  name: string;
  /** The new total partition count. */
  count: number;
  /** Replicas of each new partition, in partition order (Kafka's assignments); null = placed automatically. */
  assignments: number[][] | null;
  validateOnly?: boolean;
}

/** The internal topic whose partition count decides each group's coordinator (group/offsets-topic.ts). */
const OFFSETS_TOPIC = '__consumer_offsets';
const MAX_PARTITIONS = 100_000;

/** A refusal found while computing the grown topic: carried out of the metadata update as data. */
class AddPartitionsRefused extends Error {
  constructor(
    readonly errorCode: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The partitions a topic gets when it grows to `spec.count` (Kafka's ZkAdminManager.createPartitions and
 * AdminZkClient.addPartitions): the checks and messages are Kafka's. Pure, so that a compare-and-set that
 * lost to a concurrent change can run it again on the newer topic. Throws AddPartitionsRefused.
 */
function addedPartitions(topic: TopicInfo, spec: AddPartitionsSpec, snapshot: ClusterSnapshot): { partitions: PartitionState[]; brokersWithoutRack: number[] } {
  // As ZkAdminManager.createPartitions: a topic with a partition being reassigned has no single replication
  // factor (that partition's replicas are the target and the leaving ones), and refusing closes the race between
  // the reassignment's completion and the new partitions. Checked here, on the value the compare-and-set writes
  // over, so a reassignment started meanwhile is seen.
  if (topic.partitions.some((p) => (p.addingReplicas?.length ?? 0) > 0 || (p.removingReplicas?.length ?? 0) > 0)) {
    throw new AddPartitionsRefused(ErrorCode.REASSIGNMENT_IN_PROGRESS, `A partition reassignment is in progress for the topic '${topic.name}'.`);
  }
  const current = topic.partitions.length;
  const increment = spec.count - current;
  if (increment < 0) throw new AddPartitionsRefused(ErrorCode.INVALID_PARTITIONS, `Topic currently has ${current} partitions, which is higher than the requested ${spec.count}.`);
  if (increment === 0) throw new AddPartitionsRefused(ErrorCode.INVALID_PARTITIONS, `Topic already has ${current} partitions.`);
  if (spec.count > MAX_PARTITIONS) throw new AddPartitionsRefused(ErrorCode.INVALID_PARTITIONS, `number of partitions ${spec.count} is above the limit of ${MAX_PARTITIONS}`);
  const rf = topic.partitions[0]?.replicas.length ?? 1;
  const brokers = liveBrokerIds(snapshot);
  let replicaSets: number[][];
  let brokersWithoutRack: number[] = [];
  if (spec.assignments) {
    const unknown = [...new Set(spec.assignments.flat())].filter((id) => !brokers.includes(id));
    if (unknown.length > 0) throw new AddPartitionsRefused(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `Unknown broker(s) in replica assignment: ${unknown.join(', ')}.`);
    if (spec.assignments.length !== increment) {
      throw new AddPartitionsRefused(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `Increasing the number of partitions by ${increment} but ${spec.assignments.length} assignments provided.`);
    }
    spec.assignments.forEach((replicas, i) => {
      if (replicas.length === 0) throw new AddPartitionsRefused(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `Replica assignment of partition ${current + i} is empty.`);
      if (new Set(replicas).size !== replicas.length) {
        throw new AddPartitionsRefused(ErrorCode.INVALID_REPLICA_ASSIGNMENT, `Duplicate brokers not allowed in replica assignment: ${replicas.join(', ')} for partition id ${current + i}.`);
      }
      if (replicas.length !== rf) {
        throw new AddPartitionsRefused(
          ErrorCode.INVALID_REPLICA_ASSIGNMENT,
          `Inconsistent replication factor between partitions, partition 0 has ${rf} while partition ${current + i} has replication factor ${replicas.length}.`,
        );
      }
    });
    replicaSets = spec.assignments.map((r) => [...r]);
  } else {
    if (rf > brokers.length) {
      throw new AddPartitionsRefused(ErrorCode.INVALID_REPLICATION_FACTOR, `Replication factor: ${rf} larger than available brokers: ${brokers.length}.`);
    }
    const placement = placeAddedPartitions(Object.values(snapshot.brokers), topic.partitions.map((p) => p.replicas), spec.count, rf);
    replicaSets = placement.replicas;
    brokersWithoutRack = placement.brokersWithoutRack;
  }
  // As a new topic's partitions (create above): the first replica leads at epoch 0 with every replica in sync.
  const partitions = replicaSets.map((replicas, i) => ({ partition: current + i, replicas, leader: replicas[0], leaderEpoch: 0, isr: [...replicas] }));
  return { partitions, brokersWithoutRack };
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
  /** Topic configs every topic created here gets unless it sets them (server.properties' log.retention.ms, min.insync.replicas, ...: `kastor broker --config`). */
  topicDefaults?: Record<string, string>;
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
    // Only a dry run answers from this broker's view: it may not have seen a deletion yet (the compare-and-set
    // create below is what decides, as Kafka's controller does), and a topic deleted through another broker
    // must be creatable again at once.
    if (spec.validateOnly && snapshot.topics[spec.name]) return this.fail(ErrorCode.TOPIC_ALREADY_EXISTS, `topic "${spec.name}" already exists`);
    const configs = { ...this.opts.topicDefaults, ...spec.configs };
    const { errors } = resolveTopicConfig(configs);
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
      config: configs,
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
   * Grows a topic to `spec.count` partitions (CreatePartitions). The new partitions are appended to the
   * topic's latest stored value by a compare-and-set update: when another write (an ISR change, another
   * CreatePartitions) lands in between, the partitions are computed again from the newer value, so a
   * concurrent grow is refused by the count check instead of being overwritten. `topic` is the grown topic
   * (the one it would be, with validateOnly).
   */
  async addPartitions(spec: AddPartitionsSpec): Promise<TopicResult> {
    const snapshot = this.opts.metadata.snapshot();
    const known = snapshot.topics[spec.name];
    if (!known) return this.fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `The topic '${spec.name}' does not exist.`);
    if (spec.name === OFFSETS_TOPIC) {
      // Each group's coordinator is partitionFor(group) mod this topic's partition count: growing it would
      // move groups away from their committed offsets.
      return this.fail(ErrorCode.INVALID_REQUEST, 'The number of partitions for the offsets topic cannot be changed.');
    }
    let warned = false;
    const grow = (topic: TopicInfo) => {
      const added = addedPartitions(topic, spec, snapshot);
      if (added.brokersWithoutRack.length > 0 && !warned) {
        warned = true;
        this.opts.logger.warn('some brokers have no --rack: placing the new partitions without regard to racks', { topic: spec.name, brokersWithoutRack: added.brokersWithoutRack });
      }
      return added.partitions;
    };
    try {
      if (spec.validateOnly) return { errorCode: ErrorCode.NONE, errorMessage: null, topic: { ...known, partitions: [...known.partitions, ...grow(known)] } };
      const topic = await this.opts.metadata.updateTopic(spec.name, (draft) => {
        draft.partitions.push(...grow(draft as TopicInfo));
      });
      this.opts.logger.info('added partitions', { topic: spec.name, partitions: topic.partitions.length, added: spec.count - known.partitions.length });
      return { errorCode: ErrorCode.NONE, errorMessage: null, topic };
    } catch (err) {
      if (err instanceof AddPartitionsRefused) return this.fail(err.errorCode, err.message);
      if (err instanceof TopicNotFoundError) return this.fail(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, `The topic '${spec.name}' does not exist.`);
      if (err instanceof UpdateConflictError) {
        return this.fail(ErrorCode.UNKNOWN_SERVER_ERROR, `the topic '${spec.name}' kept changing while its partitions were added; nothing was changed, try again`);
      }
      this.opts.logger.error('adding partitions failed', { topic: spec.name, error: err as Error });
      return this.fail(ErrorCode.UNKNOWN_SERVER_ERROR, `adding partitions to topic '${spec.name}' failed: ${(err as Error).message}`);
    }
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

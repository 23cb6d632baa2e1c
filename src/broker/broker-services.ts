// What request handlers may use: the broker's identity and configuration, the cluster metadata, the local
// partition replicas, and topic administration. Handlers get this object, never globals, so several
// brokers run in one process (simulation tests) as well as one per process.
import type { BrokerConfig } from './broker-config.ts';
import type { Clock } from '../runtime/clock.ts';
import type { Ids } from '../runtime/ids.ts';
import type { MetadataStore } from '../metadata/metadata-store.ts';
import type { ClusterSnapshot } from '../metadata/types.ts';
import type { PartitionRegistry } from './partition-registry.ts';
import type { TopicAdmin } from './topic-admin.ts';
import type { Logger } from '../util/logger.ts';
import type { GroupCoordinator } from '../group/group-coordinator.ts';
import type { TxnCoordinator } from '../txn/txn-coordinator.ts';
import type { ProducerIdAllocator } from '../producer-state/producer-id-allocator.ts';
import type { BrokerMetrics } from '../metrics/broker-metrics.ts';
import type { ActorDirectory } from '../inspect/actor-directory.ts';
import type { FetchSessionCache } from './fetch-sessions.ts';
import type { BrokerAuthorizer } from '../security/broker-authorizer.ts';

export interface BrokerServices {
  readonly config: BrokerConfig;
  readonly brokerId: number;
  readonly clusterId: string;
  readonly metadata: MetadataStore;
  readonly registry: PartitionRegistry;
  readonly topics: TopicAdmin;
  readonly logger: Logger;
  readonly clock: Clock;
  /** New ids (group member ids). */
  readonly ids: Ids;
  /** Kafka's group coordinator (consumer groups, committed offsets); absent where a broker runs none. */
  readonly groups?: GroupCoordinator;
  /** Kafka's transaction coordinator (src/txn); absent where a broker runs none. */
  readonly txn?: TxnCoordinator;
  /** Producer ids from this broker's blocks reserved in the metadata (idempotent and transactional producers). */
  readonly producerIds: ProducerIdAllocator;
  /** This broker's Prometheus metrics (its own registry); e.g. `metrics.groupRebalances.inc()`. */
  readonly metrics: BrokerMetrics;
  /** The ACL authorizer when one is configured (authorizer.class.name); absent: every request is allowed. */
  readonly authorizer?: BrokerAuthorizer;
  /** Consumers' fetch sessions (KIP-227); absent: every fetch is sessionless. */
  readonly fetchSessions?: FetchSessionCache;
  /** Live actors the dashboard can show; other parts add theirs with `actors.register(...)`. */
  readonly actors: ActorDirectory;
  /**
   * Asks the active controller (src/controller/controller-request.ts askController) on one of its request
   * subjects, asking again while none answers; null once `timeoutMs` passed without an answer.
   */
  askController<R extends { errorCode: number }>(subject: 'electLeaders' | 'reassignPartitions', request: object, timeoutMs: number): Promise<R | null>;
  /** Kafka's controller id as clients see it: the active controller, else the lowest live broker. */
  controllerId(snapshot: ClusterSnapshot): number;
}

// The cluster metadata model: what Kafka kept in ZooKeeper (brokers, topics with their partition
// assignment, leaders, leader epochs and ISR, the active controller), as Kastor keeps it in a NATS
// JetStream key-value bucket and as every actor sees it — one immutable snapshot, produced with immer so
// that a change to one topic keeps every other topic (and the broker map) the same object.

export interface BrokerInfo {
  id: number;
  host: string;
  port: number;
  rack: string | null;
  /** A ULID minted at each broker start: tells a restarted broker from its previous life. */
  incarnation: string;
  registeredAt: number;
  /**
   * Set when the broker registers (every start, every re-registration), cleared by the controller once it has
   * taken the broker out of every ISR and leadership its previous life held, as KRaft fences a registering
   * broker: the previous process may have lost unsynced writes (a power loss), so its ISR places are void.
   * A fenced broker leads nothing and joins no ISR. Absent in registrations written before it existed.
   */
  fenced?: boolean;
  /**
   * Every listener's advertised address (src/security/listeners.ts), as Kafka's registrations carry one endpoint
   * per listener; `host`/`port` above are the first's. Absent in registrations written before listeners existed.
   */
  endpoints?: Array<{ listener: string; securityProtocol: string; host: string; port: number }>;
}

export interface PartitionState {
  partition: number;
  /** Assigned replicas, preferred leader first (Kafka's replica list order). */
  replicas: number[];
  /** -1 when the partition has no leader. */
  leader: number;
  /** Bumped at every leadership change; requests stamped with an older epoch are fenced. */
  leaderEpoch: number;
  isr: number[];
  /**
   * An ongoing reassignment (KIP-455), as Kafka records it: `replicas` is then the target set followed by the
   * original replicas leaving it, `addingReplicas` the target's new members (catching up as followers) and
   * `removingReplicas` the originals outside the target. Absent (or empty) when none is ongoing.
   */
  addingReplicas?: number[];
  removingReplicas?: number[];
}

export interface TopicInfo {
  name: string;
  /** 32 lowercase hex digits: the 16 bytes of a ULID, carried as Kafka's topic UUID. */
  id: string;
  /** Indexed by partition number: partitions[i].partition === i. */
  partitions: PartitionState[];
  /** Only the overrides; defaults come from topic-config.ts (Kafka stores overrides only, too). */
  config: Record<string, string>;
  createdAt: number;
}

export interface ControllerInfo {
  brokerId: number;
  /** The lease key's revision at takeover: a fencing token for everything the controller writes. */
  epoch: number;
}

/** The ACL bindings of one resource pattern as stored (names as in src/security/acl.ts, checked there). */
export interface StoredAclResource {
  resourceType: string;
  name: string;
  patternType: string;
  entries: Array<{ principal: string; host: string; operation: string; permission: string }>;
}

export interface ClusterSnapshot {
  /** Empty until ensureClusterId() has run once in the cluster. */
  clusterId: string;
  brokers: Readonly<Record<number, BrokerInfo>>;
  topics: Readonly<Record<string, TopicInfo>>;
  controller: ControllerInfo | null;
  /**
   * Dynamic broker configs (IncrementalAlterConfigs/AlterConfigs on a broker resource, KIP-226), by broker id
   * as a string, and '' for the cluster-wide default: broker config names to values (config-layers.ts).
   * Always present in a MetadataStore's snapshots; optional for snapshots built by hand (tests).
   */
  brokerConfigs?: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /**
   * Kafka's ACLs (src/security/acl-store.ts), one entry per resource pattern, keyed by the pattern's key token.
   * Always present in a MetadataStore's snapshots; optional for snapshots built by hand (tests).
   */
  acls?: Readonly<Record<string, StoredAclResource>>;
  /** The highest key-value revision applied: every change up to it is reflected here. */
  revision: number;
}

// A broker's configuration, with Kafka's names in comments where Kastor follows a Kafka setting.
import type { ReplicaSelector } from './replica-selector.ts';
import { DEFAULT_LISTENER, type ListenerSpec } from '../security/listeners.ts';
import type { SaslMechanism } from '../security/sasl-mechanisms.ts';
import type { OAuthBearerSettings } from '../security/oauthbearer.ts';
import type { AuthorizerSettings } from '../security/acl-authorizer.ts';
import { DEFAULT_MAX_TXN_TIMEOUT_MS, DEFAULT_TXN_ID_EXPIRATION_MS } from '../txn/txn-topic.ts';
import { NO_NATS_SECURITY, type NatsClientSecurity } from '../security/nats-credentials.ts';
import type { ReconfigurableSettings } from '../metadata/reconfigurable-config.ts';

/** ssl.client.auth: whether a TLS listener asks for a client certificate, and whether it must be there. */
export type SslClientAuth = 'none' | 'requested' | 'required';

/** The PEM files of the TLS listeners (Kafka's PEM keystore and truststore). */
export interface TlsSettings {
  /** The certificate chain (ssl.keystore.location with ssl.keystore.type=PEM); may hold the key too. */
  certFile: string;
  /** The private key (default: the one in certFile). */
  keyFile: string;
  /** CA certificates client certificates are checked against (ssl.truststore.location). */
  caFile: string | null;
  clientAuth: SslClientAuth;
}

export interface BrokerConfig {
  brokerId: number;
  /** Address the Kafka listener binds to. */
  host: string;
  port: number;
  /** Address clients are told to use (Kafka's advertised.listeners); defaults to host:port. */
  advertisedHost: string;
  advertisedPort: number;
  /**
   * listeners / advertised.listeners / listener.security.protocol.map, resolved (src/security/listeners.ts);
   * empty: one PLAINTEXT listener on host:port advertised as advertisedHost:advertisedPort.
   */
  listeners: ListenerSpec[];
  /** The TLS settings of SSL and SASL_SSL listeners. */
  tls: TlsSettings | null;
  /** sasl.enabled.mechanisms */
  saslMechanisms: SaslMechanism[];
  /** connections.max.reauth.ms: a SASL session's lifetime (KIP-368); 0: sessions never expire. */
  connectionsMaxReauthMs: number;
  /** How OAUTHBEARER tokens are checked (KIP-768's sasl.oauthbearer.* keys); null: OAUTHBEARER not enabled. */
  oauthbearer: OAuthBearerSettings | null;
  /** authorizer.class.name with super.users and allow.everyone.if.no.acl.found (src/security/acl-authorizer.ts); null: no authorizer, everything allowed. */
  authorizer: AuthorizerSettings | null;
  /** broker.rack: registered in the cluster metadata, reported by Metadata and DescribeCluster, and used by rack-aware replica placement. */
  rack: string | null;
  /** replica.selector.class: 'rack-aware' (Kafka's RackAwareReplicaSelector) sends consumers to an in-sync follower in their rack (KIP-392); null: off, as in Kafka. */
  replicaSelector: ReplicaSelector | null;
  natsServers: string[];
  /** The broker's NATS login and TLS to NATS (a secured bus: src/security/nats-authorization.ts). */
  natsSecurity: NatsClientSecurity;
  dataDir: string;
  /** The JetStream key-value bucket holding the cluster metadata. */
  metadataBucket: string;
  /** auto.create.topics.enable */
  autoCreateTopics: boolean;
  /** num.partitions: partitions of an auto-created topic. */
  numPartitions: number;
  /** default.replication.factor */
  defaultReplicationFactor: number;
  /** 'interval' relies on replication and fsyncs every flushIntervalMs (Kafka's default); 'always' fsyncs every append (group commit). */
  flush: 'interval' | 'always';
  flushIntervalMs: number;
  /** socket.request.max.bytes */
  maxRequestBytes: number;
  /** How often the retention check runs (log.retention.check.interval.ms). */
  retentionCheckIntervalMs: number;
  /** log.cleaner.enable: compact the logs of topics with cleanup.policy=compact. */
  logCleanerEnable: boolean;
  /** log.cleaner.backoff.ms: the cleaner's wait when no log needs cleaning. */
  logCleanerBackoffMs: number;
  /** log.cleaner.io.max.bytes.per.second: the cleaner's reads and writes together, at most (Infinity: unbounded). */
  logCleanerIoMaxBytesPerSecond: number;
  /** transaction.max.timeout.ms: the longest transaction.timeout.ms a producer may ask for. */
  transactionMaxTimeoutMs: number;
  /** transactional.id.expiration.ms: a transactional id idle this long is removed. */
  transactionalIdExpirationMs: number;
  /** producer.id.expiration.ms: a producer id leaves a partition's producer state this long after its last batch. */
  producerIdExpirationMs: number;
  /** broker.session.timeout.ms: a broker silent this long is declared dead by the controller (Kafka: 9 s). */
  sessionTimeoutMs: number;
  /** broker.heartbeat.interval.ms: how often this broker tells the controller it is alive. */
  heartbeatIntervalMs: number;
  /** TTL of the controller lease: renewed every TTL/4, taken over after a full TTL without renewal. */
  controllerLeaseMs: number;
  /** Fast crash detection (src/controller/liveness-probe.ts): the session timeout still covers frozen or cut-off brokers. */
  crashProbe: boolean;
  /** auto.leader.rebalance.enable: the controller gives leadership back to preferred replicas (src/controller/leader-balance.ts). */
  autoLeaderRebalance: boolean;
  /** leader.imbalance.check.interval.seconds, in ms (Kafka: 300 s). */
  leaderImbalanceCheckIntervalMs: number;
  /** leader.imbalance.per.broker.percentage: a broker is rebalanced once more than this share of its preferred partitions are led elsewhere. */
  leaderImbalancePerBrokerPercentage: number;
  /** controlled.shutdown: how long a stopping broker waits for the controller to move its leaderships. */
  controlledShutdownTimeoutMs: number;
  /** Topic configs a topic created through this broker gets unless it sets them (Kafka's broker-level log.*, min.insync.replicas). */
  topicDefaults: Record<string, string>;
}

/**
 * Liveness defaults, shared with the controller actor's own fallbacks. The lease TTL is 3 s, renewed every
 * 750 ms: every broker watches the lease key, and each renewal cost every broker ~1.5-3 ms of CPU (at 100
 * partitions, idle CPU per broker fell from 1.1-1.7% to 0.9-1.5% going from 2 s to 3 s). A standby still
 * probes a holder whose renewal is overdue, so a killed controller is replaced about a second after it died.
 */
export const DEFAULT_SESSION_TIMEOUT_MS = 3_000;
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 500;
export const DEFAULT_CONTROLLER_LEASE_MS = 3_000;
/** Kafka's producer.id.expiration.ms: one day. */
export const DEFAULT_PRODUCER_ID_EXPIRATION_MS = 86_400_000;

export function defaultBrokerConfig(given: Partial<BrokerConfig> & Pick<BrokerConfig, 'brokerId' | 'dataDir' | 'natsServers'>): BrokerConfig {
  // An option given as undefined means "the default", not "no value".
  const partial = Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined)) as typeof given;
  const host = partial.host ?? '127.0.0.1';
  const port = partial.port ?? 9092;
  return {
    host,
    port,
    advertisedHost: partial.advertisedHost ?? (host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host),
    advertisedPort: partial.advertisedPort ?? port,
    listeners: [],
    tls: null,
    saslMechanisms: ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'],
    connectionsMaxReauthMs: 0,
    oauthbearer: null,
    authorizer: null,
    rack: null,
    replicaSelector: null,
    natsSecurity: NO_NATS_SECURITY,
    metadataBucket: 'kastor-metadata',
    autoCreateTopics: true,
    numPartitions: 1,
    defaultReplicationFactor: 1,
    flush: 'interval',
    flushIntervalMs: 1000,
    maxRequestBytes: 100 * 1024 * 1024,
    retentionCheckIntervalMs: 300_000,
    logCleanerEnable: true,
    logCleanerBackoffMs: 15_000,
    logCleanerIoMaxBytesPerSecond: Infinity,
    transactionMaxTimeoutMs: DEFAULT_MAX_TXN_TIMEOUT_MS,
    transactionalIdExpirationMs: DEFAULT_TXN_ID_EXPIRATION_MS,
    producerIdExpirationMs: DEFAULT_PRODUCER_ID_EXPIRATION_MS,
    sessionTimeoutMs: DEFAULT_SESSION_TIMEOUT_MS,
    heartbeatIntervalMs: DEFAULT_HEARTBEAT_INTERVAL_MS,
    controllerLeaseMs: DEFAULT_CONTROLLER_LEASE_MS,
    controlledShutdownTimeoutMs: 10_000,
    crashProbe: true,
    autoLeaderRebalance: true,
    leaderImbalanceCheckIntervalMs: 300_000,
    leaderImbalancePerBrokerPercentage: 10,
    topicDefaults: {},
    ...partial,
  };
}

/** The broker's listeners: the configured ones, or the one PLAINTEXT listener of host:port. */
/** The broker's static values of the configs it takes up at runtime (reconfigurable-config.ts's static layer). */
export function staticSettingsOf(c: BrokerConfig): ReconfigurableSettings {
  return { cleanerIoMaxBytesPerSecond: c.logCleanerIoMaxBytesPerSecond, cleanerBackoffMs: c.logCleanerBackoffMs, producerIdExpirationMs: c.producerIdExpirationMs };
}

export function listenersOf(c: BrokerConfig): ListenerSpec[] {
  if (c.listeners.length > 0) return c.listeners;
  return [{ name: DEFAULT_LISTENER, securityProtocol: 'PLAINTEXT', host: c.host, port: c.port, advertisedHost: c.advertisedHost, advertisedPort: c.advertisedPort }];
}

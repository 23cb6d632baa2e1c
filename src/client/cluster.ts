// The cluster layer under the producer, consumer and admin: one BrokerConnection per broker (opened on
// first use, API versions negotiated with ApiVersions), the cluster metadata (brokers, controller, each
// partition's leader, replicas and ISR) refreshed on demand, and a bounded retry loop that refreshes metadata
// after the errors that mean "the leader moved" (NOT_LEADER_OR_FOLLOWER, LEADER_NOT_AVAILABLE,
// UNKNOWN_TOPIC_OR_PARTITION right after a creation, a lost connection) — the Java client's Metadata +
// NetworkClient in a few hundred lines.
//
// Each producer, consumer and admin owns its own Cluster, so a consumer's long-polling Fetch never sits in
// front of a producer's request on one pipelined connection.
import { BrokerConnection, ConnectionError, type BrokerConnectionOptions } from './broker-connection.ts';
import { authenticate, SaslAuthenticationError, type SaslOptions } from './sasl-client.ts';
import { ApiKey } from '../protocol/generated/api-keys.ts';
import type { RequestBodies, ResponseBodies } from '../protocol/generated/index.ts';
import type { MetadataResponse } from '../protocol/generated/metadata.ts';
import { KafkaClientError, KafkaProtocolError, isRetriable, needsMetadataRefresh } from './errors.ts';

export interface HostPort {
  host: string;
  port: number;
}

export interface RetryOptions {
  /** Attempts after the first (default 10). */
  retries?: number;
  /** First backoff; doubles per attempt with ±20% jitter (default 100 ms). */
  initialBackoffMs?: number;
  /** Cap of one backoff (default 2000 ms). */
  maxBackoffMs?: number;
}

export interface ClusterOptions {
  /** `host:port` strings, as one comma-separated string or a list. Any broker of the cluster will do. */
  bootstrap: string | string[];
  clientId?: string;
  connectTimeoutMs?: number;
  requestTimeoutMs?: number;
  retry?: RetryOptions;
  /** TLS to SSL and SASL_SSL listeners (CA, client certificate and key as node:tls takes them). */
  tls?: BrokerConnectionOptions['tls'];
  /** SASL (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512) to SASL_PLAINTEXT and SASL_SSL listeners. */
  sasl?: SaslOptions;
}

export interface BrokerInfo {
  nodeId: number;
  host: string;
  port: number;
  rack: string | null;
}

export interface PartitionMetadata {
  partition: number;
  /** -1 when the partition has no leader (offline). */
  leader: number;
  leaderEpoch: number;
  replicas: number[];
  isr: number[];
  offlineReplicas: number[];
  errorCode: number;
}

export interface TopicMetadata {
  name: string;
  topicId: string;
  isInternal: boolean;
  partitions: PartitionMetadata[];
}

/** The versions of each API this client speaks (request bodies are written for every version in range). */
export const CLIENT_VERSIONS: Partial<Record<number, [number, number]>> = {
  [ApiKey.Produce]: [3, 9],
  // Fetch 13 names topics by id only; 12 is the newest that names them, which is all this client needs.
  [ApiKey.Fetch]: [4, 12],
  [ApiKey.ListOffsets]: [1, 7],
  [ApiKey.Metadata]: [1, 12],
  [ApiKey.CreateTopics]: [2, 7],
  [ApiKey.DeleteTopics]: [1, 6],
  [ApiKey.DescribeConfigs]: [1, 4],
  [ApiKey.AlterConfigs]: [0, 2],
  [ApiKey.IncrementalAlterConfigs]: [0, 1],
  [ApiKey.CreatePartitions]: [0, 3],
  [ApiKey.DescribeCluster]: [0, 1],
  [ApiKey.InitProducerId]: [0, 4],
  [ApiKey.FindCoordinator]: [1, 4],
  [ApiKey.AddPartitionsToTxn]: [0, 3],
  [ApiKey.AddOffsetsToTxn]: [0, 3],
  [ApiKey.EndTxn]: [0, 3],
  [ApiKey.TxnOffsetCommit]: [0, 3],
  [ApiKey.ListTransactions]: [0, 1],
  [ApiKey.DescribeTransactions]: [0, 0],
  [ApiKey.DescribeProducers]: [0, 0],
  [ApiKey.DeleteRecords]: [0, 2],
  [ApiKey.DescribeLogDirs]: [0, 4],
  [ApiKey.ElectLeaders]: [0, 2],
  [ApiKey.AlterPartitionReassignments]: [0, 0],
  [ApiKey.ListPartitionReassignments]: [0, 0],
  [ApiKey.DescribeUserScramCredentials]: [0, 0],
  [ApiKey.AlterUserScramCredentials]: [0, 0],
  [ApiKey.DescribeAcls]: [1, 3],
  [ApiKey.CreateAcls]: [1, 3],
  [ApiKey.DeleteAcls]: [1, 3],
};

/** Parses `host:port[,host:port]` (or a list of them) into addresses; IPv6 hosts go in brackets. */
export function parseBootstrap(bootstrap: string | string[]): HostPort[] {
  const items = (Array.isArray(bootstrap) ? bootstrap : [bootstrap]).flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean);
  if (items.length === 0) throw new KafkaClientError('INVALID_ARGUMENT', 'bootstrap needs at least one host:port');
  return items.map((item) => {
    const m = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(item);
    if (!m || Number(m[2]) > 65535) throw new KafkaClientError('INVALID_ARGUMENT', `bootstrap address must be host:port, got "${item}"`);
    return { host: m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2]) };
  });
}

export interface NodeConnection {
  conn: BrokerConnection;
  versions: Map<number, [number, number]>;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class Cluster {
  readonly brokers = new Map<number, BrokerInfo>();
  readonly topics = new Map<string, TopicMetadata>();
  controllerId = -1;
  clusterId: string | null = null;
  private readonly bootstrap: HostPort[];
  private readonly connections = new Map<string, Promise<NodeConnection>>();
  private metadataInFlight: Promise<void> | null = null;
  /** Whether any broker ever answered: a bootstrap list that never did fails fast instead of retrying. */
  private everConnected = false;
  private closed = false;
  readonly retryOptions: Required<RetryOptions>;

  constructor(readonly opts: ClusterOptions) {
    this.bootstrap = parseBootstrap(opts.bootstrap);
    this.retryOptions = { retries: 10, initialBackoffMs: 100, maxBackoffMs: 2000, ...opts.retry };
  }

  get isClosed(): boolean {
    return this.closed;
  }

  // ---- connections ----

  private connectTo(addr: HostPort): Promise<NodeConnection> {
    const key = `${addr.host}:${addr.port}`;
    const existing = this.connections.get(key);
    if (existing) return existing;
    const p = (async () => {
      const conn = await BrokerConnection.connect({
        host: addr.host,
        port: addr.port,
        clientId: this.opts.clientId ?? 'kastor-client',
        connectTimeoutMs: this.opts.connectTimeoutMs ?? 5000,
        requestTimeoutMs: this.opts.requestTimeoutMs ?? 30_000,
        tls: this.opts.tls,
      });
      try {
        const res = await conn.request(ApiKey.ApiVersions, 3, { clientSoftwareName: 'kastor-client', clientSoftwareVersion: '0.1.0' });
        const versions = new Map<number, [number, number]>();
        for (const k of res.apiKeys) versions.set(k.apiKey, [k.minVersion, k.maxVersion]);
        if (this.opts.sasl) await authenticate(conn, versions, this.opts.sasl);
        this.everConnected = true;
        return { conn, versions };
      } catch (err) {
        conn.close();
        throw err;
      }
    })();
    this.connections.set(key, p);
    // A failed or later-broken connection is forgotten so the next use reconnects.
    p.catch(() => {
      if (this.connections.get(key) === p) this.connections.delete(key);
    });
    return p;
  }

  private async live(addr: HostPort): Promise<NodeConnection> {
    const key = `${addr.host}:${addr.port}`;
    const nc = await this.connectTo(addr);
    if (!nc.conn.closed) return nc;
    if (this.connections.get(key)) this.connections.delete(key);
    return this.connectTo(addr);
  }

  /** A connection to broker nodeId (from metadata). */
  async nodeConnection(nodeId: number): Promise<NodeConnection> {
    this.assertOpen();
    const b = this.brokers.get(nodeId);
    if (!b) throw new KafkaProtocolError(8 /* BROKER_NOT_AVAILABLE */, { broker: nodeId, message: `broker ${nodeId} is not in the cluster metadata` });
    return this.live(b);
  }

  /**
   * FindCoordinator (key type 0: a group, 1: a transactional id): the coordinator's node id, its address known
   * from the answer before the next metadata refresh names it. Coordinator errors come back as retriable
   * KafkaProtocolErrors, for withRetry.
   */
  async findCoordinator(key: string, keyType: 0 | 1): Promise<number> {
    const nc = await this.anyConnection();
    const { version, body } = await this.send(nc, ApiKey.FindCoordinator, (v) => (v >= 4 ? { keyType, coordinatorKeys: [key] } : { key, keyType }));
    const c = version >= 4 ? body.coordinators![0]! : { errorCode: body.errorCode!, errorMessage: body.errorMessage ?? null, nodeId: body.nodeId!, host: body.host!, port: body.port! };
    if (c.errorCode !== 0) throw new KafkaProtocolError(c.errorCode, { message: c.errorMessage ?? `FindCoordinator for ${key}` });
    if (!this.brokers.has(c.nodeId)) this.brokers.set(c.nodeId, { nodeId: c.nodeId, host: c.host, port: c.port, rack: null });
    return c.nodeId;
  }

  /** A connection to any broker: known brokers first, then the bootstrap list. */
  async anyConnection(): Promise<NodeConnection> {
    this.assertOpen();
    const candidates: HostPort[] = [...this.brokers.values(), ...this.bootstrap];
    const failures: string[] = [];
    let lastErr: unknown;
    for (const c of candidates) {
      try {
        return await this.live(c);
      } catch (err) {
        // A refused login is the answer, not an unreachable broker: another broker would refuse it too.
        if (err instanceof SaslAuthenticationError) throw err;
        lastErr = err;
        failures.push(`${c.host}:${c.port} (${(err as Error).message.replace(/^could not connect to \S+: /, '')})`);
      }
    }
    throw new KafkaClientError('BROKERS_UNREACHABLE', `no Kafka broker reachable: ${[...new Set(failures)].join(', ')}`, {}, { cause: lastErr });
  }

  /** The version of apiKey to use with this broker: the newest both sides speak. */
  pickVersion(nc: NodeConnection, apiKey: number): number {
    const mine = CLIENT_VERSIONS[apiKey];
    const theirs = nc.versions.get(apiKey);
    if (!mine || !theirs || Math.max(mine[0], theirs[0]) > Math.min(mine[1], theirs[1])) {
      throw new KafkaClientError('UNSUPPORTED_VERSION', `broker ${nc.conn.address} serves API ${apiKey} at versions ${theirs ? theirs.join('-') : 'none'}; this client speaks ${mine?.join('-')}`);
    }
    return Math.min(mine[1], theirs[1]);
  }

  /** Sends one request to a connection at the newest common version; `build` writes the body for it. */
  async send<K extends keyof RequestBodies & keyof ResponseBodies & number>(
    nc: NodeConnection,
    apiKey: K,
    build: (version: number) => RequestBodies[K],
    timeoutMs?: number,
  ): Promise<{ version: number; body: ResponseBodies[K] }> {
    const version = this.pickVersion(nc, apiKey);
    const body = await nc.conn.request(apiKey, version, build(version), timeoutMs);
    return { version, body };
  }

  // ---- metadata ----

  /**
   * Refreshes metadata for the given topics (null: all topics). Concurrent callers share one request when
   * they ask for the same thing; the cache is updated per topic, so a partial refresh keeps other topics.
   */
  async refreshMetadata(topics: string[] | null, allowAutoTopicCreation = false): Promise<MetadataResponse> {
    const nc = await this.anyConnection();
    const { body } = await this.send(nc, ApiKey.Metadata, (v) => ({
      topics: topics === null ? (v === 0 ? [] : null) : topics.map((name) => ({ name })),
      ...(v >= 4 ? { allowAutoTopicCreation } : {}),
    }));
    this.brokers.clear();
    for (const b of body.brokers) this.brokers.set(b.nodeId, { nodeId: b.nodeId, host: b.host, port: b.port, rack: b.rack ?? null });
    this.controllerId = body.controllerId ?? -1;
    this.clusterId = body.clusterId ?? null;
    if (topics === null) this.topics.clear();
    for (const t of body.topics) {
      if (t.name === null) continue;
      if (t.errorCode !== 0) {
        this.topics.delete(t.name);
        continue;
      }
      this.topics.set(t.name, {
        name: t.name,
        topicId: t.topicId ?? '',
        isInternal: t.isInternal ?? false,
        partitions: t.partitions
          .map((p) => ({
            partition: p.partitionIndex,
            leader: p.leaderId,
            leaderEpoch: p.leaderEpoch ?? -1,
            replicas: p.replicaNodes,
            isr: p.isrNodes,
            offlineReplicas: p.offlineReplicas ?? [],
            errorCode: p.errorCode,
          }))
          .sort((a, b) => a.partition - b.partition),
      });
    }
    return body;
  }

  /** Refreshes metadata for topics, sharing a refresh already in flight (used after leader errors). */
  refreshTopics(topics: string[], allowAutoTopicCreation = false): Promise<void> {
    if (!this.metadataInFlight) {
      this.metadataInFlight = this.refreshMetadata(topics, allowAutoTopicCreation).then(
        () => {
          this.metadataInFlight = null;
        },
        (err) => {
          this.metadataInFlight = null;
          throw err;
        },
      );
    }
    return this.metadataInFlight;
  }

  /**
   * The metadata of a topic, from the cache or a refresh. A topic that does not exist (or is still being
   * created) is a KafkaProtocolError UNKNOWN_TOPIC_OR_PARTITION (retriable), raised after the retry budget.
   */
  async topic(name: string, opts: { autoCreate?: boolean; refresh?: boolean } = {}): Promise<TopicMetadata> {
    const cached = this.topics.get(name);
    if (cached && !opts.refresh && cached.partitions.length > 0) return cached;
    return this.withRetry(`metadata of ${name}`, async () => {
      const body = await this.refreshMetadata([name], opts.autoCreate ?? false);
      const t = body.topics.find((x) => x.name === name);
      if (!t) throw new KafkaProtocolError(3, { topic: name });
      if (t.errorCode !== 0) throw new KafkaProtocolError(t.errorCode, { topic: name });
      const meta = this.topics.get(name);
      if (!meta || meta.partitions.length === 0) throw new KafkaProtocolError(5, { topic: name });
      return meta;
    });
  }

  /** The leader of a partition, from the cache (refreshing when unknown or leaderless). */
  async leaderOf(topic: string, partition: number, opts: { autoCreate?: boolean } = {}): Promise<number> {
    let meta = await this.topic(topic, opts);
    let p = meta.partitions[partition];
    if (p && p.leader >= 0 && this.brokers.has(p.leader)) return p.leader;
    meta = await this.topic(topic, { ...opts, refresh: true });
    p = meta.partitions[partition];
    if (!p) throw new KafkaClientError('INVALID_ARGUMENT', `topic ${topic} has no partition ${partition} (it has ${meta.partitions.length})`, { topic, partition });
    if (p.leader < 0 || !this.brokers.has(p.leader)) throw new KafkaProtocolError(5, { topic, partition });
    return p.leader;
  }

  /** Forgets the cached metadata of topics so the next use refreshes it. */
  invalidate(topics: Iterable<string>): void {
    for (const t of topics) this.topics.delete(t);
  }

  /**
   * Runs fn until it succeeds, a non-retriable error, or the retry budget runs out, refreshing metadata
   * (the topics named by the error) between attempts when the error says leadership moved.
   */
  async withRetry<T>(what: string, fn: (attempt: number) => Promise<T>): Promise<T> {
    const { retries, initialBackoffMs, maxBackoffMs } = this.retryOptions;
    for (let attempt = 0; ; attempt++) {
      this.assertOpen();
      try {
        return await fn(attempt);
      } catch (err) {
        if (!isRetriable(err) || this.closed) throw err;
        const neverReached = err instanceof KafkaClientError && err.code === 'BROKERS_UNREACHABLE' && !this.everConnected;
        if (attempt >= retries || (neverReached && attempt >= Math.min(retries, 2))) {
          // Out of budget: surface the Kafka error itself (typed, retriable) rather than a wrapper.
          if (err instanceof KafkaProtocolError || err instanceof KafkaClientError) throw err;
          throw new KafkaClientError('RETRIES_EXHAUSTED', `${what} failed after ${attempt + 1} attempts: ${(err as Error).message}`, {}, { cause: err });
        }
        if (needsMetadataRefresh(err) && err instanceof KafkaProtocolError && err.topic) this.invalidate([err.topic]);
        await this.backoff(attempt);
      }
    }
  }

  backoff(attempt: number): Promise<void> {
    const { initialBackoffMs, maxBackoffMs } = this.retryOptions;
    const base = Math.min(maxBackoffMs, initialBackoffMs * 2 ** attempt);
    return sleep(base * (0.8 + Math.random() * 0.4));
  }

  /** Drops the connection to a broker (after it failed) so the next request reconnects. */
  dropConnection(nodeId: number): void {
    const b = this.brokers.get(nodeId);
    if (!b) return;
    const key = `${b.host}:${b.port}`;
    const p = this.connections.get(key);
    this.connections.delete(key);
    p?.then((nc) => nc.conn.close(), () => {});
  }

  private assertOpen(): void {
    if (this.closed) throw new KafkaClientError('CLIENT_CLOSED', 'the client was closed');
  }

  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.connections.values()];
    this.connections.clear();
    await Promise.all(all.map((p) => p.then((nc) => nc.conn.close(), () => {})));
  }
}

export { ConnectionError };

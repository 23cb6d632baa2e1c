// `kastor broker`: one broker process. It serves Kafka clients until SIGTERM or SIGINT, then shuts down
// cleanly (in-flight requests answered, logs flushed and closed, registration removed). A second signal
// during shutdown exits at once, and so does a shutdown that outlasts --shutdown-timeout-ms (NATS gone, a
// disk hung): a service manager can count on the process ending. A broker that cannot start exits 1 with one
// line on stderr saying what to do (startup-failure.ts), within seconds (--nats-connect-timeout-ms for NATS).
import { helpText, parseHostPort, UsageError, type FlagSpecs, type ParsedFlags } from './args.ts';
import { resolveBrokerFlags } from './broker-settings.ts';
import type { Broker } from '../../actors/broker-actor.ts';
import { DEFAULT_NATS_CONNECT_TIMEOUT_MS, startNodeBroker } from '../runtime/node/node-broker.ts';
import { startupFailureLine } from './startup-failure.ts';
import { startStartingServer, type StartingServer } from '../dashboard/starting-server.ts';
import { defaultBrokerConfig, DEFAULT_PRODUCER_ID_EXPIRATION_MS, DEFAULT_CONTROLLER_LEASE_MS, DEFAULT_HEARTBEAT_INTERVAL_MS, DEFAULT_SESSION_TIMEOUT_MS } from '../broker/broker-config.ts';
import { createNodeLogger } from '../runtime/node/node-logger.ts';
import { parseReplicaSelector, RACK_AWARE_SELECTOR_CLASS } from '../broker/replica-selector.ts';
import { startBrokerObservability, type BrokerObservability } from '../dashboard/observability.ts';
import { createStatelyInspector, normalizeInspectFlag } from '../inspect/stately-inspector.ts';
import { resolveListeners } from '../security/listeners.ts';
import { authorizerSettings } from '../security/authorizer-settings.ts';
import type { OAuthBearerSettings } from '../security/oauthbearer.ts';
import { parseSaslMechanisms } from '../security/sasl-mechanisms.ts';
import type { BrokerConfig, SslClientAuth } from '../broker/broker-config.ts';
import { DEFAULT_MAX_TXN_TIMEOUT_MS, DEFAULT_TXN_ID_EXPIRATION_MS } from '../txn/txn-topic.ts';

const DEFAULT_SHUTDOWN_TIMEOUT_MS = 20_000;

export const BROKER_FLAGS = {
  config: { type: 'string', description: "read settings from a file in Kafka's server.properties form (Kafka's keys, kastor.<flag>); flags override it, KASTOR_<FLAG> variables override both", value: 'FILE' },
  id: { type: 'number', description: 'broker id, a unique non-negative integer', required: true, value: 'N' },
  listen: { type: 'string', description: 'Kafka listener address', default: '127.0.0.1:9092', value: 'HOST:PORT' },
  advertise: { type: 'string', description: 'address clients are told to connect to (default: the listen address)', value: 'HOST:PORT' },
  listeners: { type: 'string', description: "listeners: Kafka's named listeners, NAME://HOST:PORT,... (replaces --listen), e.g. PLAINTEXT://127.0.0.1:9092,SASL_SSL://0.0.0.0:9093", value: 'LIST' },
  'advertised-listeners': { type: 'string', description: 'advertised.listeners: what clients of each listener are told, NAME://HOST:PORT,... (default: the bind address)', value: 'LIST' },
  'listener-security-protocol-map': { type: 'string', description: 'listener.security.protocol.map: NAME:PROTOCOL,... (PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL); a listener named after a protocol uses it', value: 'MAP' },
  'ssl-cert': { type: 'string', description: 'ssl.keystore.location (PEM): the certificate chain of SSL/SASL_SSL listeners, may hold the key too; reloaded when it changes or on SIGHUP', value: 'FILE' },
  'ssl-key': { type: 'string', description: 'the unencrypted PEM private key (default: the one in --ssl-cert)', value: 'FILE' },
  'ssl-ca': { type: 'string', description: 'ssl.truststore.location (PEM): CA certificates client certificates must chain to', value: 'FILE' },
  'ssl-client-auth': { type: 'string', description: 'ssl.client.auth: none, requested or required (mTLS: the principal is User:<certificate subject>)', default: 'none', value: 'MODE' },
  'ssl-keystore-type': { type: 'string', description: 'ssl.keystore.type: PEM (the only one Kastor reads)', default: 'PEM', value: 'TYPE' },
  'ssl-truststore-type': { type: 'string', description: 'ssl.truststore.type: PEM (the only one Kastor reads)', default: 'PEM', value: 'TYPE' },
  'sasl-enabled-mechanisms': { type: 'string', description: 'sasl.enabled.mechanisms of SASL listeners: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 (users: kastor users create), OAUTHBEARER (JWTs checked against --sasl-oauthbearer-jwks-endpoint-url)', default: 'PLAIN,SCRAM-SHA-256,SCRAM-SHA-512', value: 'LIST' },
  'sasl-oauthbearer-jwks-endpoint-url': { type: 'string', description: 'sasl.oauthbearer.jwks.endpoint.url: the JWKS (file path, file:// or http(s):// URL) OAUTHBEARER tokens are checked against; needed for OAUTHBEARER in --sasl-enabled-mechanisms', value: 'URL' },
  'sasl-oauthbearer-expected-audience': { type: 'string', description: "sasl.oauthbearer.expected.audience: an OAUTHBEARER token's aud must hold one of these (comma-separated); default: not checked", value: 'LIST' },
  'sasl-oauthbearer-expected-issuer': { type: 'string', description: "sasl.oauthbearer.expected.issuer: an OAUTHBEARER token's iss must be this; default: not checked", value: 'ISSUER' },
  'sasl-oauthbearer-sub-claim-name': { type: 'string', description: 'sasl.oauthbearer.sub.claim.name: the claim naming the principal (User:<claim>)', default: 'sub', value: 'NAME' },
  'sasl-oauthbearer-scope-claim-name': { type: 'string', description: "sasl.oauthbearer.scope.claim.name: the claim holding the token's scope", default: 'scope', value: 'NAME' },
  'sasl-oauthbearer-clock-skew-seconds': { type: 'number', description: 'sasl.oauthbearer.clock.skew.seconds: leeway for exp, nbf and iat', default: 30, value: 'S' },
  'sasl-oauthbearer-jwks-endpoint-refresh-ms': { type: 'number', description: 'sasl.oauthbearer.jwks.endpoint.refresh.ms: how often the JWKS is re-read (also on an unknown key id)', default: 3_600_000, value: 'MS' },
  'connections-max-reauth-ms': { type: 'number', description: 'connections.max.reauth.ms: SASL session lifetime (KIP-368); after it a connection must re-authenticate or is closed; 0: no limit', default: 0, value: 'MS' },
  authorizer: { type: 'string', description: "authorizer.class.name: 'acl' (or Kafka's StandardAuthorizer/AclAuthorizer class name) checks every request against the ACLs (kastor acls); default: none, everything allowed", value: 'NAME' },
  'super-users': { type: 'string', description: 'super.users: principals allowed everything, separated by semicolons (User:admin;User:ops)', value: 'LIST' },
  'allow-everyone-if-no-acl-found': { type: 'boolean', description: 'allow.everyone.if.no.acl.found: a resource no ACL names is open to all (default false)', default: false },
  rack: { type: 'string', description: "broker.rack: this broker's rack (any non-empty name); when every broker has one, new topics put each partition's replicas on distinct racks", value: 'RACK' },
  'replica-selector': { type: 'string', description: `replica.selector.class: 'rack-aware' (or ${RACK_AWARE_SELECTOR_CLASS}) sends a consumer with client.rack to an in-sync follower in its rack (KIP-392); off by default`, value: 'SELECTOR' },
  nats: { type: 'string', description: 'NATS server URL(s), comma-separated', default: 'nats://127.0.0.1:4322', value: 'URL' },
  'nats-credentials': { type: 'string', description: "the broker's NATS login: a file of user= and password= lines (or token=), kept private; see kastor nats-config", value: 'FILE' },
  'nats-nkey': { type: 'string', description: "the broker's NATS login as an nkey: a file holding the user seed (SU...)", value: 'FILE' },
  'nats-tls-ca': { type: 'string', description: "TLS to NATS: the CA (PEM) the server's certificate must chain to", value: 'FILE' },
  'nats-tls-cert': { type: 'string', description: 'TLS to NATS: a client certificate (PEM) for a server that verifies clients; may hold the key too', value: 'FILE' },
  'nats-tls-key': { type: 'string', description: 'the private key (PEM) of --nats-tls-cert', value: 'FILE' },
  data: { type: 'string', description: 'data directory for the partition logs', required: true, value: 'DIR' },
  flush: { type: 'string', description: "'interval' (fsync every --flush-interval-ms, relying on replication) or 'always' (fsync per append, group commit)", default: 'interval', value: 'POLICY' },
  'flush-interval-ms': { type: 'number', description: 'fsync interval for --flush interval', default: 1000, value: 'MS' },
  'auto-create-topics': { type: 'boolean', description: 'auto.create.topics.enable (use --auto-create-topics=false to turn off)', default: true },
  'num-partitions': { type: 'number', description: 'partitions of an auto-created topic', default: 1, value: 'N' },
  'default-replication-factor': { type: 'number', description: 'replication factor of an auto-created topic', default: 1, value: 'N' },
  'session-timeout-ms': { type: 'number', description: 'a broker silent this long is declared dead by the controller', default: DEFAULT_SESSION_TIMEOUT_MS, value: 'MS' },
  'heartbeat-interval-ms': { type: 'number', description: 'how often the broker sends a heartbeat to the controller', default: DEFAULT_HEARTBEAT_INTERVAL_MS, value: 'MS' },
  'controller-lease-ms': { type: 'number', description: 'TTL of the controller lease (renewed every TTL/4)', default: DEFAULT_CONTROLLER_LEASE_MS, value: 'MS' },
  'crash-probe': { type: 'boolean', description: 'the controller deregisters a broker whose NATS connection closed at once, not after the session timeout (--crash-probe=false: heartbeats only)', default: true },
  'auto-leader-rebalance': { type: 'boolean', description: 'auto.leader.rebalance.enable: the controller moves leadership back to preferred replicas (--auto-leader-rebalance=false to turn off)', default: true },
  'leader-imbalance-check-interval-ms': { type: 'number', description: 'leader.imbalance.check.interval: how often the controller looks for leaders off their preferred replica', default: 300_000, value: 'MS' },
  'leader-imbalance-per-broker-percentage': { type: 'number', description: "leader.imbalance.per.broker.percentage: the share of a broker's preferred partitions led elsewhere that starts a rebalance", default: 10, value: 'PCT' },
  'log-cleaner': { type: 'boolean', description: 'log.cleaner.enable: compact the topics with cleanup.policy=compact (--log-cleaner=false to turn off)', default: true },
  'log-cleaner-backoff-ms': { type: 'number', description: 'log.cleaner.backoff.ms: how long the cleaner waits when no log needs cleaning', default: 15_000, value: 'MS' },
  'log-cleaner-io-max-bytes-per-second': { type: 'number', description: "log.cleaner.io.max.bytes.per.second: the cleaner's reads and writes together, at most (default unbounded)", value: 'BYTES' },
  'transaction-max-timeout-ms': { type: 'number', description: 'transaction.max.timeout.ms: the longest transaction.timeout.ms a producer may ask for (longer: INVALID_TRANSACTION_TIMEOUT)', default: DEFAULT_MAX_TXN_TIMEOUT_MS, value: 'MS' },
  'producer-id-expiration-ms': { type: 'number', description: "producer.id.expiration.ms: an idempotent producer with no batch this long (and no transaction open) leaves a partition's producer state", default: DEFAULT_PRODUCER_ID_EXPIRATION_MS, value: 'MS' },
  'transactional-id-expiration-ms': { type: 'number', description: 'transactional.id.expiration.ms: a transactional id with no transaction this long is removed (its next producer gets a new producer id)', default: DEFAULT_TXN_ID_EXPIRATION_MS, value: 'MS' },
  'log-level': { type: 'string', description: 'debug, info, warn or error', default: 'info', value: 'LEVEL' },
  http: { type: 'string', description: 'serve the dashboard, /metrics and /api on this address (port 0: any free port)', value: 'HOST:PORT' },
  inspect: { type: 'string', description: 'send actor inspection events to a Stately inspector (bare --inspect: ws://localhost:8080)', value: '[URL]' },
  'topic-default': { type: 'string', description: 'a topic config every topic created through this broker gets unless it sets it (repeatable), e.g. retention.ms=86400000', value: 'KEY=VALUE' },
  'nats-connect-timeout-ms': { type: 'number', description: 'keep trying to reach NATS this long at start, then exit 1', default: DEFAULT_NATS_CONNECT_TIMEOUT_MS, value: 'MS' },
  'shutdown-timeout-ms': { type: 'number', description: 'after SIGTERM/SIGINT, exit even if the clean shutdown has not finished by then', default: DEFAULT_SHUTDOWN_TIMEOUT_MS, value: 'MS' },
} satisfies FlagSpecs;

/**
 * Ends the process with `code` once what it wrote is out: at once when nothing else keeps it alive, else (a
 * NATS connection still reconnecting, a timer of a broker that failed half-started) shortly after.
 */
function exitSoon(code: number): number {
  setTimeout(() => process.exit(code), 200).unref();
  return code;
}

export async function brokerCommand(argv: string[]): Promise<number> {
  if (argv.includes('--help')) {
    console.log(helpText('broker', 'run one Kastor broker', BROKER_FLAGS));
    return 0;
  }
  const { flags: f, topicDefaults } = resolveBrokerFlags(BROKER_FLAGS, normalizeInspectFlag(argv), process.env);
  if (f._.length > 0) throw new UsageError(`unexpected argument "${f._[0]}" (see: kastor broker --help)`);
  if (!Number.isInteger(f.id) || f.id < 0) throw new UsageError(`--id must be a non-negative integer, got ${f.id}`);
  if (f.flush !== 'interval' && f.flush !== 'always') throw new UsageError(`--flush must be "interval" or "always", got "${f.flush}"`);
  if (!['debug', 'info', 'warn', 'error'].includes(f['log-level'])) throw new UsageError(`--log-level must be debug, info, warn or error`);
  for (const flag of ['session-timeout-ms', 'heartbeat-interval-ms', 'controller-lease-ms', 'nats-connect-timeout-ms', 'shutdown-timeout-ms', 'leader-imbalance-check-interval-ms', 'transaction-max-timeout-ms', 'transactional-id-expiration-ms', 'producer-id-expiration-ms'] as const) {
    if (!Number.isFinite(f[flag]) || f[flag] <= 0) throw new UsageError(`--${flag} must be a positive number of milliseconds, got ${f[flag]}`);
  }
  if (!Number.isFinite(f['log-cleaner-backoff-ms']) || f['log-cleaner-backoff-ms'] <= 0) throw new UsageError(`--log-cleaner-backoff-ms must be a positive number of milliseconds, got ${f['log-cleaner-backoff-ms']}`);
  if (f['producer-id-expiration-ms'] > 2 ** 31 - 1) throw new UsageError(`--producer-id-expiration-ms is an INT, as in Kafka: at most 2147483647, got ${f['producer-id-expiration-ms']}`);
  const cleanerIo = f['log-cleaner-io-max-bytes-per-second'];
  if (cleanerIo !== undefined && !(cleanerIo > 0)) throw new UsageError(`--log-cleaner-io-max-bytes-per-second must be a positive number of bytes, got ${cleanerIo}`);
  const imbalance = f['leader-imbalance-per-broker-percentage'];
  if (!(imbalance >= 0 && imbalance <= 100)) throw new UsageError(`--leader-imbalance-per-broker-percentage must be 0 to 100, got ${imbalance}`);
  if (f['heartbeat-interval-ms'] >= f['session-timeout-ms']) throw new UsageError('--heartbeat-interval-ms must be smaller than --session-timeout-ms');
  // Kafka accepts any string as broker.rack; an empty one would read as "no rack" to some clients and not to others.
  if (f.rack === '') throw new UsageError('--rack must be a non-empty rack name');
  const replicaSelector = f['replica-selector'] === undefined ? null : parseReplicaSelector(f['replica-selector']);
  if (f['replica-selector'] !== undefined && replicaSelector === null) throw new UsageError(`--replica-selector must be "rack-aware" or ${RACK_AWARE_SELECTOR_CLASS}, got "${f['replica-selector']}"`);
  const listen = parseHostPort('listen', f.listen);
  const advertise = f.advertise ? parseHostPort('advertise', f.advertise) : undefined;
  const security = securityConfig(f);
  const first = security.listeners[0];
  const http = f.http ? parseHostPort('http', f.http) : undefined;
  if (f.inspect !== undefined && !/^wss?:\/\/./.test(f.inspect)) throw new UsageError(`--inspect must be a ws:// or wss:// URL, got "${f.inspect}"`);
  const logger = createNodeLogger({ level: f['log-level'] as 'info' });
  const inspector = f.inspect ? createStatelyInspector(f.inspect, (err) => logger.debug('inspector send failed', { error: err as Error })) : undefined;
  const config = defaultBrokerConfig({
    brokerId: f.id,
    topicDefaults,
    host: first?.host ?? listen.host,
    port: first?.port ?? listen.port,
    advertisedHost: first?.advertisedHost ?? advertise?.host,
    advertisedPort: first?.advertisedPort ?? advertise?.port,
    ...security,
    authorizer: usageChecked(() => authorizerSettings(f.authorizer, f['super-users'], f['allow-everyone-if-no-acl-found'])),
    rack: f.rack,
    replicaSelector,
    natsServers: f.nats.split(',').map((s) => s.trim()),
    natsSecurity: natsSecurityConfig(f),
    dataDir: f.data,
    flush: f.flush,
    flushIntervalMs: f['flush-interval-ms'],
    crashProbe: f['crash-probe'],
    autoCreateTopics: f['auto-create-topics'],
    numPartitions: f['num-partitions'],
    defaultReplicationFactor: f['default-replication-factor'],
    sessionTimeoutMs: f['session-timeout-ms'],
    heartbeatIntervalMs: f['heartbeat-interval-ms'],
    controllerLeaseMs: f['controller-lease-ms'],
    autoLeaderRebalance: f['auto-leader-rebalance'],
    leaderImbalanceCheckIntervalMs: f['leader-imbalance-check-interval-ms'],
    leaderImbalancePerBrokerPercentage: imbalance,
    logCleanerEnable: f['log-cleaner'],
    logCleanerBackoffMs: f['log-cleaner-backoff-ms'],
    logCleanerIoMaxBytesPerSecond: cleanerIo,
    transactionMaxTimeoutMs: f['transaction-max-timeout-ms'],
    transactionalIdExpirationMs: f['transactional-id-expiration-ms'],
    producerIdExpirationMs: f['producer-id-expiration-ms'],
  });
  let broker: Broker | null = null;
  let observability: BrokerObservability | null = null;
  let stopping: Promise<void> | null = null;
  const onSignal = (signal: string) => {
    if (stopping) {
      logger.warn('second signal during shutdown; exiting now', { signal });
      process.exit(1);
    }
    logger.info('shutting down', { signal });
    const deadline = f['shutdown-timeout-ms'];
    setTimeout(() => {
      logger.error('shutdown did not finish in time; exiting now', { signal, shutdownTimeoutMs: deadline });
      process.exit(1);
    }, deadline).unref();
    stopping = (observability?.stop() ?? Promise.resolve()).catch(() => {}).then(() => broker?.stop());
  };
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGINT', () => onSignal('SIGINT'));
  if (process.env.KASTOR_STOP_ON_STDIN_EOF === '1') {
    // Started by `kastor dev` (dev-broker.ts): its end of the pipe closes when it dies; so does this broker.
    process.stdin.on('error', () => {});
    process.stdin.once('close', () => onSignal('stdin closed'));
    process.stdin.resume();
  }
  // The HTTP address answers /healthz and /readyz (503 "starting") from now on, and a taken one fails at once.
  let starting: StartingServer | null = null;
  if (http) {
    try {
      starting = await startStartingServer(http.host, http.port, () => 'starting: connecting to NATS, recovering logs, registering');
    } catch (err) {
      const inUse = (err as { code?: string }).code === 'EADDRINUSE';
      console.error(`kastor broker ${config.brokerId}: ${inUse ? `${f.http} is in use — choose another address with --http` : `cannot serve HTTP on ${f.http}: ${(err as Error).message} — choose another address with --http`}`);
      return exitSoon(1);
    }
  }
  try {
    broker = await startNodeBroker(config, { logger, inspect: inspector?.inspect, natsConnectTimeoutMs: f['nats-connect-timeout-ms'] });
  } catch (err) {
    logger.error('broker failed to start', { error: err as Error });
    inspector?.stop();
    await starting?.close();
    console.error(`kastor broker ${config.brokerId}: ${startupFailureLine(err)}`);
    return exitSoon(1);
  }
  await starting?.close();
  if (stopping) {
    // A signal came while it started: it stops now that it can.
    await broker.stop();
    return exitSoon(0);
  }
  try {
    // On the port the starting server held (the one the kernel chose for --http HOST:0).
    observability = await startBrokerObservability(broker, { http: starting ? starting.address : undefined, inspector, logger });
  } catch (err) {
    logger.error('the dashboard could not start', { http: f.http, error: err as Error });
    await broker.stop();
    const inUse = (err as { code?: string }).code === 'EADDRINUSE';
    console.error(`kastor broker ${config.brokerId}: ${inUse ? `${f.http} is in use — choose another address with --http` : `the HTTP server could not start on ${f.http}: ${(err as Error).message}`}`);
    return exitSoon(1);
  }
  const httpAddress = observability.http ? `${observability.http.host}:${observability.http.port}` : undefined;
  // "listening" on stdout tells scripts and tests the broker serves clients.
  console.log(JSON.stringify({ event: 'listening', brokerId: config.brokerId, host: config.advertisedHost, port: broker.port, http: httpAddress, listeners: broker.endpoints }));
  await new Promise<void>((resolve) => broker.actor.subscribe({ complete: () => resolve() }));
  if (stopping) await stopping;
  return exitSoon(broker.actor.getSnapshot().context.error ? 1 : 0);
}

/** The NATS login and TLS flags; the files themselves are read when the broker connects. */
function natsSecurityConfig(f: ParsedFlags<typeof BROKER_FLAGS>): BrokerConfig['natsSecurity'] {
  if (f['nats-credentials'] && f['nats-nkey']) throw new UsageError('give --nats-credentials or --nats-nkey, not both');
  if ((f['nats-tls-cert'] || f['nats-tls-key']) && !f['nats-tls-ca']) throw new UsageError('--nats-tls-cert and --nats-tls-key need --nats-tls-ca');
  if (f['nats-tls-key'] && !f['nats-tls-cert']) throw new UsageError('--nats-tls-key needs --nats-tls-cert');
  const ca = f['nats-tls-ca'];
  return {
    credentialsFile: f['nats-credentials'] ?? null,
    nkeyFile: f['nats-nkey'] ?? null,
    tls: ca ? { caFile: ca, certFile: f['nats-tls-cert'] ?? null, keyFile: f['nats-tls-key'] ?? null } : null,
  };
}

/** fn's result; its Error (which starts with the flag's name) as a UsageError naming the flag. */
function usageChecked<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw new UsageError(`--${(err as Error).message}`);
  }
}

/** The listeners, TLS and SASL settings of the flags; a bad one is a UsageError naming its flag. */
function securityConfig(f: ParsedFlags<typeof BROKER_FLAGS>): Pick<BrokerConfig, 'listeners' | 'tls' | 'saslMechanisms' | 'connectionsMaxReauthMs' | 'oauthbearer'> {
  const check = <T>(fn: () => T): T => {
    try {
      return fn();
    } catch (err) {
      throw new UsageError(`--${(err as Error).message.replace(/^([a-z.]+):/, (_, k: string) => k.replace(/\./g, '-') + ':')}`);
    }
  };
  if (f['advertised-listeners'] && !f.listeners) throw new UsageError('--advertised-listeners needs --listeners (with --listen, use --advertise)');
  if (f.advertise && f.listeners) throw new UsageError('--advertise goes with --listen; with --listeners, use --advertised-listeners');
  const listeners = f.listeners ? check(() => resolveListeners(f.listeners!, f['advertised-listeners'], f['listener-security-protocol-map'])) : [];
  const clientAuth = f['ssl-client-auth'];
  if (!['none', 'requested', 'required'].includes(clientAuth)) throw new UsageError(`--ssl-client-auth must be none, requested or required, got "${clientAuth}"`);
  for (const flag of ['ssl-keystore-type', 'ssl-truststore-type'] as const) {
    if (f[flag].toUpperCase() !== 'PEM') throw new UsageError(`--${flag}: Kastor reads PEM files only, got "${f[flag]}"`);
  }
  if (f['ssl-key'] && !f['ssl-cert']) throw new UsageError('--ssl-key needs --ssl-cert');
  if (clientAuth !== 'none' && !f['ssl-ca']) throw new UsageError(`--ssl-client-auth ${clientAuth} needs --ssl-ca (the CA client certificates are checked against)`);
  const tls = f['ssl-cert'] ? { certFile: f['ssl-cert'], keyFile: f['ssl-key'] ?? f['ssl-cert'], caFile: f['ssl-ca'] ?? null, clientAuth: clientAuth as SslClientAuth } : null;
  const reauth = f['connections-max-reauth-ms'];
  if (!Number.isSafeInteger(reauth) || reauth < 0) throw new UsageError(`--connections-max-reauth-ms must be a non-negative number of milliseconds, got ${reauth}`);
  const saslMechanisms = check(() => parseSaslMechanisms(f['sasl-enabled-mechanisms']));
  return { listeners, tls, saslMechanisms, connectionsMaxReauthMs: reauth, oauthbearer: oauthbearerConfig(f, saslMechanisms.includes('OAUTHBEARER')) };
}

/** OAUTHBEARER's token validation (KIP-768's broker keys); null when OAUTHBEARER is not enabled. */
function oauthbearerConfig(f: ParsedFlags<typeof BROKER_FLAGS>, enabled: boolean): OAuthBearerSettings | null {
  if (!enabled) return null;
  const jwksUrl = f['sasl-oauthbearer-jwks-endpoint-url'];
  if (!jwksUrl) throw new UsageError('--sasl-enabled-mechanisms OAUTHBEARER needs --sasl-oauthbearer-jwks-endpoint-url (the keys tokens are signed with: Kastor accepts no unsigned tokens)');
  const skew = f['sasl-oauthbearer-clock-skew-seconds'];
  if (!Number.isFinite(skew) || skew < 0) throw new UsageError(`--sasl-oauthbearer-clock-skew-seconds must be a non-negative number, got ${skew}`);
  const refresh = f['sasl-oauthbearer-jwks-endpoint-refresh-ms'];
  if (!Number.isSafeInteger(refresh) || refresh < 1000) throw new UsageError(`--sasl-oauthbearer-jwks-endpoint-refresh-ms must be at least 1000, got ${refresh}`);
  for (const flag of ['sasl-oauthbearer-sub-claim-name', 'sasl-oauthbearer-scope-claim-name'] as const) if (f[flag].trim() === '') throw new UsageError(`--${flag} must name a claim`);
  return {
    jwksUrl,
    expectedAudience: (f['sasl-oauthbearer-expected-audience'] ?? '').split(',').map((s) => s.trim()).filter(Boolean),
    expectedIssuer: f['sasl-oauthbearer-expected-issuer'] || null,
    subClaim: f['sasl-oauthbearer-sub-claim-name'].trim(),
    scopeClaim: f['sasl-oauthbearer-scope-claim-name'].trim(),
    clockSkewMs: skew * 1000,
    jwksRefreshMs: refresh,
  };
}

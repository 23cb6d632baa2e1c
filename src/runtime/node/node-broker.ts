// What `kastor broker` runs: the Node runtime (NATS connected, the metadata bucket open), a broker assembled
// on it by createBroker, and the Kafka TCP listener attached in front of the broker's request router.
//
// A broker that cannot start rejects with a BrokerStartError (startup-checks.ts) saying why — the listen
// address taken, the data directory unwritable, NATS unreachable within its budget — and leaves nothing open
// behind it, so the process can exit. Stopping is bounded too: the NATS connection's drain, the last step of a
// stop, gives way to a plain close when NATS is gone or slow (a connection left reconnecting forever would keep
// the process alive after "broker stopped").
import { createBroker, type Broker, type BrokerDeps } from '../../../actors/broker-actor.ts';
import { listenersOf, type BrokerConfig } from '../../broker/broker-config.ts';
import { KafkaListener } from './kafka-listener.ts';
import type { RequestHandler } from '../../broker/request-handler.ts';
import type { Logger } from '../../util/logger.ts';
import { usesSasl, usesTls, type BrokerEndpoint } from '../../security/listeners.ts';
import { AuthFailureThrottle } from '../../security/auth-failure-throttle.ts';
import { OAuthBearerValidator } from '../../security/oauthbearer.ts';
import { readTlsFiles, watchTlsFiles } from './tls-files.ts';
import { createNodeRuntime } from './node-runtime.ts';
import { nodeJwtKeys } from './node-jwt-keys.ts';
import { BrokerStartError, checkDataDir, checkListenAddress, listenError } from './startup-checks.ts';

export type NodeBrokerDeps = Omit<BrokerDeps, 'listen' | 'link'> & {
  /** How long to keep trying to reach NATS before giving up (default 10 s). */
  natsConnectTimeoutMs?: number;
  /** Longest drain of the NATS connection at the end of a stop before it is closed (default 2 s). */
  drainTimeoutMs?: number;
};

export const DEFAULT_NATS_CONNECT_TIMEOUT_MS = 10_000;

/** Connects, assembles and starts a broker; rejects (everything it opened closed again) when it cannot start. */
export async function startNodeBroker(config: BrokerConfig, deps: NodeBrokerDeps): Promise<Broker> {
  const { natsConnectTimeoutMs = DEFAULT_NATS_CONNECT_TIMEOUT_MS, drainTimeoutMs = 2_000, ...brokerDeps } = deps;
  const logger = deps.logger.child({ broker: config.brokerId });
  const listeners = listenersOf(config);
  for (const l of listeners) await checkListenAddress(l.host, l.port);
  await checkDataDir(config.dataDir);
  // Certificates are read before anything starts: a missing or mismatched file is a start failure, not a
  // listener that fails every handshake.
  let tlsOptions: ReturnType<typeof readTlsFiles> | undefined;
  if (listeners.some((l) => usesTls(l.securityProtocol))) {
    if (!config.tls) throw new BrokerStartError('START_FAILED', 'an SSL or SASL_SSL listener needs --ssl-cert (and --ssl-key unless the certificate file holds the key)', { reason: 'no TLS certificate' });
    try {
      tlsOptions = readTlsFiles(config.tls);
    } catch (err) {
      throw new BrokerStartError('START_FAILED', (err as Error).message, { reason: (err as Error).message });
    }
  }
  const runtime = await createNodeRuntime({
    natsServers: config.natsServers,
    name: `kastor-broker-${config.brokerId}`,
    bucket: config.metadataBucket,
    connectBudgetMs: natsConnectTimeoutMs,
    security: config.natsSecurity,
    // Errors as before; a handler failure is now any request the transport serves, not only a replica fetch.
    onHandlerError: (err) => logger.error('transport handler failed', { error: err as Error }),
    onWatchError: (err) => logger.warn('watching the NATS connection failed', { error: err as Error }),
    onPermissionDenied: (err) => logger.error(`NATS refused it: ${err.message} — the broker's NATS user lacks this permission (kastor nats-config)`, { operation: err.operation, subject: err.subject }),
  });
  let bindFailure: BrokerStartError | null = null;
  const broker = createBroker(runtime, config, {
    ...brokerDeps,
    link: {
      cut: () => runtime.cut(),
      drain: async () => {
        let timer: NodeJS.Timeout | undefined;
        const timedOut = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`NATS drain did not finish within ${drainTimeoutMs} ms`)), drainTimeoutMs);
        });
        try {
          await Promise.race([runtime.drain(), timedOut]);
        } finally {
          clearTimeout(timer);
          await runtime.cut(); // a no-op after a drain; what ends a connection still reconnecting
        }
      },
    },
    listen: async (handler) => {
      const started = await startListeners(config, handler, logger, tlsOptions, () => runtime.clock.wall(), (err, host, port) => (bindFailure = listenError(err, host, port)));
      return started;
    },
  });
  try {
    await broker.start();
  } catch (err) {
    await broker.stop(); // its shutdown closes what it opened, the connection last
    await runtime.cut(); // a broker that failed before serving skips its shutdown: its connection is still open
    if (bindFailure) throw bindFailure;
    throw new BrokerStartError('START_FAILED', (err as Error).message, { reason: (err as Error).message }, { cause: err });
  }
  return broker;
}

/**
 * Every listener of the broker (listeners.ts), one KafkaListener each, as one ClientListener: the first's port,
 * every listener's advertised endpoint (bound ports resolved) for the registration, certificates reloaded into
 * every TLS listener, and a stop that stops them all. Failed logins are throttled per address across listeners.
 */
async function startListeners(
  config: BrokerConfig,
  handler: RequestHandler,
  logger: Logger,
  tlsOptions: ReturnType<typeof readTlsFiles> | undefined,
  wallClock: () => number,
  onBindFailure: (err: unknown, host: string, port: number) => Error | null,
): Promise<{ port: number; endpoints: BrokerEndpoint[]; stop(graceMs?: number): Promise<void> }> {
  const throttle = new AuthFailureThrottle();
  const oauthbearer = config.oauthbearer ? new OAuthBearerValidator(config.oauthbearer, nodeJwtKeys, wallClock) : null;
  const started: KafkaListener[] = [];
  const endpoints: BrokerEndpoint[] = [];
  let stopWatching = () => {};
  const stopAll = async (graceMs?: number) => {
    stopWatching();
    await Promise.all(started.map((l) => l.stop(graceMs)));
  };
  for (const spec of listenersOf(config)) {
    const listener = new KafkaListener({
      host: spec.host,
      port: spec.port,
      handler,
      logger,
      maxRequestBytes: config.maxRequestBytes,
      name: spec.name,
      securityProtocol: spec.securityProtocol,
      tls: usesTls(spec.securityProtocol) && tlsOptions && config.tls ? { options: tlsOptions, clientAuth: config.tls.clientAuth } : undefined,
      sasl: usesSasl(spec.securityProtocol) ? { mechanisms: config.saslMechanisms, reauthMs: config.connectionsMaxReauthMs, throttle, oauthbearer } : undefined,
    });
    try {
      await listener.start();
    } catch (err) {
      await stopAll(0);
      throw onBindFailure(err, spec.host, spec.port) ?? err;
    }
    started.push(listener);
    endpoints.push({ listener: spec.name, securityProtocol: spec.securityProtocol, host: spec.advertisedHost, port: spec.port === 0 ? listener.port : spec.advertisedPort });
    if (listenersOf(config).length > 1 || spec.securityProtocol !== 'PLAINTEXT') logger.info('listener started', { listener: spec.name, securityProtocol: spec.securityProtocol, bind: `${spec.host}:${listener.port}`, advertised: `${endpoints.at(-1)!.host}:${endpoints.at(-1)!.port}` });
  }
  if (config.tls && started.some((l) => usesTls(l.securityProtocol))) {
    stopWatching = watchTlsFiles(config.tls, logger, (options) => {
      for (const l of started) if (usesTls(l.securityProtocol)) l.setSecureContext(options);
    });
  }
  return { port: started[0]!.port, endpoints, stop: stopAll };
}

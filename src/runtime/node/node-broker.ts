// What `kastor broker` runs: the Node runtime (NATS connected, the metadata bucket open), a broker assembled
// on it by createBroker, and the Kafka TCP listener attached in front of the broker's request router.
//
// A broker that cannot start rejects with a BrokerStartError (startup-checks.ts) saying why — the listen
// address taken, the data directory unwritable, NATS unreachable within its budget — and leaves nothing open
// behind it, so the process can exit. Stopping is bounded too: the NATS connection's drain, the last step of a
// stop, gives way to a plain close when NATS is gone or slow (a connection left reconnecting forever would keep
// the process alive after "broker stopped").
import { createBroker, type Broker, type BrokerDeps } from '../../../actors/broker-actor.ts';
import type { BrokerConfig } from '../../broker/broker-config.ts';
import { KafkaListener } from './kafka-listener.ts';
import { createNodeRuntime } from './node-runtime.ts';
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
  await checkListenAddress(config.host, config.port);
  await checkDataDir(config.dataDir);
  const runtime = await createNodeRuntime({
    natsServers: config.natsServers,
    name: `kastor-broker-${config.brokerId}`,
    bucket: config.metadataBucket,
    connectBudgetMs: natsConnectTimeoutMs,
    // Errors as before; a handler failure is now any request the transport serves, not only a replica fetch.
    onHandlerError: (err) => logger.error('transport handler failed', { error: err as Error }),
    onWatchError: (err) => logger.warn('watching the NATS connection failed', { error: err as Error }),
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
      const listener = new KafkaListener({ host: config.host, port: config.port, handler, logger, maxRequestBytes: config.maxRequestBytes });
      try {
        await listener.start();
      } catch (err) {
        bindFailure = listenError(err, config.host, config.port);
        throw bindFailure ?? err;
      }
      return listener;
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

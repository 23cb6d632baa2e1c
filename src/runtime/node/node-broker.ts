// What `kastor broker` runs: the Node runtime (NATS connected, the metadata bucket open), a broker assembled
// on it by createBroker, and the Kafka TCP listener attached in front of the broker's request router.
import { createBroker, type Broker, type BrokerDeps } from '../../../actors/broker-actor.ts';
import type { BrokerConfig } from '../../broker/broker-config.ts';
import { KafkaListener } from './kafka-listener.ts';
import { createNodeRuntime } from './node-runtime.ts';

export type NodeBrokerDeps = Omit<BrokerDeps, 'listen' | 'link'>;

/** Connects, assembles and starts a broker; rejects (everything it opened closed again) when it cannot start. */
export async function startNodeBroker(config: BrokerConfig, deps: NodeBrokerDeps): Promise<Broker> {
  const logger = deps.logger.child({ broker: config.brokerId });
  const runtime = await createNodeRuntime({
    natsServers: config.natsServers,
    name: `kastor-broker-${config.brokerId}`,
    bucket: config.metadataBucket,
    // Errors as before; a handler failure is now any request the transport serves, not only a replica fetch.
    onHandlerError: (err) => logger.error('transport handler failed', { error: err as Error }),
    onWatchError: (err) => logger.warn('watching the NATS connection failed', { error: err as Error }),
  });
  const broker = createBroker(runtime, config, {
    ...deps,
    link: runtime,
    listen: async (handler) => {
      const listener = new KafkaListener({ host: config.host, port: config.port, handler, logger, maxRequestBytes: config.maxRequestBytes });
      await listener.start();
      return listener;
    },
  });
  try {
    await broker.start();
  } catch (err) {
    await broker.stop(); // its shutdown closes what it opened, the connection last
    throw err;
  }
  return broker;
}

// Starting what makes Kastor visible: for a broker (`kastor broker [--http HOST:PORT] [--inspect [URL]]`),
// the status it publishes for dashboards, the inspection hub over its actors, the permanent Stately
// inspector when asked for, and the HTTP server; and a dashboard on its own (`kastor dev --http`), which
// reads the cluster metadata and the brokers' statuses from NATS and reaches each broker's actors over HTTP.
import type { AnyActorRef } from 'xstate';
import type { BrokerServices } from '../broker/broker-services.ts';
import { InspectionHub } from '../inspect/inspection-hub.ts';
import { loadMachines, toStatechart, type Statechart } from '../inspect/statechart.ts';
import type { StatelyInspector } from '../inspect/stately-inspector.ts';
import { connectNats } from '../runtime/node/nats-connection.ts';
import type { NatsClientSecurity } from '../security/nats-credentials.ts';
import { NatsKv } from '../runtime/node/nats-kv.ts';
import { natsTransport } from '../runtime/node/nats-transport.ts';
import { nodeClock } from '../runtime/node/node-clock.ts';
import { nodeIds } from '../runtime/node/node-ids.ts';
import type { Transport } from '../runtime/transport.ts';
import { MetadataStore } from '../metadata/metadata-store.ts';
import type { Logger } from '../util/logger.ts';
import { txnSummaries } from '../txn/txn-listing.ts';
import { MAX_STATUS_TRANSACTIONS, startStatusPublisher, type BrokerStatus, type ReplicaStatus } from './broker-status.ts';
import { StatusBoard } from './status-board.ts';
import { DashboardServer } from './dashboard-server.ts';
import { brokerReadiness, type Readiness } from './readiness.ts';
import type { DevControls } from './dev-controls.ts';

/** What observability needs of a running broker (actors/broker-actor.ts's Broker). */
export interface ObservedBroker {
  readonly actor: AnyActorRef;
  readonly incarnation: string;
  readonly services: BrokerServices | undefined;
  readonly transport: Transport;
}

export interface BrokerObservabilityOptions {
  http?: { host: string; port: number };
  /** Installed on every actor for the broker's lifetime (the broker actor has it from creation). */
  inspector?: StatelyInspector;
  logger: Logger;
  statusIntervalMs?: number;
}

export interface BrokerObservability {
  hub: InspectionHub;
  /** The bound HTTP address, null without --http. */
  http: { host: string; port: number } | null;
  server: DashboardServer | null;
  stop(): Promise<void>;
}

let machinesCache: Promise<Statechart[]> | null = null;
/** Statecharts of machines/*.ts, drawn once per process. */
export function statecharts(logger?: Logger): Promise<Statechart[]> {
  machinesCache ??= loadMachines(undefined, (file, err) => logger?.warn('could not load a machine for the dashboard', { file, error: err as Error })).then((ms) =>
    [...ms.values()].map((m) => toStatechart(m)),
  );
  return machinesCache;
}

export function replicaStatuses(services: BrokerServices): ReplicaStatus[] {
  return services.registry.all().map((r) => ({
    topic: r.topic,
    partition: r.partition,
    role: r.role,
    leaderEpoch: r.leaderEpoch,
    logStartOffset: r.log?.logStartOffset ?? -1,
    logEndOffset: r.log?.logEndOffset ?? -1,
    highWatermark: r.log?.highWatermark ?? -1,
    ...(r.role === 'leader' && r.log ? { lastStableOffset: r.lastStableOffset(r.log) } : {}),
  }));
}

/** The transactions this broker coordinates, as its status carries them (none without a coordinator). */
export function transactionStatus(services: BrokerServices): Pick<BrokerStatus, 'transactions' | 'transactionsOmitted'> {
  if (!services.txn) return { transactions: [], transactionsOmitted: 0 };
  const held = services.txn.shards.loaded().flatMap((shard) => [...shard.txns.values()]);
  const { transactions, omitted } = txnSummaries(held, services.clock.wall(), MAX_STATUS_TRANSACTIONS);
  return { transactions, transactionsOmitted: omitted };
}

export function readinessOf(broker: ObservedBroker, services: BrokerServices): Readiness {
  const state = broker.actor.getSnapshot() as { status: string; matches(v: unknown): boolean };
  return brokerReadiness({
    brokerId: services.brokerId,
    incarnation: broker.incarnation,
    serving: state.status === 'active' && state.matches({ running: { registration: 'registered' } }),
    snapshot: services.metadata.snapshot(),
    offline: services.registry.all().filter((r) => r.role === 'offline'),
  });
}

export async function startBrokerObservability(broker: ObservedBroker, opts: BrokerObservabilityOptions): Promise<BrokerObservability> {
  const services = broker.services;
  const transport = broker.transport;
  if (!services) throw new Error('observability starts after the broker has started');
  const { config } = services;
  const hub = new InspectionHub({ sources: () => services.actors.list(), clock: () => services.clock.wall() });
  let stopRefreshing: (() => void) | null = null;
  if (opts.inspector) {
    const inspector = opts.inspector;
    hub.addPermanent(inspector.inspect, (a) => inspector.announce(a), [broker.actor]);
    // Replicas are created as the metadata names them: attach at once, so their recovery is seen too.
    stopRefreshing = services.metadata.subscribe((next, prev) => void ((next.topics !== prev.topics || next.brokers !== prev.brokers) && hub.refresh()));
  }
  let address: string | null = null;
  const status = (): BrokerStatus => ({
    brokerId: services.brokerId,
    incarnation: broker.incarnation,
    http: address,
    at: services.clock.wall(),
    throughput: { ...services.metrics.throughput },
    replicas: replicaStatuses(services),
    groups: services.actors.groups(),
    ...transactionStatus(services),
  });
  let server: DashboardServer | null = null;
  let board: StatusBoard | null = null;
  let stopListening: (() => void) | null = null;
  if (opts.http) {
    board = new StatusBoard();
    stopListening = board.listen(transport, config.metadataBucket);
    server = new DashboardServer({
      host: opts.http.host,
      port: opts.http.port,
      metadata: services.metadata,
      board,
      machines: await statecharts(opts.logger),
      local: { brokerId: services.brokerId, metrics: services.metrics, hub, replicas: () => replicaStatuses(services), readiness: () => readinessOf(broker, services) },
      logger: opts.logger,
    });
    const bound = await server.start();
    address = `${bound.host.includes(':') ? `[${bound.host}]` : bound.host}:${bound.port}`;
    opts.logger.info('dashboard and metrics serving', { http: `http://${address}/` });
  }
  const stopPublishing = startStatusPublisher({
    transport,
    bucket: config.metadataBucket,
    status,
    intervalMs: opts.statusIntervalMs,
    onError: (err) => opts.logger.debug('status publish failed', { error: err as Error }),
  });
  return {
    hub,
    http: server?.address ?? null,
    server,
    async stop() {
      stopPublishing();
      stopListening?.();
      stopRefreshing?.();
      hub.close();
      opts.inspector?.stop();
      await server?.stop();
    },
  };
}

export interface StandaloneDashboardOptions {
  natsServers: string[];
  /** The NATS login of a secured bus (the brokers'). */
  natsSecurity?: NatsClientSecurity;
  bucket: string;
  host: string;
  port: number;
  logger: Logger;
  /** `kastor dev`'s brokers, for the page's kill/pause/resume/restart buttons. */
  dev?: DevControls;
}

/** A dashboard without a broker: metadata and statuses from NATS, actors from the brokers' HTTP servers. */
export async function startStandaloneDashboard(opts: StandaloneDashboardOptions): Promise<{ address: { host: string; port: number }; server: DashboardServer; stop(): Promise<void> }> {
  const nc = await connectNats({ servers: opts.natsServers, name: 'kastor-dashboard', security: opts.natsSecurity });
  try {
    const kv = await NatsKv.open(nc, opts.bucket);
    const metadata = await MetadataStore.open(kv, { clock: nodeClock, ids: nodeIds, onWarning: (msg, facts) => opts.logger.warn(msg, facts) });
    const board = new StatusBoard();
    const stopListening = board.listen(natsTransport(nc), opts.bucket);
    const server = new DashboardServer({ host: opts.host, port: opts.port, metadata, board, machines: await statecharts(opts.logger), logger: opts.logger, dev: opts.dev });
    const address = await server.start();
    return {
      address,
      server,
      async stop() {
        stopListening();
        await server.stop();
        await metadata.close();
        await nc.drain();
      },
    };
  } catch (err) {
    await nc.close();
    throw err;
  }
}

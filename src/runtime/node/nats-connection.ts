// Opens Kastor's NATS connection with the settings NATS-NOTES.md measured: no async stack traces (a
// per-request Error allocation costs ~40% of JetStream publish throughput), reconnect forever (the default
// gives up after ~20 s and would leave a broker deaf to the cluster), a short reconnect wait (a restarted
// server is back within ~250 ms), and a ping every few seconds so a silently dead link is noticed in
// seconds rather than the default two minutes.
//
// The connection is a value handed to whoever needs it (brokers, the metadata store); nothing here keeps
// a module-level connection.
import { connect, type ConnectionOptions, type NatsConnection } from '@nats-io/transport-node';

export type { NatsConnection } from '@nats-io/transport-node';

export interface ConnectNatsOptions {
  servers: string | string[];
  /** Client name shown by the server's monitoring (e.g. `kastor-broker-1`). */
  name?: string;
  /** Escape hatch for tests and fault injection (e.g. `ignoreClusterUpdates` behind a TCP proxy). */
  overrides?: Partial<ConnectionOptions>;
}

/** The first connection attempt failed: the servers named here were not reachable or refused us. */
export class NatsConnectError extends Error {
  readonly code = 'NATS_CONNECT_FAILED';
  readonly servers: string[];
  constructor(servers: string[], cause: unknown) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(`cannot connect to NATS at ${servers.join(', ')}: ${reason}`, { cause });
    this.name = 'NatsConnectError';
    this.servers = servers;
  }
}

/** Settings NATS-NOTES.md recommends; exported so tests can assert them and tools can reuse them. */
export const KASTOR_NATS_DEFAULTS = {
  noAsyncTraces: true,
  maxReconnectAttempts: -1,
  reconnectTimeWait: 250,
  reconnectJitter: 100,
  pingInterval: 3_000,
  maxPingOut: 2,
  // A first connect should fail fast with a clear message instead of hanging a CLI or a test.
  timeout: 5_000,
} as const satisfies Partial<ConnectionOptions>;

export async function connectNats(opts: ConnectNatsOptions): Promise<NatsConnection> {
  const servers = Array.isArray(opts.servers) ? opts.servers : [opts.servers];
  try {
    return await connect({ ...KASTOR_NATS_DEFAULTS, servers, name: opts.name, ...opts.overrides });
  } catch (err) {
    throw new NatsConnectError(servers, err);
  }
}

/**
 * Calls each registered callback every time `nc` came back after losing its server (one status watch per
 * connection however many register). Requests in flight across a reconnect are never answered (they time out).
 */
export function reconnectNotifier(nc: Pick<NatsConnection, 'status'>, onError: (err: unknown) => void = () => {}): (fn: () => void) => () => void {
  const listeners = new Set<() => void>();
  let watching = false;
  return (fn) => {
    if (!watching) {
      watching = true;
      void (async () => {
        for await (const s of nc.status()) if (s.type === 'reconnect') for (const l of [...listeners]) l();
      })().catch(onError);
    }
    listeners.add(fn);
    return () => void listeners.delete(fn);
  };
}

// The Node runtime: a NATS connection (the transport, and the JetStream bucket of cluster metadata), real
// files, the real clock and crypto-random ids. Connecting and opening the bucket are the only I/O of a
// broker's start that happen outside createBroker; `cut` and `drain` end the connection (a crash, a stop).
import { PermissionViolationError, type NatsConnection } from '@nats-io/transport-node';
import type { Runtime } from '../runtime.ts';
import { connectNats, reconnectNotifier } from './nats-connection.ts';
import { NatsKv } from './nats-kv.ts';
import { connectNatsWithin } from './startup-checks.ts';
import { natsTransport } from './nats-transport.ts';
import { nodeClock } from './node-clock.ts';
import type { NatsClientSecurity } from '../../security/nats-credentials.ts';
import { nodeIds } from './node-ids.ts';
import { NodeStorage } from './node-storage.ts';

export interface NodeRuntime extends Runtime {
  readonly nc: NatsConnection;
  /** Closes the connection at once (a crash as the cluster sees it). */
  cut(): Promise<void>;
  /** Drains and closes the connection (a clean stop, after everything else). */
  drain(): Promise<void>;
}

export interface NodeRuntimeOptions {
  natsServers: string[];
  /** The connection's name in the server's monitoring (e.g. `kastor-broker-1`). */
  name: string;
  /** The metadata bucket (created when missing). */
  bucket: string;
  /** A failed request handler or an unsendable reply: logged, never fatal. */
  onHandlerError: (err: unknown) => void;
  /** Watching the connection's status failed (reconnects then go unnoticed): logged, never fatal. */
  onWatchError: (err: unknown) => void;
  /** Keep trying the first connection this long before failing with NATS_UNREACHABLE (default: one attempt). */
  connectBudgetMs?: number;
  /** The NATS login and TLS settings (src/security/nats-credentials.ts). */
  security?: NatsClientSecurity;
  /** NATS refused a publish or subscription (the login lacks a permission on a secured bus): logged, never fatal. */
  onPermissionDenied?: (err: PermissionViolationError) => void;
}

export async function createNodeRuntime(opts: NodeRuntimeOptions): Promise<NodeRuntime> {
  const nc =
    opts.connectBudgetMs === undefined
      ? await connectNats({ servers: opts.natsServers, name: opts.name, security: opts.security })
      : await connectNatsWithin({ servers: opts.natsServers, name: opts.name, security: opts.security, budgetMs: opts.connectBudgetMs });
  try {
    // One watch of the connection's status, shared by everything the transport serves: replication abandons
    // lost fetches, the controller trusts the crash probe only for brokers heard from since.
    const onReconnect = reconnectNotifier(nc, opts.onWatchError);
    if (opts.onPermissionDenied) {
      const report = opts.onPermissionDenied;
      void (async () => {
        for await (const s of nc.status()) if (s.type === 'error' && s.error instanceof PermissionViolationError) report(s.error);
      })().catch(opts.onWatchError);
    }
    const transport = natsTransport(nc, opts.onHandlerError, onReconnect);
    const kv = await NatsKv.open(nc, opts.bucket);
    return {
      clock: nodeClock,
      transport,
      kv,
      storage: new NodeStorage(),
      ids: nodeIds,
      nc,
      cut: () => nc.close().catch(() => {}),
      drain: () => nc.drain(),
    };
  } catch (err) {
    await nc.close().catch(() => {});
    throw err;
  }
}

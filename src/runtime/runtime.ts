// Everything a broker needs from the world, in one object passed to every component (STYLE.md point 3):
// time, messaging, the cluster metadata bucket, the disk, and ids. The Node runtime (node/node-runtime.ts)
// is real NATS, the JetStream KV bucket and real files; the memory runtime (memory/memory-runtime.ts) runs
// several brokers in one process on a simulated clock, bus, bucket and disk. Nothing under src/broker,
// src/replication, src/controller, src/group, src/metadata, src/log, actors/ or machines/ reaches the world
// any other way (test/unit/no-direct-effects.test.ts).
import type { MetadataKv } from '../metadata/kv.ts';
import type { Storage } from '../log/storage.ts';
import type { Clock } from './clock.ts';
import type { Ids } from './ids.ts';
import type { Transport } from './transport.ts';

export interface Runtime {
  readonly clock: Clock;
  readonly transport: Transport;
  /** The cluster metadata bucket. */
  readonly kv: MetadataKv;
  /** Partition logs and the broker's data directory. */
  readonly storage: Storage;
  readonly ids: Ids;
}

export type { Clock, TimerHandle } from './clock.ts';
export type { Ids } from './ids.ts';
export type { Transport, TransportSubscription, ServeOptions } from './transport.ts';

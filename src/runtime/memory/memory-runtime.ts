// The memory runtime: a simulated clock, an in-memory bus and metadata bucket shared by every broker of a
// simulated cluster, and a disk per broker. `memoryCluster` makes the shared parts once; `runtimeFor` gives
// each broker its own runtime on them (its own storage, the same clock, bus and bucket).
import { MemoryStorage } from '../../log/memory-storage.ts';
import { MemoryKv } from '../../metadata/memory-kv.ts';
import type { Runtime } from '../runtime.ts';
import { MemoryTransport } from './memory-transport.ts';
import { seededIds } from './seeded-ids.ts';
import { SimulatedClock } from './simulated-clock.ts';

export interface MemoryRuntime extends Runtime {
  readonly clock: SimulatedClock;
  readonly transport: MemoryTransport;
  readonly kv: MemoryKv;
  readonly storage: MemoryStorage;
}

export interface MemoryCluster {
  readonly clock: SimulatedClock;
  readonly transport: MemoryTransport;
  readonly kv: MemoryKv;
  /** A runtime on the shared clock, bus and bucket, with a disk of its own (kept across calls with one id). */
  runtimeFor(brokerId: number): MemoryRuntime;
}

export function memoryCluster(opts: { seed?: number; payloadLimit?: number; wallStart?: number } = {}): MemoryCluster {
  const clock = new SimulatedClock(opts.wallStart);
  const transport = new MemoryTransport(opts.payloadLimit, clock);
  const kv = new MemoryKv();
  const disks = new Map<number, MemoryStorage>();
  const seed = opts.seed ?? 1;
  return {
    clock,
    transport,
    kv,
    runtimeFor(brokerId) {
      let storage = disks.get(brokerId);
      if (!storage) disks.set(brokerId, (storage = new MemoryStorage()));
      return { clock, transport, kv, storage, ids: seededIds(seed * 1_000_003 + brokerId, clock) };
    },
  };
}

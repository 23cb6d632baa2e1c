// Replication between brokers in one process, deterministic: each broker's replicas and replication service
// on the memory runtime (its own MemoryStorage, one shared in-memory transport and simulated clock that moves
// only when a test advances it), fetch rounds driven by hand (no fetch loops), and a fake controller that
// commits ISR proposals by sending ASSIGNMENT. Used by test/unit/replication-in-process.test.ts and
// test/unit/replication-isr.test.ts.
import * as assert from 'uvu/assert';
import type { LogConfig } from '../../src/log/partition-log.ts';
import { PartitionReplica } from '../../src/broker/partition-replica.ts';
import { ReplicationService } from '../../src/replication/replication-service.ts';
import { memoryCluster, type MemoryRuntime } from '../../src/runtime/memory/memory-runtime.ts';
import type { MemoryTransport } from '../../src/runtime/memory/memory-transport.ts';
import type { SimulatedClock } from '../../src/runtime/memory/simulated-clock.ts';
import type { AlterIsrRequest, AlterIsrResponse } from '../../src/replication/isr-proposal.ts';
import { ErrorCode } from '../../src/protocol/generated/errors.ts';
import { silentLogger } from '../../src/util/logger.ts';
import type { Assignment } from '../../machines/partition-replica.ts';

export const TOPIC_ID = 'f'.repeat(32);

export interface Harness {
  bus: MemoryTransport;
  clock: SimulatedClock;
  services: Map<number, ReplicationService>;
  replicas: Map<number, Map<string, PartitionReplica>>;
  proposals: AlterIsrRequest[];
  /** How the fake controller answers; default: commit at once by assigning the new ISR everywhere. */
  controller: (req: AlterIsrRequest) => Promise<AlterIsrResponse>;
  create(partition: number, a: Assignment): Promise<void>;
  replica(broker: number, partition?: number): PartitionReplica;
  assignAll(partition: number, a: Assignment): void;
  round(follower: number, leader: number): Promise<void>;
  close(): Promise<void>;
}

/** `brokers` with a replication service each (none started), `lagMs` their replica.lag.time.max.ms; `more`: the logs' config, NATS max_payload. */
export function harness(brokers = [1, 2, 3], lagMs = 1500, minInsyncReplicas = 1, more: { logConfig?: Partial<LogConfig>; payloadLimit?: number } = {}): Harness {
  const cluster = memoryCluster({ payloadLimit: more.payloadLimit, wallStart: 1_000 });
  const bus = cluster.transport;
  const logConfig = more.logConfig ?? {};
  const clock = cluster.clock;
  const runtimes = new Map<number, MemoryRuntime>();
  const h: Harness = {
    bus,
    clock,
    services: new Map(),
    replicas: new Map(),
    proposals: [],
    controller: async (req) => {
      const current = h.replica(req.leaderId, req.partition);
      h.assignAll(req.partition, { leader: req.leaderId, leaderEpoch: req.leaderEpoch, replicas: current.replicas, isr: req.isr });
      return { errorCode: ErrorCode.NONE };
    },
    async create(partition, a) {
      for (const b of brokers) {
        if (!a.replicas.includes(b)) continue;
        const r = new PartitionReplica({
          topic: 't', topicId: TOPIC_ID, partition, brokerId: b, assignment: a, dataDir: `/b${b}`, storage: runtimes.get(b)!.storage,
          logConfig, maxMessageBytes: 1 << 20, minInsyncReplicas, clock, logger: silentLogger,
          replication: h.services.get(b)!,
        });
        h.replicas.get(b)!.set(`t-${partition}`, r);
        r.start();
      }
      const deadline = Date.now() + 5_000;
      while ([...h.replicas.values()].some((m) => m.get(`t-${partition}`)?.role === 'recovering')) {
        if (Date.now() > deadline) throw new Error('replicas did not recover');
        await new Promise((r) => setImmediate(r));
      }
    },
    replica: (broker, partition = 0) => h.replicas.get(broker)!.get(`t-${partition}`)!,
    assignAll(partition, a) {
      for (const m of h.replicas.values()) m.get(`t-${partition}`)?.assign(a);
    },
    async round(follower, leader) {
      const f = h.services.get(follower)!.fetchers.fetcherFor(leader);
      assert.ok(f, `broker ${follower} has a fetcher for ${leader}`);
      await f!.fetchOnce();
    },
    async close() {
      for (const s of h.services.values()) await s.stop();
      for (const m of h.replicas.values()) for (const r of m.values()) await r.stop(false);
    },
  };
  for (const b of brokers) {
    runtimes.set(b, cluster.runtimeFor(b));
    h.replicas.set(b, new Map());
    const svc = new ReplicationService({
      brokerId: b, incarnation: `inc-${b}`, transport: bus, subjectFor: (id) => `fetch.${id}`,
      proposeIsr: (req) => (h.proposals.push(req), h.controller(req)),
      clock, logger: silentLogger,
      settings: { maxWaitMs: 0, autoStart: false, replicaLagTimeMaxMs: lagMs, backoffMs: 0 },
    });
    svc.start({ get: (topic, p) => h.replicas.get(b)!.get(`${topic}-${p}`), all: () => [...h.replicas.get(b)!.values()] });
    h.services.set(b, svc);
  }
  return h;
}

/** The whole log below `upTo`, as bytes (batches are read one segment at a time). */
export async function bytesBelow(r: PartitionReplica, upTo: number): Promise<Buffer> {
  const log = r.log!;
  const parts: Buffer[] = [];
  let offset = log.logStartOffset;
  while (offset < upTo) {
    const got = await log.read(offset, 1 << 20, upTo);
    if (got.data.length === 0) break;
    parts.push(got.data);
    offset = got.nextOffset;
  }
  return Buffer.concat(parts);
}

export const settle = () => new Promise((r) => setImmediate(r));

/** Polls `cond` (in-memory work only needs a few turns of the event loop) with a deadline. */
export async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await settle();
  }
}

/** Replicas 1, 2 and 3 of a partition led by `leader`. */
export const rf3 = (leader: number, leaderEpoch: number, isr = [1, 2, 3]): Assignment => ({ leader, leaderEpoch, replicas: [1, 2, 3], isr });

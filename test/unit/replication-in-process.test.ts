// Replication between three brokers in one process, deterministic: each broker's replicas and replication
// service on the memory runtime (its own MemoryStorage, one shared in-memory transport and simulated clock
// that moves only when a test advances it), fetch rounds driven by hand (no fetch loops), and a fake
// controller that commits ISR proposals by sending ASSIGNMENT.
import { test } from 'uvu';
import { readPartitionTopicId } from '../../src/log/partition-metadata.ts';
import type { Storage } from '../../src/log/storage.ts';
import * as assert from 'uvu/assert';
import type { LogConfig } from '../../src/log/partition-log.ts';
import { PartitionReplica } from '../../src/broker/partition-replica.ts';
import { ReplicationService } from '../../src/replication/replication-service.ts';
import { memoryCluster, type MemoryRuntime } from '../../src/runtime/memory/memory-runtime.ts';
import type { MemoryTransport } from '../../src/runtime/memory/memory-transport.ts';
import type { SimulatedClock } from '../../src/runtime/memory/simulated-clock.ts';
import type { AlterIsrRequest, AlterIsrResponse } from '../../src/replication/isr-proposal.ts';
import { encodeFetchRequest, decodeFetchResponse } from '../../src/replication/replication-codec.ts';
import { ErrorCode } from '../../src/protocol/generated/errors.ts';
import { silentLogger } from '../../src/util/logger.ts';
import type { Assignment } from '../../machines/partition-replica.ts';
import { batchOf, recordsIn } from '../helpers/log-fixtures.ts';
import { buildRecordBatch } from '../../src/protocol/record-batch.ts';

const TOPIC_ID = 'f'.repeat(32);

interface Harness {
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

function harness(brokers = [1, 2, 3], lagMs = 1500, minInsyncReplicas = 1, more: { logConfig?: Partial<LogConfig>; payloadLimit?: number } = {}): Harness {
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
async function bytesBelow(r: PartitionReplica, upTo: number): Promise<Buffer> {
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

const settle = () => new Promise((r) => setImmediate(r));

/** Polls `cond` (in-memory work only needs a few turns of the event loop) with a deadline. */
async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await settle();
  }
}
const rf3 = (leader: number, leaderEpoch: number, isr = [1, 2, 3]): Assignment => ({ leader, leaderEpoch, replicas: [1, 2, 3], isr });

test('followers catch up; the HW advances only when every ISR member has the data; acks=all waits for it', async () => {
  const h = harness();
  try {
    await h.create(0, rf3(1, 0));
    const leader = h.replica(1);
    await leader.produce(batchOf('a', 3), 1, 1000);
    await leader.produce(batchOf('b', 2), 1, 1000);
    assert.is(leader.log!.logEndOffset, 5);
    assert.is(leader.log!.highWatermark, 0, 'no follower has fetched yet');
    let acked = false;
    const ack = leader.produce(batchOf('c', 1), -1, 10_000).then((r) => ((acked = true), r));
    ack.catch(() => {});
    await until(() => leader.log!.logEndOffset === 6, 'the acks=all append');
    await h.round(2, 1); // broker 2 gets everything
    await h.round(2, 1); // and reports its new log end
    assert.is(h.replica(2).log!.logEndOffset, 6);
    assert.is(leader.log!.highWatermark, 0, 'broker 3 (in the ISR) has nothing yet');
    await h.round(3, 1);
    await settle();
    assert.is(acked, false);
    await h.round(3, 1);
    await settle();
    assert.is(leader.log!.highWatermark, 6);
    assert.is(acked, true);
    assert.is((await ack).baseOffset, 5);
    await h.round(2, 1);
    await h.round(3, 1);
    for (const b of [2, 3]) {
      assert.is(h.replica(b).log!.highWatermark, 6, `follower ${b} took the leader's HW`);
      assert.ok((await bytesBelow(h.replica(b), 6)).equals(await bytesBelow(leader, 6)), `broker ${b} is byte-identical`);
      assert.equal(h.replica(b).log!.epochs.entries(), [{ epoch: 0, startOffset: 0 }]);
    }
    assert.equal(recordsIn(await bytesBelow(h.replica(3), 6)).map(([o, v]) => `${o}:${v}`), ['0:a-0', '1:a-1', '2:a-2', '3:b-0', '4:b-1', '5:c-0']);
  } finally {
    await h.close();
  }
});

test('a follower with un-replicated records of an old epoch truncates them and ends identical to the new leader', async () => {
  const h = harness();
  try {
    await h.create(0, rf3(1, 0));
    const old = h.replica(1);
    await old.produce(batchOf('a', 3), 1, 1000);
    for (const b of [2, 3, 2, 3]) await h.round(b, 1);
    assert.is(old.log!.highWatermark, 3);
    await old.produce(batchOf('lost', 2), 1, 1000); // never replicated
    assert.is(old.log!.logEndOffset, 5);
    // Broker 2 is elected in epoch 1 and writes other records at offsets 3..6.
    h.assignAll(0, rf3(2, 1, [2, 3]));
    const leader = h.replica(2);
    assert.is(leader.role, 'leader');
    assert.is(old.role, 'follower');
    await leader.produce(batchOf('new', 4), 1, 1000);
    await h.round(3, 2);
    await h.round(1, 2); // divergence: epoch 0 ends at 3 on the new leader
    assert.is(old.log!.logEndOffset, 3, 'the old leader cut its epoch-0 tail');
    await h.round(1, 2); // and fetches the new epoch's records
    await h.round(3, 2);
    await h.round(1, 2);
    const hw = leader.log!.highWatermark;
    assert.is(hw, 7);
    const want = await bytesBelow(leader, hw);
    for (const b of [1, 3]) assert.ok((await bytesBelow(h.replica(b), hw)).equals(want), `broker ${b} is byte-identical up to the HW`);
    assert.not.ok(recordsIn(await bytesBelow(old, old.log!.logEndOffset)).some(([, v]) => v.startsWith('lost')));
    assert.equal(old.log!.epochs.entries(), [{ epoch: 0, startOffset: 0 }, { epoch: 1, startOffset: 3 }]);
    assert.is(old.log!.highWatermark, 7);
  } finally {
    await h.close();
  }
});

test('a follower whose epoch ended where the leader\'s did, but named an epoch it never wrote, converges', async () => {
  const h = harness();
  try {
    await h.create(0, rf3(1, 0));
    await h.replica(1).produce(batchOf('a', 2), 1, 1000);
    for (const b of [2, 3, 2, 3]) await h.round(b, 1);
    // Broker 3 leads epoch 1 briefly without writing, then broker 2 leads epoch 2.
    h.assignAll(0, rf3(3, 1));
    // The epoch begins on the log's write chain, after anything queued before it.
    await until(() => h.replica(3).log!.epochs.latestEpoch() === 1, 'epoch 1 begun on broker 3');
    h.assignAll(0, rf3(2, 2));
    await h.replica(2).produce(batchOf('b', 1), 1, 1000);
    for (let i = 0; i < 4; i++) {
      await h.round(3, 2);
      await h.round(1, 2);
    }
    assert.is(h.replica(2).log!.highWatermark, 3);
    assert.equal(h.replica(3).log!.epochs.entries(), [{ epoch: 0, startOffset: 0 }, { epoch: 2, startOffset: 2 }]);
    assert.ok((await bytesBelow(h.replica(3), 3)).equals(await bytesBelow(h.replica(2), 3)));
  } finally {
    await h.close();
  }
});

test('a follower past the leader\'s end with no epoch history cuts back to its HW, then follows', async () => {
  const h = harness();
  try {
    await h.create(0, rf3(1, 0));
    await h.replica(1).produce(batchOf('a', 2), 1, 1000);
    for (const b of [2, 3, 2, 3, 3]) await h.round(b, 1);
    const f = h.replica(3).log!;
    assert.is(f.highWatermark, 2);
    await f.appendReplicated(buildRecordBatch({ baseOffset: 2, partitionLeaderEpoch: 0, timestamp: 1, records: [{ value: 'stray-0' }, { value: 'stray-1' }] }));
    f.epochs.truncateFromEnd(0); // as if the leader-epoch checkpoint had been lost
    assert.is(f.epochs.latestEpoch(), -1);
    await h.round(3, 1);
    assert.is(f.logEndOffset, 2);
    await h.replica(1).produce(batchOf('b', 1), 1, 1000);
    await h.round(3, 1);
    assert.ok((await bytesBelow(h.replica(3), 3)).equals(await bytesBelow(h.replica(1), 3)));
  } finally {
    await h.close();
  }
});

test('a follower whose log ends before the leader\'s log start (retention deleted it) starts over there and rejoins the ISR', async () => {
  // One batch per segment, and retention keeps only the active segment.
  const h = harness([1, 2, 3], 1500, 1, { logConfig: { segmentBytes: 1, retentionBytes: 1 } });
  try {
    await h.create(0, rf3(1, 0, [1, 2]));
    const leader = h.replica(1);
    const behind = h.replica(3);
    // The controller keeps broker 3 out of the ISR for now, so the leader's high watermark does not wait for it.
    const commit = h.controller;
    h.controller = async () => ({ errorCode: ErrorCode.INVALID_REQUEST });
    await leader.produce(batchOf('a', 2), 1, 1000);
    await h.round(3, 1);
    assert.is(behind.log!.logEndOffset, 2);
    // Broker 3 stops fetching; the leader writes on with broker 2, then retention deletes the old segments.
    for (const v of ['b', 'c', 'd']) await leader.produce(batchOf(v, 2), 1, 1000);
    for (let i = 0; i < 5; i++) await h.round(2, 1); // a fetch reads one segment, here one batch
    assert.is(leader.log!.highWatermark, 8);
    assert.is((await leader.log!.applyRetention()).deletedSegments, 3);
    assert.is(leader.log!.logStartOffset, 6);
    // Its next fetch (from 2) is out of range: it empties its log and starts at 6, with no epoch history.
    await h.round(3, 1);
    assert.is(behind.log!.logStartOffset, 6);
    assert.is(behind.log!.logEndOffset, 6);
    assert.equal(behind.log!.epochs.entries(), []);
    // Then it fetches from 6 like any follower, and is proposed back into the ISR.
    h.controller = commit;
    h.clock.advance(5_000);
    await h.round(3, 1);
    await h.round(3, 1);
    await settle();
    assert.is(behind.log!.logEndOffset, 8);
    assert.equal(behind.log!.epochs.entries(), [{ epoch: 0, startOffset: 6 }]);
    assert.ok((await bytesBelow(behind, 8)).equals(await bytesBelow(leader, 8)), 'identical from the leader\'s log start');
    assert.equal(recordsIn(await bytesBelow(behind, 8)).map(([o, v]) => `${o}:${v}`), ['6:d-0', '7:d-1']);
    assert.ok(h.proposals.at(-1)!.isr.includes(3), 'proposed back in');
    assert.equal([...leader.isr].sort(), [1, 2, 3]);
  } finally {
    await h.close();
  }
});

test('with a small NATS max_payload: a batch over half of it is refused, and a backlog larger than it replicates in several responses', async () => {
  const h = harness([1, 2, 3], 1500, 1, { payloadLimit: 64 * 1024 });
  try {
    await h.create(0, rf3(1, 0));
    const leader = h.replica(1);
    const big = buildRecordBatch({ records: [{ value: Buffer.alloc(40 * 1024, 0x61) }] });
    const err = await leader.produce(big, 1, 1000).then(() => null, (e: { errorCode?: number; message?: string }) => e);
    assert.is(err?.errorCode, ErrorCode.MESSAGE_TOO_LARGE, String(err?.message));
    assert.match(String(err?.message), /max_payload/);
    assert.is(leader.log!.logEndOffset, 0, 'nothing was written');
    // Ten batches of 20 KB: 200 KB in all, three times what one message carries.
    for (let i = 0; i < 10; i++) await leader.produce(buildRecordBatch({ records: [{ value: Buffer.alloc(20 * 1024, 0x30 + i) }] }), 1, 1000);
    for (let round = 0; round < 20 && !(h.replica(2).log!.logEndOffset === 10 && h.replica(3).log!.logEndOffset === 10); round++) {
      await h.round(2, 1);
      await h.round(3, 1);
    }
    for (const b of [2, 3]) assert.ok((await bytesBelow(h.replica(b), 10)).equals(await bytesBelow(leader, 10)), `broker ${b} is byte-identical`);
  } finally {
    await h.close();
  }
});

test('the replica actors learn the high watermark and log end, one event for many moves', async () => {
  const h = harness();
  try {
    await h.create(0, rf3(1, 0));
    const leader = h.replica(1);
    const events: number[] = [];
    leader.actor.subscribe((snap) => events.push(snap.context.highWatermark));
    const before = events.length;
    for (let i = 0; i < 5; i++) {
      await leader.produce(batchOf(`m${i}`, 2), 1, 1000);
      for (const b of [2, 3, 2, 3]) await h.round(b, 1);
    }
    assert.is(leader.log!.highWatermark, 10);
    await h.round(2, 1); // the follower learns it on its next fetch
    assert.is(h.replica(2).log!.highWatermark, 10);
    h.clock.advance(100); // HIGH_WATERMARK_REPORT_MS: the replicas report to their actors
    await until(() => leader.actor.getSnapshot().context.highWatermark === 10 && h.replica(2).actor.getSnapshot().context.highWatermark === 10, 'HW 10 in the leader\'s and a follower\'s actor context');
    assert.is(leader.actor.getSnapshot().context.logEndOffset, 10);
    assert.ok(events.length - before < 5, `the HW moved 5 times; the actor got ${events.length - before} snapshots`);
  } finally {
    await h.close();
  }
});

test('a lagging follower is proposed out of the ISR; the HW then moves and acks=all completes', async () => {
  const h = harness();
  try {
    await h.create(0, rf3(1, 0));
    const leader = h.replica(1);
    await h.round(2, 1);
    await h.round(3, 1);
    let acked = false;
    const ack = leader.produce(batchOf('a', 2), -1, 60_000).then(() => (acked = true));
    ack.catch(() => {});
    await until(() => leader.log!.logEndOffset === 2, 'the acks=all append');
    await h.round(2, 1);
    await h.round(2, 1); // broker 2 is caught up; broker 3 is silent from now on
    h.clock.advance(1_000);
    leader.maybeShrinkIsr();
    assert.equal(h.proposals, [], 'not lagging for replica.lag.time.max.ms yet');
    h.clock.advance(1_000);
    leader.maybeShrinkIsr();
    assert.equal(h.proposals, [{ topic: 't', partition: 0, leaderId: 1, leaderEpoch: 0, isr: [1, 2], fromIsr: [1, 2, 3] }], "the proposal names the ISR it was computed from (Kafka's partition epoch)");
    await settle();
    assert.equal(leader.isr, [1, 2]);
    await ack;
    assert.ok(acked);
    assert.is(leader.log!.highWatermark, 2);
  } finally {
    await h.close();
  }
});

test('a caught-up follower is proposed back in; while pending it already holds the HW back', async () => {
  const h = harness();
  try {
    await h.create(0, rf3(1, 0, [1, 2]));
    const leader = h.replica(1);
    await leader.produce(batchOf('a', 3), 1, 1000);
    await h.round(2, 1);
    await h.round(2, 1);
    assert.is(leader.log!.highWatermark, 3);
    let commit!: () => void;
    h.controller = (req) =>
      new Promise((resolve) => {
        commit = () => {
          h.assignAll(0, { ...rf3(1, 0), isr: req.isr });
          resolve({ errorCode: ErrorCode.NONE });
        };
      });
    await h.round(3, 1); // broker 3 copies offsets 0..2
    assert.equal(h.proposals, []);
    await h.round(3, 1); // reports log end 3 = HW: eligible
    assert.equal(h.proposals.map((p) => p.isr), [[1, 2, 3]]);
    assert.equal(leader.pendingIsr, [1, 2, 3]);
    await leader.produce(batchOf('b', 2), 1, 1000);
    await h.round(2, 1);
    await h.round(2, 1);
    assert.is(leader.log!.highWatermark, 3, 'the joining replica counts while its addition is pending');
    await h.round(3, 1); // one more proposal while pending must not be sent
    assert.is(h.proposals.length, 1);
    commit();
    await settle();
    assert.equal(leader.isr, [1, 2, 3]);
    assert.is(leader.pendingIsr, null);
    await h.round(3, 1);
    assert.is(leader.log!.highWatermark, 5);
  } finally {
    await h.close();
  }
});

test('a rejected proposal is dropped and the ISR stays', async () => {
  const h = harness();
  try {
    await h.create(0, rf3(1, 0));
    h.controller = async () => ({ errorCode: ErrorCode.FENCED_LEADER_EPOCH });
    await h.replica(1).produce(batchOf('a', 1), 1, 1000);
    h.clock.advance(5_000);
    h.replica(1).maybeShrinkIsr();
    await settle();
    assert.is(h.proposals.length, 1);
    assert.equal(h.replica(1).isr, [1, 2, 3]);
    assert.is(h.replica(1).pendingIsr, null);
  } finally {
    await h.close();
  }
});

test('fencing: stale and future epochs are refused per partition, others in the request still served', async () => {
  const h = harness();
  try {
    await h.create(0, rf3(1, 2));
    await h.create(1, rf3(2, 0));
    await h.replica(1, 0).produce(batchOf('a', 1), 1, 1000);
    const server = h.services.get(1)!.replicationServer!;
    const ask = async (parts: Array<{ partition: number; epoch: number }>) =>
      decodeFetchResponse(
        Buffer.from(
          await server.handle(
            encodeFetchRequest({
              replicaId: 3, incarnation: 'x', maxWaitMs: 0, maxBytes: 1 << 20,
              partitions: parts.map((p) => ({ topic: 't', partition: p.partition, topicId: TOPIC_ID, fetchOffset: 0, lastFetchedEpoch: -1, currentLeaderEpoch: p.epoch, highWatermark: -1, logStartOffset: 0 })),
            }),
          ),
        ),
      ).partitions;
    const r = await ask([{ partition: 0, epoch: 1 }, { partition: 0, epoch: 3 }, { partition: 1, epoch: 0 }, { partition: 0, epoch: 2 }]);
    assert.equal(r.map((p) => p.errorCode), [ErrorCode.FENCED_LEADER_EPOCH, ErrorCode.UNKNOWN_LEADER_EPOCH, ErrorCode.NOT_LEADER_OR_FOLLOWER, ErrorCode.NONE]);
    assert.equal(recordsIn(r[3]!.records), [[0, 'a-0']]);
    // A follower ignores an answer from a leader whose epoch is older than the one it follows.
    const f = h.replica(3, 1);
    assert.equal(await f.applyReplicaFetch(2, 0, { topic: 't', partition: 1, errorCode: 0, highWatermark: 0, logStartOffset: 0, leaderEpoch: 0, records: Buffer.alloc(0) }, 0), { kind: 'idle' });
    h.assignAll(1, rf3(2, 1));
    const stale = await f.applyReplicaFetch(2, 1, { topic: 't', partition: 1, errorCode: 0, highWatermark: 0, logStartOffset: 0, leaderEpoch: 0, records: batchOf('z', 1) }, 0);
    assert.is(stale, 'stale');
    assert.is(f.log!.logEndOffset, 0);
    // An answer to a fetch made at another log end (an append landed after the fetch was sent) is dropped too:
    // applying it would skip over or straddle data the leader never had (the thawed-zombie divergence).
    const moved = await f.applyReplicaFetch(2, 1, { topic: 't', partition: 1, errorCode: 0, highWatermark: 1, logStartOffset: 0, leaderEpoch: 1, records: batchOf('z', 1) }, 7);
    assert.is(moved, 'stale');
    assert.is(f.log!.logEndOffset, 0);
  } finally {
    await h.close();
  }
});

test('acks=all answers NOT_ENOUGH_REPLICAS below min.insync.replicas, times out, and fails on leadership loss', async () => {
  const h = harness([1, 2, 3], 1500, 2);
  try {
    await h.create(0, rf3(1, 0, [1]));
    const leader = h.replica(1);
    const codeOf = (p: Promise<unknown>) => p.then(() => ErrorCode.NONE, (e: { errorCode?: number }) => e.errorCode ?? -2);
    assert.is(await codeOf(leader.produce(batchOf('a', 1), -1, 5_000)), ErrorCode.NOT_ENOUGH_REPLICAS);
    assert.is(leader.log!.logEndOffset, 0, 'refused before the append');
    h.assignAll(0, rf3(1, 0, [1, 2]));
    let timedOut = -1;
    void codeOf(leader.produce(batchOf('b', 1), -1, 30)).then((code) => (timedOut = code));
    await until(() => (h.clock.advance(30), timedOut !== -1), 'the acks=all timeout on the simulated clock');
    assert.is(timedOut, ErrorCode.REQUEST_TIMED_OUT);
    const pending = codeOf(leader.produce(batchOf('c', 1), -1, 60_000));
    await until(() => leader.log!.logEndOffset === 2, 'the append');
    h.assignAll(0, rf3(2, 1, [2, 3]));
    assert.is(await pending, ErrorCode.NOT_LEADER_OR_FOLLOWER);
    assert.is(await codeOf(leader.produce(batchOf('d', 1), -1, 5_000)), ErrorCode.NOT_LEADER_OR_FOLLOWER);
  } finally {
    await h.close();
  }
});

test('below min.insync.replicas the high watermark stays (KIP-966): acks=1 records are not exposed, acks=all waiters are refused, and it moves once the ISR is back', async () => {
  const h = harness([1, 2, 3], 1500, 2);
  try {
    await h.create(0, rf3(1, 0, [1, 2]));
    const leader = h.replica(1);
    const codeOf = (p: Promise<unknown>) => p.then(() => ErrorCode.NONE, (e: { errorCode?: number }) => e.errorCode ?? -2);
    await h.round(2, 1);
    const waiting = codeOf(leader.produce(batchOf('a', 2), -1, 60_000));
    await until(() => leader.log!.logEndOffset === 2, 'the acks=all append');
    // Broker 2 leaves the ISR before it fetched the batch: ISR [1] is below min.insync.replicas 2.
    h.assignAll(0, rf3(1, 0, [1]));
    assert.is(await waiting, ErrorCode.NOT_ENOUGH_REPLICAS_AFTER_APPEND);
    await leader.produce(batchOf('b', 2), 1, 5_000);
    assert.is(leader.log!.logEndOffset, 4);
    assert.is(leader.log!.highWatermark, 0, 'records only the leader holds are not committed while the ISR is too small');
    const fetched = await leader.fetch(0, 1 << 20);
    assert.is(fetched.data.length, 0, 'a consumer reads nothing above the high watermark');
    // Broker 2 catches up and is back in the ISR: the high watermark moves over everything both hold.
    await h.round(2, 1);
    h.assignAll(0, rf3(1, 0, [1, 2]));
    await h.round(2, 1);
    assert.is(leader.log!.highWatermark, 4);
  } finally {
    await h.close();
  }
});

test('a replica of a topic created again under the same name does not open the old topic\'s log left in its directory', async () => {
  const h = harness([1]);
  try {
    await h.create(0, { leader: 1, leaderEpoch: 0, replicas: [1], isr: [1] });
    const old = h.replica(1);
    await old.produce(batchOf('old', 3), 1, 1_000);
    const dir = old.dir;
    await old.stop(false);
    // The same directory, a new topic id: what a broker finds when the topic was deleted and created again
    // while it was away.
    const storage: Storage = old.opts.storage;
    const fresh = new PartitionReplica({ ...old.opts, topicId: 'another-topic-id' });
    fresh.start();
    await until(() => fresh.role === 'leader', 'the new replica leading');
    assert.is(fresh.log!.logEndOffset, 0, 'the old log was not opened as the new topic\'s');
    assert.is(await readPartitionTopicId(storage, dir), 'another-topic-id');
    await fresh.stop(false);
    // The same topic id again: the log is kept.
    const same = new PartitionReplica({ ...old.opts, topicId: 'another-topic-id' });
    same.start();
    await until(() => same.role === 'leader', 'the same topic reopened');
    await same.produce(batchOf('new', 2), 1, 1_000);
    assert.is(same.log!.logEndOffset, 2);
    await same.stop(false);
  } finally {
    await h.close();
  }
});

test('one fetch request per leader carries every followed partition', async () => {
  const h = harness([1, 2]);
  try {
    const a: Assignment = { leader: 1, leaderEpoch: 0, replicas: [1, 2], isr: [1, 2] };
    for (let p = 0; p < 40; p++) await h.create(p, a);
    for (let p = 0; p < 40; p += 3) await h.replica(1, p).produce(batchOf(`p${p}`, 1), 1, 1000);
    await h.round(2, 1);
    await h.round(2, 1);
    assert.is(h.bus.requests.get('fetch.1'), 2);
    for (let p = 0; p < 40; p++) {
      const want = p % 3 === 0 ? 1 : 0;
      assert.is(h.replica(2, p).log!.logEndOffset, want, `partition ${p}`);
      assert.is(h.replica(1, p).log!.highWatermark, want);
    }
  } finally {
    await h.close();
  }
});

test('a consumer between the high watermark and the log end gets an empty answer, past the log end OFFSET_OUT_OF_RANGE', async () => {
  const h = harness();
  try {
    await h.create(0, rf3(1, 0));
    // acks=1: the leader's log grows to 3, the followers have not fetched, the high watermark stays at 0.
    await h.replica(1).produce(batchOf('a', 3), 1, 1000);
    const leader = h.replica(1);
    assert.is(leader.log!.logEndOffset, 3);
    assert.is(leader.log!.highWatermark, 0);
    const between = await leader.fetch(2, 1 << 20);
    assert.is(between.data.length, 0, 'nothing readable yet, and no reset of the consumer');
    assert.is(between.highWatermark, 0);
    try {
      await leader.fetch(4, 1 << 20);
      assert.unreachable('past the log end');
    } catch (err) {
      assert.is((err as { errorCode?: number }).errorCode, ErrorCode.OFFSET_OUT_OF_RANGE);
    }
  } finally {
    await h.close();
  }
});

test('DeleteRecords: the leader moves its log start, the followers follow from their fetch answers, the low watermark waits for the ISR', async () => {
  const h = harness([1, 2, 3], 1500, 1, { logConfig: { segmentBytes: 300 } });
  try {
    await h.create(0, rf3(1, 0));
    const leader = h.replica(1);
    for (let i = 0; i < 8; i++) await leader.produce(batchOf(`r${i}`, 5), 1, 1000);
    for (let i = 0; i < 20 && leader.log!.highWatermark < 40; i++) for (const b of [2, 3]) await h.round(b, 1);
    for (const b of [2, 3]) await h.round(b, 1);
    assert.is(leader.log!.highWatermark, 40);
    try {
      await leader.deleteRecords(41, 1000);
      assert.unreachable('past the high watermark');
    } catch (err) {
      assert.is((err as { errorCode?: number }).errorCode, ErrorCode.OFFSET_OUT_OF_RANGE);
    }
    let low = -1;
    const done = leader.deleteRecords(23, 10_000).then((l) => (low = l));
    await until(() => leader.log!.logStartOffset === 23, 'the leader log start');
    await settle();
    assert.is(low, -1, 'no follower has taken the new start yet');
    await h.round(2, 1); // broker 2 learns the start from the answer
    assert.is(h.replica(2).log!.logStartOffset, 23);
    await h.round(2, 1); // and reports it
    await h.round(3, 1);
    await settle();
    assert.is(low, -1, 'broker 3 has not reported it yet');
    await h.round(3, 1);
    await done;
    assert.is(low, 23);
    assert.ok(h.replica(3).log!.segmentInfos()[0]!.baseOffset > 0, 'the follower deleted whole segments below the start');
    // A follower elected leader keeps the start: a consumer below it is out of range there.
    h.assignAll(0, rf3(2, 1, [2, 3]));
    try {
      await h.replica(2).fetch(22, 1 << 20);
      assert.unreachable('below the new leader log start');
    } catch (err) {
      assert.is((err as { errorCode?: number }).errorCode, ErrorCode.OFFSET_OUT_OF_RANGE);
    }
    assert.is(recordsIn((await h.replica(2).fetch(23, 1 << 20)).data).find(([o]) => o >= 23)?.[0], 23);
    // -1 deletes up to the high watermark; a follower that never fetches again makes the request time out.
    const timedOut = h.replica(2).deleteRecords(-1, 500).catch((e: { errorCode?: number }) => e.errorCode);
    await until(() => h.replica(2).log!.logStartOffset === h.replica(2).log!.highWatermark, 'the new leader log start');
    h.clock.advance(500);
    assert.is(await timedOut, ErrorCode.REQUEST_TIMED_OUT);
  } finally {
    await h.close();
  }
});

test.run();

// The replication server's held follower fetches: a request held to its end with no news is not read again
// (its partitions only hear that the follower stayed where it was), a request woken because the follower follows
// more partitions is answered from its first pass, and news still gets a second pass; a partition not led here
// yet holds a request (where an error answered it at once) until its leadership starts. Over the in-memory
// transport and simulated clock, with targets that count what is asked of them.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { memoryCluster } from '../../src/runtime/memory/memory-runtime.ts';
import { ReplicationServer, type LeaderTarget } from '../../src/replication/replication-server.ts';
import { wakeSubjectOf } from '../../src/replication/replica-fetcher.ts';
import { decodeFetchResponse, encodeFetchRequest, type ReplicaFetchRequest } from '../../src/replication/replication-codec.ts';
import { silentLogger } from '../../src/util/logger.ts';
import { ErrorCode } from '../../src/protocol/generated/errors.ts';

const PARTITIONS = 50;

function setup() {
  const cluster = memoryCluster();
  const counts = { served: 0, held: 0, heldUntilNow: 0 };
  const target: LeaderTarget = {
    serveReplicaFetch: (_id, _inc, _p, _max, record) => {
      counts.served++;
      if (!record) counts.held++;
      return null;
    },
    heldUntilNow: () => void counts.heldUntilNow++,
  };
  const server = new ReplicationServer({
    brokerId: 1, transport: cluster.transport, clock: cluster.clock, subject: 'fetch.1', lookup: () => target, lookupVersion: () => 1,
    maxResponseBytes: 1 << 20, partitionMaxBytes: 1 << 20, maxWaitCapMs: 5_000, logger: silentLogger,
  });
  server.start();
  const req: ReplicaFetchRequest = {
    replicaId: 2, incarnation: 'inc-2', maxWaitMs: 5_000, maxBytes: 1 << 20,
    partitions: Array.from({ length: PARTITIONS }, (_, partition) => ({ topic: 't', partition, topicId: 'id', fetchOffset: 0, lastFetchedEpoch: 0, currentLeaderEpoch: 0, highWatermark: 0, logStartOffset: 0 })),
  };
  let answered = false;
  const fetch = () => {
    answered = false;
    return cluster.transport.request('fetch.1', encodeFetchRequest(req), 10_000).then((b) => ((answered = true), decodeFetchResponse(b)));
  };
  const turns = async () => {
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
  };
  return { cluster, server, counts, fetch, turns, answered: () => answered };
}

test('held to the end with no news: one read of each partition, then only "held until now"', async () => {
  const s = setup();
  try {
    const res = s.fetch();
    await s.turns();
    assert.is(s.counts.served, PARTITIONS, 'the first pass read every partition');
    assert.not.ok(s.answered(), 'held');
    s.cluster.clock.advance(5_000);
    await s.turns();
    assert.equal((await res).partitions, []);
    assert.equal([s.counts.served, s.counts.held, s.counts.heldUntilNow], [PARTITIONS, 0, PARTITIONS], 'no second read; every partition told');
  } finally {
    s.server.stop();
  }
});

test('woken for partitions it does not carry: answered from the first pass', async () => {
  const s = setup();
  try {
    const res = s.fetch();
    await s.turns();
    const payload = Buffer.alloc(4);
    payload.writeInt32BE(2);
    s.cluster.transport.publish(wakeSubjectOf('fetch.1'), payload);
    await s.turns();
    await res;
    assert.equal([s.counts.served, s.counts.heldUntilNow], [PARTITIONS, 0], 'no second pass: the follower asks again at once');
  } finally {
    s.server.stop();
  }
});

test('news while held: the second pass reads every partition again', async () => {
  const s = setup();
  try {
    const res = s.fetch();
    await s.turns();
    s.server.news([1, 2, 3], 'data');
    await s.turns();
    await res;
    assert.equal([s.counts.served, s.counts.held], [2 * PARTITIONS, PARTITIONS]);
  } finally {
    s.server.stop();
  }
});

test('a partition not led here yet holds the request, not answers it; its leadership starting answers it 100 ms later', async () => {
  const cluster = memoryCluster();
  let led = false;
  const served: boolean[] = [];
  const target: LeaderTarget = {
    serveReplicaFetch: (_id, _inc, p, _max, record) => {
      served.push(record);
      if (p.partition !== 0 || led) return null;
      return { topic: p.topic, partition: p.partition, errorCode: ErrorCode.UNKNOWN_LEADER_EPOCH, highWatermark: -1, logStartOffset: -1, leaderEpoch: -1, records: Buffer.alloc(0) };
    },
    heldUntilNow: () => {},
  };
  const server = new ReplicationServer({
    brokerId: 1, transport: cluster.transport, clock: cluster.clock, subject: 'fetch.1', lookup: () => target, lookupVersion: () => 1,
    maxResponseBytes: 1 << 20, partitionMaxBytes: 1 << 20, maxWaitCapMs: 5_000, logger: silentLogger,
  });
  server.start();
  try {
    const req: ReplicaFetchRequest = {
      replicaId: 2, incarnation: 'inc-2', maxWaitMs: 5_000, maxBytes: 1 << 20,
      partitions: [0, 1].map((partition) => ({ topic: 't', partition, topicId: 'id', fetchOffset: 0, lastFetchedEpoch: 0, currentLeaderEpoch: 1, highWatermark: 0, logStartOffset: 0 })),
    };
    let answer: ReturnType<typeof decodeFetchResponse> | null = null;
    void cluster.transport.request('fetch.1', encodeFetchRequest(req), 10_000).then((b) => (answer = decodeFetchResponse(b)));
    const turns = async () => {
      for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    };
    await turns();
    assert.is(answer, null, 'held: an error that only says the leadership has not reached this broker yet is not answered at once');
    led = true;
    server.news([2, 3], 'leading');
    cluster.clock.advance(99);
    await turns();
    assert.is(answer, null, 'other leaderships starting within 100 ms share the answer');
    cluster.clock.advance(1);
    await turns();
    assert.equal(answer!.partitions, [], 'read again: partition 0 is led now, nothing new');
    assert.equal(served, [true, true, false, false], 'a second pass');
  } finally {
    server.stop();
  }
});

test.run();

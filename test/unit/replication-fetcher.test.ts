// The replica fetcher and the replication server on their own, with fake replicas on the in-memory bus:
// the response byte budget (at least one batch, rotation so no partition starves), the long poll (held
// until data or maxWaitMs, answered at once on an append), per-partition backoff after an error, and
// answers dropped for a partition re-followed while the request was out; partitions with nothing new left
// out of the answer, a newer high watermark sent shortly after it moves, a held request woken by its follower,
// and a request lost to a reconnect abandoned; partitions added while a request is out wake it once, no sooner
// than 100 ms after it went out.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { MemoryTransport } from '../../src/runtime/memory/memory-transport.ts';
import { SimulatedClock } from '../../src/runtime/memory/simulated-clock.ts';
import { nodeClock } from '../../src/runtime/node/node-clock.ts';
import { ReplicationServer, type LeaderTarget } from '../../src/replication/replication-server.ts';
import { ReplicaFetcher, wakeSubjectOf, type FollowerTarget } from '../../src/replication/replica-fetcher.ts';
import { decodeFetchRequest, decodeFetchResponse, encodeFetchRequest, encodeFetchResponse, type ReplicaFetchPartition, type ReplicaFetchPartitionResponse } from '../../src/replication/replication-codec.ts';
import { ErrorCode } from '../../src/protocol/generated/errors.ts';
import { silentLogger } from '../../src/util/logger.ts';
import type { Clock } from '../../src/runtime/clock.ts';

/** A leader partition whose every read returns `size` bytes (or nothing once `empty`). */
class FakeLeader implements LeaderTarget {
  /** The server it tells its news, as PartitionReplica does through ReplicationService; follower 2 is its replica. */
  server: ReplicationServer | null = null;
  reads = 0;
  highWatermark = 0;
  constructor(
    readonly size: number,
    public empty = false,
  ) {}
  async serveReplicaFetch(_r: number, _i: string, p: ReplicaFetchPartition, maxBytes: number): Promise<ReplicaFetchPartitionResponse> {
    this.reads++;
    const records = this.empty ? Buffer.alloc(0) : Buffer.alloc(this.size, p.partition);
    // Like PartitionLog.read: at least one batch, even past maxBytes.
    return { topic: p.topic, partition: p.partition, errorCode: 0, highWatermark: this.highWatermark, logStartOffset: 0, leaderEpoch: 0, records: maxBytes > 0 ? records : Buffer.alloc(0) };
  }
  advance(hw: number): void {
    this.highWatermark = hw;
    this.server?.news([1, 2], 'highWatermark');
  }
  append(): void {
    this.empty = false;
    this.server?.news([1, 2], 'data');
  }
}

function server(bus: MemoryTransport, leaders: Map<number, FakeLeader>, maxResponseBytes: number) {
  const s = new ReplicationServer({
    brokerId: 1, transport: bus, clock: nodeClock, subject: 'fetch.1', lookup: (_t, p) => leaders.get(p),
    maxResponseBytes, partitionMaxBytes: maxResponseBytes, maxWaitCapMs: 5_000, logger: silentLogger,
  });
  s.start();
  for (const l of leaders.values()) l.server = s;
  return s;
}

/** Follower broker 2's fetcher from leader 1 on `bus` (replica.fetch.backoff.ms 100). */
const fetcherOn = (bus: MemoryTransport, clock: Clock, maxWaitMs: number, requestTimeoutMs = 1000) =>
  new ReplicaFetcher({
    leaderId: 1, brokerId: 2, incarnation: 'i', transport: bus, subject: 'fetch.1', maxWaitMs, maxBytes: 1 << 20,
    requestTimeoutMs, backoffMs: 100, clock, logger: silentLogger,
  });

const ask = async (s: ReplicationServer, partitions: number[], maxWaitMs = 0, followerHighWatermark = 0) =>
  decodeFetchResponse(
    Buffer.from(
      await s.handle(
        encodeFetchRequest({
          replicaId: 2, incarnation: 'i', maxWaitMs, maxBytes: 1 << 30,
          partitions: partitions.map((p) => ({ topic: 't', partition: p, topicId: 'x', fetchOffset: 0, lastFetchedEpoch: -1, currentLeaderEpoch: 0, highWatermark: followerHighWatermark, logStartOffset: 0 })),
        }),
      ),
    ),
  ).partitions;

test('responses keep to the byte budget, always carry one batch, and rotate the partition served first', async () => {
  const bus = new MemoryTransport();
  const leaders = new Map([0, 1, 2].map((p) => [p, new FakeLeader(600)]));
  const s = server(bus, leaders, 1000);
  const served: number[] = [];
  for (let i = 0; i < 3; i++) {
    const r = await ask(s, [0, 1, 2]);
    const withData = r.filter((p) => p.records.length > 0);
    assert.is(withData.length, 1, 'only one 600-byte batch fits in 1000 bytes');
    served.push(withData[0]!.partition);
  }
  assert.equal(served.sort(), [0, 1, 2], 'each partition was first once');
  const big = server(new MemoryTransport(), new Map([[0, new FakeLeader(5000)]]), 1000);
  assert.is((await ask(big, [0]))[0]!.records.length, 5000, 'a batch larger than the budget still goes');
  assert.equal((await ask(s, [7]))[0]!.errorCode, ErrorCode.NOT_LEADER_OR_FOLLOWER);
  s.stop();
  big.stop();
});

test('an empty fetch is held until an append or maxWaitMs', async () => {
  const leader = new FakeLeader(10, true);
  const s = server(new MemoryTransport(), new Map([[0, leader]]), 1 << 20);
  let answered = false;
  const pending = ask(s, [0], 4_000).then((r) => ((answered = true), r));
  await new Promise((r) => setImmediate(r));
  assert.is(answered, false);
  assert.is(s.heldCount, 1);
  s.news([1, 3], 'data');
  await new Promise((r) => setImmediate(r));
  assert.is(answered, false, 'news of a partition follower 2 does not replicate leaves its request held');
  leader.append();
  const r = await pending;
  assert.is(r[0]!.records.length, 10);
  assert.is(s.heldCount, 0, 'nothing left held');
  leader.empty = true;
  const t0 = Date.now();
  const idle = await ask(s, [0], 50);
  assert.equal(idle, [], 'nothing new for the follower: the partition is left out of the answer');
  assert.ok(Date.now() - t0 >= 45, 'held for maxWaitMs');
  s.stop();
});

test('a newer high watermark is news: sent at once when the fetch asks behind it, else shortly after it moves', async () => {
  const leader = new FakeLeader(10, true);
  const quiet = new FakeLeader(10, true);
  const s = server(new MemoryTransport(), new Map([[0, leader], [1, quiet]]), 1 << 20);
  leader.highWatermark = 5;
  const behind = await ask(s, [0, 1], 4_000, 0);
  assert.equal(behind.map((p) => [p.partition, p.highWatermark]), [[0, 5]], 'only the partition whose high watermark moved');
  let answered = false;
  const pending = ask(s, [0, 1], 4_000, 5).then((r) => ((answered = true), r));
  await new Promise((r) => setImmediate(r));
  assert.is(answered, false, 'held: nothing newer than what the follower has');
  leader.advance(9);
  const moved = await pending;
  assert.equal(moved.map((p) => [p.partition, p.highWatermark, p.records.length]), [[0, 9, 0]]);
  s.stop();
});

test('news that comes while a request is being read is not lost: the request is answered, not held for maxWaitMs', async () => {
  for (const kind of ['data', 'highWatermark'] as const) {
    // The leader's read takes a while (a log read from disk); the news comes while it runs.
    const leader = new FakeLeader(10, true);
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const slow: LeaderTarget = {
      serveReplicaFetch: async (replicaId, incarnation, p, maxBytes) => {
        const r = await leader.serveReplicaFetch(replicaId, incarnation, p, maxBytes);
        await gate;
        return r;
      },
    };
    const s = new ReplicationServer({
      brokerId: 1, transport: new MemoryTransport(), clock: nodeClock, subject: 'fetch.1', lookup: () => slow,
      maxResponseBytes: 1 << 20, partitionMaxBytes: 1 << 20, maxWaitCapMs: 5_000, logger: silentLogger,
    });
    s.start();
    leader.server = s;
    let answered = false;
    const pending = ask(s, [0], 4_000, 0).then((r) => ((answered = true), r));
    await new Promise((r) => setImmediate(r));
    if (kind === 'data') leader.append();
    else leader.advance(3);
    release();
    const t0 = Date.now();
    const deadline = t0 + 2_000;
    while (!answered && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    assert.ok(answered, `${kind} news during the read was lost: the request was held`);
    await pending;
    s.stop();
  }
});

test('a follower that starts following another partition wakes the request its leader holds', async () => {
  const bus = new MemoryTransport();
  const leaders = new Map([[0, new FakeLeader(10, true)], [1, new FakeLeader(10, true)]]);
  const s = server(bus, leaders, 1 << 20);
  const fetcher = fetcherOn(bus, nodeClock, 4_000);
  const a = new FakeFollower('t', 0);
  fetcher.add(a, 0);
  const t0 = Date.now();
  const round = fetcher.fetchOnce();
  await new Promise((r) => setImmediate(r));
  assert.is(s.heldCount, 1, 'the leader holds the request');
  fetcher.add(new FakeFollower('t', 1), 0);
  await round;
  assert.ok(Date.now() - t0 < 2_000, 'answered on the wake, not after maxWaitMs');
  assert.is(s.served, 1);
  s.stop();
});

test('a wake that overtook its request: the follower\'s next request is answered without being held', async () => {
  const leader = new FakeLeader(10, true);
  const s = server(new MemoryTransport(), new Map([[0, leader]]), 1 << 20);
  s.wake(2); // nothing held for follower 2 yet
  const answer = await ask(s, [0], 60_000);
  assert.equal(answer, [], 'answered at once, with nothing new');
  assert.is(s.heldCount, 0, 'never held');
  let answered = false;
  const held = ask(s, [0], 60_000).then(() => (answered = true));
  await new Promise((r) => setImmediate(r));
  assert.is(answered, false, 'the wake is used once: the next request is held again');
  leader.append();
  await held;
  s.stop();
});

test('a request in flight when the connection came back is abandoned', async () => {
  const bus = new MemoryTransport();
  bus.serve('fetch.1', () => new Promise(() => {})); // the answer is lost
  const fetcher = fetcherOn(bus, nodeClock, 60_000, 60_000);
  fetcher.add(new FakeFollower('t', 0), 0);
  const round = fetcher.fetchOnce();
  await new Promise((r) => setImmediate(r));
  fetcher.abandon();
  assert.is(await round, true, 'the round ends without waiting out the timeout');
});

class FakeFollower implements FollowerTarget {
  applied: Array<{ epoch: number; res: ReplicaFetchPartitionResponse }> = [];
  readonly topicId = 'x';
  constructor(
    readonly topic: string,
    readonly partition: number,
  ) {}
  followerFetchPosition() {
    return { fetchOffset: 0, lastFetchedEpoch: -1, highWatermark: 0, logStartOffset: 0 };
  }
  async applyReplicaFetch(_leader: number, epoch: number, res: ReplicaFetchPartitionResponse) {
    this.applied.push({ epoch, res });
  }
}

test('fetcher: one request for all partitions, per-partition backoff on errors, stale answers dropped', async () => {
  const bus = new MemoryTransport();
  const clock = new SimulatedClock(0);
  const fetcher = fetcherOn(bus, clock, 0);
  const a = new FakeFollower('t', 0);
  const b = new FakeFollower('t', 1);
  fetcher.add(a, 3);
  fetcher.add(b, 3);
  const seen: number[][] = [];
  let refollowDuringRequest = false;
  bus.serve('fetch.1', async (payload: Buffer) => {
    const req = decodeFetchRequest(payload);
    seen.push(req.partitions.map((p) => p.partition));
    if (refollowDuringRequest) fetcher.add(a, 4); // a newer epoch arrives while this request is out
    return encodeFetchResponse({
      partitions: req.partitions.map((p) => ({
        topic: p.topic, partition: p.partition, errorCode: p.partition === 1 ? ErrorCode.UNKNOWN_LEADER_EPOCH : 0,
        highWatermark: 0, logStartOffset: 0, leaderEpoch: 3, records: Buffer.alloc(0),
      })),
    });
  });
  await fetcher.fetchOnce();
  assert.equal(seen, [[0, 1]], 'one request carries both partitions');
  assert.is(a.applied.length, 1);
  assert.is(b.applied.length, 0, 'an error is not applied');
  await fetcher.fetchOnce();
  assert.equal(seen[1], [0], 'the refused partition backs off');
  clock.advance(100);
  refollowDuringRequest = true;
  await fetcher.fetchOnce();
  assert.equal(seen[2], [0, 1], 'back after the backoff');
  assert.is(a.applied.length, 2, 'the answer for epoch 3 is dropped: the partition now follows epoch 4');
  bus.partition('fetch.1');
  assert.is(await fetcher.fetchOnce(), true);
  assert.is(await fetcher.fetchOnce(), false, 'a transport failure backs off every partition');
});

test('partitions added while a request is out wake it once, 100 ms after it went out', async () => {
  const bus = new MemoryTransport();
  const clock = new SimulatedClock(0);
  const fetcher = fetcherOn(bus, clock, 4_000);
  let answer!: (b: Buffer) => void;
  bus.serve('fetch.1', () => new Promise<Buffer>((resolve) => (answer = resolve)));
  const wakes: number[] = [];
  bus.subscribe(wakeSubjectOf('fetch.1'), () => wakes.push(clock.monotonic()));
  fetcher.add(new FakeFollower('t', 0), 0);
  const round = fetcher.fetchOnce();
  await new Promise((r) => setImmediate(r));
  clock.advance(30);
  // As thousands of logs open while topics are created: one by one, each a wake at once before.
  for (let p = 1; p <= 50; p++) fetcher.add(new FakeFollower('t', p), 0);
  await new Promise((r) => setImmediate(r));
  assert.equal(wakes, [], 'not yet: the request went out 30 ms ago');
  clock.advance(70);
  await new Promise((r) => setImmediate(r));
  assert.equal(wakes, [100], 'one wake for the fifty, 100 ms after the request went out');
  answer(encodeFetchResponse({ partitions: [] }));
  await round;
  // A request out for longer than that is woken at once.
  const next = fetcher.fetchOnce();
  await new Promise((r) => setImmediate(r));
  clock.advance(500);
  fetcher.add(new FakeFollower('t', 99), 0);
  await new Promise((r) => setImmediate(r));
  assert.equal(wakes, [100, 600]);
  answer(encodeFetchResponse({ partitions: [] }));
  await next;
});

test.run();

// Fetch from follower (KIP-392) on three whole brokers in one process (the memory runtime, simulated time),
// each in its own rack. With replica.selector.class set, the leader answers a consumer's Fetch v11+ from another
// rack with preferred_read_replica = the follower in that rack, no records, at once; a follower serves a
// consumer's Fetch v11+ up to its own high watermark (a long poll there is answered when its high watermark
// moves), answers OFFSET_OUT_OF_RANGE past its log end, UNKNOWN_LEADER_EPOCH for a newer epoch, FENCED_LEADER_EPOCH
// for an older one once the leader moved, and NOT_LEADER_OR_FOLLOWER to Fetch v10 and to ListOffsets. DescribeConfigs gives broker.rack and
// replica.selector.class. Without the selector the leader serves every consumer itself.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createBroker, type Broker } from '../../actors/broker-actor.ts';
import { defaultBrokerConfig } from '../../src/broker/broker-config.ts';
import { memoryCluster, type MemoryCluster } from '../../src/runtime/memory/memory-runtime.ts';
import { decodeResponse, encodeRequest } from '../../src/protocol/frames.ts';
import { ApiKey } from '../../src/protocol/generated/api-keys.ts';
import { ErrorCode } from '../../src/protocol/generated/errors.ts';
import type { ReplicaSelector } from '../../src/broker/replica-selector.ts';
import { silentLogger } from '../../src/util/logger.ts';
import { batchOf, recordsIn } from '../helpers/log-fixtures.ts';

const RACK = (id: number) => `RACK${id}`;

/** Turns of the event loop, each followed by `stepMs` of simulated time, until `cond` holds. */
async function drive(cluster: MemoryCluster, cond: () => boolean, what: string, stepMs = 10): Promise<void> {
  const deadline = Date.now() + 10_000; // real time: a hang fails the test instead of the file's deadline
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setImmediate(r));
    cluster.clock.advance(stepMs);
  }
}

function send<K extends number>(broker: Broker, apiKey: K, version: number, body: Parameters<typeof encodeRequest<K>>[4]) {
  const frame = encodeRequest(apiKey, version, 7, 'ff', body);
  let answer: Buffer | null | undefined;
  void Promise.resolve(broker.requestHandler!(frame.subarray(4), { id: 1, remote: 'ff:1', closed: false })).then((r) => (answer = r));
  return { answered: () => answer !== undefined, answer: () => decodeResponse(apiKey, version, answer!.subarray(4)).body };
}

async function ask<K extends number>(cluster: MemoryCluster, broker: Broker, apiKey: K, version: number, body: Parameters<typeof encodeRequest<K>>[4]) {
  const pending = send(broker, apiKey, version, body);
  await drive(cluster, pending.answered, `the answer to API key ${apiKey}`);
  return pending.answer();
}

interface Setup {
  cluster: MemoryCluster;
  brokers: Broker[];
  leader: Broker;
  follower: Broker;
  epoch: number;
  stop: () => Promise<void>;
}

/** Three brokers on racks RACK1-3, topic `orders` (1 partition, RF 3) with records 0-2 committed on every replica. */
async function setUp(replicaSelector: ReplicaSelector | null): Promise<Setup> {
  const cluster = memoryCluster({ seed: 392 });
  const brokers = [1, 2, 3].map((id) =>
    createBroker(cluster.runtimeFor(id), defaultBrokerConfig({ brokerId: id, dataDir: `/data/b${id}`, natsServers: [], port: 9090 + id, rack: RACK(id), replicaSelector }), { logger: silentLogger }),
  );
  let up = false;
  void Promise.all(brokers.map((b) => b.start())).then(() => (up = true));
  await drive(cluster, () => up, 'the brokers to start');
  await drive(cluster, () => brokers.every((b) => Object.keys(b.services!.metadata.snapshot().brokers).length === 3 && b.services!.metadata.snapshot().controller !== null), 'registrations and a controller');
  const stop = async () => {
    let down = false;
    void Promise.all(brokers.filter((b) => b.actor.getSnapshot().status !== 'done').map((b) => b.stop())).then(() => (down = true));
    await drive(cluster, () => down, 'the brokers to stop', 50);
  };
  try {
    const created = await ask(cluster, brokers[0]!, ApiKey.CreateTopics, 4, {
      topics: [{ name: 'orders', numPartitions: 1, replicationFactor: 3, assignments: [], configs: [] }],
      timeoutMs: 10_000,
      validateOnly: false,
    });
    assert.is(created.topics[0]!.errorCode, ErrorCode.NONE);
    const p = brokers[0]!.services!.metadata.snapshot().topics['orders']!.partitions[0]!;
    const leader = brokers[p.leader - 1]!;
    const follower = brokers.find((b) => b !== leader)!;
    await drive(cluster, () => brokers.every((b) => { const r = b.services!.registry.get('orders', 0); return r?.log != null && (r.role === 'leader' || r.role === 'follower') && r.isr.length === 3; }), 'every replica open and in sync');
    await produce(cluster, leader, 'a');
    await drive(cluster, () => follower.services!.registry.get('orders', 0)!.log!.highWatermark === 3, "the follower's high watermark at 3");
    return { cluster, brokers, leader, follower, epoch: leader.services!.registry.get('orders', 0)!.leaderEpoch, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

async function produce(cluster: MemoryCluster, leader: Broker, tag: string) {
  const produced = await ask(cluster, leader, ApiKey.Produce, 8, {
    transactionalId: null,
    acks: -1,
    timeoutMs: 10_000,
    topicData: [{ name: 'orders', partitionData: [{ index: 0, records: batchOf(tag, 3) }] }],
  });
  assert.is(produced.responses[0]!.partitionResponses[0]!.errorCode, ErrorCode.NONE);
}

function fetchBody(fetchOffset: number, opts: { rackId?: string; epoch?: number; maxWaitMs?: number } = {}) {
  return {
    replicaId: -1,
    maxWaitMs: opts.maxWaitMs ?? 500,
    minBytes: 1,
    maxBytes: 1 << 20,
    isolationLevel: 0,
    sessionId: 0,
    sessionEpoch: -1,
    topics: [{ topic: 'orders', partitions: [{ partition: 0, currentLeaderEpoch: opts.epoch ?? -1, fetchOffset: BigInt(fetchOffset), logStartOffset: -1n, partitionMaxBytes: 1 << 20 }] }],
    forgottenTopicsData: [],
    rackId: opts.rackId ?? '',
  };
}

async function fetchFrom(s: Setup, broker: Broker, fetchOffset: number, opts: { rackId?: string; epoch?: number; version?: number } = {}) {
  const started = s.cluster.clock.monotonic();
  const res = await ask(s.cluster, broker, ApiKey.Fetch, opts.version ?? 11, fetchBody(fetchOffset, opts));
  const p = res.responses[0]!.partitions[0]!;
  return { ...p, values: recordsIn(p.records ?? Buffer.alloc(0)).map(([o, v]) => `${o}:${v}`), waitedMs: s.cluster.clock.monotonic() - started };
}

test('the leader names the follower in the client rack, at once and without records; a client in its own rack or without one reads from it', async () => {
  const s = await setUp('rack-aware');
  try {
    const fid = s.follower.config.brokerId;
    const sent = await fetchFrom(s, s.leader, 0, { rackId: RACK(fid) });
    assert.is(sent.errorCode, ErrorCode.NONE);
    assert.is(sent.preferredReadReplica, fid);
    assert.equal(sent.values, []);
    assert.is(sent.highWatermark, 3n);
    assert.ok(sent.waitedMs < 500, `answered at once, not after max_wait_ms (${sent.waitedMs} ms)`);
    for (const rackId of [RACK(s.leader.config.brokerId), '', 'RACK9']) {
      const here = await fetchFrom(s, s.leader, 0, { rackId });
      assert.is(here.preferredReadReplica, -1, `rack "${rackId}"`);
      assert.equal(here.values, ['0:a-0', '1:a-1', '2:a-2'], `rack "${rackId}"`);
    }
    // A Fetch v10 has no rack: the leader serves it.
    const v10 = await fetchFrom(s, s.leader, 0, { version: 10 });
    assert.equal(v10.values, ['0:a-0', '1:a-1', '2:a-2']);
  } finally {
    await s.stop();
  }
});

test("a follower serves a consumer's Fetch v11 up to its high watermark, and a long poll there wakes when it moves", async () => {
  const s = await setUp('rack-aware');
  try {
    const fid = s.follower.config.brokerId;
    // A follower never names another replica: it reads (Kafka looks for a preferred replica only as leader).
    const read = await fetchFrom(s, s.follower, 0, { rackId: RACK(fid), epoch: s.epoch });
    assert.is(read.errorCode, ErrorCode.NONE);
    assert.is(read.preferredReadReplica, -1);
    assert.equal(read.values, ['0:a-0', '1:a-1', '2:a-2']);
    assert.is(read.highWatermark, 3n);
    // Replication tells a follower its leader's high watermark shortly after it moves, or at the latest with its
    // next fetch round (up to 5 s); the consumer's long poll on the follower is answered as soon as it does.
    const polling = send(s.follower, ApiKey.Fetch, 11, fetchBody(3, { rackId: RACK(fid), maxWaitMs: 60_000 }));
    await drive(s.cluster, () => true, 'a turn');
    assert.not.ok(polling.answered(), 'nothing above the high watermark yet: the fetch waits');
    await produce(s.cluster, s.leader, 'b');
    const followerLog = s.follower.services!.registry.get('orders', 0)!.log!;
    await drive(s.cluster, () => followerLog.highWatermark === 6, "the follower's high watermark at 6");
    assert.is(followerLog.logEndOffset, 6);
    const t0 = s.cluster.clock.monotonic();
    await drive(s.cluster, polling.answered, 'the long poll on the follower', 1);
    assert.ok(s.cluster.clock.monotonic() - t0 <= 5, `answered when the high watermark moved (${s.cluster.clock.monotonic() - t0} ms later)`);
    const p = polling.answer().responses[0]!.partitions[0]!;
    assert.equal(recordsIn(p.records!).map(([o, v]) => `${o}:${v}`), ['3:b-0', '4:b-1', '5:b-2']);
    assert.is(p.highWatermark, 6n);
  } finally {
    await s.stop();
  }
});

test('a follower answers errors as Kafka does: out of range past its log end, fenced or unknown epochs, Fetch v10 and ListOffsets sent to the leader', async () => {
  const s = await setUp('rack-aware');
  try {
    assert.is((await fetchFrom(s, s.follower, 100)).errorCode, ErrorCode.OFFSET_OUT_OF_RANGE);
    assert.is((await fetchFrom(s, s.follower, 0, { epoch: s.epoch + 1 })).errorCode, ErrorCode.UNKNOWN_LEADER_EPOCH);
    assert.is((await fetchFrom(s, s.follower, 0, { version: 10 })).errorCode, ErrorCode.NOT_LEADER_OR_FOLLOWER);
    const listed = await ask(s.cluster, s.follower, ApiKey.ListOffsets, 7, {
      replicaId: -1,
      isolationLevel: 0,
      topics: [{ name: 'orders', partitions: [{ partitionIndex: 0, currentLeaderEpoch: -1, timestamp: -1n }] }],
    });
    assert.is(listed.topics[0]!.partitions[0]!.errorCode, ErrorCode.NOT_LEADER_OR_FOLLOWER);
    // The leader stops (controlled shutdown): a new leader in a new epoch; the follower left fences the old one.
    let stopped = false;
    void s.leader.stop().then(() => (stopped = true));
    await drive(s.cluster, () => stopped, 'the leader to stop', 50);
    const rest = s.brokers.filter((b) => b !== s.leader);
    const replicaOn = (b: Broker) => b.services!.registry.get('orders', 0)!;
    await drive(s.cluster, () => rest.some((b) => replicaOn(b).role === 'leader') && rest.every((b) => replicaOn(b).leaderEpoch > s.epoch && replicaOn(b).role !== 'recovering'), 'a new leader');
    const follower = rest.find((b) => replicaOn(b).role === 'follower')!;
    const epoch = replicaOn(follower).leaderEpoch;
    assert.is((await fetchFrom(s, follower, 0, { epoch: epoch - 1 })).errorCode, ErrorCode.FENCED_LEADER_EPOCH);
    const read = await fetchFrom(s, follower, 0, { epoch });
    assert.is(read.errorCode, ErrorCode.NONE);
    assert.equal(read.values, ['0:a-0', '1:a-1', '2:a-2']);
  } finally {
    await s.stop();
  }
});

test('DescribeConfigs gives broker.rack and replica.selector.class', async () => {
  const s = await setUp('rack-aware');
  try {
    const res = await ask(s.cluster, s.follower, ApiKey.DescribeConfigs, 4, {
      resources: [{ resourceType: 4, resourceName: String(s.follower.config.brokerId), configurationKeys: ['broker.rack', 'replica.selector.class'] }],
      includeSynonyms: false,
      includeDocumentation: false,
    });
    const configs = Object.fromEntries(res.results[0]!.configs.map((c) => [c.name, c.value]));
    assert.equal(configs, { 'broker.rack': RACK(s.follower.config.brokerId), 'replica.selector.class': 'org.apache.kafka.common.replica.RackAwareReplicaSelector' });
  } finally {
    await s.stop();
  }
});

test('without replica.selector.class the leader serves a consumer from any rack', async () => {
  const s = await setUp(null);
  try {
    const here = await fetchFrom(s, s.leader, 0, { rackId: RACK(s.follower.config.brokerId) });
    assert.is(here.preferredReadReplica, -1);
    assert.equal(here.values, ['0:a-0', '1:a-1', '2:a-2']);
  } finally {
    await s.stop();
  }
});

test.run();

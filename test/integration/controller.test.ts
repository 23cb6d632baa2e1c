// The controller with a real nats-server and three Broker instances in one process (short timeouts: lease
// TTL 1000 ms, session timeout 1500 ms): one active controller, lease handover on stop and on crash,
// leader election from the ISR with leaderEpoch+1 after a crash, controlled shutdown moving leadership
// before the broker leaves, AlterIsr validation and fencing, and a deregistered zombie registering again.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Broker } from '../../actors/broker-actor.ts';
import { startNodeBroker } from '../../src/runtime/node/node-broker.ts';
import { defaultBrokerConfig } from '../../src/broker/broker-config.ts';
import { NatsServer } from '../../src/testing/nats-server.ts';
import { connectNats, type NatsConnection } from '../../src/runtime/node/nats-connection.ts';
import { subjectsFor } from '../../src/transport/subjects.ts';
import { NatsKv } from '../../src/runtime/node/nats-kv.ts';
import { brokerKey } from '../../src/metadata/metadata-keys.ts';
import type { ClusterSnapshot, PartitionState } from '../../src/metadata/types.ts';
import type { AlterIsrResponse } from '../../src/controller/alter-isr.ts';
import { createNodeLogger } from '../../src/runtime/node/node-logger.ts';

const LEASE_MS = 1000;
const SESSION_MS = 1500;

let dir = '';
let nats: NatsServer;
let bucketSeq = 0;

test.before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kastor-controller-'));
  nats = await NatsServer.start({ dir: join(dir, 'nats') });
});
test.after(async () => {
  await nats?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

interface Cluster {
  brokers: Map<number, Broker>;
  bucket: string;
  logs: string[];
  /** Starts broker `id` (again: same data directory, a new incarnation). */
  start(id: number): Promise<Broker>;
  close(): Promise<void>;
}

async function startCluster(ids = [1, 2, 3]): Promise<Cluster> {
  const bucket = `ctl-${process.pid}-${++bucketSeq}`;
  const logs: string[] = [];
  const logger = createNodeLogger({ level: 'info', sink: (line) => void (process.env.KASTOR_TEST_VERBOSE ? console.error(line) : logs.push(line)) });
  const brokers = new Map<number, Broker>();
  const cluster: Cluster = {
    brokers,
    bucket,
    logs,
    async start(id: number) {
      const b = await startNodeBroker(
        defaultBrokerConfig({
          brokerId: id,
          port: 0,
          dataDir: join(dir, bucket, `broker-${id}`),
          natsServers: [nats.url],
          metadataBucket: bucket,
          controllerLeaseMs: LEASE_MS,
          sessionTimeoutMs: SESSION_MS,
          heartbeatIntervalMs: 200,
        }),
        { logger },
      );
      brokers.set(id, b);
      return b;
    },
    async close() {
      await Promise.all([...brokers.values()].map((b) => b.crash().catch(() => {})));
    },
  };
  try {
    for (const id of ids) await cluster.start(id);
    for (const b of brokers.values()) await b.services!.metadata.waitFor((s) => ids.every((id) => s.brokers[id] !== undefined), 5_000);
  } catch (err) {
    await cluster.close();
    throw err;
  }
  return cluster;
}

/** Polls `cond` until it returns a truthy value or the deadline passes. */
async function until<T>(cond: () => T | undefined | null | false, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = cond();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const snap = (b: Broker): ClusterSnapshot => b.services!.metadata.snapshot();
const activeIds = (c: Cluster) => [...c.brokers].filter(([, b]) => b.controller?.isActive).map(([id]) => id);
const part = (b: Broker, topic: string, p: number): PartitionState | undefined => snap(b).topics[topic]?.partitions[p];

async function oneController(c: Cluster): Promise<number> {
  return until(() => {
    const ids = activeIds(c);
    const s = snap(c.brokers.values().next().value!);
    return ids.length === 1 && s.controller?.brokerId === ids[0] ? ids[0] : undefined;
  }, 5_000, 'exactly one active controller');
}

async function createTopic(c: Cluster, name: string, assignments: number[][], configs: Record<string, string> = {}): Promise<void> {
  const any = c.brokers.values().next().value!;
  const res = await any.services!.topics.create({
    name,
    numPartitions: -1,
    replicationFactor: -1,
    assignments: assignments.map((brokerIds, partitionIndex) => ({ partitionIndex, brokerIds })),
    configs,
  });
  assert.is(res.errorCode, 0, res.errorMessage ?? '');
  for (const b of c.brokers.values()) await b.services!.metadata.waitFor((s) => s.topics[name] !== undefined, 5_000);
}

async function alterIsr(nc: NatsConnection, bucket: string, req: unknown): Promise<AlterIsrResponse> {
  const msg = await nc.request(subjectsFor(bucket).alterIsr, JSON.stringify(req), { timeout: 5_000 });
  return msg.json<AlterIsrResponse>();
}

test('exactly one active controller, named with its epoch in the snapshot, stable across renewals', async () => {
  const c = await startCluster();
  try {
    const id = await oneController(c);
    const epoch = snap(c.brokers.get(1)!).controller!.epoch;
    assert.ok(epoch > 0);
    assert.is(c.brokers.get(id)!.controller!.epoch, epoch);
    // Several renewals (every 250 ms): always one controller, same epoch, seen alike by every broker.
    const end = Date.now() + LEASE_MS * 1.5;
    while (Date.now() < end) {
      assert.equal(activeIds(c), [id]);
      for (const b of c.brokers.values()) assert.equal(snap(b).controller, { brokerId: id, epoch });
      await new Promise((r) => setTimeout(r, 50));
    }
    for (const b of c.brokers.values()) assert.is(b.services!.controllerId(snap(b)), id);
  } finally {
    await c.close();
  }
});

test('a stopped controller resigns and another broker takes the lease at once; a crashed one is replaced without waiting for the TTL', async () => {
  const c = await startCluster();
  try {
    const first = await oneController(c);
    const epoch1 = snap(c.brokers.get(first)!).controller!.epoch;
    const stoppedAt = Date.now();
    await c.brokers.get(first)!.stop();
    c.brokers.delete(first);
    const second = await oneController(c);
    const handoverMs = Date.now() - stoppedAt;
    assert.is.not(second, first);
    const epoch2 = snap(c.brokers.get(second)!).controller!.epoch;
    assert.ok(epoch2 > epoch1, `epoch ${epoch2} > ${epoch1}`);
    assert.ok(handoverMs < LEASE_MS, `resignation hands over without waiting for the TTL (${handoverMs} ms)`);

    const crashedAt = Date.now();
    await c.brokers.get(second)!.crash();
    c.brokers.delete(second);
    const third = await oneController(c);
    const takeoverMs = Date.now() - crashedAt;
    assert.ok(third !== second && third !== first);
    assert.ok(snap(c.brokers.get(third)!).controller!.epoch > epoch2);
    // Its NATS connection closed with it: the standbys' probe finds it gone without waiting out the TTL.
    assert.ok(takeoverMs < LEASE_MS * 3, `takeover after a crash in ${takeoverMs} ms`);
  } finally {
    await c.close();
  }
});

test('crash of a leader: a new leader from the ISR with leaderEpoch+1 within the session timeout; the dead follower leaves ISRs', async () => {
  const c = await startCluster();
  try {
    const ctl = await oneController(c);
    const victim = [1, 2, 3].find((id) => id !== ctl)!;
    const others = [1, 2, 3].filter((id) => id !== victim);
    // Partition 0 led by the victim; partition 1 led by another broker with the victim as a follower.
    await createTopic(c, 'orders', [[victim, ...others], [...others, victim]]);
    const observer = c.brokers.get(ctl)!;
    assert.equal(part(observer, 'orders', 0), { partition: 0, replicas: [victim, ...others], leader: victim, leaderEpoch: 0, isr: [victim, ...others] });
    const crashedAt = Date.now();
    await c.brokers.get(victim)!.crash();
    c.brokers.delete(victim);
    const p0 = await until(() => {
      const p = part(observer, 'orders', 0);
      return p && p.leader !== victim ? p : undefined;
    }, SESSION_MS + 3_000, 'a new leader of orders-0');
    const electedMs = Date.now() - crashedAt;
    assert.is(p0.leader, others[0], 'the first live ISR member in replica order');
    assert.is(p0.leaderEpoch, 1);
    assert.equal(p0.isr, others);
    // By the crash probe (its connection closed) or, if the controller had not heard it yet, the session timeout.
    assert.ok(electedMs < SESSION_MS + 2_000, `within the session timeout and a margin (${electedMs} ms)`);
    const p1 = await until(() => {
      const p = part(observer, 'orders', 1);
      return p && !p.isr.includes(victim) ? p : undefined;
    }, 2_000, 'the dead follower out of the ISR of orders-1');
    assert.is(p1.leader, others[0]);
    assert.is(p1.leaderEpoch, 0, 'a follower leaving the ISR is not a leadership change');
    assert.is(snap(observer).brokers[victim], undefined, 'the dead broker is deregistered');
    // The surviving brokers' replicas follow the metadata: the new leader leads orders-0 at epoch 1.
    await until(() => c.brokers.get(others[0])!.services!.registry.get('orders', 0)?.role === 'leader', 3_000, 'the new leader replica');
  } finally {
    await c.close();
  }
});

test('controlled shutdown moves leadership to another ISR member before the broker deregisters', async () => {
  const c = await startCluster();
  try {
    const ctl = await oneController(c);
    const leaving = [1, 2, 3].find((id) => id !== ctl)!;
    const rest = [1, 2, 3].filter((id) => id !== leaving);
    await createTopic(c, 'pay', [[leaving, ...rest], [rest[0]!, leaving, rest[1]!], [leaving]]);
    const observer = c.brokers.get(ctl)!;
    const history: ClusterSnapshot[] = [];
    const unsub = observer.services!.metadata.subscribe((next) => void history.push(next));
    await c.brokers.get(leaving)!.stop();
    c.brokers.delete(leaving);
    await until(() => snap(observer).brokers[leaving] === undefined, 5_000, 'the broker to leave');
    unsub();
    const moved = history.findIndex((s) => s.topics.pay!.partitions[0]!.leader !== leaving);
    const gone = history.findIndex((s) => s.brokers[leaving] === undefined);
    assert.ok(moved >= 0 && moved < gone, `leadership moved (snapshot ${moved}) before the registration went (snapshot ${gone})`);
    const p0 = history[moved]!.topics.pay!.partitions[0]!;
    assert.equal({ leader: p0.leader, leaderEpoch: p0.leaderEpoch, isr: p0.isr }, { leader: rest[0], leaderEpoch: 1, isr: rest });
    // A partition it followed drops it from the ISR; one it alone held stays offline-bound (Kafka's behaviour).
    const p1 = history[moved]!.topics.pay!.partitions[1]!;
    assert.equal(p1.isr, [rest[0], rest[1]]);
    assert.is(p1.leaderEpoch, 0);
    const p2 = await until(() => {
      const p = part(observer, 'pay', 2);
      return p && p.leader === -1 ? p : undefined;
    }, 2_000, 'its single-replica partition to have no leader once it is gone');
    assert.is(p2.leaderEpoch, 1, 'losing the leader is a leadership change');
    assert.equal(p2.isr, [leaving], 'the last ISR member is kept');
    // It comes back: as the last ISR member of its leaderless partition it is elected there.
    await c.start(leaving);
    const back = await until(() => {
      const p = part(observer, 'pay', 2);
      return p && p.leader === leaving ? p : undefined;
    }, 3_000, 'the returning broker to lead its partition again');
    assert.equal({ leaderEpoch: back.leaderEpoch, isr: back.isr }, { leaderEpoch: 2, isr: [leaving] });
  } finally {
    await c.close();
  }
});

test('AlterIsr: the current leader commits an ISR change; wrong leader, non-replicas and stale epochs are refused', async () => {
  const c = await startCluster();
  const nc = await connectNats({ servers: nats.url });
  try {
    const ctl = await oneController(c);
    const follower = [1, 2, 3].find((id) => id !== ctl)!;
    const third = [1, 2, 3].find((id) => id !== ctl && id !== follower)!;
    await createTopic(c, 'isr', [[ctl, follower, third]]);
    const observer = c.brokers.get(ctl)!;
    const ok = await alterIsr(nc, c.bucket, { topic: 'isr', partition: 0, leaderId: ctl, leaderEpoch: 0, isr: [ctl, follower] });
    assert.is(ok.errorCode, 0);
    assert.equal(ok.partition, { partition: 0, replicas: [ctl, follower, third], leader: ctl, leaderEpoch: 0, isr: [ctl, follower] });
    await until(() => part(observer, 'isr', 0)?.isr.length === 2, 2_000, 'the committed ISR in the snapshot');
    assert.is((await alterIsr(nc, c.bucket, { topic: 'isr', partition: 0, leaderId: follower, leaderEpoch: 0, isr: [follower] })).errorCode, 6);
    assert.is((await alterIsr(nc, c.bucket, { topic: 'isr', partition: 0, leaderId: ctl, leaderEpoch: 0, isr: [ctl, 99] })).errorCode, 42);
    assert.is((await alterIsr(nc, c.bucket, { topic: 'isr', partition: 0, leaderId: ctl, leaderEpoch: 0, isr: [follower] })).errorCode, 42);
    assert.is((await alterIsr(nc, c.bucket, { topic: 'nope', partition: 0, leaderId: ctl, leaderEpoch: 0, isr: [ctl] })).errorCode, 3);
    assert.is((await alterIsr(nc, c.bucket, { topic: 'isr' })).errorCode, 42);
    // Stop the third broker: it is a replica but no longer registered, so it is ineligible.
    await c.brokers.get(third)!.stop();
    c.brokers.delete(third);
    await until(() => snap(observer).brokers[third] === undefined, 5_000, 'the third broker to leave');
    assert.is((await alterIsr(nc, c.bucket, { topic: 'isr', partition: 0, leaderId: ctl, leaderEpoch: 0, isr: [ctl, follower, third] })).errorCode, 107);
    // A leadership change (controlled shutdown of the leader, which is also the controller) fences epoch 0.
    await c.brokers.get(ctl)!.stop();
    c.brokers.delete(ctl);
    const moved = await until(() => {
      const p = part(c.brokers.get(follower)!, 'isr', 0);
      return p && p.leader === follower ? p : undefined;
    }, 5_000, 'leadership to move to the follower');
    assert.is(moved.leaderEpoch, 1);
    await oneController(c);
    const stale = await alterIsr(nc, c.bucket, { topic: 'isr', partition: 0, leaderId: ctl, leaderEpoch: 0, isr: [ctl, follower] });
    assert.is(stale.errorCode, 74, 'FENCED_LEADER_EPOCH');
    assert.equal(part(c.brokers.get(follower)!, 'isr', 0)!.isr, [follower]);
  } finally {
    await nc.close();
    await c.close();
  }
});

test('a broker whose registration was deleted while it runs registers again with the same incarnation', async () => {
  const c = await startCluster([1, 2]);
  const nc = await connectNats({ servers: nats.url });
  try {
    await oneController(c);
    const b2 = c.brokers.get(2)!;
    const kv = await NatsKv.open(nc, c.bucket);
    const before = snap(b2).brokers[2]!;
    let sawDeletion = false;
    const unsub = b2.services!.metadata.subscribe((next) => void (sawDeletion ||= next.brokers[2] === undefined));
    await kv.delete(brokerKey(2));
    await until(() => sawDeletion, 2_000, 'the deletion to be seen');
    unsub();
    const after = await until(() => snap(b2).brokers[2], 3_000, 'broker 2 to register again');
    assert.is(after.incarnation, before.incarnation);
    assert.is(after.incarnation, b2.incarnation);
    assert.ok(b2.actor.getSnapshot().matches('running'));
  } finally {
    await nc.close();
    await c.close();
  }
});

test.run();

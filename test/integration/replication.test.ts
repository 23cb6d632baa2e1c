// Replication with a real nats-server and three Broker instances in one process: an RF=3 topic produced
// to with acks=all through KafkaJS ends byte-identical on all three logs up to the high watermark; an idle
// cluster with many partitions costs a few fetch requests per second per broker pair; and with a follower
// crashed, acks=all completes only once the leader has proposed it out of the ISR (replica.lag.time.max.ms
// 1500 ms) and the controller committed the shrink.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import type { Broker } from '../../actors/broker-actor.ts';
import { startNodeBroker } from '../../src/runtime/node/node-broker.ts';
import { defaultBrokerConfig } from '../../src/broker/broker-config.ts';
import { NatsServer } from '../../src/testing/nats-server.ts';
import type { PartitionReplica } from '../../src/broker/partition-replica.ts';
import type { ReplicationService } from '../../src/replication/replication-service.ts';
import { createNodeLogger } from '../../src/runtime/node/node-logger.ts';
import { recordsIn } from '../helpers/log-fixtures.ts';

const LAG_MS = 1500;
let dir = '';
let nats: NatsServer;
let seq = 0;

test.before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'kastor-replication-'));
  nats = await NatsServer.start({ dir: join(dir, 'nats') });
});
test.after(async () => {
  await nats?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

interface Cluster {
  brokers: Map<number, Broker>;
  kafka: Kafka;
  /** Starts broker `id` (again), on its data directory. */
  startBroker(id: number): Promise<Broker>;
  close(): Promise<void>;
}

async function startCluster(sessionTimeoutMs = 60_000): Promise<Cluster> {
  const bucket = `repl-${process.pid}-${++seq}`;
  const logger = createNodeLogger({ level: process.env.KASTOR_TEST_VERBOSE ? 'debug' : 'error', sink: (l) => void (process.env.KASTOR_TEST_VERBOSE && console.error(l)) });
  const brokers = new Map<number, Broker>();
  const close = async () => {
    await Promise.all([...brokers.values()].map((b) => b.crash().catch(() => {})));
  };
  const startBroker = async (id: number) => {
    const b = await startNodeBroker(
      defaultBrokerConfig({
        brokerId: id, port: 0, dataDir: join(dir, bucket, `broker-${id}`), natsServers: [nats.url], metadataBucket: bucket,
        // Long enough that the controller never declares the crashed follower dead during a test: the ISR
        // changes measured here must be the leader's own proposals. The crash probe would declare it dead at
        // once (its NATS connection closes with it), so it is off here.
        sessionTimeoutMs, heartbeatIntervalMs: 200, controllerLeaseMs: 1_000, crashProbe: false,
      }),
      { logger, replication: { replicaLagTimeMaxMs: LAG_MS } },
    );
    brokers.set(id, b);
    return b;
  };
  try {
    for (const id of [1, 2, 3]) await startBroker(id);
    for (const b of brokers.values()) await b.services!.metadata.waitFor((s) => [1, 2, 3].every((id) => s.brokers[id] !== undefined), 5_000);
  } catch (err) {
    await close();
    throw err;
  }
  const kafka = new Kafka({
    clientId: 'replication-test', logLevel: logLevel.NOTHING, retry: { retries: 8, initialRetryTime: 100 },
    brokers: [...brokers.values()].map((b) => `127.0.0.1:${b.port}`),
  });
  return { brokers, kafka, startBroker, close };
}

async function until<T>(what: string, fn: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const replicaOn = (c: Cluster, broker: number, topic: string, partition = 0): PartitionReplica | undefined => c.brokers.get(broker)!.services!.registry.get(topic, partition);

async function bytesBelow(r: PartitionReplica, upTo: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let offset = r.log!.logStartOffset;
  while (offset < upTo) {
    const got = await r.log!.read(offset, 1 << 20, upTo);
    if (got.data.length === 0) break;
    parts.push(got.data);
    offset = got.nextOffset;
  }
  return Buffer.concat(parts);
}

async function createTopic(c: Cluster, topic: string, numPartitions: number): Promise<void> {
  const admin = c.kafka.admin();
  await admin.connect();
  try {
    assert.ok(await admin.createTopics({ topics: [{ topic, numPartitions, replicationFactor: 3 }], waitForLeaders: true }));
  } finally {
    await admin.disconnect();
  }
  for (let p = 0; p < numPartitions; p++) {
    await until(`${topic}-${p} on every broker`, () => [1, 2, 3].every((b) => { const r = replicaOn(c, b, topic, p); return r && (r.role === 'leader' || r.role === 'follower'); }));
  }
}

test('acks=all through KafkaJS: offsets acknowledged past the HW, all three logs byte-identical up to it', async () => {
  const c = await startCluster();
  try {
    await createTopic(c, 'orders', 1);
    const producer = c.kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    let expected = 0;
    try {
      for (let round = 0; round < 4; round++) {
        const messages = Array.from({ length: 50 }, (_, i) => ({ key: `k${i}`, value: `round-${round}-value-${i}`.repeat(3) }));
        const [meta] = await producer.send({ topic: 'orders', acks: -1, timeout: 10_000, messages: messages.map((m) => ({ ...m, partition: 0 })) });
        assert.is(meta!.errorCode, 0);
        assert.is(Number(meta!.baseOffset), expected);
        expected += messages.length;
        const leaderId = c.brokers.get(1)!.services!.metadata.snapshot().topics['orders']!.partitions[0]!.leader;
        // acks=all means the high watermark passed the batch when the ack left the leader.
        assert.ok(replicaOn(c, leaderId, 'orders')!.log!.highWatermark >= expected, 'HW past the acknowledged batch');
      }
    } finally {
      await producer.disconnect();
    }
    const replicas = [1, 2, 3].map((b) => replicaOn(c, b, 'orders')!);
    assert.equal(replicas.map((r) => r.role).sort(), ['follower', 'follower', 'leader']);
    // Followers learn the HW on their next fetch.
    await until('every replica at the same end and HW', () => replicas.every((r) => r.log!.logEndOffset === expected && r.log!.highWatermark === expected));
    const want = await bytesBelow(replicas[0]!, expected);
    const records = recordsIn(want);
    assert.is(records.length, expected);
    assert.equal(records[expected - 1], [expected - 1, 'round-3-value-49'.repeat(3)]);
    for (const r of replicas.slice(1)) assert.ok((await bytesBelow(r, expected)).equals(want), `broker ${r.opts.brokerId} is byte-identical`);
    for (const r of replicas) assert.equal(r.log!.epochs.entries(), replicas[0]!.log!.epochs.entries());
  } finally {
    await c.close();
  }
});

test('a batch larger than replication over NATS carries (half of max_payload) is refused with MESSAGE_TOO_LARGE; the partition goes on replicating', async () => {
  const c = await startCluster();
  try {
    const admin = c.kafka.admin();
    await admin.connect();
    try {
      // The topic would take 20 MB batches; the NATS server (max_payload 8 MB) carries 4 MB ones at most.
      assert.ok(await admin.createTopics({ topics: [{ topic: 'big', numPartitions: 1, replicationFactor: 3, configEntries: [{ name: 'max.message.bytes', value: String(20 * 1024 * 1024) }] }], waitForLeaders: true }));
    } finally {
      await admin.disconnect();
    }
    await until('big-0 on every broker', () => [1, 2, 3].every((b) => { const r = replicaOn(c, b, 'big'); return r && (r.role === 'leader' || r.role === 'follower'); }));
    const leaderId = c.brokers.get(1)!.services!.metadata.snapshot().topics['big']!.partitions[0]!.leader;
    assert.is((replicaOn(c, leaderId, 'big')!.opts.replication as ReplicationService).maxBatchBytes, 4 * 1024 * 1024);
    const producer = c.kafka.producer({ allowAutoTopicCreation: false, retry: { retries: 0 } });
    await producer.connect();
    try {
      const err = await producer.send({ topic: 'big', acks: -1, messages: [{ value: Buffer.alloc(5 * 1024 * 1024, 0x62) }] }).then(
        () => null,
        (e: { type?: string; message?: string }) => e,
      );
      assert.ok(err, 'the 5 MB batch was acknowledged');
      assert.is(err!.type, 'MESSAGE_TOO_LARGE', String(err!.message));
      // Just under the limit replicates, and the partition is whole on every broker.
      const [meta] = await producer.send({ topic: 'big', acks: -1, timeout: 20_000, messages: [{ value: Buffer.alloc(3 * 1024 * 1024, 0x63) }, { value: 'small' }] });
      assert.is(meta!.errorCode, 0);
      assert.is(Number(meta!.baseOffset), 0);
    } finally {
      await producer.disconnect();
    }
    const replicas = [1, 2, 3].map((b) => replicaOn(c, b, 'big')!);
    await until('every replica at offset 2', () => replicas.every((r) => r.log!.logEndOffset === 2 && r.log!.highWatermark === 2));
    const want = await bytesBelow(replicas[0]!, 2);
    for (const r of replicas.slice(1)) assert.ok((await bytesBelow(r, 2)).equals(want), `broker ${r.opts.brokerId} is byte-identical`);
  } finally {
    await c.close();
  }
});

test('an idle cluster with 30 partitions costs a few fetch requests per second per broker pair', async () => {
  const c = await startCluster();
  try {
    await createTopic(c, 'idle', 30);
    const servers = [1, 2, 3].map((b) => (replicaOn(c, b, 'idle', 0)!.opts.replication as ReplicationService).replicationServer!);
    const before = servers.reduce((n, s) => n + s.served, 0);
    const t0 = Date.now();
    await until('2 s of idle time', () => Date.now() - t0 >= 2_000, 5_000);
    const perSecond = (servers.reduce((n, s) => n + s.served, 0) - before) / ((Date.now() - t0) / 1000);
    // 6 broker pairs long-polling 5 s: ~1.2/s. One request per partition would be 30 x 2 x 2 = 120/s, and
    // Kafka's 500 ms wait 12/s.
    assert.ok(perSecond <= 6, `${perSecond.toFixed(1)} fetch requests/s in the cluster`);
    console.log(JSON.stringify({ idle_partitions: 30, broker_pairs: 6, fetch_requests_per_s: Number(perSecond.toFixed(1)) }));
    // The held fetches are alive: an acks=all write completes (both followers fetched it) well within one wait.
    const producer = c.kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    try {
      const sentAt = Date.now();
      await producer.send({ topic: 'idle', acks: -1, messages: [{ partition: 7, value: 'wake' }] });
      assert.ok(Date.now() - sentAt < 2_500, `an acks=all write on an idle cluster took ${Date.now() - sentAt} ms`);
    } finally {
      await producer.disconnect();
    }
  } finally {
    await c.close();
  }
});

test('acks=all with a crashed follower completes only after the leader proposed it out of the ISR; restarted, it catches up and is proposed back in', async () => {
  const c = await startCluster();
  try {
    await createTopic(c, 'lagging', 1);
    const snap = c.brokers.get(1)!.services!.metadata.snapshot();
    const p = snap.topics['lagging']!.partitions[0]!;
    const leaderId = p.leader;
    const victim = p.replicas.find((id) => id !== leaderId && id !== snap.controller?.brokerId)!;
    const survivor = p.replicas.find((id) => id !== leaderId && id !== victim)!;
    const leader = replicaOn(c, leaderId, 'lagging')!;
    // The ISR as the leader's metadata watch delivers it, with the time it changed.
    let shrunkAt = 0;
    const unsubscribe = c.brokers.get(leaderId)!.services!.metadata.subscribe((s) => {
      const isr = s.topics['lagging']?.partitions[0]?.isr ?? [];
      if (!shrunkAt && !isr.includes(victim)) shrunkAt = Date.now();
    });
    const producer = c.kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    try {
      await producer.send({ topic: 'lagging', acks: -1, messages: [{ partition: 0, value: 'before' }] });
      await c.brokers.get(victim)!.crash();
      const t0 = Date.now();
      const [meta] = await producer.send({ topic: 'lagging', acks: -1, timeout: 20_000, messages: [{ partition: 0, value: 'during' }] });
      const ackedAt = Date.now();
      assert.is(meta!.errorCode, 0);
      assert.is(Number(meta!.baseOffset), 1);
      assert.ok(shrunkAt > 0, 'the ISR shrank');
      assert.ok(ackedAt >= shrunkAt, 'acknowledged only after the shrink was committed');
      assert.ok(ackedAt - t0 >= LAG_MS - 600, `waited for replica.lag.time.max.ms (${ackedAt - t0} ms)`);
      assert.equal([...leader.isr].sort(), [leaderId, survivor].sort());
      assert.is(leader.log!.highWatermark, 2);
      const s = replicaOn(c, survivor, 'lagging')!;
      await until('the survivor at the HW', () => s.log!.highWatermark === 2);
      assert.ok((await bytesBelow(s, 2)).equals(await bytesBelow(leader, 2)));
      // More data while the victim is down, then it comes back on its old log and must rejoin the ISR.
      await producer.send({ topic: 'lagging', acks: -1, messages: Array.from({ length: 20 }, (_, i) => ({ partition: 0, value: `after-${i}` })) });
      await c.startBroker(victim);
      await until('the restarted follower back in the ISR', () => leader.isr.includes(victim), 15_000);
      const back = replicaOn(c, victim, 'lagging')!;
      await until('the restarted follower at the HW', () => back.log?.highWatermark === 22);
      assert.ok((await bytesBelow(back, 22)).equals(await bytesBelow(leader, 22)));
      const committed = c.brokers.get(leaderId)!.services!.metadata.snapshot().topics['lagging']!.partitions[0]!;
      assert.equal([...committed.isr].sort(), [1, 2, 3]);
    } finally {
      unsubscribe();
      await producer.disconnect();
    }
  } finally {
    await c.close();
  }
});

test('leader crash: the controller elects an ISR member, producing goes on, the old leader comes back as a follower and converges', async () => {
  const c = await startCluster(1_500);
  try {
    await createTopic(c, 'failover', 1);
    const first = c.brokers.get(1)!.services!.metadata.snapshot().topics['failover']!.partitions[0]!;
    const producer = c.kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    try {
      await producer.send({ topic: 'failover', acks: -1, messages: Array.from({ length: 30 }, (_, i) => ({ partition: 0, value: `one-${i}` })) });
      await c.brokers.get(first.leader)!.crash();
      const alive = [1, 2, 3].filter((id) => id !== first.leader);
      const observer = c.brokers.get(alive[0]!)!.services!.metadata;
      const next = await until('a new leader', () => {
        const p = observer.snapshot().topics['failover']!.partitions[0]!;
        return p.leader !== first.leader && p.leader >= 0 && p.leaderEpoch > first.leaderEpoch ? p : undefined;
      }, 15_000);
      assert.ok(first.isr.includes(next.leader), 'elected from the ISR');
      const [meta] = await producer.send({ topic: 'failover', acks: -1, timeout: 15_000, messages: Array.from({ length: 20 }, (_, i) => ({ partition: 0, value: `two-${i}` })) });
      assert.is(meta!.errorCode, 0);
      assert.is(Number(meta!.baseOffset), 30);
      await c.startBroker(first.leader);
      const replicas = () => [1, 2, 3].map((b) => replicaOn(c, b, 'failover'));
      await until('all three at offset 50', () => replicas().every((r) => r?.log?.highWatermark === 50 && r.log.logEndOffset === 50), 15_000);
      const leaderReplica = replicaOn(c, next.leader, 'failover')!;
      const want = await bytesBelow(leaderReplica, 50);
      for (const r of replicas()) assert.ok((await bytesBelow(r!, 50)).equals(want), `broker ${r!.opts.brokerId} is byte-identical`);
      assert.is(replicaOn(c, first.leader, 'failover')!.role, 'follower');
      assert.equal(replicaOn(c, first.leader, 'failover')!.log!.epochs.entries(), leaderReplica.log!.epochs.entries());
    } finally {
      await producer.disconnect();
    }
  } finally {
    await c.close();
  }
});

test.run();

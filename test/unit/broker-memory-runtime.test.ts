// Three whole brokers in one process on the memory runtime (createBroker with no listener): one simulated
// clock that moves only when the test advances it, one in-memory transport and metadata bucket, a MemoryStorage
// per broker. Clients' bytes go straight to each broker's request router, as the Kafka TCP listener would hand
// them over: a topic is created, an acks=all produce is answered once every replica has the batch, a fetch
// reads it back, and the brokers stop cleanly (controlled shutdown included). Two runs with one seed decide the
// same ids and leader in the same simulated time.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createBroker, type Broker } from '../../actors/broker-actor.ts';
import { defaultBrokerConfig } from '../../src/broker/broker-config.ts';
import { memoryCluster, type MemoryCluster } from '../../src/runtime/memory/memory-runtime.ts';
import { decodeResponse, encodeRequest } from '../../src/protocol/frames.ts';
import { ApiKey } from '../../src/protocol/generated/api-keys.ts';
import { ErrorCode } from '../../src/protocol/generated/errors.ts';
import { silentLogger } from '../../src/util/logger.ts';
import { batchOf, recordsIn } from '../helpers/log-fixtures.ts';

/** Turns of the event loop, each followed by `stepMs` of simulated time, until `cond` holds. */
async function drive(cluster: MemoryCluster, cond: () => boolean, what: string, stepMs = 10): Promise<number> {
  const started = cluster.clock.monotonic();
  const deadline = Date.now() + 10_000; // real time: a hang fails the test instead of the file's deadline
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (${cluster.clock.monotonic() - started} simulated ms)`);
    await new Promise((r) => setImmediate(r));
    cluster.clock.advance(stepMs);
  }
  return cluster.clock.monotonic() - started;
}

/** One request through a broker's router; the clock moves until it is answered. */
async function ask<K extends number>(cluster: MemoryCluster, broker: Broker, apiKey: K, version: number, body: Parameters<typeof encodeRequest<K>>[4]) {
  const frame = encodeRequest(apiKey, version, 7, 'sim', body);
  let answer: Buffer | null | undefined;
  void Promise.resolve(broker.requestHandler!(frame.subarray(4), { id: 1, remote: 'sim:1', closed: false })).then((r) => (answer = r));
  await drive(cluster, () => answer !== undefined, `the answer to API key ${apiKey}`);
  return decodeResponse(apiKey, version, answer!.subarray(4)).body;
}

/** What one run decided: ids made from the seed and the clock, the leader elected, the simulated time taken. */
interface Outcome {
  clusterId: string;
  topicId: string;
  incarnations: string[];
  leader: number;
  simulatedMs: number;
}

async function scenario(seed: number): Promise<Outcome> {
  const cluster = memoryCluster({ seed });
  const brokers = [1, 2, 3].map((id) =>
    createBroker(cluster.runtimeFor(id), defaultBrokerConfig({ brokerId: id, dataDir: `/data/b${id}`, natsServers: [], port: 9090 + id }), { logger: silentLogger }),
  );
  try {
    const started = Promise.all(brokers.map((b) => b.start()));
    let up = false;
    void started.then(() => (up = true));
    await drive(cluster, () => up, 'the brokers to start');
    await drive(cluster, () => brokers.every((b) => Object.keys(b.services!.metadata.snapshot().brokers).length === 3 && b.services!.metadata.snapshot().controller !== null), 'registrations and a controller');
    const [b1] = brokers;
    assert.is(b1!.port, 9091, 'no listener: the configured port');

    const created = await ask(cluster, b1!, ApiKey.CreateTopics, 4, {
      topics: [{ name: 'orders', numPartitions: 1, replicationFactor: 3, assignments: [], configs: [] }],
      timeoutMs: 10_000,
      validateOnly: false,
    });
    assert.is(created.topics[0]!.errorCode, ErrorCode.NONE);
    const leaderId = b1!.services!.metadata.snapshot().topics['orders']!.partitions[0]!.leader;
    const leader = brokers[leaderId - 1]!;
    await drive(cluster, () => brokers.every((b) => b.services!.registry.get('orders', 0)?.log !== null && b.services!.registry.get('orders', 0)?.role !== 'recovering'), 'every replica open');

    const produced = await ask(cluster, leader, ApiKey.Produce, 7, {
      transactionalId: null,
      acks: -1,
      timeoutMs: 10_000,
      topicData: [{ name: 'orders', partitionData: [{ index: 0, records: batchOf('a', 3) }] }],
    });
    const p = produced.responses[0]!.partitionResponses[0]!;
    assert.is(p.errorCode, ErrorCode.NONE);
    assert.is(Number(p.baseOffset), 0);
    for (const b of brokers) assert.is(b.services!.registry.get('orders', 0)!.log!.logEndOffset, 3, `broker ${b.config.brokerId} has the batch`);

    const fetched = await ask(cluster, leader, ApiKey.Fetch, 4, {
      replicaId: -1,
      maxWaitMs: 500,
      minBytes: 1,
      maxBytes: 1 << 20,
      isolationLevel: 0,
      topics: [{ topic: 'orders', partitions: [{ partition: 0, fetchOffset: 0n, partitionMaxBytes: 1 << 20 }] }],
    });
    const records = fetched.responses[0]!.partitions[0]!.records!;
    assert.equal(recordsIn(records).map(([o, v]) => `${o}:${v}`), ['0:a-0', '1:a-1', '2:a-2']);
    const snapshot = b1!.services!.metadata.snapshot();
    return { clusterId: snapshot.clusterId, topicId: snapshot.topics['orders']!.id, incarnations: brokers.map((b) => b.incarnation), leader: leaderId, simulatedMs: cluster.clock.monotonic() };
  } finally {
    const stopped = Promise.all(brokers.map((b) => b.stop()));
    let down = false;
    void stopped.then(() => (down = true));
    await drive(cluster, () => down, 'the brokers to stop', 50);
    for (const b of brokers) assert.is(b.actor.getSnapshot().status, 'done');
  }
}

test('three brokers on the memory runtime: create, acks=all produce, fetch, clean stop', async () => {
  await scenario(42);
});

test('the same seed makes the same ids, the same leader and takes the same simulated time', async () => {
  const first = await scenario(7);
  assert.equal(await scenario(7), first);
  assert.is.not((await scenario(8)).incarnations[0], first.incarnations[0]);
});

test.run();

// Whole Kastor brokers in one process on the memory runtime, for unit tests: starting three, driving the
// simulated clock until a condition holds, sending Kafka requests straight to a broker's router (as the TCP
// listener would hand them over), and stopping or restarting one broker.
import * as assert from 'uvu/assert';
import { createBroker, type Broker } from '../../actors/broker-actor.ts';
import { defaultBrokerConfig } from '../../src/broker/broker-config.ts';
import type { MemoryCluster } from '../../src/runtime/memory/memory-runtime.ts';
import { decodeResponse, encodeRequest } from '../../src/protocol/frames.ts';
import { ApiKey } from '../../src/protocol/generated/api-keys.ts';
import { ErrorCode } from '../../src/protocol/generated/errors.ts';
import type { Storage } from '../../src/log/storage.ts';
import { silentLogger } from '../../src/util/logger.ts';
import { batchOf } from './log-fixtures.ts';

/** Turns of the event loop, each followed by `stepMs` of simulated time, until `cond` holds. */
export async function drive(cluster: MemoryCluster, cond: () => boolean, what: string, stepMs = 10): Promise<number> {
  const started = cluster.clock.monotonic();
  const deadline = Date.now() + 10_000; // real time: a hang fails the test instead of the file's deadline
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (${cluster.clock.monotonic() - started} simulated ms)`);
    await new Promise((r) => setImmediate(r));
    cluster.clock.advance(stepMs);
  }
  return cluster.clock.monotonic() - started;
}

/** One request through a broker's router, not waited for: `answer()` is its decoded response once there. */
export function send<K extends number>(broker: Broker, apiKey: K, version: number, body: Parameters<typeof encodeRequest<K>>[4]) {
  const frame = encodeRequest(apiKey, version, 7, 'sim', body);
  let answer: Buffer | null | undefined;
  void Promise.resolve(broker.requestHandler!(frame.subarray(4), { id: 1, remote: 'sim:1', closed: false })).then((r) => (answer = r));
  return {
    answered: () => answer !== undefined,
    answer: () => decodeResponse(apiKey, version, answer!.subarray(4)).body,
  };
}

/** One request through a broker's router; the clock moves until it is answered. */
export async function ask<K extends number>(cluster: MemoryCluster, broker: Broker, apiKey: K, version: number, body: Parameters<typeof encodeRequest<K>>[4]) {
  const pending = send(broker, apiKey, version, body);
  await drive(cluster, pending.answered, `the answer to API key ${apiKey}`);
  return pending.answer();
}

/** Three brokers on one memory cluster, started, registered and with a controller; `stop` stops them. */
export async function startBrokers(cluster: MemoryCluster, storageOf: (id: number, disk: Storage) => Storage = (_, disk) => disk, replicationFactor = 1) {
  const brokers = [1, 2, 3].map((id) => {
    const runtime = cluster.runtimeFor(id);
    const config = defaultBrokerConfig({ brokerId: id, dataDir: `/data/b${id}`, natsServers: [], port: 9090 + id, defaultReplicationFactor: replicationFactor });
    return createBroker({ ...runtime, storage: storageOf(id, runtime.storage) }, config, { logger: silentLogger });
  });
  const started = Promise.all(brokers.map((b) => b.start()));
  let up = false;
  void started.then(() => (up = true));
  await drive(cluster, () => up, 'the brokers to start');
  await drive(cluster, () => brokers.every((b) => Object.keys(b.services!.metadata.snapshot().brokers).length === 3 && b.services!.metadata.snapshot().controller !== null), 'registrations and a controller');
  const stop = async () => {
    const stopped = Promise.all(brokers.map((b) => b.stop()));
    let down = false;
    void stopped.then(() => (down = true));
    await drive(cluster, () => down, 'the brokers to stop', 50);
    for (const b of brokers) assert.is(b.actor.getSnapshot().status, 'done');
  };
  return { brokers, stop };
}

/** Creates `orders` (one partition, three replicas) and waits until every replica is open and every broker unfenced. */
export async function createOrdersEverywhere(cluster: MemoryCluster, brokers: Broker[]) {
  const b1 = brokers[0]!;
  const created = await ask(cluster, b1, ApiKey.CreateTopics, 4, {
    topics: [{ name: 'orders', numPartitions: 1, replicationFactor: 3, assignments: [], configs: [] }],
    timeoutMs: 10_000,
    validateOnly: false,
  });
  assert.is(created.topics[0]!.errorCode, ErrorCode.NONE);
  await drive(cluster, () => brokers.every((b) => b.services!.registry.get('orders', 0)?.log && b.services!.registry.get('orders', 0)?.role !== 'recovering' && b.services!.metadata.snapshot().brokers[b.config.brokerId]?.fenced === false), 'every replica open, every broker unfenced');
  return b1.services!.metadata.snapshot().topics['orders']!.partitions[0]!;
}

export function produceBatch(cluster: MemoryCluster, leader: Broker, prefix: string) {
  return ask(cluster, leader, ApiKey.Produce, 7, {
    transactionalId: null,
    acks: -1,
    timeoutMs: 10_000,
    topicData: [{ name: 'orders', partitionData: [{ index: 0, records: batchOf(prefix, 3) }] }],
  }).then((r) => r.responses[0]!.partitionResponses[0]!);
}

/** Stops one broker, moving the clock until it has. */
export async function stopBroker(cluster: MemoryCluster, broker: Broker): Promise<void> {
  let done = false;
  void broker.stop().then(() => (done = true));
  await drive(cluster, () => done, `broker ${broker.config.brokerId} to stop`, 50);
}

/** Restarts broker `id` of `brokers` on its runtime (same disk) and waits until it serves. */
export async function restartBroker(cluster: MemoryCluster, id: number): Promise<Broker> {
  const b = createBroker(cluster.runtimeFor(id), defaultBrokerConfig({ brokerId: id, dataDir: `/data/b${id}`, natsServers: [], port: 9090 + id }), { logger: silentLogger });
  let up = false;
  void b.start().then(() => (up = true));
  await drive(cluster, () => up, `broker ${id} restarted`);
  return b;
}

/** The broker coordinating a transactional id, once it loaded its __transaction_state partition (the first FindCoordinator creates the topic). */
export async function findTxnCoordinator(cluster: MemoryCluster, brokers: Broker[], transactionalId: string): Promise<Broker> {
  for (let i = 0; i < 50; i++) {
    const found = await ask(cluster, brokers[0]!, ApiKey.FindCoordinator, 3, { key: transactionalId, keyType: 1 });
    const candidate = found.errorCode === ErrorCode.NONE ? brokers.find((b) => b.config.brokerId === found.nodeId) : undefined;
    if (candidate?.services!.txn!.route(transactionalId).shard) return candidate;
    let steps = 0;
    await drive(cluster, () => steps++ >= 10, 'a moment of simulated time');
  }
  throw new Error(`no coordinator loaded the transactional id ${transactionalId}`);
}
